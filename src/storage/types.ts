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

/** The form in which emails are compared: Unicode NFC, lower case, so visually equal addresses are one account. */
export const normalizeEmail = (email: string): string => email.normalize('NFC').toLowerCase();

export interface UserStore {
  /** Inserts a user; throws DuplicateError when the email (compared after normalizeEmail) is taken. */
  create(user: NewUser): Promise<void>;
  findById(id: string): Promise<User | undefined>;
  /** Finds a user by email, compared after normalizeEmail. */
  findByEmail(email: string): Promise<User | undefined>;
}

/** Storage form of a client secret: a keyed SHA-256 for generated secrets, scrypt for imported ones. */
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
  /** The secret replaced by the last rotation, accepted until `expiresAt` so integrations can switch without downtime. */
  readonly previousSecret?: { readonly hash: string; readonly kind: SecretKind; readonly expiresAt: number } | undefined;
}

/** Client settings that `clients update` may change. */
export interface ClientChanges {
  readonly name?: string;
  readonly redirectUris?: readonly string[];
  readonly scopes?: readonly string[];
  readonly requirePkce?: boolean;
  readonly refreshTokenRotation?: boolean | null;
}

export interface ClientStore {
  /** Inserts a client; throws DuplicateError when the id is taken. */
  create(client: Client): Promise<void>;
  findById(id: string): Promise<Client | undefined>;
  list(): Promise<Client[]>;
  count(): Promise<number>;
  /** Applies changes; returns false when no such client exists. */
  update(id: string, changes: ClientChanges): Promise<boolean>;
  /** Replaces the secret, keeping the old one valid until `previousExpiresAt` (or not at all when it is null). */
  rotateSecret(id: string, hash: string, kind: SecretKind, previousExpiresAt: number | null): Promise<boolean>;
  /** Deletes a client with its grants, codes and tokens; returns false when no such client exists. */
  delete(id: string): Promise<boolean>;
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
  /** When a rotation retired this token; null while it is current. */
  readonly rotatedAt: number | null;
  /** The client's rotation preference; null follows the server-wide setting. */
  readonly clientRotation: boolean | null;
  readonly grantRevokedAt: number | null;
}

/** The grant data an access token check needs, read in one query. */
export interface GrantAccess {
  readonly grantId: string;
  readonly clientId: string;
  readonly userId: string;
  readonly userEmail: string;
  readonly userName: string;
  readonly revokedAt: number | null;
  /** Whether this one access token was revoked on its own (RFC 7009). */
  readonly tokenRevoked: boolean;
}

/** A client a user has authorized, as the connected-apps page lists it. */
export interface Connection {
  readonly clientId: string;
  readonly clientName: string;
  /** Union of the scopes of the user's live grants to the client. */
  readonly scope: string;
  readonly firstAuthorizedAt: number;
  readonly lastUsedAt: number | null;
}

export interface GrantStore {
  /** Inserts a grant and its first authorization code in one transaction. */
  createWithCode(grant: Grant, code: NewCode): Promise<void>;
  /**
   * Records the user's consent to a stored authorization request, in one transaction: deletes the request, adds
   * `scopes` to the consent the user has given the grant's client, and inserts the grant and its first code.
   * Returns false, writing nothing, when the request was already gone, so that of two submissions of one
   * consent form exactly one creates a code, and no failure leaves a request used up without its code.
   */
  createFromConsent(requestId: string, scopes: readonly string[], grant: Grant, code: NewCode): Promise<boolean>;
  findCode(hash: string): Promise<CodeRecord | undefined>;
  /**
   * Marks a code as used and inserts the refresh token issued for it, in one transaction. Returns false,
   * inserting nothing, when the code was already used, has expired at `now` or its grant was revoked: of two
   * concurrent redemptions exactly one returns true. Access tokens are self-contained and never stored.
   */
  redeemCode(hash: string, now: number, refresh: NewRefreshToken): Promise<boolean>;
  findRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined>;
  /**
   * Retires a refresh token and inserts its successor, in one transaction. Returns false, inserting nothing,
   * when the token was already retired or its grant revoked: of concurrent rotations one wins.
   */
  rotateRefreshToken(hash: string, now: number, successor: NewRefreshToken): Promise<boolean>;
  /** Reads a grant with its user, and whether the access token with this hash was revoked on its own. */
  findGrantAccess(grantId: string, accessTokenHash: string): Promise<GrantAccess | undefined>;
  /** Revokes one access token until it would have expired anyway. */
  revokeAccessToken(hash: string, grantId: string, expiresAt: number): Promise<void>;
  /** Revokes a grant, which kills every code and token issued under it. */
  revoke(grantId: string, now: number): Promise<void>;
  /** Revokes every live grant of a user to a client; returns how many were revoked. */
  revokeForUserAndClient(userId: string, clientId: string, now: number): Promise<number>;
  /** Records that a grant was used; the update writes only when the last recorded use is a minute old or more. */
  touch(grantId: string, now: number): Promise<void>;
  /** Lists the clients a user has live grants for. */
  connections(userId: string): Promise<Connection[]>;
}

/** A user's consent to a client for a set of scopes, remembered so a reconnect does not ask again. */
export interface ConsentStore {
  /** Returns the scopes the user already consented to for the client, or an empty list. */
  find(userId: string, clientId: string): Promise<string[]>;
  /** Adds scopes to the remembered consent. */
  remember(userId: string, clientId: string, scopes: readonly string[], now: number): Promise<void>;
  forget(userId: string, clientId: string): Promise<void>;
}

export type AuditOutcome = 'success' | 'failure';

/** One security-relevant event. It never carries a secret: tokens and codes appear only as grant ids. */
export interface AuditEvent {
  readonly at: number;
  readonly event: string;
  readonly outcome: AuditOutcome;
  readonly userId: string | null;
  readonly clientId: string | null;
  readonly grantId: string | null;
  readonly address: string | null;
  readonly detail: string | null;
}

export interface AuditStore {
  /** Inserts events in one transaction. */
  record(events: readonly AuditEvent[]): Promise<void>;
  /** Lists events, newest first. */
  list(filter: { readonly userId?: string; readonly clientId?: string; readonly limit: number }): Promise<AuditEvent[]>;
}

/** Counts of rows a purge deleted. */
export interface PurgeResult {
  readonly codes: number;
  /** Rows of access tokens revoked one by one, deleted once those tokens have expired. */
  readonly accessTokenRevocations: number;
  readonly refreshTokens: number;
  readonly sessions: number;
  readonly requests: number;
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
  readonly consents: ConsentStore;
  readonly audit: AuditStore;
  /**
   * Deletes expired codes, access tokens, sessions and pending requests, revoked grants' tokens, and refresh
   * tokens retired more than `retiredBefore`, in batches of `batchSize` rows so no lock is held for long.
   */
  purge(now: number, retiredBefore: number, batchSize: number): Promise<PurgeResult>;
  /**
   * Stores the fingerprint of the hash key if none is stored yet, and returns the stored one, so a server
   * started with another key than the one the database's hashes were made with can notice.
   */
  claimKeyFingerprint(fingerprint: string): Promise<string>;
  /** Checks that the database responds to a query. */
  ping(): Promise<void>;
  /** Connection pool usage, for stores that pool connections. */
  poolStats?(): { total: number; idle: number; waiting: number };
  /**
   * Starts the maintenance a long-running server wants and a short command does not, for stores that have
   * any (the embedded store's checkpoints). `report` receives one line per failure.
   */
  startMaintenance?(report: (message: string) => void): void;
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
