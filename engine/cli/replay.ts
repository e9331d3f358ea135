/**
 * The no-op replay of `repro run` (engine/noop-memo.ts): when the last identical request was a
 * pure no-op and every file it looked at is unchanged, print its result and record the run in
 * the history, without loading the pipeline, the registry or any step. Returns the exit code, or
 * null to take the full path (no memo, a file changed, a `repro gc` holds the store, another run
 * changed the history's `latest`, …). Loads only node:fs/path/crypto/util and a few small engine
 * modules: that is the point.
 *
 * @example
 * const code = await replayNoop(argv); // argv of `repro run`
 * if (code === null) return cmdRun(argv);
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { RUN_FLAGS } from './flags.js';
import { depsUnchanged, memoFile, readMemo, requestKey } from '../noop-memo.js';

export async function replayNoop(argv: string[]): Promise<number | null> {
  if (process.env.REPRO_NOOP_MEMO === 'off') return null;
  const t0 = performance.now();
  const started = new Date().toISOString();
  const positionals = positionalsOf(argv);
  if (positionals === null || positionals.length > 1) return null; // the full path reports it
  const storeDir = path.join(path.dirname(path.resolve(positionals[0] ?? 'pipeline.yaml')), 'artifacts');
  const request = requestKey(argv);
  const memo = readMemo(storeDir, request);
  const file = memoFile(storeDir, request);
  if (!memo) return null;
  // text lists the nodes as the full run printed them (as they finished); JSON in the pipeline's order
  const byId = new Map(memo.record.nodes.map((n) => [n.id, n]));
  const printed = memo.order.map((id) => byId.get(id));
  if (printed.length !== byId.size || printed.some((n) => !n)) return null;
  const locksDir = path.join(storeDir, 'locks');
  if (fs.existsSync(path.join(locksDir, 'gc'))) return null; // the full path waits for it, and says so
  const { acquireRunLock } = await import('../lock.js');
  const lock = await acquireRunLock(locksDir);
  let id: number | null | undefined;
  try {
    // under the run lock: a gc cannot delete what was just checked
    if (!depsUnchanged(memo.deps)) return null;
    const { recordReplay } = await import('../history.js');
    const keys = Object.fromEntries(memo.record.nodes.map((n) => [n.id, n.key ?? '']));
    id = await recordReplay(storeDir, { ...memo.record, started, ms: Math.round(performance.now() - t0) }, keys);
    if (id === null) return null;
  } finally {
    lock.release();
  }
  // as the full path does: gc keeps the most recently used specs; and the memo stays among the kept ones
  const now = new Date();
  for (const f of [memo.specFile, file]) {
    try {
      if (f) fs.utimesSync(f, now, now);
    } catch {
      /* gone: the next full run saves it again */
    }
  }
  const ms = performance.now() - t0;
  // --verbose says why the run was this quick (stderr: stdout is the same as the full path's)
  if (argv.includes('--verbose')) process.stderr.write(`  … no-op: every one of the ${memo.deps.length} files the last identical run looked at is unchanged; its result replayed from ${path.relative(process.cwd(), file) || file}\n`);
  if (argv.includes('--json')) {
    const out = { ok: true, nodes: memo.record.nodes.map((n) => ({ id: n.id, kind: n.kind, status: 'cached', key: n.key, ms: 0, reason: n.reason, reasons: [{ kind: 'up-to-date' }] })) };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return 0;
  }
  const { nodeLine, columnWidths, runSummary } = await import('./ui.js');
  const c = ansi(memo.color);
  const nodes = printed as NonNullable<(typeof printed)[number]>[];
  const { idw, kindw } = columnWidths(nodes);
  const lines = nodes.map((n) => nodeLine(c, 'cached', n.id, n.kind, 0, n.reason, idw, kindw));
  lines.push(c.green(runSummary(c, { pipeline: memo.record.pipeline, counts: memo.record.counts, ms, ...(id !== undefined ? { runId: id } : {}) })));
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/**
 * The positional arguments of `repro run` (its PIPELINE), or null for anything the replay does not
 * take (an unknown flag, `--help`, `--`): the full path parses, and reports, those.
 */
export function positionalsOf(argv: string[]): string[] | null {
  const takesValue = new Set<string>([...RUN_FLAGS.values, ...RUN_FLAGS.repeat]);
  const bools = new Set<string>([...RUN_FLAGS.bools, 'no-color']);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) out.push(a);
    else if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      if (takesValue.has(name)) {
        if (eq < 0 && ++i >= argv.length) return null;
      } else if (!bools.has(name) || eq >= 0) return null;
    } else return null;
  }
  return out;
}

/**
 * The few styles a cached node's line and the summary use, as chalk writes them at level ≥ 1
 * (SGR 32/39 green, 1/22 bold, 2/22 dim) — chalk itself is not loaded — or plain.
 */
function ansi(on: boolean): import('chalk').ChalkInstance {
  const wrap = (open: number, close: number) => (s: string) => (on && s ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { green: wrap(32, 39), bold: wrap(1, 22), dim: wrap(2, 22) } as unknown as import('chalk').ChalkInstance;
}
