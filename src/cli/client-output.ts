import type { Client } from '../storage/types.js';

/** Returns when the secret replaced by the last rotation stops being accepted, or null when it no longer is. */
export function previousSecretValidUntil(client: Client, now: number): Date | null {
  const previous = client.previousSecret;
  return previous !== undefined && previous.expiresAt > now ? new Date(previous.expiresAt) : null;
}

/** Converts a client to the public fields of the JSON output, named as in OAuth client metadata. */
export function describeClient(client: Client, now: number): Record<string, unknown> {
  return {
    client_id: client.id,
    name: client.name,
    redirect_uris: client.redirectUris,
    scope: client.scopes.join(' '),
    require_pkce: client.requirePkce,
    refresh_token_rotation: client.refreshTokenRotation,
    created_at: new Date(client.createdAt).toISOString(),
    previous_secret_valid_until: previousSecretValidUntil(client, now)?.toISOString() ?? null,
  };
}

/** Formats a client's settings as indented lines, without its secret. */
export function formatDetails(client: Client): string[] {
  const rotation = client.refreshTokenRotation === null ? 'server setting' : String(client.refreshTokenRotation);
  return [
    ...client.redirectUris.map((uri) => `  redirect_uri:   ${uri}`),
    `  scope:          ${client.scopes.join(' ')}`,
    `  require_pkce:   ${client.requirePkce}`,
    `  rotation:       ${rotation}`,
  ];
}

/** Formats whether the secret replaced by the last rotation is still accepted, as one indented line. */
export function formatPreviousSecret(client: Client, now: number): string {
  const until = previousSecretValidUntil(client, now);
  return `  old secret:     ${until === null ? 'not accepted' : `accepted until ${until.toISOString()}`}`;
}
