// Raw LSP over a child's stdio: Content-Length framing and clients that keep every message they read.
import { withTimeout } from './time.mjs';

export function frame(body) {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`, 'ascii'), b]);
}

/**
 * Calls onBody(bytes) for each frame read from `stream`. A header block
 * without a Content-Length goes to onBadHeader(header), which returns true to
 * skip just that block, false to drop everything buffered (or throws).
 */
export function readFrames(stream, onBody, onBadHeader) {
  let buf = Buffer.alloc(0);
  stream.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /Content-Length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('ascii'));
      if (!m) {
        if (onBadHeader(buf.subarray(0, end))) { buf = buf.subarray(end + 4); continue; }
        buf = Buffer.alloc(0);
        return;
      }
      const len = Number(m[1]);
      if (buf.length < end + 4 + len) return;
      const body = buf.subarray(end + 4, end + 4 + len);
      buf = buf.subarray(end + 4 + len);
      onBody(body);
    }
  });
}

const badHeader = (header) => { throw new Error(`bad header from proxy: ${header}`); };

/**
 * An LSP client over a started child (see child.mjs): keeps every message it
 * reads in `messages`, resolves waitFor(pred) with the first match. Options:
 * `name` (prefixes failure messages), `answerRequests` (reply null to
 * server→client requests), `onBadHeader` (see readFrames; default: throw).
 * `ended` resolves (with the time) when the child's stdout ends.
 */
export class LspClient {
  constructor(child, { name = '', answerRequests = false, onBadHeader = badHeader } = {}) {
    this.child = child;
    this.name = name;
    this.answerRequests = answerRequests;
    this.messages = [];
    this.waiters = [];
    this.ended = new Promise((res) => child.stdout.on('end', () => res(Date.now())));
    readFrames(child.stdout, (body) => this.receive(body), onBadHeader);
  }

  /** One frame's body: parsed and kept (a subclass may look at the bytes). */
  receive(body) { this.push(JSON.parse(body.toString('utf8'))); }

  push(msg) {
    if (this.answerRequests && 'method' in msg && 'id' in msg) this.send({ jsonrpc: '2.0', id: msg.id, result: null });
    this.messages.push(msg);
    this.waiters = this.waiters.filter((w) => !(w.pred(msg) && (w.resolve(msg), true)));
  }

  get stderr() { return this.child.stderrText; }
  write(bytes) { if (this.child.stdin.writable) this.child.stdin.write(bytes); }
  send(obj) { this.write(frame(typeof obj === 'string' ? obj : JSON.stringify(obj))); }
  notify(method, params = {}) { this.send({ jsonrpc: '2.0', method, params }); }

  /** What the client saw, for a failure message about `what`. */
  failure(what) {
    return `${this.name ? `${this.name}: ` : ''}${typeof what === 'function' ? what() : what}` +
      `\n--- received (tail) ---\n${JSON.stringify(this.messages.slice(-8)).slice(-2500)}\n--- stderr (tail) ---\n${this.stderr.slice(-3000)}`;
  }

  /**
   * The first message (already received or still to come) matching `pred`.
   * `orFail`, if given, is called when the wait starts and returns a promise
   * that rejects to end it early (e.g. when the peer has gone).
   */
  waitFor(pred, ms, what, orFail) {
    const hit = this.messages.find(pred);
    if (hit) return Promise.resolve(hit);
    const next = new Promise((resolve) => this.waiters.push({ pred, resolve }));
    return withTimeout(orFail ? Promise.race([next, orFail()]) : next, ms, () => this.failure(what));
  }
}

/**
 * A client that writes raw bytes, with the request ids chosen by the test;
 * `bodies` holds the bytes of each message read, for byte-exactness checks.
 */
export class RawClient extends LspClient {
  constructor(child) {
    super(child);
    this.bodies = [];
  }

  receive(body) {
    this.bodies.push(body);
    super.receive(body);
  }

  notify(method, params) { this.send({ jsonrpc: '2.0', method, params }); } // no params unless given

  request(id, method, params, ms = 10000) {
    this.send({ jsonrpc: '2.0', id, method, params });
    return this.waitFor((m) => m.id === id && !('method' in m), ms, `reply to ${method} (id ${id})`);
  }
}
