/**
 * The scheduler of a run: which node to consider next, and how many run at once.
 *
 * Nodes become ready when all their inputs are done; each ready node is handed to the per-node
 * handling (node-runner.ts), which resolves it from the cache or returns a job. Jobs run through a
 * p-queue with `jobs` slots, each holding one token of the run's thread budget (pool.ts) — a step
 * that splits its own work (`ctx.map`) borrows free tokens, so `--jobs N` bounds the busy threads
 * of the whole run. `cpu: true` steps run in the run's worker pool, others on the main thread.
 *
 * Failure semantics: a failing node is reported (node, kind, cause), nothing is cached for it, and
 * its descendants are `skipped`. Without `keepGoing` the run stops starting new nodes after the
 * first failure (nodes already running finish and are cached; the rest are `skipped`, reason
 * "not started: …"); with `keepGoing` every node that does not depend on a failed one still runs.
 * Exit code 1 either way. Rerunning after a fix runs the failed node and what depends on it only.
 *
 * @example
 * const r = await runPipeline({ file: 'pipeline.yaml', jobs: 2 });
 * r.ok; r.nodes.map((n) => `${n.id} ${n.status} ${n.reason}`);
 */
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { selectNodes } from './decide.js';
import { descendants } from './graph.js';
import type { NodeRecord, NodeStatus, RunRecord } from './history.js';
import { acquireRunLock } from './lock.js';
import { NodeRunner, nodeResult, toolVersions, type Job, type NodeResult, type RunEvent } from './node-runner.js';
import { RUNNING_COMPILED } from './paths.js';
import { openSession, type Session, type SessionOptions } from './session.js';
import type { RunView } from './types.js';

export type { NodeError, NodeResult, RunEvent } from './node-runner.js';
export { assertCompiledFresh, makeContext } from './node-runner.js';

export interface RunOptions extends SessionOptions {
  /** Only these nodes (ids or foreach base ids) and what they depend on. */
  targets?: string[];
  /** Rerun these nodes even if cached (descendants rerun only if the output changes). */
  force?: string[];
  /** The thread budget: nodes and their own parallel work never use more threads (default os.availableParallelism()). */
  jobs?: number;
  /** Allow `jobs` above the machine's cores (default: capped, with a warning). */
  forceJobs?: boolean;
  /** Keep running independent branches after a failure (default: stop starting new nodes). */
  keepGoing?: boolean;
  /** Run `cpu: true` steps and `ctx.map` chunks in worker threads (default true). */
  workers?: boolean;
  /** Command line recorded in the history. */
  argv?: string[];
  /** Progress callback (the CLI prints from it). */
  onEvent?: (e: RunEvent) => void;
  /** Do not write the history (tests of the executor alone). Default false. */
  noHistory?: boolean;
  /** Remote cache URL (`--remote-cache`; `off` disables); default REPRO_REMOTE_CACHE, then the YAML's `cache.remote`. */
  remoteCache?: string;
  /** Upload the outputs of nodes that ran to the remote cache (`--remote-upload`); default the YAML's `cache.upload`, then true. */
  remoteUpload?: boolean;
  /** A remote cache client to use instead (engine/remote/http-cache.ts; null: none, whatever is configured). */
  remote?: import('./remote/http-cache.js').RemoteCache | null;
  /** Let `publish:` write outside the project folder (`run --allow-outside`). Default false: an error. */
  allowOutside?: boolean;
  /** Run jobs elsewhere instead of in this process (engine/distributed: BullMQ workers). Default: none, the local executor. */
  executor?: RemoteExecutor;
  /**
   * A worker pool started ahead of the run (the CLI's, for `--force` runs: see WorkerPool.prestart),
   * used when its budget is the run's `jobs` and the run uses local workers; closed at the end either way.
   */
  pool?: import('./pool.js').WorkerPool;
}

/**
 * Where jobs run when not in this process (engine/distributed/coordinator.ts): `execute` resolves a
 * job to its result (it may also run it here with `runner.execute`). `slots`: jobs in flight at once.
 */
export interface RemoteExecutor {
  slots: number;
  execute(job: Job, runner: NodeRunner, emit: (e: RunEvent) => void): Promise<NodeResult>;
}

export interface RunResult {
  ok: boolean;
  nodes: NodeResult[];
  /** History run id (undefined with noHistory). */
  runId?: number;
  ms: number;
  storeDir: string;
  pipeline: string;
  /** Store-level warnings (corrupt objects, …) also listed on their nodes. */
  warnings: string[];
  /** The remote cache of the run: its URL (credentials redacted), transfer counts, and why it went down (null if it did not). */
  remote?: import('./remote/http-cache.js').RemoteStats & { url: string; down: string | null };
  /** What the history recorded (less the run id); absent with noHistory. The CLI keeps a no-op's for the next one (noop-memo.ts). */
  record?: Omit<RunRecord, 'id'>;
}

const now = (): number => performance.now();

/** Load the pipeline and run it. */
export async function runPipeline(opts: RunOptions = {}): Promise<RunResult> {
  const s = await openSession(opts);
  return runSession(s, opts);
}

/** Run an opened session (see {@link runPipeline}). */
export async function runSession(s: Session, opts: RunOptions = {}): Promise<RunResult> {
  const t0 = now();
  const started = new Date().toISOString();
  const emit = opts.onEvent ?? ((): void => {});
  const cores = os.availableParallelism();
  let jobs = Math.max(1, Math.floor(opts.jobs ?? cores));
  if (jobs > cores && !opts.forceJobs) {
    // more busy threads than cores only costs memory (a worker is ~10 MB) and switching
    emit({ type: 'warn', id: '', msg: `--jobs ${jobs} exceeds the ${cores} cores of this machine; using ${cores} (--force-jobs keeps ${jobs})` });
    jobs = cores;
  }
  const g = s.graph;
  const { selected, forced, nodes } = selectNodes(g, opts.targets, opts.force);

  // the remote cache (engine/remote/), loaded only when one is configured
  const remoteWarnings: string[] = [];
  let remote = opts.remote;
  if (remote === undefined && (opts.remoteCache ?? process.env.REPRO_REMOTE_CACHE ?? s.spec.cache?.remote)) {
    const { openRemote } = await import('./remote/config.js');
    remote = openRemote(s.spec, { url: opts.remoteCache, upload: opts.remoteUpload }, (msg) => {
      remoteWarnings.push(msg);
      emit({ type: 'warn', id: '', msg });
    });
  }
  const lock = await acquireRunLock(s.store.locksDir, (pid) => emit({ type: 'wait', msg: `waiting for gc (pid ${pid}) to finish…` }));
  // the pool and the budget exist only once something has to run (a no-op run loads neither)
  let pool: import('./pool.js').WorkerPool | null = null;
  try {
    s.store.sweepTemp(nodes.filter((n) => n.publish).map((n) => path.dirname(path.resolve(s.spec.baseDir, n.publish!))));
    emit({ type: 'start', total: nodes.length, jobs });

    const results = new Map<string, NodeResult>();
    const remaining = new Map<string, number>();
    for (const n of nodes) remaining.set(n.id, (g.deps.get(n.id) ?? []).filter((d) => selected.has(d)).length);
    const ready: string[] = nodes.filter((n) => remaining.get(n.id) === 0).map((n) => n.id);
    let inflight = 0;
    let stoppedBy: string | null = null;
    let wake: (() => void) | null = null;
    let queue: { add<T>(fn: () => Promise<T>): Promise<T> } | null = null;
    let budget: import('./pool.js').ThreadBudget | null = null;

    /** What a step sees as ctx.run: the nodes of this run with their status so far. */
    const runView = (): RunView => ({
      pipeline: s.spec.name,
      file: path.relative(process.cwd(), s.spec.file) || s.spec.file,
      seed: s.spec.seed,
      started,
      ms: Math.round(now() - t0),
      jobs,
      versions: toolVersions(),
      nodes: nodes.map((n) => {
        const r = results.get(n.id);
        return {
          id: n.id,
          kind: n.kind,
          status: r?.status ?? 'pending',
          ...(r ? { ms: Math.round(r.ms), key: r.key, reason: r.reason } : {}),
          inputs: g.deps.get(n.id) ?? [],
          ...(n.publish ? { publish: n.publish } : {}),
        };
      }),
    });
    const runner = new NodeRunner(s, { jobs, workers: opts.workers !== false, pool: null, emit, runView, remote: remote ?? null, allowOutside: !!opts.allowOutside });

    const notStarted = (n: { id: string; kind: string }, key: string, warnings: string[]): NodeResult =>
      nodeResult(n, 'skipped', key, 0, [{ kind: 'not-started', failed: stoppedBy }], warnings);

    const done = (r: NodeResult): void => {
      results.set(r.id, r);
      emit({ type: 'node', node: r });
      if (r.status === 'ran' || r.status === 'cached') {
        for (const c of g.children.get(r.id) ?? []) {
          if (!selected.has(c)) continue;
          const left = remaining.get(c)! - 1;
          remaining.set(c, left);
          if (left === 0) ready.push(c);
        }
      } else if (r.status === 'failed') {
        for (const d of descendants(g, r.id)) {
          if (!selected.has(d) || results.has(d)) continue;
          const r2 = nodeResult(g.byId.get(d)!, 'skipped', '', 0, [{ kind: 'upstream-failed', node: r.id }], []);
          results.set(d, r2);
          emit({ type: 'node', node: r2 });
        }
        if (!opts.keepGoing && stoppedBy === null) stoppedBy = r.id;
      }
    };

    const startQueue = async (): Promise<void> => {
      if (queue) return;
      const [{ default: PQueue }, poolMod] = await Promise.all([import('p-queue'), import('./pool.js')]);
      if (queue) return;
      queue = new PQueue({ concurrency: opts.executor?.slots ?? jobs });
      const local = !opts.executor && opts.workers !== false;
      if (local && opts.pool?.budget.total === jobs) {
        pool = opts.pool;
        budget = pool.budget;
        runner.usePool(pool);
        return;
      }
      budget = new poolMod.ThreadBudget(opts.executor?.slots ?? jobs);
      // workers load compiled JS: available from dist/, or under vitest once built
      if (local && (RUNNING_COMPILED || (await compiledWorkerExists()))) {
        pool = new poolMod.WorkerPool(budget);
        runner.usePool(pool);
      }
    };
    const enqueue = async (job: Job): Promise<void> => {
      await startQueue();
      inflight++;
      void queue!
        .add(async () => {
          if (stoppedBy !== null) return done(notStarted(job.n, job.key, job.warnings));
          await budget!.acquire();
          try {
            done(await (opts.executor ? opts.executor.execute(job, runner, emit) : runner.execute(job)));
          } finally {
            budget!.release();
          }
        })
        .finally(() => {
          inflight--;
          wake?.();
        });
    };

    // forced nodes run whatever the decisions upstream: their cpu steps' workers start now
    const forcedNodes = nodes.filter((n) => forced.has(n.id));
    if (forcedNodes.some((n) => s.registry[n.kind]?.cpu)) {
      await startQueue();
      runner.warm(forcedNodes);
    }

    for (;;) {
      while (ready.length) {
        // with a remote cache a decision may wait on the network: look up to 16 ready nodes up at once
        const batch = ready.splice(0, remote ? 16 : 1).map((id) => g.byId.get(id)!);
        const evaluated = await Promise.all(batch.map((n) => runner.evaluate(n, forced.has(n.id))));
        for (const [i, r] of evaluated.entries()) {
          if ('status' in r) done(r);
          else if (stoppedBy !== null) done(notStarted(batch[i]!, r.key, r.warnings));
          else await enqueue(r);
        }
      }
      if (inflight === 0) break;
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = null;
    }

    // nodes never reached (stopped run, or upstream of them skipped)
    for (const n of nodes) {
      if (results.has(n.id)) continue;
      const r = notStarted(n, '', []);
      results.set(n.id, r);
      emit({ type: 'node', node: r });
    }

    await runner.flushRemote(); // write-through uploads finish before the run ends
    const list = nodes.map((n) => results.get(n.id)!);
    const ok = list.every((r) => r.status === 'ran' || r.status === 'cached');
    const ms = now() - t0;
    const result: RunResult = { ok, nodes: list, ms, storeDir: s.storeDir, pipeline: s.spec.name, warnings: [...remoteWarnings, ...runner.storeWarnings] };
    if (remote) result.remote = { url: remote.display, down: remote.downReason, ...remote.stats };

    // persist the stat cache and the history
    const { withMutex } = await import('./lock.js');
    if (s.stat.isDirty) withMutex(s.store.locksDir, 'statcache', () => s.stat.save());
    if (!opts.noHistory) {
      const { recordRun, digestParts } = await import('./history.js');
      const counts: Record<NodeStatus, number> = { ran: 0, cached: 0, failed: 0, skipped: 0 };
      const recs: NodeRecord[] = list.map((r) => {
        counts[r.status]++;
        const rec: NodeRecord = { id: r.id, kind: r.kind, status: r.status, ms: Math.round(r.ms), reason: r.reason, warnings: r.warnings };
        if (r.key) rec.key = r.key;
        // the parts and reasons of a cached node are its `latest` entry's: a no-op run stays a few
        // hundred bytes per node in the history, which every run reads and rewrites
        if (r.status !== 'cached') {
          rec.reasons = r.reasons;
          const p = runner.partsOf.get(r.id);
          if (p) rec.parts = digestParts(p);
        }
        if (r.error) rec.error = r.error.message;
        if (r.transcript !== undefined) rec.transcript = r.transcript; // only nodes whose step ran
        if (r.outputs) rec.outputs = Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.hash]));
        return rec;
      });
      const run: Omit<RunRecord, 'id'> = {
        started,
        ms: Math.round(ms),
        ok,
        pipeline: s.spec.name,
        file: path.relative(path.dirname(s.storeDir), s.spec.file).split(path.sep).join('/'),
        jobs,
        argv: opts.argv ?? [],
        counts,
        nodes: recs,
        ...(s.variant !== undefined ? { variant: s.variant } : {}),
      };
      result.runId = await recordRun(s.storeDir, run, runner.latestOut);
      result.record = run;
    }
    return result;
  } finally {
    if (pool) await (pool as import('./pool.js').WorkerPool).close();
    if (opts.pool && opts.pool !== pool) await opts.pool.close();
    lock.release();
  }
}

async function compiledWorkerExists(): Promise<boolean> {
  const [{ existsSync }, { fileURLToPath }, { compiledUrl }] = await Promise.all([import('node:fs'), import('node:url'), import('./paths.js')]);
  return existsSync(fileURLToPath(compiledUrl('engine/worker.ts')));
}
