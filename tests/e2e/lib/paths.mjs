// Where the tested binaries are (CTest passes them; defaults fit a dev build) and skip reasons for what is missing.
import { accessSync, constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const build = process.env.LLP_BUILD_DIR ?? resolve(repo, 'build');

// The defaults let `node --test tests/e2e` work from a dev build.
export const paths = {
  proxy: process.env.LLP_PROXY ?? resolve(build, 'src/lean-lsp-proxy'),
  crashy: process.env.LLP_CRASHY_SERVER ?? resolve(build, 'tests/servers/crashy_server'),
  clangd: process.env.LLP_CLANGD ?? 'clangd',
};

/** The simulator's `lean` and `lake` (tests/sim), alone in their directory. */
export const simBin = process.env.LLP_SIM_BIN_DIR ?? process.env.LLP_SIM_BIN ?? resolve(dirname(paths.proxy), '../sim-bin');

export function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `name` if it is an executable path, else its first match on PATH, else null. */
export function findExecutable(name) {
  if (name.includes('/')) return executable(name) ? name : null;
  for (const d of (process.env.PATH ?? '').split(':')) if (d && executable(resolve(d, name))) return resolve(d, name);
  return null;
}

/** False when every file is executable; else the skip reason ("e2e skipped: not built: …"), also printed. */
export function notBuilt(files) {
  const missing = files.filter((p) => !executable(p));
  if (!missing.length) return false;
  const s = `e2e skipped: not built: ${missing.join(', ')}`;
  console.log(s);
  return s;
}

/** False, or why a test of the proxy is skipped (an explicit LLP_PROXY is trusted). */
export const proxyMissing = process.env.LLP_PROXY || executable(paths.proxy) ? false : `proxy not built at ${paths.proxy}`;
