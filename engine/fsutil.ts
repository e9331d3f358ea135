/**
 * Small filesystem helpers for the store: atomic writes (temp file + rename in the same
 * directory tree), so a reader never sees a half-written file and a killed process leaves at
 * most a stray temp file behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

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
