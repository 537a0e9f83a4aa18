import { loadConfig } from '../config/config.js';
import { openStore } from '../storage/open-store.js';
import type { PurgeResult } from '../storage/types.js';
import { DATABASE_URL_OPTION, overridesFrom, parseOptions } from './args.js';
import { parseWholeNumberOption } from './validate.js';

const DEFAULT_BATCH_SIZE = 1000;
const MAX_BATCH_SIZE = 100_000;
const DEFAULT_RETIRED_REFRESH_TOKEN_DAYS = 30;
/**
 * At least one day, because the refresh token grace window lasts at most a day (KIWIFORM_REFRESH_TOKEN_GRACE)
 * and a retired token presented within it must still return its successor.
 */
const MIN_RETIRED_REFRESH_TOKEN_DAYS = 1;
const MAX_RETIRED_REFRESH_TOKEN_DAYS = 3650;
const DAY_MS = 86_400_000;

/** `kiwiform purge`: deletes expired and revoked credentials and prints the number of rows deleted of each kind. */
export async function purgeExpired(args: readonly string[]): Promise<void> {
  const values = parseOptions('purge', args, {
    ...DATABASE_URL_OPTION,
    'batch-size': { type: 'string' },
    'retired-refresh-token-days': { type: 'string' },
    json: { type: 'boolean' },
  });
  const batchOption = values['batch-size'];
  const batchSize = batchOption === undefined
    ? DEFAULT_BATCH_SIZE
    : parseWholeNumberOption(batchOption, '--batch-size', 1, MAX_BATCH_SIZE);
  const daysOption = values['retired-refresh-token-days'];
  const retiredDays = daysOption === undefined
    ? DEFAULT_RETIRED_REFRESH_TOKEN_DAYS
    : parseWholeNumberOption(daysOption, '--retired-refresh-token-days', MIN_RETIRED_REFRESH_TOKEN_DAYS, MAX_RETIRED_REFRESH_TOKEN_DAYS);
  const config = loadConfig(process.env, overridesFrom(values, ['databaseUrl']));

  const store = await openStore(config);
  let result: PurgeResult;
  try {
    const now = Date.now();
    result = await store.purge(now, now - retiredDays * DAY_MS, batchSize);
  } finally {
    await store.close();
  }

  if (values.json === true) {
    process.stdout.write(`${JSON.stringify({
      codes: result.codes,
      access_token_revocations: result.accessTokenRevocations,
      refresh_tokens: result.refreshTokens,
      sessions: result.sessions,
      authorization_requests: result.requests,
    })}\n`);
    return;
  }
  process.stdout.write([
    `Purged from ${store.description}:`,
    `  authorization codes:     ${result.codes}`,
    `  revoked access tokens:   ${result.accessTokenRevocations}`,
    `  refresh tokens:          ${result.refreshTokens}`,
    `  sessions:                ${result.sessions}`,
    `  authorization requests:  ${result.requests}`,
    '',
  ].join('\n'));
}
