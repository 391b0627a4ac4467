// CLI commands with and without a daemon (output and exit codes), idle exit,
// and SIGTERM / SIGKILL ending every server the daemon started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  inWorld, Lsp, paths, skip, simSkip, sleep, waitExit, waitGone, tagged, alive, connectedDaemonPid,
  simWorkspace, waitFor, ppid,
} from './lib.mjs';

test('CLI without a daemon: status 1, daemon stop 0, stats / stats --json / cache clear 1 — and nothing is started', { skip }, async () => {
  await inWorld('cli-none', async (w) => {
    const status = w.cli(['status']);
    assert.equal(status.code, 1);
    assert.equal(status.stdout, 'lean-lsp-proxy: no daemon is running\n');
    const stop = w.cli(['daemon', 'stop']);
    assert.equal(stop.code, 0);
    assert.equal(stop.stdout, 'lean-lsp-proxy: no daemon is running\n');
    for (const args of [['stats'], ['stats', '--json'], ['cache', 'clear']]) {
      const r = w.cli(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '', `${args.join(' ')} printed to stdout`);
      assert.match(r.stderr, /no lean-lsp-proxy daemon is running/);
      assert.match(r.stderr, /The daemon starts with the first editor session/);
    }
    assert.deepEqual(w.daemons(), [], 'a CLI command started a daemon');
    assert.equal(fs.existsSync(w.socket), false);
  });
});

test('CLI bad usage exits 2', { skip }, async () => {
  await inWorld('cli-usage', async (w) => {
    for (const args of [['daemon', 'bogus'], ['daemon', '--idle-timeout', '0'], ['daemon', '--idle-timeout', 'soon'], ['stats', '--jsn']]) {
      const r = w.cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    }
    assert.deepEqual(w.daemons(), []);
  });
});

test('CLI with a running daemon: status, stats, stats --json, cache clear, a second daemon refused, daemon stop', { skip }, async () => {
  await inWorld('cli-run', async (w) => {
    const d = await w.foregroundDaemon();
    const status = w.cli(['status']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(status.stdout.split('\n')[0], `daemon running: pid ${d.pid}, socket ${w.socket}`);
    assert.match(status.stdout, /^sessions: 0 active, 0 total$/m);
    assert.match(status.stdout, /^cache: read-write$/m);
    assert.match(status.stdout, /^uptime: \d+ s$/m);

    const json = w.cli(['stats', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const s = JSON.parse(json.stdout);
    assert.equal(s.schema, 1);
    assert.equal(typeof s.cache.entries, 'number');
    assert.equal(s.cache.hit_rate, 0);
    assert.equal(s.proxy.sessions, 0);
    assert.equal(s.proxy.sessions_total, 0);

    const table = w.cli(['stats']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^Cache entries\s+0 \(0 B\)$/m);
    assert.match(table.stdout, /^Cache hit rate\s+0\.00 %$/m);
    assert.match(table.stdout, /^Sessions \(active \/ total\)\s+0 \/ 0$/m);

    const clear = w.cli(['cache', 'clear']);
    assert.equal(clear.code, 0, clear.stderr);
    assert.equal(clear.stdout, 'cleared 0 cache entries\n');

    // A session shows up in status while it runs.
    const p = w.proxy([paths.crashy]);
    const lsp = new Lsp(p);
    await lsp.initialize();
    assert.equal(connectedDaemonPid(p), d.pid);
    assert.match(w.cli(['status']).stdout, /^sessions: 1 active, 1 total$/m);
    assert.equal(JSON.parse(w.cli(['stats', '--json']).stdout).proxy.sessions, 1);
    assert.equal(await lsp.shutdown(), 0);
    await waitFor(() => /sessions: 0 active, 1 total/.test(w.cli(['status']).stdout), 3000, 'the session to end in status');
    const after = JSON.parse(w.cli(['stats', '--json']).stdout);
    assert.equal(after.proxy.sessions_total, 1);
    assert.ok(after.proxy.messages_from_client >= 4, JSON.stringify(after.proxy));  // initialize, initialized, shutdown, exit

    // A second daemon for the same cache dir is refused.
    const second = w.cli(['daemon', '--foreground']);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /another daemon is already running/);
    assert.deepEqual(w.daemons(), [d.pid]);

    const stop = w.cli(['daemon', 'stop']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout, 'daemon stopped\n');
    const { code } = await waitExit(d, 5000, 'daemon exit after daemon stop');
    assert.equal(code, 0);
    assert.equal(fs.existsSync(w.socket), false, 'the socket outlived the daemon');
    const again = w.cli(['status']);
    assert.equal(again.code, 1);
  });
});

test('daemon --cache off: status says so, cache clear fails with a clear error', { skip }, async () => {
  await inWorld('cli-nocache', async (w) => {
    await w.foregroundDaemon(['--cache', 'off']);
    assert.match(w.cli(['status']).stdout, /^cache: off$/m);
    const clear = w.cli(['cache', 'clear']);
    assert.equal(clear.code, 1);
    assert.match(clear.stderr, /the daemon runs without a cache/);
  });
});

test('idle exit: daemon --idle-timeout 2s without sessions exits by itself', { skip }, async () => {
  await inWorld('idle', async (w) => {
    const t0 = Date.now();
    const d = await w.foregroundDaemon(['--idle-timeout', '2s']);
    const { code } = await waitExit(d, 8000, 'idle exit');
    const ms = Date.now() - t0;
    assert.equal(code, 0, d.stderrText);
    assert.ok(ms >= 1800, `exited after ${ms} ms, before the idle timeout`);
    assert.equal(fs.existsSync(w.socket), false);
    assert.match(w.cli(['status']).stdout, /no daemon is running/);
  });
});

test('idle exit waits for sessions: alive while a session lasts past the timeout, exits ~2 s after it ends', { skip }, async () => {
  await inWorld('idle-session', async (w) => {
    const d = await w.foregroundDaemon(['--idle-timeout', '2s']);
    const p = w.proxy([paths.crashy]);
    const lsp = new Lsp(p);
    await lsp.initialize();
    const docs = await lsp.request('test/documents', null);
    await sleep(3500);
    assert.ok(alive(d.pid), 'the daemon idled out with a session open');
    assert.ok(alive(docs.pid));
    assert.equal(await lsp.shutdown(), 0);
    const t0 = Date.now();
    const { code } = await waitExit(d, 8000, 'idle exit after the last session');
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 >= 1500, 'exited before the idle timeout ran out');
    assert.ok(!alive(docs.pid));
  });
});

/** Starts `n` crashy sessions, each with two sleepers (one daemonized away). */
async function crashySessionsWithDescendants(w, n) {
  const out = [];
  for (let i = 0; i < n; ++i) {
    const p = w.proxy([paths.crashy]);
    const lsp = new Lsp(p);
    await lsp.initialize();
    const docs = await lsp.request('test/documents', null);
    const s1 = await lsp.request('test/spawn', { daemonize: false });
    const s2 = await lsp.request('test/spawn', { daemonize: true });
    out.push({ p, lsp, pids: [docs.pid, ppid(docs.pid), s1.pid, s2.pid] });
  }
  return out;
}

test('SIGTERM to the auto-started daemon ends every server and their descendants; the proxies see EOF', { skip: simSkip }, async () => {
  await inWorld('sigterm', async (w) => {
    const sessions = await crashySessionsWithDescendants(w, 2);
    // and a simulator session with an open document: watchdog + worker processes
    const ws = simWorkspace(w.root);
    const sp = w.proxy(['lake', 'serve'], { cwd: ws.dir });
    const sl = new Lsp(sp);
    await sl.initialize(ws.uri(''));
    sl.notify('textDocument/didOpen', { textDocument: { uri: ws.uri('Main.lean'), languageId: 'lean4', version: 1, text: 'import Demo.A\n#eval a\n' } });
    await sl.request('textDocument/waitForDiagnostics', { uri: ws.uri('Main.lean'), version: 1 }, 30000);
    const [daemon] = w.daemons();
    assert.ok(daemon);
    const proxies = [...sessions.map((s) => s.p), sp];
    for (const p of proxies) assert.equal(connectedDaemonPid(p), daemon, p.stderrText);
    const world = tagged(w.tag).map((p) => p.pid).filter((pid) => !proxies.some((p) => p.pid === pid) && pid !== daemon);
    assert.ok(world.length >= 2 * 4 + 3, `expected servers, reapers, sleepers and sim workers: ${JSON.stringify(tagged(w.tag))}`);
    for (const s of sessions) for (const pid of s.pids) assert.ok(world.includes(pid), `${pid} not found`);

    process.kill(daemon, 'SIGTERM');
    const left = await waitGone([daemon, ...world], 12000);
    assert.deepEqual(left.map((pid) => `${pid} ${tagged(w.tag).find((t) => t.pid === pid)?.cmd}`), [], 'left running after SIGTERM');
    for (const p of proxies) await waitExit(p, 3000, 'proxy exit after the daemon stopped');
    assert.equal(fs.existsSync(w.socket), false);
    assert.match(w.logText(), /signal 15; stopping/);
  });
});

test('SIGTERM to a foreground daemon during a session: servers gone, exit 0', { skip }, async () => {
  await inWorld('sigterm-fg', async (w) => {
    const d = await w.foregroundDaemon();
    const [s] = await crashySessionsWithDescendants(w, 1);
    d.kill('SIGTERM');
    const { code } = await waitExit(d, 12000, 'daemon exit on SIGTERM');
    assert.equal(code, 0);
    assert.deepEqual(await waitGone(s.pids, 3000), []);
    await waitExit(s.p, 3000, 'proxy exit');
  });
});

test('SIGKILL to the daemon: its servers do not outlive it (reapers die with their parent); the editors go on with a new one', { skip }, async () => {
  await inWorld('sigkill', async (w) => {
    const sessions = await crashySessionsWithDescendants(w, 1);
    const [daemon] = w.daemons();
    process.kill(daemon, 'SIGKILL');
    const pids = sessions.flatMap((s) => s.pids);
    assert.deepEqual(await waitGone(pids, 8000), [], 'orphans after the daemon was killed');
    // The relays reconnected (death.test.mjs has the details) and end normally.
    for (const s of sessions) {
      const docs = await s.lsp.request('test/documents', null);
      assert.ok(!pids.includes(docs.pid), 'a new server serves the editor');
      assert.equal(await s.lsp.shutdown(), 0);
    }
    assert.notEqual(w.daemons()[0], daemon);
  });
});
