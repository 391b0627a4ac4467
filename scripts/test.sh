#!/usr/bin/env bash
# Runs the whole test suite: installs and builds first (scripts/bootstrap.sh),
# then every CTest test (unit, simulator, cache, daemon, faults, editors,
# end-to-end, quick benchmarks) and a quick fuzzing pass. LLP_LONG=1 adds long
# fuzzing and the ASan/UBSan and TSan runs (scripts/sanitize.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
echo "==> ctest"
# Tests run the proxy in-process unless they test the daemon themselves (they
# then set LEAN_LSP_PROXY_NO_DAEMON=0 and a private LEAN_LSP_PROXY_RUNTIME_DIR).
export LEAN_LSP_PROXY_NO_DAEMON=1
ctest --test-dir build --output-on-failure --timeout 600 "$@"
echo "==> fuzz (quick: the regressions, then a few seconds per target)"
bash tests/fuzz/run.sh --quick --time 5
if [[ ${LLP_LONG:-0} == 1 ]]; then  # the long mode: minutes per fuzzer, sanitizer builds
  bash tests/fuzz/run.sh --long
  bash scripts/sanitize.sh
  bash scripts/sanitize.sh --tsan
fi
