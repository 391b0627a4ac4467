// One daemon, one cache store, shared by its sessions: the second session's
// open of a file the first one checked is a cache hit (simulator workspace).
// Also: each session runs its server with the client's own cwd and environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { inWorld, Lsp, paths, skip, simSkip, connectedDaemonPid, simWorkspace, waitFor } from './lib.mjs';

const caps = { lean: { silentDiagnosticSupport: true } };

async function leanSession(w, ws) {
  const p = w.proxy(['lake', 'serve'], { cwd: ws.dir });
  const lsp = new Lsp(p);
  await lsp.initialize(ws.uri(''), caps, 20000);
  return { p, lsp };
}

async function openAndWait(lsp, uri, text, version = 1) {
  lsp.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'lean4', version, text } });
  await lsp.request('textDocument/waitForDiagnostics', { uri, version }, 30000);
  const pubs = lsp.messages.filter((m) => m.method === 'textDocument/publishDiagnostics' && m.params.uri === uri && m.params.version === version);
  assert.ok(pubs.length, `no diagnostics for ${uri} v${version}`);
  return pubs;
}

const executeStats = (lsp) => lsp.request('workspace/executeCommand', { command: 'leanProxy.stats', arguments: [] });
const daemonStats = (w) => {
  const r = w.cli(['stats', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
};

test('the cache is shared across sessions: the second session\'s open of the same file is a hit', { skip: simSkip }, async () => {
  await inWorld('cache', async (w) => {
    const ws = simWorkspace(w.root);
    const uri = ws.uri('Main.lean');
    const text = 'import Demo.A\ntheorem t : a = 2 := by decide\n#eval a + 1\n';

    const s1 = await leanSession(w, ws);
    const pubs1 = await openAndWait(s1.lsp, uri, text);
    const st1 = await executeStats(s1.lsp);
    assert.equal(st1.cache.hits, 0, JSON.stringify(st1.cache));
    assert.ok(st1.cache.misses >= 1, JSON.stringify(st1.cache));
    await waitFor(() => daemonStats(w).cache.entries >= 1, 5000, 'the first session\'s result to be stored');

    // The second session runs while the first is still open: same daemon, same store.
    const s2 = await leanSession(w, ws);
    const daemon = connectedDaemonPid(s1.p);
    assert.ok(daemon, s1.p.stderrText);
    assert.equal(connectedDaemonPid(s2.p), daemon, s2.p.stderrText);
    const pubs2 = await openAndWait(s2.lsp, uri, text);
    const st2 = await executeStats(s2.lsp);
    assert.ok(st2.cache.hits >= 1, `no hit in the second session: ${JSON.stringify(st2.cache)}`);
    assert.equal(st2.cache.mode, 'read-write');
    // Served as a hit: one publish of the version, equal to the first session's final set.
    assert.deepEqual(pubs2[0].params.diagnostics, pubs1.at(-1).params.diagnostics);
    assert.match(JSON.stringify(pubs2[0].params.diagnostics), /Goals accomplished|"2"|3/);

    const all = daemonStats(w);
    assert.ok(all.cache.hits >= 1 && all.cache.misses >= 1, JSON.stringify(all.cache));
    assert.ok(all.cache.hit_rate > 0 && all.cache.hit_rate < 1);
    assert.equal(all.proxy.sessions, 2);
    assert.equal(all.proxy.sessions_total, 2);

    assert.equal(await s1.lsp.shutdown(), 0);
    assert.equal(await s2.lsp.shutdown(), 0);
    // Totals survive the sessions that made them.
    const after = daemonStats(w);
    assert.ok(after.cache.hits >= 1, JSON.stringify(after.cache));
    assert.equal(after.proxy.sessions, 0);

    // cache clear empties the shared store: a third session misses again.
    const entries = after.cache.entries;
    assert.ok(entries >= 1);
    const clear = w.cli(['cache', 'clear']);
    assert.equal(clear.code, 0, clear.stderr);
    assert.equal(clear.stdout, `cleared ${entries} cache entries\n`);
    assert.equal(daemonStats(w).cache.entries, 0);
    const s3 = await leanSession(w, ws);
    await openAndWait(s3.lsp, uri, text);
    const st3 = await executeStats(s3.lsp);
    assert.equal(st3.cache.hits, 0, `a hit after cache clear: ${JSON.stringify(st3.cache)}`);
    assert.equal(await s3.lsp.shutdown(), 0);
  });
});

test('each session\'s server gets its client\'s cwd and environment, not the daemon\'s', { skip }, async () => {
  await inWorld('env', async (w) => {
    // The "server": a shell that records its cwd and one variable, then execs the crash server.
    const script = path.join(w.root, 'server.sh');
    fs.writeFileSync(script, `#!/bin/sh\npwd > "$LLP_OUT"\necho "FLAVOUR=$FLAVOUR" >> "$LLP_OUT"\necho "ACTIVE=$LEAN_LSP_PROXY_ACTIVE" >> "$LLP_OUT"\nexec "${paths.crashy}"\n`, { mode: 0o755 });
    const sessions = [];
    for (const flavour of ['one', 'two']) {
      const dir = path.join(w.root, flavour);
      fs.mkdirSync(dir);
      const p = w.proxy([script], { cwd: dir, env: { FLAVOUR: flavour, LLP_OUT: path.join(dir, 'out') } });
      const lsp = new Lsp(p);
      await lsp.initialize();
      sessions.push({ p, lsp, dir, flavour });
    }
    assert.equal(connectedDaemonPid(sessions[0].p), connectedDaemonPid(sessions[1].p));
    for (const s of sessions) {
      const out = fs.readFileSync(path.join(s.dir, 'out'), 'utf8').split('\n');
      assert.equal(out[0], s.dir);
      assert.equal(out[1], `FLAVOUR=${s.flavour}`);
      assert.equal(out[2], 'ACTIVE=1', 'the loop guard (LEAN_LSP_PROXY_ACTIVE=1) is missing from the server environment');
      assert.equal(await s.lsp.shutdown(), 0);
    }
  });
});

test('cache explain FILE finds the open document whatever its URI encoding (spaces, non-ASCII as VS Code escapes them)', { skip: simSkip }, async () => {
  await inWorld('explain', async (w) => {
    const ws = simWorkspace(w.root);
    const file = path.join(ws.dir, 'Dé mo.lean');
    const uri = `file://${encodeURI(file)}`;  // VS Code: "D%C3%A9%20mo.lean"
    assert.match(uri, /D%C3%A9%20mo\.lean$/);
    const s = await leanSession(w, ws);
    await openAndWait(s.lsp, uri, 'import Demo.A\n#eval a\n');
    const r = w.cli(['cache', 'explain', file, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const e = JSON.parse(r.stdout);
    assert.equal(e.uri, uri);
    assert.equal(e.version, 1);
    assert.ok(e.components && Object.keys(e.components).length > 0, r.stdout);
    const plain = w.cli(['cache', 'explain', file]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.ok(plain.stdout.startsWith(`${uri} (version 1)\n`), plain.stdout);
    const none = w.cli(['cache', 'explain', path.join(ws.dir, 'Nope.lean')]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /Nope\.lean is not open in any session/);
    assert.equal(await s.lsp.shutdown(), 0);
  });
});
