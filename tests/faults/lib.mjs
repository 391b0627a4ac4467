// Helpers for the fault and load tests: a built simulator workspace, a
// proxy session with a raw LSP client that counts replies per request id, and
// process-tree bookkeeping (every process a test starts carries a tag in its
// environment; descendants are also found by walking /proc's ppid links).
// The rest comes from the e2e library (tests/e2e/lib), re-exported here.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  paths, simBin, executable, notBuilt, start, waitExit, reap, frame, alive, waitGone, sleep, withTimeout,
  cmdline, descendants, processesWithEnv, rssKb, LspClient, buildDemoProject, simPath,
} from '../e2e/lib/harness.mjs';

export { paths, simBin, start, waitExit, reap, frame, alive, waitGone, sleep, withTimeout, executable, descendants, rssKb };

/** Skip reason ("e2e skipped: …") or false. */
export const skip = process.platform !== 'linux' ? 'e2e skipped: linux only'
  : notBuilt([paths.proxy, path.join(simBin, 'lake'), path.join(simBin, 'lean')]);

export const pathEnv = simPath;

/** A temp root with a built simulator workspace in `ws/`: {root, dir, uri(rel)}. */
export function simWorkspace(prefix) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `llp-faults-${prefix}-`));
  return { root, ...buildDemoProject(path.join(root, 'ws')) };
}

// ---- processes ---------------------------------------------------------------

/** A process's command line as one string ('?' when it is gone). */
export const command = (pid) => cmdline(pid).join(' ') || '?';

/** Live processes whose environment carries LLP_FAULT_TAG=`tag`: pids. */
export const tagged = (tag) => processesWithEnv(`LLP_FAULT_TAG=${tag}`).map((p) => p.pid);

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
 * server→client requests with null; counts the replies per request id and
 * the frames that are not LSP (`badFrames`).
 */
export class Client extends LspClient {
  constructor(child, name = 'client') {
    super(child, { name, answerRequests: true, onBadHeader: () => { this.badFrames++; return true; } });
    this.nextId = 1;
    this.sent = new Map();       // id → method
    this.replies = new Map();    // id → count
    this.stray = [];             // replies to ids never sent
    this.badFrames = 0;
  }

  receive(body) {
    let msg;
    try { msg = JSON.parse(body.toString('utf8')); } catch { this.badFrames++; return; }
    this.push(msg);
  }

  push(msg) {
    if ('id' in msg && !('method' in msg)) {
      if (this.sent.has(msg.id)) this.replies.set(msg.id, (this.replies.get(msg.id) ?? 0) + 1);
      else this.stray.push(msg);
    }
    super.push(msg);
  }

  /** Also fails soon after the proxy exits instead of at the timeout. */
  waitFor(pred, ms, what) {
    return super.waitFor(pred, ms, what, () => {
      const died = this.child.exited.then((e) => sleep(300).then(() => {
        throw new Error(`${this.name}: the proxy exited (${JSON.stringify(e)}) while waiting for ${typeof what === 'function' ? what() : what}\n--- stderr (tail) ---\n${this.stderr.slice(-3000)}`);
      }));
      died.catch(() => {});
      return died;
    });
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
    env: { LEAN_LSP_PROXY_NO_DAEMON: '1', PATH: simPath(), LLP_FAULT_TAG: tag, LEAN_SIM_EVENTS: events, ...env },
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
    tree() { return descendants(child.pid).map((pid) => ({ pid, cmd: command(pid) })); },
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
    problems.push(`left running after the proxy exited: ${still.map((p) => `${p} ${command(p)}`).join('; ')}`);
    for (const p of still) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  }
  return problems;
}

/** A clean end: shutdown + exit with code 0, every request answered once, nothing left running. */
export async function finish(s, seen) {
  const { code } = await s.client.shutdown();
  assert.equal(code, 0, s.client.stderr.slice(-2000));
  assert.deepEqual(s.client.replyProblems(), []);
  assert.deepEqual(await orphanProblems(s, seen), []);
}

/**
 * Runs `body({ws, s, c, seen})` with a session (`opts` as for session()) in a
 * fresh simulator workspace; `seen` collects the process trees sampled. After
 * it, whatever happened: no orphans left (killed), the workspace removed.
 */
export async function withSession(prefix, opts, body) {
  const ws = simWorkspace(prefix);
  const s = session(ws, opts);
  const seen = [];
  try {
    return await body({ ws, s, c: s.client, seen });
  } finally {
    await orphanProblems(s, seen);
    fs.rmSync(ws.root, { recursive: true, force: true });
  }
}
