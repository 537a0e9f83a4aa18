import { OAuthError } from '../oauth/errors.js';
import { LimitExceeded } from '../security/abuse-limits.js';

/**
 * Database failures that are worth a retry: a busy, slow or unreachable database, never a bad request.
 * PostgreSQL SQLSTATEs: 08xxx connection exceptions, 40001 serialization failure, 40P01 deadlock, 53xxx
 * insufficient resources (53300 is too many connections), 57014 query canceled (statement_timeout), 57P01-03
 * server shutting down or not yet accepting connections, 55000 and 3D000 a database that refuses connections or
 * is missing, 28xxx rejected database credentials. The messages are those of the pg client and pool.
 */
export function isTemporaryStorageFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = 'code' in error ? String(error.code) : '';
  return (
    /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|PROTOCOL|READONLY)/.test(code) ||
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|08\w{3}|40001|40P01|53\w{3}|57014|57P0[1-3]|55000|3D000|28\w{3})$/.test(code) ||
    error.message === 'The database connection is not open' ||
    /timeout exceeded when trying to connect|Connection terminated|Query read timeout|connection error and is not queryable|Cannot use a pool after calling end/i.test(error.message)
  );
}

/** Text PostgreSQL refuses to store (22021: a NUL byte or an invalid UTF-8 sequence, 22P05: untranslatable). */
export function isRejectedText(error: unknown): boolean {
  return error instanceof Error && 'code' in error && (error.code === '22021' || error.code === '22P05');
}

/**
 * Converts whatever a JSON API route threw into an OAuthError: protocol errors pass through, malformed
 * requests become invalid_request, storage outages become temporarily_unavailable with Retry-After, and
 * anything else becomes server_error (a bug, logged with its cause).
 */
export function toOAuthError(error: unknown): OAuthError {
  if (error instanceof OAuthError) return error;
  if (error instanceof LimitExceeded) {
    return new OAuthError('temporarily_unavailable', 'Too many failed attempts; retry after the delay in Retry-After.', {
      status: 429,
      headers: { 'retry-after': String(error.retryAfterSeconds) },
      cause: error,
    });
  }
  const fastifyError = error as { code?: string; statusCode?: number; message?: string };
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new OAuthError('invalid_request', 'The request body is too large.', { status: 413, cause: error });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new OAuthError(
        'invalid_request',
        'Unsupported Content-Type; send application/x-www-form-urlencoded or application/json.',
        { cause: error },
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new OAuthError('invalid_request', 'The JSON request body is empty.', { cause: error });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new OAuthError('invalid_request', 'The request body is not valid JSON.', { cause: error });
    default:
      break;
  }
  if (error instanceof SyntaxError || (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500)) {
    return new OAuthError('invalid_request', 'The request could not be read: it is malformed.', { cause: error });
  }
  if (isRejectedText(error)) {
    return new OAuthError('invalid_request', 'A parameter contains a character the server cannot store.', { cause: error });
  }
  if (isTemporaryStorageFailure(error)) {
    return new OAuthError('temporarily_unavailable', 'The service is temporarily unavailable; retry shortly.', {
      status: 503,
      headers: { 'retry-after': '5' },
      cause: error,
    });
  }
  return new OAuthError('server_error', 'The server failed to process the request.', { status: 500, cause: error });
}
