#!/usr/bin/env bash
# The main job: install and build, then proof-check a small demo workspace
# twice through lean-lsp-proxy — cold, then from the cache — and print the
# diagnostics, the timings and the cache statistics. Uses the real `lake` /
# `lean` when they are on PATH, else the project's Lean simulator (with its
# realistic costs: server startup, per-import loading, per-declaration work).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
repo=$PWD
proxy=$repo/build/src/lean-lsp-proxy
work=$(mktemp -d /tmp/lean-lsp-proxy-demo.XXXXXX)
cp -r scripts/demo/workspace/. "$work/"
if command -v lake >/dev/null && command -v lean >/dev/null && ! lean --version | grep -q -- -sim; then
  echo "==> using the real Lean toolchain: $(lean --version)"
else
  echo "==> no Lean toolchain on PATH: using the simulator (tests/sim)"
  export PATH=$repo/build/sim-bin:$PATH
  export LEAN_SIM_STARTUP_MS=300 LEAN_SIM_IMPORT_MS=800 LEAN_SIM_ELAB_MS=60
fi
# A private daemon and cache, so the demo neither uses nor disturbs yours.
export LEAN_LSP_PROXY_RUNTIME_DIR=$work/run LEAN_LSP_PROXY_NO_DAEMON=0
cache=(--cache-dir "$work/cache")
trap '"$proxy" daemon stop "${cache[@]}" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cd "$work"
echo "==> lake build Demo.Basic   # the imported module; the files to check are checked below"
lake build Demo.Basic
files=(Demo/Proofs.lean Demo/Attempts.lean)
run_check() {  # label, files...
  local label=$1
  shift
  echo
  echo "==> lean-lsp-proxy check $*   # $label"
  local start
  start=$(date +%s%N)
  "$proxy" check "${cache[@]}" "$@" || true   # exit 1: an attempt is not ok, as it should be
  echo "    wall time: $(( ($(date +%s%N) - start) / 1000000 )) ms"
}
run_check "cold: starts a check server, loads the imports" "${files[@]}"
# A new attempt under the same header: a warm document replaces its body
# only, so no server start and no import loading (and nothing cached yet).
printf 'import Demo.Basic\n\ntheorem attempt4 : four + answer = 46 := by decide\n' > Demo/Attempt4.lean
run_check "warm: a new proof under the same header" Demo/Attempt4.lean
run_check "cached: the same files again" "${files[@]}"
echo
echo "==> lean-lsp-proxy stats"
"$proxy" stats "${cache[@]}"
