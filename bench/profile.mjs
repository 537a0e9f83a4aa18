#!/usr/bin/env node
// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time, and self time
// grouped by where the code lives (our dist/ files, each npm package, Node.js internals, garbage collection).
//
//   node bench/profile.mjs FILE.cpuprofile [--top N] [--json]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** Returns a short place name for a script URL: a dist/ file, an npm package, or a Node.js module. */
export function placeOf(url) {
  if (!url) return '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const packageMatch = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (packageMatch) return packageMatch[1];
  const distMatch = url.match(/\/dist\/(.+)$/);
  if (distMatch) return `dist/${distMatch[1]}`;
  return url.replace(/^file:\/\//, '');
}

/** Reads a .cpuprofile and returns self time per function and per place, in milliseconds. */
export function summarizeProfile(file, top = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map();
  profile.samples.forEach((id, index) => {
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });

  const byFunction = new Map();
  const byPlace = new Map();
  let busy = 0;
  let idle = 0;
  for (const [id, micros] of selfMicros) {
    const { callFrame } = nodes.get(id);
    const name = callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += micros;
      continue;
    }
    busy += micros;
    const short = callFrame.url ? placeOf(callFrame.url) : '';
    const key = `${name} ${short}${callFrame.url ? `:${callFrame.lineNumber + 1}` : ''}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    const place = ['(garbage collector)', '(program)'].includes(name) ? name : placeOf(callFrame.url);
    byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
  }

  const ranked = (map) => [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, micros]) => ({ name, selfMs: Math.round(micros / 100) / 10, percent: Math.round((1000 * micros) / busy) / 10 }));
  return {
    file,
    busyMs: Math.round(busy / 1000),
    idleMs: Math.round(idle / 1000),
    functions: ranked(byFunction),
    places: ranked(byPlace),
  };
}

function printSummary(summary) {
  const lines = [`${summary.file}: ${summary.busyMs} ms busy, ${summary.idleMs} ms idle`, '', 'self time by function:'];
  for (const row of summary.functions) lines.push(`  ${row.percent.toFixed(1).padStart(5)} %  ${String(row.selfMs).padStart(8)} ms  ${row.name}`);
  lines.push('', 'self time by place:');
  for (const row of summary.places) lines.push(`  ${row.percent.toFixed(1).padStart(5)} %  ${String(row.selfMs).padStart(8)} ms  ${row.name}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, json: { type: 'boolean' } },
  });
  if (positionals.length === 0) {
    process.stderr.write('usage: node bench/profile.mjs FILE.cpuprofile [--top N] [--json]\n');
    process.exit(2);
  }
  for (const file of positionals) {
    const summary = summarizeProfile(file, Number(values.top));
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else printSummary(summary);
  }
}
