import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { closeContext, createContext } from '../src/server.js';

const SECRET_A = 'a'.repeat(40);
const SECRET_B = 'b'.repeat(40);

async function open(directory: string, secret?: string) {
  const env: Record<string, string> = { KIWIFORM_DATABASE_URL: `sqlite:${join(directory, 'kiwiform.db')}` };
  if (secret !== undefined) env.KIWIFORM_SECRET = secret;
  return createContext(loadConfig(env));
}

test('changed KIWIFORM_SECRET is refused at start', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'kiwiform-key-'));
  try {
    await closeContext(await open(directory, SECRET_A));
    await closeContext(await open(directory, SECRET_A));
    await assert.rejects(open(directory, SECRET_B), (error: Error) => error instanceof ConfigError && /KIWIFORM_SECRET/.test(error.message));
    await assert.rejects(open(directory), (error: Error) => error instanceof ConfigError && /set the same value again/.test(error.message));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('KIWIFORM_SECRET added to a database made without it is refused', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'kiwiform-key-'));
  try {
    await closeContext(await open(directory));
    await assert.rejects(open(directory, SECRET_A), ConfigError);
    await closeContext(await open(directory));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
