// Bad input from the client, written as raw bytes: the proxy logs it, answers
// what it can, keeps the session going, and forwards good bytes unchanged.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { frame, paths, proxyMissing, RawClient, reap, sleep, start, waitExit, waitGone } from './lib/harness.mjs';

const skip = proxyMissing;
const children = [];
after(() => children.forEach(reap));

let nextId = 1;

/** A proxy in front of crashy_server, initialized, as a raw client. */
async function session(proxyArgs = []) {
  const child = start([paths.proxy, '--log-level', 'info', ...proxyArgs, '--', paths.crashy]);
  children.push(child);
  const c = new RawClient(child);
  const init = await c.request(nextId++, 'initialize', { processId: null, rootUri: null, capabilities: {} });
  assert.equal(init.result.serverInfo.name, 'crashy_server');
  c.notify('initialized', {});
  return c;
}

/** The session still works: a request is answered by the server. */
async function assertAlive(c, what) {
  const id = nextId++;
  const reply = await c.request(id, 'test/echo', { still: what });
  assert.deepEqual(reply.result, { still: what }, what);
}

/** Waits until the proxy's stderr has grown past `from` (it logged something). */
async function assertLogged(c, from, what) {
  for (let i = 0; i < 100 && c.child.stderrText.length <= from; i++) await sleep(20);
  assert.ok(c.child.stderrText.length > from, `nothing logged for ${what}`);
}

async function close(c) {
  await c.request(nextId++, 'shutdown', null);
  c.notify('exit');
  assert.deepEqual(await waitExit(c.child, 10000), { code: 0, signal: null });
}

test('invalid JSON in a well-framed message: -32700 with id null, session goes on', { skip, timeout: 20000 }, async () => {
  const c = await session();
  c.write(frame('{"jsonrpc":"2.0","id":5,"method":"test/echo","params":{'));
  const err = await c.waitFor((m) => m.error && m.id === null, 5000, 'parse error reply');
  assert.equal(err.error.code, -32700);
  assert.equal(err.jsonrpc, '2.0');
  await assertAlive(c, 'after invalid JSON');
  await close(c);
});

test('garbage between frames and bad headers: logged, session goes on', { skip, timeout: 20000 }, async () => {
  const c = await session();
  let mark = c.child.stderrText.length;
  c.write(Buffer.from('this is not a header\r\n\r\n', 'ascii'));
  await assertAlive(c, 'after junk');
  await assertLogged(c, mark, 'junk between frames');
  mark = c.child.stderrText.length;
  c.write(Buffer.from('Content-Length: -5\r\n\r\n', 'ascii'));
  await assertAlive(c, 'after a negative length');
  await assertLogged(c, mark, 'a negative length');
  c.write(Buffer.from('Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nX-Nothing: 1\r\n\r\n', 'ascii'));
  await assertAlive(c, 'after a header block without Content-Length');
  // Junk glued directly before a frame, and a frame with extra headers.
  c.write(Buffer.concat([Buffer.from('\0\xff junk', 'latin1'), frame(JSON.stringify({ jsonrpc: '2.0', id: 900, method: 'test/echo', params: [1] }))]));
  assert.deepEqual((await c.waitFor((m) => m.id === 900, 5000, 'reply after glued junk')).result, [1]);
  const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 901, method: 'test/echo', params: [2] }));
  c.write(Buffer.concat([Buffer.from(`Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
  assert.deepEqual((await c.waitFor((m) => m.id === 901, 5000, 'reply with Content-Type header')).result, [2]);
  await close(c);
});

test('non-object JSON bodies: logged, session goes on', { skip, timeout: 20000 }, async () => {
  const c = await session();
  const mark = c.child.stderrText.length;
  for (const body of ['[1,2,3]', '42', '"a string"', 'null', '{"jsonrpc":"2.0"}']) c.write(frame(body));
  await assertAlive(c, 'after non-object bodies');
  await assertLogged(c, mark, 'non-object bodies');
  // If the proxy answers them, it is with an error and id null, never a crash.
  for (const m of c.messages.filter((m) => m.id === null)) assert.ok(m.error, JSON.stringify(m));
  await close(c);
});

test('a response to an unknown id: session goes on', { skip, timeout: 20000 }, async () => {
  const c = await session();
  c.send({ jsonrpc: '2.0', id: 424242, result: { nobody: 'asked' } });
  c.send({ jsonrpc: '2.0', id: 'llp:999', error: { code: 1, message: 'unknown' } });
  await assertAlive(c, 'after stray responses');
  await close(c);
});

test('Content-Length above --max-message-size: skipped, session goes on', { skip, timeout: 20000 }, async () => {
  const c = await session(['--max-message-size', '4096']);
  const mark = c.child.stderrText.length;
  const big = JSON.stringify({ jsonrpc: '2.0', id: 77, method: 'test/echo', params: { pad: 'x'.repeat(20000) } });
  c.write(frame(big));
  await assertAlive(c, 'after an oversized message');
  await assertLogged(c, mark, 'an oversized message');
  assert.ok(!c.messages.some((m) => m.id === 77 && m.result), 'the oversized request was not forwarded');
  await close(c);
});

test('bytes are forwarded unchanged: big integers, escapes, invalid UTF-8', { skip, timeout: 20000 }, async () => {
  const c = await session();
  const params = Buffer.concat([
    Buffer.from('{"n":18446744073709551615123,"f":1.50e+3,"s":"\\u00e9\\ud835\\udd3d ℕ","bad":"', 'utf8'),
    Buffer.from([0xff, 0xfe, 0xc3]),
    Buffer.from('","k":  [ 1 , 2 ]}', 'utf8'),
  ]);
  const id = nextId++;
  c.write(frame(Buffer.concat([Buffer.from(`{"jsonrpc":"2.0","id":${id},"method":"test/echo","params":`), params, Buffer.from('}')])));
  await c.waitFor((m) => m.id === id, 5000, 'echo of odd bytes');
  const reply = c.bodies[c.messages.findIndex((m) => m.id === id)];
  assert.ok(reply.includes(params), `params changed in transit: ${reply.toString('latin1')}`);
  await close(c);
});

test('ids kept exactly: int64 max, strings; big messages pass whole', { skip, timeout: 20000 }, async () => {
  const c = await session();
  c.write(frame('{"jsonrpc":"2.0","id":9223372036854775807,"method":"test/echo","params":[1]}'));
  await c.waitFor((m) => m.result?.[0] === 1, 5000, 'reply to the int64-max id');
  const i = c.messages.findIndex((m) => m.result?.[0] === 1);
  assert.match(c.bodies[i].toString(), /"id":9223372036854775807[,}]/);
  assert.equal((await c.request('\u00e9-id', 'test/echo', 2)).result, 2);
  const text = 'ℕ'.repeat(1 << 20); // 3 MiB of UTF-8
  assert.equal((await c.request(nextId++, 'test/echo', { text })).result.text, text);
  await close(c);
});

test('server side: junk on stdout and floods on stderr do not stall the session', { skip, timeout: 20000 }, async () => {
  const c = await session(['--log-level', 'error']);
  assert.equal((await c.request(nextId++, 'test/garbage', null)).result, 'after garbage');
  // 4 MiB: far more than a pipe holds, so an undrained stderr blocks the server.
  assert.equal((await c.request(nextId++, 'test/stderr', { bytes: 4 << 20 })).result, null);
  await assertAlive(c, 'after server noise');
  await close(c);
});

test('exit without shutdown: the proxy exits 1 and the server is gone', { skip, timeout: 20000 }, async () => {
  const c = await session();
  const { pid } = (await c.request(nextId++, 'test/documents', null)).result;
  c.notify('exit');
  assert.deepEqual(await waitExit(c.child, 10000), { code: 1, signal: null });
  assert.deepEqual(await waitGone([pid], 3000), [], 'server still running');
});

// Client ids must be free, whatever their shape: ids in the proxy's own
// "llp:" namespace are escaped on the way to the server and restored.
test('client string ids in the proxy\'s own namespace are answered', { skip, timeout: 20000 }, async () => {
  const c = await session();
  for (const id of ['llp:0', 'llp:1', 'llp:17']) {
    assert.deepEqual((await c.request(id, 'test/echo', { id }, 3000)).result, { id });
  }
  await close(c);
});

test('initialized without params reaches the server as params {}', { skip, timeout: 20000 }, async () => {
  const child = start([paths.proxy, '--log-level', 'info', '--', paths.crashy]);
  children.push(child);
  const c = new RawClient(child);
  await c.request(nextId++, 'initialize', { capabilities: {} });
  c.send('{"jsonrpc":"2.0","method":"initialized"}'); // Lean's server dies on a notification without params
  assert.deepEqual((await c.request(nextId++, 'test/documents', null)).result.initializedParams, {});
  await close(c);
});

const truncations = {
  'inside a body': 'Content-Length: 100\r\n\r\n{"jsonrpc":"2.0","id":',
  'inside a header': 'Content-Length: 10',
  'after an absurd length': 'Content-Length: 99999999999999999999999999\r\n\r\n{}',
};
for (const [where, bytes] of Object.entries(truncations)) {
  test(`client disconnects ${where}: the proxy exits cleanly and the server is gone`, { skip, timeout: 20000 }, async () => {
    const c = await session();
    const { pid } = (await c.request(nextId++, 'test/documents', null)).result;
    c.write(Buffer.from(bytes, 'ascii'));
    c.child.stdin.end();
    // LSP's rule for exit codes: 1 when the session ended without `shutdown`.
    assert.deepEqual(await waitExit(c.child, 15000), { code: 1, signal: null });
    assert.deepEqual(await waitGone([pid], 3000), [], 'server still running');
  });
}
