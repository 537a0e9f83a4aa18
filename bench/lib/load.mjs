// Runs one measured load against a server with wrk, or with autocannon when wrk is missing, and returns
// requests/s and latency percentiles.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './processes.mjs';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Returns the load generator to use: wrk with its version line when it is installed, else autocannon. */
export function detectDriver(preferred) {
  if (preferred === 'autocannon') return { name: 'autocannon', version: autocannonVersion() };
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    if (preferred === 'wrk') throw new Error('wrk is not installed; install it with "apt-get install -y wrk" or use --driver autocannon');
    return { name: 'autocannon', version: autocannonVersion() };
  }
  const version = `${probe.stdout}${probe.stderr}`.split('\n')[0].trim();
  return { name: 'wrk', version };
}

function autocannonVersion() {
  const probe = spawnSync(process.execPath, ['-e', "console.log(require('autocannon/package.json').version)"], { encoding: 'utf8', cwd: benchDir });
  return `autocannon ${probe.stdout.trim()}`;
}

function wrkArguments(load, threads) {
  switch (load.kind) {
    case 'static':
      return ['static.lua', [load.method, load.path, load.bodyFile ?? '', ...(load.header ?? [])]];
    case 'codes':
      return ['codes.lua', [load.path, load.codesFile, load.templateFile, String(threads)]];
    case 'chains':
      return ['rotation.lua', [load.path, load.tokensFile, load.templateFile, String(threads)]];
    default:
      throw new Error(`unknown load kind ${load.kind}`);
  }
}

/**
 * Sends `load` to http://127.0.0.1:PORT for `duration` seconds over `connections` connections and returns
 * { requests, seconds, rps, p50Ms, p99Ms, errors, counters }; errors counts non-2xx/3xx responses, socket errors
 * and timeouts together.
 */
export async function runLoad(driver, { port, load, duration, connections, threads }) {
  const url = `http://127.0.0.1:${port}`;
  let stdout;
  if (driver.name === 'wrk') {
    const [script, args] = wrkArguments(load, threads);
    ({ stdout } = await run('wrk', [
      '-t', String(threads), '-c', String(connections), '-d', `${duration}s`, '--timeout', '10s',
      '-s', join(benchDir, 'wrk', script), url, '--', ...args,
    ]));
  } else {
    const job = { url, connections, duration, load };
    ({ stdout } = await run(process.execPath, [join(benchDir, 'lib', 'autocannon-load.mjs'), JSON.stringify(job)], { cwd: benchDir }));
  }
  const line = stdout.split('\n').find((text) => text.startsWith('WRK_JSON '));
  if (!line) throw new Error(`the load generator printed no result:\n${stdout}`);
  const summary = JSON.parse(line.slice('WRK_JSON '.length));
  const seconds = summary.duration_us / 1e6;
  const errors = Object.values(summary.errors).reduce((sum, count) => sum + count, 0);
  return {
    requests: summary.requests,
    seconds,
    rps: summary.requests / seconds,
    p50Ms: summary.latency_us.p50 / 1000,
    p99Ms: summary.latency_us.p99 / 1000,
    errors,
    errorDetail: summary.errors,
    counters: summary.counters,
  };
}
