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
 * A lock file records its holder as JSON: `{pid, start, token, host, since}` — `start` is the
 * process's start time (field 22 of `/proc/PID/stat`, clock ticks since boot), `token` a random
 * string, `host` the host name, `since` when it was taken. A lock is stale, and is removed by the
 * next process that meets it, when its process is gone, or when the pid now belongs to another
 * process (its start time differs: PID reuse, e.g. a container restarted). A lock of another host
 * cannot be checked and counts as live. A lock with this process's own pid that it did not write is
 * a previous process's (PID reuse). An old-format lock (just a pid) is stale when the pid is
 * gone or is not a node process.
 *
 * Waiting is bounded: `REPRO_LOCK_TIMEOUT` seconds (default {@link DEFAULT_LOCK_TIMEOUT_S}, 10
 * minutes) for run ↔ gc, 60 s (or `REPRO_LOCK_TIMEOUT` if lower) for the short mutexes; then the
 * command fails naming the holder (pid, host, since when) and the way out (delete the lock file if
 * that process is not repro).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { contractError } from './errors.js';
import { assertInside, moveAside, pidAlive, sleepSync } from './fsutil.js';

/** Default bound (seconds) on waiting for a run or gc lock; `REPRO_LOCK_TIMEOUT` overrides it. */
export const DEFAULT_LOCK_TIMEOUT_S = 600;

/** How long to wait for a run / gc lock, ms (`REPRO_LOCK_TIMEOUT` seconds, a positive number). */
export function lockTimeoutMs(): number {
  const v = process.env.REPRO_LOCK_TIMEOUT;
  if (v === undefined || v === '') return DEFAULT_LOCK_TIMEOUT_S * 1000;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw contractError(`REPRO_LOCK_TIMEOUT must be a positive number of seconds, got "${v}"`);
  return n * 1000;
}

/** How long to wait for a short mutex (history, stat cache), ms: 60 s, or less if `REPRO_LOCK_TIMEOUT` is lower. */
export function mutexTimeoutMs(): number {
  return Math.min(60_000, lockTimeoutMs());
}

/** The holder a lock file records. `start`/`token`/`host`/`since` are absent in old-format locks (a bare pid). */
export interface LockInfo {
  pid: number;
  start?: string;
  token?: string;
  host?: string;
  since?: string;
}

/** Start time of a process (field 22 of /proc/PID/stat), or null where there is no /proc. */
export function processStart(pid: number): string | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may hold spaces or ')': fields resume after the last ')'
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return rest[22 - 3] ?? null;
  } catch {
    return null;
  }
}

const HOST = os.hostname();
let myStart: string | null | undefined;
/** Tokens of the lock files this process wrote: a lock with our pid and another token is a previous process's (PID reuse). */
const myTokens = new Set<string>();

/** What this process writes into a lock file. */
function myInfo(): string {
  myStart ??= processStart(process.pid);
  const token = randomBytes(8).toString('hex');
  myTokens.add(token);
  const info: LockInfo = { pid: process.pid, token, host: HOST, since: new Date().toISOString() };
  if (myStart) info.start = myStart;
  return JSON.stringify(info);
}

function readLock(file: string): LockInfo | null {
  let s: string;
  try {
    s = fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
  if (/^\d+$/.test(s)) return { pid: Number(s) }; // old format
  try {
    const j = JSON.parse(s) as LockInfo;
    if (j && typeof j === 'object' && Number.isInteger(j.pid) && j.pid > 0) {
      const info: LockInfo = { pid: j.pid };
      for (const k of ['start', 'token', 'host', 'since'] as const) if (typeof j[k] === 'string') info[k] = j[k];
      return info;
    }
  } catch {
    /* garbage */
  }
  return null;
}

/** Is the process that wrote this lock still there? */
export function holderAlive(info: LockInfo): boolean {
  if (info.host !== undefined && info.host !== HOST) return true; // cannot check another machine's processes
  // our own pid: ours only if we wrote it (a container restarted with the same pid leaves locks with it)
  if (info.pid === process.pid) return info.token !== undefined && myTokens.has(info.token);
  if (!pidAlive(info.pid)) return false;
  const now = processStart(info.pid);
  if (info.start !== undefined) return now === null || now === info.start; // a different start time: the pid was reused
  // old format (a bare pid): written by a node process; another program with that pid is PID reuse
  try {
    const argv0 = fs.readFileSync(`/proc/${info.pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    const base = path.basename(argv0);
    return /node/i.test(base) || base === path.basename(process.execPath);
  } catch {
    return true;
  }
}

/** True if the lock file is held by a live process (removes it if stale). */
function liveOrRemove(file: string): boolean {
  const info = readLock(file);
  if (info === null) {
    // being written right now, or garbage: stale if older than 5 s
    try {
      const age = Date.now() - fs.statSync(file).mtimeMs;
      if (age < 5000) return true;
    } catch {
      return false;
    }
  } else if (holderAlive(info)) return true;
  // a directory where a lock file should be is stale too (rm, not unlink)
  fs.rmSync(file, { recursive: true, force: true });
  return false;
}

/** The holder of a lock in words: `pid 123 on host h since 2026-…` (what the file says). */
export function describeHolder(file: string): string {
  const info = readLock(file);
  if (!info) return 'nobody we can name (the lock file is garbage, or being written)';
  let since = info.since;
  if (!since) {
    try {
      since = fs.statSync(file).mtime.toISOString();
    } catch {
      /* gone */
    }
  }
  return `pid ${info.pid}${info.host ? ` on host ${info.host}` : ''}${since ? ` since ${since}` : ''}${info.start === undefined ? ' (old-format lock)' : ''}`;
}

function timeoutError(file: string, what: string, ms: number, holders: string): Error {
  return contractError(
    `timed out after ${+(ms / 1000).toFixed(1)} s waiting for ${what}: ${file} is held by ${holders}. ` +
      `If that process is not a running repro (or it is stuck), delete ${file} and try again; ` +
      `set REPRO_LOCK_TIMEOUT=SECONDS to wait longer (default ${DEFAULT_LOCK_TIMEOUT_S})`,
  );
}

function tryCreate(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'wx');
    try {
      fs.writeSync(fd, myInfo());
    } finally {
      fs.closeSync(fd);
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

function ensureLocksDir(locksDir: string): void {
  assertInside(path.dirname(locksDir), locksDir, 'store folder');
  try {
    fs.mkdirSync(locksDir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw e;
    // a file where the locks folder should be: move it aside (it holds no lock we could honour)
    const to = moveAside(locksDir, path.dirname(locksDir));
    process.stderr.write(`repro: warning: ${locksDir} was not a folder${to ? `; moved to ${to}` : ''}\n`);
    fs.mkdirSync(locksDir, { recursive: true });
  }
}

/** Run `fn` holding the mutex `locksDir/name.mutex` (waits up to `timeoutMs`, then fails). */
export function withMutex<T>(locksDir: string, name: string, fn: () => T, timeoutMs = mutexTimeoutMs()): T {
  ensureLocksDir(locksDir);
  const file = path.join(locksDir, `${name}.mutex`);
  const t0 = Date.now();
  for (let spin = 0; !tryCreate(file); spin++) {
    if (Date.now() - t0 > timeoutMs) throw timeoutError(file, `the ${name} lock`, timeoutMs, describeHolder(file));
    if (!liveOrRemove(file)) continue;
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
export async function acquireMutex(locksDir: string, name: string, timeoutMs = mutexTimeoutMs()): Promise<() => void> {
  ensureLocksDir(locksDir);
  const file = path.join(locksDir, `${name}.mutex`);
  const t0 = Date.now();
  while (!tryCreate(file)) {
    if (Date.now() - t0 > timeoutMs) throw timeoutError(file, `the ${name} lock`, timeoutMs, describeHolder(file));
    if (!liveOrRemove(file)) continue;
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

/**
 * Take a shared run lock, waiting while a live gc holds the store (at most {@link lockTimeoutMs},
 * then an error naming the holder). `onWait` is called once if we wait.
 */
export async function acquireRunLock(locksDir: string, onWait?: (pid: number | null) => void): Promise<Held> {
  ensureLocksDir(locksDir);
  const timeout = lockTimeoutMs();
  const gc = path.join(locksDir, 'gc');
  const mine = path.join(locksDir, `run-${process.pid}-${randomBytes(4).toString('hex')}`);
  const t0 = Date.now();
  let warned = false;
  for (;;) {
    fs.writeFileSync(mine, myInfo());
    if (!fs.existsSync(gc) || !liveOrRemove(gc)) break;
    fs.rmSync(mine, { force: true });
    if (Date.now() - t0 > timeout) throw timeoutError(gc, 'a `repro gc` to finish', timeout, describeHolder(gc));
    if (!warned) {
      onWait?.(readLock(gc)?.pid ?? null);
      warned = true;
    }
    await sleep(100);
  }
  // run locks left by killed runs: removed here (not only by gc), so they do not pile up
  for (const n of fs.readdirSync(locksDir)) if (n.startsWith('run-') && path.join(locksDir, n) !== mine) liveOrRemove(path.join(locksDir, n));
  return heldFile(mine);
}

/** Take the exclusive gc lock and wait until no live run holds the store (bounded like {@link acquireRunLock}). */
export async function acquireGcLock(locksDir: string, onWait?: (pids: number[]) => void): Promise<Held> {
  ensureLocksDir(locksDir);
  const timeout = lockTimeoutMs();
  const gc = path.join(locksDir, 'gc');
  const t0 = Date.now();
  while (!tryCreate(gc)) {
    if (Date.now() - t0 > timeout) throw timeoutError(gc, 'another `repro gc` to finish', timeout, describeHolder(gc));
    if (liveOrRemove(gc)) await sleep(100);
  }
  const held = heldFile(gc);
  let warned = false;
  try {
    for (;;) {
      const live: { pid: number; file: string }[] = [];
      for (const n of fs.readdirSync(locksDir)) {
        if (!n.startsWith('run-')) continue;
        const f = path.join(locksDir, n);
        if (liveOrRemove(f)) live.push({ pid: readLock(f)?.pid ?? 0, file: f });
      }
      if (live.length === 0) break;
      if (Date.now() - t0 > timeout) {
        throw timeoutError(live[0]!.file, `${live.length} running \`repro run\`(s) to finish`, timeout, live.map((l) => describeHolder(l.file)).join('; '));
      }
      if (!warned) {
        onWait?.(live.map((l) => l.pid));
        warned = true;
      }
      await sleep(100);
    }
  } catch (e) {
    held.release();
    throw e;
  }
  return held;
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
