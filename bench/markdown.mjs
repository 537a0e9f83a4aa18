#!/usr/bin/env node
// Prints the tables of a benchmark results file as Markdown, for docs/benchmarks.md.
//
//   node bench/markdown.mjs [RESULTS_JSON]   (default: bench/results/latest.json)
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const show = (value, digits = 0) => (value === null || value === undefined || Number.isNaN(value) ? '–' : Number(value).toFixed(digits));

/** Formats every scenario of a results object as a Markdown table, followed by purge timings and targets. */
export function renderMarkdown(results) {
  const lines = [];
  for (const scenario of results.scenarios) {
    lines.push(`**${scenario.title}**`, '');
    lines.push('| server | req/s | × ceiling | p50 ms | p99 ms | CPU µs/req | × ceiling | max RSS MiB | errors |');
    lines.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|');
    for (const server of scenario.servers) {
      const s = server.summary;
      lines.push(`| ${server.label} | ${show(s.rps)} | ${show(server.ratios?.rps, 2)} | ${show(s.p50Ms, 2)} | ${show(s.p99Ms, 2)} | `
        + `${show(s.cpuUsPerRequest, 1)} | ${show(server.ratios?.cpuPerRequest, 1)} | ${show(s.maxRssMiB, 0)} | ${s.errors} |`);
    }
    lines.push('');
  }
  if (results.purge) {
    lines.push(`**Purge of the 1 M grant database** (${results.purge.command})`, '');
    lines.push('| case | seconds | rows deleted |', '|---|--:|---|');
    for (const run of results.purge.runs) {
      const deleted = typeof run.deleted === 'object'
        ? Object.entries(run.deleted).filter(([, n]) => n > 0).map(([kind, n]) => `${kind} ${n}`).join(', ') || 'none'
        : run.deleted;
      lines.push(`| ${run.case} | ${show(run.seconds, 2)} | ${deleted} |`);
    }
    lines.push('');
  }
  if (results.targets) {
    lines.push('| target | measured | goal | result |', '|---|--:|--:|---|');
    for (const target of results.targets) {
      const verdict = target.met ? 'met' : `missed by ${show(100 * target.shortfall)} %`;
      lines.push(`| ${target.name} | ${show(target.actual, 2)} | ${target.comparison} ${show(target.goal, 2)} | ${verdict} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const input = process.argv[2] ?? join(root, 'bench', 'results', 'latest.json');
  process.stdout.write(renderMarkdown(JSON.parse(readFileSync(input, 'utf8'))));
}
