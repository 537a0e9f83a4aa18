import { timingSafeEqual } from 'node:crypto';
import { PREFIX, freshRandomBytes, type KeyedHasher } from '../crypto/secrets.js';
import type { Context } from '../context.js';
import { detachedCopy } from '../http/strings.js';
import { ALL_SCOPES } from '../oauth/scopes.js';
import type { GrantAccess } from '../storage/types.js';
import { PURPOSE } from './issue.js';

/**
 * Self-contained access tokens. A token carries its grant id, lifetime, scope and a random nonce, sealed with
 * an HMAC under the server key, so issuing one writes nothing to the database. Checking one verifies the MAC
 * and the expiry in memory, then reads the grant in one query, which keeps revocation of a grant (or of the
 * single token, listed in access_token_revocations) effective at once on every instance.
 *
 * Layout before base64url: version (1 byte) | grant id length (1) | grant id (UTF-8) | issued at (8, ms) |
 * expires at (8, ms) | scope bits (2) | nonce (8) | MAC (16, truncated HMAC-SHA-256 of everything before it).
 */
const VERSION = 1;
const MAC_BYTES = 16;
const MAC_PURPOSE = 'access-token-mac';

export interface AccessTokenClaims {
  readonly grantId: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly scope: string;
}

/** Bits of the scope strings seen so far, at most SCOPE_STRINGS of them, because each token issued needs one. */
const BITS_OF_SCOPE = new Map<string, number>();
const SCOPE_STRINGS = 1_000;

/** Scopes are carried as bits in the order of ALL_SCOPES; new scopes must be appended to keep tokens valid. */
function scopeBits(scope: string): number {
  const known = BITS_OF_SCOPE.get(scope);
  if (known !== undefined) return known;
  let bits = 0;
  for (const name of scope.split(' ')) {
    const index = ALL_SCOPES.indexOf(name);
    if (index >= 0) bits |= 1 << index;
  }
  if (BITS_OF_SCOPE.size >= SCOPE_STRINGS) BITS_OF_SCOPE.clear();
  BITS_OF_SCOPE.set(scope, bits);
  return bits;
}

/** The scope string of every combination of bits, built once because each token check needs one. */
const SCOPE_OF_BITS = Array.from({ length: 1 << ALL_SCOPES.length }, (_unused, bits) =>
  ALL_SCOPES.filter((_name, index) => (bits & (1 << index)) !== 0).sort().join(' '));

function scopeOf(bits: number): string {
  return SCOPE_OF_BITS[bits] ?? ALL_SCOPES.filter((_name, index) => (bits & (1 << index)) !== 0).sort().join(' ');
}

/** Builds and seals an access token. */
export function encodeAccessToken(hasher: KeyedHasher, claims: AccessTokenClaims): string {
  const idLength = Buffer.byteLength(claims.grantId, 'utf8');
  if (idLength > 255) throw new Error('grant id too long for an access token');
  const bodyLength = 2 + idLength + 8 + 8 + 2 + 8;
  // One buffer for the body and the MAC that follows it.
  const token = Buffer.allocUnsafe(bodyLength + MAC_BYTES);
  let offset = token.writeUInt8(VERSION, 0);
  offset = token.writeUInt8(idLength, offset);
  offset += token.write(claims.grantId, offset, 'utf8');
  offset = token.writeDoubleBE(claims.issuedAt, offset);
  offset = token.writeDoubleBE(claims.expiresAt, offset);
  offset = token.writeUInt16BE(scopeBits(claims.scope), offset);
  offset += freshRandomBytes(8).copy(token, offset);
  hasher.mac(MAC_PURPOSE, token.subarray(0, bodyLength)).copy(token, offset, 0, MAC_BYTES);
  return PREFIX.accessToken + token.toString('base64url');
}

/** Opens an access token; returns undefined unless its shape and MAC are valid. Expiry is the caller's check. */
export function decodeAccessToken(hasher: KeyedHasher, token: string): AccessTokenClaims | undefined {
  if (!token.startsWith(PREFIX.accessToken) || token.length > 400) return undefined;
  const raw = Buffer.from(token.slice(PREFIX.accessToken.length), 'base64url');
  if (raw.length < 2 + 1 + 8 + 8 + 2 + 8 + MAC_BYTES || raw.readUInt8(0) !== VERSION) return undefined;
  const idLength = raw.readUInt8(1);
  const bodyLength = 2 + idLength + 8 + 8 + 2 + 8;
  if (raw.length !== bodyLength + MAC_BYTES) return undefined;
  const body = raw.subarray(0, bodyLength);
  const expected = hasher.mac(MAC_PURPOSE, body).subarray(0, MAC_BYTES);
  if (!timingSafeEqual(expected, raw.subarray(bodyLength))) return undefined;
  // base64url decoding ignores stray characters, so only the canonical spelling of a token is accepted.
  if (PREFIX.accessToken + raw.toString('base64url') !== token) return undefined;
  let offset = 2;
  const grantId = body.toString('utf8', offset, offset + idLength);
  offset += idLength;
  const issuedAt = body.readDoubleBE(offset);
  const expiresAt = body.readDoubleBE(offset + 8);
  const scope = scopeOf(body.readUInt16BE(offset + 16));
  return { grantId, issuedAt, expiresAt, scope };
}

/** An access token whose MAC this process verified, with the keyed hash that revocations list it under. */
interface VerifiedToken {
  readonly claims: AccessTokenClaims;
  readonly revocationKey: string;
}

/**
 * Tokens whose MAC this process verified, keyed by the token itself (a digest as the key cost about 4 % of a
 * bearer request), for each server key. Memory that holds them also holds the server key (docs/security.md).
 */
const verified = new WeakMap<KeyedHasher, Map<string, VerifiedToken>>();
const VERIFIED_TOKENS = 20_000;

/**
 * Opens an access token like decodeAccessToken, remembering the tokens it verified: a client presents the
 * same token on every call until it expires. The keyed hash for the revocation list is kept with it, so that
 * a token presented again costs one map lookup and no digest.
 */
function verifyAccessToken(hasher: KeyedHasher, token: string): VerifiedToken | undefined {
  let tokens = verified.get(hasher);
  if (tokens === undefined) {
    tokens = new Map();
    verified.set(hasher, tokens);
  }
  const known = tokens.get(token);
  if (known !== undefined) return known;
  const claims = decodeAccessToken(hasher, token);
  if (claims === undefined) return undefined;
  if (tokens.size >= VERIFIED_TOKENS) tokens.clear();
  const entry = Object.freeze({ claims: Object.freeze(claims), revocationKey: hasher.hash(PURPOSE.accessToken, token) });
  // The token is cut out of the Authorization header, which may carry up to 16 KB of padding.
  tokens.set(detachedCopy(token), entry);
  return entry;
}

/** Opens an access token like decodeAccessToken, remembering the tokens it verified (see verifyAccessToken). */
export function openAccessToken(hasher: KeyedHasher, token: string): AccessTokenClaims | undefined {
  return verifyAccessToken(hasher, token)?.claims;
}

/** The state of a presented access token: never issued (or forged), expired, revoked, or active with its grant. */
export type AccessTokenState =
  | { readonly state: 'unknown' }
  | { readonly state: 'expired' | 'revoked'; readonly claims: AccessTokenClaims; readonly grant: GrantAccess | undefined }
  | { readonly state: 'active'; readonly claims: AccessTokenClaims; readonly grant: GrantAccess };

/** Checks a presented access token: the MAC and expiry in memory, then its grant and revocation in one query. */
export async function checkAccessToken(context: Context, token: string): Promise<AccessTokenState> {
  const opened = verifyAccessToken(context.hasher, token);
  if (!opened) return { state: 'unknown' };
  const { claims } = opened;
  if (claims.expiresAt <= context.now()) return { state: 'expired', claims, grant: undefined };
  const grant = await context.store.grants.findGrantAccess(claims.grantId, opened.revocationKey);
  if (!grant || grant.revokedAt !== null || grant.tokenRevoked) return { state: 'revoked', claims, grant };
  return { state: 'active', claims, grant };
}
