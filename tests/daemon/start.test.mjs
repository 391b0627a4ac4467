// Auto-start: proxies started at the same moment share one daemon; the
// daemon holds no descriptor of the clients (their pipes reach EOF as soon as
// the proxy exits); stdin EOF ends a session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  inWorld, Lsp, paths, skip, simSkip, waitExit, withTimeout, tagged, fdTargets, ppid, cmdline,
  connectedDaemonPid, simWorkspace, waitFor, alive, waitGone, simBin, track, procStat,
} from './lib.mjs';

/** A crashy session: initialize, didOpen, the server reports the document. */
async function crashySession(lsp, uri) {
  await lsp.initialize();
  lsp.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'plaintext', version: 1, text: `hello ${uri}\n` } });
  const docs = await lsp.request('test/documents', null);
  assert.deepEqual(docs.documents.map((d) => d.uri), [uri]);
  return docs;
}

test('two proxies started at the same moment → exactly one daemon, both sessions work (crash server, 4 rounds)', { skip }, async () => {
  for (let round = 0; round < 4; ++round) {
    await inWorld(`race${round}`, async (w) => {
      // Same tick: both race for the socket, then for the start lock.
      const a = w.proxy([paths.crashy]);
      const b = w.proxy([paths.crashy]);
      const la = new Lsp(a), lb = new Lsp(b);
      const [da, db] = await Promise.all([crashySession(la, 'file:///tmp/a.txt'), crashySession(lb, 'file:///tmp/b.txt')]);
      const daemons = w.daemons();
      assert.equal(daemons.length, 1, `round ${round}: daemons ${JSON.stringify(daemons)}\n${w.logText()}`);
      assert.equal(connectedDaemonPid(a), daemons[0], `round ${round}: proxy a did not use the daemon:\n${a.stderrText}`);
      assert.equal(connectedDaemonPid(b), daemons[0], `round ${round}: proxy b did not use the daemon:\n${b.stderrText}`);
      // Each server runs under its reaper, a child of the daemon — not of the proxies.
      for (const d of [da, db]) assert.equal(ppid(ppid(d.pid)), daemons[0], `server ${d.pid} is not the daemon's`);
      assert.notEqual(da.pid, db.pid, 'two sessions must not share a server');
      assert.equal(await la.shutdown(), 0);
      assert.equal(await lb.shutdown(), 0);
      // The daemon outlives its sessions (until idle).
      assert.ok(alive(daemons[0]), 'the daemon exited with its last session');
    });
  }
});

test('four proxies started at the same moment → exactly one daemon (2 rounds)', { skip }, async () => {
  for (let round = 0; round < 2; ++round) {
    await inWorld(`race4-${round}`, async (w) => {
      const kids = [0, 1, 2, 3].map(() => w.proxy([paths.crashy]));
      const lsps = kids.map((k) => new Lsp(k));
      await Promise.all(lsps.map((l, i) => crashySession(l, `file:///tmp/f${i}.txt`)));
      const daemons = w.daemons();
      assert.equal(daemons.length, 1, `daemons ${JSON.stringify(daemons)}`);
      for (const k of kids) assert.equal(connectedDaemonPid(k), daemons[0], k.stderrText);
      const codes = await Promise.all(lsps.map((l) => l.shutdown()));
      assert.deepEqual(codes, [0, 0, 0, 0]);
    });
  }
});

test('two proxies at once against the simulator: one daemon, both get diagnostics', { skip: simSkip }, async () => {
  await inWorld('race-sim', async (w) => {
    const ws = simWorkspace(w.root);
    const texts = ['import Demo.A\ntheorem t : a = 3 := by decide\n', 'import Demo.A\n#check zz\n'];
    const kids = [w.proxy(['lake', 'serve'], { cwd: ws.dir }), w.proxy(['lake', 'serve'], { cwd: ws.dir })];
    const lsps = kids.map((k) => new Lsp(k));
    const uris = [ws.uri('X.lean'), ws.uri('Y.lean')];
    const expected = [/unsolved goals/, /unknown identifier 'zz'/];
    await Promise.all(lsps.map(async (l, i) => {
      await l.initialize(ws.uri(''));
      l.notify('textDocument/didOpen', { textDocument: { uri: uris[i], languageId: 'lean4', version: 1, text: texts[i] } });
      await l.request('textDocument/waitForDiagnostics', { uri: uris[i], version: 1 }, 30000);
      const pub = l.messages.filter((m) => m.method === 'textDocument/publishDiagnostics' && m.params.uri === uris[i]).at(-1);
      assert.ok(pub, `no diagnostics for ${uris[i]}`);
      assert.match(pub.params.diagnostics.map((d) => d.message).join('\n'), expected[i]);
    }));
    const daemons = w.daemons();
    assert.equal(daemons.length, 1);
    for (const k of kids) assert.equal(connectedDaemonPid(k), daemons[0], k.stderrText);
    assert.deepEqual(await Promise.all(lsps.map((l) => l.shutdown())), [0, 0]);
  });
});

const sessionId = (pid) => procStat(pid).session;

/** Inodes ("pipe:[N]", "socket:[N]") of a process's fds 0-2. */
function stdioInodes(pid) {
  const t = fdTargets(pid);
  return ['0', '1', '2'].map((fd) => t[fd]).filter((s) => s && /^(pipe|socket):/.test(s));
}

/** Every process of the world except `exceptPids` that holds one of `inodes`. */
function holders(w, inodes, exceptPids) {
  const out = [];
  for (const p of tagged(w.tag)) {
    if (exceptPids.includes(p.pid)) continue;
    for (const [fd, target] of Object.entries(fdTargets(p.pid)))
      if (inodes.includes(target)) out.push(`${p.pid} (${p.cmd.slice(0, 80)}) fd ${fd} → ${target}`);
  }
  return out;
}

test('the auto-started daemon holds no descriptor of its client: stdout/stderr reach EOF when the proxy exits', { skip }, async () => {
  await inWorld('nopipe', async (w) => {
    const p = w.proxy([paths.crashy]);
    const stderrEnd = new Promise((r) => p.stderr.on('end', () => r(Date.now())));
    const lsp = new Lsp(p);
    await crashySession(lsp, 'file:///tmp/x.txt');
    const [daemon] = w.daemons();
    assert.ok(daemon, 'no daemon started');
    assert.equal(connectedDaemonPid(p), daemon, p.stderrText);
    // While the session runs: the proxy's stdio are the test's pipes; no other
    // process of the world (daemon, reaper, server) may hold any of them.
    const inodes = stdioInodes(p.pid);
    assert.equal(inodes.length, 3, `proxy stdio: ${JSON.stringify(fdTargets(p.pid))}`);
    assert.deepEqual(holders(w, inodes, [p.pid]), []);
    // The daemon is detached: its own session, not a child of the proxy, stdin/stdout on /dev/null.
    assert.notEqual(ppid(daemon), p.pid);
    // setsid then a second fork: a session of its own (not the proxy's), of which it is not the leader.
    assert.notEqual(sessionId(daemon), sessionId(p.pid), "the daemon shares the proxy's session (no setsid)");
    assert.notEqual(ppid(daemon), p.pid);
    const dfd = fdTargets(daemon);
    assert.equal(dfd['0'], '/dev/null');
    assert.equal(dfd['1'], '/dev/null');
    assert.equal(dfd['2'], w.log, 'the daemon\'s stderr should be its log');

    await lsp.request('shutdown', null);
    lsp.notify('exit', {});
    const t0 = Date.now();
    const { code } = await waitExit(p, 5000, 'proxy exit');
    assert.equal(code, 0);
    const [outEnd, errEnd] = await withTimeout(Promise.all([lsp.ended, stderrEnd]), 2000,
      'EOF on the proxy\'s stdout/stderr after it exited (someone else holds the pipe)');
    assert.ok(outEnd - t0 < 2000 && errEnd - t0 < 2000);
    assert.ok(alive(daemon), 'the daemon should still run');
    assert.deepEqual(holders(w, inodes, []), []);
  });
});

test('real pipes (bash pipeline cat | proxy | cat): the pipeline ends at once after exit, the daemon keeps running', { skip }, async () => {
  await inWorld('pipeline', async (w) => {
    // The proxy's stdin, stdout and stderr are all real pipes with a `cat` on
    // the far side: each cat ends only when every writer of its pipe is gone.
    const script = 'cat | "$@" 2> >(cat >&2) | cat';
    const child = w.adopt(track(spawn('bash', ['-c', script, 'bash', paths.proxy, '--cache-dir', w.cache, '--log-level', 'debug', '--', paths.crashy],
      { stdio: ['pipe', 'pipe', 'pipe'], env: w.env, cwd: w.root })));
    const lsp = new Lsp(child);
    await crashySession(lsp, 'file:///tmp/p.txt');
    const proxyPid = await waitFor(() => tagged(w.tag).find((p) => cmdline(p.pid)[0] === paths.proxy && cmdline(p.pid)[1] === '--cache-dir')?.pid,
      3000, 'the proxy process');
    const inodes = stdioInodes(proxyPid);
    assert.equal(inodes.filter((s) => s.startsWith('pipe:')).length, 3, JSON.stringify(fdTargets(proxyPid)));
    const [daemon] = w.daemons();
    assert.ok(daemon);
    assert.deepEqual(holders(w, inodes, [proxyPid, ...tagged(w.tag).filter((p) => /^(cat|bash)$/.test(path.basename(cmdline(p.pid)[0] ?? ''))).map((p) => p.pid)]), []);
    await lsp.request('shutdown', null);
    lsp.notify('exit', {});
    child.stdin.end();
    const r = await waitExit(child, 3000, 'the pipeline to end (a pipe held open by the daemon?)');
    assert.equal(r.code, 0, child.stderrText);
    await withTimeout(lsp.ended, 1000, 'stdout EOF');
    assert.ok(alive(daemon));
  });
});

test('stdin EOF without shutdown ends the session: the proxy exits 1 promptly, its server is gone', { skip }, async () => {
  await inWorld('eof', async (w) => {
    const p = w.proxy([paths.crashy]);
    const lsp = new Lsp(p);
    const docs = await crashySession(lsp, 'file:///tmp/e.txt');
    p.stdin.end();
    const { code } = await waitExit(p, 8000, 'proxy exit after stdin EOF');
    assert.equal(code, 1);
    await withTimeout(lsp.ended, 1000, 'stdout EOF');
    const left = await waitFor(() => !alive(docs.pid), 6000, `server ${docs.pid} still running after its session ended`);
    assert.ok(left);
  });
});

test('a second session after the first ended reuses the running daemon', { skip }, async () => {
  await inWorld('reuse', async (w) => {
    const a = w.proxy([paths.crashy]);
    const la = new Lsp(a);
    await crashySession(la, 'file:///tmp/1.txt');
    assert.equal(await la.shutdown(), 0);
    const [daemon] = w.daemons();
    const b = w.proxy([paths.crashy]);
    const lb = new Lsp(b);
    await crashySession(lb, 'file:///tmp/2.txt');
    assert.equal(connectedDaemonPid(b), daemon);
    assert.deepEqual(w.daemons(), [daemon]);
    assert.equal(await lb.shutdown(), 0);
    const st = w.cli(['status']);
    assert.match(st.stdout, /sessions: 0 active, 2 total/);
  });
});

test('an editor killing its proxy (SIGKILL) ends that session in the daemon: its server goes, the daemon stays', { skip }, async () => {
  await inWorld('killproxy', async (w) => {
    const p = w.proxy([paths.crashy]);
    const lsp = new Lsp(p);
    const docs = await crashySession(lsp, 'file:///tmp/k.txt');
    const [daemon] = w.daemons();
    p.kill('SIGKILL');
    await waitExit(p, 3000, 'proxy death');
    await waitFor(() => !alive(docs.pid), 8000, `server ${docs.pid} still running after its proxy was killed`);
    await waitFor(() => /sessions: 0 active, 1 total/.test(w.cli(['status']).stdout), 3000, 'the session to end');
    assert.ok(alive(daemon));
  });
});

test('a stale socket left by a killed daemon: status says none; two new proxies start exactly one fresh daemon', { skip }, async () => {
  await inWorld('stale', async (w) => {
    const d = await w.foregroundDaemon();
    d.kill('SIGKILL');
    await waitExit(d, 3000, 'daemon death');
    assert.ok(fs.existsSync(w.socket), 'precondition: the socket file is left behind');
    const st = w.cli(['status']);
    assert.equal(st.code, 1);
    assert.match(st.stdout, /no daemon is running/);
    const kids = [w.proxy([paths.crashy]), w.proxy([paths.crashy])];
    const lsps = kids.map((k) => new Lsp(k));
    await Promise.all(lsps.map((l, i) => crashySession(l, `file:///tmp/s${i}.txt`)));
    const daemons = w.daemons();
    assert.equal(daemons.length, 1);
    assert.notEqual(daemons[0], d.pid);
    for (const k of kids) assert.equal(connectedDaemonPid(k), daemons[0], k.stderrText);
    assert.deepEqual(await Promise.all(lsps.map((l) => l.shutdown())), [0, 0]);
  });
});

test('through the lake/lean shims (as an editor runs `lake serve`): one daemon, diagnostics, no loop; servers see LEAN_LSP_PROXY_ACTIVE=1', { skip: simSkip }, async () => {
  await inWorld('shim', async (w) => {
    const ws = simWorkspace(w.root);
    const shims = path.join(w.root, 'shims');
    fs.mkdirSync(shims);
    for (const tool of ['lake', 'lean']) fs.symlinkSync(paths.proxy, path.join(shims, tool));
    // The editor's environment: the shims first, the real (simulated) tools after.
    const env = { ...w.env, PATH: `${shims}:${w.env.PATH}` };
    const kids = [0, 1].map(() => w.adopt(track(spawn(path.join(shims, 'lake'), ['serve'], { cwd: ws.dir, env, stdio: ['pipe', 'pipe', 'pipe'] }))));
    const lsps = kids.map((k) => new Lsp(k));
    const uri = ws.uri('Main.lean');
    await Promise.all(lsps.map(async (l, i) => {
      await l.initialize(ws.uri(''), {}, 20000);
      l.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'lean4', version: 1, text: `import Demo.A\n#check zz${i}\n` } });
      await l.request('textDocument/waitForDiagnostics', { uri, version: 1 }, 30000);
      const pub = l.messages.filter((m) => m.method === 'textDocument/publishDiagnostics' && m.params.uri === uri).at(-1);
      assert.match(JSON.stringify(pub.params.diagnostics), new RegExp(`unknown identifier 'zz${i}'`));
    }));
    const procs = tagged(w.tag);
    const daemons = procs.filter((p) => cmdline(p.pid)[1] === 'daemon');
    assert.equal(daemons.length, 1, JSON.stringify(procs));
    for (const k of kids) assert.equal(connectedDaemonPid(k), daemons[0].pid, k.stderrText);
    // no loop: per session one reaper, one real lake, one real lean watchdog (+ its worker)
    const proxies = procs.filter((p) => cmdline(p.pid)[0] === path.join(shims, 'lake') || (path.basename(cmdline(p.pid)[0]) === 'lean-lsp-proxy' && cmdline(p.pid)[1] === '--'));
    assert.ok(proxies.length <= 2, `proxies: ${JSON.stringify(proxies)}`);
    const reapers = procs.filter((p) => cmdline(p.pid)[1] === '__reaper');
    assert.equal(reapers.length, 2, JSON.stringify(procs));
    for (const r of reapers) assert.equal(cmdline(r.pid)[3], path.join(simBin, 'lake'), 'the server must be the real lake, by absolute path');
    for (const r of reapers) {
      const env = fs.readFileSync(`/proc/${r.pid}/environ`, 'utf8').split('\0');
      assert.ok(env.includes('LEAN_LSP_PROXY_ACTIVE=1'), 'the server environment lacks the loop guard');
    }
    assert.deepEqual(await Promise.all(lsps.map((l) => l.shutdown())), [0, 0]);
    // the shims' proxy uses the default cache dir: stop that daemon (daemon.sock) here
    const stop = w.cli(['daemon', 'stop'], { cache: false });
    assert.equal(stop.code, 0, stop.stderr);
    assert.deepEqual(await waitGone([daemons[0].pid], 12000), []);
  }, { cleanup: (w) => w.cli(['daemon', 'stop'], { cache: false }) });
});
