// lean4.envPathExtensions merging: never duplicates ours, never drops theirs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addPathExtension, hasPathExtension, removePathExtension } from '../src/pathExtensions';

const DIR = '/home/u/.config/Code/User/globalStorage/lean-lsp-proxy.lean-lsp-proxy/shims';

test('adds ours first, keeping every user entry in order', () => {
  assert.deepEqual(addPathExtension(undefined, DIR), { value: [DIR], changed: true });
  assert.deepEqual(addPathExtension(null, DIR), { value: [DIR], changed: true });
  const user = ['/opt/lean/bin', '/opt/lean/bin', 42, '/x'];
  const r = addPathExtension(user, DIR);
  assert.deepEqual(r.value, [DIR, '/opt/lean/bin', '/opt/lean/bin', 42, '/x']);
  assert.equal(r.changed, true);
  assert.deepEqual(user, ['/opt/lean/bin', '/opt/lean/bin', 42, '/x']); // input not mutated
});

test('does not add ours twice, whatever its spelling or position', () => {
  for (const spelled of [DIR, DIR + '/', DIR + '//', DIR.replace('/shims', '/./shims')]) {
    const r = addPathExtension(['/a', spelled], DIR);
    assert.equal(r.changed, false, spelled);
    assert.deepEqual(r.value, ['/a', spelled]);
  }
  const twice = addPathExtension(addPathExtension([], DIR).value, DIR);
  assert.deepEqual(twice.value, [DIR]);
});

test('leaves a malformed value alone', () => {
  const r = addPathExtension('/opt/lean/bin', DIR);
  assert.equal(r.malformed, true);
  assert.equal(r.changed, false);
});

test('remove takes out only ours', () => {
  assert.deepEqual(removePathExtension(['/a', DIR + '/', '/b', DIR], DIR), { value: ['/a', '/b'], changed: true });
  assert.deepEqual(removePathExtension(['/a'], DIR), { value: ['/a'], changed: false });
  assert.equal(hasPathExtension(['/a', DIR], DIR), true);
  assert.equal(hasPathExtension(['/a', DIR + 'x'], DIR), false);
  assert.equal(hasPathExtension(undefined, DIR), false);
});
