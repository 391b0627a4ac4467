// Helpers for the daemon tests: a private daemon world per test (runtime dir,
// cache dir, a tag in the environment to find every process it started),
// CLI runs, an LSP client over a proxy's stdio. The rest comes from the e2e
// library (tests/e2e/lib), re-exported here for the tests.
//
// Every world sets LEAN_LSP_PROXY_NO_DAEMON=0 explicitly (the suite exports 1),
// a private LEAN_LSP_PROXY_RUNTIME_DIR and a private --cache-dir, and
// world.close() stops its daemon (`daemon stop`, then checks the pid is gone)
// and SIGKILLs anything still carrying its tag, failing if there was any.
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  paths, simBin, executable, notBuilt, repo, build, sleep, withTimeout, waitUntil, start, track, waitExit, reap,
  alive, waitGone, cmdline, ppid, procStat, pids, fdTargets, processesWithEnv, LspClient, buildDemoProject, simPath,
} from '../e2e/lib/harness.mjs';

export {
  paths, simBin, executable, repo, build, sleep, withTimeout, start, track, waitExit, reap, alive, waitGone, cmdline, ppid, procStat, fdTargets,
  waitUntil as waitFor,
};

/** Skip reason, or false: these tests need the proxy and the crash server built. */
export const skip = notBuilt([paths.proxy, paths.crashy]) || (process.platform !== 'linux' ? 'e2e skipped: linux only' : false);
export const simSkip = skip || (executable(path.join(simBin, 'lake')) ? false : `e2e skipped: simulator not built (${simBin})`);

/** Absolute, normalized, as the proxy computes the socket name for a non-default --cache-dir. */
export function socketName(cacheDir) {
  const abs = path.resolve(cacheDir);
  return `daemon-${createHash('sha256').update(abs).digest('hex').slice(0, 12)}.sock`;
}

/** The processes carrying `tag` in their environment (what a world started, transitively): [{pid, cmd}]. */
export const tagged = (tag) => processesWithEnv(`LLP_DAEMON_TEST_TAG=${tag}`);

/** `lean-lsp-proxy daemon …` processes (any parent) whose command line names `cacheDir`. */
export function daemonPids(cacheDir) {
  const out = [];
  for (const pid of pids()) {
    const argv = cmdline(pid);
    if (argv.length < 2 || !path.basename(argv[0]).startsWith('lean-lsp-proxy') || argv[1] !== 'daemon') continue;
    if (argv[2] === 'stop') continue;
    const i = argv.indexOf('--cache-dir');
    const dir = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--cache-dir='))?.slice(12);
    if (dir && path.resolve('/', dir) === path.resolve(cacheDir) && alive(pid)) out.push(pid);
  }
  return out;
}

/**
 * A private daemon world. `opts.runtime` overrides the runtime dir (for the
 * fallback tests); `opts.env` adds variables.
 */
export class World {
  constructor(name, opts = {}) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), `llp-daemon-${name}-`));
    this.runtime = opts.runtime ?? path.join(this.root, 'run');
    this.cache = path.join(this.root, 'cache');
    this.tag = randomBytes(8).toString('hex');
    this.env = {
      ...process.env,
      LEAN_LSP_PROXY_NO_DAEMON: '0',
      LEAN_LSP_PROXY_RUNTIME_DIR: this.runtime,
      XDG_CACHE_HOME: path.join(this.root, 'xdg-cache'),
      LLP_DAEMON_TEST_TAG: this.tag,
      PATH: simPath(),
      ...opts.env,
    };
    this.children = [];
  }

  get socket() { return path.join(this.runtime, socketName(this.cache)); }
  get log() { return this.socket.replace(/\.sock$/, '.log'); }
  logText() { try { return fs.readFileSync(this.log, 'utf8'); } catch { return '(no daemon log)'; } }

  /** Runs the CLI synchronously: {code, stdout, stderr}. */
  cli(args, { cache = true, env = {}, timeout = 20000, bin = paths.proxy } = {}) {
    const argv = cache ? [...args, '--cache-dir', this.cache] : args;
    const r = spawnSync(bin, argv, { env: { ...this.env, ...env }, encoding: 'utf8', timeout });
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  }

  /** A child the test spawned itself (tracked, see track()), to be waited for and reaped by close(). */
  adopt(child) {
    this.children.push(child);
    return child;
  }

  /** A proxy (the editor's command) with piped stdio, through the daemon unless told otherwise. */
  proxy(server, { args = [], cwd = this.root, env = {}, bin = paths.proxy } = {}) {
    return this.adopt(start([bin, '--cache-dir', this.cache, '--log-level', 'debug', ...args, '--', ...server],
      { cwd, env: { ...this.env, ...env } }));
  }

  /** `daemon --foreground` started by the test; resolves once the socket answers. */
  async foregroundDaemon(args = []) {
    const child = this.adopt(start([paths.proxy, 'daemon', '--foreground', '--cache-dir', this.cache, ...args], { env: this.env }));
    await waitUntil(() => fs.existsSync(this.socket) || child.exitCode !== null, 10000, () => `daemon socket ${this.socket}\n${child.stderrText}`);
    if (child.exitCode !== null) throw new Error(`foreground daemon exited ${child.exitCode}: ${child.stderrText}`);
    return child;
  }

  daemons() { return daemonPids(this.cache); }

  /**
   * `daemon stop`, then the pid(s) must be gone; then nothing tagged may be
   * left. Returns a list of problems (empty = clean); always cleans up.
   */
  async close() {
    const problems = [];
    const before = this.daemons();
    if (fs.existsSync(this.runtime)) {
      const r = this.cli(['daemon', 'stop']);
      if (r.code !== 0) problems.push(`daemon stop exited ${r.code}: ${r.stdout}${r.stderr}`);
    }
    const left = await waitGone(before, 12000);
    if (left.length) problems.push(`daemon pid(s) ${left} still alive after 'daemon stop'`);
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) {
        // a proxy whose session the stop ended should exit by itself
        try { await withTimeout(c.exited, 5000, 'child exit'); } catch { problems.push(`child ${c.pid} (${c.spawnargs.slice(1, 3).join(' ')}…) still running`); reap(c); }
      }
    }
    let stray = tagged(this.tag).filter((p) => !this.children.some((c) => c.pid === p.pid));
    if (stray.length) {
      await sleep(1000);  // a reaper finishing its tree
      stray = tagged(this.tag).filter((p) => !this.children.some((c) => c.pid === p.pid));
    }
    if (stray.length) {
      problems.push(`left running: ${stray.map((p) => `${p.pid} ${p.cmd}`).join('; ')}`);
      for (const p of stray) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
    }
    for (const p of this.daemons()) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    if (!process.env.LLP_DAEMON_TEST_KEEP) fs.rmSync(this.root, { recursive: true, force: true });
    return problems;
  }
}

/**
 * Runs `body(w)` in a fresh World(name, opts), then `cleanup(w)` if given,
 * then closes the world: a world that does not end cleanly fails a test that
 * passed; after a failure the cleanup is only reported, not to mask it.
 */
export async function inWorld(name, body, { opts, cleanup } = {}) {
  const w = new World(name, opts);
  try {
    return await body(w);
  } catch (e) {
    w.failed = e;
    throw e;
  } finally {
    if (cleanup) await cleanup(w);
    const problems = await w.close();
    if (w.failed) { if (problems.length) console.log(`cleanup after failure: ${problems.join('; ')}`); }
    else assert.deepEqual(problems, [], 'the world did not end cleanly');
  }
}

/**
 * A minimal LSP client over a child's stdio: requests, notifications, every
 * message kept; server→client requests are answered with null.
 */
export class Lsp extends LspClient {
  constructor(child) {
    super(child, { answerRequests: true, onBadHeader: () => false });
    this.nextId = 1;
  }

  async request(method, params, ms = 15000) {
    const id = this.nextId++;
    this.send({ jsonrpc: '2.0', id, method, params });
    // Fails at once (not at the timeout) when the proxy closes its stdout first.
    const closed = this.ended.then(() => sleep(100)).then(() => { throw new Error(`the proxy closed its stdout before replying to ${method}\n--- stderr ---\n${this.child.stderrText.slice(-3000)}`); });
    const r = await Promise.race([this.waitFor((m) => m.id === id && !('method' in m), ms, `reply to ${method} (id ${id})`), closed]);
    if (r.error) throw new Error(`${method} failed: ${JSON.stringify(r.error)}`);
    return r.result;
  }

  async initialize(rootUri = null, capabilities = {}, ms = 15000) {
    const r = await this.request('initialize', { processId: process.pid, rootUri, capabilities }, ms);
    this.notify('initialized', {});
    return r;
  }

  /** shutdown + exit; resolves with the proxy's exit code. */
  async shutdown(ms = 15000) {
    await this.request('shutdown', null);
    this.notify('exit', {});
    const { code } = await waitExit(this.child, ms, 'proxy exit after shutdown/exit');
    return code;
  }
}

/** The daemon pid the proxy reported connecting to (from its debug log on stderr), or null. */
export function connectedDaemonPid(child) {
  const m = /connected to the lean-lsp-proxy daemon \(pid (\d+)\)/.exec(child.stderrText);
  return m ? Number(m[1]) : null;
}

/** The demo Lake project in `root`/ws, built with the simulator: {dir, uri(rel)}. */
export const simWorkspace = (root) => buildDemoProject(path.join(root, 'ws'));

export function uidOf(name) {
  try {
    return Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    return null;
  }
}

/**
 * Another uid to connect as: the `llptest` user (created with `useradd -M`
 * when we are root and it is missing), else `nobody`. null when we cannot
 * switch uid (not root, or no setpriv).
 */
export function otherUid() {
  if (process.getuid() !== 0) return null;
  if (!executable('/usr/bin/setpriv')) return null;
  let uid = uidOf('llptest');
  if (uid === null) {
    spawnSync('useradd', ['-M', '-r', '-s', '/usr/sbin/nologin', 'llptest'], { stdio: 'ignore' });
    uid = uidOf('llptest');
  }
  if (uid === null) uid = uidOf('nobody');
  return uid;
}

/** otherUid(), or null once `t` is skipped saying `why`. */
export function otherUidOr(t, why) {
  const uid = otherUid();
  if (uid === null) t.skip(why);
  return uid;
}
