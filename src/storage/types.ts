/**
 * Storage interfaces, one per aggregate. Every method is asynchronous so that a networked database fits behind
 * the same contract as the embedded one. Times are milliseconds since the Unix epoch. Credentials appear only
 * as keyed hashes (see crypto/secrets.ts); no method takes or returns a token, code or secret in clear.
 */

export interface User {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly passwordHash: string;
  readonly createdAt: number;
}

export interface NewUser {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly passwordHash: string;
  readonly createdAt: number;
}

export interface UserStore {
  /** Inserts a user; throws DuplicateError when the email (compared case-insensitively) is taken. */
  create(user: NewUser): Promise<void>;
  findById(id: string): Promise<User | undefined>;
  /** Finds a user by email, compared case-insensitively. */
  findByEmail(email: string): Promise<User | undefined>;
}

/** How a client secret is stored: a keyed SHA-256 for generated secrets, scrypt for imported ones. */
export type SecretKind = 'hmac' | 'scrypt';

export interface Client {
  readonly id: string;
  readonly name: string;
  readonly secretHash: string;
  readonly secretKind: SecretKind;
  readonly redirectUris: readonly string[];
  /** Scopes the client may request; a request without `scope` gets all of them. */
  readonly scopes: readonly string[];
  readonly requirePkce: boolean;
  /** Per-client refresh token rotation; null follows the server-wide setting. */
  readonly refreshTokenRotation: boolean | null;
  readonly createdAt: number;
}

export interface ClientStore {
  /** Inserts a client; throws DuplicateError when the id is taken. */
  create(client: Client): Promise<void>;
  findById(id: string): Promise<Client | undefined>;
  list(): Promise<Client[]>;
  count(): Promise<number>;
}

export interface Session {
  readonly idHash: string;
  readonly userId: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface SessionStore {
  create(session: Session): Promise<void>;
  /** Finds a session that has not expired at `now`. */
  find(idHash: string, now: number): Promise<Session | undefined>;
  delete(idHash: string): Promise<void>;
}

/** An authorization request kept server-side while the user signs in and consents. */
export interface AuthorizationRequest {
  readonly id: string;
  readonly clientId: string;
  readonly redirectUri: string;
  /** Whether redirect_uri was sent on the request, which makes it required at the token endpoint (RFC 6749 §4.1.3). */
  readonly redirectUriGiven: boolean;
  readonly state: string | null;
  readonly scope: string;
  readonly codeChallenge: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface AuthorizationRequestStore {
  create(request: AuthorizationRequest): Promise<void>;
  /** Finds a request that has not expired at `now`. */
  find(id: string, now: number): Promise<AuthorizationRequest | undefined>;
  /** Deletes a request; returns false when it was already gone, so that one request yields one decision. */
  consume(id: string): Promise<boolean>;
}

/** One authorization of one client by one user; every code and token belongs to exactly one grant. */
export interface Grant {
  readonly id: string;
  readonly clientId: string;
  readonly userId: string;
  readonly scope: string;
  readonly createdAt: number;
}

export interface NewCode {
  readonly hash: string;
  readonly grantId: string;
  readonly redirectUri: string;
  readonly redirectUriGiven: boolean;
  readonly codeChallenge: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface CodeRecord {
  readonly hash: string;
  readonly grantId: string;
  readonly clientId: string;
  readonly userId: string;
  readonly scope: string;
  readonly redirectUri: string;
  readonly redirectUriGiven: boolean;
  readonly codeChallenge: string | null;
  readonly expiresAt: number;
  readonly consumedAt: number | null;
  readonly grantRevokedAt: number | null;
}

export interface NewAccessToken {
  readonly hash: string;
  readonly grantId: string;
  readonly scope: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface NewRefreshToken {
  readonly hash: string;
  readonly grantId: string;
  readonly createdAt: number;
}

export interface RefreshTokenRecord {
  readonly hash: string;
  readonly grantId: string;
  readonly clientId: string;
  readonly userId: string;
  /** The grant's scope, which a refresh may narrow but never widen. */
  readonly scope: string;
  readonly createdAt: number;
  readonly grantRevokedAt: number | null;
}

export interface AccessTokenRecord {
  readonly grantId: string;
  readonly clientId: string;
  readonly userId: string;
  readonly scope: string;
  readonly expiresAt: number;
}

export interface GrantStore {
  /** Inserts a grant and its first authorization code in one transaction. */
  createWithCode(grant: Grant, code: NewCode): Promise<void>;
  findCode(hash: string): Promise<CodeRecord | undefined>;
  /**
   * Marks a code as used and inserts the tokens issued for it, in one transaction. Returns false, inserting
   * nothing, when the code was already used, has expired at `now` or its grant was revoked: of two concurrent
   * redemptions exactly one returns true.
   */
  redeemCode(hash: string, now: number, access: NewAccessToken, refresh: NewRefreshToken): Promise<boolean>;
  findRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined>;
  /** Inserts an access token unless its grant has been revoked meanwhile; returns whether it was inserted. */
  issueAccessToken(access: NewAccessToken): Promise<boolean>;
  /** Finds an access token that has not expired at `now` and whose grant is not revoked. */
  findAccessToken(hash: string, now: number): Promise<AccessTokenRecord | undefined>;
  /** Revokes a grant, which kills every code and token issued under it. */
  revoke(grantId: string, now: number): Promise<void>;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** A printable description of the database, without credentials. */
  readonly description: string;
  readonly users: UserStore;
  readonly clients: ClientStore;
  readonly sessions: SessionStore;
  readonly requests: AuthorizationRequestStore;
  readonly grants: GrantStore;
  /** Creates or upgrades the schema; returns the versions it applied. */
  migrate(): Promise<number[]>;
  /** Returns the random key kept in the database for keyed hashes, creating it on first use. */
  storedHashKey(): Promise<Buffer>;
  close(): Promise<void>;
}

/** A unique constraint was violated, such as a second user with the same email. */
export class DuplicateError extends Error {
  constructor(readonly field: string) {
    super(`${field} already exists`);
    this.name = 'DuplicateError';
  }
}

/** The schema is missing or older than this build expects; `kiwiform migrate` fixes it. */
export class SchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaError';
  }
}
