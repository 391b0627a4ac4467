// A vscode-jsonrpc client session, shaped like vscode-lean4's, against the simulator's `lake serve` found on PATH.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// The e2e suite's library and its copy of vscode-jsonrpc (what vscode-lean4's
// client is built on), so this directory needs no node_modules of its own.
import { track, withTimeout, writeDemoProject } from '../e2e/lib/harness.mjs';
import { rpc, skipReason as skip } from '../e2e/lib/rpc.mjs';

const pos = (line, character) => ({ line, character });
const messages = (p) => p.diagnostics.map((d) => d.message);

test('vscode-lean4-shaped session: open with errors, goals, hover, fix, symbols, shutdown', { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leansim-client-'));
  let child;
  try {
    writeDemoProject(dir, { main: false });
    // The user built the project once; vscode-lean4 then opens files with
    // dependencyBuildMode "never" (lean4.automaticallyBuildDependencies off).
    execFileSync('lake', ['build'], { cwd: dir, stdio: 'ignore' });

    // As vscode-lean4 starts the server: bare `lake` resolved through PATH.
    child = track(spawn('lake', ['serve', '--', dir], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] }));
    const conn = rpc.createMessageConnection(
      new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));

    const publishes = [];
    conn.onNotification('textDocument/publishDiagnostics', (p) => publishes.push(p));
    conn.onNotification('$/lean/fileProgress', () => {});
    let registered;
    const registration = new Promise((resolve) => { registered = resolve; });
    conn.onRequest('client/registerCapability', (params) => { registered(params); return null; });
    conn.listen();

    const init = await withTimeout(conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(dir).href,
      workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'demo' }],
      capabilities: {
        textDocument: { publishDiagnostics: { relatedInformation: true, versionSupport: true } },
        lean: { silentDiagnosticSupport: true },
      },
      initializationOptions: { editDelay: 200, hasWidgets: true },
    }), 10000, 'initialize');
    assert.deepEqual(init.serverInfo, { name: 'Lean 4 Server', version: '0.3.0' });
    assert.equal(init.capabilities.executeCommandProvider, undefined);
    await conn.sendNotification('initialized', {});
    const reg = await withTimeout(registration, 10000, 'client/registerCapability');
    assert.equal(reg.registrations[0].method, 'workspace/didChangeWatchedFiles');

    const uri = pathToFileURL(path.join(dir, 'Demo/B.lean')).href;
    const text = 'import Demo.A\ndef b : Nat := a + 1\ntheorem t : b = 4 := by\n  decide\n#check bb\n';
    await conn.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'lean4', version: 1, text }, dependencyBuildMode: 'never',
    });
    assert.deepEqual(await withTimeout(conn.sendRequest('textDocument/waitForDiagnostics', { uri, version: 1 }), 20000, 'wait v1'), {});
    const v1 = publishes.filter((p) => p.uri === uri && p.version === 1).at(-1);
    assert.deepEqual(messages(v1), ['unsolved goals\n⊢ b = 4', "unknown identifier 'bb'"]);
    assert.deepEqual(v1.diagnostics[0].leanTags, [1]);

    const goal = await conn.sendRequest('$/lean/plainGoal', { textDocument: { uri }, position: pos(3, 2) });
    assert.deepEqual(goal, { rendered: '```lean\n⊢ b = 4\n```', goals: ['⊢ b = 4'] });
    const hover = await conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: pos(1, 15) });
    assert.equal(hover.contents.value, '```lean\na : Nat\n```\n***\n*import Demo.A*');
    const session = await conn.sendRequest('$/lean/rpc/connect', { uri });
    assert.match(session.sessionId, /^[0-9]+$/);  // a UInt64, as a decimal string

    // Fix both errors with incremental edits, as VS Code sends them.
    await conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 },
      contentChanges: [
        { range: { start: pos(2, 16), end: pos(2, 17) }, text: '3' },
        { range: { start: pos(4, 7), end: pos(4, 9) }, text: 'b' },
      ],
    });
    assert.deepEqual(await withTimeout(conn.sendRequest('textDocument/waitForDiagnostics', { uri, version: 2 }), 20000, 'wait v2'), {});
    const v2 = publishes.filter((p) => p.uri === uri && p.version === 2).at(-1);
    assert.deepEqual(messages(v2), ['Goals accomplished!', 'b : Nat']);
    assert.equal(v2.diagnostics[0].isSilent, true);
    assert.ok(v2.diagnostics.every((d) => d.severity !== 1 && d.source === 'Lean 4' && d.fullRange));

    const symbols = await conn.sendRequest('textDocument/documentSymbol', { textDocument: { uri } });
    assert.deepEqual(symbols.map((s) => s.name), ['b', 't']);

    assert.equal(await conn.sendRequest('shutdown'), null);
    await conn.sendNotification('exit');
    const { code } = await withTimeout(child.exited, 10000, 'exit');
    assert.equal(code, 0, child.stderrText);
    conn.dispose();
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
