#!/usr/bin/env bash
# Runs the whole test suite: installs and builds first (scripts/bootstrap.sh),
# then every CTest test (unit, simulator, end-to-end, quick benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
echo "==> ctest"
# Tests run the proxy in-process unless they test the daemon themselves (they
# then set LEAN_LSP_PROXY_NO_DAEMON=0 and a private LEAN_LSP_PROXY_RUNTIME_DIR).
export LEAN_LSP_PROXY_NO_DAEMON=1
ctest --test-dir build --output-on-failure --timeout 600 "$@"
