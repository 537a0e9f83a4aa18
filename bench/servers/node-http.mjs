// The ceiling: a bare node:http server that reads each request body and answers a fixed token response, user
// or page without doing any OAuth work. Every other server is compared with it.
import { createServer } from 'node:http';
import {
  JSON_HEADERS, ME_BODY, PAGE_BODY, PAGE_HEADERS, PATHS, TOKEN_BODY, announceReady, portFromEnv, readBody,
} from './fixtures.mjs';

const port = portFromEnv();

const server = createServer(async (request, response) => {
  await readBody(request);
  const path = request.url.split('?')[0];
  if (request.method === 'POST' && path === PATHS.token) {
    response.writeHead(200, JSON_HEADERS).end(TOKEN_BODY);
  } else if (request.method === 'GET' && path === PATHS.me) {
    response.writeHead(200, JSON_HEADERS).end(ME_BODY);
  } else if (request.method === 'GET' && path === PATHS.authorize) {
    response.writeHead(200, PAGE_HEADERS).end(PAGE_BODY);
  } else {
    response.writeHead(404, JSON_HEADERS).end('{"error":"not_found"}');
  }
});

server.listen(port, '127.0.0.1', () => announceReady(port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
