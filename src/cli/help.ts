import { ALL_SCOPES } from '../oauth/scopes.js';

/** Usage text printed by `kiwiform help`, `--help` and `kiwiform` without arguments. */
export const USAGE = `Usage: kiwiform COMMAND [OPTIONS]

Kiwiform API: OAuth 2.0 authorization server for Kiwiform integrations.

Commands:
  serve              Run the HTTP server (what "npm start" runs).
  migrate            Create or upgrade the database schema, then exit.
  users create       Create a user who can sign in on the authorize page.
  clients create     Register an OAuth client, or import an existing client id and secret.
  clients list       List registered clients (secrets are never shown).
  help               Show this text.

Options of every command:
  --database-url URL     sqlite:PATH or postgres://... (KIWIFORM_DATABASE_URL, default sqlite:./data/kiwiform.db)
  -h, --help             Show this text.

kiwiform serve [OPTIONS]
  Each option overrides the environment variable named in parentheses.
  --host HOST                       Listen address (KIWIFORM_HOST, default 127.0.0.1)
  --port PORT                       Listen port, 0 to 65535 (KIWIFORM_PORT, default 3000)
  --issuer URL                      Public base URL used in metadata and links (KIWIFORM_ISSUER, default http://HOST:PORT)
  --log-level LEVEL                 trace, debug, info, warn, error, fatal or silent (KIWIFORM_LOG_LEVEL, default info)
  --access-token-ttl SECONDS        Access token lifetime (KIWIFORM_ACCESS_TOKEN_TTL, default 3600)
  --code-ttl SECONDS                Authorization code lifetime, at most 600 (KIWIFORM_CODE_TTL, default 600)
  --refresh-token-rotation BOOL     true or false: issue a new refresh token on every refresh, for clients
                                    without their own setting (KIWIFORM_REFRESH_TOKEN_ROTATION, default false)
  --refresh-token-grace SECONDS     How long a rotated-out refresh token still returns its successor
                                    (KIWIFORM_REFRESH_TOKEN_GRACE, default 60)
  --session-ttl SECONDS             Browser sign-in session lifetime (KIWIFORM_SESSION_TTL, default 28800)
  --secret SECRET                   Key for hashing tokens and generated client secrets, at least 32 characters
                                    (KIWIFORM_SECRET; default: a random key stored in the database). Prefer the
                                    variable, because other local users can read command-line arguments.

kiwiform migrate

kiwiform users create --email EMAIL --password-stdin [--name NAME] [--json]
  --email EMAIL          Sign-in address, at most 254 characters.
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

Exit status: 0 on success, 1 when the command failed, 2 when an argument or setting is invalid.
`;
