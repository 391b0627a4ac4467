// Stats parsing and formatting against the schema-1 JSON the CLI prints.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { humanBytes, parseStats, statsRows, statusText } from '../src/stats';
import { SAMPLE } from './fixtures';


test('parseStats accepts schema-1 JSON and rejects non-stats', () => {
  const s = parseStats(SAMPLE);
  assert.ok(s);
  assert.equal(s.schema, 1);
  assert.equal(s.cache.hits, 30);
  assert.equal(parseStats('not json'), undefined);
  assert.equal(parseStats('[1,2]'), undefined);
  assert.equal(parseStats('{"cache":{}}'), undefined); // no schema: not the stats object
  // Missing sections are tolerated (a proxy without a cache).
  assert.deepEqual(parseStats('{"schema":1}')?.cache, {});
});

test('statsRows mirrors the CLI table', () => {
  const rows = new Map(statsRows(parseStats(SAMPLE)!));
  assert.equal(rows.get('Cache entries'), '10 (5.0 MiB)');
  assert.equal(rows.get('Cache hit rate'), '75.0 %');
  assert.equal(rows.get('Elaboration time saved'), '12.3 s');
  assert.equal(rows.get('Lookup latency p50 / p99'), '41 / 900 µs');
  assert.equal(rows.get('Uncacheable: no lakefile'), '3');
  assert.equal(rows.get('Not stored: has errors'), '1');
  assert.equal(rows.get('Sessions (active / total)'), '1 / 3');
  // Wrong types read as 0 rather than NaN or "undefined".
  const odd = new Map(statsRows(parseStats('{"schema":1,"cache":{"hits":"x","hit_rate":null}}')!));
  assert.equal(odd.get('Cache hits'), '0');
  assert.equal(odd.get('Cache hit rate'), '0.0 %');
});

test('humanBytes', () => {
  assert.equal(humanBytes(0), '0 B');
  assert.equal(humanBytes(1023), '1023 B');
  assert.equal(humanBytes(1536), '1.5 KiB');
  assert.equal(humanBytes(3 * 1024 ** 3), '3.0 GiB');
});

test('statusText shows the hit rate, or that there were no lookups', () => {
  const s = statusText(parseStats(SAMPLE)!);
  assert.match(s.text, /75%/);
  assert.match(s.tooltip, /30 hits, 10 misses, 12\.3 s/);
  const none = statusText(parseStats('{"schema":1,"cache":{"hits":0,"misses":0,"hit_rate":0}}')!);
  assert.match(none.text, /no lookups/);
  assert.doesNotMatch(none.text, /0%/);
});
