/**
 * Locks on a store directory (invariant 8). The store itself is safe under concurrency (objects
 * and cache entries are content-named and renamed into place), so runs do not exclude each other:
 *
 * - every `run` holds a *shared* run lock `locks/run-<pid>-<rand>` while it works;
 * - `gc` holds the *exclusive* lock `locks/gc` and waits for live run locks to go; a run waits
 *   while a live gc lock exists (each side announces itself before checking the other, so they
 *   can't both proceed);
 * - short read-modify-write sections (history, stat cache) use the mutex `locks/<name>.mutex`.
 *
 * Every lock file holds the owner's pid; a lock whose pid is dead (a run killed with SIGKILL) is
 * stale and is removed by the next process that meets it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pidAlive, sleepSync } from './fsutil.js';

function readPid(file: string): number | null {
  try {
    const s = fs.readFileSync(file, 'utf8').trim();
    const pid = Number.parseInt(s, 10);
    return Number.isFinite(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** True if the lock file is held by a live process (removes it if stale). */
function liveOrRemove(file: string): boolean {
  const pid = readPid(file);
  if (pid === null) {
    // being written right now, or garbage: stale if older than 5 s
    try {
      const age = Date.now() - fs.statSync(file).mtimeMs;
      if (age < 5000) return true;
    } catch {
      return false;
    }
  } else if (pid === process.pid || pidAlive(pid)) return true;
  try {
    fs.unlinkSync(file);
  } catch {
    /* raced */
  }
  return false;
}

function tryCreate(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'wx');
    fs.writeSync(fd, String(process.pid));
    fs.closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** Run `fn` holding the mutex `locksDir/name.mutex` (waits up to `timeoutMs`, then fails). */
export function withMutex<T>(locksDir: string, name: string, fn: () => T, timeoutMs = 60_000): T {
  fs.mkdirSync(locksDir, { recursive: true });
  const file = path.join(locksDir, `${name}.mutex`);
  const t0 = Date.now();
  for (let spin = 0; !tryCreate(file); spin++) {
    if (!liveOrRemove(file)) continue;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for lock ${file} (held by pid ${readPid(file)})`);
    sleepSync(Math.min(5 + spin * 2, 50));
  }
  try {
    return fn();
  } finally {
    try {
      fs.unlinkSync(file);
    } catch {
      /* ignore */
    }
  }
}

/** Take the mutex `locksDir/name.mutex` without blocking the event loop; resolves to its release function. */
export async function acquireMutex(locksDir: string, name: string, timeoutMs = 60_000): Promise<() => void> {
  fs.mkdirSync(locksDir, { recursive: true });
  const file = path.join(locksDir, `${name}.mutex`);
  const t0 = Date.now();
  while (!tryCreate(file)) {
    if (!liveOrRemove(file)) continue;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for lock ${file} (held by pid ${readPid(file)})`);
    await sleep(10);
  }
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fs.rmSync(file, { force: true });
  };
}

/** A held lock; release() is idempotent. */
export interface Held {
  release(): void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Take a shared run lock, waiting while a live gc holds the store. `onWait` is called once if we wait. */
export async function acquireRunLock(locksDir: string, onWait?: (pid: number | null) => void): Promise<Held> {
  fs.mkdirSync(locksDir, { recursive: true });
  const gc = path.join(locksDir, 'gc');
  const mine = path.join(locksDir, `run-${process.pid}-${randomBytes(4).toString('hex')}`);
  let warned = false;
  for (;;) {
    fs.writeFileSync(mine, String(process.pid));
    if (!fs.existsSync(gc) || !liveOrRemove(gc)) break;
    fs.rmSync(mine, { force: true });
    if (!warned) {
      onWait?.(readPid(gc));
      warned = true;
    }
    await sleep(100);
  }
  return heldFile(mine);
}

/** Take the exclusive gc lock and wait until no live run holds the store. */
export async function acquireGcLock(locksDir: string, onWait?: (pids: number[]) => void): Promise<Held> {
  fs.mkdirSync(locksDir, { recursive: true });
  const gc = path.join(locksDir, 'gc');
  while (!tryCreate(gc)) {
    if (liveOrRemove(gc)) await sleep(100);
  }
  let warned = false;
  for (;;) {
    const live: number[] = [];
    for (const n of fs.readdirSync(locksDir)) {
      if (!n.startsWith('run-')) continue;
      const f = path.join(locksDir, n);
      if (liveOrRemove(f)) live.push(readPid(f) ?? 0);
    }
    if (live.length === 0) break;
    if (!warned) {
      onWait?.(live);
      warned = true;
    }
    await sleep(100);
  }
  return heldFile(gc);
}

/** A held lock file, removed once on release. */
function heldFile(file: string): Held {
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      fs.rmSync(file, { force: true });
    },
  };
}
