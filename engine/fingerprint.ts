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
 * - `seed`: the node's random stream root — pipeline seed and node id (the id keys the stream).
 *
 * No absolute paths, no timestamps. The parts are kept (in the history) so `why` and `status` can
 * say which part changed.
 */
import path from 'node:path';
import { canonicalJson, sha256, short } from './canonical.js';
import { codeClosure } from './codehash.js';
import { relPosix } from './fsutil.js';
import type { StatCache } from './statcache.js';

export interface FingerprintParts {
  kind: string;
  code: Record<string, string>;
  params: Record<string, unknown>;
  inputs: Record<string, string | string[]>;
  files: Record<string, string>;
  seed: { root: number; node: string };
}

/** The fingerprint (hex sha256) of a node's parts. */
export function fingerprintKey(p: FingerprintParts): string {
  return sha256(canonicalJson(p, true)); // exact: NaN / ±Infinity in params stay distinct
}

/** Computes the non-input parts of fingerprints with per-process memoization. */
export class Fingerprinter {
  private codeMemo = new Map<string, { hash: string; deps: string[] }>();
  private codeByKind = new Map<string, Record<string, string>>();
  private fileMemo = new Map<string, string>();

  constructor(
    /** Directory the registry's `file` paths are relative to (the project root). */
    readonly codeRoot: string,
    readonly stat: StatCache | null,
  ) {}

  /** The code part for a step kind whose source file is `file` (relative to codeRoot, or absolute). */
  code(kind: string, file: string): Record<string, string> {
    let c = this.codeByKind.get(kind);
    if (!c) {
      c = codeClosure(path.resolve(this.codeRoot, file), this.codeRoot, this.stat, this.codeMemo);
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
   * folder is. A missing file hashes as "missing", a directory as "directory" (the step reports
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
        h = (e as NodeJS.ErrnoException).code === 'EISDIR' ? 'directory' : 'missing';
      }
      out[path.isAbsolute(f) ? abs.split(path.sep).join('/') : relPosix(baseDir, abs)] = h;
    }
    const sorted: Record<string, string> = {};
    for (const k of Object.keys(out).sort()) sorted[k] = out[k]!;
    return sorted;
  }
}

/** One difference between two sets of parts, for `why`. */
export interface PartChange {
  /** 'kind' | 'code' | 'params' | 'inputs' | 'files' | 'seed' */
  part: keyof FingerprintParts;
  /** e.g. `params.controls`, `input panel`, `code: stats/ols.ts`, `file data/x.csv` */
  what: string;
  /** Full human line, e.g. `params.controls: [pgdp] → [pgdp, indus]`. */
  line: string;
}

/** A value in YAML flow style, for messages: [a, b], {k: v}, strings bare when safe. */
export function flow(v: unknown): string {
  if (v === undefined) return '(unset)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(flow).join(', ')}]`;
  if (typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${k}: ${flow((v as Record<string, unknown>)[k])}`)
      .join(', ')}}`;
  }
  if (typeof v === 'string') return /^[\w./@-][\w ./@-]*$/.test(v) && v.trim() === v && !/^(true|false|null|[\d.+-].*)$/.test(v) ? v : JSON.stringify(v);
  return String(v);
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function diffParams(prefix: string, a: unknown, b: unknown, out: PartChange[]): void {
  if (canonicalJson(a, true) === canonicalJson(b, true)) return;
  if (isObj(a) && isObj(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) diffParams(`${prefix}.${k}`, a[k], b[k], out);
    return;
  }
  const line = `${prefix}: ${flow(a)} → ${flow(b)}`;
  out.push({ part: 'params', what: prefix, line: line.length > 300 ? `${prefix} changed` : line });
}

/** What changed from `before` to `after`, part by part (kind, code, params, inputs, files, seed). */
export function diffParts(before: FingerprintParts, after: FingerprintParts, which: (keyof FingerprintParts)[] = ['kind', 'code', 'params', 'inputs', 'files', 'seed']): PartChange[] {
  const out: PartChange[] = [];
  const want = new Set(which);
  if (want.has('kind') && before.kind !== after.kind) out.push({ part: 'kind', what: 'kind', line: `kind: ${before.kind} → ${after.kind}` });
  if (want.has('code')) {
    const files = [...new Set([...Object.keys(before.code ?? {}), ...Object.keys(after.code ?? {})])].sort();
    for (const f of files) {
      const a = before.code?.[f];
      const b = after.code?.[f];
      if (a === b) continue;
      const line = a === undefined ? `code: ${f} (now imported)` : b === undefined ? `code: ${f} (no longer imported)` : `code: ${f}`;
      out.push({ part: 'code', what: f, line });
    }
  }
  if (want.has('params')) diffParams('params', before.params ?? {}, after.params ?? {}, out);
  if (want.has('inputs')) {
    const names = [...new Set([...Object.keys(before.inputs ?? {}), ...Object.keys(after.inputs ?? {})])].sort();
    for (const n of names) {
      const a = before.inputs?.[n];
      const b = after.inputs?.[n];
      if (canonicalJson(a) === canonicalJson(b)) continue;
      const show = (v: string | string[] | undefined): string =>
        v === undefined ? '(none)' : Array.isArray(v) ? `[${v.map(short).join(', ')}]` : short(v);
      out.push({ part: 'inputs', what: `input ${n}`, line: `input ${n}: ${show(a)} → ${show(b)}` });
    }
  }
  if (want.has('files')) {
    const files = [...new Set([...Object.keys(before.files ?? {}), ...Object.keys(after.files ?? {})])].sort();
    for (const f of files) {
      const a = before.files?.[f];
      const b = after.files?.[f];
      if (a === b) continue;
      const line = a === undefined ? `file ${f} added` : b === undefined ? `file ${f} no longer used` : b === 'missing' ? `file ${f} is missing` : b === 'directory' ? `file ${f} is a directory` : `file ${f} changed`;
      out.push({ part: 'files', what: `file ${f}`, line });
    }
  }
  if (want.has('seed') && canonicalJson(before.seed) !== canonicalJson(after.seed)) {
    out.push({ part: 'seed', what: 'seed', line: `seed: ${flow(before.seed)} → ${flow(after.seed)}` });
  }
  return out;
}

/** A short reason phrase from changes: `params.controls changed`, `input panel changed`, `code of steps/estimate.ts changed`. */
export function reasonOf(changes: PartChange[]): string {
  if (changes.length === 0) return 'not in cache';
  const phrase = (c: PartChange): string =>
    c.part === 'code' ? `code of ${c.what} changed` : c.part === 'files' ? c.line : `${c.what} changed`;
  const first = changes.slice(0, 2).map(phrase);
  return changes.length > 2 ? `${first.join(', ')} (+${changes.length - 2} more)` : first.join(', ');
}
