// Watchdog crash mid-request (LEAN_SIM_CRASH_AFTER): the pending request gets an
// error reply, the server restarts, documents are replayed, the next request
// works, the editor is told (window/logMessage); no orphan, no lost or
// duplicated reply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skip, withSession, finish } from './lib.mjs';

test('watchdog crash mid-request: error reply, restart, replay, next request works', { skip, timeout: 90000 }, async () => {
  // The watchdog aborts on its 30th client message; after the restart the
  // session sends fewer than that, so the new watchdog survives.
  await withSession('server-crash', { env: { LEAN_SIM_CRASH_AFTER: '30' }, args: ['--cache', 'off'] }, async ({ ws, s, c, seen }) => {
    await c.initialize(ws.uri(''));
    const a = ws.uri('Demo/F1.lean');
    const b = ws.uri('Demo/F2.lean');
    c.open(a, 'import Demo.A\ndef x : Nat := a + 1\n#check zz\n');
    c.open(b, 'def y : Nat := 1\n#eval y\n');
    c.change(b, 2, 'def y : Nat := 5\n#eval y\n#check qq\n');
    await c.waitDiags(a, 1);
    await c.waitDiags(b, 2);
    // Pad with answered hovers until the crash is one message away.
    const before = s.events('server_start').length;
    assert.equal(before, 1);
    let i = 0;
    while (true) {
      const n = c.sent.size + 4 /* initialized, 2 didOpen, didChange */;
      if (n >= 27) break;
      const h = await c.hover(a, 1, 4);
      assert.ok(h.result, `hover ${i++}: ${JSON.stringify(h)}`);
    }
    // A request that stays pending (the final version sleeps 4 s) …
    c.change(a, 2, 'import Demo.A\ndef x : Nat := a + 1 -- sim: sleep 4000\n#check zz2\n');
    const pending = c.start('textDocument/waitForDiagnostics', { uri: a, version: 2 }, 30000);
    seen.push(...s.tree());
    // … and the 30th message kills the watchdog.
    const killer = c.start('textDocument/hover', { textDocument: { uri: b }, position: { line: 0, character: 4 } }, 30000);
    const [p, k] = await Promise.all([pending.reply, killer.reply]);
    assert.ok(p.error, `the pending request got an error reply: ${JSON.stringify(p)}`);
    assert.equal(p.error.code, -32603, JSON.stringify(p));
    assert.ok(k.error || k.result !== undefined, JSON.stringify(k));
    await c.waitFor((m) => m.method === 'window/logMessage' && /restart|crash|exit/i.test(m.params.message), 20000, 'window/logMessage about the restart');
    const crashes = s.events('server_crash');
    assert.ok(crashes.length >= 1, 'the simulator logged its crash');
    // Documents replayed: the new watchdog's workers get the current texts.
    const h = await c.hover(b, 0, 4);
    assert.ok(h.result, `hover after the restart: ${JSON.stringify(h)}`);
    assert.match(JSON.stringify(h.result), /y : Nat/);
    await c.waitDiags(a, 2, 30000);
    assert.deepEqual(c.finalMessages(a, 2), ['unknown identifier \'zz2\''], 'a replayed at its current version');
    await c.waitDiags(b, 2, 30000);
    assert.equal(s.events('server_start').length, 2, 'exactly one restart');
    const starts = s.events('worker_start');
    assert.ok(starts.some((e) => e.uri === b && e.version === 2 && starts.indexOf(e) > 0), JSON.stringify(starts));
    seen.push(...s.tree());
    await finish(s, seen);
  });
});
