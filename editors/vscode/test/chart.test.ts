// The SVG chart and the stats page built around it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addSample, renderChart, Sample } from '../src/chart';
import { parseStats } from '../src/stats';
import { renderStatsPage } from '../src/statsView';
import { SAMPLE } from './fixtures';

const s = (t: number, hitRate: number, savedMs: number): Sample => ({ t, hitRate, savedMs });

test('addSample keeps the newest samples and restarts on a counter reset', () => {
  let h: Sample[] = [];
  for (let i = 0; i < 10; i++) h = addSample(h, s(i, 0.5, i * 100), 4);
  assert.deepEqual(h.map(x => x.t), [6, 7, 8, 9]);
  h = addSample(h, s(10, 0, 0), 4); // daemon restarted: saved time went back
  assert.deepEqual(h.map(x => x.t), [10]);
});

test('renderChart: a note when empty, a dot for one sample, lines for many', () => {
  assert.doesNotMatch(renderChart([]), /<svg/);
  const one = renderChart([s(0, 0.5, 1000)]);
  assert.match(one, /<svg[^>]*viewBox/);
  assert.equal((one.match(/<circle/g) ?? []).length, 2);
  const many = renderChart([s(0, 0, 0), s(1000, 0.5, 2000), s(2000, 1, 4000)]);
  assert.equal((many.match(/<polyline/g) ?? []).length, 2);
  assert.match(many, /now 100 %/);
  assert.match(many, /now 4\.0 s/);
  // Coordinates stay inside the viewBox even for out-of-range values.
  const wild = renderChart([s(0, -1, 0), s(1, 7, 10)]);
  for (const m of wild.matchAll(/points="([^"]+)"/g))
    for (const p of m[1].split(' ')) {
      const [x, y] = p.split(',').map(Number);
      assert.ok(x >= 0 && x <= 360 && y >= 0 && y <= 140, p);
    }
});

test('renderStatsPage: CSP without scripts, table, escaping', () => {
  const stats = parseStats(SAMPLE)!;
  stats.cache.uncacheable = { '<script>alert(1)</script>': 1 };
  const html = renderStatsPage({ stats, samples: [s(0, 0.75, 12345)], updated: new Date(0) });
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  assert.doesNotMatch(html, /<script/);
  assert.match(html, /&lt;script&gt;/);
  assert.match(html, /<td>Cache hit rate<\/td><td class="v">75\.0 %<\/td>/);
  assert.match(html, /<tr class="sub"><td>verified by the server/);
  const err = renderStatsPage({ error: 'No daemon <here>', samples: [], updated: new Date(0) });
  assert.match(err, /class="error">No daemon &lt;here&gt;/);
  assert.doesNotMatch(err, /<table>/);
});
