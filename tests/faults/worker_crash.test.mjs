// Worker crash (`-- sim: crash`): Lean's own behaviour passes through (a
// $/lean/fileProgress with kind 2, pending requests → workerCrashed), the next
// didChange recovers; no proxy crash, no orphan, no lost or duplicated reply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skip, withSession, finish } from './lib.mjs';

test('worker crash: fileProgress kind 2 passes through, the next didChange recovers', { skip, timeout: 90000 }, async () => {
  await withSession('worker-crash', {}, async ({ ws, s, c, seen }) => {
    await c.initialize(ws.uri(''));
    const a = ws.uri('Demo/W.lean');
    const other = ws.uri('Demo/Other.lean');
    c.open(other, 'def o : Nat := 3\n');
    await c.waitDiags(other, 1);
    c.open(a, 'def x : Nat := 1\ntheorem t : x = 1 := by decide\ndef boom : Nat := 2 -- sim: crash\n');
    const progress = await c.waitFor((m) => m.method === '$/lean/fileProgress' && m.params.textDocument.uri === a &&
      m.params.processing.some((p) => p.kind === 2), 20000, 'fileProgress kind 2 (fatal error) for the crashed worker');
    assert.ok(progress);
    seen.push(...s.tree());
    const crashed = s.events('worker_crash');
    assert.equal(crashed.length, 1, JSON.stringify(s.events()));
    // Requests to the crashed worker fail as Lean's do (workerCrashed), once each.
    const h = await c.hover(a, 0, 4);
    assert.ok(h.error, JSON.stringify(h));
    assert.equal(h.error.code, -32902, JSON.stringify(h));
    // The other document's worker is untouched; the proxy did not restart the server.
    const ho = await c.hover(other, 0, 4);
    assert.match(JSON.stringify(ho.result), /o : Nat/);
    assert.equal(s.events('server_start').length, 1);
    // The next didChange restarts the worker.
    c.change(a, 2, 'def x : Nat := 1\ntheorem t : x = 1 := by decide\n#check zz\n');
    await c.waitDiags(a, 2);
    assert.deepEqual(c.finalMessages(a, 2), ['unknown identifier \'zz\'']);
    const h2 = await c.hover(a, 0, 4);
    assert.match(JSON.stringify(h2.result), /x : Nat/);
    seen.push(...s.tree());
    await finish(s, seen);
  });
});
