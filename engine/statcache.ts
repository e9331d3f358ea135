/**
 * The stat cache (invariant 4): remembers a value computed from a file's bytes (its content hash,
 * its normalized code hash and imports, a verified store object, a published copy) keyed by the
 * file's (size, mtime, inode, ctime). While those are unchanged the file is not read again, so an
 * all-cached run stats its inputs but reads none of them.
 *
 * ctime is part of the key because mtime alone can be set back: a tool that rewrites a file in
 * place with the same size and restores its mtime (`touch -d`, `cp -p`, `rsync -t`, an archive
 * extract) leaves size, mtime and inode unchanged, but the kernel always moves ctime forward.
 *
 * Entries for files modified less than {@link RACY_MS} before they were hashed (by mtime) are not
 * kept ("racy" timestamps: a second write within the same mtime tick would go unnoticed). ctime
 * needs no such window: the kernel sets it to the current time on every change, so a later write
 * could only match a recorded ctime within the same clock tick as the hash — and it is a second
 * line of defence anyway, behind size and mtime. (This keeps `touch -d`-aged files cacheable at once.)
 * The cache lives in `artifacts/statcache.json`; it is only a cache: losing it costs rehashing.
 * It carries a checksum (fsutil.ts `sealJson`): a file that fails it (a flipped byte could claim a
 * changed data file still has its old hash) is ignored with a warning and everything is rehashed;
 * one without a checksum (an older version) is ignored silently. A failed save (full disk) is a
 * warning: the next run rehashes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { moveAside, sealJson, unsealJson, writeFileAtomic } from './fsutil.js';

/** Files modified this recently (ms) when read are not cached. */
export const RACY_MS = 2000;

export interface StatEntry {
  size: number;
  mtime: number;
  ino: number;
  /** status-change time (ms); entries written before it was recorded lack it and miss once */
  ctime?: number;
  /** sha256 (content, normalized code, …) */
  h: string;
  /** extra data (e.g. import specifiers of a code file, source object of a published file) */
  x?: string[] | string;
}

interface StatFile {
  version: 1;
  entries: Record<string, StatEntry>;
}

export class StatCache {
  private entries: Record<string, StatEntry> = {};
  private dirty: Record<string, StatEntry | null> = {};
  /** Number of files actually read (hashed) by this process, for tests and benches. */
  reads = 0;

  constructor(readonly file: string | null) {
    if (file) this.entries = readStatFile(file, true);
  }

  /** The entry for `ns:file` if the file's stat still matches it. */
  get(ns: string, file: string, st: fs.Stats): StatEntry | undefined {
    const e = this.entries[`${ns}:${file}`];
    if (e && e.size === st.size && e.mtime === st.mtimeMs && e.ino === st.ino && e.ctime === st.ctimeMs) return e;
    return undefined;
  }

  /** Remember a value for `ns:file` with stat `st` taken before reading, unless the stat is racy. */
  set(ns: string, file: string, st: fs.Stats, h: string, x?: string[] | string, readStart = Date.now()): void {
    const key = `${ns}:${file}`;
    if (readStart - st.mtimeMs < RACY_MS) {
      if (this.entries[key]) {
        delete this.entries[key];
        this.dirty[key] = null;
      }
      return;
    }
    const e: StatEntry = { size: st.size, mtime: st.mtimeMs, ino: st.ino, ctime: st.ctimeMs, h };
    if (x !== undefined) e.x = x;
    this.entries[key] = e;
    this.dirty[key] = e;
  }

  /** Forget an entry (e.g. a store object found corrupt). */
  delete(ns: string, file: string): void {
    const key = `${ns}:${file}`;
    delete this.entries[key];
    this.dirty[key] = null;
  }

  /** Content hash of a data file, from the cache or by reading it (streaming, any size). */
  fileHash(file: string): { hash: string; cached: boolean } {
    const st = fs.statSync(file);
    // only regular files are read: a FIFO blocks forever, /dev/zero never ends
    if (!st.isFile()) throw notRegularFile(file, st);
    const hit = this.get('f', file, st);
    if (hit) return { hash: hit.h, cached: true };
    const start = Date.now();
    const hash = hashFileSync(file);
    this.reads++;
    this.set('f', file, st, hash, undefined, start);
    return { hash, cached: false };
  }

  /**
   * Forget entries whose file no longer exists or whose namespace is not in `live` (e.g. the old
   * `c` code namespace). For gc: the cache otherwise only grows. Returns how many were dropped.
   */
  prune(live: string[] = ['f', 'c2', 'o', 'p', 'pk', 'v']): number {
    const keep = new Set(live);
    let n = 0;
    for (const key of Object.keys(this.entries)) {
      const i = key.indexOf(':');
      const ns = key.slice(0, i);
      if (keep.has(ns) && fs.existsSync(key.slice(i + 1))) continue;
      delete this.entries[key];
      this.dirty[key] = null;
      n++;
    }
    return n;
  }

  /** True if there is something to write. */
  get isDirty(): boolean {
    return Object.keys(this.dirty).length > 0;
  }

  /**
   * Merge this process's changes into the file on disk (re-read first so concurrent runs don't
   * drop each other's entries) and write it atomically. Call under the store mutex.
   */
  save(): void {
    if (!this.file || !this.isDirty) return;
    const onDisk = readStatFile(this.file, false);
    for (const [k, v] of Object.entries(this.dirty)) {
      if (v === null) delete onDisk[k];
      else onDisk[k] = v;
    }
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      try {
        // a directory in its place: the rename would fail on every run
        if (!fs.lstatSync(this.file).isFile()) moveAside(this.file, path.dirname(this.file));
      } catch {
        /* not there yet */
      }
      writeFileAtomic(this.file, sealJson({ version: 1, entries: onDisk } satisfies StatFile));
    } catch (e) {
      // only a cache: not saving it costs rehashing next time, never a wrong result
      process.stderr.write(`repro: warning: the stat cache ${this.file} was not saved (${(e as Error).message}); the next run rehashes its files\n`);
      return;
    }
    this.entries = onDisk;
    this.dirty = {};
  }
}

/** The entries of a stat-cache file; empty when missing, from an older version, or failing its checksum (warned when `warn`). */
function readStatFile(file: string, warn: boolean): Record<string, StatEntry> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const u = unsealJson(text);
  if (u.state === 'ok') {
    const parsed = u.value as StatFile;
    if (parsed && typeof parsed === 'object' && parsed.version === 1 && parsed.entries && typeof parsed.entries === 'object') {
      const entries: Record<string, StatEntry> = Object.create(null) as Record<string, StatEntry>;
      Object.assign(entries, parsed.entries);
      return entries;
    }
  }
  if (warn && u.state !== 'unsealed') process.stderr.write(`repro: warning: ${file} failed its checksum (edited or damaged on disk); ignoring it: files are rehashed\n`);
  return {};
}

/**
 * The error for a path that is not a regular file: code `EISDIR` for a directory, `ENOTREG` for a
 * FIFO, device or socket (fingerprints record them as "directory" / "not-a-file"; the step that
 * reads the path reports it).
 */
export function notRegularFile(file: string, st: fs.Stats): NodeJS.ErrnoException {
  const what = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a named pipe (FIFO)' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a regular file';
  const e = new Error(`${file} is ${what}, not a regular file`) as NodeJS.ErrnoException;
  e.code = st.isDirectory() ? 'EISDIR' : 'ENOTREG';
  e.path = file;
  return e;
}

/** sha256 of a file's bytes, read in 1 MiB chunks (works for files of any size). */
export function hashFileSync(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(n === buf.length ? buf : buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}
