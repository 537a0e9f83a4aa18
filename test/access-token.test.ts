import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { KeyedHasher } from '../src/crypto/secrets.js';
import { decodeAccessToken, encodeAccessToken, openAccessToken } from '../src/grants/access-token.js';
import { ALL_SCOPES } from '../src/oauth/scopes.js';

const hasher = new KeyedHasher(randomBytes(32));
const claims = { grantId: 'grant-1', issuedAt: 1_000, expiresAt: 3_601_000, scope: 'forms:read profile' };

test('scope bits keep their order and fit', () => {
  // Tokens carry scopes as bits in this order: reordering would change the scope of issued tokens.
  assert.deepEqual(ALL_SCOPES, ['profile', 'forms:read', 'forms:write', 'submissions:read']);
  assert.ok(ALL_SCOPES.length <= 16, 'an access token has 16 scope bits');
});

test('access token round trip', () => {
  const token = encodeAccessToken(hasher, claims);
  assert.match(token, /^atk_[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeAccessToken(hasher, token), claims);
});

test('tampered access tokens are rejected', () => {
  const token = encodeAccessToken(hasher, claims);
  const raw = Buffer.from(token.slice(4), 'base64url');
  for (let index = 0; index < raw.length; index++) {
    const changed = Buffer.from(raw);
    changed[index] = changed[index]! ^ 0x01;
    assert.equal(decodeAccessToken(hasher, `atk_${changed.toString('base64url')}`), undefined, `byte ${index}`);
  }
  assert.equal(decodeAccessToken(hasher, `${token}=`), undefined);
  assert.equal(decodeAccessToken(hasher, token.slice(0, -1)), undefined);
  assert.equal(decodeAccessToken(new KeyedHasher(randomBytes(32)), token), undefined);
});

test('remembered tokens stay bound to their key', () => {
  const token = encodeAccessToken(hasher, claims);
  assert.deepEqual(openAccessToken(hasher, token), claims);
  assert.deepEqual(openAccessToken(hasher, token), claims);
  assert.equal(openAccessToken(new KeyedHasher(randomBytes(32)), token), undefined);
  const raw = Buffer.from(token.slice(4), 'base64url');
  raw[raw.length - 1] = raw[raw.length - 1]! ^ 0x01;
  assert.equal(openAccessToken(hasher, `atk_${raw.toString('base64url')}`), undefined);
});

test('recurring hashes equal plain hashes', () => {
  const other = new KeyedHasher(randomBytes(32));
  for (const value of ['rtk_first', 'rtk_second', 'rtk_first']) {
    assert.equal(hasher.hashRecurring('refresh-token', value), hasher.hash('refresh-token', value));
    assert.equal(other.hashRecurring('refresh-token', value), other.hash('refresh-token', value));
  }
  assert.notEqual(hasher.hashRecurring('refresh-token', 'rtk_first'), hasher.hashRecurring('access-token', 'rtk_first'));
});
