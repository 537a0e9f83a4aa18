import { loadConfig } from '../config/config.js';
import { generateSecret, PREFIX } from '../crypto/secrets.js';
import { CLIENT_SECRET_PURPOSE } from '../oauth/client-auth.js';
import { createContext } from '../server.js';
import type { Client } from '../storage/types.js';
import { DATABASE_URL_OPTION, overridesFrom, parseOptionsWithClientId, settingOptions } from './args.js';
import { recordAuditEvent } from './audit.js';
import { clientNotFound } from './errors.js';
import { parseDurationOption } from './validate.js';

/** Maximum overlap that `--keep-old-for` accepts, in seconds, so that a replaced secret cannot stay valid for long. */
const MAX_OVERLAP_SECONDS = 30 * 86_400;

/**
 * `kiwiform clients rotate-secret`: replaces the client secret with a generated one and prints it once. The old
 * secret stays accepted for `--keep-old-for`, so the integration can switch without failed requests.
 */
export async function rotateClientSecret(args: readonly string[]): Promise<void> {
  const { clientId, values } = parseOptionsWithClientId('clients rotate-secret', args, {
    ...DATABASE_URL_OPTION,
    ...settingOptions(['secret']),
    'keep-old-for': { type: 'string' },
    json: { type: 'boolean' },
  });
  const overlap = values['keep-old-for'];
  const overlapSeconds = overlap === undefined ? 0 : parseDurationOption(overlap, '--keep-old-for', MAX_OVERLAP_SECONDS);
  const config = loadConfig(process.env, overridesFrom(values, ['databaseUrl', 'secret']));

  const context = await createContext(config);
  const secret = generateSecret(PREFIX.clientSecret);
  const now = Date.now();
  const previousExpiresAt = overlapSeconds > 0 ? now + overlapSeconds * 1000 : null;
  const previousUntil = previousExpiresAt === null ? null : new Date(previousExpiresAt).toISOString();
  let client: Client | undefined;
  try {
    client = await context.store.clients.findById(clientId);
    // Generated secrets carry 256 random bits, so a keyed hash suffices, as in "clients create".
    const hash = context.hasher.hash(CLIENT_SECRET_PURPOSE, secret);
    if (client === undefined || !(await context.store.clients.rotateSecret(clientId, hash, 'hmac', previousExpiresAt))) {
      throw clientNotFound(clientId);
    }
    await recordAuditEvent(context.store, {
      at: now,
      event: 'client.secret_rotated',
      outcome: 'success',
      userId: null,
      clientId,
      grantId: null,
      address: null,
      detail: previousUntil === null ? 'previous secret rejected at once' : `previous secret accepted until ${previousUntil}`,
    });
  } finally {
    await context.store.close();
  }

  const reminder = previousUntil === null
    ? "the old secret no longer works, so update the client secret in the integration's dashboard now"
    : `the old secret works until ${previousUntil}, so update the client secret in the integration's dashboard before then`;
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify({ client_id: clientId, client_secret: secret, previous_secret_valid_until: previousUntil })}\n`);
    process.stderr.write(`kiwiform: ${reminder}\n`);
    return;
  }
  process.stdout.write([
    `Rotated the secret of client ${JSON.stringify(client.name)}.`,
    `  client_id:      ${clientId}`,
    `  client_secret:  ${secret}`,
    "  (shown only now: copy it into the integration's settings)",
    `${reminder.charAt(0).toUpperCase()}${reminder.slice(1)}.`,
    '',
  ].join('\n'));
}
