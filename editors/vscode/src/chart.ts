// A small inline-SVG chart of the cache hit rate and the elaboration time
// saved, over the samples taken while VS Code runs. Inline SVG needs no
// script and no external resource, so the webview can forbid both.
import { escapeHtml } from './html';
import { seconds } from './stats';

export interface Sample {
  t: number; // ms since the epoch
  hitRate: number; // 0..1
  savedMs: number; // cumulative, as the daemon reports it
}

/** Keeps the newest `max` samples; a daemon restart (counters going back) starts afresh. */
export function addSample(history: Sample[], s: Sample, max = 120): Sample[] {
  const last = history[history.length - 1];
  const restarted = last !== undefined && s.savedMs < last.savedMs;
  const next = restarted ? [s] : [...history, s];
  return next.length > max ? next.slice(next.length - max) : next;
}

const W = 360; // viewBox width
const PANEL_H = 70; // one panel's height
const PAD_L = 48; // room for the axis labels
const PAD_R = 8;

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** Points of a series in one panel; x by time, so gaps in sampling show as gaps. */
function points(samples: Sample[], value: (s: Sample) => number, max: number, top: number): string {
  const t0 = samples[0].t;
  const span = samples[samples.length - 1].t - t0;
  const h = PANEL_H - 20;
  return samples
    .map(s => {
      const x = span > 0 ? PAD_L + ((s.t - t0) / span) * (W - PAD_L - PAD_R) : (PAD_L + W - PAD_R) / 2;
      const y = top + 10 + h - (max > 0 ? Math.min(1, Math.max(0, value(s) / max)) : 0) * h;
      return `${fmt(x)},${fmt(y)}`;
    })
    .join(' ');
}

function panel(samples: Sample[], title: string, value: (s: Sample) => number, max: number, maxLabel: string, top: number, color: string): string {
  const h = PANEL_H - 20;
  const pts = points(samples, value, max, top);
  // A single sample is drawn as a dot: a polyline of one point is invisible.
  const mark =
    samples.length === 1
      ? `<circle cx="${pts.split(',')[0]}" cy="${pts.split(',')[1]}" r="3" fill="${color}"/>`
      : `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`;
  return [
    `<text x="${PAD_L}" y="${top + 8}" font-size="10" fill="currentColor">${escapeHtml(title)}</text>`,
    `<line x1="${PAD_L}" y1="${top + 10 + h}" x2="${W - PAD_R}" y2="${top + 10 + h}" stroke="currentColor" stroke-opacity="0.3"/>`,
    `<line x1="${PAD_L}" y1="${top + 10}" x2="${W - PAD_R}" y2="${top + 10}" stroke="currentColor" stroke-opacity="0.15"/>`,
    `<text x="${PAD_L - 4}" y="${top + 14}" font-size="9" text-anchor="end" fill="currentColor">${escapeHtml(maxLabel)}</text>`,
    `<text x="${PAD_L - 4}" y="${top + 10 + h}" font-size="9" text-anchor="end" fill="currentColor">0</text>`,
    mark,
  ].join('');
}

/** The chart as an `<svg>` element string, or a short note when there is nothing to draw. */
export function renderChart(samples: Sample[]): string {
  if (samples.length === 0) return '<p class="note">No samples yet: the chart fills in as the stats are refreshed.</p>';
  const last = samples[samples.length - 1];
  const maxSaved = Math.max(...samples.map(s => s.savedMs));
  const hitPanel = panel(samples, `Hit rate (now ${Math.round(100 * last.hitRate)} %)`, s => s.hitRate, 1, '100 %', 0, '#3a9d5d');
  const savedPanel = panel(
    samples,
    `Elaboration time saved (now ${seconds(last.savedMs)})`,
    s => s.savedMs,
    maxSaved,
    maxSaved > 0 ? seconds(maxSaved) : '0 s',
    PANEL_H,
    '#3b7dd8',
  );
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${2 * PANEL_H}" width="${W}" height="${2 * PANEL_H}" role="img" aria-label="Cache hit rate and elaboration time saved over time">` +
    hitPanel +
    savedPanel +
    '</svg>'
  );
}
