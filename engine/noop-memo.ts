/**
 * The no-op memo: what lets a fully cached `repro run` finish without loading the pipeline.
 *
 * A no-op run (every node cached and up to date, nothing published, no warning) decides from
 * files only: the YAML, the step code, the package versions, the data files, the store's cache
 * entries and objects, the published copies, the interpreters on PATH. While it runs, a
 * {@link Recorder} notes every file it looks at (each `stat`, `lstat`, `exists`, `readFile`,
 * `realpath` and `readdir` of `node:fs`, with what it saw), and at the end — if the run was a
 * pure no-op and none of those files changed meanwhile — the CLI saves that list with the run's
 * record as `artifacts/noop/<request>.json` (the request: the command line, the working folder,
 * the environment, the node binary and the terminal). As the stat cache's entries, a memo is only
 * written when every file it lists last changed (ctime) 2 s or more before: a file changed within
 * one clock tick of being looked at could change again leaving the same size and times.
 *
 * The next `repro run` with the same request (engine/cli/replay.ts) stats those files — and
 * nothing else — and, when every one is as recorded, prints the same result and records a run in
 * the history as the full run would (a new run id; `latest` unchanged but for its run number),
 * checking under the history mutex that no other run changed `latest` meanwhile. Any difference,
 * a missing memo, or `REPRO_NOOP_MEMO=off` takes the full path, which writes a fresh memo.
 *
 * Recording by the file system calls themselves, not by a list kept by hand, is what makes this
 * safe: a new kind of input that a future step's fingerprint reads is recorded without anyone
 * remembering to add it. The store's own bookkeeping (locks, run records, `history.json` —
 * checked by content instead —, the stat and spec caches, temp files) is left out.
 *
 * @example
 * const rec = startRecording();            // noop-recorder.ts, before the session opens
 * const r = await runSession(session, …);  // all cached
 * const deps = rec.stop(storeDir);         // null if a file changed meanwhile or the run wrote outside the store's bookkeeping
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { sealJson, unsealJson, writeFileAtomic } from './fsutil.js';
import type { RunRecord } from './history.js';

/** Bumped whenever the memo's meaning changes: older memos are ignored. */
export const MEMO_VERSION = 1;

/** Folder of the memos inside the store. */
export const MEMO_DIR = 'noop';

/** `s`: stat (follows links), `l`: lstat, `r`: realpath, `d`: readdir — the call, and what it returned as text. */
export type Dep = [op: 's' | 'l' | 'r' | 'd', file: string, seen: string];

export interface Memo {
  v: number;
  /** The request the memo answers (see {@link requestKey}), in full: a hash collision cannot replay another's result. */
  request: string;
  deps: Dep[];
  /** The validated-spec cache file the run used (touched on replay, as the full path does, so gc keeps it). */
  specFile?: string;
  /** Colour on (the full run's chalk level > 0). */
  color: boolean;
  /** Node ids in the order the full run printed them (as they finished). */
  order: string[];
  /** The recorded run, less its id, start and duration; every node `cached`, reason `up to date`. */
  record: Omit<RunRecord, 'id' | 'started' | 'ms'>;
}

/**
 * Environment variables left out of the request: the shell changes them from one command to the
 * next and nothing in a run reads them.
 */
const VOLATILE_ENV = new Set(['OLDPWD', 'PWD', '_', 'SHLVL']);

/**
 * The request a memo answers, as canonical text: `repro run`'s arguments, the working folder, the
 * environment (everything a step's fingerprint hook or the colour choice could read: PATH,
 * REPRO_*, NO_COLOR, TERM, …), the node binary and version, the cores, and whether stdout/stderr
 * are terminals. Any difference is another request.
 */
export function requestKey(argv: string[]): string {
  const env = Object.keys(process.env)
    .filter((k) => !VOLATILE_ENV.has(k))
    .sort()
    .map((k) => [k, process.env[k]]);
  return JSON.stringify({
    v: MEMO_VERSION,
    argv,
    cwd: process.cwd(),
    env,
    node: [process.execPath, process.version, process.arch],
    cores: os.availableParallelism(),
    tty: [!!process.stdout.isTTY, !!process.stderr.isTTY],
  });
}

/** `artifacts/noop/<sha256 of the request, 32 hex>.json`. */
export function memoFile(storeDir: string, request: string): string {
  return path.join(storeDir, MEMO_DIR, `${createHash('sha256').update(request).digest('hex').slice(0, 32)}.json`);
}

/** The functions noop-recorder.ts wraps, as they were before (its own looks are not recorded). */
const ORIG = { statSync: fs.statSync, lstatSync: fs.lstatSync, realpathSync: fs.realpathSync, readdirSync: fs.readdirSync };

/** What a path looks like now, by the call that was recorded (the same text as at recording). */
export function observe(op: Dep[0], file: string): string {
  try {
    switch (op) {
      case 's':
        return sig(ORIG.statSync(file));
      case 'l':
        return sig(ORIG.lstatSync(file));
      case 'r':
        return `=${ORIG.realpathSync(file)}`;
      case 'd':
        return `#${createHash('sha256').update(ORIG.readdirSync(file).sort().join('\0')).digest('hex').slice(0, 32)}`;
    }
  } catch (e) {
    return `!${(e as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}

/** True if every dependency still looks as recorded. */
export function depsUnchanged(deps: Dep[]): boolean {
  for (const [op, file, seen] of deps) if (observe(op, file) !== seen) return false;
  return true;
}

/** A stat as text: type, size, mtime, inode, ctime (the stat cache's key, invariant 4). */
function sig(st: fs.Stats): string {
  const type = st.isFile() ? 'f' : st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'o';
  return `${type}:${st.size}:${st.mtimeMs}:${st.ino}:${st.ctimeMs}`;
}

/**
 * True for a run a memo may stand for: it succeeded and was recorded, every node was cached and
 * up to date, nothing was published or warned about, and no remote cache took part.
 */
export function isPureNoop(r: {
  ok: boolean;
  runId?: number;
  warnings: string[];
  remote?: unknown;
  nodes: { status: string; reasons: { kind: string }[]; published?: string[]; warnings: string[]; error?: unknown }[];
}): boolean {
  return (
    r.ok && r.runId !== undefined && r.warnings.length === 0 && r.remote === undefined &&
    r.nodes.every((n) => n.status === 'cached' && n.reasons.length === 1 && n.reasons[0]!.kind === 'up-to-date' && !n.published?.length && n.warnings.length === 0 && !n.error)
  );
}

/** Memos kept per store: the most recently written or replayed (one per request: command line, environment, …). */
export const MAX_MEMOS = 16;

/** Save the memo of a pure no-op run, keeping the {@link MAX_MEMOS} most recent (a failed save only costs the next run its shortcut). */
export function saveMemo(storeDir: string, memo: Omit<Memo, 'v'>): void {
  const dir = path.join(storeDir, MEMO_DIR);
  try {
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomic(memoFile(storeDir, memo.request), sealJson({ v: MEMO_VERSION, ...memo } satisfies Memo));
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
    if (files.length <= MAX_MEMOS) return;
    const aged = files.map((f) => ({ f: path.join(dir, f), t: fs.statSync(path.join(dir, f)).mtimeMs })).sort((a, b) => b.t - a.t);
    for (const { f } of aged.slice(MAX_MEMOS)) fs.rmSync(f, { force: true });
  } catch {
    /* only a shortcut: the next run takes the full path */
  }
}

/** The memo for `request` if there is an intact one of this version (else null: take the full path). */
export function readMemo(storeDir: string, request: string): Memo | null {
  let text: string;
  try {
    text = fs.readFileSync(memoFile(storeDir, request), 'utf8');
  } catch {
    return null;
  }
  const u = unsealJson(text);
  if (u.state !== 'ok') return null;
  const m = u.value as Memo;
  return m && m.v === MEMO_VERSION && m.request === request && Array.isArray(m.deps) && Array.isArray(m.order) && m.record && Array.isArray(m.record.nodes) ? m : null;
}
