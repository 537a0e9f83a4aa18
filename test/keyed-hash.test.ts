import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { KeyedHasher, PREFIX, generateOrderedSecret, generateSecret, orderedTimeOf } from '../src/crypto/secrets.js';
import { PURPOSE, credentialKey } from '../src/grants/issue.js';

/** Computes the stored hash as it has always been made: createHmac over purpose, a zero byte and the value. */
function reference(key: Buffer, purpose: string, value: string | Buffer, encoding: 'base64url' | 'hex'): string {
  return createHmac('sha256', key).update(purpose).update('\0').update(value).digest(encoding);
}

const keys = fc.uint8Array({ minLength: 32, maxLength: 160 }).map((bytes) => Buffer.from(bytes));
const purposes = fc.constantFrom('access-token', 'refresh-token', 'authorization-code', 'session', 'access-token-mac', 'p\u00e9rim\u00e8tre');
// Long enough to cross the room of the one-shot path (1024 bytes) in both directions.
const values = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 400 }), fc.string({ minLength: 300, maxLength: 1200 }));

test('hash equals createHmac', () => {
  fc.assert(fc.property(keys, fc.array(fc.tuple(purposes, values), { minLength: 1, maxLength: 6 }), (key, inputs) => {
    const hasher = new KeyedHasher(key);
    // Several inputs through one hasher: a long message must leave nothing behind for the next one.
    for (const [purpose, value] of inputs) {
      assert.equal(hasher.hash(purpose, value), reference(key, purpose, value, 'base64url'));
    }
  }), { numRuns: 300 });
});

test('mac equals createHmac', () => {
  fc.assert(fc.property(keys, fc.array(fc.uint8Array({ maxLength: 1100 }), { minLength: 1, maxLength: 6 }), (key, inputs) => {
    const hasher = new KeyedHasher(key);
    for (const bytes of inputs) {
      const data = Buffer.from(bytes);
      assert.equal(hasher.mac('access-token-mac', data).toString('hex'), reference(key, 'access-token-mac', data, 'hex'));
    }
  }), { numRuns: 300 });
});

test('hash at the one-shot edge', () => {
  const key = Buffer.alloc(64, 7);
  const hasher = new KeyedHasher(key);
  for (let length = 330; length <= 1030; length += 1) {
    const ascii = 'x'.repeat(length);
    const wide = '\u20ac'.repeat(Math.floor(length / 3));
    assert.equal(hasher.hash('refresh-token', ascii), reference(key, 'refresh-token', ascii, 'base64url'), `ascii ${length}`);
    assert.equal(hasher.hash('refresh-token', wide), reference(key, 'refresh-token', wide, 'base64url'), `three-byte ${length}`);
  }
});

test('ordered credentials carry their time', () => {
  const hasher = new KeyedHasher(Buffer.alloc(32, 3));
  const at = Date.UTC(2026, 11, 5, 6, 0, 0, 123);
  const code = generateOrderedSecret(PREFIX.code, at);
  assert.match(code, /^cod_[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
  assert.equal(orderedTimeOf(code), at.toString(16).padStart(12, '0'));
  assert.equal(credentialKey(hasher, PURPOSE.code, code), orderedTimeOf(code) + hasher.hash(PURPOSE.code, code));
  // Keys of credentials issued later sort after, whatever their random part.
  const later = generateOrderedSecret(PREFIX.code, at + 1);
  assert.ok(credentialKey(hasher, PURPOSE.code, later) > credentialKey(hasher, PURPOSE.code, code));
  assert.equal(credentialKey(hasher, PURPOSE.refreshToken, code, true), credentialKey(hasher, PURPOSE.refreshToken, code));
});

test('unordered credentials keep the plain hash', () => {
  const hasher = new KeyedHasher(Buffer.alloc(32, 3));
  const ordered = generateOrderedSecret(PREFIX.refreshToken, Date.now());
  const shapes = [
    generateSecret(PREFIX.refreshToken),
    `${PREFIX.refreshToken}${hasher.hash('refresh-successor', 'rtk_x')}`,
    // One character off the ordered shape: uppercase hex, a character that is no hex digit, one more or one less.
    ordered.slice(0, 4) + ordered.slice(4, 16).toUpperCase().replace(/^[0-9]/, 'A') + ordered.slice(16),
    `${ordered.slice(0, 15)}g${ordered.slice(16)}`,
    `${ordered}x`,
    ordered.slice(0, -1),
    `rtk-${ordered.slice(4)}`,
    '',
  ];
  for (const value of shapes) {
    assert.equal(orderedTimeOf(value), undefined, value);
    assert.equal(credentialKey(hasher, PURPOSE.refreshToken, value), hasher.hash(PURPOSE.refreshToken, value), value);
  }
});
