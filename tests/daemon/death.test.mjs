// The daemon killed while an editor is attached: the editor's relay replaces
// it — a new daemon, or an in-process proxy when none can be started — and
// replays the editor's documents at their current versions; the request in
// flight gets one error reply, later ones work, the editor is told with a
// window/showMessage, and nothing of the dead daemon's tree survives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { inWorld, simSkip, simWorkspace, tagged, waitGone, waitExit, waitFor, cmdline, ppid } from './lib.mjs';
import { Client } from '../faults/lib.mjs';

const A_V2 = 'import Demo.A\ndef x : Nat := a + 1\n#check zz\n';
// The version in flight when the daemon dies: slow, so its waitForDiagnostics is pending.
const A_V3 = 'import Demo.A\ndef x : Nat := a + 2 -- sim: sleep 3000\n#check yy\n';

/** An editor session through the daemon with A at version 3 being elaborated and B open; returns what the test needs. */
async function attachedEditor(w) {
  const ws = simWorkspace(w.root);
  const p = w.proxy(['lake', 'serve'], { cwd: ws.dir, args: ['--pool-spares', '0'] });
  const c = new Client(p, 'editor');
  await c.initialize(ws.uri(''));
  const a = ws.uri('Demo/F1.lean');
  const b = ws.uri('Demo/F2.lean');
  c.open(a, 'import Demo.A\ndef x : Nat := a\n');
  c.change(a, 2, A_V2);
  c.open(b, 'def y : Nat := 1\n#eval y\n');
  await c.waitDiags(a, 2);
  await c.waitDiags(b, 1);
  const [daemon] = w.daemons();
  assert.ok(daemon, 'no daemon');
  const tree = tagged(w.tag).map((t) => t.pid).filter((pid) => pid !== p.pid && pid !== daemon);
  assert.ok(tree.length >= 2, `the daemon's servers: ${JSON.stringify(tagged(w.tag))}`);
  c.change(a, 3, A_V3);
  const pending = c.start('textDocument/waitForDiagnostics', { uri: a, version: 3 }, 30000);
  // Version 3 is being elaborated (3 s): its request has reached the server.
  await c.waitFor((m) => m.method === '$/lean/fileProgress' && m.params.textDocument.uri === a &&
    m.params.textDocument.version === 3, 20000, 'version 3 in progress');
  await new Promise((r) => setTimeout(r, 200));
  return { ws, p, c, a, b, daemon, tree, pending };
}

/** After the replacement: the pending request got one error, the documents are back at their versions, requests work. */
async function assertRecovered({ c, a, b, pending }) {
  const r = await pending.reply;
  assert.ok(r.error, `the request in flight got an error reply: ${JSON.stringify(r)}`);
  await c.waitDiags(a, 3);
  assert.deepEqual(c.finalMessages(a, 3), ["unknown identifier 'yy'"], 'A replayed at version 3');
  await c.waitDiags(b, 1);
  assert.deepEqual(c.finalMessages(b, 1), ['1'], 'B replayed at version 1');
  const h = await c.hover(a, 1, 4);
  assert.ok(h.result && JSON.stringify(h.result).includes('x'), `hover after the replacement: ${JSON.stringify(h)}`);
  c.change(a, 4, 'import Demo.A\ndef x : Nat := a + 3\n#check ww\n');
  await c.waitDiags(a, 4);
  assert.deepEqual(c.finalMessages(a, 4), ["unknown identifier 'ww'"]);
  assert.deepEqual(c.replyProblems(), [], 'every request answered exactly once');
  assert.equal(c.badFrames, 0, 'the editor never saw a broken frame');
}

const shown = (c) => c.messages.filter((m) => m.method === 'window/showMessage').map((m) => m.params.message);

test('daemon SIGKILLed with an editor attached → the relay starts a new daemon and replays the documents', { skip: simSkip, timeout: 120000 }, async () => {
  await inWorld('death', async (w) => {
    const e = await attachedEditor(w);
    process.kill(e.daemon, 'SIGKILL');
    await assertRecovered(e);
    assert.deepEqual(await waitGone(e.tree, 8000), [], "the dead daemon's servers and workers are gone");
    const daemons = w.daemons();
    assert.equal(daemons.length, 1, `one new daemon: ${JSON.stringify(daemons)}`);
    assert.notEqual(daemons[0], e.daemon);
    const msgs = shown(e.c);
    assert.equal(msgs.length, 1, JSON.stringify(msgs));
    assert.match(msgs[0], new RegExp(`daemon \\(pid ${e.daemon}\\) went away; reconnected to a new daemon \\(pid ${daemons[0]}\\), re-opening 2 document`));
    assert.equal((await e.c.shutdown()).code, 0);
  });
});

test('daemon SIGKILLed and no daemon can start → the relay falls back to an in-process proxy with the documents', { skip: simSkip, timeout: 120000 }, async () => {
  let moved;
  await inWorld('death-fallback', async (w) => {
    const e = await attachedEditor(w);
    // The live connection does not care; a new daemon cannot be started
    // where the runtime directory should be.
    moved = `${w.runtime}.moved`;
    fs.renameSync(w.runtime, moved);
    fs.writeFileSync(w.runtime, 'not a directory\n');
    process.kill(e.daemon, 'SIGKILL');
    await assertRecovered(e);
    assert.deepEqual(await waitGone(e.tree, 8000), [], "the dead daemon's servers and workers are gone");
    assert.deepEqual(w.daemons(), [], 'no daemon was started');
    const msgs = shown(e.c);
    assert.equal(msgs.length, 1, JSON.stringify(msgs));
    assert.match(msgs[0], /went away; running in-process from now on \(no daemon: .*not a directory.*\), re-opening 2 document/i);
    // The fallback is the relay's own child, running the same command with --no-daemon.
    const kids = tagged(w.tag).map((t) => t.pid).filter((pid) => ppid(pid) === e.p.pid);
    assert.equal(kids.length, 1, JSON.stringify(tagged(w.tag)));
    assert.ok(cmdline(kids[0]).includes('--no-daemon'), cmdline(kids[0]).join(' '));
    assert.equal((await e.c.shutdown()).code, 0);
    assert.deepEqual(await waitGone(kids, 8000), [], 'the in-process proxy ended with the session');
  }, {
    cleanup: (w) => {
      fs.rmSync(w.runtime, { force: true });
      if (moved) fs.rmSync(moved, { recursive: true, force: true });
    },
  });
});

test('a daemon that keeps dying → the relay gives up after its restart budget and says so; nothing is left running', { skip: simSkip, timeout: 120000 }, async () => {
  await inWorld('death-budget', async (w) => {
    const ws = simWorkspace(w.root);
    const p = w.proxy(['lake', 'serve'], { cwd: ws.dir, args: ['--pool-spares', '0'] });
    const c = new Client(p, 'editor');
    await c.initialize(ws.uri(''));
    c.open(ws.uri('Demo/F1.lean'), 'def y : Nat := 1\n');
    await c.waitDiags(ws.uri('Demo/F1.lean'), 1);
    // Kill whatever serves the relay each time it has been replaced: the
    // daemon it reconnected to (or its in-process fallback).
    let upstream = w.daemons()[0];
    for (let deaths = 1; deaths <= 6; ++deaths) {
      process.kill(upstream, 'SIGKILL');
      if (deaths === 6) break;
      await waitFor(() => shown(c).length === deaths, 30000, () => `replacement ${deaths}: ${JSON.stringify(shown(c))}`);
      const m = /reconnected to a new daemon \(pid (\d+)\)/.exec(shown(c)[deaths - 1]);
      upstream = m ? Number(m[1]) : tagged(w.tag).map((t) => t.pid).find((pid) => ppid(pid) === p.pid);
      assert.ok(upstream, shown(c)[deaths - 1]);
    }
    const { code } = await waitExit(p, 20000, 'the relay gives up');
    assert.equal(code, 1);
    assert.ok(shown(c).some((m) => /not restarting it again/.test(m)), JSON.stringify(shown(c)));
  });
});

test('daemon stop with an editor attached ends the session (no reconnect)', { skip: simSkip, timeout: 60000 }, async () => {
  await inWorld('death-stop', async (w) => {
    const ws = simWorkspace(w.root);
    const p = w.proxy(['lake', 'serve'], { cwd: ws.dir, args: ['--pool-spares', '0'] });
    const c = new Client(p, 'editor');
    await c.initialize(ws.uri(''));
    const r = w.cli(['daemon', 'stop']);
    assert.equal(r.code, 0, r.stderr);
    await waitExit(p, 15000, 'the relay ends with its session');
    assert.deepEqual(w.daemons(), [], 'no daemon was started again');
    assert.deepEqual(shown(c), []);
  });
});
