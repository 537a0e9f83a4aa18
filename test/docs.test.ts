import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/process.js';

function sources(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

test('error table lists every returned code', () => {
  const table = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
  const documented = new Set([...table.matchAll(/^\| `([a-z_]+)` \|/gm)].map((match) => match[1]));
  const code = sources(join(ROOT, 'src')).map((path) => readFileSync(path, 'utf8')).join('\n');
  const used = new Set([
    ...[...code.matchAll(/OAuthError\('([a-z_]+)'/g)].map((match) => match[1]),
    ...[...code.matchAll(/bearerError\('([a-z_]+)'/g)].map((match) => match[1]),
    ...[...code.matchAll(/error: '([a-z_]+)'/g)].map((match) => match[1]),
  ]);
  if (/invalidRequest\(/.test(code)) used.add('invalid_request');
  if (/invalidGrant\(/.test(code)) used.add('invalid_grant');
  if (/invalidClient\(/.test(code)) used.add('invalid_client');
  for (const name of used) assert.ok(documented.has(name), `${name} is returned but not in docs/errors.md`);
  for (const name of documented) assert.ok(used.has(name), `${name} is in docs/errors.md but never returned`);
});
