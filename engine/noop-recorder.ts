/**
 * The recorder of the no-op memo (noop-memo.ts): wraps the path-taking functions of `node:fs`
 * (and `fs.promises`) while a `repro run` decides, noting every file looked at — with what the
 * call saw — and every file written. Only the CLI's `run` installs it, and only until the first
 * node that is not a quiet cache hit (then it uninstalls itself: nothing to memoize).
 */
import fs from 'node:fs';
import path from 'node:path';
import { syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';
import { MEMO_DIR, observe, type Dep } from './noop-memo.js';
import { RACY_MS } from './statcache.js';

/** `dist/.build-stamp` next to the compiled engine (absent when running from the TypeScript sources). */
const BUILD_STAMP = fileURLToPath(new URL('../.build-stamp', import.meta.url));

/** The store's bookkeeping: read and written by every run, never an input of a decision (see the module comment). */
function bookkeeping(storeDir: string, file: string): boolean {
  if (file === storeDir || file.startsWith('/proc/')) return true;
  if (path.basename(file).startsWith('.tmp-')) return true;
  if (!file.startsWith(storeDir + path.sep)) return false;
  const rel = file.slice(storeDir.length + 1);
  const top = rel.split(path.sep)[0]!;
  return ['locks', 'runs', 'tmp', MEMO_DIR, 'specs'].includes(top) || rel === 'history.json' || rel === 'statcache.json';
}

const READS = { statSync: 's', lstatSync: 'l', existsSync: 's', readFileSync: 's', realpathSync: 'r', readdirSync: 'd', openSync: 's', accessSync: 's', createReadStream: 's' } as const;
const PROMISE_READS = { stat: 's', lstat: 'l', readFile: 's', realpath: 'r', readdir: 'd', access: 's', open: 's' } as const;
const WRITES = ['writeFileSync', 'appendFileSync', 'renameSync', 'copyFileSync', 'unlinkSync', 'rmSync', 'rmdirSync', 'mkdirSync', 'utimesSync', 'symlinkSync', 'linkSync', 'truncateSync', 'chmodSync', 'createWriteStream'] as const;
const PROMISE_WRITES = ['writeFile', 'appendFile', 'rename', 'copyFile', 'unlink', 'rm', 'rmdir', 'mkdir', 'utimes', 'symlink', 'link', 'truncate', 'chmod'] as const;

/** The calls that open a file (a write when their flags say so), and those that name two paths (both written). */
const OPENS = new Set(['openSync', 'open']);
const TWO_PATHS = new Set(['renameSync', 'copyFileSync', 'symlinkSync', 'linkSync', 'rename', 'copyFile', 'symlink', 'link']);

/** `open` flags that write: `w`, `a`, `+` (or O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND). */
function writes(flags: unknown): boolean {
  const c = fs.constants;
  if (typeof flags === 'string') return /[wa+]/.test(flags);
  return typeof flags === 'number' && (flags & (c.O_WRONLY | c.O_RDWR | c.O_CREAT | c.O_TRUNC | c.O_APPEND)) !== 0;
}

const asPath = (p: unknown): string | null => (typeof p === 'string' ? path.resolve(p) : p instanceof URL && p.protocol === 'file:' ? fileURLToPath(p) : Buffer.isBuffer(p) ? path.resolve(p.toString()) : null);

/** Records the files a run looks at and writes; see the module comment. */
export class Recorder {
  private readonly seen = new Map<string, Dep>();
  private readonly written = new Set<string>();
  private spoiled: string | null = null;
  private restore: (() => void) | null;

  constructor() {
    // the compiled code of repro itself (scripts/build.mjs rewrites the stamp after every compile):
    // the modules loaded before recording started are covered by it
    this.seen.set(`s${BUILD_STAMP}`, ['s', BUILD_STAMP, observe('s', BUILD_STAMP)]);
    const saved: [object, string, unknown][] = [];
    const wrap = (obj: Record<string, unknown>, name: string, fn: (orig: (...a: unknown[]) => unknown) => (...a: unknown[]) => unknown): void => {
      const orig = obj[name];
      if (typeof orig !== 'function') return;
      saved.push([obj, name, orig]);
      obj[name] = fn(orig as (...a: unknown[]) => unknown);
    };
    const fsObj = fs as unknown as Record<string, unknown>;
    const promises = fs.promises as unknown as Record<string, unknown>;
    const apis: [Record<string, unknown>, Record<string, Dep[0]>, readonly string[]][] = [
      [fsObj, READS, WRITES],
      [promises, PROMISE_READS, PROMISE_WRITES],
    ];
    for (const [obj, reads, writers] of apis) {
      for (const [name, op] of Object.entries(reads)) {
        wrap(obj, name, (orig) =>
          function (this: unknown, ...a: unknown[]) {
            // before the call: a call that throws (ENOENT) is an observation too — a file that
            // appears later matters; `open` for writing is a write
            if (OPENS.has(name) && writes(a[1])) rec.wrote(a[0]);
            else rec.read(op, a[0]);
            return orig.apply(this, a);
          },
        );
      }
      for (const name of writers) {
        wrap(obj, name, (orig) =>
          function (this: unknown, ...a: unknown[]) {
            rec.wrote(a[0]);
            if (TWO_PATHS.has(name)) rec.wrote(a[1]);
            return orig.apply(this, a);
          },
        );
      }
    }
    // `import { statSync } from 'node:fs'` bindings follow the patched functions
    syncBuiltinESMExports();
    const rec = this;
    this.restore = () => {
      for (const [obj, name, orig] of saved) (obj as Record<string, unknown>)[name] = orig;
      syncBuiltinESMExports();
    };
  }

  /** Stop recording: this run will not be memoized (a node ran, a warning was printed, …). */
  spoil(why: string): void {
    this.spoiled ??= why;
    this.uninstall();
  }

  get reasonSpoiled(): string | null {
    return this.spoiled;
  }

  private read(op: Dep[0], p: unknown): void {
    const file = asPath(p);
    if (file === null || this.spoiled !== null) return;
    const k = `${op}${file}`;
    if (this.seen.has(k)) return;
    // what the call sees (taken just before it, with the unwrapped functions; stop() checks it is unchanged)
    this.seen.set(k, [op, file, observe(op, file)]);
  }

  private wrote(p: unknown): void {
    const file = asPath(p);
    if (file !== null) this.written.add(file);
  }

  private uninstall(): void {
    this.restore?.();
    this.restore = null;
  }

  /**
   * Stop recording and return the dependencies of the run for a memo — or null (with the reason
   * in {@link reasonSpoiled}) when it wrote anything but the store's bookkeeping or a file it
   * looked at has changed since.
   */
  stop(storeDir: string, now = Date.now()): Dep[] | null {
    this.uninstall();
    if (this.spoiled !== null) return null;
    const store = path.resolve(storeDir);
    for (const w of this.written) {
      if (!bookkeeping(store, w)) {
        this.spoiled = `it wrote ${w}`;
        return null;
      }
    }
    const deps = [...this.seen.values()].filter(([, f]) => !bookkeeping(store, f)).sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[0] < b[0] ? -1 : 1));
    const racy = now - RACY_MS;
    for (const [op, file, seen] of deps) {
      if (observe(op, file) !== seen) {
        this.spoiled = `${file} changed during the run`;
        return null;
      }
      // as the stat cache (invariant 4): a file changed within the clock tick of its observation
      // could change again with the same size and times; its ctime must be RACY_MS old
      const ctime = /^[fdlo]:/.test(seen) ? Number(seen.slice(seen.lastIndexOf(':') + 1)) : 0;
      if (ctime > racy) {
        this.spoiled = `${file} changed less than ${RACY_MS / 1000} s ago`;
        return null;
      }
    }
    return deps;
  }
}

/** Start recording the files this process looks at (the CLI's `run`, before the session opens). */
export function startRecording(): Recorder {
  return new Recorder();
}
