// The CLI runner: outcome classification, and the real spawner passing argv
// verbatim (no shell) to a stand-in executable.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { classify, nodeExec, runCli } from '../src/cli';

const NO_DAEMON_STDERR =
  'lean-lsp-proxy: no lean-lsp-proxy daemon is running (socket /run/x/daemon.sock)\nThe daemon starts with the first editor session, or with `lean-lsp-proxy daemon`.\n';

test('classify: success, missing executable, no daemon, unknown command, other failures', () => {
  assert.equal(classify('llp', ['stats'], { code: 0, stdout: 'x', stderr: '' }).kind, 'ok');
  const nf = classify('/opt/llp', ['stats'], { code: null, stdout: '', stderr: '', errno: 'ENOENT' });
  assert.equal(nf.kind, 'not-found');
  assert.match(nf.message, /leanLspProxy\.path/);
  assert.match(nf.message, /\/opt\/llp/);
  assert.equal(classify('llp', ['stats', '--json'], { code: 1, stdout: '', stderr: NO_DAEMON_STDERR }).kind, 'no-daemon');
  assert.equal(
    classify('llp', ['status'], { code: 1, stdout: 'lean-lsp-proxy: no daemon is running\n', stderr: '' }).kind,
    'no-daemon',
  );
  const un = classify('llp', ['shims', 'install', '/d'], {
    code: 2,
    stdout: '',
    stderr: "lean-lsp-proxy: unknown command 'shims install /d' (commands: …)\nTry 'lean-lsp-proxy --help'.\n",
  });
  assert.equal(un.kind, 'unsupported');
  assert.match(un.message, /shims install \/d/);
  // A daemon-side refusal mentioning nothing about a missing daemon is a plain failure, with its text.
  const f = classify('llp', ['cache', 'explain', '/a.lean'], {
    code: 1,
    stdout: '',
    stderr: 'lean-lsp-proxy: no session has /a.lean open\n',
  });
  assert.equal(f.kind, 'failed');
  assert.match(f.message, /no session has \/a\.lean open/);
  assert.doesNotMatch(f.message, /^lean-lsp-proxy: /);
  assert.equal(classify('llp', ['x'], { code: null, stdout: '', stderr: '', timedOut: true }).kind, 'timeout');
  assert.match(classify('llp', ['x'], { code: 3, stdout: '', stderr: '' }).message, /exit code 3/);
});

test('runCli never throws, even when the spawner does', async () => {
  const r = await runCli(async () => {
    throw Object.assign(new Error('boom'), { code: 'ENOENT' });
  }, 'llp', ['stats']);
  assert.equal(r.kind, 'not-found');
});

function stub(body: string): { dir: string; exe: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llp-cli-'));
  const exe = path.join(dir, 'fake-proxy');
  fs.writeFileSync(exe, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return { dir, exe };
}

test('nodeExec passes arguments verbatim, without a shell', async () => {
  const { dir, exe } = stub('for a in "$@"; do printf "%s\\n" "$a"; done');
  try {
    const marker = path.join(dir, 'pwned');
    const args = ['cache', 'explain', `/tmp/a b; touch ${marker}`, '$(touch ' + marker + ')', '`id`', '*'];
    const r = await nodeExec(exe, args, 5000);
    assert.equal(r.code, 0);
    assert.deepEqual(r.stdout.split('\n').slice(0, -1), args);
    assert.equal(fs.existsSync(marker), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('nodeExec reports exit codes, stderr, a missing executable and a timeout', async () => {
  const { dir, exe } = stub('echo "lean-lsp-proxy: no daemon is running" >&2; exit 1');
  const slow = stub('exec sleep 5'); // exec: no orphan left holding the pipe
  try {
    const r = await nodeExec(exe, [], 5000);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no daemon/);
    const missing = await nodeExec(path.join(dir, 'nope'), [], 5000);
    assert.equal(missing.errno, 'ENOENT');
    const t0 = Date.now();
    const to = await nodeExec(slow.exe, [], 200);
    assert.equal(to.timedOut, true);
    assert.ok(Date.now() - t0 < 4000);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(slow.dir, { recursive: true, force: true });
  }
});
