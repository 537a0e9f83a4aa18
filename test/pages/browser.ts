import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { TestAccount } from '../helpers/fixtures.js';

/** A cookie jar over app.inject(), following no redirects, like a browser driven by hand. */
export class TestBrowser {
  readonly cookies = new Map<string, string>();

  /** `remoteAddress` is the client address the server sees, 127.0.0.1 unless a test needs several. */
  constructor(private readonly app: FastifyInstance, readonly remoteAddress = '127.0.0.1') {}

  get(url: string): Promise<LightMyRequestResponse> {
    return this.send({ method: 'GET', url });
  }

  /** Posts fields as application/x-www-form-urlencoded, the way an HTML form does. */
  post(url: string, fields: Readonly<Record<string, string>> | readonly (readonly [string, string])[]): Promise<LightMyRequestResponse> {
    const payload = new URLSearchParams(fields as Record<string, string>).toString();
    return this.send({ method: 'POST', url, payload, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }

  async send(options: { method: 'GET' | 'POST'; url: string; payload?: string; headers?: Record<string, string> }): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({ ...options, remoteAddress: this.remoteAddress, cookies: Object.fromEntries(this.cookies) });
    for (const cookie of response.cookies as { name: string; value: string; maxAge?: number }[]) {
      if (cookie.value === '' || cookie.maxAge === 0) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
    return response;
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" };

function decode(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|#39);/g, (_match, name: string) => ENTITIES[name] ?? '');
}

/** A form of a page: its action and the names and values of its hidden inputs. */
export interface ParsedForm {
  readonly action: string;
  readonly method: string;
  readonly hidden: Record<string, string>;
  readonly body: string;
}

/** Finds the form that posts to `action` on a page, or fails the test. */
export function formOf(page: string, action: string): ParsedForm {
  for (const match of page.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const attributes = match[1] ?? '';
    const body = match[2] ?? '';
    if (decode(/\baction="([^"]*)"/.exec(attributes)?.[1] ?? '') !== action) continue;
    const hidden: Record<string, string> = {};
    for (const input of body.matchAll(/<input\b[^>]*type="hidden"[^>]*>/g)) {
      const name = /\bname="([^"]*)"/.exec(input[0])?.[1];
      const value = /\bvalue="([^"]*)"/.exec(input[0])?.[1];
      if (name !== undefined) hidden[decode(name)] = decode(value ?? '');
    }
    return { action, method: /\bmethod="([^"]*)"/.exec(attributes)?.[1] ?? 'get', hidden, body };
  }
  throw new Error(`no form posting to ${action} on the page:\n${page.slice(0, 2000)}`);
}

export const LOGIN = '/api/zapier/authorize/login';
export const CONSENT = '/api/zapier/authorize/consent';
export const LOGOUT = '/api/zapier/logout';
export const CONNECTIONS = '/account/connections';
export const REVOKE = '/account/connections/revoke';

/** Builds an authorize URL from a list of parameters, so a test can repeat one. */
export function authorizeUrl(parameters: Readonly<Record<string, string>> | readonly (readonly [string, string])[]): string {
  return `/api/zapier/authorize?${new URLSearchParams(parameters as Record<string, string>).toString()}`;
}

/** Returns the parameters of an ordinary valid request for an account's client. */
export function validParameters(account: TestAccount, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { response_type: 'code', client_id: account.client.id, redirect_uri: account.redirectUri, state: 'state-1', ...extra };
}

/**
 * Opens the authorize URL and signs in with the account's credentials. Returns the consent page response and
 * its decision form.
 */
export async function signInToConsent(
  browser: TestBrowser,
  account: TestAccount,
  extra: Readonly<Record<string, string>> = {},
): Promise<{ page: LightMyRequestResponse; form: ParsedForm }> {
  const login = await browser.get(authorizeUrl(validParameters(account, extra)));
  if (login.statusCode !== 200) throw new Error(`authorize returned ${login.statusCode}: ${login.body.slice(0, 500)}`);
  const loginForm = formOf(login.body, LOGIN);
  const signedIn = await browser.post(LOGIN, { ...loginForm.hidden, email: account.email, password: account.password });
  if (signedIn.statusCode !== 303) throw new Error(`sign-in returned ${signedIn.statusCode}: ${signedIn.body.slice(0, 500)}`);
  const page = await browser.get(String(signedIn.headers.location));
  return { page, form: formOf(page.body, CONSENT) };
}

/** Signs in, allows the request and returns the redirect to the client. */
export async function allowAccess(
  browser: TestBrowser,
  account: TestAccount,
  extra: Readonly<Record<string, string>> = {},
): Promise<URL> {
  const { form } = await signInToConsent(browser, account, extra);
  const response = await browser.post(CONSENT, { ...form.hidden, decision: 'allow' });
  if (response.statusCode !== 302) throw new Error(`allow returned ${response.statusCode}: ${response.body.slice(0, 500)}`);
  return new URL(String(response.headers.location));
}

/** Exchanges an authorization code at the token endpoint and returns the response. */
export function exchangeCode(app: FastifyInstance, account: TestAccount, code: string): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/api/zapier/token',
    payload: new URLSearchParams({
      grant_type: 'authorization_code', code, client_id: account.client.id, client_secret: account.clientSecret, redirect_uri: account.redirectUri,
    }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}
