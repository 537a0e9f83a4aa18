import type { FastifyLoggerOptions } from 'fastify';
import type { LoggerOptions } from 'pino';
import type { LogLevel } from '../config/config.js';
import { redactUrl } from './redaction.js';

/**
 * Pino options: one line per request with its id, and redaction of every header and field that can carry a
 * secret. Bodies are never logged.
 */
export function loggerOptions(level: LogLevel, stream?: NodeJS.WritableStream): FastifyLoggerOptions & LoggerOptions {
  return {
    level,
    ...(stream ? { stream } : {}),
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["proxy-authorization"]',
        'res.headers["set-cookie"]',
        'res.headers.location',
        '*.password',
        '*.client_secret',
        '*.access_token',
        '*.refresh_token',
        '*.code_verifier',
      ],
      censor: '[Redacted]',
    },
    serializers: {
      req(request: { id: string; method: string; url: string; ip: string }) {
        return { id: request.id, method: request.method, url: redactUrl(request.url), remoteAddress: request.ip };
      },
    },
  };
}
