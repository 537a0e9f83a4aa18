import { createHmac, randomBytes } from 'node:crypto';
import { constantTimeEqual, verifyPassword, type KeyedHasher } from '../crypto/secrets.js';
import type { Client, ClientStore, SecretKind } from '../storage/types.js';
import { LimitExceeded, type AbuseLimits } from '../security/abuse-limits.js';
import { OAuthError, invalidRequest } from './errors.js';

/** Client credentials as presented on a request, and how they were presented. */
export interface PresentedCredentials {
  readonly method: 'basic' | 'body';
  readonly clientId: string;
  readonly clientSecret: string;
}

/** Purpose string of the keyed hash of generated client secrets. */
export const CLIENT_SECRET_PURPOSE = 'client-secret';

const BASIC_CHALLENGE = 'Basic realm="kiwiform", charset="UTF-8"';

/** Builds the invalid_client error, which RFC 6749 §5.2 makes a 401 with a challenge when Basic was used. */
export function invalidClient(method: 'basic' | 'body', description = 'Client authentication failed.'): OAuthError {
  return method === 'basic'
    ? new OAuthError('invalid_client', description, { status: 401, headers: { 'www-authenticate': BASIC_CHALLENGE } })
    : new OAuthError('invalid_client', description, { status: 400 });
}

function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * Reads client credentials from an Authorization: Basic header (RFC 6749 §2.3.1: id and secret are
 * form-urlencoded before base64) or from body parameters. Returns undefined when neither is present.
 * Any other Authorization scheme, such as the Bearer token Zapier sends on every request, is ignored.
 */
export function readClientCredentials(
  authorization: string | undefined,
  body: { readonly client_id?: string | undefined; readonly client_secret?: string | undefined },
): PresentedCredentials | undefined {
  const basic = authorization?.match(/^\s*basic\s+(\S*)\s*$/i);
  if (basic) {
    if (body.client_secret !== undefined) {
      // RFC 6749 §2.3: a client must not use more than one authentication method per request.
      throw invalidRequest('Client credentials were sent both in the Authorization header and in the body; use one.');
    }
    const decoded = Buffer.from(basic[1] ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const clientId = colon < 0 ? undefined : formDecode(decoded.slice(0, colon));
    const clientSecret = colon < 0 ? undefined : formDecode(decoded.slice(colon + 1));
    if (!clientId || clientSecret === undefined || `${clientId}${clientSecret}`.includes('\u0000')) {
      throw invalidClient('basic', 'The Authorization header is not valid HTTP Basic client credentials.');
    }
    if (body.client_id !== undefined && body.client_id !== clientId) {
      throw invalidRequest('client_id in the body differs from the client authenticated with HTTP Basic.');
    }
    return { method: 'basic', clientId, clientSecret };
  }
  if (body.client_secret !== undefined && body.client_id === undefined) {
    throw invalidRequest('client_secret was sent without client_id.');
  }
  if (body.client_id !== undefined && body.client_secret !== undefined) {
    return { method: 'body', clientId: body.client_id, clientSecret: body.client_secret };
  }
  return undefined;
}

/**
 * Verifies client secrets. Generated secrets carry 256 random bits and are stored as a keyed SHA-256, so
 * checking one costs microseconds. Imported secrets have unknown strength, so they are stored with scrypt.
 * After one successful scrypt check, a keyed hash of the secret under a key that lives only in this process is
 * cached, so later requests of that client are as cheap as those of a generated one.
 */
export class ClientAuthenticator {
  readonly #cacheKey = randomBytes(32);
  readonly #verified = new Map<string, string>();
  static readonly #MAX_CACHED = 10_000;

  constructor(
    private readonly clients: ClientStore,
    private readonly hasher: KeyedHasher,
    private readonly limits: AbuseLimits,
    private readonly now: () => number,
  ) {}

  /**
   * Returns the client when the secret matches, otherwise throws invalid_client, or LimitExceeded once the
   * client id or the address has failed too often. Failures from other addresses never stop a correct secret,
   * so no one can lock a client out. An address that is blocked itself gets an imported secret checked only
   * if this process verified that secret before, because each other check costs a password hash.
   */
  async authenticate(credentials: PresentedCredentials, address: string): Promise<Client> {
    const addressKey = `address:${address}`;
    const client = await this.clients.findById(credentials.clientId);
    // Client ids are public, so an unknown one is rejected at once instead of spending a password hash on it.
    // It counts against the address alone: a counter per unknown id would let one sender fill memory with ids.
    if (!client) {
      await this.limits.failOrThrow('clientAuthFailure', [addressKey]);
      throw invalidClient(credentials.method);
    }
    const keys = [`client:${client.id}`, addressKey];
    const secrets = [{ hash: client.secretHash, kind: client.secretKind }];
    if (client.previousSecret && client.previousSecret.expiresAt > this.now()) secrets.push(client.previousSecret);
    for (const secret of secrets) {
      const cheap = secret.kind === 'hmac' || this.#isCached(client.id, secret.hash, credentials.clientSecret);
      if (!cheap) {
        const wait = await this.limits.blockedFor('clientAuthFailure', [addressKey]);
        if (wait > 0) throw new LimitExceeded('clientAuthFailure', wait);
      }
      if (await this.#matches(client.id, secret, credentials.clientSecret)) return client;
    }
    await this.limits.failOrThrow('clientAuthFailure', keys);
    throw invalidClient(credentials.method);
  }

  #cacheHash(clientId: string, secret: string): string {
    return createHmac('sha256', this.#cacheKey).update(clientId).update('\0').update(secret).digest('base64url');
  }

  #isCached(clientId: string, storedHash: string, secret: string): boolean {
    const cached = this.#verified.get(`${clientId}\0${storedHash}`);
    return cached !== undefined && constantTimeEqual(cached, this.#cacheHash(clientId, secret));
  }

  async #matches(clientId: string, stored: { hash: string; kind: SecretKind }, secret: string): Promise<boolean> {
    if (stored.kind === 'hmac') return constantTimeEqual(this.hasher.hashRecurring(CLIENT_SECRET_PURPOSE, secret), stored.hash);
    if (this.#isCached(clientId, stored.hash, secret)) return true;
    if (!(await verifyPassword(secret, stored.hash))) return false;
    if (this.#verified.size >= ClientAuthenticator.#MAX_CACHED) this.#verified.clear();
    this.#verified.set(`${clientId}\0${stored.hash}`, this.#cacheHash(clientId, secret));
    return true;
  }
}
