// Drives our own server the way an operator and a browser would: accounts and clients through the real
// `kiwiform` command line, tokens through the real authorization-code flow over HTTP.
import { join } from 'node:path';
import { REDIRECT_URI, ACCOUNT } from '../servers/fixtures.mjs';
import { run } from './processes.mjs';

/** Password of the benchmark account; it only ever exists in a temporary database. */
const PASSWORD = 'bench-password-not-secret';

/**
 * Creates the benchmark user and client in the SQLite file with `kiwiform users create` and
 * `kiwiform clients create`, and returns their ids and the client secret.
 */
export async function provision(root, databaseFile) {
  const cli = join(root, 'bin', 'kiwiform.js');
  const env = { KIWIFORM_DATABASE_URL: `sqlite:${databaseFile}`, KIWIFORM_LOG_LEVEL: 'warn' };
  const user = JSON.parse((await run(process.execPath, [
    cli, 'users', 'create', '--email', ACCOUNT.email, '--name', ACCOUNT.name, '--password-stdin', '--json',
  ], { cwd: root, env, input: PASSWORD })).stdout);
  const client = JSON.parse((await run(process.execPath, [
    cli, 'clients', 'create', '--name', 'Benchmark', '--redirect-uri', REDIRECT_URI, '--json',
  ], { cwd: root, env })).stdout);
  return { userId: user.id, clientId: client.client_id, clientSecret: client.client_secret };
}

/** A minimal cookie jar: name to value, from Set-Cookie headers. */
class CookieJar {
  #cookies = new Map();

  store(response) {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      const value = pair.slice(index + 1).trim();
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(header)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header() {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

function hiddenField(html, name) {
  const match = html.match(new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`));
  if (!match) throw new Error(`the page has no hidden field "${name}"; the sign-in or consent form changed`);
  return match[1];
}

async function expectStatus(response, expected, step) {
  if (response.status !== expected) {
    const body = await response.text();
    throw new Error(`${step}: expected HTTP ${expected}, got ${response.status}: ${body.slice(0, 300)}`);
  }
}

/**
 * A signed-in browser on our server. `signIn` posts the login form once; after that every `authorizeCode`
 * goes authorize → consent page → allow and returns the code from the redirect.
 */
export class Browser {
  constructor(baseUrl, client) {
    this.baseUrl = baseUrl;
    this.client = client;
    this.jar = new CookieJar();
  }

  /** Returns the authorize URL of the benchmark client, relative to the server. */
  authorizePath(state = 'bench') {
    const query = new URLSearchParams({
      response_type: 'code', client_id: this.client.clientId, redirect_uri: REDIRECT_URI, state,
    });
    return `/api/zapier/authorize?${query}`;
  }

  async #request(path, init = {}) {
    const response = await fetch(new URL(path, this.baseUrl), {
      ...init,
      redirect: 'manual',
      headers: { ...init.headers, cookie: this.jar.header() },
    });
    this.jar.store(response);
    return response;
  }

  async #postForm(path, fields) {
    return this.#request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  async signIn() {
    const page = await this.#request(this.authorizePath());
    await expectStatus(page, 200, 'GET authorize (signed out)');
    const html = await page.text();
    const login = await this.#postForm('/api/zapier/authorize/login', {
      request: hiddenField(html, 'request'), csrf: hiddenField(html, 'csrf'), email: ACCOUNT.email, password: PASSWORD,
    });
    await expectStatus(login, 303, 'POST login form');
    await login.arrayBuffer();
  }

  /** The cookie header of the signed-in session, for requests made by the load generator. */
  cookieHeader() {
    return this.jar.header();
  }

  async authorizeCode() {
    let decision = await this.#request(this.authorizePath());
    // A server that remembers consent redirects with the code at once; otherwise the consent page comes first.
    if (decision.status !== 302) {
      await expectStatus(decision, 200, 'GET authorize (signed in)');
      const html = await decision.text();
      decision = await this.#postForm('/api/zapier/authorize/consent', {
        request: hiddenField(html, 'request'), csrf: hiddenField(html, 'csrf'), decision: 'allow',
      });
      await expectStatus(decision, 302, 'POST consent form');
    }
    await decision.arrayBuffer();
    const location = new URL(decision.headers.get('location'));
    const code = location.searchParams.get('code');
    if (!code) throw new Error(`consent redirected without a code: ${location.search}`);
    return code;
  }

  /** Exchanges a code at the token endpoint and returns the token response. */
  async exchange(code) {
    const response = await fetch(new URL('/api/zapier/token', this.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI,
        client_id: this.client.clientId, client_secret: this.client.clientSecret,
      }).toString(),
    });
    await expectStatus(response, 200, 'POST token (authorization_code)');
    return response.json();
  }

  /** Runs the whole flow `count` times and returns the token responses, one grant each. */
  async issueTokens(count) {
    const tokens = [];
    for (let i = 0; i < count; i += 1) tokens.push(await this.exchange(await this.authorizeCode()));
    return tokens;
  }
}
