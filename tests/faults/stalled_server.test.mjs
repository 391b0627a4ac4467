// A server that stops reading its stdin (after answering `initialize`): the
// proxy's memory must not grow without bound while the editor keeps sending,
// and the session must end cleanly when the client exits (no orphan).
//
// Back-pressure: past 4 MiB (or 2,048 messages) waiting for the server the
// proxy stops reading the editor, so what the editor sends waits in the
// editor's own buffers; a server whose input does not move for 10 s is hung:
// its whole tree is killed, the crash path restarts it, and the proxy reads
// on (and sees the editor gone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { skip, session, orphanProblems, rssSampler, rssKb, sleep, waitExit } from './lib.mjs';

const stallingServer = `
// Answers initialize, then never reads stdin again (the pipe fills up).
let buf = Buffer.alloc(0);
const onData = (d) => {
  buf = Buffer.concat([buf, d]);
  const s = buf.toString('latin1');
  const m = /Content-Length: (\\d+)\\r\\n\\r\\n/.exec(s);
  if (!m || buf.length < m.index + m[0].length + Number(m[1])) return;
  const msg = JSON.parse(buf.subarray(m.index + m[0].length, m.index + m[0].length + Number(m[1])).toString());
  process.stdin.off('data', onData);
  process.stdin.pause();
  const body = JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: { capabilities: { textDocumentSync: 1 }, serverInfo: { name: 'stalling' } } });
  process.stdout.write('Content-Length: ' + Buffer.byteLength(body) + '\\r\\n\\r\\n' + body);
};
process.stdin.on('data', onData);
setInterval(() => {}, 1 << 30);
`;

const MiB = 1024 * 1024;
const volumeMiB = Number(process.env.LLP_STALL_MIB ?? 160);
const boundMiB = 24;  // growth allowed for the proxy while the editor sends volumeMiB (the queue, parse buffers, allocator slack)

test(`a server that stops reading: proxy memory bounded (< +${boundMiB} MiB for ${volumeMiB} MiB sent), clean exit`, { skip, timeout: 120000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'llp-faults-stall-'));
  const script = path.join(root, 'stalling-server.cjs');
  fs.writeFileSync(script, stallingServer);
  const ws = { root, dir: root, uri: (rel) => `file://${path.join(root, rel)}` };
  const s = session(ws, { server: [process.execPath, script], args: ['--cache', 'off'] });
  const { client: c } = s;
  let seen = [];
  let sampler;
  try {
    const init = await c.initialize(ws.uri(''));
    assert.equal(init.serverInfo.name, 'stalling');
    seen = s.tree();
    const base = rssKb(c.child.pid);
    sampler = rssSampler(c.child.pid, 50);
    const uri = ws.uri('Big.lean');
    c.open(uri, 'x');
    const text = 'a'.repeat(MiB - 16);
    let queuedInNode = 0;
    for (let v = 2; v < volumeMiB + 2; v++) {
      c.change(uri, v, text + v);
      queuedInNode = c.child.stdin.writableLength;
      if (v % 16 === 0) await sleep(20);
    }
    // Give the proxy time to read what it will read.
    await sleep(3000);
    const { peakKb } = sampler.stop();
    const growthMiB = (peakKb - base) / 1024;
    const heldMiB = c.child.stdin.writableLength / MiB;
    console.log(`stalled server: proxy RSS ${Math.round(base / 1024)} MiB → peak ${Math.round(peakKb / 1024)} MiB ` +
      `(+${growthMiB.toFixed(1)} MiB) for ${volumeMiB} MiB sent; ${Math.round(heldMiB)} MiB held back in the client`);
    // The proxy stopped reading the editor: nearly all of it is still the editor's.
    assert.ok(heldMiB > volumeMiB - 32,
      `no back-pressure: only ${heldMiB.toFixed(1)} of ${volumeMiB} MiB still wait in the client`);
    // The client exits (its end of the pipe closes, what it had not written
    // is gone): the session must end, the stalled server killed.
    c.child.stdin.destroy();
    const { signal } = await waitExit(c.child, 30000, 'proxy exit after the client went away with a stalled server');
    assert.equal(signal, null);
    assert.deepEqual(await orphanProblems(s, seen), []);
    assert.deepEqual(c.stray, []);
    assert.ok(growthMiB < boundMiB,
      `BUG: unbounded write queue: the proxy grew by ${growthMiB.toFixed(1)} MiB (bound ${boundMiB}) while the server did not read`);
  } finally {
    sampler?.stop();
    await orphanProblems(s, seen);
    fs.rmSync(root, { recursive: true, force: true });
  }
});
