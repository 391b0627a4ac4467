#!/usr/bin/env bash
# Runs the whole test suite: installs and builds first (scripts/bootstrap.sh),
# then every CTest test (unit, simulator, cache, daemon, faults, editors,
# end-to-end, quick benchmarks), a quick fuzzing pass, and the unit tests with an
# end-to-end subset under ASan + UBSan (scripts/sanitize.sh --quick). LLP_LONG=1
# adds long fuzzing and the full ASan/UBSan and TSan runs.
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
echo "==> ASan + UBSan (quick: unit tests and an end-to-end subset)"
bash scripts/sanitize.sh --quick
if [[ ${LLP_LONG:-0} == 1 ]]; then  # the long mode: minutes per fuzzer, sanitizer builds
  bash tests/fuzz/run.sh --long
  bash scripts/sanitize.sh
  bash scripts/sanitize.sh --tsan
fi
