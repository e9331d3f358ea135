/**
 * Fingerprints (invariant 1). A node's fingerprint is sha256 of the canonical JSON of its parts:
 *
 * - `kind`: the step kind;
 * - `code`: normalized hash of the step's source and of every project module it imports
 *   (transitively), by project-relative path — see codehash.ts;
 * - `params`: the params after defaults, `extends`, `foreach` and `--set` (key order irrelevant);
 * - `inputs`: the content hash of each input artifact (a list for `many` inputs);
 * - `files`: the content hash of each file named by a path param, by its path as written
 *   (relative to the YAML, or absolute), so moving the project folder changes nothing;
 * - `seed`: the node's random stream root — pipeline seed and node id (the id keys the stream);
 * - `extra` (only for steps that define `extraFingerprint`): what that hook returns — e.g. a
 *   script step's interpreter version and listed environment variables;
 * - `packages`: the resolved versions of the third-party packages the code closure imports
 *   (`{jstat: '1.9.6'}`, from package-lock.json), so upgrading a numerical dependency reruns what
 *   uses it (as wireit records tool versions).
 *
 * No absolute paths, no timestamps. The parts are kept (in the history) so `why` and `status` can
 * say which part changed (reasons.ts renders the differences).
 */
import path from 'node:path';
import { canonicalJson, sha256 } from './canonical.js';
import { codeClosure, packageVersions } from './codehash.js';
import { relPosix } from './fsutil.js';
import type { StatCache } from './statcache.js';

export interface FingerprintParts {
  kind: string;
  code: Record<string, string>;
  params: Record<string, unknown>;
  inputs: Record<string, string | string[]>;
  files: Record<string, string>;
  seed: { root: number; node: string };
  packages: Record<string, string>;
  /** Absent unless the step defines `extraFingerprint` (so other fingerprints are unchanged). */
  extra?: Record<string, string>;
}

/** The fingerprint (hex sha256) of a node's parts. */
export function fingerprintKey(p: FingerprintParts): string {
  return sha256(canonicalJson(p, true)); // exact: NaN / ±Infinity in params stay distinct
}

/** Computes the non-input parts of fingerprints with per-process memoization. */
export class Fingerprinter {
  private codeMemo = new Map<string, { hash: string; deps: string[] }>();
  private codeByKind = new Map<string, { code: Record<string, string>; packages: Record<string, string> }>();
  private fileMemo = new Map<string, string>();

  constructor(
    /** Directory the registry's `file` paths are relative to (the project root). */
    readonly codeRoot: string,
    readonly stat: StatCache | null,
  ) {}

  /** The code part for a step kind whose source file is `file` (relative to codeRoot, or absolute). */
  code(kind: string, file: string): Record<string, string> {
    return this.closure(kind, file).code;
  }

  /** The packages part: versions of the third-party packages the step's code closure imports. */
  packages(kind: string, file: string): Record<string, string> {
    return this.closure(kind, file).packages;
  }

  private closure(kind: string, file: string): { code: Record<string, string>; packages: Record<string, string> } {
    let c = this.codeByKind.get(kind);
    if (!c) {
      const bare = new Set<string>();
      const code = codeClosure(path.resolve(this.codeRoot, file), this.codeRoot, this.stat, this.codeMemo, bare);
      c = { code, packages: packageVersions(bare, this.codeRoot, this.stat) };
      this.codeByKind.set(kind, c);
    }
    return c;
  }

  /** Content hash of a data file (stat cache first). Throws if the file is missing. */
  fileHash(abs: string): string {
    let h = this.fileMemo.get(abs);
    if (h === undefined) {
      h = this.stat ? this.stat.fileHash(abs).hash : (undefined as never);
      if (h === undefined) throw new Error('Fingerprinter needs a stat cache');
      this.fileMemo.set(abs, h);
    }
    return h;
  }

  /**
   * The `files` part: content hash by path as written — relative to the YAML directory (forward
   * slashes), or absolute when written absolute — so neither form depends on where the project
   * folder is. A missing file hashes as "missing", a directory as "directory", a FIFO, device or socket
   * as "not-a-file" without being opened (the step reports
   * the problem when it runs; the fingerprint never throws).
   */
  files(baseDir: string, files: string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of files) {
      const abs = path.resolve(baseDir, f);
      let h: string;
      try {
        h = this.fileHash(abs);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        h = code === 'EISDIR' ? 'directory' : code === 'ENOTREG' ? 'not-a-file' : 'missing';
      }
      out[path.isAbsolute(f) ? abs.split(path.sep).join('/') : relPosix(baseDir, abs)] = h;
    }
    const sorted: Record<string, string> = {};
    for (const k of Object.keys(out).sort()) sorted[k] = out[k]!;
    return sorted;
  }
}
