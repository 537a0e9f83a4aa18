/** Error codes of RFC 6749 §4.1.2.1 and §5.2, and RFC 6750 §3.1 for protected resources. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'invalid_token'
  | 'insufficient_scope';

const DEFAULT_STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 400,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  unsupported_response_type: 400,
  invalid_scope: 400,
  access_denied: 403,
  server_error: 500,
  temporarily_unavailable: 503,
  invalid_token: 401,
  insufficient_scope: 403,
};

/**
 * An error in the protocol's own terms: the wire code, a description safe to show the client, the HTTP status,
 * and an internal cause that only reaches the log.
 */
export class OAuthError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** A description safe for the client, limited to the characters RFC 6749 §5.2 allows. */
  readonly description: string;

  constructor(
    readonly code: OAuthErrorCode,
    description: string,
    options: { status?: number; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(`${code}: ${description}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.description = safeDescription(description);
    this.name = 'OAuthError';
    this.status = options.status ?? DEFAULT_STATUS[code];
    this.headers = options.headers ?? {};
  }

  /** Returns the RFC 6749 §5.2 response body. */
  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

/**
 * Restricts a description to the characters RFC 6749 §5.2 allows in error_description (printable ASCII
 * without '"' and '\\'), so it can also stand inside a quoted WWW-Authenticate parameter.
 */
export function safeDescription(text: string): string {
  return text.replace(/"/g, "'").replace(/\\/g, '/').replace(/\u2026/g, '...').replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?');
}

export const invalidRequest = (description: string): OAuthError => new OAuthError('invalid_request', description);
export const invalidGrant = (description: string): OAuthError => new OAuthError('invalid_grant', description);
