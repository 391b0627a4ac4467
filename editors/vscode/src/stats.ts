// The proxy's stats JSON (schema 1, see the project README): tolerant
// parsing, the table rows shown in the webview (same rows and wording as
// `lean-lsp-proxy stats`), and the status-bar text.

export interface Stats {
  schema: number;
  cache: Record<string, unknown>;
  proxy: Record<string, unknown>;
}

/** Parses `stats --json` output; undefined when it is not a stats object. */
export function parseStats(text: string): Stats | undefined {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(j)) return undefined;
  // A newer schema may add fields; the ones read here are kept compatible by
  // the proxy, so only reject something that is not stats at all.
  if (typeof j.schema !== 'number') return undefined;
  return {
    schema: j.schema,
    cache: isObject(j.cache) ? j.cache : {},
    proxy: isObject(j.proxy) ? j.proxy : {},
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A numeric field, 0 when missing or not a finite number. */
export function num(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

export function humanBytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (b >= 1024 && u < units.length - 1) {
    b /= 1024;
    u++;
  }
  return u === 0 ? `${b.toFixed(0)} ${units[u]}` : `${b.toFixed(1)} ${units[u]}`;
}

export function percent(rate: number): string {
  return `${(100 * rate).toFixed(1)} %`;
}

export function seconds(ms: number): string {
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`;
}

/** Label / value rows for the stats table. */
export function statsRows(s: Stats): Array<[string, string]> {
  const c = s.cache;
  const p = s.proxy;
  const int = (o: Record<string, unknown>, k: string) => String(Math.round(num(o, k)));
  const rows: Array<[string, string]> = [
    ['Cache entries', `${int(c, 'entries')} (${humanBytes(num(c, 'bytes'))})`],
    ['Cache hits', int(c, 'hits')],
    ['  verified by the server', int(c, 'verified_hits')],
    ['  MISMATCHES (key missed a dependency)', int(c, 'mismatches')],
    ['Cache misses', int(c, 'misses')],
    ['Cache hit rate', percent(num(c, 'hit_rate'))],
    ['Results stored', int(c, 'stores')],
    ['Goal / hover answers from cache', int(c, 'answer_hits')],
    ['Elaboration time saved', seconds(num(c, 'elaboration_ms_saved'))],
    ['Lookup latency p50 / p99', `${num(c, 'lookup_p50_us').toFixed(0)} / ${num(c, 'lookup_p99_us').toFixed(0)} µs`],
    ['Evictions / expirations', `${int(c, 'evictions')} / ${int(c, 'expirations')}`],
  ];
  for (const [field, label] of [
    ['uncacheable', 'Uncacheable: '],
    ['skipped', 'Not stored: '],
  ] as const) {
    const m = c[field];
    if (!isObject(m)) continue;
    for (const [reason, count] of Object.entries(m))
      if (typeof count === 'number') rows.push([label + reason, String(count)]);
  }
  rows.push(
    ['Sessions (active / total)', `${int(p, 'sessions')} / ${int(p, 'sessions_total')}`],
    ['Messages client -> server', int(p, 'messages_from_client')],
    ['Messages server -> client', int(p, 'messages_from_server')],
    ['Server restarts', int(p, 'server_restarts')],
    ['Daemon uptime', `${int(p, 'uptime_s')} s`],
  );
  return rows;
}

/** Status-bar text and tooltip. No lookups yet is shown as such, not as 0 %. */
export function statusText(s: Stats): { text: string; tooltip: string } {
  const hits = num(s.cache, 'hits');
  const misses = num(s.cache, 'misses');
  const saved = seconds(num(s.cache, 'elaboration_ms_saved'));
  if (hits + misses === 0)
    return { text: '$(database) Lean cache: no lookups', tooltip: 'lean-lsp-proxy: no cache lookups yet. Click for stats.' };
  return {
    text: `$(database) Lean cache ${Math.round(100 * num(s.cache, 'hit_rate'))}%`,
    tooltip: `lean-lsp-proxy: ${hits} hits, ${misses} misses, ${saved} of elaboration saved. Click for stats.`,
  };
}
