import { loadConfig } from '../config/config.js';
import { generateId, generateSecret, hashPassword, PREFIX } from '../crypto/secrets.js';
import { CLIENT_SECRET_PURPOSE } from '../oauth/client-auth.js';
import { ALL_SCOPES } from '../oauth/scopes.js';
import { createContext } from '../server.js';
import { openStore } from '../storage/open-store.js';
import { DuplicateError, type Client } from '../storage/types.js';
import { DATABASE_URL_OPTION, overridesFrom, parseOptions, parseOptionsWithClientId, settingOptions } from './args.js';
import { describeClient, formatDetails, formatPreviousSecret, previousSecretValidUntil } from './client-output.js';
import { clientNotFound, CommandError, UsageError } from './errors.js';
import { readSecret } from './input.js';
import {
  parseBooleanOption, parseScopeOption, required, validateClientId, validateName, validateRedirectUri,
} from './validate.js';

/** Prefix of generated client ids, so that they never start with "-" and read as Kiwiform ids. */
const CLIENT_ID_PREFIX = 'kfc_';
/** Imported secrets shorter than this get a warning, because they are easier to guess than generated ones. */
const SHORT_SECRET_LENGTH = 16;
const MAX_SECRET_LENGTH = 1024;

/** `kiwiform clients create`: registers a client with a generated secret, or imports an existing id and secret. */
export async function createClient(args: readonly string[]): Promise<void> {
  const values = parseOptions('clients create', args, {
    ...DATABASE_URL_OPTION,
    ...settingOptions(['secret']),
    name: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    scope: { type: 'string' },
    'require-pkce': { type: 'boolean' },
    'refresh-token-rotation': { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret-stdin': { type: 'boolean' },
    json: { type: 'boolean' },
  });

  const name = required(values.name, '--name', 'Zapier');
  validateName(name, '--name');
  const redirectUris = [...new Set(required(values['redirect-uri'], '--redirect-uri', 'https://zapier.com/dashboard/auth/oauth/return/App123CLIAPI/'))];
  redirectUris.forEach(validateRedirectUri);
  const scopes = values.scope === undefined ? [...ALL_SCOPES].sort() : parseScopeOption(values.scope);
  const rotationOption = values['refresh-token-rotation'];
  const refreshTokenRotation = rotationOption === undefined ? null : parseBooleanOption(rotationOption, '--refresh-token-rotation');

  const importedId = values['client-id'];
  const importing = values['client-secret-stdin'] === true;
  if (importedId !== undefined && !importing) {
    throw new UsageError('--client-id needs --client-secret-stdin; pipe the existing client secret on stdin');
  }
  if (importing && importedId === undefined) {
    throw new UsageError('--client-secret-stdin needs --client-id; give the id that belongs to the secret');
  }
  if (importedId !== undefined) validateClientId(importedId);
  const config = loadConfig(process.env, overridesFrom(values, ['databaseUrl', 'secret']));

  const importedSecret = importing ? await readClientSecret() : undefined;
  // Generated secrets carry 256 random bits, so a keyed hash suffices. Imported ones have unknown strength and
  // get the slow password hash.
  const importedHash = importedSecret === undefined ? undefined : await hashPassword(importedSecret);
  const context = await createContext(config);
  const id = importedId ?? CLIENT_ID_PREFIX + generateId();
  const secret = importedSecret ?? generateSecret(PREFIX.clientSecret);
  const client: Client = {
    id,
    name,
    secretHash: importedHash ?? context.hasher.hash(CLIENT_SECRET_PURPOSE, secret),
    secretKind: importedHash === undefined ? 'hmac' : 'scrypt',
    redirectUris,
    scopes,
    requirePkce: values['require-pkce'] === true,
    refreshTokenRotation,
    createdAt: Date.now(),
  };
  try {
    await context.store.clients.create(client);
  } catch (error) {
    if (error instanceof DuplicateError) throw new CommandError(`client id ${JSON.stringify(id)} is already registered`);
    throw error;
  } finally {
    await context.store.close();
  }

  if (importedSecret !== undefined && importedSecret.length < SHORT_SECRET_LENGTH) {
    process.stderr.write(
      `kiwiform: warning: the imported client secret has fewer than ${SHORT_SECRET_LENGTH} characters, so it is easier to guess than a generated one\n`);
  }
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify({ ...describeClient(client, client.createdAt), client_secret: secret })}\n`);
    return;
  }
  const secretLine = importedSecret === undefined
    ? `${secret}\n  (shown only now: copy it into the integration's settings)`
    : '(imported, not shown)';
  process.stdout.write([
    `Created client ${JSON.stringify(name)}.`,
    `  client_id:      ${id}`,
    `  client_secret:  ${secretLine}`,
    ...formatDetails(client),
    '',
  ].join('\n'));
}

/** `kiwiform clients list`: prints every client without its secret. */
export async function listClients(args: readonly string[]): Promise<void> {
  const values = parseOptions('clients list', args, { ...DATABASE_URL_OPTION, json: { type: 'boolean' } });
  const config = loadConfig(process.env, overridesFrom(values, ['databaseUrl']));
  const store = await openStore(config);
  let clients: Client[];
  try {
    clients = await store.clients.list();
  } finally {
    await store.close();
  }

  const now = Date.now();
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify({ clients: clients.map((client) => describeClient(client, now)) })}\n`);
    return;
  }
  if (clients.length === 0) {
    process.stdout.write('No clients yet. Create one with: kiwiform clients create --name NAME --redirect-uri URI\n');
    return;
  }
  const blocks = clients.map((client) => {
    const previous = previousSecretValidUntil(client, now) === null ? [] : [formatPreviousSecret(client, now)];
    return [`${client.id}  ${JSON.stringify(client.name)}`, ...formatDetails(client), ...previous].join('\n');
  });
  process.stdout.write(`${blocks.join('\n\n')}\n`);
}

/** `kiwiform clients show`: prints one client without its secret, and whether its previous secret is accepted. */
export async function showClient(args: readonly string[]): Promise<void> {
  const { clientId, values } = parseOptionsWithClientId('clients show', args, { ...DATABASE_URL_OPTION, json: { type: 'boolean' } });
  const config = loadConfig(process.env, overridesFrom(values, ['databaseUrl']));
  const store = await openStore(config);
  let client: Client | undefined;
  try {
    client = await store.clients.findById(clientId);
  } finally {
    await store.close();
  }
  if (client === undefined) throw clientNotFound(clientId);

  const now = Date.now();
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify(describeClient(client, now))}\n`);
    return;
  }
  process.stdout.write([
    `${client.id}  ${JSON.stringify(client.name)}`,
    ...formatDetails(client),
    `  created_at:     ${new Date(client.createdAt).toISOString()}`,
    formatPreviousSecret(client, now),
    '',
  ].join('\n'));
}

/** Reads and checks an imported client secret from stdin. */
async function readClientSecret(): Promise<string> {
  const secret = await readSecret('Client secret: ');
  if (secret === '') throw new UsageError('--client-secret-stdin received an empty secret; send the client secret on stdin');
  if (/[\r\n]/.test(secret)) {
    throw new UsageError('--client-secret-stdin received more than one line; send the secret as a single line');
  }
  if (secret.length > MAX_SECRET_LENGTH) {
    throw new UsageError(`--client-secret-stdin: the secret is longer than ${MAX_SECRET_LENGTH} characters`);
  }
  return secret;
}
