// Waiting: sleep, a timeout around a promise, polling a condition.
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const describe = (what) => (typeof what === 'function' ? what() : what);

/**
 * Rejects with a message naming `what` if `promise` takes longer than `ms`.
 * `what` may be a function, evaluated at the timeout (to show the state then).
 */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${describe(what)}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `pred` (may be async) every 50 ms until it returns a truthy value, which it resolves with; throws after `ms`. */
export async function waitUntil(pred, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${describe(what)}`);
    await sleep(50);
  }
}
