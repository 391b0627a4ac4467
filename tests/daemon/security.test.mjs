// The daemon's socket is private: 0600 in a 0700 directory of ours; other
// uids are refused (SO_PEERCRED) with a clear error; a runtime directory that
// is not ours, or that cannot be made, sends the proxy in-process. Logs below
// the trace level carry no document text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { inWorld, Lsp, paths, skip, simSkip, otherUidOr, connectedDaemonPid, socketName, waitFor, simWorkspace } from './lib.mjs';

// A tiny client for another uid: connects, waits for the daemon to speak, prints
// {reply} (whatever came back) or {error} (the connect error code).
const peerScript = `
const net = require('net');
const s = net.connect(process.argv[1]);
let reply = '', error = null;
// Nothing is written: a refused peer gets its reply at accept (writing first
// would race the daemon closing the connection: EPIPE before the read).
s.on('data', (d) => { reply += d; });
s.on('error', (e) => { error = e.code; });
s.on('close', () => { console.log(JSON.stringify({ uid: process.getuid(), reply, error })); });
setTimeout(() => { console.log(JSON.stringify({ uid: process.getuid(), reply, error: error ?? 'timeout' })); process.exit(0); }, 5000);
`;

function connectAs(uid, socket) {
  const r = spawnSync('setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', process.execPath, '-e', peerScript, socket],
    { encoding: 'utf8', cwd: '/', timeout: 10000 });
  assert.equal(r.status, 0, `setpriv failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n')[0]);
}

test('socket 0600 in a 0700 directory owned by us; a pre-existing group/world-accessible runtime dir is made private', { skip }, async () => {
  await inWorld('modes', async (w) => {
    fs.mkdirSync(w.runtime, { mode: 0o755 });
    fs.chmodSync(w.runtime, 0o755);
    const d = await w.foregroundDaemon();
    const st = fs.statSync(w.socket);
    assert.ok(st.isSocket(), `${w.socket} is not a socket`);
    assert.equal(st.mode & 0o777, 0o600, `socket mode ${(st.mode & 0o777).toString(8)}`);
    assert.equal(st.uid, process.getuid());
    const dst = fs.statSync(w.runtime);
    assert.equal(dst.mode & 0o777, 0o700, `runtime dir mode ${(dst.mode & 0o777).toString(8)}`);
    assert.equal(dst.uid, process.getuid());
    // the name: daemon-<sha256(abs cache dir)[:12]>.sock for a non-default --cache-dir
    assert.equal(path.basename(w.socket), socketName(w.cache));
    for (const f of fs.readdirSync(w.runtime)) {
      const m = fs.statSync(path.join(w.runtime, f)).mode & 0o077;
      assert.equal(m, 0, `${f} is accessible to others (${(fs.statSync(path.join(w.runtime, f)).mode & 0o777).toString(8)})`);
    }
    assert.ok(d.pid);
  });
});

test('a connection from another uid is refused with a clear error (SO_PEERCRED)', { skip }, async (t) => {
  const uid = otherUidOr(t, 'not root or no setpriv: cannot connect as another uid');
  if (uid === null) return;
  await inWorld('peercred', async (w) => {
    const d = await w.foregroundDaemon();  // logs to its stderr
    // 1. With the permissions as the daemon made them, another uid cannot even reach the socket.
    const denied = connectAs(uid, w.socket);
    assert.equal(denied.uid, uid);
    assert.equal(denied.error, 'EACCES', `expected EACCES, got ${JSON.stringify(denied)}`);
    // 2. With the file permissions opened up by the test (what a careless
    //    chmod or a shared runtime dir would do), the connection reaches the
    //    daemon, and SO_PEERCRED must refuse it with a reply naming the uids.
    fs.chmodSync(w.root, 0o711);  // mkdtemp made it 0700
    fs.chmodSync(w.runtime, 0o711);
    fs.chmodSync(w.socket, 0o666);
    const refused = connectAs(uid, w.socket);
    fs.chmodSync(w.socket, 0o600);
    fs.chmodSync(w.runtime, 0o700);
    fs.chmodSync(w.root, 0o700);
    assert.ok(refused.reply, `no reply: ${JSON.stringify(refused)}`);
    const body = refused.reply.slice(refused.reply.indexOf('\r\n\r\n') + 4);
    const j = JSON.parse(body);
    assert.equal(j.ok, false);
    assert.match(j.error, new RegExp(`uid ${uid}`));
    assert.match(j.error, /refused/);
    await waitFor(() => d.stderrText.includes(`refused a connection from uid ${uid}`), 2000, () => `the refusal in the daemon log:\n${d.stderrText}`);
    // 3. The daemon still serves its owner.
    const st = w.cli(['status']);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /daemon running/);
  });
});

/** In-process fallback: the session works and the log says why. */
async function fallbackSession(w, { expectLog }) {
  const p = w.proxy([paths.crashy]);
  const lsp = new Lsp(p);
  const t0 = Date.now();
  await lsp.initialize();
  lsp.notify('textDocument/didOpen', { textDocument: { uri: 'file:///tmp/f.txt', languageId: 'plaintext', version: 1, text: 'x\n' } });
  const docs = await lsp.request('test/documents', null);
  assert.equal(docs.documents.length, 1);
  assert.equal(await lsp.shutdown(), 0);
  assert.equal(connectedDaemonPid(p), null, 'it should not have used a daemon');
  assert.match(p.stderrText, /daemon unavailable \(.*\); running in-process/);
  if (expectLog) assert.match(p.stderrText, expectLog);
  assert.deepEqual(w.daemons(), [], 'no daemon may have been started');
  return Date.now() - t0;
}

test('fallback: a runtime dir owned by another uid → the proxy runs in-process (and says so)', { skip }, async (t) => {
  const uid = otherUidOr(t, 'not root: cannot make a directory of another uid');
  if (uid === null) return;
  await inWorld('foreign', async (w) => {
    fs.mkdirSync(w.runtime, { mode: 0o700 });
    fs.chownSync(w.runtime, uid, uid);
    const ms = await fallbackSession(w, { expectLog: new RegExp(`belongs to uid ${uid}, not to us`) });
    assert.ok(ms < 5000, `fallback took ${ms} ms`);
    assert.deepEqual(fs.readdirSync(w.runtime), [], 'nothing may be created in a directory that is not ours');
  });
});

test('fallback: a runtime dir that cannot be created (a file is in the way) → in-process', { skip }, async () => {
  await inWorld('nodir', async (w) => {
    fs.writeFileSync(path.join(w.root, 'file'), 'not a directory\n');
    w.env.LEAN_LSP_PROXY_RUNTIME_DIR = path.join(w.root, 'file', 'run');
    w.runtime = w.env.LEAN_LSP_PROXY_RUNTIME_DIR;
    const ms = await fallbackSession(w, { expectLog: /cannot create/ });
    assert.ok(ms < 5000, `fallback took ${ms} ms`);
  });
});

test('fallback: a symlink as the runtime dir is refused → in-process', { skip }, async () => {
  await inWorld('symlink', async (w) => {
    fs.mkdirSync(path.join(w.root, 'real'), { mode: 0o700 });
    fs.symlinkSync(path.join(w.root, 'real'), w.runtime);
    await fallbackSession(w, { expectLog: /is not a directory/ });
  });
});

test('--no-daemon and LEAN_LSP_PROXY_NO_DAEMON=1 run in-process and touch no runtime dir', { skip }, async () => {
  await inWorld('nodaemon', async (w) => {
    for (const [args, env] of [[['--no-daemon'], {}], [[], { LEAN_LSP_PROXY_NO_DAEMON: '1' }]]) {
      const p = w.proxy([paths.crashy], { args, env });
      const lsp = new Lsp(p);
      await lsp.initialize();
      assert.equal((await lsp.request('test/documents', null)).documents.length, 0);
      assert.equal(await lsp.shutdown(), 0);
      assert.equal(connectedDaemonPid(p), null);
      assert.doesNotMatch(p.stderrText, /daemon unavailable/);
    }
    assert.equal(fs.existsSync(w.runtime), false, 'the runtime dir was created');
    assert.deepEqual(w.daemons(), []);
  });
});

test('without LEAN_LSP_PROXY_RUNTIME_DIR (set empty) the daemon lives in $XDG_RUNTIME_DIR/lean-lsp-proxy (private XDG dir here)', { skip }, async () => {
  await inWorld('xdg', async (w) => {
    const xdg = path.join(w.root, 'xdg-run');
    fs.mkdirSync(xdg, { mode: 0o700 });
    w.env.LEAN_LSP_PROXY_RUNTIME_DIR = '';  // empty = unset for the proxy; still nothing global is touched
    w.env.XDG_RUNTIME_DIR = xdg;
    w.runtime = path.join(xdg, 'lean-lsp-proxy');
    const p = w.proxy([paths.crashy]);
    const lsp = new Lsp(p);
    await lsp.initialize();
    assert.ok(connectedDaemonPid(p), p.stderrText);
    assert.ok(fs.statSync(w.socket).isSocket(), `no socket at ${w.socket}`);
    assert.equal(fs.statSync(w.runtime).mode & 0o777, 0o700);
    assert.equal(await lsp.shutdown(), 0);
  });
});

test('no document text in the logs below the trace level (editor session, junk on the wire, agent checks, daemon log)', { skip: simSkip, timeout: 60000 }, async () => {
  await inWorld('log-audit', async (w) => {
    const secret = `Secret${randomBytes(6).toString('hex')}`;
    const ws = simWorkspace(w.root);
    const uri = ws.uri('Main.lean');
    // Through the daemon, at --log-level debug (World.proxy): the text, an
    // edit, an error naming the secret, a hover on it, junk bytes carrying it.
    const p = w.proxy(['lake', 'serve'], { cwd: ws.dir });
    const lsp = new Lsp(p);
    await lsp.initialize(ws.uri(''));
    lsp.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'lean4', version: 1, text: `import Demo.A\n-- ${secret}\n#eval a\n` } });
    await lsp.request('textDocument/waitForDiagnostics', { uri, version: 1 }, 30000);
    lsp.notify('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ text: `import Demo.A\n#check ${secret}\n` }] });
    await lsp.request('textDocument/waitForDiagnostics', { uri, version: 2 }, 30000);
    const pub = lsp.messages.filter((m) => m.method === 'textDocument/publishDiagnostics' && m.params.version === 2).at(-1);
    assert.match(JSON.stringify(pub.params.diagnostics), new RegExp(secret), 'the secret is in the diagnostics (so the audit means something)');
    await lsp.request('textDocument/hover', { textDocument: { uri }, position: { line: 1, character: 8 } });
    p.stdin.write(`${secret} junk\r\n\r\n`);
    await lsp.request('textDocument/hover', { textDocument: { uri }, position: { line: 1, character: 8 } });
    // An agent check through the daemon, and one in-process.
    const file = path.join(ws.dir, 'Attempt.lean');
    fs.writeFileSync(file, `import Demo.A\ntheorem ${secret} : a = 2 := by decide\n#check ${secret}x\n`);
    const viaDaemon = w.cli(['check', '--root', ws.dir, file, '--log-level', 'debug']);
    assert.equal(viaDaemon.code, 1, viaDaemon.stderr);
    assert.match(viaDaemon.stdout, new RegExp(`${secret}x`), 'the check reports it');
    const inProcess = w.cli(['check', '--root', ws.dir, file, '--no-daemon', '--log-level', 'debug']);
    assert.equal(inProcess.code, 1, inProcess.stderr);
    assert.equal(await lsp.shutdown(), 0);
    // Log lines only: the CLI's own report (its verdict on stderr) is output, not a log.
    const logLines = (text) => text.split('\n').filter((l) => /^\d{4}-\d\d-\d\dT[\d:.]+Z (TRACE|DEBUG|INFO|WARN|ERROR) /.test(l));
    for (const [where, text] of [['editor proxy stderr', p.stderrText], ['daemon log', w.logText()],
      ['check via daemon stderr', viaDaemon.stderr], ['check in-process stderr', inProcess.stderr]]) {
      const lines = logLines(text);
      if (where !== 'check via daemon stderr') assert.ok(lines.length > 0, `${where}: no log lines at all?\n${text}`);
      assert.deepEqual(lines.filter((l) => l.includes(secret)), [], `${where} carries document text`);
    }
    assert.match(p.stderrText, /skipped \d+ bytes of garbage/, 'the junk was reported, without its bytes');
  });
});

test('at --log-level trace the junk bytes are logged (what the audit above would have caught)', { skip: simSkip, timeout: 30000 }, async () => {
  await inWorld('log-trace', async (w) => {
    const secret = `Secret${randomBytes(6).toString('hex')}`;
    const p = w.proxy([paths.crashy], { args: ['--no-daemon', '--log-level', 'trace'] });
    const lsp = new Lsp(p);
    await lsp.initialize();
    p.stdin.write(`${secret} junk\r\n\r\n`);
    await lsp.request('test/documents', null);
    await waitFor(() => p.stderrText.includes(secret), 5000, () => p.stderrText.slice(-2000));
    await lsp.shutdown();
  });
});
