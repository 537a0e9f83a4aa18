import type { FastifyInstance } from 'fastify';
import type { Context } from '../context.js';

/** GET /openapi.json. */
export function openapiRoute(_app: FastifyInstance, _context: Context): void {}
