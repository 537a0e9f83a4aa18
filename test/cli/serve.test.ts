import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfig, SETTINGS } from '../../src/config/config.js';
import { explainStartFailure, validateHost } from '../../src/cli/serve-checks.js';
import { UsageError } from '../../src/cli/errors.js';
import { startServer } from '../helpers/process.js';
import { assertOneLineError, buildBinary, freshDatabase, kiwiform, removeDatabases } from './helpers.js';

before(buildBinary);
after(removeDatabases);

/** Builds an Error with the properties Node sets on system errors. */
function systemError(message: string, properties: Record<string, unknown>): Error {
  return Object.assign(new Error(message), properties);
}

describe('kiwiform serve help', () => {
  test('help lists every serve setting', () => {
    const run = kiwiform(['help']);
    assert.equal(run.status, 0, run.stderr);
    for (const [name, { flag, env }] of Object.entries(SETTINGS)) {
      assert.match(run.stdout, new RegExp(`^  ${flag} [A-Z]+ `, 'm'), `${name}: ${flag} with its value`);
      assert.ok(run.stdout.includes(`(${env}`), `${name}: ${env}`);
    }
  });
});

describe('kiwiform serve --host', () => {
  const accepted = ['127.0.0.1', '0.0.0.0', '::1', '::', 'localhost', 'api.example.test', 'api-1.example.test.'];
  for (const host of accepted) {
    test(`accepts ${host}`, () => {
      assert.doesNotThrow(() => validateHost({ value: host, label: '--host' }, false));
    });
  }

  const rejected: [string, string][] = [
    ['999.1.1.1', 'IPv4'],
    ['1.2.3', 'IPv4'],
    ['not_a_host', 'not a valid host'],
    ['[::1]', 'without brackets'],
    ['::1::2', 'IPv6'],
    ['a..example.test', 'not a valid host'],
    ['-a.example.test', 'not a valid host'],
    ['example.123', 'not a valid host'],
    [`${'a'.repeat(64)}.example.test`, 'not a valid host'],
    ['fe80::1%eth0', '--issuer'],
  ];
  for (const [host, fragment] of rejected) {
    test(`rejects ${host.slice(0, 24)}`, () => {
      assert.throws(() => validateHost({ value: host, label: '--host' }, false), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.ok(error.message.startsWith(`--host ${JSON.stringify(host)} `), error.message);
        assert.ok(error.message.includes(fragment), error.message);
        return true;
      });
    });
  }

  test('zone index is accepted with an issuer', () => {
    assert.doesNotThrow(() => validateHost({ value: 'fe80::1%eth0', label: '--host' }, true));
  });

  test('invalid --host exits 2 naming it', () => {
    const { env } = freshDatabase();
    const run = kiwiform(['serve', '--host', '999.1.1.1', '--port', '0'], { env });
    assertOneLineError(run, 2, '--host "999.1.1.1"', 'IPv4');
    assert.ok(!run.stderr.includes('KIWIFORM_ISSUER'), run.stderr);
  });

  test('invalid KIWIFORM_HOST exits 2 naming it', () => {
    const { env } = freshDatabase();
    const run = kiwiform(['serve', '--port', '0'], { env: { ...env, KIWIFORM_HOST: 'not_a_host' } });
    assertOneLineError(run, 2, 'KIWIFORM_HOST "not_a_host"');
  });

  test('host name localhost starts', async () => {
    const server = await startServer({ KIWIFORM_HOST: 'localhost' });
    try {
      assert.equal((await fetch(`${server.base}/healthz`)).status, 200);
    } finally {
      assert.equal(await server.stop(), 0, server.output());
    }
  });
});

/** Polls /readyz until it returns 503, as a load balancer's health check would. */
async function waitUntilDraining(base: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if ((await fetch(`${base}/readyz`)).status === 503) return;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error('readyz never turned 503');
}

describe('kiwiform serve shutdown', () => {
  test('shutdown delay keeps serving while unready', async () => {
    const server = await startServer({ KIWIFORM_SHUTDOWN_DELAY: '3' });
    const stopped = server.stop();
    let ready = 200;
    for (let attempt = 0; attempt < 20 && ready === 200; attempt++) {
      ready = (await fetch(`${server.base}/readyz`)).status;
      if (ready === 200) await new Promise((done) => setTimeout(done, 50));
    }
    assert.equal(ready, 503, 'readyz turns unready on SIGTERM');
    const readiness = await fetch(`${server.base}/readyz`);
    assert.equal(((await readiness.json()) as { status: string }).status, 'draining');
    assert.equal((await fetch(`${server.base}/healthz`)).status, 200, 'requests are still served during the delay');
    assert.equal(await stopped, 0, server.output());
    assert.match(server.output(), /serving on for 3 s before closing/);
  });

  test('repeated SIGTERM keeps workers draining', async () => {
    const server = await startServer({ KIWIFORM_SHUTDOWN_DELAY: '3', KIWIFORM_WORKERS: '2' });
    server.signal('SIGTERM');
    await waitUntilDraining(server.base);
    server.signal('SIGTERM');
    await new Promise((done) => setTimeout(done, 500));
    assert.equal((await fetch(`${server.base}/healthz`)).status, 200, 'the workers still serve after a second SIGTERM');
    assert.equal(await server.exited, 0, server.output());
  });

  test('Ctrl+C ends the shutdown delay', async () => {
    const server = await startServer({ KIWIFORM_SHUTDOWN_DELAY: '300' });
    server.signal('SIGTERM');
    await waitUntilDraining(server.base);
    server.signal('SIGINT');
    const outcome = await Promise.race([server.exited, new Promise<string>((done) => setTimeout(() => done('still running'), 20_000).unref())]);
    if (outcome === 'still running') server.kill();
    assert.equal(outcome, 0, 'the process exits 0 long before the 300-s delay ends');
  });
});

describe('kiwiform serve start failures', () => {
  let holder: Server;
  let heldPort = 0;
  before(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const address = holder.address();
    heldPort = typeof address === 'object' && address !== null ? address.port : 0;
  });
  after(async () => new Promise<void>((resolve) => holder.close(() => resolve())));

  test('port in use exits 1 with one line', () => {
    const { env } = freshDatabase();
    const run = kiwiform(['serve', '--host', '127.0.0.1', '--port', String(heldPort)], { env });
    assertOneLineError(run, 1, `port ${heldPort} is already in use`, '--port', 'KIWIFORM_PORT');
  });

  test('unreachable database exits 1 without the password', () => {
    // Nothing listens on port 1 of the loopback address, so the connection is refused at once.
    const url = 'postgres://kiwiform:hunter2-database-password@127.0.0.1:1/kiwiform';
    const run = kiwiform(['serve', '--port', '0'], { env: { KIWIFORM_DATABASE_URL: url } });
    assertOneLineError(run, 1, 'postgres://127.0.0.1:1/kiwiform', 'ECONNREFUSED', 'KIWIFORM_DATABASE_URL', '--database-url');
    assert.ok(!run.stderr.includes('hunter2-database-password'), run.stderr);
  });

  const config = loadConfig({ KIWIFORM_HOST: 'kiwiform.example.test', KIWIFORM_PORT: '8080', KIWIFORM_DATABASE_URL: 'postgres://app:s3cret-value@db.example.test:5432/kiwiform' });
  const explained: [string, Error, string[]][] = [
    ['unresolvable host', systemError('getaddrinfo ENOTFOUND kiwiform.example.test', { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'kiwiform.example.test' }), ['"kiwiform.example.test" could not be resolved', '--host', 'KIWIFORM_HOST']],
    ['address of another machine', systemError('listen EADDRNOTAVAIL', { code: 'EADDRNOTAVAIL', syscall: 'listen' }), ['kiwiform.example.test does not belong to this machine', '--host']],
    ['privileged port', systemError('listen EACCES', { code: 'EACCES', syscall: 'listen' }), ['port 8080', '--port', 'KIWIFORM_PORT']],
    ['unresolvable database host', systemError('getaddrinfo ENOTFOUND db.example.test', { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'db.example.test' }), ['postgres://db.example.test:5432/kiwiform', 'ENOTFOUND', 'KIWIFORM_DATABASE_URL']],
    ['rejected password', systemError('password authentication failed for user "app" (s3cret-value)', { code: '28P01' }), ['28P01 password authentication failed', '(***)', '--database-url']],
    ['connection timeout', new Error('timeout exceeded when trying to connect'), ['postgres://db.example.test:5432/kiwiform', 'timeout exceeded']],
  ];
  for (const [name, error, fragments] of explained) {
    test(`explains ${name}`, () => {
      const message = explainStartFailure(error, config)?.message ?? '';
      for (const fragment of fragments) assert.ok(message.includes(fragment), `"${message}" names ${fragment}`);
      assert.ok(!message.includes('s3cret-value'), message);
    });
  }

  test('unknown failure is left as it is', () => {
    assert.equal(explainStartFailure(new TypeError('x is not a function'), config), undefined);
  });
});
