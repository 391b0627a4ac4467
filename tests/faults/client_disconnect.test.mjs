// The client disconnects in the middle of a frame (header and half a body,
// then EOF): the proxy exits, leaving no process behind. Also with a request
// pending in the server and with the disconnect inside the header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skip, withSession, orphanProblems, waitExit } from './lib.mjs';

for (const [label, tail] of [
  ['in a body', 'Content-Length: 400\r\n\r\n{"jsonrpc":"2.0","id":99,"method":"textDocument/hov'],
  ['in a header', 'Content-Len'],
]) {
  test(`client disconnect ${label}: the proxy exits, no orphans`, { skip, timeout: 60000 }, async () => {
    await withSession('disconnect', {}, async ({ ws, s, c, seen }) => {
      await c.initialize(ws.uri(''));
      const a = ws.uri('Demo/D1.lean');
      const b = ws.uri('Demo/D2.lean');
      c.open(a, 'def x : Nat := 1\n#check zz\n');
      c.open(b, 'def y : Nat := 1 -- sim: sleep 20000\n');  // a worker busy for a long time
      await c.waitDiags(a, 1);
      c.start('textDocument/waitForDiagnostics', { uri: b, version: 1 }, 60000); // pending in the server
      await c.waitFor((m) => m.method === '$/lean/fileProgress' && m.params.textDocument.uri === b, 10000, 'b elaborating');
      seen.push(...s.tree());
      assert.ok(seen.filter((p) => /--worker/.test(p.cmd)).length >= 2, `workers running: ${JSON.stringify(seen)}`);
      c.write(Buffer.from(tail, 'utf8'));
      await new Promise((r) => setTimeout(r, 100));
      c.child.stdin.end();
      const { code, signal } = await waitExit(c.child, 15000, 'proxy exit after client EOF mid-frame');
      assert.equal(signal, null, 'the proxy was not killed by a signal');
      assert.ok(code === 0 || code === 1, `exit code ${code}`);
      assert.deepEqual(await orphanProblems(s, seen), []);
      // The complete replies it did send were each sent once.
      for (const [id, n] of c.replies) assert.equal(n, 1, `id ${id}`);
      assert.deepEqual(c.stray, []);
    });
  });
}
