import type { Context } from '../context.js';
import type { PresentedCredentials } from '../oauth/client-auth.js';
import { OAuthError, invalidGrant } from '../oauth/errors.js';
import { required, type Parameters } from '../oauth/parameters.js';
import { formatScope, parseScope, scopesOutside } from '../oauth/scopes.js';
import { PURPOSE, newAccessToken, tokenResponse, type TokenResponse } from './issue.js';

/**
 * The refresh_token grant (RFC 6749 §6). Client credentials are optional, as the published API allows; when
 * present they must be valid and belong to the client the token was issued to. The same refresh token comes
 * back, so a refresh writes nothing but the new access token.
 */
export async function refreshAccessToken(
  context: Context,
  parameters: Parameters,
  credentials: PresentedCredentials | undefined,
): Promise<TokenResponse> {
  const refreshToken = required(parameters, 'refresh_token');
  const client = credentials ? await context.clients.authenticate(credentials) : undefined;
  const claimedClientId = client?.id ?? parameters.client_id;

  const { store, hasher, now } = context;
  const record = await store.grants.findRefreshToken(hasher.hash(PURPOSE.refreshToken, refreshToken));
  if (!record || record.grantRevokedAt !== null) throw invalidGrant('The refresh token is invalid or has been revoked.');
  // RFC 6749 §6: the refresh token must have been issued to the client that presents it.
  if (claimedClientId !== undefined && claimedClientId !== record.clientId) {
    throw invalidGrant('The refresh token was issued to another client.');
  }

  let scope = record.scope;
  if (parameters.scope !== undefined) {
    const requested = parseScope(parameters.scope);
    const outside = scopesOutside(requested, parseScope(record.scope));
    // RFC 6749 §6: a refresh may narrow the scope but never add to what the owner granted.
    if (outside.length > 0) {
      throw new OAuthError('invalid_scope', `The scope exceeds the original grant: ${outside.join(' ')}.`);
    }
    scope = formatScope(requested);
  }

  const access = newAccessToken(context, record.grantId, scope, now());
  if (!(await store.grants.issueAccessToken(access.row))) throw invalidGrant('The refresh token has been revoked.');
  return tokenResponse(context, access.value, refreshToken, scope);
}
