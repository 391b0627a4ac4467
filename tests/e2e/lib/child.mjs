// Child processes of a test: spawned with piped stdio and stderr kept, waited for with a timeout, reaped.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withTimeout } from './time.mjs';

// A private cache home, so no test reads or locks the user's proxy cache (made at the first start()).
let cacheHome = null;
function privateCacheHome() {
  if (cacheHome === null) {
    const dir = mkdtempSync(join(tmpdir(), 'llp-e2e-cache-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    cacheHome = dir;
  }
  return cacheHome;
}

/** Keeps a spawned child's stderr in `child.stderrText` and its end in `child.exited` ({code, signal}). */
export function track(child) {
  child.stderrText = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s) => { child.stderrText += s; });
  child.exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return child;
}

/** Spawns argv with piped stdio and a private XDG_CACHE_HOME (unless options.env sets one); tracked as above. */
export function start(argv, options = {}) {
  const env = { ...process.env, XDG_CACHE_HOME: privateCacheHome(), ...options.env };
  const child = track(spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], ...options, env }));
  child.stdin.on('error', () => {}); // EPIPE after the peer died is expected in crash tests
  return child;
}

/** Waits for the child to exit; kills it (and fails) after `ms`. */
export async function waitExit(child, ms, what = 'process exit') {
  let result;
  try {
    result = await withTimeout(child.exited, ms, what);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${e.message}\n--- stderr ---\n${child.stderrText.slice(-4000)}`);
  }
  // In a sanitizer build a report on stderr is a failure even if the exit code looked right.
  if (/ERROR: \w+Sanitizer|runtime error:/.test(child.stderrText)) {
    throw new Error(`sanitizer report from ${child.spawnargs[0]}:\n${child.stderrText.slice(-6000)}`);
  }
  return result;
}

/** Kills a child that a failing test left behind. */
export function reap(child) {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
