/**
 * The validated-spec cache: a no-op run should not parse YAML, build zod schemas or import step
 * modules. After a successful validation the PipelineSpec is saved in `artifacts/specs/` together
 * with everything it was derived from: the YAML's content hash, the `--set` overrides, the
 * registry file and code hash (source + transitive imports) of every step kind the pipeline uses,
 * the code hash of the config layer (engine/config/) and of package-lock.json. When all of these are
 * unchanged (checked through the stat cache: stats only) the saved spec is used as is; any
 * difference falls back to the full validation (which also produces the positioned errors).
 *
 * The file carries a checksum (fsutil.ts `sealJson`): a saved spec edited on disk (one flipped
 * byte in a param would silently change a result) fails it, is reported once on stderr and the
 * YAML is validated again (which saves a good copy). A file without a checksum (an older version)
 * is re-validated silently.
 */
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson, nonFinitePaths, sha256 } from './canonical.js';
import { codeClosure } from './codehash.js';
import type { Fingerprinter } from './fingerprint.js';
import { assertInside, sealJson, unsealJson, writeFileAtomic } from './fsutil.js';
import { PROJECT_ROOT } from './paths.js';
import type { Registry } from './registry.js';
import type { ParamOverride, PipelineSpec } from './spec.js';
import type { StatCache } from './statcache.js';

interface SpecCacheFile {
  v: 1;
  yaml: string;
  overrides: string;
  env: string;
  kinds: Record<string, { file: string; code: string }>;
  spec: PipelineSpec;
}

function envHash(stat: StatCache): string {
  const code = codeClosure(path.join(PROJECT_ROOT, 'engine/config/load.ts'), PROJECT_ROOT, stat);
  let lock = 'none';
  try {
    lock = stat.fileHash(path.join(PROJECT_ROOT, 'package-lock.json')).hash;
  } catch {
    /* no lock file */
  }
  return sha256(canonicalJson({ code, lock }));
}

/** Where the validated spec of `abs` with `overrides` is saved. */
export const specCachePath = (storeDir: string, abs: string, overrides: ParamOverride[]): string =>
  path.join(storeDir, 'specs', `${sha256(`${abs}\u0000${canonicalJson(overrides, true)}`).slice(0, 32)}.json`);

/** The saved spec if everything it depends on is unchanged, else null. */
export function cachedSpec(storeDir: string, abs: string, overrides: ParamOverride[], registry: Registry, stat: StatCache, fp: Fingerprinter): PipelineSpec | null {
  let c: SpecCacheFile;
  const file = specCachePath(storeDir, abs, overrides);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const u = unsealJson(text);
  if (u.state === 'mismatch' || u.state === 'unparseable') {
    process.stderr.write(`repro: warning: saved validated spec ${file} failed its checksum (edited or damaged on disk); ignoring it and validating ${abs} again\n`);
    return null;
  }
  if (u.state !== 'ok') return null; // no checksum: an older version's file
  c = u.value as SpecCacheFile;
  try {
    if (c.v !== 1 || c.spec.file !== abs) return null;
    if (c.yaml !== stat.fileHash(abs).hash) return null;
    if (c.overrides !== canonicalJson(overrides, true)) return null;
    for (const [kind, k] of Object.entries(c.kinds)) {
      const e = registry[kind];
      if (!e || e.file !== k.file) return null;
      if (sha256(canonicalJson(fp.code(kind, e.file))) !== k.code) return null;
    }
    if (c.env !== envHash(stat)) return null;
    touch(file); // gc keeps the most recently used specs (by mtime)
    return c.spec;
  } catch {
    return null;
  }
}

function touch(file: string): void {
  try {
    const now = new Date();
    fs.utimesSync(file, now, now);
  } catch {
    /* read-only store: gc may then drop this spec, which only costs one validation */
  }
}

/** Save a freshly validated spec. */
export function saveSpec(storeDir: string, abs: string, overrides: ParamOverride[], registry: Registry, stat: StatCache, fp: Fingerprinter, spec: PipelineSpec): void {
  try {
    // JSON would turn NaN / ±Infinity in params into null: such a spec is not cached
    if (nonFinitePaths(spec, 1).count > 0) return;
    const kinds: SpecCacheFile['kinds'] = {};
    for (const kind of new Set(spec.nodes.map((n) => n.kind))) {
      const e = registry[kind]!;
      kinds[kind] = { file: e.file, code: sha256(canonicalJson(fp.code(kind, e.file))) };
    }
    const c: SpecCacheFile = {
      v: 1,
      yaml: stat.fileHash(abs).hash,
      overrides: canonicalJson(overrides, true),
      env: envHash(stat),
      kinds,
      spec,
    };
    const p = specCachePath(storeDir, abs, overrides);
    assertInside(storeDir, path.dirname(p), 'store folder');
    fs.mkdirSync(path.dirname(p), { recursive: true });
    try {
      if (!fs.lstatSync(p).isFile()) fs.rmSync(p, { recursive: true, force: true }); // a directory in its place: only a cache
    } catch {
      /* not there yet */
    }
    writeFileAtomic(p, sealJson(c));
  } catch {
    /* a cache: failing to write it only costs speed */
  }
}
