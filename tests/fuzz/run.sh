#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, a standalone CMake project) and
# runs each one against its seed corpus, after replaying the inputs in
# tests/fuzz/regressions/<target>/. One summary line per target; exits
# non-zero when any target crashes, fails a check, times out or a regression
# input still fails.
#
#   tests/fuzz/run.sh [--quick|--long] [--time SECONDS] [--build-dir DIR] [TARGET...]
#     --quick   ~10 s per target (default)      --long   5 min per target
#     TARGET    e.g. frame_parser or fuzz_frame_parser (default: all)
#
# Inputs found while fuzzing go to DIR/corpus/<target>/ (the seed corpus in
# the repository is read, never written); crashes to DIR/artifacts/<target>/.
# Needs clang-14 and libclang-rt-14-dev (CC / CXX override the compiler).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

mode=quick
secs=""
build=""
targets=()
while (($#)); do
  case $1 in
    --quick) mode=quick ;;
    --long) mode=long ;;
    --time) secs=$2; shift ;;
    --time=*) secs=${1#*=} ;;
    --build-dir) build=$2; shift ;;
    --build-dir=*) build=${1#*=} ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) t=${1#fuzz_}; targets+=("$t") ;;
  esac
  shift
done
[[ -n $secs ]] || { [[ $mode == long ]] && secs=300 || secs=10; }
build=${build:-$root/build-fuzz}
case $build in /*) ;; *) build=$PWD/$build ;; esac
if ((${#targets[@]} == 0)); then
  for f in "$here"/fuzz_*.cpp; do t=$(basename "$f" .cpp); targets+=("${t#fuzz_}"); done
fi

export CC=${CC:-clang-14} CXX=${CXX:-clang++-14}
command -v "$CXX" >/dev/null || { echo "run.sh: $CXX not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }
echo "==> building fuzzers ($build)"
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j2 --target "${targets[@]/#/fuzz_}" 2>&1 | grep -Ev '^\[ *[0-9]+%\] (Building|Linking)' || true
for t in "${targets[@]}"; do
  [[ -x $build/fuzz_$t ]] || { echo "run.sh: build of fuzz_$t failed" >&2; exit 1; }
done

symbolizer=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
[[ -n $symbolizer ]] && export ASAN_SYMBOLIZER_PATH=$symbolizer
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "==> fuzzing: $mode, ${secs}s per target"
failed=()
total_execs=0
for t in "${targets[@]}"; do
  bin=$build/fuzz_$t
  work=$build/corpus/$t
  art=$build/artifacts/$t
  logs=$build/logs
  mkdir -p "$work" "$art" "$logs"
  log=$logs/$t.log
  status=ok
  note=""

  # Known crashers first: each must now pass.
  reg=$here/regressions/$t
  nreg=0
  bad_reg=()
  if [[ -d $reg ]]; then
    for f in "$reg"/*; do
      [[ -f $f ]] || continue
      nreg=$((nreg + 1))
      if ! timeout 120 "$bin" -timeout=10 -rss_limit_mb=2048 "$f" >"$logs/$t.regression.log" 2>&1; then bad_reg+=("$(basename "$f")"); fi
    done
  fi
  if ((${#bad_reg[@]})); then
    status=FAIL
    note="regressions failing: ${bad_reg[*]} (see $logs/$t.regression.log)"
  fi

  seeds=()
  [[ -d $here/corpus/$t ]] && seeds+=("$here/corpus/$t")
  rc=0
  start=$SECONDS
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -dict="$here/lsp.dict" -artifact_prefix="$art/" "$work" "${seeds[@]}" >"$log" 2>&1 || rc=$?
  # Final stats on a clean finish; the last status line ("#N ...") after a crash.
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
  [[ -n $execs ]] || execs=$(sed -n 's/^#\([0-9]*\)\t.*/\1/p' "$log" | tail -1)
  run_s=$((SECONDS - start))
  corpus_n=$(find "$work" -type f | wc -l)
  if ((rc != 0)); then
    status=FAIL
    crash=$(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$log" | tail -1)
    what=$(grep -m1 -E 'FUZZ_CHECK failed|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error:' "$log" || true)
    note="${note:+$note; }exit $rc: ${what:-see $log}${crash:+ -> $crash}"
  fi
  execs=${execs:-0}
  total_execs=$((total_execs + execs))
  printf '%-13s %-4s %10s execs in %4ss  corpus %5s  regressions %s%s\n' \
    "$t" "$status" "$execs" "$run_s" "$corpus_n" "$nreg" "${note:+  $note}"
  [[ $status == ok ]] || failed+=("$t")
done

if ((${#failed[@]})); then
  echo "==> fuzzing FAILED: ${failed[*]} (logs in $build/logs, inputs in $build/artifacts)"
  exit 1
fi
echo "==> fuzzing ok: ${#targets[@]} targets, $total_execs executions"
