/**
 * Code hashing for fingerprints: the hash of a step's source file and of every project module it
 * imports transitively, insensitive to comments and whitespace.
 *
 * A small tokenizer (no TypeScript compiler at run time) splits a JS/TS source into tokens —
 * identifiers, numbers, strings, template chunks, regex literals, punctuation — dropping comments
 * and whitespace. The normalized hash is sha256 of the token list. The same token list gives the
 * module's imports: `import … from './x.js'`, `import './x.js'`, `export … from './x.js'` and
 * `import('./x.js')` with a literal relative specifier (`import type` / `export type` are skipped:
 * they vanish at run time), plus modules loaded by URL (`new URL('./x.js', import.meta.url)`).
 * `.js` specifiers map back to `.ts` sources when those exist. Bare specifiers name third-party
 * packages: their resolved versions enter the fingerprint separately ({@link packageVersions}).
 *
 * Per-file results are cached in the stat cache by (size, mtime, inode, ctime), so a run only stats the
 * files of an unchanged code base.
 *
 * @example
 * const hashes = codeClosure('/repo/steps/estimate.ts', '/repo', statCache);
 * // { 'steps/estimate.ts': 'ab12…', 'stats/ols.ts': '9f00…', 'engine/table.ts': '…' }
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { StatCache } from './statcache.js';
import { relPosix } from './fsutil.js';

const enum K {
  Ident,
  Num,
  Str,
  Tmpl,
  Regex,
  Punct,
}

/** Keywords after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else',
  'yield', 'await', 'extends',
]);

const isIdStart = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 36 || c === 95 || c === 35 || c === 64 || c >= 128;
const isIdPart = (c: number): boolean => isIdStart(c) || (c >= 48 && c <= 57);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const NUM_RE = /(?:0[xXbBoO][0-9a-fA-F_]+n?|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?n?)/y;

export interface Tokens {
  toks: string[];
  kinds: K[];
}

/** Split a JS/TS source into tokens, dropping comments and whitespace. Never throws. */
export function tokenize(src: string): Tokens {
  const toks: string[] = [];
  const kinds: K[] = [];
  const n = src.length;
  let i = 0;
  // brace stack: 0 = ordinary brace, 1 = template substitution `${`
  const braces: number[] = [];
  const push = (t: string, k: K): void => {
    toks.push(t);
    kinds.push(k);
  };
  if (src.startsWith('#!')) {
    const nl = src.indexOf('\n');
    i = nl < 0 ? n : nl;
  }
  const scanTemplate = (start: number): number => {
    // start points just after '`' or after the '}' closing a substitution; returns index after chunk
    let j = start;
    while (j < n) {
      const c = src.charCodeAt(j);
      if (c === 92) {
        j += 2;
        continue;
      }
      if (c === 96) {
        push(src.slice(start - 1, j + 1), K.Tmpl);
        return j + 1;
      }
      if (c === 36 && src.charCodeAt(j + 1) === 123) {
        push(src.slice(start - 1, j + 2), K.Tmpl);
        braces.push(1);
        return j + 2;
      }
      j++;
    }
    push(src.slice(start - 1), K.Tmpl);
    return n;
  };
  const regexAllowed = (): boolean => {
    const last = toks.length - 1;
    if (last < 0) return true;
    const k = kinds[last]!;
    const t = toks[last]!;
    if (k === K.Punct) return !(t === ')' || t === ']' || t === '}');
    if (k === K.Ident) return REGEX_AFTER.has(t);
    return false;
  };
  while (i < n) {
    const c = src.charCodeAt(i);
    // whitespace (ASCII and the common Unicode spaces)
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12 || c === 0xa0 || c === 0xfeff || c === 0x2028 || c === 0x2029) {
      i++;
      continue;
    }
    if (c === 47) {
      const d = src.charCodeAt(i + 1);
      if (d === 47) {
        const nl = src.indexOf('\n', i);
        i = nl < 0 ? n : nl;
        continue;
      }
      if (d === 42) {
        const end = src.indexOf('*/', i + 2);
        i = end < 0 ? n : end + 2;
        continue;
      }
      if (regexAllowed()) {
        let j = i + 1;
        let inClass = false;
        while (j < n) {
          const e = src.charCodeAt(j);
          if (e === 92) {
            j += 2;
            continue;
          }
          if (e === 10) break; // unterminated: give up at end of line
          if (inClass) {
            if (e === 93) inClass = false;
          } else if (e === 91) inClass = true;
          else if (e === 47) break;
          j++;
        }
        j++;
        while (j < n && isIdPart(src.charCodeAt(j))) j++;
        push(src.slice(i, j), K.Regex);
        i = j;
        continue;
      }
      push('/', K.Punct);
      i++;
      continue;
    }
    if (c === 39 || c === 34) {
      let j = i + 1;
      while (j < n) {
        const e = src.charCodeAt(j);
        if (e === 92) {
          j += 2;
          continue;
        }
        if (e === c || e === 10) break;
        j++;
      }
      push(src.slice(i, j + 1), K.Str);
      i = j + 1;
      continue;
    }
    if (c === 96) {
      i = scanTemplate(i + 1);
      continue;
    }
    if (c === 123) {
      braces.push(0);
      push('{', K.Punct);
      i++;
      continue;
    }
    if (c === 125) {
      const b = braces.pop();
      if (b === 1) {
        i = scanTemplate(i + 1);
        continue;
      }
      push('}', K.Punct);
      i++;
      continue;
    }
    if (isDigit(c) || (c === 46 && isDigit(src.charCodeAt(i + 1)))) {
      NUM_RE.lastIndex = i;
      const m = NUM_RE.exec(src);
      const len = m ? m[0].length : 1;
      push(src.slice(i, i + len), K.Num);
      i += len;
      continue;
    }
    if (isIdStart(c)) {
      let j = i + 1;
      while (j < n && isIdPart(src.charCodeAt(j))) j++;
      push(src.slice(i, j), K.Ident);
      i = j;
      continue;
    }
    push(src[i]!, K.Punct);
    i++;
  }
  return { toks, kinds };
}

/** The value of a string or plain template token (no escapes handled beyond quotes). */
function literal(t: string, k: K): string | null {
  if (k === K.Str) return t.slice(1, -1);
  if (k === K.Tmpl && t.startsWith('`') && t.endsWith('`') && t.length >= 2) return t.slice(1, -1);
  return null;
}

/** Module specifiers a token list imports at run time (static, re-export and literal dynamic imports). */
export function importsOf({ toks, kinds }: Tokens): string[] {
  const out: string[] = [];
  const n = toks.length;
  const findFrom = (j: number): void => {
    for (let m = j; m < n && m < j + 5000; m++) {
      const t = toks[m]!;
      if (kinds[m] === K.Punct && t === ';') return;
      if (kinds[m] === K.Ident && (t === 'import' || t === 'export') && m > j) return;
      if (kinds[m] === K.Ident && t === 'from' && m + 1 < n) {
        const s = literal(toks[m + 1]!, kinds[m + 1]!);
        if (s !== null) {
          out.push(s);
          return;
        }
      }
    }
  };
  for (let i = 0; i < n; i++) {
    if (kinds[i] !== K.Ident) continue;
    const t = toks[i]!;
    // a module loaded by URL rather than imported: new URL('./x.js', import.meta.url) names a file
    // relative to this one. It is code the module runs, so it belongs to its closure.
    if (t === 'URL' && toks[i - 1] === 'new' && toks[i + 1] === '(' && i + 2 < n) {
      const s = literal(toks[i + 2]!, kinds[i + 2]!);
      if (s !== null && (s.startsWith('./') || s.startsWith('../')) && toks.slice(i + 3, i + 10).join('') === ',import.meta.url)') out.push(s);
      continue;
    }
    if (t !== 'import' && t !== 'export') continue;
    if (i > 0 && toks[i - 1] === '.') continue; // obj.import
    const nx = toks[i + 1];
    const nk = kinds[i + 1];
    if (nx === undefined) break;
    if (t === 'import') {
      if (nx === '(') {
        const s = i + 2 < n ? literal(toks[i + 2]!, kinds[i + 2]!) : null;
        if (s !== null && (toks[i + 3] === ')' || toks[i + 3] === ',')) out.push(s);
        continue;
      }
      if (nx === '.') continue; // import.meta
      const s = literal(nx, nk!);
      if (s !== null) {
        out.push(s);
        continue;
      }
      if (nx === 'type' && toks[i + 2] !== ',' && toks[i + 2] !== 'from') continue; // import type …
      findFrom(i + 1);
    } else {
      if (nx === 'type') continue; // export type …
      if (nx === '*' || nx === '{') findFrom(i + 1);
    }
  }
  return out;
}

/** Normalized hash of a source text and the specifiers it imports. */
export function normalizeSource(src: string): { hash: string; imports: string[] } {
  const tk = tokenize(src);
  const h = createHash('sha256');
  for (const t of tk.toks) h.update(t).update('\u0000');
  return { hash: h.digest('hex'), imports: importsOf(tk) };
}

const fileExists = (p: string): boolean => {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
};

/** Resolve a relative specifier of `fromFile` to a project source file (`.js` → `.ts` when present). */
export function resolveSpecifier(fromFile: string, spec: string): string | null {
  if (!spec.startsWith('./') && !spec.startsWith('../')) return null;
  const base = path.resolve(path.dirname(fromFile), spec);
  const cands: string[] = [];
  const ext = path.extname(base);
  if (ext === '.js') cands.push(base.slice(0, -3) + '.ts', base.slice(0, -3) + '.tsx', base);
  else if (ext === '.mjs') cands.push(base.slice(0, -4) + '.mts', base);
  else if (ext === '.cjs') cands.push(base.slice(0, -4) + '.cts', base);
  else if (ext === '.ts' || ext === '.mts' || ext === '.json') cands.push(base);
  else cands.push(base + '.ts', base + '.js', path.join(base, 'index.ts'), path.join(base, 'index.js'), base);
  for (const c of cands) if (fileExists(c)) return c;
  return null;
}

/** Missing modules are recorded with this marker instead of a hash. */
export const MISSING = 'missing';

/**
 * Normalized hash and import specifiers of one source file, through the stat cache.
 * JSON files are hashed by content (they are data, not code, but a module may import them).
 */
export function fileCodeInfo(file: string, stat: StatCache | null): { hash: string; imports: string[] } {
  const st = fs.statSync(file);
  // 'c2': the import list is cached with the hash; the namespace changes when import detection does
  // (keep StatCache.prune's list of live namespaces in step)
  const hit = stat?.get('c2', file, st);
  if (hit) return { hash: hit.h, imports: Array.isArray(hit.x) ? hit.x : [] };
  const start = Date.now();
  const src = fs.readFileSync(file, 'utf8');
  if (stat) stat.reads++;
  const info = file.endsWith('.json')
    ? { hash: createHash('sha256').update(src).digest('hex'), imports: [] }
    : normalizeSource(src);
  stat?.set('c2', file, st, info.hash, info.imports, start);
  return info;
}

/**
 * The code part of a fingerprint: normalized hash of `entry` and of every project module it
 * imports transitively, keyed by path relative to `root` (forward slashes), sorted.
 * `memo` shares per-file work between step kinds within one process.
 */
export function codeClosure(
  entry: string,
  root: string,
  stat: StatCache | null,
  memo: Map<string, { hash: string; deps: string[]; bare?: string[] }> = new Map(),
  /** Collects the package names of bare (third-party) imports of the closure, e.g. `jstat`, `@resvg/resvg-js`. */
  bare?: Set<string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  const stack = [path.resolve(root, entry)];
  while (stack.length) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    let m = memo.get(f);
    if (!m) {
      if (!fileExists(f)) {
        m = { hash: MISSING, deps: [] };
      } else {
        const info = fileCodeInfo(f, stat);
        const deps: string[] = [];
        const pkgs: string[] = [];
        for (const spec of info.imports) {
          const pkg = packageOf(spec);
          if (pkg) pkgs.push(pkg);
          const [from, s] = [f, spec];
          if (!s.startsWith('./') && !s.startsWith('../')) continue;
          const r = resolveSpecifier(from, s);
          // an unresolved relative import is recorded, so that the file appearing changes the hash
          deps.push(r ?? path.resolve(path.dirname(from), s));
        }
        m = { hash: info.hash, deps, bare: pkgs };
      }
      memo.set(f, m);
    }
    out[relPosix(root, f)] = m.hash;
    if (bare) for (const b of m.bare ?? []) bare.add(b);
    for (const d of m.deps) if (!seen.has(d)) stack.push(d);
  }
  const sorted: Record<string, string> = {};
  for (const k of Object.keys(out).sort()) sorted[k] = out[k]!;
  return sorted;
}

/** The npm package a bare specifier names (`@scope/name/sub` → `@scope/name`), or null (relative, `node:`, URL). */
export function packageOf(spec: string): string | null {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || /^[a-z]+:/i.test(spec)) return null;
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  if (!/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(name)) return null;
  if (BUILTINS.has(name)) return null;
  return name;
}

const BUILTINS = new Set(['fs', 'path', 'os', 'url', 'util', 'crypto', 'stream', 'events', 'zlib', 'child_process', 'worker_threads', 'perf_hooks', 'assert', 'buffer', 'readline', 'http', 'https', 'net', 'tty', 'module', 'process', 'v8', 'vm', 'timers', 'string_decoder', 'querystring', 'dns']);

const lockMemo = new Map<string, Record<string, string>>();

/** Top-level package versions of package-lock.json (`node_modules/NAME` → version), through the stat cache. */
function lockVersions(root: string, stat: StatCache | null): Record<string, string> {
  let v = lockMemo.get(root);
  if (v) return v;
  const file = path.join(root, 'package-lock.json');
  v = {};
  try {
    const st = fs.statSync(file);
    const hit = stat?.get('pk', file, st);
    if (hit && typeof hit.x === 'string') v = JSON.parse(hit.x) as Record<string, string>;
    else {
      const start = Date.now();
      const pk = (JSON.parse(fs.readFileSync(file, 'utf8')) as { packages?: Record<string, { version?: string }> }).packages ?? {};
      for (const [k, e] of Object.entries(pk)) {
        if (!k.startsWith('node_modules/') || k.indexOf('/node_modules/', 1) >= 0 || !e.version) continue;
        v[k.slice('node_modules/'.length)] = e.version;
      }
      stat?.set('pk', file, st, 'lock', JSON.stringify(v), start);
    }
  } catch {
    /* no lock file: fall back to the installed package.json files */
  }
  lockMemo.set(root, v);
  return v;
}

/**
 * Resolved versions of packages, from the project's package-lock.json, else the installed
 * `node_modules/NAME/package.json`; `unknown` when neither says. Sorted by name.
 */
export function packageVersions(names: Iterable<string>, root: string, stat: StatCache | null = null): Record<string, string> {
  const sorted = [...names].sort();
  const out: Record<string, string> = {};
  if (sorted.length === 0) return out;
  const lock = lockVersions(root, stat);
  for (const n of sorted) {
    let v = lock[n];
    if (!v) {
      try {
        v = (JSON.parse(fs.readFileSync(path.join(root, 'node_modules', n, 'package.json'), 'utf8')) as { version?: string }).version;
      } catch {
        /* not installed here */
      }
    }
    out[n] = v ?? 'unknown';
  }
  return out;
}
