// Load: K concurrent clients through ONE daemon (private runtime dir and cache
// dir), each opening, editing (several didChange versions) and querying
// (hover, plainGoal, waitForDiagnostics) its own documents in one simulator
// workspace for M messages. Checks: every request answered exactly once, each
// client's publishes per document in version order, final diagnostics as Lean
// gives them, the daemon's memory bounded (VmRSS sampled; peak reported), and
// the cache consistent afterwards (`stats --json`: 0 mismatches).
//
//   LLP_LOAD_CLIENTS   K (default 8)
//   LLP_LOAD_MESSAGES  M per client (default 400: the quick CI mode, < 60 s)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { World, connectedDaemonPid } from '../daemon/lib.mjs';
import { skip, simWorkspace, Client, rssSampler, rssKb } from './lib.mjs';

const K = Number(process.env.LLP_LOAD_CLIENTS ?? 8);
const M = Number(process.env.LLP_LOAD_MESSAGES ?? 400);
const DOCS = 2;
const RSS_BOUND_MIB = Number(process.env.LLP_LOAD_RSS_BOUND_MIB ?? 256);

const text = (k, d, v) =>
  `import Demo.A\ndef x${k}_${d} : Nat := a + ${v % 3}\ntheorem t : x${k}_${d} = x${k}_${d} := by rfl\n#check zz${v % 3}\n`;
const expected = (v) => [`unknown identifier 'zz${v % 3}'`];

async function runClient(k, c, ws) {
  const uris = Array.from({ length: DOCS }, (_, d) => ws.uri(`Demo/Load${k}_${d}.lean`));
  const version = uris.map(() => 1);
  let sent = 0;
  uris.forEach((u, d) => { c.open(u, text(k, d, 1), 1); sent++; });
  const errors = [];
  while (sent < M) {
    const round = [];
    for (let d = 0; d < DOCS && sent < M; d++) {
      const u = uris[d];
      const v = ++version[d];
      c.change(u, v, text(k, d, v));
      const hover = c.request('textDocument/hover', { textDocument: { uri: u }, position: { line: 1, character: 5 } }, 60000);
      const goal = c.request('$/lean/plainGoal', { textDocument: { uri: u }, position: { line: 2, character: 40 } }, 60000);
      const wait = c.request('textDocument/waitForDiagnostics', { uri: u, version: v }, 60000);
      sent += 4;
      round.push(hover.then((r) => r.error && errors.push(['hover', r.error])),
        goal.then((r) => r.error && errors.push(['plainGoal', r.error])),
        wait.then((r) => r.error && errors.push(['waitForDiagnostics', r.error])));
    }
    await Promise.all(round);
  }
  uris.forEach((u, d) => { assert.deepEqual(c.finalMessages(u, version[d]), expected(version[d]), `${c.name} ${u} v${version[d]}`); });
  return { sent, errors, uris };
}

test(`load: ${K} clients × ${M} messages through one daemon`, { skip, timeout: 600000 }, async () => {
  const w = new World('load');
  const ws = simWorkspace('load');
  const clients = [];
  let sampler;
  let failed = true;
  try {
    for (let k = 0; k < K; k++) clients.push(new Client(w.proxy(['lake', 'serve'], { cwd: ws.dir }), `client${k}`));
    await Promise.all(clients.map((c) => c.initialize(ws.uri(''))));
    const daemon = connectedDaemonPid(clients[0].child);
    assert.ok(daemon, clients[0].stderr);
    for (const c of clients) assert.equal(connectedDaemonPid(c.child), daemon, `${c.name} uses the same daemon`);
    const baseKb = rssKb(daemon);
    sampler = rssSampler(daemon, 100);
    const t0 = Date.now();
    const results = await Promise.all(clients.map((c, k) => runClient(k, c, ws)));
    const seconds = (Date.now() - t0) / 1000;
    const { peakKb, samples } = sampler.stop();

    const problems = [];
    for (const [k, c] of clients.entries()) {
      problems.push(...c.replyProblems());
      for (const u of results[k].uris) {
        const vs = c.publishes(u).map((m) => m.params.version);
        for (let i = 1; i < vs.length; i++) if (vs[i] < vs[i - 1]) { problems.push(`${c.name}: ${u}: publish v${vs[i]} after v${vs[i - 1]}`); break; }
      }
      for (const e of results[k].errors) problems.push(`${c.name}: ${e[0]} error ${JSON.stringify(e[1])}`);
    }
    const st = JSON.parse(w.cli(['stats', '--json']).stdout);
    const total = results.reduce((n, r) => n + r.sent, 0);
    const requests = clients.reduce((n, c) => n + c.sent.size, 0);
    console.log(`load: ${K} clients × ${M} messages (${total} messages, ${requests} requests) in ${seconds.toFixed(1)} s; ` +
      `daemon RSS ${Math.round(baseKb / 1024)} MiB at start, peak ${(peakKb / 1024).toFixed(1)} MiB (${samples} samples); ` +
      `cache hits ${st.cache.hits} (verified ${st.cache.verified_hits}), misses ${st.cache.misses}, stores ${st.cache.stores}, mismatches ${st.cache.mismatches}`);
    assert.deepEqual(problems, []);
    assert.equal(st.cache.mismatches, 0, JSON.stringify(st.cache));
    assert.ok(peakKb / 1024 < RSS_BOUND_MIB, `daemon peak RSS ${(peakKb / 1024).toFixed(1)} MiB ≥ ${RSS_BOUND_MIB} MiB`);
    for (const c of clients) {
      const { code } = await c.shutdown(20000);
      assert.equal(code, 0, c.stderr.slice(-1500));
    }
    failed = false;
  } finally {
    sampler?.stop();
    const problems = await w.close();  // daemon stop, pid gone, nothing tagged left
    fs.rmSync(ws.root, { recursive: true, force: true });
    if (!failed) assert.deepEqual(problems, [], 'the daemon world did not end cleanly');
    else if (problems.length) console.log(`cleanup after failure: ${problems.join('; ')}`);
  }
});
