import type { Context } from '../context.js';
import { PREFIX, timePrefix } from '../crypto/secrets.js';
import type { PresentedCredentials } from '../oauth/client-auth.js';
import { OAuthError, invalidGrant } from '../oauth/errors.js';
import { printable, required, type Parameters } from '../oauth/parameters.js';
import { formatScope, parseScope, scopesOutside } from '../oauth/scopes.js';
import type { RefreshTokenRecord } from '../storage/types.js';
import { PURPOSE, credentialKey, newAccessToken, tokenResponse, type Issued } from './issue.js';

/**
 * Derives the refresh token that replaces `token` when it is retired at `retiredAt`. Deriving it with the
 * server key, instead of drawing it at random, lets a retired token presented again within the grace window
 * return the same successor without any token being stored in clear. Like a new refresh token, it starts with
 * its creation time, which is the retirement time stored with the retired token. Without `retiredAt` it is
 * the successor that rotations derived before refresh tokens carried their creation time.
 */
function successorOf(context: Context, token: string, retiredAt?: number): string {
  const time = retiredAt === undefined ? '' : timePrefix(retiredAt);
  return PREFIX.refreshToken + time + context.hasher.hash('refresh-successor', token);
}

/**
 * The refresh_token grant (RFC 6749 §6). Client credentials are optional, as the published API allows; when
 * present they must be valid and belong to the client the token was issued to. Without rotation the same
 * refresh token comes back, so a refresh writes nothing but the new access token.
 */
export async function refreshAccessToken(
  context: Context,
  parameters: Parameters,
  credentials: PresentedCredentials | undefined,
  address: string,
): Promise<Issued> {
  const refreshToken = required(parameters, 'refresh_token');
  const client = credentials ? await context.clients.authenticate(credentials, address) : undefined;
  const claimedClientId = client?.id ?? parameters.client_id;

  const { store, hasher, now, config } = context;
  const hash = credentialKey(hasher, PURPOSE.refreshToken, refreshToken, true);
  const record = await store.grants.findRefreshToken(hash);
  if (!record) await context.limits.failOrThrow('unknownToken', [`address:${address}`]);
  if (!record || record.grantRevokedAt !== null) throw invalidGrant('The refresh token is invalid or has been revoked.');
  // RFC 6749 §6: the refresh token must have been issued to the client that presents it.
  if (claimedClientId !== undefined && claimedClientId !== record.clientId) {
    throw invalidGrant('The refresh token was issued to another client.');
  }
  const scope = narrowedScope(record, parameters.scope);
  const access = newAccessToken(context, record.grantId, scope, now());
  const result = (refresh: string, rotated: boolean): Issued => ({
    response: tokenResponse(context, access, refresh, scope),
    grantId: record.grantId,
    userId: record.userId,
    clientId: record.clientId,
    rotated,
  });

  if (record.rotatedAt === null && !(record.clientRotation ?? config.refreshTokenRotation)) {
    // Nothing is written: the access token is self-contained, and each use checks that the grant still lives.
    context.uses.record(record.grantId);
    return result(refreshToken, false);
  }

  if (record.rotatedAt === null) {
    // The successor's creation time and the retirement time are one, so that a retry can derive it again.
    const retiredAt = now();
    const successor = successorOf(context, refreshToken, retiredAt);
    const successorRow = { hash: credentialKey(hasher, PURPOSE.refreshToken, successor), grantId: record.grantId, createdAt: retiredAt };
    if (await store.grants.rotateRefreshToken(hash, retiredAt, successorRow)) {
      context.uses.record(record.grantId);
      return result(successor, true);
    }
  }

  // The token was retired by an earlier or a concurrent rotation, or its grant was revoked meanwhile.
  const current = record.rotatedAt === null ? await store.grants.findRefreshToken(hash) : record;
  if (!current || current.grantRevokedAt !== null) throw invalidGrant('The refresh token is invalid or has been revoked.');
  const retired = current.rotatedAt;
  if (retired !== null && now() - retired <= config.refreshTokenGrace * 1000) {
    // Within the grace window a retry or a parallel request gets the same successor, not an error.
    // A token retired before successors carried their time has the successor without it.
    for (const successor of [successorOf(context, refreshToken, retired), successorOf(context, refreshToken)]) {
      if (await store.grants.findRefreshToken(credentialKey(hasher, PURPOSE.refreshToken, successor))) return result(successor, true);
    }
    throw invalidGrant('The refresh token is invalid or has been revoked.');
  }
  // RFC 9700 §4.14.2: a retired refresh token used again means it may be stolen, so the whole grant dies.
  await store.grants.revoke(record.grantId, now());
  throw new OAuthError('invalid_grant', 'The refresh token has already been used; the grant is revoked.', {
    cause: new RefreshTokenReuse(record.grantId, record.clientId),
  });
}

/** Marks a reused retired refresh token in the log and the audit trail. */
export class RefreshTokenReuse extends Error {
  constructor(readonly grantId: string, readonly clientId: string) {
    super(`retired refresh token reused; grant ${grantId} revoked`);
    this.name = 'RefreshTokenReuse';
  }
}

function narrowedScope(record: RefreshTokenRecord, requestedScope: string | undefined): string {
  if (requestedScope === undefined) return record.scope;
  const requested = parseScope(requestedScope);
  if (requested.length === 0) throw new OAuthError('invalid_scope', 'The scope parameter contains no scope.');
  const outside = scopesOutside(requested, parseScope(record.scope));
  // RFC 6749 §6: a refresh may narrow the scope but never add to what the owner granted.
  if (outside.length > 0) throw new OAuthError('invalid_scope', `The scope exceeds the original grant: ${printable(outside.join(' '))}.`);
  return formatScope(requested);
}
