#!/usr/bin/env bash
# Runs the whole test suite: installs and builds first (scripts/bootstrap.sh),
# then every CTest test (unit, simulator, end-to-end, quick benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
echo "==> ctest"
ctest --test-dir build --output-on-failure --timeout 600 "$@"
