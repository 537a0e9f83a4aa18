import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metrics } from '../src/http/metrics.js';
import type { Store } from '../src/storage/types.js';

/** Returns the exposition lines of one metric family, in the order the registry prints them. */
async function linesOf(metrics: Metrics, family: string): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text.split('\n').filter((line) => line.startsWith(family));
}

test('responses are counted per route, method and status', async () => {
  const metrics = new Metrics({} as Store);
  metrics.observeResponse('/api/zapier/me', 'GET', 200, 0.002);
  metrics.observeResponse('/api/zapier/me', 'GET', 200, 0.003);
  metrics.observeResponse('/api/zapier/me', 'GET', 401, 0.001);
  metrics.observeResponse(undefined, 'POST', 404, 0.001);
  assert.deepEqual(await linesOf(metrics, 'kiwiform_http_requests_total{'), [
    'kiwiform_http_requests_total{route="/api/zapier/me",method="GET",status="200"} 2',
    'kiwiform_http_requests_total{route="/api/zapier/me",method="GET",status="401"} 1',
    'kiwiform_http_requests_total{route="unmatched",method="POST",status="404"} 1',
  ]);
});

test('cumulative buckets include their bound', async () => {
  const metrics = new Metrics({} as Store);
  // 0.001 is a bound: it belongs to the bucket le="0.001". 7 s is above every bound.
  for (const seconds of [0.0001, 0.001, 0.0011, 0.3, 7]) metrics.observeResponse('/api/zapier/token', 'POST', 200, seconds);
  const series = 'route="/api/zapier/token",method="POST",status="200"';
  const lines = await linesOf(metrics, 'kiwiform_http_request_duration_seconds');
  const value = (name: string): number => {
    const line = lines.find((candidate) => candidate.startsWith(`${name} `));
    assert.ok(line, `${name} is exported`);
    return Number(line.slice(name.length + 1));
  };
  const bucket = (le: string): number => value(`kiwiform_http_request_duration_seconds_bucket{le="${le}",${series}}`);
  assert.equal(bucket('0.0005'), 1);
  assert.equal(bucket('0.001'), 2);
  assert.equal(bucket('0.0025'), 3);
  assert.equal(bucket('0.25'), 3);
  assert.equal(bucket('0.5'), 4);
  assert.equal(bucket('5'), 4);
  assert.equal(bucket('+Inf'), 5);
  assert.equal(value(`kiwiform_http_request_duration_seconds_count{${series}}`), 5);
  assert.ok(Math.abs(value(`kiwiform_http_request_duration_seconds_sum{${series}}`) - 7.3022) < 1e-9);
  assert.equal(lines.filter((line) => line.startsWith('kiwiform_http_request_duration_seconds_bucket{')).length, 14);
});

test('registry types both metrics', async () => {
  const text = await new Metrics({} as Store).registry.metrics();
  assert.match(text, /^# TYPE kiwiform_http_requests_total counter$/m);
  assert.match(text, /^# TYPE kiwiform_http_request_duration_seconds histogram$/m);
  assert.match(text, /^# HELP kiwiform_http_request_duration_seconds HTTP request latency in seconds/m);
});

test('token outcomes add up across scrapes', async () => {
  const metrics = new Metrics({} as Store);
  metrics.countToken('refresh_token', 'issued');
  metrics.countToken('refresh_token', 'issued');
  metrics.countToken('authorization_code', 'invalid_grant');
  assert.deepEqual(await linesOf(metrics, 'kiwiform_oauth_tokens_total{'), [
    'kiwiform_oauth_tokens_total{grant_type="refresh_token",outcome="issued"} 2',
    'kiwiform_oauth_tokens_total{grant_type="authorization_code",outcome="invalid_grant"} 1',
  ]);
  metrics.countToken('refresh_token', 'issued');
  assert.deepEqual(await linesOf(metrics, 'kiwiform_oauth_tokens_total{'), [
    'kiwiform_oauth_tokens_total{grant_type="refresh_token",outcome="issued"} 3',
    'kiwiform_oauth_tokens_total{grant_type="authorization_code",outcome="invalid_grant"} 1',
  ]);
});
