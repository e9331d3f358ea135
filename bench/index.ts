/**
 * `npm run bench`: runs every `*.bench.js` in dist/bench (compiled from bench/*.bench.ts), one
 * child process each, in name order. A bench file default-exports an async function that prints
 * its own results (a module without a default export is simply imported, which runs it).
 * `node dist/bench/index.js engine stats` runs only the files whose name contains a word given.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = fs
  .readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
  .sort();
if (files.length === 0) {
  console.error(`no bench files${filters.length ? ` matching ${filters.join(', ')}` : ''} in ${here}`);
  process.exit(2);
}
const loader = `const m = await import(process.argv[1]); if (typeof m.default === 'function') await m.default();`;
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f.replace(/\.js$/, '')} ===`);
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', loader, pathToFileURL(path.join(here, f)).href], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`${f} failed (exit ${r.status ?? r.signal})`);
  }
}
process.exit(failed ? 1 : 0);
