import { createHash } from 'node:crypto';
import { constantTimeEqual } from '../crypto/secrets.js';

/** RFC 7636 §4.1: a verifier is 43 to 128 unreserved characters; a S256 challenge has the same alphabet. */
const VERIFIER_SHAPE = /^[A-Za-z0-9\-._~]{43,128}$/;

export const isWellFormedVerifier = (value: string): boolean => VERIFIER_SHAPE.test(value);

/** RFC 7636 §4.2: a S256 challenge is the base64url SHA-256 of the verifier, 43 characters long. */
export const isWellFormedChallenge = (value: string): boolean => /^[A-Za-z0-9\-_]{43}$/.test(value);

/** Checks a verifier against its S256 challenge in constant time (RFC 7636 §4.6). */
export function verifierMatches(verifier: string, challenge: string): boolean {
  const computed = createHash('sha256').update(verifier, 'ascii').digest('base64url');
  return constantTimeEqual(computed, challenge);
}
