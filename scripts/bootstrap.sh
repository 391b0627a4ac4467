#!/usr/bin/env bash
# Installs everything lean-lsp-proxy needs on Debian 12 (run as root), then
# builds it. Idempotent and quick when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config git
          libboost1.81-dev nlohmann-json3-dev librocksdb-dev libssl-dev doctest-dev
          clangd neovim
          bubblewrap  # --sandbox for agent checks (and its tests)
          clang-14 libclang-rt-14-dev llvm-14)  # libFuzzer targets (tests/fuzz)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "==> installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages (exact versions from the lock files): the end-to-end tests'
# client library, and the VS Code extension's build tools.
for dir in tests/e2e editors/vscode; do
  if [ ! -d $dir/node_modules ] || [ $dir/package-lock.json -nt $dir/node_modules ]; then
    echo "==> npm ci ($dir)"
    (cd $dir && npm ci --no-audit --no-fund --loglevel=error)
    touch $dir/node_modules
  fi
done

echo "==> building (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
