import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { KeyedHasher } from '../src/crypto/secrets.js';

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
