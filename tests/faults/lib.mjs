// Shared helpers for the fault and load tests: a built simulator workspace, a
// proxy session with a raw LSP client that counts replies per request id, and
// process-tree bookkeeping (every process a test starts carries a tag in its
// environment; descendants are also found by walking /proc's ppid links).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { paths, start, waitExit, reap, frame, alive, waitGone, sleep, withTimeout, executable } from '../e2e/lib/harness.mjs';

export { paths, start, waitExit, reap, frame, alive, waitGone, sleep, withTimeout, executable };

export const simBin = process.env.LLP_SIM_BIN_DIR ?? path.resolve(path.dirname(paths.proxy), '../sim-bin');

/** Skip reason ("e2e skipped: …") or false. */
export const skip = (() => {
  if (process.platform !== 'linux') return 'e2e skipped: linux only';
  const missing = [paths.proxy, path.join(simBin, 'lake'), path.join(simBin, 'lean')].filter((p) => !executable(p));
  if (missing.length) {
    const s = `e2e skipped: not built: ${missing.join(', ')}`;
    console.log(s);
    return s;
  }
  return false;
})();

export const pathEnv = () => `${simBin}:${process.env.PATH ?? '/usr/bin:/bin'}`;

/** A temp root with a built simulator workspace in `ws/`. */
export function simWorkspace(prefix) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `llp-faults-${prefix}-`));
  const ws = path.join(root, 'ws');
  fs.mkdirSync(path.join(ws, 'Demo'), { recursive: true });
  fs.writeFileSync(path.join(ws, 'lakefile.toml'), 'name = "demo"\n');
  fs.writeFileSync(path.join(ws, 'lean-toolchain'), 'leanprover/lean4:v4.28.0\n');
  fs.writeFileSync(path.join(ws, 'Demo/A.lean'), 'def a : Nat := 2\n');
  fs.writeFileSync(path.join(ws, 'Main.lean'), 'import Demo.A\n');
  execFileSync(path.join(simBin, 'lake'), ['build'], { cwd: ws, stdio: 'ignore', env: { ...process.env, PATH: pathEnv() } });
  return { root, dir: ws, uri: (rel) => pathToFileURL(path.join(ws, rel)).href };
}

// ---- processes ---------------------------------------------------------------

export function stat(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0], ppid: Number(f[1]) };
  } catch {
    return null;
  }
}

export function cmdline(pid) {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim(); } catch { return '?'; }
}

/** Live descendants of `root` (by ppid), walking the whole of /proc once. */
export function descendants(root) {
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = stat(d);
    if (!s || s.state === 'Z') continue;
    if (!kids.has(s.ppid)) kids.set(s.ppid, []);
    kids.get(s.ppid).push(Number(d));
  }
  const out = [];
  const todo = [root];
  while (todo.length) for (const k of kids.get(todo.pop()) ?? []) { out.push(k); todo.push(k); }
  return out;
}

/** Live processes whose environment carries LLP_FAULT_TAG=`tag`. */
export function tagged(tag) {
  const needle = `LLP_FAULT_TAG=${tag}`;
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(needle) && alive(Number(d))) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

export function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Samples VmRSS of pid every `ms`; stop() → {peakKb, samples}. */
export function rssSampler(pid, ms = 100) {
  let peakKb = 0;
  let samples = 0;
  const t = setInterval(() => { const r = rssKb(pid); if (r) { peakKb = Math.max(peakKb, r); samples++; } }, ms);
  return { stop() { clearInterval(t); const r = rssKb(pid); if (r) peakKb = Math.max(peakKb, r); return { peakKb, samples }; }, get peakKb() { return peakKb; } };
}

// ---- the client --------------------------------------------------------------

/**
 * A raw LSP client over a child's stdio. Keeps every message; answers
 * server→client requests with null; counts the replies per request id.
 */
export class Client {
  constructor(child, name = 'client') {
    this.child = child;
    this.name = name;
    this.messages = [];
    this.waiters = [];
    this.nextId = 1;
    this.sent = new Map();       // id → method
    this.replies = new Map();    // id → count
    this.stray = [];             // replies to ids never sent
    this.badFrames = 0;
    this.ended = new Promise((res) => child.stdout.on('end', () => res()));
    let buf = Buffer.alloc(0);
    child.stdout.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const m = /Content-Length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('ascii'));
        if (!m) { this.badFrames++; buf = buf.subarray(end + 4); continue; }
        const len = Number(m[1]);
        if (buf.length < end + 4 + len) return;
        const body = buf.subarray(end + 4, end + 4 + len).toString('utf8');
        buf = buf.subarray(end + 4 + len);
        let msg;
        try { msg = JSON.parse(body); } catch { this.badFrames++; continue; }
        this.#push(msg);
      }
    });
  }

  #push(msg) {
    if ('method' in msg && 'id' in msg) this.send({ jsonrpc: '2.0', id: msg.id, result: null });
    else if ('id' in msg) {
      if (this.sent.has(msg.id)) this.replies.set(msg.id, (this.replies.get(msg.id) ?? 0) + 1);
      else this.stray.push(msg);
    }
    this.messages.push(msg);
    this.waiters = this.waiters.filter((w) => !(w.pred(msg) && (w.resolve(msg), true)));
  }

  get stderr() { return this.child.stderrText; }
  write(bytes) { if (this.child.stdin.writable) this.child.stdin.write(bytes); }
  send(obj) { this.write(frame(JSON.stringify(obj))); }
  notify(method, params = {}) { this.send({ jsonrpc: '2.0', method, params }); }

  waitFor(pred, ms, what) {
    const hit = this.messages.find(pred);
    if (hit) return Promise.resolve(hit);
    // Fails soon after the proxy exits instead of at the timeout.
    const died = this.child.exited.then((e) => sleep(300).then(() => {
      throw new Error(`${this.name}: the proxy exited (${JSON.stringify(e)}) while waiting for ${typeof what === 'function' ? what() : what}\n--- stderr (tail) ---\n${this.stderr.slice(-3000)}`);
    }));
    died.catch(() => {});
    return withTimeout(Promise.race([new Promise((resolve) => this.waiters.push({ pred, resolve })), died]), ms,
      () => `${this.name}: ${typeof what === 'function' ? what() : what}\n--- received (tail) ---\n${JSON.stringify(this.messages.slice(-8)).slice(-2500)}\n--- stderr (tail) ---\n${this.stderr.slice(-3000)}`);
  }

  /** Sends a request; returns {id, reply} where reply resolves with the reply message (error or result). */
  start(method, params, ms = 20000) {
    const id = this.nextId++;
    this.sent.set(id, method);
    this.send({ jsonrpc: '2.0', id, method, params });
    const reply = this.waitFor((m) => m.id === id && !('method' in m), ms, `reply to ${method} (id ${id})`);
    reply.catch(() => {});
    return { id, reply };
  }

  request(method, params, ms) { return this.start(method, params, ms).reply; }

  /** Like request, but throws on an error reply. */
  async call(method, params, ms) {
    const r = await this.request(method, params, ms);
    if (r.error) throw new Error(`${this.name}: ${method} failed: ${JSON.stringify(r.error)}`);
    return r.result;
  }

  async initialize(rootUri, capabilities = { lean: { silentDiagnosticSupport: true } }, ms = 20000) {
    const r = await this.call('initialize', { processId: process.pid, rootUri, capabilities, initializationOptions: { hasWidgets: true } }, ms);
    this.notify('initialized', {});
    return r;
  }

  open(uri, text, version = 1) { this.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'lean4', version, text } }); }
  change(uri, version, text) { this.notify('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] }); }
  waitDiags(uri, version, ms = 30000) { return this.request('textDocument/waitForDiagnostics', { uri, version }, ms); }
  hover(uri, line, character) { return this.request('textDocument/hover', { textDocument: { uri }, position: { line, character } }); }

  publishes(uri) { return this.messages.filter((m) => m.method === 'textDocument/publishDiagnostics' && m.params.uri === uri); }
  /** The last publish for uri@version (the final set, once waitForDiagnostics answered). */
  finalMessages(uri, version) {
    const p = this.publishes(uri).filter((m) => m.params.version === version);
    return p.length ? p[p.length - 1].params.diagnostics.filter((d) => !d.isSilent).map((d) => d.message) : null;
  }

  /** Problems with reply counts: every request answered exactly once, no stray replies. */
  replyProblems() {
    const out = [];
    for (const [id, method] of this.sent) {
      const n = this.replies.get(id) ?? 0;
      if (n !== 1) out.push(`${this.name}: request ${id} (${method}) answered ${n} times`);
    }
    for (const s of this.stray) out.push(`${this.name}: reply to an id never sent: ${JSON.stringify(s).slice(0, 200)}`);
    return out;
  }

  /** shutdown + exit; resolves with the exit {code, signal}. */
  async shutdown(ms = 15000) {
    await this.call('shutdown', null);
    this.notify('exit', {});
    return waitExit(this.child, ms, `${this.name}: proxy exit after shutdown/exit`);
  }
}

// ---- a proxy session in-process (--no-daemon) against the simulator ------------

/**
 * Starts `lean-lsp-proxy --no-daemon --cache-dir <private> … -- lake serve` in
 * the workspace. Returns {child, client, tag, cacheDir, events()}.
 */
export function session(ws, { name = 'session', args = [], env = {}, cacheDir, server = ['lake', 'serve'] } = {}) {
  const tag = randomBytes(8).toString('hex');
  const cache = cacheDir ?? path.join(ws.root, `cache-${tag}`);
  const events = path.join(ws.root, `events-${tag}.jsonl`);
  const child = start([paths.proxy, '--no-daemon', '--cache-dir', cache, '--log-level', 'debug', ...args, '--', ...server], {
    cwd: ws.dir,
    env: { LEAN_LSP_PROXY_NO_DAEMON: '1', PATH: pathEnv(), LLP_FAULT_TAG: tag, LEAN_SIM_EVENTS: events, ...env },
  });
  const client = new Client(child, name);
  return {
    child, client, tag, cacheDir: cache,
    events(kind) {
      try {
        return fs.readFileSync(events, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => !kind || e.ev === kind);
      } catch { return []; }
    },
    /** Every descendant of the proxy now, with its command line. */
    tree() { return descendants(child.pid).map((pid) => ({ pid, cmd: cmdline(pid) })); },
  };
}

/**
 * After the proxy exited: `seen` pids (descendants sampled during the run) and
 * anything carrying the tag must be gone. Kills leftovers; returns problems.
 */
export async function orphanProblems(s, seen = [], ms = 5000) {
  const problems = [];
  if (s.child.exitCode === null && s.child.signalCode === null) {
    problems.push(`proxy ${s.child.pid} still running`);
    reap(s.child);
  }
  const left = await waitGone([...new Set([...seen.map((p) => p.pid ?? p), ...tagged(s.tag)])], ms);
  const still = [...new Set([...left, ...tagged(s.tag)])];
  if (still.length) {
    problems.push(`left running after the proxy exited: ${still.map((p) => `${p} ${cmdline(p)}`).join('; ')}`);
    for (const p of still) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  }
  return problems;
}

export function assertNoSanitizerReport(text) {
  if (/ERROR: \w+Sanitizer|runtime error:/.test(text)) throw new Error(`sanitizer report:\n${text.slice(-4000)}`);
}
