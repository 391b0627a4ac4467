#!/usr/bin/env node
// Checks a built .vsix (a zip): the manifest's `main` and the docs are in it,
// sources and tests are not. Reads the zip's central directory with plain
// Node so the check needs no unzip tool.
'use strict';
const fs = require('fs');
const zlib = require('zlib');

function entries(buf) {
  // End-of-central-directory record: the last PK\x05\x06 in the file.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--)
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) throw new Error('not a zip file');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = new Map();
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('bad central directory');
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28), extraLen = buf.readUInt16LE(p + 30), commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    out.set(name, () => {
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      const data = buf.subarray(start, start + size);
      return method === 8 ? zlib.inflateRawSync(data) : data;
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

const file = process.argv[2];
if (!file) { console.error('usage: check-vsix.js FILE.vsix'); process.exit(2); }
const zip = entries(fs.readFileSync(file));
const problems = [];
const manifest = zip.get('extension/package.json');
if (!manifest) problems.push('extension/package.json missing');
else {
  const pkg = JSON.parse(manifest().toString('utf8'));
  const main = 'extension/' + pkg.main.replace(/^\.\//, '');
  if (!zip.has(main)) problems.push(`main ${main} missing`);
  if (!pkg.repository) problems.push('no repository field');
}
for (const f of ['extension/LICENSE.txt', 'extension/readme.md'])
  if (!zip.has(f)) problems.push(`${f} missing`);
for (const name of zip.keys())
  if (/^extension\/(src|test|out\/test|node_modules|scripts)\//.test(name)) problems.push(`${name} should not be packaged`);
if (problems.length) {
  console.error(`${file}: ${problems.join('; ')}`);
  process.exit(1);
}
console.log(`${file}: ${zip.size} entries, manifest, main, LICENSE and README present`);
