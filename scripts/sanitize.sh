#!/usr/bin/env bash
# Builds lean-lsp-proxy with sanitizers and runs the unit tests and a
# representative end-to-end subset under them; prints a summary and exits
# non-zero when a test fails or any sanitizer reported anything. ASan / LSan /
# TSan reports from every instrumented process (proxy, simulator, test
# servers) are collected through log_path, so a report in a child process is
# not lost; GCC's UBSan ignores log_path and writes to stderr, but aborts the
# process (-fno-sanitize-recover), which fails the test, and any
# "runtime error:" in the ctest output counts as a report.
#
#   scripts/sanitize.sh [--tsan] [--quick] [--build-dir DIR] [-R REGEX] [extra ctest args...]
#     default   AddressSanitizer + UndefinedBehaviorSanitizer (LEANPROXY_SANITIZE),
#               build-asan/, tests ^(unit|e2e|cache|sim)\.
#     --quick   the subset the README test command runs: the unit tests, the
#               end-to-end suite (clangd behind the proxy, crashes,
#               robustness) and the agent-check core (warm documents,
#               verdicts, axioms, cache, deadlines, crashes); fewer targets
#     --tsan    ThreadSanitizer (LEANPROXY_TSAN) with tests/tsan.supp, build-tsan/
#               (slow: 5-15x; meant for the long mode)
#     -R REGEX  another ctest selection
#
# Builds only the targets those tests need, with -j2 (JOBS=N to change).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=asan
quick=0
build=""
regex='^(unit|e2e|cache|sim)\.'
ctest_args=()
while (($#)); do
  case $1 in
    --tsan) mode=tsan ;;
    --asan) mode=asan ;;
    --quick) quick=1; regex='^(unit|e2e)\.|^check\.(warm|verdicts|axioms|cache|deadline|crashes)' ;;
    --build-dir) build=$2; shift ;;
    --build-dir=*) build=${1#*=} ;;
    -R) regex=$2; shift ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) ctest_args+=("$1") ;;
  esac
  shift
done
if [[ $mode == tsan ]]; then
  build=${build:-build-tsan}
  cmake_flags=(-DLEANPROXY_TSAN=ON -DLEANPROXY_SANITIZE=OFF)
else
  build=${build:-build-asan}
  # -O1 -g1: about half the compile time of -O2 -g on 2 cores (this build is
  # part of the default test command), line tables still in the reports.
  cmake_flags=(-DLEANPROXY_SANITIZE=ON -DLEANPROXY_TSAN=OFF "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
fi
case $build in /*) ;; *) build=$root/$build ;; esac

echo "==> configuring $build ($mode)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${cmake_flags[@]}" >/dev/null
# What the selected tests run: unit tests, the proxy and its test server (e2e),
# the simulator and its tests (sim), the cache suite.
targets=(unit_tests lean-lsp-proxy crashy_server sim_lean sim_lake sim_tests cache_tests)
((quick)) && targets=(unit_tests lean-lsp-proxy crashy_server sim_lean sim_lake check_tests)
echo "==> building ${targets[*]}"
cmake --build "$build" -j"${JOBS:-2}" --target "${targets[@]}" 2>&1 | grep -E 'error|warning: |Error [0-9]' || true
built=(src/lean-lsp-proxy tests/unit/unit_tests tests/sim/sim_tests tests/cache/cache_tests)
((quick)) && built=(src/lean-lsp-proxy tests/unit/unit_tests tests/check/check_tests)
for t in "${built[@]}"; do
  [[ -x $build/$t ]] || { echo "sanitize.sh: build failed ($t missing)" >&2; exit 1; }
done

reports=$build/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
symbolizer=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)
common="log_path=$reports/report:log_exe_name=1${symbolizer:+:external_symbolizer_path=$symbolizer}"
export ASAN_OPTIONS="$common:detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="$common:print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="$common"
export TSAN_OPTIONS="$common:suppressions=$root/tests/tsan.supp:second_deadlock_stack=1:history_size=4"
export LEAN_LSP_PROXY_NO_DAEMON=1
timeout=900
[[ $mode == tsan ]] && timeout=2400

echo "==> ctest -R '$regex' ($mode)"
log=$build/sanitize-ctest.log
set +e
ctest --test-dir "$build" --output-on-failure --timeout "$timeout" -R "$regex" "${ctest_args[@]}" 2>&1 | tee "$log"
ctest_rc=${PIPESTATUS[0]}
set -e

mapfile -t files < <(find "$reports" -type f | sort)
ub=$(grep -c 'runtime error:' "$log" || true)
echo
echo "==> $mode summary"
grep -E '^[0-9]+% tests passed|Total Test time' "$log" || true
grep -E '^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess aborted|Exception|Not Run)\)' "$log" | sed 's/^/  failed: /' || true
if ((${#files[@]})); then
  echo "  sanitizer reports: ${#files[@]} (in $reports)"
  for f in "${files[@]}"; do
    echo "  --- $(basename "$f")"
    grep -m1 -E 'SUMMARY:|runtime error:|ERROR:' "$f" | sed 's/^/    /' || head -3 "$f" | sed 's/^/    /'
  done
else
  echo "  sanitizer reports: none"
fi
if ((ub > 0)); then
  echo "  UBSan runtime errors in the test output: $ub"
  grep -m5 'runtime error:' "$log" | sed 's/^/    /'
fi
if ((ctest_rc != 0 || ${#files[@]} != 0 || ub > 0)); then
  echo "==> sanitize ($mode): FAILED"
  exit 1
fi
echo "==> sanitize ($mode): clean"
