#!/usr/bin/env bash
# Installs what building and testing Geneva needs on Debian 12, as root.
# Idempotent: packages already present are not fetched again.
set -euo pipefail
PACKAGES=(libsqlite3-dev libpcap-dev zlib1g-dev python3 postgresql)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    echo "swift is in /opt/swift/usr/bin; add it to PATH" >&2
  else
    echo "Swift 6.1 or later is required (https://www.swift.org/install/linux/)" >&2
    exit 1
  fi
fi
