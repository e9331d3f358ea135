/**
 * ctx.map on BullMQ: the pool a worker gives a node it runs. It is the run's WorkerPool (a
 * `cpu: true` step still runs in a worker thread, ctx.map calls from there arrive here) whose
 * `map` sends the chunks to other processes as jobs instead of local threads:
 *
 * - the chunks of one call are grouped into at most `mapJobs` jobs of consecutive chunks (e.g.
 *   200 placebo chunks of 50 draws → 20 jobs of 10 chunks = 500 draws), the shared data stored
 *   once in Redis under its hash;
 * - every job's result comes back as the task's return values, placed at their chunk indexes:
 *   the task is pure and gets the same bytes as in a local run (structured clone, codec.ts), so
 *   the merged output is bit-identical to the local executor's for any number of workers;
 * - chunk job ids hash their content, so a node retried after its worker died reuses the chunk
 *   jobs that were done or running.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { PROJECT_ROOT } from '../paths.js';
import { WorkerPool, type MapJob, type ThreadBudget } from '../pool.js';
import { encode, fromB64, sha256, toB64 } from './codec.js';
import { JobFailedError, type JobWaiter } from './jobs.js';
import type { ChunkJobData } from './protocol.js';

export interface ChunkPoolOptions {
  queue: Queue;
  waiter: JobWaiter;
  redis: Redis;
  prefix: string;
  node: string;
  mapJobs: number;
  attempts: number;
  /** Seconds the shared data stays in Redis (refreshed by each map call). */
  sharedTtl?: number;
}

/** Largest shared argument sent through Redis (its strings hold at most 512 MB). */
export const MAX_SHARED = 256 * 2 ** 20;

/** `[start, end)` of `jobs` nearly equal groups of `n` chunks (the first ones one larger). */
export function groups(n: number, jobs: number): [number, number][] {
  const k = Math.max(1, Math.min(n, Math.floor(jobs)));
  const out: [number, number][] = [];
  const base = Math.floor(n / k);
  const extra = n % k;
  let a = 0;
  for (let i = 0; i < k; i++) {
    const b = a + base + (i < extra ? 1 : 0);
    out.push([a, b]);
    a = b;
  }
  return out;
}

/** A path relative to the project root when inside it (other machines have their own checkout). */
export function projectRel(file: string): string {
  const r = path.relative(PROJECT_ROOT, file);
  return r.startsWith('..') || path.isAbsolute(r) ? file : r.split(path.sep).join('/');
}

export class ChunkPool extends WorkerPool {
  /** Chunks go over the network as jobs: no shared counter with the step's thread. */
  override readonly claims: boolean = false;
  /** A chunk job failed (after its own attempts): the node fails without retrying. */
  chunkFailed = false;

  constructor(
    budget: ThreadBudget,
    private readonly o: ChunkPoolOptions,
  ) {
    super(budget);
  }

  override async map(job: MapJob, _own: number, held = 0): Promise<unknown[]> {
    try {
      const n = job.chunks.length;
      if (n === 0) return [];
      const o = this.o;
      const sharedBytes = encode(job.shared);
      if (sharedBytes.length > MAX_SHARED) {
        throw new Error(
          `the shared data of this ctx.map call is ${(sharedBytes.length / 2 ** 20).toFixed(0)} MB, more than the ${MAX_SHARED / 2 ** 20} MB a distributed run sends through Redis: run node ${o.node} with the local executor (\`repro run --target ${o.node}\`; the distributed run then finds it cached), or make the shared data smaller`,
        );
      }
      const sh = sha256(sharedBytes);
      const sharedKey = `${o.prefix}:shared:${sh}`;
      await o.redis.set(sharedKey, sharedBytes, 'EX', o.sharedTtl ?? 3600);
      const module = projectRel(fileURLToPath(job.moduleUrl));
      let done = 0;
      const parts = await Promise.all(
        groups(n, o.mapJobs).map(async ([a, b]) => {
          const chunks = toB64(job.chunks.slice(a, b));
          const data: ChunkJobData = { v: 1, module, fn: job.fn, shared: sharedKey, chunks, first: a, sent: n, node: o.node };
          const id = `c-${sha256(module, job.fn, sh, chunks).slice(0, 40)}`;
          let res: string;
          try {
            res = await o.waiter.run<string>(id, `${o.node}#${a}`, data, { attempts: o.attempts, backoff: { type: 'fixed', delay: 200 }, removeOnComplete: { age: 3600 }, removeOnFail: { age: 86400 } });
          } catch (e) {
            if (e instanceof JobFailedError) this.chunkFailed = true;
            throw e;
          }
          const out = fromB64<unknown[]>(res);
          if (!Array.isArray(out) || out.length !== b - a) throw new Error(`chunk job ${id} returned ${Array.isArray(out) ? out.length : typeof out} results for ${b - a} chunks`);
          done += b - a;
          job.onChunk?.(done, n);
          return out;
        }),
      );
      const results: unknown[] = [];
      for (const p of parts) for (const r of p) results.push(r);
      return results;
    } finally {
      this.budget.release(held);
    }
  }
}
