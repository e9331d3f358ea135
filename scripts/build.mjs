#!/usr/bin/env node
/**
 * `npm start`'s build step: compile with tsc only when a source changed since the last build, so
 * a second `npm start` on an unchanged checkout costs a few milliseconds instead of a full tsc run.
 *
 * "Changed" = any .ts file under the compiled folders, tsconfig.json, package.json or
 * package-lock.json is newer than dist/.build-stamp (written after a successful tsc). `--force`
 * always compiles. `npm run build` and `npm test` always run tsc.
 *
 * After tsc, zod (imported by every step module for its params schema) is bundled by esbuild into
 * one minified file, dist/vendor/zod.js, and the compiled modules import it instead of the
 * package's ~40 files: a thread that loads a step (the main thread, each worker thread) parses one
 * file instead of resolving and compiling forty (~60 → ~20 ms a thread on this 2-core machine).
 * The entry of the `repro` command (engine/cli/launch.ts, which tries the no-op replay of `repro
 * run` before loading main.js) is bundled the same way into one CommonJS file,
 * dist/engine/cli/repro.cjs, that bin/repro runs: node starts a CommonJS entry sooner than an ES
 * module, and one file loads sooner than a dozen — milliseconds that count when a fully cached
 * run costs ~30 ms beyond starting node.
 * The sources keep `import { z } from 'zod'` (what the code fingerprint hashes, with zod's version
 * from package-lock.json); tests under vitest use the package itself.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync, existsSync, utimesSync, mkdirSync } from 'node:fs';
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
await vendorZod();
await bundleReplay();
writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
// the stamp carries the time the compile *started*: a source saved during tsc counts as newer
utimesSync(stamp, started / 1000, started / 1000);
process.stdout.write(`build: compiled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

/** Bundle zod into dist/vendor/zod.js (when missing or its version changed) and point dist's imports at it. */
async function vendorZod() {
  const out = path.join(root, 'dist', 'vendor', 'zod.js');
  const version = JSON.parse(readFileSync(path.join(root, 'node_modules', 'zod', 'package.json'), 'utf8')).version;
  const banner = `/* zod ${version} (MIT), bundled by scripts/build.mjs */`;
  if (!existsSync(out) || !readFileSync(out, 'utf8').startsWith(banner)) {
    mkdirSync(path.dirname(out), { recursive: true });
    const esbuild = await import('esbuild');
    try {
      esbuild.buildSync({
        stdin: { contents: "export * from 'zod';\nexport { default } from 'zod';\n", resolveDir: root, loader: 'js' },
        bundle: true,
        minify: true,
        format: 'esm',
        platform: 'node',
        logLevel: 'warning',
        banner: { js: banner },
        outfile: out,
      });
    } catch (e) {
      process.stderr.write(`build: bundling zod with esbuild failed: ${e.message}\n`);
      process.exit(1);
    }
  }
  const visit = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'vendor') visit(p);
      } else if (e.name.endsWith('.js')) {
        const src = readFileSync(p, 'utf8');
        if (!src.includes("from 'zod'")) continue;
        let rel = path.relative(path.dirname(p), out).split(path.sep).join('/');
        if (!rel.startsWith('.')) rel = `./${rel}`;
        writeFileSync(p, src.replace(/^(import [^;\n]* from )'zod';$/gm, `$1'${rel}';`));
      }
    }
  };
  for (const d of DIRS) if (existsSync(path.join(root, 'dist', d))) visit(path.join(root, 'dist', d));
}

/** Bundle the command's entry with the no-op replay and what it imports (memo, lock, history, fsutil, lowdb) into one CommonJS file. */
async function bundleReplay() {
  const esbuild = await import('esbuild');
  try {
    esbuild.buildSync({
      entryPoints: [path.join(root, 'dist', 'engine', 'cli', 'launch.js')],
      bundle: true,
      format: 'cjs',
      platform: 'node',
      minify: true,
      external: ['chalk'], // loaded only by the full path's ui (never by the replay)
      logLevel: 'warning',
      banner: { js: '/* engine/cli/launch.ts and its imports, bundled by scripts/build.mjs */' },
      outfile: path.join(root, 'dist', 'engine', 'cli', 'repro.cjs'),
    });
  } catch (e) {
    process.stderr.write(`build: bundling the no-op replay with esbuild failed: ${e.message}\n`);
    process.exit(1);
  }
}
