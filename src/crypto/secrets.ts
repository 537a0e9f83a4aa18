import { createHmac, hash as digestOf, randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** Prefixes that tell the kind of a credential at a glance, as in the published examples. */
export const PREFIX = {
  accessToken: 'atk_',
  refreshToken: 'rtk_',
  code: 'cod_',
  clientSecret: 'kfs_',
  session: 'ses_',
  request: 'req_',
} as const;

/** Returns a fresh credential: the prefix and 256 random bits in base64url. */
export function generateSecret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** Returns a random identifier (128 bits, base64url) for rows that are not secrets. */
export function generateId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * Keyed SHA-256 (HMAC) of a credential, the only form in which tokens, codes, session ids and generated
 * client secrets are stored. The purpose string keeps hashes of one kind from matching another.
 */
/** How many recent results hashRecurring keeps (a few MiB, an estimate); the set is emptied when it is full. */
const RECENT_HASHES = 20_000;

export class KeyedHasher {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length < 32) throw new Error('hash key must be at least 32 bytes');
    this.#key = key;
  }

  readonly #recent = new Map<string, string>();

  hash(purpose: string, value: string): string {
    return createHmac('sha256', this.#key).update(purpose).update('\0').update(value).digest('base64url');
  }

  /**
   * Returns the same as hash(), remembering recent results, for credentials presented again and again (a
   * client secret, a refresh token, an access token). The results are kept under a plain SHA-256 of the
   * value, which cost a fifth of the keyed hash in a micro-benchmark on Node.js 20. For credentials this
   * server generated, with at least 128 random bits, that digest gives no way back to the credential.
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
    return createHmac('sha256', this.#key).update(purpose).update('\0').update(data).digest();
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
