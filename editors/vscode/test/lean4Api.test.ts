// Finding vscode-lean4's client for a file and sending explain on it, with
// objects shaped like vscode-lean4's exports (old and new).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientProviderLike, explainOnClient, findClientProvider, formatExplain, LeanClientLike, pickClient } from '../src/lean4Api';

function client(folder: string | undefined, reply: (m: string, p: unknown) => Promise<unknown> = async () => ({})): LeanClientLike & { sent: unknown[] } {
  const sent: unknown[] = [];
  return {
    sent,
    sendRequest: (m, p) => {
      sent.push({ m, p });
      return reply(m, p);
    },
    getClientFolder: () => (folder ? { scheme: 'file', fsPath: folder } : { scheme: 'untitled' }),
    isRunning: () => true,
  };
}

test('findClientProvider: new exports (promise), old exports, missing, and a promise that never settles', async () => {
  const provider: ClientProviderLike = { getClients: () => [] };
  assert.equal((await findClientProvider({ lean4EnabledFeatures: Promise.resolve({ clientProvider: provider }) }, 100)).ok, true);
  assert.equal((await findClientProvider({ clientProvider: provider }, 100)).ok, true);
  const missing = await findClientProvider(undefined, 100);
  assert.equal(missing.ok, false);
  const never = await findClientProvider({ lean4EnabledFeatures: new Promise(() => {}) }, 50);
  assert.equal(never.ok, false);
  assert.match((never as { message: string }).message, /open a Lean file/);
  const rejected = await findClientProvider({ lean4EnabledFeatures: Promise.reject(new Error('no elan')) }, 100);
  assert.match((rejected as { message: string }).message, /no elan/);
  const odd = await findClientProvider({ something: 1 }, 100);
  assert.match((odd as { message: string }).message, /does not expose/);
});

test('pickClient: the top-most folder holding the file, else the active client', () => {
  const outer = client('/p');
  const inner = client('/p/sub');
  const other = client('/q');
  const untitled = client(undefined);
  const active = client('/z');
  const provider: ClientProviderLike = { getClients: () => [inner, other, untitled, outer], getActiveClient: () => active };
  assert.equal(pickClient(provider, '/p/sub/A.lean'), outer);
  assert.equal(pickClient(provider, '/q/B.lean'), other);
  assert.equal(pickClient(provider, '/pq/C.lean'), active); // a prefix of the name is not a parent folder
  assert.equal(pickClient(provider, undefined), active);
  assert.equal(pickClient({}, '/p/A.lean'), undefined);
});

test('explainOnClient sends workspace/executeCommand with the uri', async () => {
  const c = client('/p', async () => ({ verdict: 'hit: served from the cache' }));
  const r = await explainOnClient(c, 'file:///p/A.lean');
  assert.deepEqual(r, { ok: true, result: { verdict: 'hit: served from the cache' } });
  assert.deepEqual(c.sent, [
    { m: 'workspace/executeCommand', p: { command: 'leanProxy.cache.explain', arguments: [{ uri: 'file:///p/A.lean' }] } },
  ]);
});

test('explainOnClient words the failures: no proxy, an LSP error, a stopped client', async () => {
  const notProxied = await explainOnClient(client('/p', () => Promise.reject({ code: -32601, message: 'No method' })), 'u');
  assert.match((notProxied as { message: string }).message, /not behind lean-lsp-proxy/);
  const failed = await explainOnClient(client('/p', () => Promise.reject({ code: -32600, message: 'the cache is off' })), 'u');
  assert.match((failed as { message: string }).message, /the cache is off/);
  const noConn = await explainOnClient(client('/p', () => Promise.reject('No connection to Lean')), 'u');
  assert.match((noConn as { message: string }).message, /No connection to Lean/);
  const stopped = { ...client('/p'), isRunning: () => false };
  assert.match(((await explainOnClient(stopped, 'u')) as { message: string }).message, /not running/);
});

test('formatExplain puts the verdict first', () => {
  const text = formatExplain('file:///p/A.lean', { verdict: 'miss: differs', differs_from_last_stored: ['imports', 'options'] });
  const lines = text.split('\n');
  assert.equal(lines[0], 'Cache explain for file:///p/A.lean');
  assert.equal(lines[1], 'Verdict: miss: differs');
  assert.equal(lines[2], 'Differs from the last stored entry in: imports, options');
  assert.match(text, /"verdict": "miss: differs"/);
});
