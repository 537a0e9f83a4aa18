import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/kiwiform.js');

/** Returns a port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Runs the real kiwiform binary and returns its exit status and output. */
export function cli(args: readonly string[], env: Record<string, string>, input = ''): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, input, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a kiwiform command that prints one JSON object, failing loudly otherwise. */
export function cliJson<T = Record<string, unknown>>(args: readonly string[], env: Record<string, string>, input = ''): T {
  const result = cli([...args, '--json'], env, input);
  if (result.status !== 0) throw new Error(`kiwiform ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

export interface ServerProcess {
  readonly base: string;
  readonly env: Record<string, string>;
  readonly directory: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  stop(): Promise<number | null>;
  /** Kills the process at once with SIGKILL, as a crash would. */
  kill(): void;
  /** Sends a signal without waiting; `exited` settles with the exit code. */
  signal(name: NodeJS.Signals): void;
  readonly exited: Promise<number | null>;
}

/** Starts `kiwiform serve` as a child process on a free port with a fresh SQLite file, and waits until it responds. */
export async function startServer(extraEnv: Record<string, string> = {}): Promise<ServerProcess> {
  const directory = mkdtempSync(join(tmpdir(), 'kiwiform-e2e-'));
  const port = await freePort();
  const env = {
    KIWIFORM_HOST: '127.0.0.1',
    KIWIFORM_PORT: String(port),
    KIWIFORM_DATABASE_URL: `sqlite:${join(directory, 'kiwiform.db')}`,
    ...extraEnv,
  };
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited with ${child.exitCode ?? child.signalCode}: ${output}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`server did not answer within 30 s: ${output}`);
    await new Promise((done) => setTimeout(done, 100));
  }
  return {
    base,
    env,
    directory,
    output: () => output,
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done(child.exitCode);
        child.once('exit', (code) => done(code));
        child.kill('SIGTERM');
      }),
    kill: () => {
      child.kill('SIGKILL');
    },
    signal: (name) => {
      child.kill(name);
    },
    exited,
  };
}

/** A cookie jar over fetch that follows no redirects, like a person clicking through HTML forms. */
export class FetchBrowser {
  readonly cookies = new Map<string, string>();

  async request(url: string, options: { method?: string; form?: Record<string, string> } = {}): Promise<{ status: number; location: string | null; text: string; headers: Headers }> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    let body: string | undefined;
    if (options.form) {
      body = new URLSearchParams(options.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const response = await fetch(url, { method: options.method ?? 'GET', headers, redirect: 'manual', ...(body === undefined ? {} : { body }) });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const name = pair.slice(0, pair.indexOf('=')).trim();
      const value = pair.slice(pair.indexOf('=') + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: response.status, location: response.headers.get('location'), text: await response.text(), headers: response.headers };
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" };

/** Returns the action and every named field (hidden inputs) of the first form whose action matches. */
export function findForm(page: string, actionPattern: RegExp): { action: string; fields: Record<string, string> } {
  const decode = (value: string) => value.replace(/&(amp|lt|gt|quot|#39);/g, (_m, name: string) => ENTITIES[name] ?? '');
  for (const match of page.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const action = decode(/\baction="([^"]*)"/.exec(match[1] ?? '')?.[1] ?? '');
    if (!actionPattern.test(action)) continue;
    const fields: Record<string, string> = {};
    for (const input of (match[2] ?? '').matchAll(/<input\b[^>]*type="hidden"[^>]*>/g)) {
      const name = /\bname="([^"]*)"/.exec(input[0])?.[1];
      if (name !== undefined) fields[decode(name)] = decode(/\bvalue="([^"]*)"/.exec(input[0])?.[1] ?? '');
    }
    return { action, fields };
  }
  throw new Error(`no form with an action matching ${actionPattern} on the page:\n${page.slice(0, 1500)}`);
}

/** Opens an authorize URL, signs in and decides on the consent page; returns the final redirect. */
export async function authorizeInBrowser(
  browser: FetchBrowser,
  base: string,
  authorizeUrl: string,
  credentials: { email: string; password: string },
  decision: 'allow' | 'deny' = 'allow',
): Promise<URL> {
  let page = await browser.request(authorizeUrl);
  // A signed-in user who already consented to these scopes is sent straight back.
  if (page.status === 302 && page.location) return new URL(page.location);
  if (page.status !== 200) throw new Error(`authorize answered ${page.status}: ${page.text.slice(0, 500)}`);
  if (/name="password"/.test(page.text)) {
    const login = findForm(page.text, /login/);
    const signedIn = await browser.request(new URL(login.action, base).toString(), { method: 'POST', form: { ...login.fields, ...credentials } });
    if (!signedIn.location) throw new Error(`sign-in did not redirect: ${signedIn.status} ${signedIn.text.slice(0, 500)}`);
    page = await browser.request(new URL(signedIn.location, base).toString());
  }
  const consent = findForm(page.text, /consent/);
  const decided = await browser.request(new URL(consent.action, base).toString(), { method: 'POST', form: { ...consent.fields, decision } });
  if (decided.status !== 302 || !decided.location) throw new Error(`decision answered ${decided.status}: ${decided.text.slice(0, 500)}`);
  return new URL(decided.location);
}
