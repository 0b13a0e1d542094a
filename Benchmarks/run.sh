#!/usr/bin/env bash
# Allocation check of the matcher's steady-state streaming scan:
#   bash Benchmarks/run.sh            # run and check against Thresholds/ (exit 2 on a regression)
#   bash Benchmarks/run.sh update     # rewrite Thresholds/ from a run (then review the diff)
set -euo pipefail
cd "$(dirname "$0")"
if [ "${1:-}" = update ]; then
  swift package --allow-writing-to-package-directory benchmark thresholds update --path Thresholds
else
  swift package benchmark thresholds check --path Thresholds
fi
