// Reaching vscode-lean4's language clients through its exported API, to send
// `leanProxy.cache.explain` on the client that owns a document. The API is
// not a stable contract, so everything here is duck-typed and checked: when a
// shape is not found the caller says so instead of guessing.
import * as path from 'path';

export interface LeanClientLike {
  sendRequest(method: string, params: unknown): Promise<unknown>;
  getClientFolder?(): { scheme?: string; fsPath?: string } | undefined;
  isRunning?(): boolean;
}

export interface ClientProviderLike {
  getActiveClient?(): LeanClientLike | undefined;
  getClients?(): LeanClientLike[];
}

export type LookupResult =
  | { ok: true; provider: ClientProviderLike }
  | { ok: false; message: string };

function hasFn(o: unknown, name: string): boolean {
  return typeof o === 'object' && o !== null && typeof (o as Record<string, unknown>)[name] === 'function';
}

function isProvider(o: unknown): o is ClientProviderLike {
  return hasFn(o, 'getActiveClient') || hasFn(o, 'getClients');
}

/**
 * Finds the client provider in vscode-lean4's exports: recent versions export
 * `lean4EnabledFeatures`, a promise that settles only once a Lean 4 project is
 * set up (so it is raced against `waitMs`); older ones exported
 * `clientProvider` directly.
 */
export async function findClientProvider(exportsValue: unknown, waitMs: number): Promise<LookupResult> {
  if (typeof exportsValue !== 'object' || exportsValue === null)
    return { ok: false, message: 'The Lean 4 extension (leanprover.lean4) is not installed or not active.' };
  const ex = exportsValue as Record<string, unknown>;
  if (isProvider(ex.clientProvider)) return { ok: true, provider: ex.clientProvider };
  const pending = ex.lean4EnabledFeatures;
  if (pending && typeof (pending as Promise<unknown>).then === 'function') {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>(resolve => (timer = setTimeout(() => resolve('timeout'), waitMs)));
    try {
      const features = await Promise.race([pending as Promise<unknown>, timeout]);
      if (features === 'timeout')
        return { ok: false, message: 'The Lean 4 extension has not started a Lean server yet: open a Lean file first.' };
      const provider = (features as Record<string, unknown> | undefined)?.clientProvider;
      if (isProvider(provider)) return { ok: true, provider };
    } catch (e) {
      return { ok: false, message: `The Lean 4 extension failed to start: ${String(e)}` };
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
  return { ok: false, message: 'This version of the Lean 4 extension does not expose its language clients.' };
}

function inFolder(file: string, folder: string): boolean {
  const rel = path.relative(folder, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * The client whose project folder holds `fsPath` — the top-most one, as
 * vscode-lean4 itself picks — else the active client.
 */
export function pickClient(provider: ClientProviderLike, fsPath: string | undefined): LeanClientLike | undefined {
  if (fsPath && provider.getClients) {
    let best: LeanClientLike | undefined;
    let bestLen = Infinity;
    for (const c of provider.getClients()) {
      const folder = c.getClientFolder?.();
      if (!folder || folder.scheme !== 'file' || !folder.fsPath) continue;
      if (inFolder(fsPath, folder.fsPath) && folder.fsPath.length < bestLen) {
        best = c;
        bestLen = folder.fsPath.length;
      }
    }
    if (best) return best;
  }
  return provider.getActiveClient?.();
}

export const METHOD_NOT_FOUND = -32601;

/** Sends the explain command; resolves to the result or a message saying why not. */
export async function explainOnClient(
  client: LeanClientLike,
  uri: string,
): Promise<{ ok: true; result: unknown } | { ok: false; message: string }> {
  if (client.isRunning && !client.isRunning()) return { ok: false, message: 'The Lean server for this file is not running.' };
  try {
    const result = await client.sendRequest('workspace/executeCommand', {
      command: 'leanProxy.cache.explain',
      arguments: [{ uri }],
    });
    return { ok: true, result };
  } catch (e) {
    const err = e as { code?: number; message?: string } | string;
    if (typeof err === 'object' && err?.code === METHOD_NOT_FOUND)
      return {
        ok: false,
        message:
          'This Lean server is not behind lean-lsp-proxy (it does not know leanProxy.cache.explain). Run "Lean Proxy: Route Lean Servers Through the Proxy" and restart the server.',
      };
    const text = typeof err === 'string' ? err : err?.message ?? String(e);
    return { ok: false, message: `leanProxy.cache.explain failed: ${text}` };
  }
}

/** Plain-text report of an explain result: the verdict first, then the details. */
export function formatExplain(uri: string, result: unknown): string {
  const lines = [`Cache explain for ${uri}`];
  if (typeof result === 'object' && result !== null) {
    const r = result as Record<string, unknown>;
    if (typeof r.verdict === 'string') lines.push(`Verdict: ${r.verdict}`);
    if (Array.isArray(r.differs_from_last_stored) && r.differs_from_last_stored.length > 0)
      lines.push(`Differs from the last stored entry in: ${r.differs_from_last_stored.join(', ')}`);
  }
  lines.push('', JSON.stringify(result, null, 2));
  return lines.join('\n');
}
