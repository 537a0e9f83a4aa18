import { loadConfig } from '../config/config.js';
import { openStore } from '../storage/open-store.js';
import { DATABASE_URL_OPTION, overridesFrom, parseOptions } from './args.js';

/** `kiwiform migrate`: brings the schema up to date and prints which migrations it applied. */
export async function migrate(args: readonly string[]): Promise<void> {
  const values = parseOptions('migrate', args, DATABASE_URL_OPTION);
  const config = loadConfig(process.env, overridesFrom(values, ['databaseUrl']));

  // Opening a store applies pending migrations, and migrate() reports which ones it applied.
  const store = await openStore(config);
  let applied: number[];
  try {
    applied = await store.migrate();
  } finally {
    await store.close();
  }

  if (applied.length === 0) {
    process.stdout.write(`Database ${store.description} is already up to date.\n`);
  } else {
    const plural = applied.length === 1 ? '' : 's';
    process.stdout.write(`Applied migration${plural} ${applied.join(', ')} to ${store.description}.\n`);
  }
}
