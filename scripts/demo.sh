#!/usr/bin/env bash
# The main job: install, build, and run lean-lsp-proxy in front of a real
# language server (clangd) on a small file, printing what passed through.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
echo "==> demo"
node scripts/demo/clangd-demo.mjs "$PWD/build/src/lean-lsp-proxy"
