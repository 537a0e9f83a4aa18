import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isRejectedText, isTemporaryStorageFailure } from '../http/error-mapping.js';
import { LimitExceeded } from '../security/abuse-limits.js';
import { sendPage } from './html.js';
import { messagePage, minutesInWords } from './views.js';

/**
 * A request the pages cannot serve, shown to the person as an HTML page: a status, a short title for the
 * heading and a plain explanation of what went wrong and what to do next.
 */
export class PageError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly explanation: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`${title}: ${explanation}`);
    this.name = 'PageError';
  }
}

/** Builds the 400 page for a form body that is not one string value per field. */
export function malformedForm(detail: string): PageError {
  return new PageError(400, 'This form could not be read', `${detail} Go back, reload the page and try again.`);
}

function toPageError(error: unknown): PageError {
  if (error instanceof PageError) return error;
  if (error instanceof LimitExceeded) {
    return new PageError(
      429,
      'Too many failed attempts',
      `Kiwiform has paused these attempts for a while. Try again in ${minutesInWords(error.retryAfterSeconds)}.`,
      { 'retry-after': String(error.retryAfterSeconds) },
    );
  }
  const code = (error as { code?: unknown }).code;
  const statusCode = (error as { statusCode?: unknown }).statusCode;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new PageError(413, 'This form is too large', 'The form sent more data than this page accepts. Go back and try again.');
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return malformedForm('The form was not sent as application/x-www-form-urlencoded.');
  }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new PageError(400, 'This request could not be read', 'The request is malformed. Go back and try again.');
  }
  // The pages reject NUL characters before any query, so this catches only other text the database rejects.
  if (isRejectedText(error)) {
    return new PageError(400, 'This request could not be read', 'It contains a character that Kiwiform cannot store. Go back and try again.');
  }
  if (isTemporaryStorageFailure(error)) {
    return new PageError(503, 'Kiwiform is temporarily unavailable', 'Please wait a few seconds and try again.', {
      'retry-after': '5',
    });
  }
  return new PageError(500, 'Something went wrong', 'Kiwiform could not finish this request. Please try again later.');
}

/**
 * Error handler of the page routes: every failure becomes an HTML page. Rejected requests are logged at info,
 * storage outages at warn and bugs at error with their cause. Nothing that carries a secret is logged.
 */
export function sendErrorPage(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const page = toPageError(error);
  if (error instanceof LimitExceeded) request.server.context.metrics.limitRejections.inc({ limit: error.kind });
  if (page.status >= 500 && page.status !== 503) {
    request.log.error({ err: error }, 'page request failed');
  } else if (page.status === 503) {
    request.log.warn({ err: error }, 'page request failed: storage temporarily unavailable');
  } else {
    request.log.info({ status: page.status, reason: page.title }, 'page request rejected');
  }
  return sendPage(reply, page.status, messagePage(page.title, page.explanation), { headers: page.headers });
}
