// Shared test data: a schema-1 stats object as `lean-lsp-proxy stats --json` prints it.
export const SAMPLE = JSON.stringify({
  schema: 1,
  cache: {
    hits: 30, verified_hits: 12, mismatches: 0, misses: 10, hit_rate: 0.75, stores: 10, answer_hits: 4,
    elaboration_ms_saved: 12345.6, lookup_p50_us: 41.2, lookup_p99_us: 900, entries: 10, bytes: 5 * 1024 * 1024,
    evictions: 1, expirations: 2, uncacheable: { 'no lakefile': 3 }, skipped: { 'has errors': 1 },
  },
  proxy: { sessions: 1, sessions_total: 3, messages_from_client: 100, messages_from_server: 200, server_restarts: 0, uptime_s: 60 },
});
