// Runs every test file under test/ with Node's test runner, after building the server that the
// end-to-end tests start. Usage: npm test [-- FILE_OR_FOLDER ...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function collect(path, found) {
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path).sort()) collect(join(path, entry), found);
  } else if (/\.test\.(ts|mjs|js|cjs)$/.test(path)) {
    found.push(relative(root, path));
  }
  return found;
}

const targets = process.argv.slice(2);
const files = (targets.length ? targets : ['test']).flatMap((target) => collect(join(root, target), []));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const run = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'test' } },
);
process.exit(run.status ?? 1);
