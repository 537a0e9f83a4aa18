import { createHash, createHmac, hash as digestOf, randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** Prefixes that tell the kind of a credential at a glance, as in the published examples. */
export const PREFIX = {
  accessToken: 'atk_',
  refreshToken: 'rtk_',
  code: 'cod_',
  clientSecret: 'kfs_',
  session: 'ses_',
  request: 'req_',
} as const;

/** Random bytes drawn from the system in blocks and handed out once each. */
const entropy = { pool: Buffer.alloc(0), offset: 0 };

/**
 * Returns `length` (at most 4096) random bytes that no other caller gets. One call of randomBytes costs
 * about the same for 8 bytes as for 4 KiB (4.2 µs for 8 bytes in a micro-benchmark on Node.js 20), so the
 * bytes are drawn in blocks. The result is a view of the block: use or copy it before the next call.
 */
export function freshRandomBytes(length: number): Buffer {
  if (entropy.offset + length > entropy.pool.length) {
    entropy.pool = randomBytes(Math.max(4096, length));
    entropy.offset = 0;
  }
  entropy.offset += length;
  return entropy.pool.subarray(entropy.offset - length, entropy.offset);
}

/** Returns a fresh credential: the prefix and 256 random bits in base64url. */
export function generateSecret(prefix: string): string {
  return prefix + freshRandomBytes(32).toString('base64url');
}

/** Returns a random identifier (128 bits, base64url) for rows that are not secrets. */
export function generateId(): string {
  return freshRandomBytes(16).toString('base64url');
}

/** Digits of the time that ordered ids and credentials start with: milliseconds since the epoch in hex. */
const TIME_DIGITS = 12;

/** Length of the random part of a credential: 256 bits in base64url. */
const SECRET_CHARACTERS = 43;

/** Formats a time in milliseconds as the fixed-width hex that ordered ids and credentials start with. */
export function timePrefix(now: number): string {
  return Math.trunc(now).toString(16).padStart(TIME_DIGITS, '0');
}

/**
 * Returns an identifier that sorts after the ones made before it: the time in milliseconds as 12 hex digits,
 * then 80 random bits in base64url. Rows keyed by such ids are appended to their indexes instead of landing on
 * random pages, so a write touches the pages the writes just before it touched. Use it only where the creation
 * time may be known to anyone who reads the id.
 */
export function generateOrderedId(now = Date.now()): string {
  return timePrefix(now) + freshRandomBytes(10).toString('base64url');
}

/**
 * Returns a credential that carries its creation time in clear: the four-character prefix, the time as 12 hex
 * digits, then 256 random bits in base64url. The time lets its stored hash be keyed in creation order (see
 * credentialKey in grants/issue.ts). Use it only where anyone who has the credential may learn the time.
 */
export function generateOrderedSecret(prefix: string, now: number): string {
  return prefix + timePrefix(now) + freshRandomBytes(32).toString('base64url');
}

/**
 * Returns the time digits of a credential shaped as generateOrderedSecret makes them, or undefined for any
 * other string, such as a credential issued without the time. Only the shape is checked. The lookup of its
 * keyed hash decides whether the credential exists.
 */
export function orderedTimeOf(credential: string): string | undefined {
  // Every prefix of PREFIX is three letters and an underscore.
  const start = 4;
  if (credential.length !== start + TIME_DIGITS + SECRET_CHARACTERS || credential.charCodeAt(start - 1) !== 0x5f) return undefined;
  for (let index = start; index < start + TIME_DIGITS; index++) {
    const code = credential.charCodeAt(index);
    // 0-9 and a-f, as timePrefix writes them.
    if (!((code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66))) return undefined;
  }
  return credential.slice(start, start + TIME_DIGITS);
}

/** How many recent results hashRecurring keeps (a few MiB, an estimate); the set is emptied when it is full. */
const RECENT_HASHES = 20_000;

/** Block size of SHA-256 in bytes. HMAC pads its key to one block (RFC 2104 §2). */
const BLOCK_BYTES = 64;

/** Room in bytes for the purpose and the value in the one-shot path, far more than a credential needs. */
const MESSAGE_ROOM = 1024;

/**
 * Keyed SHA-256 (HMAC) of a credential, the only form in which tokens, codes, session ids and generated
 * client secrets are stored. The purpose string keeps hashes of one kind from matching another.
 *
 * HMAC is computed as RFC 2104 defines it, H((K ^ opad) || H((K ^ ipad) || message)), with the two padded keys
 * prepared once and Node's one-shot crypto.hash(). Building an Hmac object per call (createHmac) took 6.4 µs
 * against 2.8 µs in a micro-benchmark on Node.js 20, and a token request needs up to three. Longer messages
 * take createHmac.
 */
export class KeyedHasher {
  readonly #key: Buffer;
  /** The key XOR ipad, followed by room for the message. */
  readonly #inner: Buffer;
  /** The key XOR opad, followed by room for the inner digest. */
  readonly #outer: Buffer;
  readonly #recent = new Map<string, string>();

  constructor(key: Buffer) {
    if (key.length < 32) throw new Error('hash key must be at least 32 bytes');
    this.#key = key;
    const block = Buffer.alloc(BLOCK_BYTES);
    (key.length > BLOCK_BYTES ? createHash('sha256').update(key).digest() : key).copy(block);
    this.#inner = Buffer.alloc(BLOCK_BYTES + MESSAGE_ROOM);
    this.#outer = Buffer.alloc(BLOCK_BYTES + 32);
    for (let index = 0; index < BLOCK_BYTES; index++) {
      this.#inner[index] = block[index]! ^ 0x36;
      this.#outer[index] = block[index]! ^ 0x5c;
    }
  }

  hash(purpose: string, value: string): string {
    return this.#hmac(purpose, value, 'base64url');
  }

  /**
   * Returns the same as hash(), remembering recent results, for credentials presented again and again (a
   * client secret, a refresh token, an access token). The results are kept under a plain SHA-256 of the
   * value, which costs about as much as one of the two hashes of HMAC. For credentials this server generated,
   * with at least 128 random bits, that digest gives no way back to the credential.
   */
  hashRecurring(purpose: string, value: string): string {
    const key = `${purpose}\0${digestOf('sha256', value, 'base64url')}`;
    let hashed = this.#recent.get(key);
    if (hashed === undefined) {
      hashed = this.hash(purpose, value);
      if (this.#recent.size >= RECENT_HASHES) this.#recent.clear();
      this.#recent.set(key, hashed);
    }
    return hashed;
  }

  /** Returns the raw HMAC-SHA-256 of bytes under a purpose, for message authentication codes. */
  mac(purpose: string, data: Buffer): Buffer {
    return Buffer.from(this.#hmac(purpose, data, 'hex'), 'hex');
  }

  /** Computes the HMAC-SHA-256 of the purpose, a zero byte and the value, in the given encoding. */
  #hmac(purpose: string, value: string | Buffer, encoding: 'hex' | 'base64url'): string {
    // UTF-8 takes at most three bytes per UTF-16 code unit, so this bound never lets a write fall short.
    const bound = 3 * purpose.length + 1 + (typeof value === 'string' ? 3 * value.length : value.length);
    if (bound > MESSAGE_ROOM) {
      return createHmac('sha256', this.#key).update(purpose).update('\0').update(value).digest(encoding);
    }
    const inner = this.#inner;
    let end = BLOCK_BYTES + inner.write(purpose, BLOCK_BYTES, 'utf8');
    inner[end++] = 0;
    end += typeof value === 'string' ? inner.write(value, end, 'utf8') : value.copy(inner, end);
    this.#outer.write(digestOf('sha256', inner.subarray(0, end), 'hex'), BLOCK_BYTES, 'hex');
    return digestOf('sha256', this.#outer, encoding);
  }
}

/** Compares two strings in time that depends only on their lengths, never on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    // Compare anyway so that a length mismatch costs about as much as a content mismatch.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

const SCRYPT = { N: 1 << 15, r: 8, p: 1, keyLength: 32 } as const;

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFKC'), salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Hashes a password (or an imported client secret) with scrypt into a self-describing string. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const { N, r, p, keyLength } = SCRYPT;
  const key = await scrypt(password, salt, keyLength, { N, r, p, maxmem: 128 * N * r * 2 });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Checks a password against a hash made by hashPassword; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0) || N > 1 << 20) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  if (expected.length < 16) return false;
  const actual = await scrypt(password, salt, expected.length, { N, r, p, maxmem: 128 * N * r * 2 });
  return timingSafeEqual(actual, expected);
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the time of one password check on a random hash, so that an unknown account or client costs as much
 * as a known one and response times do not tell which exist. Always returns false.
 */
export async function verifyNothing(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(password, await dummyHash);
  return false;
}
