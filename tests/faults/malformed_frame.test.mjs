// A malformed frame from the server (`-- sim: malformed-frame`: a frame whose
// body is not JSON): logged, the session goes on; no orphan, no lost or
// duplicated reply, nothing garbled reaches the editor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skip, withSession, finish } from './lib.mjs';

test('malformed frame from the server: logged, the session continues', { skip, timeout: 60000 }, async () => {
  await withSession('malformed', {}, async ({ ws, s, c, seen }) => {
    await c.initialize(ws.uri(''));
    const a = ws.uri('Demo/M.lean');
    c.open(a, 'def x : Nat := 1 -- sim: malformed-frame\n#check zz\n');
    await c.waitDiags(a, 1);
    assert.deepEqual(c.finalMessages(a, 1), ['unknown identifier \'zz\'']);
    const h = await c.hover(a, 0, 4);
    assert.match(JSON.stringify(h.result), /x : Nat/);
    // Again on a change (the marker is still there), then a clean version.
    c.change(a, 2, 'def x : Nat := 2 -- sim: malformed-frame\n#check yy\n');
    await c.waitDiags(a, 2);
    assert.deepEqual(c.finalMessages(a, 2), ['unknown identifier \'yy\'']);
    c.change(a, 3, 'def x : Nat := 3\n');
    await c.waitDiags(a, 3);
    assert.deepEqual(c.finalMessages(a, 3), []);
    assert.equal(c.badFrames, 0, 'nothing malformed was forwarded to the editor');
    assert.match(c.stderr, /(invalid|malformed|parse|bad).{0,80}(server|JSON|message|frame)|(server|JSON|message|frame).{0,80}(invalid|malformed|parse error|bad)/i,
      'the malformed frame is logged');
    assert.equal(s.events('server_start').length, 1, 'no restart for a bad frame');
    seen.push(...s.tree());
    await finish(s, seen);
  });
});
