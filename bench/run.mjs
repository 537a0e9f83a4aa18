#!/usr/bin/env node
// `npm run bench`: measures our server against a bare node:http ceiling, Fastify with fixed responses,
// oidc-provider 9 and @node-oauth/oauth2-server 5, in interleaved rounds (A B C A B C ...), and writes
// bench/results/latest.json, a table on stdout and the chart docs/benchmarks.svg. See docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { detectDriver, runLoad } from './lib/load.mjs';
import { cpuSeconds, machineAndDriverCpu, rssMiB, run, sampleRss } from './lib/processes.mjs';
import { addRatios, checkTargets, formatTables, summarizeRounds } from './lib/report.mjs';
import { FixedServer, KiwiformServer, PeerServer } from './lib/servers.mjs';
import { summarizeProfile } from './profile.mjs';
import { writeChart } from './chart.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `usage: npm run bench -- [options]
  --duration S       seconds per measured run (default 6)
  --rounds N         interleaved rounds per scenario (default 3)
  --warmup S         seconds of unmeasured load per server before the first round (default 10)
  --connections N    concurrent connections (default 32)
  --threads N        load generator threads (default 1, which leaves the second core to the server)
  --scenario LIST    comma-separated scenarios (default all): ${'refresh,code,me,authorize,rotation,growth-refresh,growth-me'}
  --servers LIST     comma-separated servers (default all): node-http,fastify,oidc-provider,oauth2-server,kiwiform,
                     kiwiform-workers (serve --workers 2),kiwiform-1m
  --growth-tokens N  grants seeded for the growth scenarios, each with a user and a refresh token (default 1000000)
  --log-level LEVEL  KIWIFORM_LOG_LEVEL of our server (default info, the shipped default)
  --driver NAME      wrk or autocannon (default wrk when installed)
  --quick            1-second smoke run: 1 round, 1 s warm-up, 20000 growth tokens, results in bench/results/quick.json
  --profile          run only our single-process server with node --cpu-prof on the chosen scenarios and summarize
                     the profiles
  --wait-quiet       before measuring, wait (up to 10 minutes) until other processes use less than 15 % CPU
                     (independently of this, a run during which other processes used more than 15 % of a core
                     is repeated up to twice, after waiting up to 60 s for the machine to calm down)
  --out FILE         results file (default bench/results/latest.json)
  --no-chart         do not rewrite docs/benchmarks.svg
`;

const SERVER_LABELS = {
  'node-http': 'node:http, fixed body (ceiling)',
  fastify: 'Fastify 5, fixed body',
  'oidc-provider': 'oidc-provider 9',
  'oauth2-server': '@node-oauth/oauth2-server 5',
  kiwiform: 'Kiwiform (SQLite file)',
  'kiwiform-1m': 'Kiwiform, 1 M grants stored',
  'kiwiform-workers': 'Kiwiform, --workers 2',
};

const ALL_FIVE = ['node-http', 'fastify', 'oidc-provider', 'oauth2-server', 'kiwiform', 'kiwiform-workers'];
const SCENARIOS = [
  { id: 'refresh', title: 'Refresh grant, refresh token kept', group: 'refresh', input: 'refresh', servers: ALL_FIVE },
  { id: 'code', title: 'Authorization-code exchange, fresh code per request', group: 'code', input: 'codes', servers: ALL_FIVE },
  { id: 'me', title: 'GET /api/zapier/me with a bearer token', group: 'me', input: 'me', servers: ALL_FIVE },
  { id: 'authorize', title: 'Signed-in authorize page (consent page, 200)', group: 'authorize', input: 'authorize', servers: ['node-http', 'fastify', 'kiwiform', 'kiwiform-workers'] },
  { id: 'rotation', title: 'Refresh grant with rotation, one chain per connection', group: 'rotation', input: 'chains', rotation: true, servers: ALL_FIVE },
  { id: 'growth-refresh', title: 'Refresh grant, empty database vs 1 M grants', group: 'growth', input: 'refresh', servers: ['node-http', 'kiwiform', 'kiwiform-1m'] },
  { id: 'growth-me', title: 'GET /api/zapier/me, empty database vs 1 M grants', group: 'growth', input: 'me', servers: ['node-http', 'kiwiform', 'kiwiform-1m'] },
];

/** Requests/s assumed for sizing the first batch of codes of a server; later batches use the measured rate. */
const FIRST_CODE_RATE = 15_000;
const MAX_CODES = 400_000;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' }, rounds: { type: 'string' }, warmup: { type: 'string' },
      connections: { type: 'string', default: '32' }, threads: { type: 'string', default: '1' },
      scenario: { type: 'string' }, servers: { type: 'string' }, 'growth-tokens': { type: 'string' },
      'log-level': { type: 'string', default: 'info' }, driver: { type: 'string' }, quick: { type: 'boolean' },
      profile: { type: 'boolean' }, 'wait-quiet': { type: 'boolean' }, out: { type: 'string' },
      'no-chart': { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const quick = values.quick === true;
  const number = (name, fallback) => {
    const value = Number(values[name] ?? fallback);
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a whole number, got ${values[name]}`);
    return value;
  };
  const list = (name, all) => {
    if (values[name] === undefined) return all;
    const chosen = values[name].split(',').map((item) => item.trim()).filter(Boolean);
    const unknown = chosen.filter((item) => !all.includes(item));
    if (unknown.length) throw new Error(`--${name}: unknown ${unknown.join(', ')}; choose from ${all.join(', ')}`);
    return chosen;
  };
  const options = {
    duration: number('duration', quick ? 1 : 6),
    rounds: number('rounds', quick ? 1 : 3),
    warmup: number('warmup', quick ? 1 : 10),
    connections: number('connections'),
    threads: number('threads'),
    scenarios: list('scenario', SCENARIOS.map((s) => s.id)),
    servers: list('servers', Object.keys(SERVER_LABELS)),
    growthTokens: number('growth-tokens', quick ? 20_000 : 1_000_000),
    logLevel: values['log-level'],
    driver: values.driver,
    quick,
    profile: values.profile === true,
    waitQuiet: values['wait-quiet'] === true,
    out: values.out ?? join(root, 'bench', 'results', defaultResultsFile(quick, values.profile === true)),
    chart: values['no-chart'] !== true && !quick && !values.profile,
  };
  if (options.duration < 1 || options.rounds < 1 || options.connections < options.threads) {
    throw new Error('--duration and --rounds must be at least 1, and --connections at least --threads');
  }
  return options;
}

function defaultResultsFile(quick, profile) {
  if (quick) return 'quick.json';
  if (profile) return 'profile.json';
  return 'latest.json';
}

/** Returns the share of CPU time the whole machine spent busy over `ms` milliseconds, from /proc/stat. */
async function machineBusy(ms = 3000) {
  const read = () => {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = fields[3] + fields[4];
    return { idle, total: fields.reduce((a, b) => a + b, 0) };
  };
  const before = read();
  await sleep(ms);
  const after = read();
  return 1 - (after.idle - before.idle) / (after.total - before.total);
}

/** Waits until the machine is less than 15 % busy, or until `maxMs` has passed; returns the last reading. */
async function waitUntilQuiet(log, maxMs = 10 * 60_000) {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const busy = await machineBusy();
    if (busy < 0.15) return busy;
    if (Date.now() > deadline) {
      log(`the machine is still ${(busy * 100).toFixed(0)} % busy after ${Math.round(maxMs / 1000)} s; measuring anyway`);
      return busy;
    }
    log(`other processes keep the machine ${(busy * 100).toFixed(0)} % busy; waiting`);
    await sleep(10_000);
  }
}

function packageVersion(name) {
  return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
}

function machineInfo() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  let commit = null;
  let sourceChanged = null;
  try {
    const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    commit = git('rev-parse', '--short', 'HEAD');
    // Uncommitted changes under src/ mean the numbers belong to no commit.
    sourceChanged = git('status', '--porcelain', '--', 'src', 'bin', 'package.json') !== '';
  } catch {
    // Not a git checkout (for example a snapshot made with git archive): the commit stays unknown.
  }
  return {
    cores: availableParallelism(),
    cpuModel: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? cpus()[0]?.model ?? 'unknown',
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    kernel: release(),
    node: process.version,
    commit: commit ?? process.env.BENCH_COMMIT ?? null,
    sourceChanged,
  };
}

function createInstance(serverId, scenario, options, runDir) {
  const base = {
    id: serverId, label: SERVER_LABELS[serverId], group: scenario.group, root,
    dir: join(runDir, `${scenario.group}-${serverId}`),
  };
  const rotate = scenario.rotation === true;
  switch (serverId) {
    case 'node-http':
      return new FixedServer(base, 'node-http.mjs');
    case 'fastify':
      return new FixedServer(base, 'fastify.mjs');
    case 'oidc-provider':
      return new PeerServer(base, 'oidc-provider.mjs', rotate ? { BENCH_ROTATE_REFRESH_TOKEN: 'true' } : {});
    case 'oauth2-server':
      return new PeerServer(base, 'oauth2-server.mjs', { BENCH_ROTATE_REFRESH_TOKEN: rotate ? 'true' : 'false' });
    case 'kiwiform':
    case 'kiwiform-1m':
    case 'kiwiform-workers':
      return new KiwiformServer(base, {
        env: {
          ...(rotate ? { KIWIFORM_REFRESH_TOKEN_ROTATION: 'true' } : {}),
          ...(serverId === 'kiwiform-workers' ? { KIWIFORM_WORKERS: '2' } : {}),
        },
        seedTokens: serverId === 'kiwiform-1m' ? options.growthTokens : 0,
        logLevel: options.logLevel,
        cpuProfileDir: options.profile ? join(root, 'bench', 'results', 'profiles', scenario.id) : undefined,
      });
    default:
      throw new Error(`unknown server ${serverId}`);
  }
}

/**
 * Builds the load of a run of `seconds`. Codes and chains are issued fresh for every run, because each can be
 * used once.
 */
async function prepareLoad(instance, scenario, state, options, seconds) {
  switch (scenario.input) {
    case 'refresh':
    case 'me':
    case 'authorize':
      if (!state.load) {
        state.load = await instance[scenario.input]();
        await checkStaticLoad(instance, state.load);
      }
      return state.load;
    case 'codes': {
      // Twice the last measured rate, so that a faster round does not run out of codes.
      const rate = Math.max(2 * (state.lastRps ?? 0), FIRST_CODE_RATE);
      return instance.codes(Math.min(MAX_CODES, Math.ceil(rate * seconds) + 500));
    }
    case 'chains':
      // One chain per connection, plus one per thread for the request wrk builds and discards at start-up.
      return instance.chains(options.connections + options.threads);
    default:
      throw new Error(`unknown input ${scenario.input}`);
  }
}

/**
 * Sends a fixed load's request once and requires a 200, because wrk counts only statuses of 400 and above as
 * errors: a redirect or an empty page would otherwise pass as a fast success.
 */
async function checkStaticLoad(instance, load) {
  const headers = load.header ? { [load.header[0]]: load.header[1] } : {};
  const init = load.bodyFile
    ? { method: load.method, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: readFileSync(load.bodyFile, 'utf8') }
    : { method: load.method, headers };
  const response = await fetch(`http://127.0.0.1:${instance.port}${load.path}`, { ...init, redirect: 'manual' });
  const body = await response.text();
  if (response.status !== 200) {
    throw new Error(`${instance.label}: ${load.method} ${load.path.split('?')[0]} returned status ${response.status} instead of 200: ${body.slice(0, 200)}`);
  }
}

/**
 * Measures one run: the load, the server's CPU time and peak RSS while it lasted, and the CPU time that other
 * processes on the machine used meanwhile (`otherCpuShare`, in cores), which would skew the numbers.
 */
async function measure(driver, instance, load, options, duration) {
  const machineBefore = machineAndDriverCpu();
  const cpuBefore = cpuSeconds(instance.pid);
  const sampler = sampleRss(instance.pid);
  const result = await runLoad(driver, { port: instance.port, load, duration, connections: options.connections, threads: options.threads });
  const cpu = cpuSeconds(instance.pid) - cpuBefore;
  const machineAfter = machineAndDriverCpu();
  const maxRssMiB = sampler.stop();
  if (instance.process.exited) throw new Error(`${instance.label} exited during the run; see ${instance.process.logFile}`);
  const spent = (key) => machineAfter[key] - machineBefore[key];
  const other = spent('machineBusy') - cpu - spent('self') - spent('waitedChildren');
  return {
    ...result,
    cpuSeconds: cpu,
    cpuUsPerRequest: result.requests > 0 ? (cpu / result.requests) * 1e6 : NaN,
    maxRssMiB,
    rssAfterMiB: rssMiB(instance.pid),
    otherCpuShare: Math.max(0, other / result.seconds),
  };
}

/** Share of a core that other processes may use during a run before the run is repeated. */
const MAX_OTHER_CPU_SHARE = 0.15;
const MAX_ATTEMPTS = 3;
const MAX_WAIT_BETWEEN_ATTEMPTS_MS = 60_000;

/**
 * Measures a run and repeats it, after waiting for the machine to calm down, while other processes used more
 * than MAX_OTHER_CPU_SHARE of a core during it. The last attempt counts either way, with its share recorded.
 */
async function measureUndisturbed(driver, instance, prepare, options, log) {
  for (let attempt = 1; ; attempt += 1) {
    const result = await measure(driver, instance, await prepare(), options, options.duration);
    if (result.otherCpuShare <= MAX_OTHER_CPU_SHARE || attempt === MAX_ATTEMPTS) return { ...result, attempts: attempt };
    log(`${instance.id}: other processes used ${(result.otherCpuShare * 100).toFixed(0)} % of a core during the run; repeating it`);
    await waitUntilQuiet(log, MAX_WAIT_BETWEEN_ATTEMPTS_MS);
  }
}

async function timePurge(instance, log) {
  const cli = join(root, 'bin', 'kiwiform.js');
  const env = { KIWIFORM_DATABASE_URL: `sqlite:${instance.databaseFile}`, KIWIFORM_LOG_LEVEL: 'warn' };
  let command;
  try {
    await run(process.execPath, [cli, 'purge', '--help'], { cwd: root, env });
    command = { how: 'kiwiform purge --json (default batch size)', args: [cli, 'purge', '--json'] };
  } catch {
    command = { how: 'bench/purge-store.mjs (store.purge, grace 60 s, batches of 10000); kiwiform purge was not available', args: [join(root, 'bench', 'purge-store.mjs'), env.KIWIFORM_DATABASE_URL] };
  }
  const runs = [];
  const timed = async (label) => {
    const started = process.hrtime.bigint();
    const { stdout } = await run(process.execPath, command.args, { cwd: root, env });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    let deleted = stdout.trim();
    try {
      deleted = JSON.parse(deleted);
    } catch {
      // The command printed text; it is kept as it is.
    }
    runs.push({ case: label, seconds, deleted });
    log(`purge, ${label}: ${seconds.toFixed(2)} s`);
  };
  await timed('all 1 M tokens live');
  await run(process.execPath, [join(root, 'bench', 'seed-sqlite.mjs'), 'retire-refresh-tokens', '--database', instance.databaseFile], { cwd: root });
  await timed('all 1 M refresh tokens retired 31 days ago');
  return { command: command.how, runs };
}

async function main() {
  const options = parseOptions();
  const log = (message) => process.stderr.write(`[bench] ${message}\n`);
  const driver = detectDriver(options.driver);
  log(`load generator: ${driver.version}`);

  const busy = options.waitQuiet ? await waitUntilQuiet(log) : await machineBusy();
  if (busy > 0.15) log(`warning: other processes keep the machine ${(busy * 100).toFixed(0)} % busy; numbers will be lower and noisier`);

  log('building dist/ with npm run build');
  await run('npm', ['run', '--silent', 'build'], { cwd: root });

  const runDir = mkdtempSync(join(tmpdir(), 'kiwiform-bench-'));
  const scenarios = SCENARIOS.filter((s) => options.scenarios.includes(s.id))
    .map((s) => ({ ...s, servers: s.servers.filter((id) => options.servers.includes(id) && (!options.profile || id === 'kiwiform' || id === 'kiwiform-1m')) }))
    .filter((s) => s.servers.length > 0);

  const results = {
    date: new Date().toISOString(),
    machine: { ...machineInfo(), busyBeforeRun: Number(busy.toFixed(3)), loadAverage: loadavg().map((n) => Number(n.toFixed(2))) },
    versions: {
      kiwiform: JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version,
      fastify: packageVersion('fastify'),
      'oidc-provider': packageVersion('oidc-provider'),
      '@node-oauth/oauth2-server': packageVersion('@node-oauth/oauth2-server'),
      'better-sqlite3': packageVersion('better-sqlite3'),
      driver: driver.version,
    },
    options: { ...options, out: undefined },
    scenarios: [],
  };

  const instances = new Map();
  // Ctrl-C or SIGTERM stops the servers this run started before the driver exits.
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, async () => {
      log(`${signal}: stopping the servers; temporary files stay in ${runDir}`);
      await Promise.all([...instances.values()].map((instance) => instance.stop()));
      process.exit(130);
    });
  }
  let growthInstance;
  try {
    for (const [index, scenario] of scenarios.entries()) {
      log(`scenario ${scenario.id}: starting ${scenario.servers.join(', ')}`);
      const members = [];
      for (const serverId of scenario.servers) {
        const key = `${scenario.group}:${serverId}`;
        if (!instances.has(key)) {
          const instance = createInstance(serverId, scenario, options, runDir);
          await instance.start();
          if (instance.seedSeconds !== null && instance.seedSeconds !== undefined) log(`${instance.label}: seeded in ${instance.seedSeconds.toFixed(1)} s`);
          instances.set(key, instance);
        }
        members.push({ instance: instances.get(key), state: {}, rounds: [] });
      }

      for (const member of members) {
        const load = await prepareLoad(member.instance, scenario, member.state, options, options.warmup);
        const warm = await measure(driver, member.instance, load, options, options.warmup);
        member.state.lastRps = warm.rps;
      }
      for (let round = 1; round <= options.rounds; round += 1) {
        for (const member of members) {
          const prepare = () => prepareLoad(member.instance, scenario, member.state, options, options.duration);
          const result = await measureUndisturbed(driver, member.instance, prepare, options, log);
          member.state.lastRps = result.rps;
          member.rounds.push({ round, ...result });
          const reused = Object.entries(result.counters ?? {}).filter(([, n]) => n > 0).map(([k, n]) => ` ${k}=${n}`).join('');
          log(`${scenario.id} round ${round} ${member.instance.id}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(2)} ms, `
            + `${result.cpuUsPerRequest.toFixed(1)} µs CPU/req, errors ${result.errors}${reused}, `
            + `others ${(result.otherCpuShare * 100).toFixed(0)} % of a core`);
        }
      }

      const servers = members.map(({ instance, rounds }) => ({
        id: instance.id, label: instance.label, summary: summarizeRounds(rounds),
        rounds: rounds.map((r) => ({ ...r, errorDetail: r.errors ? r.errorDetail : undefined })),
        ...(instance.seedSeconds ? { seedSeconds: Number(instance.seedSeconds.toFixed(1)) } : {}),
      }));
      addRatios(servers);
      results.scenarios.push({ id: scenario.id, title: scenario.title, servers });

      // Servers whose group no later scenario uses are stopped now, so that they do not idle through the rest.
      const laterGroups = new Set(scenarios.slice(index + 1).map((s) => s.group));
      for (const [key, instance] of instances) {
        if (laterGroups.has(instance.group)) continue;
        await instance.stop();
        instances.delete(key);
        if (instance.id === 'kiwiform-1m') growthInstance = instance;
      }
    }
  } finally {
    for (const instance of instances.values()) await instance.stop();
  }

  if (growthInstance && !options.profile) {
    log('timing purge on the 1 M token database');
    results.purge = await timePurge(growthInstance, log);
  }

  if (options.profile) {
    results.profiles = {};
    for (const scenario of scenarios) {
      const dir = join(root, 'bench', 'results', 'profiles', scenario.id);
      const files = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile')).sort();
      if (files.length === 0) continue;
      const summary = summarizeProfile(join(dir, files[files.length - 1]), 30);
      results.profiles[scenario.id] = summary;
      writeFileSync(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    }
  } else {
    results.targets = checkTargets(results);
  }

  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${formatTables(results)}\n\nresults: ${options.out}\n`);
  if (options.chart) {
    const svg = join(root, 'docs', 'benchmarks.svg');
    writeChart(results, svg);
    process.stdout.write(`chart: ${svg}\n`);
  }
  rmSync(runDir, { recursive: true, force: true });
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.stack ?? error}\n`);
  process.exit(1);
});
