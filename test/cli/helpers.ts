import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
export const BIN = join(ROOT, 'bin', 'kiwiform.js');
export const PASSWORD = 'correct horse battery staple';
export const REDIRECT_URI = 'https://zapier.example.test/dashboard/auth/oauth/return/App1CLIAPI/';

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const directories: string[] = [];

/** Environment without any KIWIFORM_* variable of the developer's shell, so that each test sets its own. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('KIWIFORM_')));
  return { ...env, ...extra };
}

/** Creates an empty directory for one test's database and returns the KIWIFORM_DATABASE_URL that names it. */
export function freshDatabase(): { readonly path: string; readonly env: Record<string, string> } {
  const directory = mkdtempSync(join(tmpdir(), 'kiwiform-cli-'));
  directories.push(directory);
  const path = join(directory, 'kiwiform.db');
  return { path, env: { KIWIFORM_DATABASE_URL: `sqlite:${path}` } };
}

/** Deletes the directories that freshDatabase created; test files call it in an after() hook. */
export function removeDatabases(): void {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
}

/** Lock directory that keeps test files started in parallel from compiling into dist/ at the same time. */
const BUILD_LOCK = join(tmpdir(), `kiwiform-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 16)}.lock`);
/** A lock older than this is taken to be left by a killed test run. */
const STALE_LOCK_MS = 5 * 60_000;

/**
 * Builds dist/ once before the tests. The binary runs the same compiler as "npm run build", but only when src/ is
 * newer than dist/. So when "npm test" has just built, no second compiler runs while other test files are
 * starting the server.
 */
export function buildBinary(): void {
  acquireBuildLock();
  try {
    const build = spawnSync(process.execPath, [BIN, 'help'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(build.status, 0, `building dist/ failed:\n${build.stderr}`);
  } finally {
    rmSync(BUILD_LOCK, { recursive: true, force: true });
  }
}

function acquireBuildLock(): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      mkdirSync(BUILD_LOCK);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    try {
      if (Date.now() - statSync(BUILD_LOCK).mtimeMs > STALE_LOCK_MS) rmSync(BUILD_LOCK, { recursive: true, force: true });
    } catch {
      // The holder removed the lock between the two calls; try again.
    }
    Atomics.wait(pause, 0, 0, 100);
  }
}

/** Runs the real binary as an operator would, with `input` on stdin. */
export function kiwiform(args: readonly string[], options: { input?: string; env?: Record<string, string> } = {}): Run {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: tmpdir(),
    input: options.input ?? '',
    env: cleanEnv(options.env ?? {}),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Parses stdout as exactly one JSON object on one line. */
export function jsonObject(run: Run): Record<string, unknown> {
  assert.equal(run.status, 0, `exit status with stderr: ${run.stderr}`);
  const lines = run.stdout.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, `stdout has one line: ${run.stdout}`);
  const value: unknown = JSON.parse(lines[0] ?? '');
  assert.equal(typeof value, 'object', 'stdout is a JSON object');
  assert.notEqual(value, null, 'stdout is not null');
  assert.equal(Array.isArray(value), false, 'stdout is not an array');
  return value as Record<string, unknown>;
}

/** Asserts a failure with the given status and exactly one line on stderr containing each of `fragments`. */
export function assertOneLineError(run: Run, status: number, ...fragments: string[]): void {
  assert.equal(run.status, status, `exit status, stderr: ${run.stderr}`);
  assert.equal(run.stdout, '');
  const lines = run.stderr.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, `stderr has one line: ${run.stderr}`);
  assert.match(lines[0] ?? '', /^kiwiform: /);
  for (const fragment of fragments) assert.ok(lines[0]?.includes(fragment), `"${lines[0]}" names ${fragment}`);
}

export function createUser(env: Record<string, string>, email: string, input = `${PASSWORD}\n`, extra: string[] = []): Run {
  return kiwiform(['users', 'create', '--email', email, '--password-stdin', '--json', ...extra], { input, env });
}

export function createClient(env: Record<string, string>, extra: string[] = [], input = ''): Run {
  return kiwiform(['clients', 'create', '--name', 'Zapier', '--redirect-uri', REDIRECT_URI, '--json', ...extra], { input, env });
}

export function readRow(path: string, sql: string, ...parameters: string[]): Record<string, unknown> | undefined {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).get(...parameters) as Record<string, unknown> | undefined;
  } finally {
    db.close();
  }
}
