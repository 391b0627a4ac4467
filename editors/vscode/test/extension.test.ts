// The VS Code adapter, loaded with a minimal stand-in `vscode` module: every
// palette command in package.json is registered exactly once, and nothing
// else (in particular no leanProxy.* LSP command ids).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

/* eslint-disable @typescript-eslint/no-explicit-any */
const registered: string[] = [];
const disposable = { dispose() {} };
const fakeVscode = {
  StatusBarAlignment: { Left: 1, Right: 2 },
  ConfigurationTarget: { Global: 1 },
  ViewColumn: { Beside: -2 },
  ThemeColor: class {},
  window: {
    createOutputChannel: () => ({ appendLine() {}, show() {}, dispose() {} }),
    createStatusBarItem: () => ({ show() {}, hide() {}, dispose() {} }),
    showInformationMessage: async () => undefined,
    showWarningMessage: async () => undefined,
    showErrorMessage: async () => undefined,
    activeTextEditor: undefined,
  },
  commands: {
    registerCommand: (id: string) => {
      registered.push(id);
      return disposable;
    },
    executeCommand: async () => undefined,
  },
  workspace: {
    // refreshSeconds 0: no timer keeps the test process alive.
    getConfiguration: () => ({ get: (k: string, f: unknown) => (k === 'statusBar.refreshSeconds' ? 0 : k === 'path' ? '/nonexistent/lean-lsp-proxy' : f), inspect: () => ({}), update: async () => {} }),
    onDidChangeConfiguration: () => disposable,
  },
  extensions: { getExtension: () => undefined },
};

function loadWithFakeVscode(): any {
  const Module = require('module');
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request: string, ...rest: unknown[]) {
    return request === 'vscode' ? 'vscode' : resolve.call(this, request, ...rest);
  };
  require.cache.vscode = { id: 'vscode', filename: 'vscode', loaded: true, exports: fakeVscode } as any;
  try {
    return require('../src/extension');
  } finally {
    Module._resolveFilename = resolve;
  }
}

test('activate registers each contributed command once, and only those', async () => {
  const ext = loadWithFakeVscode();
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'llp-ext-'));
  const subscriptions: unknown[] = [];
  ext.activate({
    subscriptions,
    globalStorageUri: { fsPath: storage },
    globalState: { get: () => true, update: async () => {} }, // shim prompt declined: nothing pops up
  });
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
  const contributed: string[] = pkg.contributes.commands.map((c: { command: string }) => c.command);
  assert.deepEqual([...registered].sort(), [...contributed].sort());
  assert.equal(new Set(registered).size, registered.length);
  assert.ok(registered.every(id => !id.startsWith('leanProxy.')));
  for (const c of pkg.contributes.commands) assert.equal(c.category, 'Lean Proxy');
  for (const s of subscriptions as Array<{ dispose(): void }>) s.dispose();
  fs.rmSync(storage, { recursive: true, force: true });
});

test('package.json declares what vsce needs to package without asking', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
  assert.ok(pkg.repository?.url);
  assert.ok(pkg.publisher);
  assert.ok(fs.existsSync(path.join(__dirname, '..', '..', 'LICENSE')));
  assert.equal(pkg.main, './out/src/extension.js');
  for (const dep of Object.values(pkg.devDependencies) as string[]) assert.match(dep, /^\d+\.\d+\.\d+$/); // pinned
  assert.deepEqual(Object.keys(pkg.contributes.configuration.properties).sort(), [
    'leanLspProxy.path',
    'leanLspProxy.statusBar.refreshSeconds',
  ]);
});
