#!/usr/bin/env node
// Draws the requests/s of a benchmark results file as a grouped bar chart in SVG: one group per scenario, one
// bar per server, with labelled axes and a legend.
//
//   node bench/chart.mjs [RESULTS_JSON] [OUT_SVG]   (defaults: bench/results/latest.json, docs/benchmarks.svg)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const COLORS = {
  'node-http': '#9e9e9e',
  fastify: '#5c6bc0',
  'oidc-provider': '#ef6c00',
  'oauth2-server': '#8d6e63',
  kiwiform: '#2e7d32',
  'kiwiform-1m': '#81c784',
  'kiwiform-workers': '#1b5e20',
};

const SHORT_TITLES = {
  refresh: 'refresh',
  code: 'code exchange',
  me: 'GET /me',
  authorize: 'authorize page',
  rotation: 'refresh, rotating',
  'growth-refresh': 'refresh, 1 M grants',
  'growth-me': 'GET /me, 1 M grants',
};

const escape = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Returns a round axis maximum and step for values up to `max`. */
function niceScale(max) {
  const rough = max / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * power).find((s) => s >= rough);
  return { step, top: Math.ceil(max / step) * step };
}

const formatCount = (value) => (value >= 1000 ? `${(value / 1000).toFixed(value >= 10_000 ? 0 : 1)}k` : String(Math.round(value)));

/** Builds the SVG text for a results object as written by bench/run.mjs. */
export function renderChart(results) {
  const scenarios = results.scenarios;
  const serverIds = [...new Set(scenarios.flatMap((s) => s.servers.map((server) => server.id)))];
  const labels = Object.fromEntries(scenarios.flatMap((s) => s.servers.map((server) => [server.id, server.label])));
  const max = Math.max(...scenarios.flatMap((s) => s.servers.map((server) => server.summary.rps || 0)), 1);
  const { step, top } = niceScale(max);

  const bar = 16;
  const gap = 28;
  // Groups with few bars are widened so that their two-line labels do not run into each other.
  const minGroupWidth = 80;
  const groupWidths = scenarios.map((s) => Math.max(s.servers.length * bar, minGroupWidth));
  const plot = { left: 70, top: 50, height: 300 };
  plot.width = groupWidths.reduce((a, b) => a + b, 0) + gap * (scenarios.length + 1);
  const legendWidth = 260;
  const width = plot.left + plot.width + legendWidth;
  const height = plot.top + plot.height + 70;
  const y = (value) => plot.top + plot.height - (value / top) * plot.height;

  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  const { rounds, duration, connections } = results.options;
  parts.push(`<text x="${plot.left}" y="22" font-size="15" font-weight="bold">Requests per second, median of ${rounds} rounds of ${duration} s, ${connections} connections</text>`);
  parts.push(`<text x="${plot.left}" y="40" fill="#555">${escape(`${results.machine.cores} cores, ${results.machine.cpuModel}, Node.js ${results.machine.node}; higher is better`)}</text>`);

  for (let value = 0; value <= top + step / 2; value += step) {
    parts.push(`<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${y(value)}" y2="${y(value)}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${plot.left - 6}" y="${y(value) + 4}" text-anchor="end" fill="#333">${formatCount(value)}</text>`);
  }
  parts.push(`<text transform="translate(18 ${plot.top + plot.height / 2}) rotate(-90)" text-anchor="middle" fill="#333">requests/s</text>`);

  let x = plot.left + gap;
  scenarios.forEach((scenario, index) => {
    const barsStart = x + (groupWidths[index] - scenario.servers.length * bar) / 2;
    scenario.servers.forEach((server, position) => {
      const value = server.summary.rps || 0;
      const barX = barsStart + position * bar;
      parts.push(`<rect x="${barX}" y="${y(value)}" width="${bar - 2}" height="${plot.top + plot.height - y(value)}" fill="${COLORS[server.id] ?? '#000'}"><title>${escape(`${server.label}: ${Math.round(value)} req/s`)}</title></rect>`);
      parts.push(`<text transform="translate(${barX + bar / 2 + 3} ${y(value) - 4}) rotate(-90)" font-size="10" fill="#333">${formatCount(value)}</text>`);
    });
    const center = x + groupWidths[index] / 2;
    const [first, second] = (SHORT_TITLES[scenario.id] ?? scenario.id).split(', ');
    parts.push(`<text x="${center}" y="${plot.top + plot.height + 18}" text-anchor="middle" fill="#333">${escape(first)}</text>`);
    if (second) parts.push(`<text x="${center}" y="${plot.top + plot.height + 32}" text-anchor="middle" fill="#333">${escape(second)}</text>`);
    x += groupWidths[index] + gap;
  });
  parts.push(`<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${plot.top + plot.height}" y2="${plot.top + plot.height}" stroke="#333"/>`);
  parts.push(`<line x1="${plot.left}" x2="${plot.left}" y1="${plot.top}" y2="${plot.top + plot.height}" stroke="#333"/>`);
  parts.push(`<text x="${plot.left + plot.width / 2}" y="${plot.top + plot.height + 56}" text-anchor="middle" fill="#333">scenario</text>`);

  const legendX = plot.left + plot.width + 20;
  serverIds.forEach((id, index) => {
    const legendY = plot.top + 10 + index * 22;
    parts.push(`<rect x="${legendX}" y="${legendY - 10}" width="12" height="12" fill="${COLORS[id] ?? '#000'}"/>`);
    parts.push(`<text x="${legendX + 18}" y="${legendY}" fill="#333">${escape(labels[id])}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

export function writeChart(results, file) {
  writeFileSync(file, renderChart(results));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const input = process.argv[2] ?? join(root, 'bench', 'results', 'latest.json');
  const output = process.argv[3] ?? join(root, 'docs', 'benchmarks.svg');
  writeChart(JSON.parse(readFileSync(input, 'utf8')), output);
  process.stdout.write(`chart: ${output}\n`);
}
