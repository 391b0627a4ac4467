// Shared helpers for the e2e tests: paths, child processes with timeouts, a
// raw Content-Length client, and /proc inspection.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const build = process.env.LLP_BUILD_DIR ?? resolve(repo, 'build');

// CTest passes the paths; the defaults let `node --test tests/e2e` work from a dev build.
export const paths = {
  proxy: process.env.LLP_PROXY ?? resolve(build, 'src/lean-lsp-proxy'),
  crashy: process.env.LLP_CRASHY_SERVER ?? resolve(build, 'tests/servers/crashy_server'),
  clangd: process.env.LLP_CLANGD ?? 'clangd',
};

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

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Rejects with a message naming `what` if `promise` takes longer than `ms`.
 * `what` may be a function, evaluated at the timeout (to show the state then).
 */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${typeof what === 'function' ? what() : what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// A private cache home, so no test reads or locks the user's proxy cache.
const cacheHome = mkdtempSync(join(tmpdir(), 'llp-e2e-cache-'));
process.on('exit', () => rmSync(cacheHome, { recursive: true, force: true }));

/** Spawns argv with piped stdio; stderr is kept in `child.stderrText` for failure messages. */
export function start(argv, options = {}) {
  const env = { ...process.env, XDG_CACHE_HOME: cacheHome, ...options.env };
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], ...options, env });
  child.stderrText = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s) => { child.stderrText += s; });
  child.stdin.on('error', () => {}); // EPIPE after the peer died is expected in crash tests
  child.exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
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

export function frame(body) {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`, 'ascii'), b]);
}

/** A client that writes raw bytes and parses the frames it reads back. */
export class RawClient {
  constructor(child) {
    this.child = child;
    this.messages = [];
    this.bodies = []; // the raw bytes of each message, for byte-exactness checks
    this.waiters = [];
    let buf = Buffer.alloc(0);
    child.stdout.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const m = /Content-Length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('ascii'));
        if (!m) throw new Error(`bad header from proxy: ${buf.subarray(0, end)}`);
        const len = Number(m[1]);
        if (buf.length < end + 4 + len) return;
        const body = buf.subarray(end + 4, end + 4 + len);
        this.bodies.push(body);
        this.#push(JSON.parse(body.toString('utf8')));
        buf = buf.subarray(end + 4 + len);
      }
    });
  }

  #push(msg) {
    this.messages.push(msg);
    this.waiters = this.waiters.filter((w) => !(w.pred(msg) && (w.resolve(msg), true)));
  }

  write(bytes) { this.child.stdin.write(bytes); }
  send(obj) { this.write(frame(typeof obj === 'string' ? obj : JSON.stringify(obj))); }

  /** The first message (already received or still to come) matching `pred`. */
  waitFor(pred, ms, what) {
    const hit = this.messages.find(pred);
    if (hit) return Promise.resolve(hit);
    return withTimeout(new Promise((resolve) => this.waiters.push({ pred, resolve })), ms,
      () => `${what}\n--- received ---\n${JSON.stringify(this.messages).slice(-2000)}\n--- stderr ---\n${this.child.stderrText.slice(-3000)}`);
  }

  request(id, method, params, ms = 10000) {
    this.send({ jsonrpc: '2.0', id, method, params });
    return this.waitFor((m) => m.id === id && !('method' in m), ms, `reply to ${method} (id ${id})`);
  }

  notify(method, params) { this.send({ jsonrpc: '2.0', method, params }); }
}

/** True while `pid` exists and is not a zombie (a zombie has already exited). */
export function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Polls until none of `pids` is alive; returns those still alive after `ms`. */
export async function waitGone(pids, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!pids.some(alive)) return [];
    await sleep(50);
  }
  return pids.filter(alive);
}

/** Live processes whose command line contains `needle` (for orphan hunting). */
export function processesMatching(needle) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(needle) && alive(Number(d))) out.push({ pid: Number(d), cmd });
    } catch { /* raced with its exit */ }
  }
  return out;
}
