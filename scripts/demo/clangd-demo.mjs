// Main-job demo until the Lean simulator demo lands: runs lean-lsp-proxy in
// front of clangd on a small C++ file and prints every message that passed
// through, from the proxy's own transcript (--trace-dir).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const proxy = process.argv[2] ?? 'build/src/lean-lsp-proxy';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'llp-demo-'));
const file = path.join(work, 'demo.cpp');
fs.writeFileSync(file, 'int square(int x) { return x * x; }\nint main() { return square(y); }\n');
fs.writeFileSync(path.join(work, 'compile_flags.txt'), '-std=c++17\n');
const traceDir = path.join(work, 'trace');

const child = spawn(proxy, ['--no-daemon', '--trace-dir', traceDir, '--log-level', 'warn', '--', 'clangd', '--log=error'],
                    { cwd: work, stdio: ['pipe', 'pipe', 'inherit'] });
let buf = Buffer.alloc(0);
const waiters = [];
child.stdout.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  for (;;) {
    const sep = buf.indexOf('\r\n\r\n');
    if (sep < 0) return;
    const len = Number(/Content-Length: (\d+)/i.exec(buf.subarray(0, sep).toString())[1]);
    if (buf.length < sep + 4 + len) return;
    const msg = JSON.parse(buf.subarray(sep + 4, sep + 4 + len).toString());
    buf = buf.subarray(sep + 4 + len);
    for (const w of [...waiters]) if (w.pred(msg)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(msg); }
  }
});
const send = (m) => { const b = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...m })); child.stdin.write(`Content-Length: ${b.length}\r\n\r\n`); child.stdin.write(b); };
const wait = (pred) => new Promise((resolve, reject) => {
  waiters.push({ pred, resolve });
  setTimeout(() => reject(new Error('timed out waiting for the server')), 20000).unref();
});

const uri = 'file://' + file;
send({ id: 1, method: 'initialize', params: { processId: process.pid, rootUri: 'file://' + work, capabilities: {} } });
await wait((m) => m.id === 1);
send({ method: 'initialized', params: {} });
send({ method: 'textDocument/didOpen', params: { textDocument: { uri, languageId: 'cpp', version: 1, text: fs.readFileSync(file, 'utf8') } } });
const diags = await wait((m) => m.method === 'textDocument/publishDiagnostics');
send({ id: 2, method: 'textDocument/hover', params: { textDocument: { uri }, position: { line: 1, character: 21 } } });
const hover = await wait((m) => m.id === 2);
send({ id: 3, method: 'shutdown' });
await wait((m) => m.id === 3);
send({ method: 'exit' });
const code = await new Promise((r) => child.on('exit', r));

const lines = fs.readFileSync(path.join(traceDir, fs.readdirSync(traceDir)[0]), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
console.log(`\nlean-lsp-proxy in front of clangd: ${lines.length} message hops recorded in ${traceDir}\n`);
for (const { t_us, dir, msg } of lines) {
  const what = msg.method ?? (msg.error ? `error ${msg.error.code}` : 'result');
  const id = msg.id !== undefined ? ` #${JSON.stringify(msg.id)}` : '';
  console.log(`${(t_us / 1000).toFixed(1).padStart(8)} ms  ${dir.padEnd(14)} ${what}${id}`);
}
console.log(`\ndiagnostics: ${diags.params.diagnostics.map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${d.message}`).join('; ')}`);
console.log(`hover:       ${hover.result?.contents?.value?.split('\n')[0] ?? '(none)'}`);
console.log(`proxy exit:  ${code}`);
process.exit(code === 0 ? 0 : 1);
