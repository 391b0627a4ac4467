// The same vscode-jsonrpc session against clangd directly and through
// lean-lsp-proxy must produce identical results: the proxy is transparent.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { findExecutable, paths, proxyMissing, reap, start, waitExit, withTimeout } from './lib/harness.mjs';
import { connect, skipReason } from './lib/rpc.mjs';

const clangd = findExecutable(paths.clangd);
const clangdSkip = skipReason || (clangd ? false : `e2e skipped: clangd not found (${paths.clangd})`);
if (!clangd && !skipReason) console.log(clangdSkip);

// No background index, no config files, no clang-tidy, no header insertion:
// everything that could make two runs differ for reasons of their own.
const clangdArgs = [clangd, '--log=error', '--background-index=false', '--enable-config=false',
  '--clang-tidy=false', '--header-insertion=never', '--pch-storage=memory', '-j=1'];

const source = `// A small file with one compile error for the e2e comparison.
struct Point {
  int x;
  int y;
};

/// Adds the coordinates of a point.
int sum(const Point& p) { return p.x + p.y; }

int twice(int v) { return v * 2; }

int main() {
  Point p{1, 2};
  int total = sum(p) + undefined_name;
  return twice(total) + p.x;
}
`;
const errorLine = 13; // "  int total = sum(p) + undefined_name;"
const errorCol = source.split('\n')[errorLine].indexOf('undefined_name');

// What vscode-languageclient 9 (vscode-lean4's client) announces, trimmed to what clangd reads.
const capabilities = {
  general: { positionEncodings: ['utf-16'], markdown: { parser: 'marked', version: '1.1.0' } },
  window: { workDoneProgress: true, showMessage: { messageActionItem: { additionalPropertiesSupport: true } },
    showDocument: { support: true } },
  workspace: { applyEdit: true, configuration: true, workspaceFolders: true,
    didChangeConfiguration: { dynamicRegistration: true },
    workspaceEdit: { documentChanges: true, resourceOperations: ['create', 'rename', 'delete'] } },
  textDocument: {
    synchronization: { dynamicRegistration: true, willSave: true, willSaveWaitUntil: true, didSave: true },
    publishDiagnostics: { relatedInformation: true, versionSupport: false, tagSupport: { valueSet: [1, 2] },
      codeDescriptionSupport: true, dataSupport: true },
    completion: { dynamicRegistration: true, contextSupport: true,
      completionItem: { snippetSupport: true, commitCharactersSupport: true, documentationFormat: ['markdown', 'plaintext'],
        deprecatedSupport: true, preselectSupport: true, insertReplaceSupport: true, labelDetailsSupport: true,
        tagSupport: { valueSet: [1] }, resolveSupport: { properties: ['documentation', 'detail', 'additionalTextEdits'] } },
      completionItemKind: { valueSet: Array.from({ length: 25 }, (_, i) => i + 1) } },
    hover: { dynamicRegistration: true, contentFormat: ['markdown', 'plaintext'] },
    documentSymbol: { dynamicRegistration: true, hierarchicalDocumentSymbolSupport: true,
      symbolKind: { valueSet: Array.from({ length: 26 }, (_, i) => i + 1) }, labelSupport: true },
  },
};

let dir;
let direct;

/** Runs the whole session against `argv`; returns everything the client saw, in order. */
async function session(argv) {
  const child = start(argv, { cwd: dir });
  try {
    const serverRequests = [];
    const { conn, received, waitNotification } = connect(child, {
      onServerRequest: (method) => { serverRequests.push(method); return null; },
    });
    const uri = pathToFileURL(join(dir, 'main.cpp')).href;
    const rq = (method, params) => withTimeout(conn.sendRequest(method, params), 15000, method);
    const doc = { textDocument: { uri } };
    const out = {};

    out.initialize = await rq('initialize', {
      processId: process.pid, clientInfo: { name: 'lean-lsp-proxy e2e', version: '1' },
      rootUri: pathToFileURL(dir).href, workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'e2e' }],
      capabilities, initializationOptions: {}, trace: 'off', locale: 'en',
    });
    await conn.sendNotification('initialized', {});
    await conn.sendNotification('textDocument/didOpen',
      { textDocument: { uri, languageId: 'cpp', version: 1, text: source } });
    out.diagnostics1 = await waitNotification('textDocument/publishDiagnostics',
      (p) => p.uri === uri && p.diagnostics.length > 0, 20000);

    out.hover = await rq('textDocument/hover', { ...doc, position: { line: errorLine, character: 15 } }); // on "sum"
    const memberLine = errorLine + 1;
    out.completion = await rq('textDocument/completion', { ...doc,
      position: { line: memberLine, character: source.split('\n')[memberLine].lastIndexOf('p.') + 2 },
      context: { triggerKind: 2, triggerCharacter: '.' } });
    out.documentSymbol = await rq('textDocument/documentSymbol', doc);

    // Incremental edit: replace the undeclared name, fixing the error.
    const publishedBefore = received.filter((m) => m.method === 'textDocument/publishDiagnostics').length;
    await conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{
      range: { start: { line: errorLine, character: errorCol }, end: { line: errorLine, character: errorCol + 14 } },
      text: '1' }] });
    out.diagnostics2 = await waitNotification('textDocument/publishDiagnostics',
      (p) => p.uri === uri && p.diagnostics.length === 0, 20000);
    out.publishCountAfterEdit = received.filter((m) => m.method === 'textDocument/publishDiagnostics').length - publishedBefore;
    out.hoverAfterEdit = await rq('textDocument/hover', { ...doc, position: { line: errorLine, character: 15 } });

    out.shutdown = await rq('shutdown', null);
    await conn.sendNotification('exit');
    out.exit = await waitExit(child, 10000, `${argv[0]} exit`);
    out.serverRequests = serverRequests;
    // Every reply the client got answers a request it sent, exactly once.
    const replyIds = received.filter((m) => !('method' in m)).map((m) => m.id);
    out.replyIdsUnique = new Set(replyIds).size === replyIds.length;
    out.notificationMethods = [...new Set(received.filter((m) => 'method' in m && !('id' in m)).map((m) => m.method))].sort();
    conn.dispose();
    // LLP_E2E_DUMP=dir keeps each transcript, to see what differed.
    if (process.env.LLP_E2E_DUMP) writeFileSync(join(process.env.LLP_E2E_DUMP, `clangd-${argv[0].split('/').pop()}.json`), JSON.stringify(out, null, 1));
    return out;
  } finally {
    reap(child);
  }
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'llp-clangd-'));
  writeFileSync(join(dir, 'main.cpp'), source);
  writeFileSync(join(dir, 'compile_flags.txt'), '-std=c++17\n-xc++\n');
});
after(() => dir && rmSync(dir, { recursive: true, force: true }));

test('clangd direct session', { skip: clangdSkip, timeout: 60000 }, async () => {
  direct = await session(clangdArgs);
  assert.deepEqual(direct.exit, { code: 0, signal: null });
  assert.match(JSON.stringify(direct.diagnostics1), /undefined_name/);
  assert.match(JSON.stringify(direct.hover), /sum/);
  const labels = direct.completion.items.map((i) => i.filterText ?? i.label);
  assert.ok(labels.includes('x') && labels.includes('y'), `completion: ${labels}`);
  assert.ok(direct.documentSymbol.some((s) => s.name === 'main'));
  assert.ok(direct.replyIdsUnique);
});

const proxySkip = clangdSkip || proxyMissing;

test('through lean-lsp-proxy: identical results, exit 0', { skip: proxySkip, timeout: 60000 }, async () => {
  direct ??= await session(clangdArgs);
  const traceDir = mkdtempSync(join(tmpdir(), 'llp-trace-'));
  try {
    const proxied = await session([paths.proxy, '--log-level', 'warn', '--trace-dir', traceDir, '--', ...clangdArgs]);
    assert.deepEqual(proxied.exit, { code: 0, signal: null }, 'the proxy exits 0 after exit');
    // Same dir, same file, same clangd: nothing should need normalising.
    for (const key of Object.keys(direct)) assert.deepEqual(proxied[key], direct[key], `${key} differs`);
    // The trace holds the session in both directions.
    const trace = readdirSync(traceDir).map((f) => readFileSync(join(traceDir, f), 'utf8')).join('');
    assert.match(trace, /textDocument\/hover/);
    assert.match(trace, /textDocument\/publishDiagnostics/);
  } finally {
    rmSync(traceDir, { recursive: true, force: true });
  }
});
