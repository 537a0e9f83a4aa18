// Medians, ratios to the ceiling, target checks and the printed table of a benchmark run.

export function median(values) {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const round = (value, digits) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : null);

/** Reduces the rounds of one server in one scenario to medians (RSS: the maximum; errors: the sum). */
export function summarizeRounds(rounds) {
  const errors = rounds.reduce((sum, r) => sum + r.errors, 0);
  const requests = rounds.reduce((sum, r) => sum + r.requests, 0);
  return {
    rps: round(median(rounds.map((r) => r.rps)), 0),
    p50Ms: round(median(rounds.map((r) => r.p50Ms)), 2),
    p99Ms: round(median(rounds.map((r) => r.p99Ms)), 2),
    cpuUsPerRequest: round(median(rounds.map((r) => r.cpuUsPerRequest)), 1),
    maxRssMiB: round(Math.max(...rounds.map((r) => r.maxRssMiB)), 1),
    rssAfterRoundsMiB: rounds.map((r) => round(r.rssAfterMiB, 1)),
    // Cores' worth of CPU that other processes used during the noisiest counted run, and runs repeated for it.
    maxOtherCpuShare: round(Math.max(...rounds.map((r) => r.otherCpuShare ?? 0)), 2),
    repeatedRuns: rounds.reduce((sum, r) => sum + (r.attempts ?? 1) - 1, 0),
    requests,
    errors,
  };
}

/** Adds ratios to the node:http ceiling of the same scenario. */
export function addRatios(servers, ceilingId = 'node-http') {
  const ceiling = servers.find((server) => server.id === ceilingId)?.summary;
  for (const server of servers) {
    const s = server.summary;
    server.ratios = ceiling ? {
      rps: round(s.rps / ceiling.rps, 3),
      p50: round(s.p50Ms / ceiling.p50Ms, 2),
      p99: round(s.p99Ms / ceiling.p99Ms, 2),
      cpuPerRequest: round(s.cpuUsPerRequest / ceiling.cpuUsPerRequest, 2),
      rss: round(s.maxRssMiB / ceiling.maxRssMiB, 2),
    } : null;
  }
}

function find(results, scenarioId, serverId) {
  return results.scenarios.find((s) => s.id === scenarioId)?.servers.find((s) => s.id === serverId);
}

/**
 * Checks the performance targets against the results. A target whose scenario or server was not run is
 * left out. `shortfall` is how much a missed target is missed by, relative to the target value.
 */
export function checkTargets(results) {
  const targets = [];
  const add = (name, actual, goal, comparison) => {
    if (!Number.isFinite(actual)) return;
    const met = comparison === '>=' ? actual >= goal : actual <= goal;
    let shortfall = 0;
    if (!met) shortfall = comparison === '>=' ? (goal - actual) / goal : (actual - goal) / goal;
    targets.push({ name, actual: round(actual, 3), goal, comparison, met, shortfall: round(shortfall, 3) });
  };
  // Each target is checked for one process and for --workers 2, which uses both cores of the machine
  // together with the load generator.
  for (const [server, suffix] of [['kiwiform', ''], ['kiwiform-workers', ' (--workers 2)']]) {
    const ratio = (scenario) => find(results, scenario, server)?.ratios?.rps;
    add(`refresh: requests/s ÷ ceiling${suffix}`, ratio('refresh'), 0.4, '>=');
    const refresh = find(results, 'refresh', server)?.summary;
    const refreshPeer = find(results, 'refresh', 'oidc-provider')?.summary;
    if (refresh && refreshPeer) add(`refresh: requests/s ÷ oidc-provider${suffix}`, refresh.rps / refreshPeer.rps, 4, '>=');
    add(`code exchange: requests/s ÷ ceiling${suffix}`, ratio('code'), 0.3, '>=');
    add(`/me: requests/s ÷ ceiling${suffix}`, ratio('me'), 0.7, '>=');
    for (const scenario of ['refresh', 'code', 'me', 'rotation']) {
      const ours = find(results, scenario, server)?.summary;
      const peer = find(results, scenario, 'oidc-provider')?.summary;
      if (ours && peer) add(`${scenario}: p99 ÷ oidc-provider p99${suffix}`, ours.p99Ms / peer.p99Ms, 1 / 3, '<=');
    }
  }
  for (const scenario of ['growth-refresh', 'growth-me']) {
    const empty = find(results, scenario, 'kiwiform')?.summary;
    const full = find(results, scenario, 'kiwiform-1m')?.summary;
    if (empty && full) add(`${scenario}: 1 M tokens ÷ empty database (requests/s)`, full.rps / empty.rps, 0.9, '>=');
  }
  // The memory target is for one server process; the workers row sums the primary and both workers.
  const ours = results.scenarios.flatMap((s) => s.servers.filter((server) => ['kiwiform', 'kiwiform-1m'].includes(server.id)));
  if (ours.length > 0) {
    add('max RSS of our server, MiB', Math.max(...ours.map((server) => server.summary.maxRssMiB)), 150, '<=');
    // Growth: RSS after the last round against RSS after the first, per scenario; the largest increase counts.
    const growth = Math.max(...ours.map((server) => {
      const after = server.summary.rssAfterRoundsMiB;
      return after.length > 1 ? (after[after.length - 1] - after[0]) / after[0] : 0;
    }));
    add('RSS growth from first to last round', growth, 0.1, '<=');
  }
  return targets;
}

const pad = (text, width) => String(text).padEnd(width);
const padLeft = (text, width) => String(text).padStart(width);
const show = (value, digits = 0) => (value === null || value === undefined ? '-' : Number(value).toFixed(digits));

/** Formats the results as plain-text tables, one per scenario, then the target checks. */
export function formatTables(results) {
  const lines = [];
  for (const scenario of results.scenarios) {
    lines.push('', `${scenario.title} (${scenario.id})`);
    lines.push(`  ${pad('server', 34)}${padLeft('req/s', 9)}${padLeft('×ceil', 7)}${padLeft('p50 ms', 8)}${padLeft('p99 ms', 8)}`
      + `${padLeft('CPU µs/req', 11)}${padLeft('×ceil', 7)}${padLeft('RSS MiB', 9)}${padLeft('errors', 8)}`);
    for (const server of scenario.servers) {
      const s = server.summary;
      lines.push(`  ${pad(server.label, 34)}${padLeft(show(s.rps), 9)}${padLeft(show(server.ratios?.rps, 2), 7)}`
        + `${padLeft(show(s.p50Ms, 2), 8)}${padLeft(show(s.p99Ms, 2), 8)}${padLeft(show(s.cpuUsPerRequest, 1), 11)}`
        + `${padLeft(show(server.ratios?.cpuPerRequest, 2), 7)}${padLeft(show(s.maxRssMiB, 1), 9)}${padLeft(s.errors, 8)}`);
    }
  }
  if (results.purge) {
    lines.push('', 'purge on the 1 M token database');
    for (const run of results.purge.runs) lines.push(`  ${pad(run.case, 34)}${padLeft(show(run.seconds, 2), 9)} s  ${JSON.stringify(run.deleted)}`);
  }
  if (results.targets?.length) {
    lines.push('', 'targets');
    for (const target of results.targets) {
      const verdict = target.met ? 'met' : `missed by ${(100 * target.shortfall).toFixed(0)} %`;
      lines.push(`  ${pad(target.name, 52)} ${padLeft(show(target.actual, 3), 9)} ${target.comparison} ${show(target.goal, 3)}  ${verdict}`);
    }
  }
  return lines.join('\n');
}
