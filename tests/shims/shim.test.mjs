// End to end through the lake / lean shims: vscode-lean4's PATH and spawn, a vscode-jsonrpc session to the simulator via the proxy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// The e2e suite's library and its vscode-jsonrpc (what vscode-lean4's client is built on).
import { paths, simBin, track, withTimeout, writeDemoProject } from '../e2e/lib/harness.mjs';
import { rpc, skipReason } from '../e2e/lib/rpc.mjs';

const { proxy } = paths;

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'llp-shims-'));
const shimDir = path.join(root, 'shims');
const install = spawnSync(proxy, ['shims', 'install', shimDir], { encoding: 'utf8', timeout: 10000 });
// Until src/main.cpp dispatches `shims` and argv[0] lake/lean, there is nothing to test end to end.
const unwired = install.status !== 0 && /unknown command/.test(install.stderr);

let skip = false;
if (!rpc) skip = skipReason;
else if (unwired) skip = 'e2e skipped: this lean-lsp-proxy has no `shims` command (src/main.cpp not wired yet)';
else if (!fs.existsSync(path.join(simBin, 'lake'))) skip = `e2e skipped: no simulator in ${simBin}`;
if (skip) console.log(skip);

test.after(() => fs.rmSync(root, { recursive: true, force: true }));

/**
 * The environment vscode-lean4 gives its server: `lean4.envPathExtensions`
 * prepended to PATH (here twice: a shim must never resolve to itself), the
 * toolchain (the simulator) later on PATH. Daemon runtime and cache private.
 */
function editorEnv(extra = {}) {
  return {
    ...process.env,
    PATH: [shimDir, shimDir, simBin, process.env.PATH].join(':'),
    XDG_CACHE_HOME: path.join(root, 'cache'),
    LEAN_LSP_PROXY_RUNTIME_DIR: path.join(root, 'run'),
    ...extra,
  };
}

test('install writes absolute symlinks to the proxy', { skip }, () => {
  assert.equal(install.status, 0, install.stderr);
  for (const tool of ['lake', 'lean']) {
    const target = fs.readlinkSync(path.join(shimDir, tool));
    assert.ok(path.isAbsolute(target));
    assert.equal(fs.realpathSync(target), fs.realpathSync(proxy));
  }
});

test('non-server calls run the real tool untouched', { skip }, () => {
  for (const tool of ['lake', 'lean']) {
    const real = spawnSync(path.join(simBin, tool), ['--version'], { encoding: 'utf8', timeout: 10000 });
    const shimmed = spawnSync(tool, ['--version'], { env: editorEnv(), encoding: 'utf8', timeout: 10000 });
    assert.equal(shimmed.status, 0, shimmed.stderr);
    assert.equal(shimmed.stdout, real.stdout);
    assert.equal(shimmed.stderr, real.stderr);
  }
});

test('with no real tool after the shims, the shim says so instead of looping', { skip }, () => {
  const r = spawnSync(path.join(shimDir, 'lake'), ['--version'], {
    env: { ...process.env, PATH: [shimDir, shimDir].join(':') }, encoding: 'utf8', timeout: 10000,
  });
  assert.equal(r.status, 127);
  assert.match(r.stderr, /no real 'lake' on PATH/);
});

/**
 * A vscode-lean4-shaped session: `lake serve -- <folder>` (or `lean --server
 * <folder>` when `lean` is asked for) by bare name through PATH.
 */
async function session(env, tool = 'lake') {
  const dir = fs.mkdtempSync(path.join(root, 'ws-'));
  writeDemoProject(dir, { main: false });
  const built = spawnSync('lake', ['build'], { cwd: dir, env, encoding: 'utf8', timeout: 20000 });
  assert.equal(built.status, 0, built.stderr);  // a build through the shim reaches the simulator's Lake
  assert.ok(fs.existsSync(path.join(dir, '.lake/build/lib/lean/Demo/A.olean')));

  // vscode-lean4 puts an elan toolchain first for some files; the shim keeps it.
  const args = tool === 'lake' ? ['serve', '--', dir] : ['+leanprover/lean4:v4.28.0', '--server', dir];
  const child = track(spawn(tool, args, { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] }));
  const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
  const publishes = [];
  conn.onNotification('textDocument/publishDiagnostics', (p) => publishes.push(p));
  conn.onNotification(() => {});
  conn.onRequest('client/registerCapability', () => null);
  conn.onRequest(() => null);
  conn.listen();
  try {
    const init = await withTimeout(conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(dir).href,
      workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'demo' }],
      capabilities: { textDocument: { publishDiagnostics: { versionSupport: true } } },
      initializationOptions: { editDelay: 200, hasWidgets: true },
    }), 15000, () => `initialize; stderr: ${child.stderrText}`);
    assert.equal(init.serverInfo.name, 'Lean 4 Server');
    await conn.sendNotification('initialized', {});

    const uri = pathToFileURL(path.join(dir, 'Demo/B.lean')).href;
    await conn.sendNotification('textDocument/didOpen', {
      // Plain `lean --server` has no Lake search path, so no import there.
      textDocument: { uri, languageId: 'lean4', version: 1,
        text: (tool === 'lake' ? 'import Demo.A\ndef b : Nat := a + 1\n' : 'def b : Nat := 1\n') + '#check bb\n' },
      dependencyBuildMode: 'never',
    });
    await withTimeout(conn.sendRequest('textDocument/waitForDiagnostics', { uri, version: 1 }), 20000, 'waitForDiagnostics');
    const last = publishes.filter((p) => p.uri === uri && p.version === 1).at(-1);
    assert.deepEqual(last.diagnostics.map((d) => d.message), ["unknown identifier 'bb'"]);

    // Lean would answer methodNotFound: a reply proves the proxy is in the path.
    const stats = await withTimeout(conn.sendRequest('workspace/executeCommand', { command: 'leanProxy.stats', arguments: [] }),
      10000, 'leanProxy.stats');
    assert.equal(typeof stats.schema, 'number');
    assert.ok(stats.proxy && stats.cache, JSON.stringify(stats));

    assert.equal(await conn.sendRequest('shutdown'), null);
    await conn.sendNotification('exit');
    const { code } = await withTimeout(child.exited, 10000, 'exit');
    assert.equal(code, 0, child.stderrText);
  } finally {
    conn.dispose();
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

test('vscode-lean4-shaped session through the lake shim (in-process proxy)', { skip }, async () => {
  await session(editorEnv({ LEAN_LSP_PROXY_NO_DAEMON: '1' }));
});

test('vscode-lean4-shaped session through the lean shim, with a +toolchain argument', { skip }, async () => {
  await session(editorEnv({ LEAN_LSP_PROXY_NO_DAEMON: '1' }), 'lean');
});

test('vscode-lean4-shaped session through the lake shim (daemon)', { skip }, async () => {
  const env = editorEnv();
  try {
    await session(env);
  } finally {
    // The daemon was started for this test in its private runtime dir: stop it.
    spawnSync(proxy, ['daemon', 'stop'], { env, timeout: 10000 });
  }
});
