#!/bin/sh
# CTest driver for the VS Code extension: `ctest.sh unit` runs the unit
# tests, `ctest.sh package OUTDIR` builds the .vsix into OUTDIR and checks
# it. Without node_modules (the bootstrap runs `npm ci` here) it reports a
# skip and succeeds, so a machine without the npm packages still passes.
set -u
cd "$(dirname "$0")/.." || exit 1
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "e2e skipped: node/npm not found"
  exit 0
fi
if [ ! -d node_modules ]; then
  echo "e2e skipped: editors/vscode/node_modules is missing (run 'npm ci' in editors/vscode)"
  exit 0
fi
case "${1:-}" in
  unit)
    exec npm test </dev/null
    ;;
  package)
    out=${2:?usage: ctest.sh package OUTDIR}
    mkdir -p "$out" || exit 1
    version=$(node -p "require('./package.json').version") || exit 1
    vsix="$out/lean-lsp-proxy-$version.vsix"
    rm -f "$vsix"
    # No stdin: vsce must never wait for an answer.
    npm run package -- --out "$vsix" </dev/null || exit 1
    [ -f "$vsix" ] || { echo "no $vsix after packaging"; exit 1; }
    exec node scripts/check-vsix.js "$vsix"
    ;;
  *)
    echo "usage: ctest.sh unit | package OUTDIR" >&2
    exit 2
    ;;
esac
