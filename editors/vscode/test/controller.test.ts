// The controller against a fake Host: commands, status bar, shim set-up.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, test } from 'node:test';
import { ExecResult } from '../src/cli';
import { Controller, DECLINED_KEY } from '../src/controller';
import { FakeHost } from './fakeHost';
import { SAMPLE } from './fixtures';

const NO_DAEMON: ExecResult = {
  code: 1,
  stdout: '',
  stderr: 'lean-lsp-proxy: no lean-lsp-proxy daemon is running (socket /s)\nThe daemon starts with the first editor session, or with `lean-lsp-proxy daemon`.\n',
};
const UNKNOWN: ExecResult = { code: 2, stdout: '', stderr: "lean-lsp-proxy: unknown command 'x'\n" };
const ok = (stdout: string): ExecResult => ({ code: 0, stdout, stderr: '' });

let hosts: FakeHost[] = [];
function setup(): { host: FakeHost; c: Controller } {
  const host = new FakeHost();
  hosts.push(host);
  return { host, c: new Controller(host) };
}
afterEach(() => {
  hosts.forEach(h => h.cleanup());
  hosts = [];
});

/** A CLI whose `shims install DIR` writes the two shims, as the real one will. */
function shimWriter(args: string[]): ExecResult {
  if (args[0] === 'shims' && args[1] === 'install') {
    for (const n of ['lake', 'lean']) fs.writeFileSync(path.join(args[2], n), '#!/bin/sh\n', { mode: 0o755 });
    return ok('');
  }
  return UNKNOWN;
}

test('settings: executable and refresh interval, with sane fallbacks', () => {
  const { host, c } = setup();
  assert.equal(c.executable(), 'lean-lsp-proxy');
  host.settings.set('path', '  /opt/llp/bin/lean-lsp-proxy ');
  assert.equal(c.executable(), '/opt/llp/bin/lean-lsp-proxy');
  host.settings.set('path', '');
  assert.equal(c.executable(), 'lean-lsp-proxy');
  assert.equal(c.refreshSeconds(), 15);
  host.settings.set('statusBar.refreshSeconds', 0.1);
  assert.equal(c.refreshSeconds(), 2);
  host.settings.set('statusBar.refreshSeconds', 0);
  assert.equal(c.refreshSeconds(), 0);
  host.settings.set('statusBar.refreshSeconds', 'often');
  assert.equal(c.refreshSeconds(), 0);
});

test('refresh runs `stats --json` with the configured path and shows the hit rate', async () => {
  const { host, c } = setup();
  host.settings.set('path', '/opt/llp');
  host.responder = () => ok(SAMPLE);
  await c.refresh();
  assert.deepEqual(host.calls, [{ file: '/opt/llp', args: ['stats', '--json'] }]);
  assert.match(host.status!.text, /75%/);
  assert.equal(host.pages.length, 1);
  assert.equal(host.pages[0].reveal, false); // refresh only updates an open page
});

test('concurrent refreshes share one CLI run', async () => {
  const { host, c } = setup();
  host.responder = () => ok(SAMPLE);
  await Promise.all([c.refresh(), c.refresh(), c.refresh()]);
  assert.equal(host.calls.length, 1);
});

test('status without a daemon, without the CLI, and hidden when refresh is 0', async () => {
  const { host, c } = setup();
  host.responder = () => NO_DAEMON;
  await c.refresh();
  assert.match(host.status!.text, /idle/);
  assert.equal(host.status!.warning, false);
  host.exec = async () => ({ code: null, stdout: '', stderr: '', errno: 'ENOENT' });
  await c.refresh();
  assert.match(host.status!.text, /warning/);
  assert.match(host.status!.tooltip, /leanLspProxy\.path/);
  host.settings.set('statusBar.refreshSeconds', 0);
  await c.refresh();
  assert.equal(host.status, undefined);
});

test('showStats reveals the page with the chart; stale numbers vanish on error', async () => {
  const { host, c } = setup();
  host.responder = () => ok(SAMPLE);
  await c.showStats();
  const last = host.pages[host.pages.length - 1];
  assert.equal(last.reveal, true);
  assert.match(last.html, /<svg/);
  assert.match(last.html, /75\.0 %/);
  host.responder = () => NO_DAEMON;
  await c.showStats();
  const after = host.pages[host.pages.length - 1].html;
  assert.doesNotMatch(after, /75\.0 %/);
  assert.match(after, /No lean-lsp-proxy daemon is running/);
});

test('clear cache reports the CLI output, or its error', async () => {
  const { host, c } = setup();
  host.responder = args => (args[0] === 'cache' ? ok('cleared 7 cache entries\n') : ok(SAMPLE));
  await c.clearCache();
  assert.deepEqual(host.calls[0].args, ['cache', 'clear']);
  assert.deepEqual(host.messages[0], { level: 'info', text: 'cleared 7 cache entries', actions: [] });
  host.responder = () => NO_DAEMON;
  host.messages = [];
  await c.clearCache();
  assert.equal(host.messages[0].level, 'error');
  assert.match(host.messages[0].text, /No lean-lsp-proxy daemon/);
});

test('enable / disable go through the CLI, and say so when it lacks them', async () => {
  const { host, c } = setup();
  host.responder = () => ok('cache disabled for every session\n');
  await c.setCacheEnabled(false);
  assert.deepEqual(host.calls[0].args, ['cache', 'disable']);
  assert.equal(host.messages[0].text, 'cache disabled for every session');
  host.responder = () => UNKNOWN;
  await c.setCacheEnabled(true);
  assert.deepEqual(host.calls[1].args, ['cache', 'enable']);
  assert.equal(host.messages[1].level, 'warn');
  assert.match(host.messages[1].text, /not available yet/);
});

test('optimize environment: needs a Lean editor, runs env optimize for its folder, reports the result', async () => {
  const { host, c } = setup();
  await c.optimizeEnvironment();
  assert.match(host.messages[0].text, /open one of its files/);
  assert.equal(host.calls.length, 0);
  host.doc = { uri: 'file:///p/Demo/A.lean', fsPath: '/p/Demo/A.lean', languageId: 'lean4' };
  host.responder = () => ({ code: 0, stdout: JSON.stringify({ ok: true, durationMs: 2500 }), stderr: '' });
  await c.optimizeEnvironment();
  assert.deepEqual(host.calls[0].args, ['env', 'optimize', '--root', '/p/Demo', '--json']);
  assert.match(host.messages[host.messages.length - 1].text, /optimized in 2\.5 s/);
  host.responder = () => ({
    code: 1,
    stdout: JSON.stringify({ ok: false, error: '`lake build` failed (exit code 1)', lastLines: ['error: A.lean:1:0: boom'] }),
    stderr: '',
  });
  await c.optimizeEnvironment();
  const last = host.messages[host.messages.length - 1];
  assert.equal(last.level, 'error');
  assert.match(last.text, /lake build. failed[\s\S]*boom/);
});

test('explain: needs a Lean editor', async () => {
  const { host, c } = setup();
  await c.explainCacheMiss();
  assert.match(host.messages[0].text, /open one/);
  host.doc = { uri: 'file:///p/a.md', fsPath: '/p/a.md', languageId: 'markdown' };
  await c.explainCacheMiss();
  assert.equal(host.calls.length, 0);
});

test('explain: through `cache explain FILE --json`', async () => {
  const { host, c } = setup();
  host.doc = { uri: 'file:///p/A.lean', fsPath: '/p/A.lean', languageId: 'lean4' };
  host.responder = () => ok(JSON.stringify({ uri: 'file:///p/A.lean', verdict: 'hit: served from the cache' }));
  await c.explainCacheMiss();
  assert.deepEqual(host.calls[0].args, ['cache', 'explain', '/p/A.lean', '--json']);
  assert.equal(host.texts.length, 1);
  assert.match(host.texts[0].text, /Verdict: hit: served from the cache/);
  // A daemon-side error is shown, not papered over by the fallback.
  host.responder = () => ({ code: 1, stdout: '', stderr: 'lean-lsp-proxy: no session has that file open\n' });
  await c.explainCacheMiss();
  assert.match(host.messages[0].text, /no session has that file open/);
});

test('explain: an older CLI falls back to vscode-lean4\'s client', async () => {
  const { host, c } = setup();
  host.doc = { uri: 'file:///p/A.lean', fsPath: '/p/A.lean', languageId: 'lean4' };
  host.responder = () => UNKNOWN;
  const sent: unknown[] = [];
  const leanClient = {
    sendRequest: async (m: string, p: unknown) => {
      sent.push({ m, p });
      return { verdict: 'miss: nothing was stored for this file yet' };
    },
    getClientFolder: () => ({ scheme: 'file', fsPath: '/p' }),
  };
  host.lean4 = { lean4EnabledFeatures: Promise.resolve({ clientProvider: { getClients: () => [leanClient] } }) };
  await c.explainCacheMiss();
  assert.deepEqual(sent, [
    { m: 'workspace/executeCommand', p: { command: 'leanProxy.cache.explain', arguments: [{ uri: 'file:///p/A.lean' }] } },
  ]);
  assert.match(host.texts[0].text, /nothing was stored/);
  // Without vscode-lean4: a clear message.
  host.lean4 = undefined;
  await c.explainCacheMiss();
  assert.match(host.messages[0].text, /leanprover\.lean4/);
});

test('shims on activation: install, merge the setting, offer a restart', async () => {
  const { host, c } = setup();
  host.levels.set('lean4.envPathExtensions', { globalValue: ['/opt/elan/bin'] });
  host.responder = shimWriter;
  host.answers = ['Install Shims', 'Restart Lean Server'];
  await c.offerShims(true);
  const dir = c.shimDir();
  assert.equal(dir, path.join(host.storageDir, 'shims'));
  assert.deepEqual(host.calls[0].args, ['shims', 'install', dir]);
  assert.deepEqual(host.updates, [{ key: 'lean4.envPathExtensions', value: [dir, '/opt/elan/bin'] }]);
  assert.deepEqual(host.commands, ['lean4.restartServer']);
  assert.ok(host.messages[0].actions.includes("Don't Ask Again"));
  // Set up now: the next activation asks nothing.
  host.messages = [];
  await c.offerShims(true);
  assert.equal(host.messages.length, 0);
  assert.equal(c.isSetUp(), true);
});

test('shims: existing entry not duplicated; workspace override warned about', async () => {
  const { host, c } = setup();
  const dir = c.shimDir();
  host.levels.set('lean4.envPathExtensions', { globalValue: [dir + '/', '/x'], workspaceValue: ['/y'] });
  host.responder = shimWriter;
  assert.equal(await c.installShims(), true);
  assert.deepEqual(host.updates, []); // already there: user settings untouched
  assert.ok(host.messages.some(m => m.level === 'warn' && /This workspace sets its own/.test(m.text)));
});

test('shims: declined for good, not now, and from the palette', async () => {
  const { host, c } = setup();
  host.answers = ["Don't Ask Again"];
  await c.offerShims(true);
  assert.equal(host.state.get(DECLINED_KEY), true);
  await c.offerShims(true);
  assert.equal(host.messages.length, 1); // not asked again
  host.answers = ['Not Now'];
  await c.offerShims(false); // the palette command asks regardless
  assert.equal(host.messages.length, 2);
  assert.ok(!host.messages[1].actions.includes("Don't Ask Again"));
  assert.equal(host.calls.length, 0);
});

test('shims: a CLI without `shims install`, one that fails, one that lies, a malformed setting', async () => {
  const { host, c } = setup();
  host.responder = () => UNKNOWN;
  assert.equal(await c.installShims(), false);
  assert.match(host.messages[0].text, /not available yet/);
  host.responder = () => ({ code: 1, stdout: '', stderr: 'lean-lsp-proxy: no real lake on PATH\n' });
  assert.equal(await c.installShims(), false);
  assert.match(host.messages[1].text, /no real lake on PATH/);
  host.responder = () => ok(''); // claims success, writes nothing
  assert.equal(await c.installShims(), false);
  assert.match(host.messages[2].text, /has no 'lake' and 'lean' shims/);
  host.responder = shimWriter;
  host.levels.set('lean4.envPathExtensions', { globalValue: '/opt/elan/bin' });
  assert.equal(await c.installShims(), false);
  assert.match(host.messages[3].text, /not a list/);
  assert.deepEqual(host.updates, []);
});
