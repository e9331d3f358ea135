/**
 * `repro worker`: a process that takes jobs from Redis (BullMQ) and runs them.
 *
 * - node jobs (queue `nodes`): open the pipeline in this checkout (`dir`, the job's path and
 *   `--set`s), check that the fingerprint is the coordinator's (else the checkouts differ: the job
 *   fails at once, without retries), fetch the inputs through the transport, run the node with
 *   engine/node-runner.ts exactly as the local executor does (its `ctx.map` chunks become chunk
 *   jobs: chunks.ts), store the outputs and the cache entry, send them through the transport.
 *   A node whose entry already exists (an earlier attempt, another run) is answered `cached`.
 *   Nothing is published here: the coordinator publishes.
 * - chunk jobs (queue `chunks`): apply a step's task to a group of ctx.map chunks in a worker
 *   thread (the event loop stays free to renew the job's lock), return the encoded results.
 *
 * A worker killed mid-job holds its jobs' locks until they expire (`lockMs`); another worker's
 * stalled-job check (every `stalledMs`) then puts them back in the queue: the job runs again
 * elsewhere, with the same inputs and so the same result.
 *
 * @example
 * const w = await startWorker({ redis: 'redis://127.0.0.1:6379', dir: process.cwd() });
 * // … later
 * await w.close();
 */
import os from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { Job } from 'bullmq';
import { PROJECT_ROOT } from '../paths.js';
import { ThreadBudget, WorkerPool } from '../pool.js';
import type { NodeSpec } from '../spec.js';
import { taskOfModule } from '../types.js';
import { ChunkPool } from './chunks.js';
import { decode, fromB64, toB64 } from './codec.js';
import { JobWaiter } from './jobs.js';
import type { ChunkJobData, NodeJobData, NodeJobResult, NodeProgress } from './protocol.js';
import { CHUNK_QUEUE, checkRedis, DEFAULT_PREFIX, NODE_QUEUE, redisOptions } from './redis.js';
import { sharedStoreTransport, type ArtifactTransport } from './transport.js';

export interface WorkerOptions {
  redis: string;
  /** The checkout: pipeline paths of jobs resolve against it (default cwd). */
  dir?: string;
  /** Chunk jobs run at once (default 1: one thread). */
  concurrency?: number;
  /** Node jobs run at once (default 1). */
  nodes?: number;
  prefix?: string;
  transport?: ArtifactTransport;
  /** BullMQ lock duration (ms, default 30000): a killed worker's job is retried after about this. */
  lockMs?: number;
  /** Stalled-job check interval (ms, default 30000). */
  stalledMs?: number;
  /** Log lines (default: none). */
  log?: (line: string) => void;
  /** Called when no job was active for this long (ms). */
  idle?: { ms: number; onIdle(): void };
}

export interface RunningWorker {
  readonly id: string;
  /** Jobs finished (node and chunk). */
  readonly done: number;
  close(): Promise<void>;
}

const now = (): number => performance.now();

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  await checkRedis(opts.redis);
  const { Worker, Queue, QueueEvents, UnrecoverableError } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const dir = path.resolve(opts.dir ?? process.cwd());
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  const connection = redisOptions(opts.redis);
  const transport = opts.transport ?? sharedStoreTransport();
  const log = opts.log ?? ((): void => {});
  const id = `${os.hostname()}:${process.pid}`;
  const concurrency = opts.concurrency ?? 1;
  const redis = new Redis(connection);
  redis.on('error', () => {});
  const chunkQueue = new Queue(CHUNK_QUEUE, { connection, prefix });
  const chunkEvents = new QueueEvents(CHUNK_QUEUE, { connection, prefix });
  chunkEvents.on('error', () => {});
  await chunkEvents.waitUntilReady();
  const chunkWaiter = new JobWaiter(chunkQueue, chunkEvents, opts.redis);
  const threads = new WorkerPool(new ThreadBudget(concurrency));
  const sharedMemo = new Map<string, unknown>();
  let active = 0;
  let done = 0;
  let lastBusy = Date.now();
  const busy = async <T>(f: () => Promise<T>): Promise<T> => {
    active++;
    try {
      return await f();
    } finally {
      active--;
      done++;
      lastBusy = Date.now();
    }
  };

  const sharedOf = async (key: string): Promise<unknown> => {
    if (sharedMemo.has(key)) return sharedMemo.get(key);
    const b = await redis.getBuffer(key);
    if (!b) throw new Error(`the shared data of this ctx.map call (${key}) is gone from Redis (expired, or Redis restarted); rerun`);
    const v = decode(b);
    sharedMemo.set(key, v);
    while (sharedMemo.size > 4) sharedMemo.delete(sharedMemo.keys().next().value!);
    return v;
  };

  const runChunks = async (job: Job<ChunkJobData>): Promise<string> =>
    busy(async () => {
      const d = job.data;
      const t = now();
      const shared = await sharedOf(d.shared);
      const chunks = fromB64<unknown[]>(d.chunks);
      const file = path.isAbsolute(d.module) ? d.module : path.resolve(PROJECT_ROOT, d.module);
      if (!existsSync(file)) throw new UnrecoverableError(`step module ${d.module} not found in this checkout (${PROJECT_ROOT}): run \`npm run build\` there`);
      const moduleUrl = pathToFileURL(file).href;
      let results: unknown[];
      if (file.endsWith('.js')) {
        results = await threads.map({ moduleUrl, fn: d.fn, shared, chunks }, 0, 0);
      } else {
        const f = taskOfModule((await import(moduleUrl)) as Record<string, unknown>, d.fn, moduleUrl);
        results = [];
        for (const c of chunks) results.push(await f(c, shared));
      }
      log(`${d.node}: chunks ${d.first}–${d.first + chunks.length - 1} of the ${d.sent} its ctx.map sent out, in ${Math.round(now() - t)} ms`);
      return toB64(results);
    });

  const runNode = async (job: Job<NodeJobData, NodeJobResult>): Promise<NodeJobResult> =>
    busy(async () => {
      const d = job.data;
      const t = now();
      const [{ openSession }, { parseOverride }, { NodeRunner }, { withMutex }] = await Promise.all([
        import('../session.js'),
        import('../config/load.js'),
        import('../node-runner.js'),
        import('../lock.js'),
      ]);
      const file = [path.resolve(dir, d.file), d.abs].find((f) => existsSync(f));
      if (!file) throw new UnrecoverableError(`pipeline ${d.file} not found under ${dir}: start workers in the project checkout (repro worker --dir DIR)`);
      const s = await openSession({ file, overrides: d.set.map((a) => parseOverride(a)) });
      const n = s.graph.byId.get(d.node);
      log(`${d.node}: running (attempt ${job.attemptsMade + 1})`);
      if (!n) throw new UnrecoverableError(`node ${d.node} is not in ${d.file} in this worker's checkout (${dir}): it differs from the coordinator's`);
      for (const [up, refs] of Object.entries(d.inputs)) {
        for (const [name, ref] of Object.entries(refs)) {
          if (!(await transport.fetchObject(s.store, ref.hash))) {
            throw new Error(`input ${up}.${name} (object ${ref.hash.slice(0, 12)}…) is not available through the ${transport.name} on ${id}: workers on other machines need a remote cache`);
          }
        }
      }
      // progress, info and warnings go to the coordinator as job progress (at most 5 updates/s)
      let last = 0;
      let pending: NodeProgress | null = null;
      const send = (p: NodeProgress, force = false): void => {
        const t2 = Date.now();
        if (!force && t2 - last < 200) {
          pending = p;
          return;
        }
        last = t2;
        pending = null;
        void job.updateProgress(p as unknown as object).catch(() => {});
      };
      const pool = new ChunkPool(new ThreadBudget(1024), { queue: chunkQueue, waiter: chunkWaiter, redis, prefix, node: d.node, mapJobs: d.mapJobs, attempts: d.attempts });
      const runner = new NodeRunner(s, {
        jobs: os.availableParallelism(),
        workers: true,
        pool,
        runView: () => undefined as never,
        emit: (e) => {
          if (e.type === 'progress') send({ done: e.done, total: e.total, ...(e.label !== undefined ? { label: e.label } : {}) }, e.done === e.total);
          else if (e.type === 'info') send({ done: 0, total: 0, info: e.msg }, true);
        },
      });
      for (const [up, refs] of Object.entries(d.inputs)) runner.outputs.set(up, refs);
      const { publish: _published, ...rest } = n;
      const here: NodeSpec = rest; // the coordinator publishes
      try {
        const ev = await runner.evaluate(here, d.forced);
        const mismatch = (key: string): Error =>
          new UnrecoverableError(
            `fingerprint mismatch for ${d.node}: the coordinator computed ${d.key.slice(0, 12)}…, worker ${id} ${key.slice(0, 12)}… — its checkout (${dir}) differs in code, data files, packages or --set; update it (git pull, npm ci, npm run build) or start the worker in the coordinator's checkout`,
          );
        if ('status' in ev) {
          if (ev.status === 'failed') throw new UnrecoverableError(ev.error?.message ?? 'could not fingerprint');
          if (ev.key !== d.key) throw mismatch(ev.key);
          const entry = s.store.readEntry(ev.key);
          if (entry) {
            for (const r of Object.values(entry.outputs)) await transport.sendObject(s.store, r.hash);
            await transport.sendEntry(s.store, entry);
          }
          log(`${d.node}: already cached`);
          return { status: 'cached', ms: now() - t, warnings: ev.warnings, worker: id };
        }
        if (ev.key !== d.key) throw mismatch(ev.key);
        const r = await runner.execute(ev);
        if (pending) send(pending, true);
        if (r.status !== 'ran') {
          const msg = r.error?.message ?? `${r.status}`;
          log(`${d.node}: failed (attempt ${job.attemptsMade + 1}): ${msg}`);
          // a chunk job that failed has had its own attempts: do not multiply them
          throw pool.chunkFailed ? new UnrecoverableError(msg) : new Error(msg);
        }
        for (const ref of Object.values(r.outputs ?? {})) await transport.sendObject(s.store, ref.hash);
        const entry = s.store.readEntry(r.key);
        if (entry) await transport.sendEntry(s.store, entry);
        log(`${d.node}: ran in ${Math.round(r.ms)} ms`);
        return { status: 'ran', ms: r.ms, warnings: r.warnings, ...(r.transcript !== undefined ? { transcript: r.transcript } : {}), worker: id };
      } finally {
        await pool.close();
        if (s.stat.isDirty) withMutex(s.store.locksDir, 'statcache', () => s.stat.save());
      }
    });

  const common = { connection, prefix, lockDuration: opts.lockMs ?? 30_000, stalledInterval: opts.stalledMs ?? 30_000, maxStalledCount: 2 };
  const nodeWorker = new Worker<NodeJobData, NodeJobResult>(NODE_QUEUE, runNode, { ...common, concurrency: opts.nodes ?? 1 });
  const chunkWorker = new Worker<ChunkJobData, string>(CHUNK_QUEUE, runChunks, { ...common, concurrency });
  for (const w of [nodeWorker, chunkWorker]) w.on('error', (e) => log(`error: ${e.message}`));
  await Promise.all([nodeWorker.waitUntilReady(), chunkWorker.waitUntilReady()]);
  let idleTimer: NodeJS.Timeout | null = null;
  if (opts.idle) {
    const { ms, onIdle } = opts.idle;
    idleTimer = setInterval(() => {
      if (active === 0 && Date.now() - lastBusy >= ms) onIdle();
    }, Math.min(1000, ms));
  }
  log(`worker ${id} ready (${opts.nodes ?? 1} node job(s), ${concurrency} chunk job(s) at once; checkout ${dir}; artifacts via the ${transport.name})`);
  return {
    id,
    get done() {
      return done;
    },
    async close() {
      if (idleTimer) clearInterval(idleTimer);
      await Promise.all([nodeWorker.close(), chunkWorker.close()]);
      chunkWaiter.close('worker closed');
      await Promise.all([chunkEvents.close(), chunkQueue.close()]);
      redis.disconnect();
      await threads.close();
    },
  };
}
