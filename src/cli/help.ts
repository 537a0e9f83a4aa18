import { ALL_SCOPES } from '../oauth/scopes.js';

/** Usage text printed by `kiwiform help`, `--help` and `kiwiform` without arguments. */
export const USAGE = `Usage: kiwiform COMMAND [OPTIONS]

Kiwiform API: OAuth 2.0 authorization server for Kiwiform integrations.

Commands:
  serve                  Run the HTTP server (what "npm start" runs).
  migrate                Create or upgrade the database schema, then exit.
  users create           Create a user who can sign in on the authorize page.
  clients create         Register an OAuth client, or import an existing client id and secret.
  clients list           List registered clients (secrets are never shown).
  clients show           Show one client (its secret is never shown).
  clients update         Change a client's name, redirect URIs, scopes, PKCE or rotation setting.
  clients rotate-secret  Replace a client's secret with a generated one, optionally keeping the old one
                         valid for a while.
  clients delete         Delete a client with every grant, code and token it holds.
  audit                  List audit events, newest first.
  purge                  Delete expired and revoked codes, tokens, sessions and authorization requests.
  help                   Show this text.

Options of every command:
  --database-url URL     sqlite:PATH or postgres://... (KIWIFORM_DATABASE_URL, default sqlite:./data/kiwiform.db)
  -h, --help             Show this text.

kiwiform serve [OPTIONS]
  Each option overrides the environment variable named in parentheses. --database-url is listed above.
  --host HOST                       Listen address: an IPv4 or IPv6 address or a host name (KIWIFORM_HOST,
                                    default 127.0.0.1)
  --port PORT                       Listen port, 0 to 65535 (KIWIFORM_PORT, default 3000)
  --issuer URL                      Public base URL used in metadata and links (KIWIFORM_ISSUER, default http://HOST:PORT)
  --log-level LEVEL                 trace, debug, info, warn, error, fatal or silent (KIWIFORM_LOG_LEVEL, default info)
  --workers N                       Server processes on this machine, sharing the port, 1 to 64
                                    (KIWIFORM_WORKERS, default 1)
  --trust-proxy VALUE               Proxies trusted to report the client address in X-Forwarded-For: false, true,
                                    a hop count from 0 to 100, or comma-separated addresses and CIDR ranges
                                    (KIWIFORM_TRUST_PROXY, default false)
  --redis-url URL                   redis://HOST:PORT or rediss://...: abuse-limit counters shared by every
                                    process and instance (KIWIFORM_REDIS_URL; default: none, each process counts
                                    in its own memory)
  --database-pool-size N            Maximum PostgreSQL connections per server process, 1 to 1000; SQLite
                                    ignores it (KIWIFORM_DATABASE_POOL_SIZE, default 10)
  --database-timeout SECONDS        How long to wait for a PostgreSQL connection or statement, 1 to 3600; SQLite
                                    ignores it (KIWIFORM_DATABASE_TIMEOUT, default 5)
  --purge-interval SECONDS          Time between deletions of expired rows, 0 to 604800; 0 turns them off
                                    (KIWIFORM_PURGE_INTERVAL, default 3600)
  --shutdown-delay SECONDS          After SIGTERM, time to go on serving while /readyz answers 503, 0 to 300
                                    (KIWIFORM_SHUTDOWN_DELAY, default 0)
  --access-token-ttl SECONDS        Access token lifetime, 1 to 2592000 (KIWIFORM_ACCESS_TOKEN_TTL, default 3600)
  --code-ttl SECONDS                Authorization code lifetime, 1 to 600 (KIWIFORM_CODE_TTL, default 600)
  --refresh-token-rotation BOOL     true or false: issue a new refresh token on every refresh, for clients
                                    without their own setting (KIWIFORM_REFRESH_TOKEN_ROTATION, default false)
  --refresh-token-grace SECONDS     How long a rotated-out refresh token still returns its successor, 0 to
                                    86400 (KIWIFORM_REFRESH_TOKEN_GRACE, default 60)
  --session-ttl SECONDS             Browser sign-in session lifetime, 60 to 2592000 (KIWIFORM_SESSION_TTL,
                                    default 28800)
  --secret SECRET                   Key for hashing tokens and generated client secrets, at least 32 characters
                                    (KIWIFORM_SECRET; default: a random key stored in the database). Prefer the
                                    variable, because other local users can read command-line arguments.

kiwiform migrate

kiwiform users create --email EMAIL --password-stdin [--name NAME] [--json]
  --email EMAIL          Sign-in address, at most 254 characters, stored in Unicode NFC. Whitespace,
                         control and invisible characters are rejected.
  --password-stdin       Read the password from stdin (one trailing line break is removed). At least 8 and at
                         most 1024 characters. On a terminal it is read without echo.
  --name NAME            Display name (default: the part of the email before @).
  --json                 Print only {"id", "email", "name"} as JSON.

kiwiform clients create --name NAME --redirect-uri URI [--redirect-uri URI ...] [OPTIONS]
  --name NAME                       Name shown on the consent page.
  --redirect-uri URI                Allowed redirect URI, compared as an exact string; repeat for more.
                                    https is required, except http on localhost, 127.0.0.1 and [::1].
  --scope "SCOPE ..."               Space-separated scopes the client may request (default: all of
                                    ${ALL_SCOPES.join(' ')}).
  --require-pkce                    Reject authorization requests without a PKCE code_challenge (S256).
  --refresh-token-rotation BOOL     true or false for this client (default: the server setting).
  --client-id ID                    Import an existing client id: 1 to 200 printable ASCII characters
                                    without spaces. Requires --client-secret-stdin.
  --client-secret-stdin             Read the imported client secret from stdin (one trailing line break
                                    is removed).
  --secret SECRET                   As for serve; must match the server's KIWIFORM_SECRET when one is set.
  --json                            Print only {"client_id", "client_secret", "redirect_uris", ...} as JSON.
  Without --client-id, a client id and secret are generated and the secret is printed only this once.

kiwiform clients list [--json]

Commands that take a CLIENT_ID accept it before or after their options; put an id that starts with "-"
after --, as in: kiwiform clients show -- -ID

kiwiform clients show CLIENT_ID [--json]
  --json                            Print only {"client_id", "name", "redirect_uris", ...} as JSON, where
                                    "previous_secret_valid_until" is when the secret replaced by the last
                                    rotation stops being accepted (ISO 8601, UTC), or null.

kiwiform clients update CLIENT_ID [OPTIONS]
  Changes only the settings given. They apply to new authorizations; existing grants keep their scope.
  --name NAME                       Name shown on the consent page.
  --redirect-uri URI                Replaces the list of allowed redirect URIs; repeat for more. Same rules
                                    as for clients create.
  --scope "SCOPE ..."               Replaces the scopes the client may request.
  --require-pkce BOOL               true or false: reject authorization requests without a PKCE
                                    code_challenge (S256).
  --refresh-token-rotation VALUE    true, false, or default to follow the server setting.

kiwiform clients rotate-secret CLIENT_ID [--keep-old-for DURATION] [--json]
  Generates a new client secret and prints it only this once. Update it in the integration's dashboard
  before the old secret stops working.
  --keep-old-for DURATION           How long the old secret stays accepted: 30s, 15m, 24h, 7d or plain
                                    seconds, at most 30d (default 0: the old secret stops working at once).
                                    A secret kept from an earlier rotation stops working now.
  --secret SECRET                   As for serve; must match the server's KIWIFORM_SECRET when one is set.
  --json                            Print only {"client_id", "client_secret", "previous_secret_valid_until"}
                                    as JSON, the last an ISO 8601 time (UTC) or null.

kiwiform clients delete CLIENT_ID --yes
  --yes                             Confirm the deletion. It also deletes the client's grants, authorization
                                    codes, access and refresh tokens, consents and pending authorization
                                    requests, so every connection of the integration stops working.

kiwiform audit [--user ID_OR_EMAIL] [--client CLIENT_ID] [--limit N] [--json]
  --user ID_OR_EMAIL                Only events of this user: an email address, or a user id (used as given,
                                    so the events of a deleted user are found too).
  --client CLIENT_ID                Only events of this client.
  --limit N                         Maximum number of events, 1 to 10000 (default 50).
  --json                            Print only {"events": [{"at", "event", "outcome", "user_id", "client_id",
                                    "grant_id", "address", "detail"}, ...]} as JSON.
  Times are ISO 8601 in UTC; empty fields show as "-".

kiwiform purge [--batch-size N] [--retired-refresh-token-days DAYS] [--json]
  Deletes expired authorization codes, access tokens, sessions and authorization requests, every code and
  token of a revoked grant, and refresh tokens retired by rotation more than DAYS days ago.
  --batch-size N                    Rows deleted per statement, 1 to 100000 (default 1000). Smaller batches
                                    hold database locks for less time.
  --retired-refresh-token-days DAYS Days to keep a refresh token retired by rotation, 1 to 3650 (default 30).
                                    While it is kept, presenting it again revokes its grant; once purged it
                                    is only rejected as unknown.
  --json                            Print only {"codes", "access_token_revocations", "refresh_tokens", "sessions",
                                    "authorization_requests"} as JSON: the number of rows deleted of each.

Exit status: 0 on success, 1 when the command failed, 2 when an argument or setting is invalid.
`;
