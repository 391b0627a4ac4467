// Server crashes behind the proxy: in-flight requests get error replies, the
// server comes back with the client's documents replayed, repeated crashes make
// the proxy give up, and no descendant of the server outlives the proxy.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { alive, paths, proxyMissing, reap, start, waitExit, waitGone, withTimeout } from './lib/harness.mjs';
import { connect, skipReason } from './lib/rpc.mjs';

const skip = skipReason || proxyMissing;
const dir = mkdtempSync(join(tmpdir(), 'llp-crash-'));
const children = [];
const sleepers = [];
after(() => {
  children.forEach(reap);
  for (const pid of sleepers) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const initializeParams = {
  processId: process.pid, clientInfo: { name: 'crash e2e' }, rootUri: 'file:///tmp/crash-e2e',
  capabilities: { window: { workDoneProgress: true } }, initializationOptions: { hasWidgets: true },
};

/** Starts the proxy in front of crashy_server and initializes it. */
async function open(name, proxyArgs = [], env = {}, configuration = () => [{ answer: 42 }]) {
  const child = start([paths.proxy, '--log-level', 'debug', ...proxyArgs, '--', paths.crashy], {
    env: { ...process.env, CRASHY_GENERATION_FILE: join(dir, `${name}.gen`), ...env },
  });
  children.push(child);
  const client = connect(child, { onServerRequest: (method) => (method === 'workspace/configuration' ? configuration() : null) });
  client.child = child;
  // async: a request on a closed connection then rejects instead of throwing.
  client.rq = async (method, params, ms = 10000) => withTimeout(client.conn.sendRequest(method, params), ms,
    () => `${method}\n--- received ---\n${JSON.stringify(client.received).slice(-3000)}\n--- stderr ---\n${child.stderrText.slice(-3000)}`);
  const init = await client.rq('initialize', initializeParams);
  assert.equal(init.serverInfo.name, 'crashy_server');
  await client.conn.sendNotification('initialized', {});
  return client;
}

/** Resolves with the error a request failed with (never rejects, so no rejection goes unhandled). */
async function rejection(promise) {
  try {
    return { code: 'no error', message: `expected an error reply, got ${JSON.stringify(await promise)}` };
  } catch (e) {
    return e;
  }
}

function assertServerExitedError(e, what) {
  assert.equal(e.code, -32603, `${what}: ${e.message}`);
  assert.match(e.message, /exit|crash|died|terminat/i, what);
}

test('crash mid-request: error replies, restart, documents replayed', { skip, timeout: 30000 }, async () => {
  const c = await open('replay');
  const a = 'file:///tmp/crash-e2e/A.lean';
  const b = 'file:///tmp/crash-e2e/B.lean';
  await c.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: a, languageId: 'lean4', version: 1, text: 'theorem a : True := trivial\n' } });
  await c.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: b, languageId: 'lean4', version: 1, text: 'example : ℕ := 𝔽\r\n⊢ goal\n' } });
  // B: insert after "𝔽" (a surrogate pair: 2 UTF-16 units), column 17.
  await c.conn.sendNotification('textDocument/didChange', { textDocument: { uri: b, version: 2 },
    contentChanges: [{ range: { start: { line: 0, character: 17 }, end: { line: 0, character: 17 } }, text: ' + 1' }] });
  await c.conn.sendNotification('textDocument/didChange', { textDocument: { uri: b, version: 3 },
    contentChanges: [{ range: { start: { line: 1, character: 2 }, end: { line: 1, character: 6 } }, text: 'done' }] });
  const expected = [
    { uri: a, version: 1, text: 'theorem a : True := trivial\n' },
    { uri: b, version: 3, text: 'example : ℕ := 𝔽 + 1\n⊢ done\n' },
  ];
  const before = await c.rq('test/documents');
  assert.equal(before.generation, 1);
  assert.deepEqual(before.documents, expected, 'the first server holds the edited documents');

  const held = rejection(c.rq('test/hold'));
  const crash = rejection(c.rq('test/crash', { exitCode: 3 }));
  assertServerExitedError(await crash, 'the crashing request');
  assertServerExitedError(await held, 'the request in flight');
  const log = await c.waitNotification('window/logMessage', (p) => /restart/i.test(p.message), 15000);
  assert.ok(log.message.length > 0);

  const afterCrash = await c.rq('test/documents', undefined, 15000);
  assert.equal(afterCrash.generation, 2, 'a new server process answers');
  assert.notEqual(afterCrash.pid, before.pid);
  assert.deepEqual(afterCrash.documents, expected, 'documents replayed with their current text and version');
  assert.deepEqual(afterCrash.initializeParams, initializeParams, "the client's initialize params replayed");
  assert.deepEqual(afterCrash.initializedParams, {}, 'initialized replayed with params {}');
  assert.deepEqual(afterCrash.methods.slice(0, 4),
    ['initialize', 'initialized', 'textDocument/didOpen', 'textDocument/didOpen'], 'replay order');
  assert.ok(!afterCrash.methods.includes('textDocument/didChange'), 'replayed as didOpen of the current text');

  // Both directions still work, including a server → client request.
  assert.deepEqual(await c.rq('test/askClient'), { answer: [{ answer: 42 }] });
  assert.deepEqual(await c.rq('test/echo', { n: 1 }), { n: 1 });

  await c.rq('shutdown', null);
  await c.conn.sendNotification('exit');
  assert.deepEqual(await waitExit(c.child, 10000), { code: 0, signal: null });

  // The client saw exactly one initialize result and one reply per request.
  const replies = c.received.filter((m) => !('method' in m));
  assert.equal(replies.filter((m) => m.result?.serverInfo).length, 1, 'the replayed initialize result is swallowed');
  const ids = replies.map((m) => m.id);
  assert.equal(new Set(ids).size, ids.length, `duplicate replies: ${ids}`);
  assert.ok(ids.every((id) => typeof id === 'number'), `replies to ids the client never sent: ${ids}`);
});

test('edits made while the server restarts are applied exactly once', { skip, timeout: 30000 }, async () => {
  const c = await open('edits');
  const [a, b, d] = ['A', 'B', 'D'].map((n) => `file:///tmp/crash-e2e/${n}.lean`);
  for (const uri of [a, b, d]) {
    await c.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'lean4', version: 1, text: 'abc\n' } });
  }
  const crashed = rejection(c.rq('test/crash'));
  // Sent right behind the crash, so they reach the proxy before or during the restart.
  await c.conn.sendNotification('textDocument/didChange', { textDocument: { uri: a, version: 2 },
    contentChanges: [{ range: { start: { line: 0, character: 1 }, end: { line: 0, character: 1 } }, text: 'X' }] });
  await c.conn.sendNotification('textDocument/didClose', { textDocument: { uri: b } });
  assertServerExitedError(await crashed, 'crash');
  await c.conn.sendNotification('textDocument/didChange', { textDocument: { uri: d, version: 2 },
    contentChanges: [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: 'Y' }] });
  const docs = await c.rq('test/documents', undefined, 15000);
  assert.equal(docs.generation, 2);
  assert.deepEqual(docs.documents, [
    { uri: a, version: 2, text: 'aXbc\n' },
    { uri: d, version: 2, text: 'Yabc\n' },
  ]);
  c.child.stdin.end();
  await waitExit(c.child, 15000);
});

test("a late reply to the dead server's request never reaches the new server", { skip, timeout: 30000 }, async () => {
  // crashy numbers its requests to the client from 0 in every process, as Lean does,
  // so a stale reply forwarded as-is would answer the new server's request.
  const answers = [];
  let asked = () => {};
  const c = await open('stale', [], {}, () => new Promise((resolve) => { answers.push(resolve); asked(); }));
  const nextAsk = () => new Promise((r) => { asked = r; });
  let question = nextAsk();
  const first = rejection(c.rq('test/askClient'));
  await withTimeout(question, 5000, 'first workspace/configuration request');
  assertServerExitedError(await rejection(c.rq('test/crash')), 'crash');
  assertServerExitedError(await first, 'askClient in flight');
  await c.waitNotification('window/logMessage', (p) => /restart/i.test(p.message), 15000);
  question = nextAsk();
  const second = c.rq('test/askClient', undefined, 15000);
  await withTimeout(question, 15000, 'second workspace/configuration request');
  answers[0](['stale']);
  await new Promise((r) => setTimeout(r, 200)); // let the stale reply through first
  answers[1](['fresh']);
  assert.deepEqual(await second, { answer: ['fresh'] });
  assert.equal((await c.rq('test/documents')).unknownResponses, 0, 'the stale reply was forwarded');
  c.child.stdin.end();
  await waitExit(c.child, 15000);
});

test('killed by a signal: same recovery', { skip, timeout: 30000 }, async () => {
  const c = await open('signal');
  assertServerExitedError(await rejection(c.rq('test/crash', { signal: true })), 'SIGKILLed request');
  await c.waitNotification('window/logMessage', (p) => /restart/i.test(p.message), 15000);
  assert.equal((await c.rq('test/documents', undefined, 15000)).generation, 2);
  c.child.stdin.end(); // EOF without shutdown: the proxy shuts the server down, exits 1 as LSP says
  assert.deepEqual(await waitExit(c.child, 15000), { code: 1, signal: null });
});

test('crashes past --max-restarts: showMessage and a non-zero exit', { skip, timeout: 60000 }, async () => {
  const maxRestarts = 2;
  const c = await open('giveup', ['--max-restarts', String(maxRestarts), '--restart-window', '60']);
  let crashes = 0;
  for (let state = 'up'; state === 'up'; crashes++) {
    assert.ok(crashes <= maxRestarts + 1, `still restarting after ${crashes} crashes`);
    assertServerExitedError(await rejection(c.rq('test/crash', {}, 15000)), `crash ${crashes + 1}`);
    // Next: either the server is back (an echo is answered) or the proxy gives up.
    const gaveUp = c.waitNotification('window/showMessage', () => true, 15000).then(() => 'gave up', () => 'timeout');
    const up = c.rq('test/echo', {}, 15000).then(() => 'up', () => 'no reply');
    state = await Promise.race([up, gaveUp]);
    if (state !== 'up') state = await gaveUp;
    assert.notEqual(state, 'timeout', 'neither restarted nor gave up');
  }
  assert.ok(crashes >= maxRestarts, `gave up after only ${crashes} crashes`);
  const shown = await c.waitNotification('window/showMessage');
  assert.ok(shown.type <= 2, 'shown as an error or warning');
  const exit = await waitExit(c.child, 15000);
  assert.ok(exit.code !== 0 && exit.code !== null, `exit ${JSON.stringify(exit)}`);
});

test('a server that dies at every restart: the proxy gives up', { skip, timeout: 60000 }, async () => {
  const c = await open('loop', ['--max-restarts', '3', '--restart-window', '60'], { CRASHY_DIE_FROM_GENERATION: '2' });
  const crash = rejection(c.rq('test/crash'));
  const queued = rejection(c.rq('test/echo', {})); // waits for a server that never comes up
  assertServerExitedError(await crash, 'first crash');
  assertServerExitedError(await queued, 'a request queued during the restarts');
  const shown = await c.waitNotification('window/showMessage', () => true, 40000);
  assert.ok(shown.message.length > 0);
  const exit = await waitExit(c.child, 15000);
  assert.ok(exit.code !== 0 && exit.code !== null, `exit ${JSON.stringify(exit)}`);
});

// After a failed restart the proxy says so and exits (it once waited for ever
// on the old, already reaped server).
test('the server executable vanishes: restart fails, showMessage, non-zero exit', { skip, timeout: 30000 }, async () => {
  const copy = join(dir, 'crashy-copy');
  copyFileSync(paths.crashy, copy);
  chmodSync(copy, 0o755);
  const child = start([paths.proxy, '--', copy]);
  children.push(child);
  const c = connect(child);
  await withTimeout(c.conn.sendRequest('initialize', initializeParams), 10000, 'initialize');
  rmSync(copy);
  await rejection(c.conn.sendRequest('test/crash'));
  assert.ok((await c.waitNotification('window/showMessage')).message.length > 0);
  const exit = await waitExit(child, 5000);
  assert.ok(exit.code !== 0 && exit.code !== null, `exit ${JSON.stringify(exit)}`);
});

for (const ending of ['exit', 'eof']) {
  test(`no orphans after the proxy ends (${ending})`, { skip, timeout: 30000 }, async () => {
    const c = await open(`orphans-${ending}`);
    const pids = [(await c.rq('test/spawn', {})).pid, (await c.rq('test/spawn', { daemonize: true })).pid];
    // A crash leaves the dead server's workers behind unless the proxy ends them.
    await rejection(c.rq('test/crash'));
    await c.waitNotification('window/logMessage', (p) => /restart/i.test(p.message), 15000);
    // No orphaned Lean process, ever: a dead server's workers must not run on until we exit.
    assert.deepEqual(await waitGone(pids, 3000), [], "the crashed server's descendants still run");
    const docs = await c.rq('test/documents', undefined, 15000);
    pids.push((await c.rq('test/spawn', {})).pid, (await c.rq('test/spawn', { daemonize: true })).pid, docs.pid);
    sleepers.push(...pids);
    // (The proxy may already have ended the dead server's workers; the new ones must be running.)
    assert.ok(pids.slice(2).every((p) => p > 0 && alive(p)), `spawned ${pids}: ${pids.map(alive)}`);
    if (ending === 'exit') {
      await c.rq('shutdown', null);
      await c.conn.sendNotification('exit');
    } else {
      await c.rq('shutdown', null);
      c.child.stdin.end(); // EOF instead of exit
    }
    assert.equal((await waitExit(c.child, 20000)).code, 0);
    assert.deepEqual(await waitGone(pids, 3000), [], 'descendants still alive after the proxy exited');
  });
}
