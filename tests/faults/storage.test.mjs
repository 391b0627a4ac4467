// The cache's storage failing: a cache directory that cannot be created
// (below a regular file) → the session works uncached with a warning in the
// log; the disk filling up while storing (a 64 MiB tmpfs, filled, as root) → the
// session works, no crash, nothing stale served afterwards. For each: no
// orphan, no lost or duplicated reply.
//
// Why the store stops writing early: Debian's librocksdb 7.8 has assertions
// on, and a writer used again after a failed write aborts the process. So the
// store turns read-only while less than 16 MiB is free, after any failed
// write, and never closes (flushes) a DB in that state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { skip, simWorkspace, session, orphanProblems, finish } from './lib.mjs';

const T1 = 'import Demo.A\ndef x : Nat := a + 1\n#check zz\n';
const T2 = 'import Demo.A\ndef x : Nat := a + 2\n#check yy\ntheorem t : x = 4 := by decide\n';
const expect1 = ['unknown identifier \'zz\''];
const expect2 = ['unknown identifier \'yy\''];

const stats = (c) => c.call('workspace/executeCommand', { command: 'leanProxy.stats', arguments: [] });

test('cache directory not writable (below a regular file): works uncached, warns in the log', { skip, timeout: 60000 }, async () => {
  const ws = simWorkspace('unwritable');
  const file = path.join(ws.root, 'not-a-dir');
  fs.writeFileSync(file, 'x');
  const s = session(ws, { cacheDir: path.join(file, 'cache') });
  const c = s.client;
  let seen = [];
  try {
    await c.initialize(ws.uri(''));
    const u = ws.uri('Demo/U.lean');
    for (let round = 0; round < 2; round++) {  // open twice: never served from a cache
      c.open(u, T1, 1 + round * 10);
      await c.waitDiags(u, 1 + round * 10);
      assert.deepEqual(c.finalMessages(u, 1 + round * 10), expect1);
      c.change(u, 2 + round * 10, T2);
      await c.waitDiags(u, 2 + round * 10);
      assert.deepEqual(c.finalMessages(u, 2 + round * 10), expect2);
      c.notify('textDocument/didClose', { textDocument: { uri: u } });
    }
    seen = s.tree();
    const st = await stats(c);
    assert.equal(st.cache.hits, 0, JSON.stringify(st.cache));
    assert.equal(st.cache.stores, 0, JSON.stringify(st.cache));
    assert.match(c.stderr, /warn.*cache|cache.*(not writable|cannot|failed|disabled|unavailable|pass-through)/i, 'a warning about the cache in the log');
    await finish(s, seen);
  } finally {
    await orphanProblems(s, seen);
    fs.rmSync(ws.root, { recursive: true, force: true });
  }
});

function mountTmpfs(dir, size) {
  if (process.getuid?.() !== 0) return 'not root';
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? null : `mount failed: ${r.stderr || r.error}`;
}

function fill(dir) {
  const fd = fs.openSync(path.join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(4096, 0x5a);
  let n = 0;
  try { for (;;) { fs.writeSync(fd, chunk); n += chunk.length; } } catch (e) { if (e.code !== 'ENOSPC') throw e; } finally { fs.closeSync(fd); }
  for (let i = 0; i < 64; i++) { try { fs.writeFileSync(path.join(dir, `f${i}`), 'x'); } catch { break; } }  // also the inode/slack left
  return n;
}

test('disk full while storing (64 MiB tmpfs, filled): works, no crash, nothing stale served', { skip, timeout: 90000 }, async (t) => {
  const ws = simWorkspace('diskfull');
  const mnt = path.join(ws.root, 'tmpfs');
  const why = mountTmpfs(mnt, '64m');
  if (why) { t.skip(`disk-full fault skipped: ${why}`); fs.rmSync(ws.root, { recursive: true, force: true }); return; }
  const cacheDir = path.join(mnt, 'cache');
  let s;
  let seen = [];
  try {
    // Session 1: store T1 while there is room, then fill the disk and keep editing.
    s = session(ws, { cacheDir });
    let c = s.client;
    await c.initialize(ws.uri(''));
    const u = ws.uri('Demo/Full.lean');
    c.open(u, T1);
    await c.waitDiags(u, 1);
    assert.deepEqual(c.finalMessages(u, 1), expect1);
    const st0 = await stats(c);
    const filled = fill(mnt);
    console.log(`disk full: cache had ${st0.cache.stores} store(s) (${st0.cache.mode}), filler ${filled} bytes`);
    const versions = [[2, T2, expect2], [3, T1 + '#check w1\n', [...expect1, 'unknown identifier \'w1\'']], [4, T2 + '#check w2\n', [...expect2, 'unknown identifier \'w2\'']]];
    for (const [v, text, exp] of versions) {
      c.change(u, v, text);
      await c.waitDiags(u, v);
      assert.deepEqual(c.finalMessages(u, v), exp, `v${v} while the disk is full`);
      const h = await c.hover(u, 1, 4);
      assert.match(JSON.stringify(h.result), /x : Nat/);
    }
    const st1 = await stats(c);
    console.log(`disk full: session 1 cache ${JSON.stringify({ stores: st1.cache.stores, write_failures: st1.cache.write_failures, mismatches: st1.cache.mismatches, mode: st1.cache.mode })}`);
    assert.equal(st1.cache.mismatches, 0);
    seen = s.tree();
    await finish(s, seen);

    // Session 2, disk still full: every version checks as Lean says (hits or not).
    s = session(ws, { cacheDir });
    c = s.client;
    await c.initialize(ws.uri(''));
    let v = 1;
    for (const [, text, exp] of [[1, T1, expect1], ...versions]) {
      if (v === 1) c.open(u, text, v); else c.change(u, v, text);
      await c.waitDiags(u, v);
      assert.deepEqual(c.finalMessages(u, v), exp, `session 2 v${v}`);
      v++;
    }
    // Then with room again.
    fs.rmSync(path.join(mnt, 'filler'));
    c.change(u, v, T2 + '#check w3\n');
    await c.waitDiags(u, v);
    assert.deepEqual(c.finalMessages(u, v), [...expect2, 'unknown identifier \'w3\'']);
    const st2 = await stats(c);
    console.log(`disk full: session 2 cache ${JSON.stringify({ hits: st2.cache.hits, verified_hits: st2.cache.verified_hits, mismatches: st2.cache.mismatches, write_failures: st2.cache.write_failures })}`);
    assert.equal(st2.cache.mismatches, 0, 'nothing stale served');
    seen = s.tree();
    await finish(s, seen);
  } finally {
    if (s) await orphanProblems(s, seen);
    spawnSync('umount', [mnt]);
    fs.rmSync(ws.root, { recursive: true, force: true });
  }
});
