import { PREFIX, generateOrderedSecret } from '../crypto/secrets.js';
import type { Context } from '../context.js';
import type { PresentedCredentials } from '../oauth/client-auth.js';
import { OAuthError, invalidGrant, invalidRequest } from '../oauth/errors.js';
import { required, type Parameters } from '../oauth/parameters.js';
import { isWellFormedVerifier, verifierMatches } from '../oauth/pkce.js';
import { PURPOSE, credentialKey, newAccessToken, tokenResponse, type Issued } from './issue.js';

/**
 * The authorization_code grant (RFC 6749 §4.1.3). The client must authenticate; the code must be its own,
 * unused and unexpired; redirect_uri and the PKCE verifier must match what the authorization request carried.
 */
export async function exchangeCode(
  context: Context,
  parameters: Parameters,
  credentials: PresentedCredentials | undefined,
  address: string,
): Promise<Issued> {
  if (!credentials) {
    // readClientCredentials returns nothing only when client_id or client_secret is absent.
    required(parameters, 'client_id');
    required(parameters, 'client_secret');
    throw invalidRequest('Client credentials are missing.');
  }
  const code = required(parameters, 'code');
  const client = await context.clients.authenticate(credentials, address);
  const { store, hasher, now } = context;
  const codeHash = credentialKey(hasher, PURPOSE.code, code);
  const record = await store.grants.findCode(codeHash);

  if (!record) {
    await context.limits.failOrThrow('unknownToken', [`address:${address}`]);
    throw invalidGrant('The authorization code is invalid.');
  }
  // RFC 6749 §4.1.3: the code must have been issued to the authenticated client.
  if (record.clientId !== client.id) throw invalidGrant('The authorization code is invalid.');
  if (record.consumedAt !== null) {
    // RFC 6749 §4.1.2: a code used twice revokes the tokens issued from it.
    await store.grants.revoke(record.grantId, now());
    throw codeReplayed(record.grantId);
  }
  if (record.grantRevokedAt !== null) throw invalidGrant('The authorization code has been revoked.');
  if (record.expiresAt <= now()) throw invalidGrant('The authorization code has expired.');

  const redirectUri = parameters.redirect_uri;
  if (record.redirectUriGiven && redirectUri === undefined) {
    throw invalidRequest('The parameter redirect_uri is missing; it was part of the authorization request.');
  }
  if (redirectUri !== undefined && redirectUri !== record.redirectUri) {
    throw invalidGrant('redirect_uri does not match the one of the authorization request.');
  }

  const verifier = parameters.code_verifier;
  if (record.codeChallenge !== null) {
    if (verifier === undefined) throw invalidRequest('The parameter code_verifier is missing; the authorization request had a code_challenge.');
    if (!isWellFormedVerifier(verifier)) throw invalidRequest('code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, "-", ".", "_" and "~".');
    if (!verifierMatches(verifier, record.codeChallenge)) throw invalidGrant('code_verifier does not match the code_challenge.');
  } else if (verifier !== undefined) {
    // RFC 9700 §4.8.2: a verifier for a code issued without a challenge is a downgrade attempt.
    throw invalidGrant('code_verifier was sent, but the authorization request had no code_challenge.');
  }

  const issuedAt = now();
  const access = newAccessToken(context, record.grantId, record.scope, issuedAt);
  const refresh = generateOrderedSecret(PREFIX.refreshToken, issuedAt);
  const refreshRow = { hash: credentialKey(hasher, PURPOSE.refreshToken, refresh), grantId: record.grantId, createdAt: issuedAt };
  if (!(await store.grants.redeemCode(codeHash, issuedAt, refreshRow))) {
    // Another request redeemed the code first, or it expired or was revoked meanwhile.
    const latest = await store.grants.findCode(codeHash);
    if (latest?.consumedAt !== null && latest?.consumedAt !== undefined) {
      await store.grants.revoke(record.grantId, now());
      throw codeReplayed(record.grantId);
    }
    throw invalidGrant('The authorization code is no longer valid.');
  }
  return {
    response: tokenResponse(context, access, refresh, record.scope),
    grantId: record.grantId,
    userId: record.userId,
    clientId: client.id,
    rotated: false,
  };
}

/** Marks a second use of an authorization code, for the log and the audit trail. */
export class CodeReplay extends Error {
  constructor(readonly grantId: string) {
    super(`authorization code used again; grant ${grantId} revoked`);
    this.name = 'CodeReplay';
  }
}

function codeReplayed(grantId: string): OAuthError {
  return new OAuthError('invalid_grant', 'The authorization code has already been used.', { cause: new CodeReplay(grantId) });
}

