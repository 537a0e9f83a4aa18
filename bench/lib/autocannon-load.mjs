// The load generator used when wrk is not installed: autocannon, driven with the same three kinds of load as
// the wrk scripts (one fixed request, a fresh code per request, per-connection refresh-token chains). Reads a
// JSON job from argv[2] and prints one "WRK_JSON {...}" line in the format of bench/wrk/report.lua.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const job = JSON.parse(process.argv[2]);
const form = { 'content-type': 'application/x-www-form-urlencoded' };
const lines = (file) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const counters = {};

function requestsFor(load) {
  if (load.kind === 'static') {
    const headers = { ...(load.bodyFile ? form : {}), ...(load.header ? { [load.header[0]]: load.header[1] } : {}) };
    return [{ method: load.method, path: load.path, headers, ...(load.bodyFile ? { body: readFileSync(load.bodyFile, 'utf8') } : {}) }];
  }
  const template = readFileSync(load.templateFile, 'utf8');
  if (load.kind === 'codes') {
    const codes = lines(load.codesFile);
    let position = 0;
    counters.reused_codes = 0;
    return [{
      method: 'POST', path: load.path, headers: form,
      setupRequest(request) {
        if (position === codes.length) {
          position = 0;
          counters.reused_codes += 1;
        }
        return { ...request, body: template.replace('{code}', encodeURIComponent(codes[position++])) };
      },
    }];
  }
  // Chains: each connection keeps the latest refresh token of its own chain in its context.
  const tokens = lines(load.tokensFile);
  counters.reused_tokens = 0;
  counters.failed_responses = 0;
  return [{
    method: 'POST', path: load.path, headers: form,
    setupRequest(request, context) {
      context.token ??= tokens.shift() ?? context.last;
      return { ...request, body: template.replace('{token}', encodeURIComponent(context.token)) };
    },
    onResponse(status, body, context) {
      const next = status === 200 ? body.match(/"refresh_token"\s*:\s*"([^"]+)"/)?.[1] : undefined;
      if (next) context.token = next;
      else {
        counters.failed_responses += 1;
        counters.reused_tokens += 1;
      }
    },
  }];
}

const result = await autocannon({
  url: job.url,
  connections: job.connections,
  duration: job.duration,
  timeout: 10,
  requests: requestsFor(job.load),
});
const ms = (value) => Math.round(value * 1000);
const summary = {
  requests: result.requests.total,
  duration_us: Math.round(result.duration * 1e6),
  bytes: result.throughput.total,
  errors: { connect: 0, read: result.errors, write: 0, status: result.non2xx, timeout: result.timeouts },
  latency_us: {
    p50: ms(result.latency.p50), p90: ms(result.latency.p90), p99: ms(result.latency.p99), max: ms(result.latency.max), mean: ms(result.latency.mean),
  },
  counters,
};
process.stdout.write(`WRK_JSON ${JSON.stringify(summary)}\n`);
