// Regression tests for daemon bugs D1–D10 found in the first session (all
// fixed): each asserts the correct behaviour; the comment above each test
// says what went wrong and where.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import {
  inWorld, Lsp, paths, skip, simSkip, sleep, waitExit, waitGone, tagged, alive, connectedDaemonPid, waitFor, otherUidOr, daemonPids,
  simWorkspace, cmdline, ppid,
} from './lib.mjs';

// D1. daemon.cpp start_session(): `idle_timer_.reset()` runs before
// `session->start()`; when start fails (server missing) the function returns
// without re-arming the idle timer, so a daemon with no sessions never idles
// out (a detached one lives until SIGTERM).
test('daemon bug D1: a session whose server cannot start disarms the idle timer forever', { skip }, async () => {
  await inWorld('d1', async (w) => {
    const d = await w.foregroundDaemon(['--idle-timeout', '2s']);
    const p = w.proxy(['/nonexistent/lean-server']);
    await waitExit(p, 5000, 'proxy exit');
    const r = await Promise.race([d.exited, sleep(7000).then(() => null)]);
    assert.ok(r, `the daemon (idle timeout 2 s, no sessions) is still running 7 s later; status: ${w.cli(['status']).stdout}`);
  });
});

// D2. A relative --cache-dir is sent as-is to the auto-started daemon
// (client.cpp spawn_daemon), which runs after chdir("/"): it opens the cache
// at /<dir> and listens on the socket named for /<dir>, while the client
// waits for the socket named for $PWD/<dir>. The client falls back to
// in-process after 10 s, and the stray daemon (with a cache in /) stays.
// Fix: make cache_dir absolute in the client (or in parse_options).
test('daemon bug D2: a relative --cache-dir starts a daemon at /<dir> that the client never finds', { skip }, async () => {
  await inWorld('d2', async (w) => {
    const rel = `llp-reldir-${w.tag}`;
    const p = w.proxy([paths.crashy], { args: ['--cache-dir', rel], cwd: w.root });
    const lsp = new Lsp(p);
    const t0 = Date.now();
    await lsp.initialize(null, {}, 20000);
    const ms = Date.now() - t0;
    assert.equal(await lsp.shutdown(), 0);
    const ours = daemonPids(path.join(w.root, rel));
    assert.equal(fs.existsSync(`/${rel}`), false, `a cache was created at /${rel}`);
    assert.ok(connectedDaemonPid(p), `the proxy ran in-process after ${ms} ms:\n${p.stderrText.split('\n').filter((l) => /daemon/.test(l)).join('\n')}`);
    assert.equal(ours.length, 1, 'no daemon for the cache dir the user meant');
    w.cli(['daemon', 'stop', '--cache-dir', path.join(w.root, rel)], { cache: false });
  }, {
    cleanup: async (w) => {
      const rel = `llp-reldir-${w.tag}`;
      for (const pid of daemonPids(`/${rel}`)) { try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
      await waitGone(daemonPids(`/${rel}`), 5000);
      fs.rmSync(`/${rel}`, { recursive: true, force: true });
    },
  });
});

/** SIGTERM to the world's daemons (whichever of the two is still there). */
function stopDaemons(w) {
  for (const pid of w.daemons()) { try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
}

/**
 * A daemon stopping slowly (its session's server ignores shutdown/exit, so the
 * session waits its grace period before SIGTERM) while a new editor session
 * starts a successor daemon on the same socket path.
 */
async function handover(w) {
  const p1 = w.proxy(['/bin/sleep', '1000']);  // a "server" that never answers and never exits on its own
  const d1 = await waitFor(() => connectedDaemonPid(p1), 10000, () => `first session: ${p1.stderrText}`);
  // SIGTERM, not `daemon stop` (which now waits until the daemon is gone):
  // the daemon goes on stopping while a successor starts.
  process.kill(d1, 'SIGTERM');
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(alive(d1), 'expected the first daemon to be still stopping');
  const p2 = w.proxy([paths.crashy]);
  const l2 = new Lsp(p2);
  await l2.initialize();
  const d2 = connectedDaemonPid(p2);
  assert.ok(d2 && d2 !== d1, `the new session should have started a new daemon: ${p2.stderrText}`);
  return { p1, p2, l2, d1, d2 };
}

// D3. daemon.cpp Daemon::run(): after the loop ends it unlinks paths_.socket
// again — but stop() already unlinked it at once "so new clients start a fresh
// daemon", and by then the fresh daemon has bound the same path. The old
// daemon's exit deletes the new daemon's socket: the new daemon keeps running
// (with its sessions) unreachable; `status` says no daemon; the next editor
// starts a third daemon (two daemons, two cache owners).
// Fix: unlink only in stop() (or only if the path is still our inode).
test('daemon bug D3: a daemon finishing its stop deletes the socket of the daemon that replaced it', { skip }, async () => {
  await inWorld('d3', async (w) => {
    const { l2, d1, d2 } = await handover(w);
    assert.deepEqual(await waitGone([d1], 10000), [], 'the first daemon did not finish stopping');
    assert.ok(alive(d2));
    assert.ok(fs.existsSync(w.socket), `the socket is gone while daemon ${d2} runs`);
    const st = w.cli(['status']);
    assert.match(st.stdout, new RegExp(`daemon running: pid ${d2}`));
    const p3 = w.proxy([paths.crashy]);
    const l3 = new Lsp(p3);
    await l3.initialize();
    assert.equal(connectedDaemonPid(p3), d2, 'a third daemon was started');
    assert.equal(await l3.shutdown(), 0);
    assert.equal(await l2.shutdown(), 0);
  }, { cleanup: stopDaemons });
});

// D4. The same hand-over: the successor opens the cache store while the
// stopping daemon still holds RocksDB's lock, gets it read-only ("in use by
// another process") and never retries — for its whole life (30 min idle by
// default) nothing is stored. `daemon stop` returns before the daemon has
// released the store, so "stop, then reopen the editor" hits this.
// Fix: release the store (and the socket) before replying to stop / before
// the grace wait, or hold the start lock until exit, or retry read-write.
test('daemon bug D4: a daemon started while the previous one is stopping gets the cache read-only for good', { skip }, async () => {
  await inWorld('d4', async (w) => {
    const { l2, d1 } = await handover(w);
    await waitGone([d1], 10000);
    // Once the predecessor has released the store, the successor takes it
    // read-write (it retries every few seconds), rather than staying read-only.
    let st;
    for (let i = 0; i < 50; i++) {
      st = w.cli(['status']);
      if (/^cache: read-write$/m.test(st.stdout)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(st.stdout, /^cache: read-write$/m, `status of the new daemon:\n${st.stdout}`);
    assert.equal(await l2.shutdown(), 0);
  }, { cleanup: stopDaemons });
});

// D5. client.cpp connect_or_start(): the socket is tried before
// ensure_private_dir(), and the peer is never checked, so a socket in a
// runtime directory that belongs to someone else (e.g. another user created
// /tmp/lean-lsp-proxy-<our uid> first, or a shared XDG dir) is trusted: the
// client sends its whole environment (tokens, keys) and cwd in the hello, and
// relays the editor's traffic to whoever listens.
// Fix: check the directory (owner, mode) before connecting, and SO_PEERCRED
// on the client side too (the daemon's uid must be ours).
test('daemon bug D5: the proxy sends its environment to a socket in a directory that is not ours', { skip }, async (t) => {
  const uid = otherUidOr(t, 'not root: cannot make a directory of another uid');
  if (uid === null) return;
  const received = [];
  const fake = net.createServer((c) => {
    let data = '';
    c.on('data', (d) => {
      data += d;
      if (data.includes('}')) {
        received.push(data);
        const body = JSON.stringify({ ok: false, error: 'fake daemon' });
        c.end(`Content-Length: ${body.length}\r\n\r\n${body}`);
      }
    });
    c.on('error', () => {});
  });
  await inWorld('d5', async (w) => {
    fs.mkdirSync(w.runtime, { mode: 0o700 });
    await new Promise((r) => fake.listen(w.socket, r));
    fs.chownSync(w.runtime, uid, uid);  // the directory (and so the socket's home) is someone else's
    fs.chownSync(w.socket, uid, uid);
    const p = w.proxy([paths.crashy], { env: { LLP_SECRET_TOKEN: 'hunter2' } });
    const lsp = new Lsp(p);
    await lsp.initialize();
    assert.equal(await lsp.shutdown(), 0);
    assert.deepEqual(received.map((s) => s.slice(0, 300)), [], 'the proxy talked to a socket in a directory of another uid');
    assert.ok(!received.some((s) => s.includes('hunter2')), 'the environment leaked');
  }, { cleanup: () => fake.close() });
});

// D6. A server that cannot be started: in-process, the proxy's log (the
// editor's output panel) says why ("... is missing or not executable");
// through the daemon, the daemon logs the reason in its own log, closes the
// connection after having said {"ok":true}, and the client only says "the
// lean-lsp-proxy daemon closed the session unexpectedly".
// Fix: start the server before the ok reply and send {"ok":false,"error":…},
// or send the reason to the client (window/showMessage) before closing.
test('daemon bug D6: the editor is not told why its server could not be started', { skip }, async () => {
  await inWorld('d6', async (w) => {
    const direct = w.proxy(['/nonexistent/lean-server'], { args: ['--no-daemon'] });
    await waitExit(direct, 5000, 'in-process proxy exit');
    assert.match(direct.stderrText, /missing or not executable/, 'precondition: in-process says why');
    const p = w.proxy(['/nonexistent/lean-server']);
    await waitExit(p, 5000, 'proxy exit');
    assert.match(p.stderrText, /daemon \(pid \d+\)/, `the session went through the daemon:\n${p.stderrText}`);
    assert.match(p.stderrText, /missing or not executable/, `the client's log:\n${p.stderrText}`);
  });
});

// D7. A relative server path (`lean-lsp-proxy -- ./bin/server`, or
// `.lake/…`) is checked by the daemon against ITS working directory ("/",
// server_process.cpp: access(exe) before anything uses spec.cwd), so it fails
// through the daemon while it works in-process.
// Fix: resolve argv[0] against the hello's cwd (client or daemon side).
test('daemon bug D7: a relative server path is resolved against the daemon\'s cwd, not the client\'s', { skip }, async () => {
  await inWorld('d7', async (w) => {
    fs.mkdirSync(path.join(w.root, 'bin'));
    fs.symlinkSync(paths.crashy, path.join(w.root, 'bin', 'server'));
    const direct = w.proxy(['./bin/server'], { args: ['--no-daemon'] });
    const ld = new Lsp(direct);
    await ld.initialize();
    assert.equal(await ld.shutdown(), 0, 'precondition: in-process works');
    const p = w.proxy(['./bin/server']);
    const lsp = new Lsp(p);
    try {
      await lsp.initialize();
    } catch (e) {
      assert.fail(`through the daemon: ${e.message.split('\n')[0]}\n${w.logText().split('\n').filter((l) => /ERROR/.test(l)).join('\n')}`);
    }
    assert.ok(connectedDaemonPid(p));
    assert.equal(await lsp.shutdown(), 0);
  });
});

// D8. A relative --trace-dir is sent as-is in the hello and opened by the
// daemon relative to "/": the transcript lands in /<dir> (or nowhere),
// not in the directory the user named.
// Fix: make trace_dir absolute in the client before encoding the hello.
test('daemon bug D8: a relative --trace-dir writes the transcript relative to the daemon\'s cwd', { skip }, async () => {
  await inWorld('d8', async (w) => {
    const rel = `llp-trace-${w.tag}`;
    const p = w.proxy([paths.crashy], { args: ['--trace-dir', rel], cwd: w.root });
    const lsp = new Lsp(p);
    await lsp.initialize();
    assert.equal(await lsp.shutdown(), 0);
    assert.ok(connectedDaemonPid(p));
    const where = path.join(w.root, rel);
    const files = fs.existsSync(where) ? fs.readdirSync(where) : [];
    assert.equal(fs.existsSync(`/${rel}`), false, `the transcript went to /${rel}`);
    assert.equal(files.filter((f) => f.endsWith('.jsonl')).length, 1, `no transcript in ${where}`);
  }, { cleanup: (w) => fs.rmSync(`/llp-trace-${w.tag}`, { recursive: true, force: true }) });
});

// D9. wire.cpp encode_session_hello(): "cache" is encoded as
// `off ? "off" : "on"`, so `--cache readonly` reaches a running daemon as "on":
// the session stores its results in the shared store although the user asked
// for a read-only cache. (When such a client is the one that starts the
// daemon, the opposite happens: `--cache readonly` is passed on the daemon's
// command line and every later session is read-only.)
// Fix: send "readonly" and honour it per session (look up, never store).
test('daemon bug D9: --cache readonly is ignored by a running daemon (the session stores results)', { skip: simSkip }, async () => {
  await inWorld('d9', async (w) => {
    const ws = simWorkspace(w.root);
    await w.foregroundDaemon();
    const p = w.proxy(['lake', 'serve'], { cwd: ws.dir, args: ['--cache', 'readonly'] });
    const lsp = new Lsp(p);
    await lsp.initialize(ws.uri(''), { lean: { silentDiagnosticSupport: true } }, 20000);
    const uri = ws.uri('Main.lean');
    lsp.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'lean4', version: 1, text: 'import Demo.A\n#eval a\n' } });
    await lsp.request('textDocument/waitForDiagnostics', { uri, version: 1 }, 30000);
    assert.equal(await lsp.shutdown(), 0);
    assert.ok(connectedDaemonPid(p));
    await sleep(500);
    const stats = JSON.parse(w.cli(['stats', '--json']).stdout);
    assert.equal(stats.cache.entries, 0, `a --cache readonly session stored ${stats.cache.entries} entries: ${JSON.stringify(stats.cache)}`);
  });
});

// D10. The daemon starts every server's reaper as util::self_executable(),
// i.e. readlink("/proc/self/exe"). Once the installed binary is replaced
// (a rebuild, a package upgrade: the old inode is unlinked) that path is
// "…/lean-lsp-proxy (deleted)" and no server can be started any more: every
// new editor session is accepted ({"ok":true}) and then dropped — no
// in-process fallback — until the daemon is stopped by hand or idles out
// (30 min after the last session; never while one is open).
// Worse (D10b): the exec fails in the child Boost.Process v2 forked, whose
// error path calls exit(), not _exit() (boost/process/v2/posix/
// default_launcher.hpp:411): in a fork of the multi-threaded daemon the
// atexit handlers hang (rocksdb::Timer::~Timer → pthread_cond_destroy, futex
// wait, forever). That fork keeps a copy of every descriptor of the daemon —
// the listening socket, every session socket, servers' pipes — so the
// client of the failed session never sees EOF and hangs, and the stuck
// process outlives the daemon.
// Fix: exec "/proc/self/exe" (valid for a deleted file), or have the client
// compare the daemon's executable with its own and restart/fall back; and a
// launcher whose child can only _exit() (or check the reaper exists and is
// executable before forking).
test('daemon bug D10: after the proxy binary is replaced, the running daemon cannot start servers', { skip }, async () => {
  await inWorld('d10', async (w) => {
    const bin = path.join(w.root, 'bin', 'lean-lsp-proxy');
    fs.mkdirSync(path.dirname(bin));
    fs.copyFileSync(paths.proxy, bin);
    fs.chmodSync(bin, 0o755);
    const a = w.proxy([paths.crashy], { bin });
    const la = new Lsp(a);
    await la.initialize();
    const daemon = connectedDaemonPid(a);
    assert.ok(daemon, a.stderrText);
    // An upgrade: a new file at the same path (the running daemon's inode is unlinked).
    fs.copyFileSync(paths.proxy, `${bin}.new`);
    fs.chmodSync(`${bin}.new`, 0o755);
    fs.renameSync(`${bin}.new`, bin);
    const b = w.proxy([paths.crashy], { bin });
    const lb = new Lsp(b);
    const init = lb.initialize().then(() => 'ok', (e) => e);
    const first = await Promise.race([init, b.exited.then(() => 'exited'), sleep(8000).then(() => 'hang')]);
    // D10b: the failed launch leaves a forked copy of the daemon that never exits
    const forks = tagged(w.tag).filter((p) => p.pid !== daemon && cmdline(p.pid)[1] === 'daemon');
    assert.deepEqual(forks.map((p) => `${p.pid} (parent ${ppid(p.pid)}) ${p.cmd.slice(0, 60)}`), [],
      'a forked copy of the daemon is stuck (exit handlers after a failed exec) holding every descriptor of the daemon');
    assert.notEqual(first, 'hang', 'the second client hangs: its session socket is held open by the stuck fork');
    if (first !== 'ok') {
      assert.fail(`the second session failed: ${String(first.message ?? first).split('\n')[0]}\n${w.logText().split('\n').filter((l) => /ERROR/.test(l)).join('\n')}`);
    }
    assert.equal(await lb.shutdown(), 0);
    assert.equal(await la.shutdown(), 0);
  });
});
