/**
 * Run history (invariant 7): `artifacts/history.json` (with lowdb) and `artifacts/runs/`.
 *
 * - `runs`: one record per `repro run` (newest last, the last {@link MAX_RUNS} kept): when, how
 *   long, ok, and per node: status, fingerprint, digests of the fingerprint parts, ms, reason,
 *   warnings, error, output hashes. Each is its own file, `runs/<id>.json` (an append-only log:
 *   a run writes one record and deletes the one that fell out of the window), so the cost of
 *   recording a run does not grow with the history; history.json's `runs` stays `[]` (a file of
 *   an older version with the runs inline is migrated at the next write).
 * - `latest[pipeline][node]`: the full fingerprint parts and outputs of the node's last successful
 *   (ran or cached) run — what `why`, `status` and `show` compare against and read. With `nextId`
 *   it is all that history.json holds, and all that `run` reads ({@link readLatest}).
 *
 * Writes happen under the store mutex (re-read, append, write atomically), so concurrent runs
 * never drop each other's records.
 *
 * The file carries a checksum (fsutil.ts `sealJson`; a file without one, from an older version, is
 * read as before). A file that fails it, does not parse, or is valid JSON of the wrong shape is
 * moved aside by the next run (`history.json.unreadable-<time>`), with a warning; one with some
 * malformed records is copied aside (`history.json.malformed-<time>`) before they are dropped.
 * A write that fails (full disk) leaves the old file intact and says that the run was not recorded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson, sha256 } from './canonical.js';
import type { FingerprintParts } from './fingerprint.js';
import type { Reason } from './reasons.js';
import { acquireMutex } from './lock.js';
import { sealJson, unsealJson, writeFileAtomic } from './fsutil.js';
import type { OutputRef } from './store.js';

export const MAX_RUNS = 200;

export type NodeStatus = 'ran' | 'cached' | 'failed' | 'skipped';

/** Per-part digests of a fingerprint: enough to see which part changed between two runs. */
export interface PartsDigest {
  kind: string;
  code: Record<string, string>;
  params: string;
  inputs: Record<string, string | string[]>;
  files: Record<string, string>;
  seed: string;
  packages?: Record<string, string>;
}

export interface NodeRecord {
  id: string;
  kind: string;
  status: NodeStatus;
  key?: string;
  ms: number;
  reason: string;
  /** Why, as data (reasons.ts); absent in records of older versions. */
  reasons?: Reason[];
  warnings: string[];
  error?: string;
  parts?: PartsDigest;
  /** Output name → object hash (ran / cached). */
  outputs?: Record<string, string>;
  /** What the step kept with ctx.transcript (bounded by {@link boundTranscript}); only nodes that ran a step. */
  transcript?: string;
}

/** Bounds of a node's transcript in the history (every run reads and rewrites history.json). */
export const TRANSCRIPT_MAX_LINES = 200;
export const TRANSCRIPT_MAX_BYTES = 64 * 1024;

/**
 * The last {@link TRANSCRIPT_MAX_LINES} lines and at most {@link TRANSCRIPT_MAX_BYTES} UTF-8 bytes
 * of a transcript, with a first line saying what was left out when it was cut.
 */
export function boundTranscript(text: string): string {
  const s = String(text);
  const lines = s.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop(); // a final newline ends the last line
  if (lines.length <= TRANSCRIPT_MAX_LINES && Buffer.byteLength(s, 'utf8') <= TRANSCRIPT_MAX_BYTES) return s;
  let kept = lines.slice(-TRANSCRIPT_MAX_LINES).join('\n');
  const b = Buffer.from(kept, 'utf8');
  if (b.length > TRANSCRIPT_MAX_BYTES) {
    let start = b.length - TRANSCRIPT_MAX_BYTES;
    while (start < b.length && (b[start]! & 0xc0) === 0x80) start++; // not inside a UTF-8 character
    kept = b.subarray(start).toString('utf8');
    const nl = kept.indexOf('\n');
    if (nl >= 0 && nl < kept.length - 1) kept = kept.slice(nl + 1); // whole lines only, unless one line is that long
  }
  const left = lines.length - kept.split('\n').length;
  const leftBytes = Buffer.byteLength(s, 'utf8') - Buffer.byteLength(kept, 'utf8');
  return `… (transcript cut: ${left ? `${left} of ${lines.length} lines (${leftBytes} bytes)` : `the first ${leftBytes} bytes of a long line`} left out; the history keeps the last ${TRANSCRIPT_MAX_LINES} lines / ${TRANSCRIPT_MAX_BYTES / 1024} KB) …\n${kept}\n`;
}

export interface RunRecord {
  id: number;
  /** ISO time the run started. */
  started: string;
  ms: number;
  ok: boolean;
  pipeline: string;
  /** Pipeline file, relative to the store's parent directory. */
  file: string;
  jobs: number;
  argv: string[];
  counts: Record<NodeStatus, number>;
  nodes: NodeRecord[];
  /** The variant's name for `repro run --variant NAME` (or a `--set` run's `set-…`); absent for main runs. */
  variant?: string;
}

export interface Latest {
  key: string;
  kind: string;
  parts: FingerprintParts;
  outputs: Record<string, OutputRef>;
  run: number;
  at: string;
}

export interface HistoryData {
  version: 1;
  nextId: number;
  runs: RunRecord[];
  latest: Record<string, Record<string, Latest>>;
}

const empty = (): HistoryData => ({ version: 1, nextId: 1, runs: [], latest: {} });

export function digestParts(p: FingerprintParts): PartsDigest {
  return {
    kind: p.kind,
    code: p.code,
    params: sha256(canonicalJson(p.params, true)).slice(0, 16),
    inputs: p.inputs,
    files: p.files,
    seed: canonicalJson(p.seed),
    packages: p.packages,
  };
}

/**
 * Open the history. Unreadable JSON (truncated, hand-edited) reads as empty with a warning; only
 * a writer (`repair`, which holds the history mutex) moves the bad file aside — a reader doing so
 * could move away a good file a concurrent run had just written.
 */
async function open(file: string, repair = false): Promise<{ data: HistoryData; write(): Promise<void> }> {
  const { Low } = await import('lowdb');
  const db = new Low<HistoryData>(new SealedJsonFile(file), empty());
  const unreadable = (what: string): void => {
    // start a new history (the writer keeps the old file aside); the store is unaffected
    if (repair) {
      const aside = `${file}.unreadable-${Date.now()}`;
      try {
        fs.renameSync(file, aside);
      } catch {
        /* raced */
      }
      process.stderr.write(`repro: warning: ${file} ${what}; moved to ${aside}\n`);
    } else process.stderr.write(`repro: warning: ${file} ${what}; treating it as empty (the next run moves it aside)\n`);
    db.data = empty();
  };
  try {
    await db.read();
  } catch (e) {
    unreadable((e as Error).name === 'ChecksumError' ? 'failed its checksum (edited or damaged on disk)' : `could not be read (${(e as Error).message})`);
  }
  if (!wellShaped(db.data)) unreadable('is valid JSON of the wrong shape (not a history of this version)');
  const dropped = sanitize(db);
  if (dropped) {
    let kept = '';
    if (repair) {
      const aside = `${file}.malformed-${Date.now()}`;
      try {
        fs.copyFileSync(file, aside);
        kept = `; the file as it was is kept at ${aside}`;
      } catch {
        /* raced, or no space: the warning still says what was dropped */
      }
    }
    process.stderr.write(`repro: warning: ${file}: ignored ${dropped} malformed record(s) (hand-edited or from another version)${kept}\n`);
  }
  return db;
}

/** lowdb adapter: history.json with a checksum (fsutil.ts `sealJson`), written atomically. */
class SealedJsonFile {
  constructor(private readonly file: string) {}
  async read(): Promise<HistoryData | null> {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    const u = unsealJson(text);
    if (u.state === 'ok' || u.state === 'unsealed') return u.value as HistoryData; // unsealed: an older version's file
    if (u.state === 'mismatch') {
      const e = new Error('checksum mismatch');
      e.name = 'ChecksumError';
      throw e;
    }
    throw new Error(u.error);
  }
  async write(data: HistoryData): Promise<void> {
    writeFileAtomic(this.file, sealJson(data));
  }
}

/** The top level of a history: `{version: 1, runs: [...], latest: {...}}` (nextId may be rebuilt). */
function wellShaped(d: unknown): boolean {
  if (d === null || d === undefined) return true; // no file yet
  return isRec(d) && d.version === 1 && Array.isArray(d.runs) && (d.latest === undefined || isRec(d.latest));
}

const isRec = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Make parsed history data safe to use: valid JSON of the wrong shape (a hand edit, another
 * version) must not crash `run`, `status`, `why` or `log`. Malformed runs and `latest` entries
 * are dropped (the store is unaffected: history is only explanation). Returns how many were dropped.
 */
function sanitize(db: { data: HistoryData }): number {
  const d = db.data as unknown;
  if (!isRec(d) || d.version !== 1) {
    db.data = empty();
    return d === null || d === undefined ? 0 : 1;
  }
  let dropped = 0;
  const runs = Array.isArray(d.runs)
    ? d.runs.filter((r: unknown) => {
        const ok = isRun(r);
        if (!ok) dropped++;
        return ok;
      })
    : [];
  const latest: HistoryData['latest'] = {};
  for (const [pipe, nodes] of Object.entries(isRec(d.latest) ? d.latest : {})) {
    if (!isRec(nodes)) {
      dropped++;
      continue;
    }
    const keep: Record<string, Latest> = {};
    for (const [id, l] of Object.entries(nodes)) {
      const ok =
        isRec(l) && typeof l.key === 'string' && isRec(l.parts) && isRec(l.outputs) &&
        Object.values(l.outputs).every((o) => isRec(o) && typeof o.hash === 'string' && /^[0-9a-f]{64}$/.test(o.hash) && typeof o.type === 'string');
      if (ok) keep[id] = l as unknown as Latest;
      else dropped++;
    }
    latest[pipe] = keep;
  }
  const maxId = runs.reduce((m: number, r) => Math.max(m, (r as RunRecord).id), 0);
  const nextId = Number.isInteger(d.nextId) && (d.nextId as number) > maxId ? (d.nextId as number) : maxId + 1;
  db.data = { version: 1, nextId, runs: runs as RunRecord[], latest };
  return dropped;
}

/** Key of a variant's entries in `latest` (next to the pipeline names). */
export function variantLatestKey(pipeline: string, variant: string): string {
  return `${pipeline}@variant:${variant}`;
}

/** Folder of the run records (one sealed JSON file per run, `<id>.json`). */
export const RUNS_DIR = 'runs';

const runFile = (storeDir: string, id: number): string => path.join(storeDir, RUNS_DIR, `${String(id).padStart(8, '0')}.json`);

/** Ids of the run records on disk, ascending. */
function runIds(storeDir: string): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(storeDir, RUNS_DIR));
  } catch {
    return [];
  }
  return names.flatMap((n) => (/^\d{8,}\.json$/.test(n) ? [Number(n.slice(0, -5))] : [])).sort((a, b) => a - b);
}

/** A well-formed run record (the fields `log`, `diff` and `gc` rely on). */
function isRun(r: unknown): r is RunRecord {
  return (
    isRec(r) && Number.isInteger(r.id) && typeof r.started === 'string' && typeof r.pipeline === 'string' &&
    typeof r.file === 'string' && (r.variant === undefined || typeof r.variant === 'string') && isRec(r.counts) &&
    Array.isArray(r.nodes) && r.nodes.every((n) => isRec(n) && typeof n.id === 'string' && typeof n.status === 'string')
  );
}

/**
 * The run records in `runs/`, oldest first. One that fails its checksum, does not parse or is
 * malformed is skipped with a warning (the others and the store are unaffected).
 */
function readRuns(storeDir: string): RunRecord[] {
  const out: RunRecord[] = [];
  for (const id of runIds(storeDir)) {
    const file = runFile(storeDir, id);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') process.stderr.write(`repro: warning: ${file} could not be read (${(e as Error).message}); run #${id} is left out of the history\n`);
      continue;
    }
    const u = unsealJson(text);
    const why =
      u.state === 'mismatch' ? 'failed its checksum (edited or damaged on disk)' :
      u.state === 'unparseable' ? `could not be read (${u.error})` :
      !isRun(u.value) || u.value.id !== id ? 'is not a run record of this version' : null;
    if (why) process.stderr.write(`repro: warning: ${file} ${why}; run #${id} is left out of the history\n`);
    else out.push((u as { value: RunRecord }).value);
  }
  return out;
}

/** Read the history (empty if none): `latest` and every run record. */
export async function readHistory(storeDir: string): Promise<HistoryData> {
  const data = (await open(path.join(storeDir, 'history.json'))).data;
  // records of an older version's file (inline) come first; the files hold the later ones
  const inline = new Set(data.runs.map((r) => r.id));
  const runs = [...data.runs, ...readRuns(storeDir).filter((r) => !inline.has(r.id))].sort((a, b) => a.id - b.id);
  return { ...data, runs: runs.slice(-MAX_RUNS) };
}

/** `latest` and `nextId` only (what a run compares against): history.json without the run records. */
export async function readLatest(storeDir: string): Promise<HistoryData> {
  return (await open(path.join(storeDir, 'history.json'))).data;
}

/**
 * Append a run and update `latest` for its successful nodes. Returns the run id.
 * `latest` maps node id → entry for the nodes that ran or were cached.
 */
export async function recordRun(
  storeDir: string,
  run: Omit<RunRecord, 'id'>,
  latest: Record<string, Omit<Latest, 'run' | 'at'>>,
): Promise<number | undefined> {
  const id = await append(storeDir, run, (mine, id) => {
    for (const [nodeId, l] of Object.entries(latest)) mine[nodeId] = { ...l, run: id, at: run.started };
    return true;
  });
  return id ?? undefined;
}

/**
 * Record a replayed no-op run (engine/noop-memo.ts): as {@link recordRun}, with `latest` moved to
 * this run for `keys`' nodes — only if it still holds those fingerprint keys. If another run
 * changed them since the memo was written, nothing is written and the result is `null` (the
 * caller takes the full path); `undefined` when writing failed (warned, as recordRun).
 */
export async function recordReplay(storeDir: string, run: Omit<RunRecord, 'id'>, keys: Record<string, string>): Promise<number | null | undefined> {
  return append(storeDir, run, (mine, id) => {
    for (const [nodeId, key] of Object.entries(keys)) if (mine[nodeId]?.key !== key) return false;
    for (const nodeId of Object.keys(keys)) mine[nodeId] = { ...mine[nodeId]!, run: id, at: run.started };
    return true;
  });
}

/**
 * Append a run under the history mutex: `update` moves the pipeline's (or variant's) `latest`
 * entries to run `id`, or returns false to write nothing (result `null`).
 */
async function append(storeDir: string, run: Omit<RunRecord, 'id'>, update: (mine: Record<string, Latest>, id: number) => boolean): Promise<number | null | undefined> {
  const file = path.join(storeDir, 'history.json');
  const release = await acquireMutex(path.join(storeDir, 'locks'), 'history');
  try {
    const db = await open(file, true);
    const ids = runIds(storeDir);
    // a record written by a run killed before it rewrote history.json keeps its id
    const id = Math.max(db.data.nextId, (ids.at(-1) ?? 0) + 1);
    db.data.nextId = id + 1;
    // a variant's successful nodes are its own `latest` (the main pipeline's status, why and show stay as they were)
    const mine = (db.data.latest[run.variant !== undefined ? variantLatestKey(run.pipeline, run.variant) : run.pipeline] ??= {});
    if (!update(mine, id)) return null;
    try {
      fs.mkdirSync(path.join(storeDir, RUNS_DIR), { recursive: true });
      // an older version's inline records move to their own files first
      for (const r of db.data.runs.slice(-MAX_RUNS)) if (!fs.existsSync(runFile(storeDir, r.id))) writeFileAtomic(runFile(storeDir, r.id), sealJson(r));
      writeFileAtomic(runFile(storeDir, id), sealJson({ id, ...run }));
      db.data.runs = [];
      await db.write();
    } catch (e) {
      fs.rmSync(runFile(storeDir, id), { force: true }); // history.json was not rewritten: no half-recorded run
      process.stderr.write(
        `repro: warning: this run was NOT recorded in the history: writing ${file} failed (${(e as Error).message}); ` +
          `its results are in the store and published, but \`repro log\`, \`why\` and \`status\` do not know this run. ` +
          `The previous history is intact; free some space and later runs are recorded as usual.\n`,
      );
      return undefined;
    }
    // the window: the last MAX_RUNS records
    for (const old of [...ids, id].slice(0, -MAX_RUNS)) fs.rmSync(runFile(storeDir, old), { force: true });
    return id;
  } finally {
    release();
  }
}

