/**
 * Small filesystem helpers for the store: atomic writes (temp file + rename in the same
 * directory tree), so a reader never sees a half-written file and a killed process leaves at
 * most a stray temp file behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';

/** A temp-file name that records the writer's pid (so stale temp files can be recognised). */
export function tempName(dir: string): string {
  return path.join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** Write `data` to `file` atomically: write a temp file next to it, fsync-free, then rename. */
export function writeFileAtomic(file: string, data: string | Uint8Array, tmpDir = path.dirname(file)): void {
  const tmp = tempName(tmpDir);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* ignore */
    }
    throw e;
  }
}

/** True if a process with this pid exists (signal 0 probe). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Project-style relative path with forward slashes. */
export function relPosix(from: string, to: string): string {
  return path.relative(from, to).split(path.sep).join('/');
}

/** Synchronous sleep (for short lock waits in synchronous code paths). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Checksummed JSON (issue 9): everything the store reads back (cache entries, validated specs, the
 * stat cache, history) is written with a sha256 of its bytes, so a flipped byte or a hand edit is
 * detected instead of trusted. The file stays plain JSON: `{…,"sum":"<sha256 of {…}>"}`, where
 * the hash covers the exact text of the object without the trailing `"sum"` member.
 */
const SUM_TAIL = /,"sum":"([0-9a-f]{64})"\}\s*$/;

/** `value` (a non-empty object) as JSON with its checksum appended. */
export function sealJson(value: object): string {
  const body = JSON.stringify(value);
  if (!body.startsWith('{') || body === '{}') throw new Error('sealJson: expected a non-empty object');
  return `${body.slice(0, -1)},"sum":"${createHash('sha256').update(body).digest('hex')}"}\n`;
}

/** What {@link unsealJson} found. */
export type Unsealed =
  | { state: 'ok'; value: unknown }
  /** parses, but has no checksum (written by an older version, or its tail was edited) */
  | { state: 'unsealed'; value: unknown }
  | { state: 'mismatch' }
  | { state: 'unparseable'; error: string };

/** Parse and verify text written by {@link sealJson}. */
export function unsealJson(text: string): Unsealed {
  const m = SUM_TAIL.exec(text);
  if (m) {
    const body = `${text.slice(0, m.index)}}`;
    if (createHash('sha256').update(body).digest('hex') !== m[1]) return { state: 'mismatch' };
    try {
      return { state: 'ok', value: JSON.parse(body) };
    } catch (e) {
      return { state: 'unparseable', error: (e as Error).message };
    }
  }
  try {
    return { state: 'unsealed', value: JSON.parse(text) };
  } catch (e) {
    return { state: 'unparseable', error: (e as Error).message };
  }
}

/**
 * Move a damaged store file or directory out of the way into `<storeDir>/corrupt/` (kept for
 * inspection, never read again). Returns where it went, or null if it was already gone.
 */
export function moveAside(file: string, storeDir: string): string | null {
  const dir = path.join(storeDir, 'corrupt');
  const dest = path.join(dir, `${path.basename(file)}.${Date.now()}-${randomBytes(3).toString('hex')}`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.renameSync(file, dest);
    return dest;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // cannot rename (another file system…): remove it
    fs.rmSync(file, { recursive: true, force: true });
    return null;
  }
}

/** The real path of `p`, resolving symlinks of the part that exists (the rest appended as is). */
export function realPathOf(p: string): string {
  const abs = path.resolve(p);
  const rest: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return path.join(fs.realpathSync(cur), ...rest.reverse());
    } catch {
      const up = path.dirname(cur);
      if (up === cur) return abs;
      rest.push(path.basename(cur));
      cur = up;
    }
  }
}

/** True if `p` is `root` or inside it (both already real paths). */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Throw if the real path of `dir` (symlinks resolved) is outside the real path of `root`: the
 * store's folders must not lead out of the store through a symlink (issue 9, item 15).
 */
export function assertInside(root: string, dir: string, what: string): void {
  const realRoot = realPathOf(root);
  const real = realPathOf(dir);
  if (isInside(realRoot, real)) return;
  const e = new Error(
    `${what} ${dir} leads to ${real}, outside the store ${realRoot} (a symlink); the store writes only inside its own folder: ` +
      `replace the symlink with a folder (to keep the store on another disk, make the whole store folder the symlink)`,
  );
  delete e.stack;
  throw e;
}
