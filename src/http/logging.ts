import type { FastifyBaseLogger } from 'fastify';
import pino, { type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/config.js';
import { redactUrl } from './redaction.js';

/**
 * The server's two loggers, writing to one destination:
 * - `app`, for everything a handler or the server logs, redacts every header and field that can carry a
 *   secret, wherever it sits in the logged object;
 * - `access`, for the one line per request, logs only fields this module builds from the request (the URL
 *   already redacted), so it needs no redaction pass. That pass walks every logged object for wildcard paths
 *   and cost about a third of the CPU of a bearer-token request.
 * Bodies are never logged.
 */
export interface Loggers {
  readonly app: Logger;
  readonly access: Logger;
  /** Writes out what the destination still buffers; call before the process exits. */
  readonly flush: () => void;
}

/**
 * Characters of log lines that may wait for a slow stdout: about a second of lines at 4,000 requests/s. It
 * is kept small because the lines still waiting are written out synchronously when the process exits.
 */
const MAX_BUFFERED = 1024 * 1024;

const REDACTED_PATHS = [
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
];

/**
 * Creates both loggers. Without a stream they write to stdout asynchronously: lines logged while a write is
 * in flight go out together in the next one, instead of one system call per line.
 */
export function createLoggers(level: LogLevel, stream?: NodeJS.WritableStream): Loggers {
  // When stdout is slower than the server, at most MAX_BUFFERED characters wait; lines beyond them are
  // dropped instead of growing the process without bound.
  const destination = stream === undefined
    ? pino.destination({ dest: 1, sync: false, maxLength: MAX_BUFFERED })
    : (stream as unknown as DestinationStream);
  const app = pino({
    level,
    redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
    serializers: {
      req(request: { id: string; method: string; url: string; ip: string }) {
        return { id: request.id, method: request.method, url: redactUrl(request.url), remoteAddress: request.ip };
      },
    },
  }, destination);
  const access = pino({ level }, destination);
  const flush = (): void => {
    if (stream === undefined) (destination as ReturnType<typeof pino.destination>).flushSync();
  };
  return { app, access, flush };
}

/** The fields of a request's access line. The handler may add details such as the client id or the OAuth error. */
export interface AccessLine {
  readonly reqId: string;
  readonly method: string;
  readonly url: string;
  readonly remoteAddress: string;
  readonly statusCode: number;
  readonly responseTime: number;
  readonly details: Record<string, unknown> | null;
}

/** Writes the one line of a finished request; 5xx responses are logged at error, the rest at info. */
export function logAccess(logger: Logger, line: AccessLine): void {
  const level = line.statusCode >= 500 ? 'error' : 'info';
  if (!logger.isLevelEnabled(level)) return;
  logger[level]({
    reqId: line.reqId,
    req: { id: line.reqId, method: line.method, url: redactUrl(line.url), remoteAddress: line.remoteAddress },
    res: { statusCode: line.statusCode },
    responseTime: Math.round(line.responseTime * 100) / 100,
    ...line.details,
  }, 'request completed');
}

type LogArguments = Parameters<Logger['info']>;

/**
 * The logger of one request. Fastify gives every request a child logger that binds its id, and building a
 * pino child with redaction showed up in CPU profiles of the token endpoints at a few percent. Most requests log nothing but their access
 * line, so the child is built on the first call that logs.
 */
class RequestLogger {
  #child: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  get level(): string {
    return this.#child?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.#logger().level = level;
  }

  fatal(...args: LogArguments): void {
    this.#logger().fatal(...args);
  }

  error(...args: LogArguments): void {
    this.#logger().error(...args);
  }

  warn(...args: LogArguments): void {
    this.#logger().warn(...args);
  }

  info(...args: LogArguments): void {
    this.#logger().info(...args);
  }

  debug(...args: LogArguments): void {
    this.#logger().debug(...args);
  }

  trace(...args: LogArguments): void {
    this.#logger().trace(...args);
  }

  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }

  isLevelEnabled(level: string): boolean {
    return (this.#logger() as Logger).isLevelEnabled(level);
  }

  #logger(): FastifyBaseLogger {
    this.#child ??= this.parent.child(this.bindings, this.options);
    return this.#child;
  }
}

/** Fastify's childLoggerFactory: a request logger that builds its pino child only when something is logged. */
export function requestLoggerFactory(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new RequestLogger(logger, bindings, options) as unknown as FastifyBaseLogger;
}
