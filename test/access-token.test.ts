import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

test('remembered tokens keep no header alive', () => {
  setFlagsFromString('--expose-gc');
  const collect = runInNewContext('gc') as () => void;
  const fresh = new KeyedHasher(randomBytes(32));
  const tokens = Array.from({ length: 2_000 }, () => encodeAccessToken(fresh, claims));
  collect();
  const before = process.memoryUsage().heapUsed;
  for (const token of tokens) {
    // A token cut out of a 16 KB header, as a regular expression hands it over.
    const header = `Bearer ${' '.repeat(16_000)}${token}`;
    assert.deepEqual(openAccessToken(fresh, header.slice(header.length - token.length)), claims);
  }
  collect();
  const grown = process.memoryUsage().heapUsed - before;
  // Keeping each header would take 2,000 × 16 KB, about 32 MB; the tokens themselves take well under 1 MB.
  assert.ok(grown < 8 * 1024 * 1024, `the cache grew the heap by ${(grown / 1048576).toFixed(1)} MiB`);
});
