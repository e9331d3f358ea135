/**
 * The coordinator side of `repro run --executor bullmq`: a {@link RemoteExecutor} for the local
 * scheduler (executor.ts schedules the DAG exactly as for a local run; only where a job runs
 * changes).
 *
 * - Which nodes go to workers: `distribute: 'cpu'` (default) sends `cpu: true` steps and steps with
 *   ctx.map tasks — the heavy ones — and runs the light ones here (ingest, tables, figures, the
 *   report, which also needs ctx.run); `'all'` sends every node.
 * - A node job's id is its cache key: a rerun after this process was killed waits for the job a
 *   worker is still running, and nodes finished meanwhile are cache hits.
 * - When a worker reports success, the cache entry (fetched through the transport) is resolved like
 *   a cache hit (outputs verified, published here) and reported as `ran` with the worker's time,
 *   warnings and transcript. A job that failed all its attempts fails the node with the worker's
 *   error message (the step's message).
 * - Progress, info and warnings from workers arrive as BullMQ progress events and are emitted as
 *   the local run's events, so the CLI draws the same per-node progress bars.
 */
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import type { RemoteExecutor } from '../executor.js';
import { nodeResult, type Job, type NodeResult, type NodeRunner, type RunEvent } from '../node-runner.js';
import { reasonPhrase } from '../reasons.js';
import type { Session } from '../session.js';
import { JobFailedError, JobWaiter } from './jobs.js';
import { nodeJobId, type NodeJobData, type NodeJobResult, type NodeProgress } from './protocol.js';
import { checkRedis, DEFAULT_PREFIX, NODE_QUEUE, redactUrl, redisOptions } from './redis.js';
import { sharedStoreTransport, type ArtifactTransport } from './transport.js';

export interface BullmqOptions {
  redis: string;
  /** `--set` arguments as typed (sent to the workers). */
  set?: string[];
  /** Attempts after the first for a failing job (`--retries`, default 2). */
  retries?: number;
  /** At most this many chunk jobs per ctx.map call (`--map-jobs`, default 20). */
  mapJobs?: number;
  /** Which nodes go to workers (default `cpu`). */
  distribute?: 'cpu' | 'all';
  /** Node jobs in flight at once (default 1000: the DAG's width decides). */
  slots?: number;
  prefix?: string;
  transport?: ArtifactTransport;
  /** Poll of job states (ms, default 1000) and how long Redis may not answer (ms, default 30000). */
  pollMs?: number;
  downMs?: number;
}

export interface BullmqExecutor extends RemoteExecutor {
  close(): Promise<void>;
}

const now = (): number => performance.now();

/** Connect to Redis (a clear error when unreachable) and return the executor for runSession. */
export async function bullmqExecutor(s: Session, opts: BullmqOptions): Promise<BullmqExecutor> {
  await checkRedis(opts.redis);
  const { Queue, QueueEvents } = await import('bullmq');
  const connection = redisOptions(opts.redis);
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  const transport = opts.transport ?? sharedStoreTransport();
  const queue = new Queue(NODE_QUEUE, { connection, prefix });
  queue.on('error', () => {}); // surfaced by the waiter's timeout
  const events = new QueueEvents(NODE_QUEUE, { connection, prefix });
  events.on('error', () => {});
  await events.waitUntilReady();
  const waiter = new JobWaiter(queue, events, opts.redis, opts.pollMs ?? 1000, opts.downMs ?? 30_000);
  const retries = opts.retries ?? 2;
  let checkedWorkers = false;
  const rel = path.relative(process.cwd(), s.spec.file);
  const file = rel.startsWith('..') || path.isAbsolute(rel) ? s.spec.file : rel;

  const execute = async (job: Job, runner: NodeRunner, emit: (e: RunEvent) => void): Promise<NodeResult> => {
    const n = job.n;
    const def = await s.registry[n.kind]!.load();
    if ((opts.distribute ?? 'cpu') === 'cpu' && !def.cpu && !def.tasks) return runner.execute(job);
    const t = now();
    const fail = (message: string, stepError: boolean): NodeResult => nodeResult(n, 'failed', job.key, now() - t, job.reasons, job.warnings, { error: { message, stepError } });
    try {
      const inputs: NodeJobData['inputs'] = {};
      for (const v of Object.values(n.inputs)) {
        for (const r of Array.isArray(v) ? v : [v]) {
          const refs = runner.outputs.get(r.node);
          if (refs) inputs[r.node] = refs;
        }
      }
      for (const refs of Object.values(inputs)) for (const ref of Object.values(refs)) await transport.sendObject(s.store, ref.hash);
      const data: NodeJobData = {
        v: 1,
        file,
        abs: s.spec.file,
        set: opts.set ?? [],
        node: n.id,
        key: job.key,
        forced: job.reasons.some((r) => r.kind === 'forced'),
        inputs,
        mapJobs: opts.mapJobs ?? 20,
        attempts: retries + 1,
      };
      emit({ type: 'running', id: n.id, kind: n.kind, reason: reasonPhrase(job.reasons), worker: true });
      if (!checkedWorkers) {
        checkedWorkers = true;
        void queue
          .getWorkersCount()
          .then((c) => {
            const u = redactUrl(opts.redis);
            if (c === 0) emit({ type: 'warn', id: '', msg: `no repro worker is connected to ${u}: jobs wait until one starts (\`repro worker --redis ${u}\` in the project checkout)` });
          })
          .catch(() => {});
      }
      const res = await waiter.run<NodeJobResult>(
        nodeJobId(job.key),
        n.id,
        data,
        { attempts: retries + 1, backoff: { type: 'fixed', delay: 500 }, removeOnComplete: { age: 3600 }, removeOnFail: { age: 86400 } },
        {
          onProgress: (p) => {
            const q = p as NodeProgress;
            if (q.info) emit({ type: 'info', id: n.id, msg: q.info });
            else if (q.total > 0) emit({ type: 'progress', id: n.id, done: q.done, total: q.total, ...(q.label !== undefined ? { label: q.label } : {}) });
          },
          // the job is gone (done and removed by another waiter, or Redis restarted): the store knows
          onLost: async () => ((await transport.fetchEntry(s.store, job.key)) ? { value: { status: 'ran', ms: now() - t, warnings: [], worker: '?' } satisfies NodeJobResult } : 'retry'),
        },
      );
      const entry = await transport.fetchEntry(s.store, job.key);
      if (!entry) return fail(`worker ${res.worker} finished ${n.id}, but its cache entry is not available here through the ${transport.name} (workers on other machines need a remote cache)`, false);
      for (const w of res.warnings) emit({ type: 'warn', id: n.id, msg: w });
      const r = await runner.evaluate(n, false);
      if (!('status' in r) || r.status !== 'cached') {
        return 'status' in r ? r : fail(`the outputs worker ${res.worker} stored for ${n.id} are missing or corrupt here; run again`, false);
      }
      return nodeResult(n, 'ran', job.key, res.ms, job.reasons, [...job.warnings, ...res.warnings], {
        outputs: r.outputs!,
        ...(r.published ? { published: r.published } : {}),
        ...(res.transcript !== undefined ? { transcript: res.transcript } : {}),
      });
    } catch (e) {
      return fail((e as Error).message, e instanceof JobFailedError);
    }
  };

  return {
    slots: opts.slots ?? 1000,
    execute,
    async close() {
      waiter.close('the run ended');
      // a graceful close waits for Redis: with Redis gone, give up after 1 s (the CLI exits anyway)
      const closing = Promise.all([events.close(), queue.close()]).catch(() => {});
      await Promise.race([closing, new Promise((r) => setTimeout(r, 1000).unref())]);
    },
  };
}
