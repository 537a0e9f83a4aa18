#!/usr/bin/env node
// Runs the store's purge on a database, for timing it while `kiwiform purge` is not available in the command
// line. Prints the deleted row counts as JSON. Needs the compiled server (`npm run build`).
//
//   node bench/purge-store.mjs sqlite:FILE [GRACE_SECONDS] [BATCH_SIZE]
import { openStore } from '../dist/storage/open-store.js';

const [databaseUrl, graceArgument = '60', batchArgument = '10000'] = process.argv.slice(2);
if (!databaseUrl) {
  process.stderr.write('usage: node bench/purge-store.mjs sqlite:FILE [GRACE_SECONDS] [BATCH_SIZE]\n');
  process.exit(2);
}

// Older builds take the URL itself, newer ones an options object with databaseUrl.
let store;
try {
  store = await openStore({ databaseUrl });
} catch (error) {
  if (!(error instanceof TypeError)) throw error;
  store = await openStore(databaseUrl);
}
const now = Date.now();
try {
  const deleted = await store.purge(now, now - Number(graceArgument) * 1000, Number(batchArgument));
  process.stdout.write(`${JSON.stringify(deleted)}\n`);
} finally {
  await store.close();
}
