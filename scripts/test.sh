#!/usr/bin/env bash
# Runs every test: installs what is needed, checks that the leaf targets
# import the standard library only, then `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
bash scripts/install-deps.sh
bash scripts/check-leaves.sh
swift build --build-tests
swift test --skip-build
