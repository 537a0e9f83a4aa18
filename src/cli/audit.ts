import type { AuditEventName } from '../audit/audit-log.js';
import { loadConfig } from '../config/config.js';
import { openStore } from '../storage/open-store.js';
import type { AuditEvent, Store } from '../storage/types.js';
import { DATABASE_URL_OPTION, overridesFrom, parseOptions } from './args.js';
import { CommandError, UsageError } from './errors.js';
import { parseWholeNumberOption } from './validate.js';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 10_000;
/** Control characters, which a client id or detail received over HTTP may contain and a terminal would act on. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;
const COLUMNS = ['TIME', 'EVENT', 'OUTCOME', 'USER', 'CLIENT', 'GRANT', 'ADDRESS', 'DETAIL'] as const;

/** `kiwiform audit`: lists audit events newest first, optionally only those of one user or one client. */
export async function listAuditEvents(args: readonly string[]): Promise<void> {
  const values = parseOptions('audit', args, {
    ...DATABASE_URL_OPTION,
    user: { type: 'string' },
    client: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.user === '') throw new UsageError('--user is empty; give a user id or email address');
  if (values.client === '') throw new UsageError('--client is empty; give a client id');
  const limit = values.limit === undefined ? DEFAULT_LIMIT : parseWholeNumberOption(values.limit, '--limit', 1, MAX_LIMIT);
  const config = loadConfig(process.env, overridesFrom(values, ['databaseUrl']));

  const store = await openStore(config);
  let events: AuditEvent[];
  try {
    const userId = values.user === undefined ? undefined : await resolveUserId(store, values.user);
    events = await store.audit.list({
      ...(userId !== undefined && { userId }),
      ...(values.client !== undefined && { clientId: values.client }),
      limit,
    });
    if (events.length === 0 && values.client !== undefined) await requireKnownClient(store, values.client);
  } finally {
    await store.close();
  }

  if (values.json === true) {
    process.stdout.write(`${JSON.stringify({ events: events.map(describeEvent) })}\n`);
    return;
  }
  if (events.length === 0) {
    process.stdout.write('No audit events match.\n');
    return;
  }
  process.stdout.write(formatTable(events.map(eventCells)));
}

/**
 * Inserts one audit event written by a command. A failure only prints a warning, because the change it records
 * is already made and its output (such as a new client secret) must still reach the operator.
 */
export async function recordAuditEvent(store: Store, event: AuditEvent & { readonly event: AuditEventName }): Promise<void> {
  try {
    await store.audit.record([event]);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    process.stderr.write(`kiwiform: warning: recording the ${event.event} audit event failed: ${reason.replace(/\s*\n\s*/g, ' ')}\n`);
  }
}

/**
 * Turns `--user` into a user id. A value with @ is looked up as an email address. Any other value is used as an
 * id without a lookup, so the events of a deleted user can still be listed.
 */
async function resolveUserId(store: Store, value: string): Promise<string> {
  if (!value.includes('@')) return value;
  const user = await store.users.findByEmail(value);
  if (user === undefined) {
    throw new CommandError(`--user ${JSON.stringify(value)}: no user has this email address; check it or give the user id`);
  }
  return user.id;
}

/**
 * Throws CommandError when no client has the id. It is called only when no event matched, so the events of a
 * deleted client can still be listed.
 */
async function requireKnownClient(store: Store, clientId: string): Promise<void> {
  if ((await store.clients.findById(clientId)) !== undefined) return;
  throw new CommandError(
    `--client ${JSON.stringify(clientId)}: no client has this id and no audit event names it; check it, or run "kiwiform clients list" for the registered ids`);
}

function describeEvent(event: AuditEvent): Record<string, unknown> {
  return {
    at: new Date(event.at).toISOString(),
    event: event.event,
    outcome: event.outcome,
    user_id: event.userId,
    client_id: event.clientId,
    grant_id: event.grantId,
    address: event.address,
    detail: event.detail,
  };
}

function eventCells(event: AuditEvent): string[] {
  const cell = (value: string | null): string =>
    value === null ? '-' : value.replace(CONTROL_CHARACTERS, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return [
    new Date(event.at).toISOString(), event.event, event.outcome,
    cell(event.userId), cell(event.clientId), cell(event.grantId), cell(event.address), cell(event.detail),
  ];
}

/** Formats rows under the column headings, each column padded to its widest cell except the last. */
function formatTable(rows: readonly string[][]): string {
  const all = [[...COLUMNS], ...rows];
  const widths = COLUMNS.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  const lines = all.map((row) =>
    row.map((value, column) => (column === COLUMNS.length - 1 ? value : value.padEnd(widths[column] ?? 0))).join('  '));
  return `${lines.join('\n')}\n`;
}
