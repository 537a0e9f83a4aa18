// Fixed values shared by the benchmark's server scripts and its driver: the client every server registers,
// the account that owns every grant, and the bodies the two fixed-response servers send.

/** Redirect URI registered for the benchmark client. It is only compared as a string and never contacted. */
export const REDIRECT_URI = 'http://127.0.0.1/bench/callback';

/** Client id used by the peer servers; our server generates its own through `kiwiform clients create`. */
export const PEER_CLIENT_ID = 'bench-client';

/** The account that owns every grant on the peer servers. */
export const ACCOUNT = { id: 'bench-user', email: 'bench@example.com', name: 'Bench User' };

/** Paths every server answers, so that one driver setup fits all of them. */
export const PATHS = {
  token: '/api/zapier/token',
  me: '/api/zapier/me',
  authorize: '/api/zapier/authorize',
};

const token = (prefix) => prefix + 'x'.repeat(43);

/** A token response of the same shape and size as our server's. */
export const TOKEN_BODY = JSON.stringify({
  access_token: token('atk_'),
  token_type: 'Bearer',
  expires_in: 3600,
  refresh_token: token('rtk_'),
  scope: 'forms:read forms:write responses:read',
});

export const ME_BODY = JSON.stringify({ id: 'x'.repeat(22), email: ACCOUNT.email, name: ACCOUNT.name });

/** An HTML page about the size of our consent page (about 3 KB). */
export const PAGE_BODY = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Allow access · Kiwiform</title></head>
<body><main class="card"><h1>Allow access</h1>${'<p>Fixed benchmark text of a consent page.</p>\n'.repeat(60)}</main></body></html>`;

/** Headers of a token response as RFC 6749 §5.1 requires them. */
export const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  pragma: 'no-cache',
};

export const PAGE_HEADERS = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' };

/** Reads the listening port from the PORT environment variable, which the benchmark driver always sets. */
export function portFromEnv() {
  const port = Number(process.env.PORT);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`PORT must be a TCP port number, got ${JSON.stringify(process.env.PORT)}`);
  return port;
}

/** Reads a request body to the end as a string. */
export function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Prints the line the driver waits for before it starts measuring. */
export function announceReady(port) {
  process.stdout.write(`ready on http://127.0.0.1:${port}\n`);
}
