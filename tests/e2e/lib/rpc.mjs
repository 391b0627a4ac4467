// vscode-jsonrpc (what vscode-lean4's client is built on) over a child's stdio,
// with a tap that records every message the client receives.
import { Writable } from 'node:stream';

let rpc = null;
try {
  rpc = await import('vscode-jsonrpc/node.js');
} catch {
  rpc = null;
}

/** False when usable; otherwise the reason tests are skipped (for `test(..., { skip })`). */
export const skipReason = rpc ? false : 'e2e skipped: tests/e2e/node_modules missing (run `npm ci` in tests/e2e)';
if (!rpc) console.log(skipReason);

export { rpc };

/**
 * The child's stdin for the connection's writer, never failing: a write to a
 * child that has exited (on purpose: a proxy that gave up restarting races
 * the test's next request) is dropped, and the request fails when the
 * connection closes, as every pending one does. vscode-jsonrpc 8.2 would turn
 * the EPIPE into an unhandled rejection (sendRequest rethrows inside an async
 * Promise executor), which fails whichever test is running.
 */
function tolerantStdin(stdin) {
  stdin.on('error', () => {});
  return new Writable({
    write(chunk, encoding, done) {
      if (stdin.destroyed || !stdin.writable) return done();
      stdin.write(chunk, encoding, () => done());
    },
    final(done) {
      stdin.end();
      done();
    },
  });
}

/**
 * Connects to a started child. Returns { conn, received, notifications }:
 * `received` is every message read (requests, responses, notifications) in
 * order; `waitNotification(method, pred, ms)` resolves with the first match.
 */
export function connect(child, { onServerRequest } = {}) {
  const inner = new rpc.StreamMessageReader(child.stdout);
  const received = [];
  const waiters = [];
  const reader = {
    get onError() { return inner.onError; },
    get onClose() { return inner.onClose; },
    get onPartialMessage() { return inner.onPartialMessage; },
    listen(cb) {
      return inner.listen((msg) => {
        received.push(msg);
        for (const w of waiters.splice(0)) (w.match(msg) ? w.resolve(msg) : waiters.push(w));
        cb(msg);
      });
    },
    dispose() { inner.dispose(); },
  };
  const conn = rpc.createMessageConnection(reader, new rpc.StreamMessageWriter(tolerantStdin(child.stdin)));
  // Server → client requests (clangd asks for workDoneProgress tokens, crashy asks for configuration).
  conn.onRequest((method, params) => (onServerRequest ? onServerRequest(method, params) : null));
  conn.onNotification(() => {});
  conn.onError(() => {});
  // When the peer's stdout closes, fail the requests still pending instead of
  // leaving them to their timeouts (vscode-jsonrpc only rejects them on dispose).
  // Later, not at once: the connection handles messages already read in
  // setImmediate batches, and the last replies may still be queued there.
  conn.onClose(() => setTimeout(() => conn.dispose(), 200));
  conn.listen();

  function waitNotification(method, pred = () => true, ms = 10000) {
    const match = (m) => m.method === method && !('id' in m) && pred(m.params);
    const hit = received.find(match);
    if (hit) return Promise.resolve(hit.params);
    let timer;
    return new Promise((resolve, reject) => {
      const w = { match, resolve: (m) => { clearTimeout(timer); resolve(m.params); } };
      waiters.push(w);
      timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        reject(new Error(`timed out after ${ms} ms waiting for ${method}\n--- stderr ---\n${child.stderrText.slice(-3000)}`));
      }, ms);
    });
  }
  return { conn, received, waitNotification };
}
