// The "Show Stats" webview page: the stats table and the chart, as one HTML
// string. No scripts: the page is re-rendered by the extension on refresh,
// and the CSP forbids everything but inline styles (and SVG, which is markup).
import { renderChart, Sample } from './chart';
import { escapeHtml } from './html';
import { Stats, statsRows } from './stats';

export interface ViewModel {
  stats?: Stats;
  error?: string; // why there are no stats (no daemon, CLI missing, …)
  samples: Sample[];
  updated: Date;
}

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:;";

export function renderStatsPage(m: ViewModel): string {
  const body: string[] = ['<h2>lean-lsp-proxy</h2>'];
  if (m.error) body.push(`<p class="error">${escapeHtml(m.error)}</p>`);
  if (m.stats) {
    body.push(renderChart(m.samples));
    body.push('<table>');
    for (const [label, value] of statsRows(m.stats)) {
      // The CLI indents sub-rows with spaces; keep that as a CSS class instead.
      const sub = label.startsWith('  ');
      body.push(
        `<tr${sub ? ' class="sub"' : ''}><td>${escapeHtml(label.trim())}</td><td class="v">${escapeHtml(value)}</td></tr>`,
      );
    }
    body.push('</table>');
  }
  body.push(`<p class="note">Updated ${escapeHtml(m.updated.toLocaleTimeString())}; refreshes with the status bar.</p>`);
  return [
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Lean Proxy Stats</title>',
    '<style>',
    'body{font-family:var(--vscode-font-family);color:var(--vscode-foreground);padding:0 1em}',
    'table{border-collapse:collapse;margin-top:1em}',
    'td{padding:2px 12px 2px 0}',
    'td.v{text-align:right;font-variant-numeric:tabular-nums}',
    'tr.sub td:first-child{padding-left:1.5em;opacity:.85}',
    '.error{color:var(--vscode-errorForeground)}',
    '.note{opacity:.7;font-size:.9em}',
    '</style></head><body>',
    ...body,
    '</body></html>',
  ].join('\n');
}
