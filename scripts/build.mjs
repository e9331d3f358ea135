#!/usr/bin/env node
/**
 * `npm start`'s build step: compile with tsc only when a source changed since the last build, so
 * a second `npm start` on an unchanged checkout costs a few milliseconds instead of a full tsc run.
 *
 * "Changed" = any .ts file under the compiled folders, tsconfig.json, package.json or
 * package-lock.json is newer than dist/.build-stamp (written after a successful tsc). `--force`
 * always compiles. `npm run build` and `npm test` always run tsc.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync, existsSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const DIRS = ['engine', 'steps', 'stats', 'data', 'bench', 'test'];
const FILES = ['tsconfig.json', 'package.json', 'package-lock.json'];

function newestMtime() {
  let newest = 0;
  const visit = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name === 'node_modules' || e.name === 'fixtures' || e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of DIRS) visit(path.join(root, d));
  for (const f of FILES) if (existsSync(path.join(root, f))) newest = Math.max(newest, statSync(path.join(root, f)).mtimeMs);
  return newest;
}

const force = process.argv.includes('--force');
let built = 0;
try {
  built = statSync(stamp).mtimeMs;
} catch {
  built = 0;
}
if (!force && built > 0 && newestMtime() < built) {
  process.stdout.write('build: up to date (no source changed since the last build)\n');
  process.exit(0);
}
const started = Date.now();
const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
// the stamp carries the time the compile *started*: a source saved during tsc counts as newer
utimesSync(stamp, started / 1000, started / 1000);
process.stdout.write(`build: compiled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
