// The servers under test. Each kind starts itself on a free port and produces the inputs of every load: a
// refresh token, an access token, a signed-in page request, fresh authorization codes and refresh-token chains.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PATHS, PEER_CLIENT_ID, REDIRECT_URI } from '../servers/fixtures.mjs';
import { Browser, provision } from './kiwiform.mjs';
import { freePort, run, startServer, stopServer } from './processes.mjs';

const randomToken = (prefix = '') => prefix + randomBytes(32).toString('base64url');

function tokenForm({ clientId, clientSecret }, fields) {
  return new URLSearchParams({ ...fields, client_id: clientId, client_secret: clientSecret }).toString()
    // The placeholders of the templates must survive the encoding.
    .replace('%7Bcode%7D', '{code}').replace('%7Btoken%7D', '{token}');
}

/** Behaviour shared by every server: process handling and the body files of the token requests. */
class Instance {
  constructor({ id, label, group, root, dir }) {
    this.id = id;
    this.label = label;
    this.group = group;
    this.root = root;
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    this.files = 0;
  }

  get pid() {
    return this.process.pid;
  }

  get port() {
    return this.process.port;
  }

  writeInput(name, text) {
    this.files += 1;
    const file = join(this.dir, `${this.files}-${name}`);
    writeFileSync(file, text);
    return file;
  }

  async launch(args, env = {}) {
    const port = await freePort();
    this.process = await startServer({
      name: this.label, command: process.execPath, args, cwd: this.root, port,
      env: { NODE_ENV: 'production', PORT: String(port), ...env }, logFile: join(this.dir, 'server.log'),
    });
  }

  async stop() {
    if (this.process) await stopServer(this.process);
  }

  refreshLoad(refreshToken) {
    const body = tokenForm(this.credentials, { grant_type: 'refresh_token', refresh_token: refreshToken });
    return { kind: 'static', method: 'POST', path: PATHS.token, bodyFile: this.writeInput('refresh-body.txt', body) };
  }

  meLoad(accessToken) {
    return { kind: 'static', method: 'GET', path: PATHS.me, header: ['Authorization', `Bearer ${accessToken}`] };
  }

  codesLoad(codes) {
    const template = tokenForm(this.credentials, { grant_type: 'authorization_code', code: '{code}', redirect_uri: REDIRECT_URI });
    return {
      kind: 'codes', path: PATHS.token, count: codes.length,
      codesFile: this.writeInput('codes.txt', `${codes.join('\n')}\n`),
      templateFile: this.writeInput('code-body.txt', template),
    };
  }

  chainsLoad(tokens) {
    const template = tokenForm(this.credentials, { grant_type: 'refresh_token', refresh_token: '{token}' });
    return {
      kind: 'chains', path: PATHS.token, count: tokens.length,
      tokensFile: this.writeInput('chains.txt', `${tokens.join('\n')}\n`),
      templateFile: this.writeInput('rotation-body.txt', template),
    };
  }
}

/** node:http or Fastify with fixed responses: every input is a well-formed dummy. */
export class FixedServer extends Instance {
  constructor(options, script) {
    super(options);
    this.script = script;
    this.credentials = { clientId: `kfc_${randomBytes(16).toString('base64url')}`, clientSecret: randomToken('kfs_') };
  }

  async start() {
    await this.launch([join(this.root, 'bench', 'servers', this.script)]);
  }

  async refresh() {
    return this.refreshLoad(randomToken('rtk_'));
  }

  async me() {
    return this.meLoad(randomToken('atk_'));
  }

  async authorize() {
    const query = new URLSearchParams({ response_type: 'code', client_id: this.credentials.clientId, redirect_uri: REDIRECT_URI, state: 'bench' });
    const cookie = `kiwiform_session=${randomToken('ses_')}; kiwiform_csrf=${randomToken()}`;
    return { kind: 'static', method: 'GET', path: `${PATHS.authorize}?${query}`, header: ['Cookie', cookie] };
  }

  async codes(count) {
    return this.codesLoad(Array.from({ length: count }, () => randomToken('cod_')));
  }

  async chains(count) {
    return this.chainsLoad(Array.from({ length: count }, () => randomToken('rtk_')));
  }
}

/** oidc-provider or oauth2-server: tokens and codes come from the server's own models through /__bench/. */
export class PeerServer extends Instance {
  constructor(options, script, env) {
    super(options);
    this.script = script;
    this.env = env;
    this.credentials = { clientId: PEER_CLIENT_ID, clientSecret: randomToken() };
  }

  async start() {
    await this.launch([join(this.root, 'bench', 'servers', this.script)], { ...this.env, BENCH_CLIENT_SECRET: this.credentials.clientSecret });
  }

  async mint(kind, count) {
    const response = await fetch(`http://127.0.0.1:${this.port}/__bench/${kind}?count=${count}`, { method: 'POST' });
    if (!response.ok) throw new Error(`${this.label}: minting ${kind} failed with HTTP ${response.status}`);
    return (await response.text()).split('\n').filter(Boolean);
  }

  async refresh() {
    return this.refreshLoad((await this.mint('refresh-tokens', 1))[0]);
  }

  async me() {
    return this.meLoad((await this.mint('access-tokens', 1))[0]);
  }

  async codes(count) {
    return this.codesLoad(await this.mint('codes', count));
  }

  async chains(count) {
    return this.chainsLoad(await this.mint('refresh-tokens', count));
  }
}

/** Returns the options `npm start` passes to node before bin/kiwiform.js, so that the server runs as shipped. */
function shippedNodeOptions(root) {
  const start = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start;
  const words = start.split(/\s+/);
  return words.slice(words.indexOf('node') + 1, words.indexOf('bin/kiwiform.js'));
}

/**
 * Our server: `node bin/kiwiform.js serve`, with the node options of `npm start`, on a SQLite file, provisioned with the real command line. Tokens come
 * from the real browser flow; codes for the exchange load are written into the file by bench/seed-sqlite.mjs.
 */
export class KiwiformServer extends Instance {
  constructor(options, { env = {}, seedTokens = 0, logLevel = 'info', cpuProfileDir } = {}) {
    super(options);
    this.env = env;
    this.seedTokens = seedTokens;
    this.logLevel = logLevel;
    this.cpuProfileDir = cpuProfileDir;
    this.databaseFile = join(this.dir, 'kiwiform.db');
    this.seedSeconds = null;
  }

  async start() {
    this.credentials = await provision(this.root, this.databaseFile);
    if (this.seedTokens > 0) {
      const started = process.hrtime.bigint();
      await run(process.execPath, [
        join(this.root, 'bench', 'seed-sqlite.mjs'), 'tokens', '--database', this.databaseFile,
        // Ids are random base64url and may start with a dash, which parseArgs takes for an option.
        `--client-id=${this.credentials.clientId}`, '--count', String(this.seedTokens),
      ], { cwd: this.root });
      this.seedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    }
    const profile = this.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${this.cpuProfileDir}`] : [];
    await this.launch([...shippedNodeOptions(this.root), ...profile, join(this.root, 'bin', 'kiwiform.js'), 'serve'], {
      KIWIFORM_DATABASE_URL: `sqlite:${this.databaseFile}`,
      KIWIFORM_LOG_LEVEL: this.logLevel,
      ...this.env,
    });
    this.browser = new Browser(`http://127.0.0.1:${this.port}`, this.credentials);
    await this.browser.signIn();
  }

  /** Starts `kiwiform serve` with --port, the flag that the command line documents. */
  async launch(args, env) {
    const port = await freePort();
    this.process = await startServer({
      name: this.label, command: process.execPath, args: [...args, '--port', String(port)], cwd: this.root, port,
      env: { NODE_ENV: 'production', ...env }, logFile: join(this.dir, 'server.log'),
    });
  }

  async refresh() {
    const [tokens] = await this.browser.issueTokens(1);
    return this.refreshLoad(tokens.refresh_token);
  }

  async me() {
    const [tokens] = await this.browser.issueTokens(1);
    return this.meLoad(tokens.access_token);
  }

  async authorize() {
    return { kind: 'static', method: 'GET', path: this.browser.authorizePath(), header: ['Cookie', this.browser.cookieHeader()] };
  }

  async codes(count) {
    const out = join(this.dir, `codes-${this.files + 1}.txt`);
    await run(process.execPath, [
      join(this.root, 'bench', 'seed-sqlite.mjs'), 'codes', '--database', this.databaseFile, `--client-id=${this.credentials.clientId}`,
      `--user-id=${this.credentials.userId}`, '--count', String(count), '--out', out,
    ], { cwd: this.root });
    const template = tokenForm(this.credentials, { grant_type: 'authorization_code', code: '{code}', redirect_uri: REDIRECT_URI });
    this.files += 1;
    return { kind: 'codes', path: PATHS.token, count, codesFile: out, templateFile: this.writeInput('code-body.txt', template) };
  }

  async chains(count) {
    const tokens = await this.browser.issueTokens(count);
    return this.chainsLoad(tokens.map((token) => token.refresh_token));
  }
}
