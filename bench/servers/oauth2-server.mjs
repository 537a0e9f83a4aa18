// @node-oauth/oauth2-server 5 on bare node:http with an in-memory model, as its documentation shows: Maps of
// clients, tokens and codes keyed by their values. The refresh grant rotates refresh tokens by default
// (alwaysIssueNewRefreshToken); BENCH_ROTATE_REFRESH_TOKEN=false turns that off so that it can be compared
// with servers that keep the refresh token.
//
// Refresh tokens, access tokens and codes are added to the model through routes under /__bench/, which the
// driver calls before it measures.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import OAuth2Server from '@node-oauth/oauth2-server';
import {
  ACCOUNT, JSON_HEADERS, PATHS, PEER_CLIENT_ID, REDIRECT_URI, announceReady, portFromEnv, readBody,
} from './fixtures.mjs';

const { Request, Response } = OAuth2Server;
const port = portFromEnv();
const clientSecret = process.env.BENCH_CLIENT_SECRET;
if (!clientSecret) throw new Error('BENCH_CLIENT_SECRET is not set; the driver passes the client secret in it');

const ACCESS_TOKEN_LIFETIME_S = 3600;
const REFRESH_TOKEN_LIFETIME_S = 14 * 24 * 3600;
const CODE_LIFETIME_S = 600;

const client = { id: PEER_CLIENT_ID, grants: ['authorization_code', 'refresh_token'], redirectUris: [REDIRECT_URI] };
const user = { id: ACCOUNT.id, email: ACCOUNT.email, name: ACCOUNT.name };
const accessTokens = new Map();
const refreshTokens = new Map();
const codes = new Map();

const model = {
  async getClient(clientId, secret) {
    if (clientId !== client.id) return null;
    if (secret !== undefined && secret !== null && secret !== clientSecret) return null;
    return client;
  },
  async saveToken(token, tokenClient, tokenUser) {
    const saved = { ...token, client: tokenClient, user: tokenUser };
    accessTokens.set(token.accessToken, saved);
    if (token.refreshToken) refreshTokens.set(token.refreshToken, saved);
    return saved;
  },
  async getAccessToken(accessToken) {
    return accessTokens.get(accessToken) ?? null;
  },
  async getRefreshToken(refreshToken) {
    return refreshTokens.get(refreshToken) ?? null;
  },
  async revokeToken(token) {
    return refreshTokens.delete(token.refreshToken);
  },
  async getAuthorizationCode(code) {
    return codes.get(code) ?? null;
  },
  async revokeAuthorizationCode(code) {
    return codes.delete(code.authorizationCode);
  },
  async saveAuthorizationCode(code, codeClient, codeUser) {
    const saved = { ...code, client: codeClient, user: codeUser };
    codes.set(code.authorizationCode, saved);
    return saved;
  },
};

const oauth = new OAuth2Server({
  model,
  accessTokenLifetime: ACCESS_TOKEN_LIFETIME_S,
  refreshTokenLifetime: REFRESH_TOKEN_LIFETIME_S,
  alwaysIssueNewRefreshToken: process.env.BENCH_ROTATE_REFRESH_TOKEN !== 'false',
});

const secondsFromNow = (seconds) => new Date(Date.now() + seconds * 1000);
const newValue = () => randomBytes(32).toString('hex');

function mint(kind) {
  if (kind === 'codes') {
    const authorizationCode = newValue();
    codes.set(authorizationCode, {
      authorizationCode, expiresAt: secondsFromNow(CODE_LIFETIME_S), redirectUri: REDIRECT_URI, scope: ['read'], client, user,
    });
    return authorizationCode;
  }
  const token = {
    accessToken: newValue(),
    accessTokenExpiresAt: secondsFromNow(ACCESS_TOKEN_LIFETIME_S),
    refreshToken: newValue(),
    refreshTokenExpiresAt: secondsFromNow(REFRESH_TOKEN_LIFETIME_S),
    scope: ['read'],
    client,
    user,
  };
  accessTokens.set(token.accessToken, token);
  refreshTokens.set(token.refreshToken, token);
  return kind === 'access-tokens' ? token.accessToken : token.refreshToken;
}

function send(response, status, headers, body) {
  response.writeHead(status, { ...JSON_HEADERS, ...headers }).end(JSON.stringify(body));
}

async function handle(request, response) {
  const url = new URL(request.url, 'http://127.0.0.1');
  const text = await readBody(request);
  const body = Object.fromEntries(new URLSearchParams(text));

  if (request.method === 'POST' && url.pathname.startsWith('/__bench/')) {
    const kind = url.pathname.slice('/__bench/'.length);
    if (!['refresh-tokens', 'access-tokens', 'codes'].includes(kind)) return response.writeHead(404).end();
    const count = Number(url.searchParams.get('count') ?? '1');
    const values = Array.from({ length: count }, () => mint(kind));
    return response.writeHead(200, { 'content-type': 'text/plain' }).end(values.join('\n'));
  }

  const oauthRequest = new Request({
    method: request.method, query: Object.fromEntries(url.searchParams), headers: request.headers, body,
  });
  const oauthResponse = new Response(response);
  try {
    if (request.method === 'POST' && url.pathname === PATHS.token) {
      await oauth.token(oauthRequest, oauthResponse);
      return send(response, oauthResponse.status, oauthResponse.headers, oauthResponse.body);
    }
    if (request.method === 'GET' && url.pathname === PATHS.me) {
      const token = await oauth.authenticate(oauthRequest, oauthResponse);
      return send(response, 200, {}, { id: token.user.id, email: token.user.email, name: token.user.name });
    }
    return send(response, 404, {}, { error: 'not_found' });
  } catch (error) {
    const status = error.code ?? 500;
    return send(response, status, oauthResponse.headers, { error: error.name, error_description: error.message });
  }
}

const server = createServer((request, response) => {
  handle(request, response).catch((error) => {
    process.stderr.write(`request failed: ${error.stack}\n`);
    if (!response.headersSent) send(response, 500, {}, { error: 'server_error' });
  });
});

server.listen(port, '127.0.0.1', () => announceReady(port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
