#!/usr/bin/env node
// The `kiwiform` command. Compiles src/ into dist/ when the compiled entry point is missing or older than any
// source file, then runs the command line from dist/cli/main.js.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'cli', 'main.js');
const sources = join(root, 'src');
const compiler = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** Returns the newest modification time in ms of a file, or of a directory and everything below it. */
function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  // A directory's own mtime changes when a file is added or removed, which catches deletions too.
  let newest = stat.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

function needsBuild() {
  // A package installed without its sources runs the dist/ it ships with.
  if (!existsSync(sources)) return false;
  if (!existsSync(entry)) return true;
  const newestSource = Math.max(newestMtime(sources), statSync(join(root, 'tsconfig.json')).mtimeMs);
  return newestSource > statSync(entry).mtimeMs;
}

if (needsBuild() && (existsSync(compiler) || !existsSync(entry))) {
  // tsc prints its diagnostics on stdout, so they are sent to stderr to keep stdout for the command's own output.
  const build = spawnSync(process.execPath, [compiler, '-p', join(root, 'tsconfig.json')], {
    cwd: root,
    stdio: ['ignore', 2, 'inherit'],
  });
  if (build.status !== 0) {
    const reason = build.error ? build.error.message : 'see the TypeScript errors above';
    console.error(`kiwiform: building dist/ from src/ failed (${reason}); fix it, then run "npm run build"`);
    process.exit(1);
  }
}

const { main } = await import(pathToFileURL(entry).href);
const status = await main(process.argv.slice(2));
// A failed command may leave handles open (a database pool, a worker's channel to its primary): exit now.
if (status !== 0) process.exit(status);
