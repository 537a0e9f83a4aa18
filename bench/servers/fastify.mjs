// Fastify 5 answering the same fixed bodies as the node:http ceiling, with the form body parser our server
// uses: the cost of the framework alone.
import Fastify from 'fastify';
import formbody from '@fastify/formbody';
import {
  JSON_HEADERS, ME_BODY, PAGE_BODY, PAGE_HEADERS, PATHS, TOKEN_BODY, announceReady, portFromEnv,
} from './fixtures.mjs';

const port = portFromEnv();
const app = Fastify({ logger: false });
await app.register(formbody);

app.post(PATHS.token, async (request, reply) => reply.headers(JSON_HEADERS).send(TOKEN_BODY));
app.get(PATHS.me, async (request, reply) => reply.headers(JSON_HEADERS).send(ME_BODY));
app.get(PATHS.authorize, async (request, reply) => reply.headers(PAGE_HEADERS).send(PAGE_BODY));

await app.listen({ host: '127.0.0.1', port });
announceReady(port);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
