import { loadConfig } from '../config/config.js';
import { openStore } from '../storage/open-store.js';
import type { Client, ClientChanges } from '../storage/types.js';
import { DATABASE_URL_OPTION, overridesFrom, parseOptionsWithClientId } from './args.js';
import { formatDetails } from './client-output.js';
import { clientNotFound, UsageError } from './errors.js';
import { parseBooleanOption, parseScopeOption, validateName, validateRedirectUri } from './validate.js';

type MutableChanges = { -readonly [K in keyof ClientChanges]: ClientChanges[K] };

/** `kiwiform clients update`: changes the settings given and leaves the others as they are. */
export async function updateClient(args: readonly string[]): Promise<void> {
  const { clientId, values } = parseOptionsWithClientId('clients update', args, {
    ...DATABASE_URL_OPTION,
    name: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    scope: { type: 'string' },
    'require-pkce': { type: 'string' },
    'refresh-token-rotation': { type: 'string' },
  });

  const changes: MutableChanges = {};
  if (values.name !== undefined) {
    validateName(values.name, '--name');
    changes.name = values.name;
  }
  if (values['redirect-uri'] !== undefined) {
    const redirectUris = [...new Set(values['redirect-uri'])];
    redirectUris.forEach(validateRedirectUri);
    changes.redirectUris = redirectUris;
  }
  if (values.scope !== undefined) changes.scopes = parseScopeOption(values.scope);
  if (values['require-pkce'] !== undefined) changes.requirePkce = parseBooleanOption(values['require-pkce'], '--require-pkce');
  const rotation = values['refresh-token-rotation'];
  if (rotation !== undefined) changes.refreshTokenRotation = parseRotationOption(rotation);
  if (Object.keys(changes).length === 0) {
    throw new UsageError(
      '"kiwiform clients update" needs a change; give at least one of --name, --redirect-uri, --scope, --require-pkce, --refresh-token-rotation');
  }
  const config = loadConfig(process.env, overridesFrom(values, ['databaseUrl']));

  const store = await openStore(config);
  let client: Client | undefined;
  try {
    if (await store.clients.update(clientId, changes)) client = await store.clients.findById(clientId);
  } finally {
    await store.close();
  }
  if (client === undefined) throw clientNotFound(clientId);

  process.stdout.write([`Updated client ${JSON.stringify(client.name)} (${client.id}).`, ...formatDetails(client), ''].join('\n'));
}

/** Parses `--refresh-token-rotation`, where `default` (stored as null) follows the server-wide setting. */
function parseRotationOption(value: string): boolean | null {
  const normalized = value.trim().toLowerCase();
  if (normalized === 'default') return null;
  if (normalized === 'true') return true;
  if (normalized === 'false') return false;
  throw new UsageError(
    `--refresh-token-rotation ${JSON.stringify(value)} is invalid; use true, false, or default to follow the server setting`);
}
