import { loadConfig } from '../config/config.js';
import { openStore } from '../storage/open-store.js';
import type { Client } from '../storage/types.js';
import { DATABASE_URL_OPTION, overridesFrom, parseOptionsWithClientId } from './args.js';
import { recordAuditEvent } from './audit.js';
import { clientNotFound, UsageError } from './errors.js';

/** `kiwiform clients delete`: deletes a client with every grant, code and token it holds, after --yes. */
export async function deleteClient(args: readonly string[]): Promise<void> {
  const { clientId, values } = parseOptionsWithClientId('clients delete', args, {
    ...DATABASE_URL_OPTION,
    yes: { type: 'boolean' },
  });
  // Confirmation comes from a flag, not a prompt, because scripts run this command without a terminal.
  if (values.yes !== true) {
    throw new UsageError(
      `--yes is required, because deleting client ${JSON.stringify(clientId)} also revokes every grant and token it holds; add --yes to confirm`);
  }
  const config = loadConfig(process.env, overridesFrom(values, ['databaseUrl']));

  const store = await openStore(config);
  let client: Client | undefined;
  try {
    client = await store.clients.findById(clientId);
    if (client === undefined || !(await store.clients.delete(clientId))) throw clientNotFound(clientId);
    await recordAuditEvent(store, {
      at: Date.now(),
      event: 'client.deleted',
      outcome: 'success',
      userId: null,
      clientId,
      grantId: null,
      address: null,
      detail: `name ${JSON.stringify(client.name)}`,
    });
  } finally {
    await store.close();
  }

  process.stdout.write(
    `Deleted client ${JSON.stringify(client.name)} (${clientId}) with its grants, authorization codes and tokens.\n`);
}
