// A server that stops reading its stdin (after answering `initialize`): the
// proxy's memory must not grow without bound while the editor keeps sending
// (a bounded write queue — then a restart or backpressure on the editor), and
// the session must end cleanly when the client exits (no orphan).
//
// The proxy bounds each write queue (32 MiB): past it the server counts as
// hung, its whole tree is killed and the crash path restarts it.
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
const boundMiB = 64;  // growth allowed for the proxy while the editor sends volumeMiB

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
    console.log(`stalled server: proxy RSS ${Math.round(base / 1024)} MiB → peak ${Math.round(peakKb / 1024)} MiB ` +
      `(+${growthMiB.toFixed(1)} MiB) for ${volumeMiB} MiB sent; ${Math.round(c.child.stdin.writableLength / MiB)} MiB still buffered in the client`);
    // The client exits (EOF): the session must end, the stalled server killed.
    c.child.stdin.end();
    const { signal } = await waitExit(c.child, 20000, 'proxy exit after client EOF with a stalled server');
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
