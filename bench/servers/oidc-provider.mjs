// oidc-provider 9 configured as its documentation shows: one confidential client that authenticates with
// client_secret_post (credentials in the form body, as Zapier sends them), opaque tokens, and refresh tokens
// on the library's defaults unless BENCH_ROTATE_REFRESH_TOKEN=true sets rotateRefreshToken to true.
//
// Grants, refresh tokens, access tokens and authorization codes are minted with the provider's own models
// (Grant, RefreshToken, AccessToken, AuthorizationCode) through routes under /__bench/, which the driver calls
// before it measures. The measured routes are the provider's token and userinfo endpoints.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import { MapAdapter } from './map-adapter.mjs';
import { ACCOUNT, PATHS, PEER_CLIENT_ID, REDIRECT_URI, announceReady, portFromEnv } from './fixtures.mjs';

const port = portFromEnv();
const clientSecret = process.env.BENCH_CLIENT_SECRET;
if (!clientSecret) throw new Error('BENCH_CLIENT_SECRET is not set; the driver passes the client secret in it');

const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const provider = new Provider(`http://127.0.0.1:${port}`, {
  adapter: MapAdapter,
  clients: [{
    client_id: PEER_CLIENT_ID,
    client_secret: clientSecret,
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  async findAccount(ctx, sub) {
    return { accountId: sub, claims: async () => ({ sub, email: ACCOUNT.email, name: ACCOUNT.name }) };
  },
  claims: { email: ['email'], profile: ['name'] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  jwks: { keys: [signingKey] },
  features: { devInteractions: { enabled: false } },
  routes: { token: PATHS.token, userinfo: PATHS.me },
  ...(process.env.BENCH_ROTATE_REFRESH_TOKEN === 'true' ? { rotateRefreshToken: true } : {}),
});

const client = await provider.Client.find(PEER_CLIENT_ID);
const epoch = () => Math.floor(Date.now() / 1000);

async function mintGrant(scope) {
  const grant = new provider.Grant({ accountId: ACCOUNT.id, clientId: PEER_CLIENT_ID });
  grant.addOIDCScope(scope);
  return grant.save();
}

// The plain OAuth 2.0 scope offline_access, without openid, so that no ID token is signed: our server issues
// none either.
async function mintRefreshToken() {
  const grantId = await mintGrant('offline_access');
  const now = epoch();
  const token = new provider.RefreshToken({
    accountId: ACCOUNT.id, client, grantId, scope: 'offline_access', gty: 'authorization_code', authTime: now, iiat: now,
  });
  return token.save();
}

// The userinfo endpoint serves only access tokens with the openid scope.
async function mintAccessToken() {
  const grantId = await mintGrant('openid');
  const token = new provider.AccessToken({ accountId: ACCOUNT.id, client, grantId, scope: 'openid', gty: 'authorization_code' });
  return token.save();
}

async function mintCode() {
  const grantId = await mintGrant('offline_access');
  const code = new provider.AuthorizationCode({
    accountId: ACCOUNT.id, client, grantId, scope: 'offline_access', redirectUri: REDIRECT_URI, authTime: epoch(),
  });
  return code.save();
}

async function mintMany(mint, count) {
  const values = [];
  for (let i = 0; i < count; i += 1) values.push(await mint());
  return values;
}

const handle = provider.callback();

const server = createServer(async (request, response) => {
  const url = new URL(request.url, 'http://127.0.0.1');
  if (request.method !== 'POST' || !url.pathname.startsWith('/__bench/')) return handle(request, response);
  const count = Number(url.searchParams.get('count') ?? '1');
  let values;
  if (url.pathname === '/__bench/refresh-tokens') values = await mintMany(mintRefreshToken, count);
  else if (url.pathname === '/__bench/access-tokens') values = await mintMany(mintAccessToken, count);
  else if (url.pathname === '/__bench/codes') values = await mintMany(mintCode, count);
  else return response.writeHead(404).end();
  response.writeHead(200, { 'content-type': 'text/plain' }).end(values.join('\n'));
});

server.listen(port, '127.0.0.1', () => announceReady(port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
