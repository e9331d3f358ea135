/**
 * Add a BullMQ job and wait for its result: {@link JobWaiter}, used by the coordinator (node jobs)
 * and by a worker running a node (its ctx.map chunk jobs).
 *
 * - Job ids are deterministic (a node job: its cache key; a chunk job: the hash of its task, shared
 *   data and chunks), so a rerun after the coordinator was killed, or a node retried after its
 *   worker died, finds the job already queued, running or done and waits for it instead of adding
 *   a duplicate. A finished-but-failed job of an earlier run is removed and added afresh.
 * - Completion arrives by QueueEvents (a Redis stream) and is confirmed by a poll of the jobs'
 *   states every `pollMs` (at most {@link POLL_BATCH} per tick, round robin), which also catches events missed while subscribing and jobs that vanished
 *   (a Redis restart without persistence): `onLost` decides (node jobs: the result may already be in
 *   the store; otherwise the job is added again).
 * - Redis unanswered for longer than `downMs`: every waiting job fails with a clear error.
 * - Progress events (`job.updateProgress` in the worker) are passed to the waiter's callback.
 */
import type { JobsOptions, Queue, QueueEvents } from 'bullmq';
import { redactUrl } from './redis.js';

/** Job states checked per poll tick at most. */
export const POLL_BATCH = 50;

interface Waiting {
  name: string;
  data: unknown;
  opts: JobsOptions;
  resolve(v: unknown): void;
  reject(e: Error): void;
  onProgress?: (p: unknown) => void;
  onLost?: () => Promise<'retry' | { value: unknown }>;
  settled: boolean;
}

/** A job that failed (all attempts used, or unrecoverable): `message` is the worker's error. */
export class JobFailedError extends Error {
  override name = 'JobFailedError';
  constructor(
    message: string,
    readonly attempts: number,
  ) {
    super(message);
  }
}

export class JobWaiter {
  private waiting = new Map<string, Waiting>();
  private timer: NodeJS.Timeout | null = null;
  private lastOk = Date.now();
  private polling = false;
  private cursor = 0;

  constructor(
    private readonly queue: Queue,
    private readonly events: QueueEvents,
    private readonly url: string,
    private readonly pollMs = 1000,
    private readonly downMs = 30_000,
  ) {
    events.on('completed', ({ jobId }) => void this.confirm(jobId));
    events.on('failed', ({ jobId }) => void this.confirm(jobId));
    events.on('progress', ({ jobId, data }) => this.waiting.get(jobId)?.onProgress?.(data));
  }

  /** Jobs waited for right now. */
  get size(): number {
    return this.waiting.size;
  }

  /**
   * Ensure job `id` exists (add it unless queued, running or completed) and wait for its return
   * value; rejects with {@link JobFailedError} when it failed.
   */
  async run<T>(
    id: string,
    name: string,
    data: unknown,
    opts: JobsOptions,
    cb: { onProgress?: (p: unknown) => void; onLost?: () => Promise<'retry' | { value: unknown }> } = {},
  ): Promise<T> {
    const p = new Promise<unknown>((resolve, reject) => {
      this.waiting.set(id, { name, data, opts, resolve, reject, settled: false, ...cb });
    });
    if (this.waiting.size === 1) this.lastOk = Date.now();
    this.startPolling();
    // not awaited: with Redis down these calls wait (ioredis queues them) and the poll's timeout
    // must still be able to reject the promise returned here
    void (async (): Promise<void> => {
      try {
        const state = await this.queue.getJobState(id);
        if (state === 'failed') await this.queue.remove(id);
        if (state === 'failed' || state === 'unknown') await this.queue.add(name, data, { ...opts, jobId: id });
        await this.confirm(id);
      } catch (e) {
        this.settle(id, (w) => w.reject(this.redisError(e)));
      }
    })();
    return p as Promise<T>;
  }

  private redisError(e: unknown): Error {
    return new Error(`lost the connection to Redis at ${redactUrl(this.url)}: ${(e as Error).message}`);
  }

  private settle(id: string, f: (w: Waiting) => void): void {
    const w = this.waiting.get(id);
    if (!w || w.settled) return;
    w.settled = true;
    this.waiting.delete(id);
    f(w);
    if (this.waiting.size === 0) this.stopPolling();
  }

  /** Look at job `id`'s state and settle its waiter when it is finished or gone. */
  private async confirm(id: string): Promise<void> {
    const w = this.waiting.get(id);
    if (!w) return;
    const state = await this.queue.getJobState(id);
    this.lastOk = Date.now();
    if (state === 'completed') {
      const job = await this.queue.getJob(id);
      if (!job) return void (await this.lost(id, w));
      this.settle(id, (x) => x.resolve(job.returnvalue));
      await job.remove().catch(() => {}); // done with it (another waiter then finds it gone: onLost)
    } else if (state === 'failed') {
      const job = await this.queue.getJob(id);
      const msg = job?.failedReason || 'the job failed without a message';
      this.settle(id, (x) => x.reject(new JobFailedError(msg, job?.attemptsMade ?? 0)));
    } else if (state === 'unknown') {
      await this.lost(id, w);
    }
  }

  private async lost(id: string, w: Waiting): Promise<void> {
    const r = w.onLost ? await w.onLost() : 'retry';
    if (r === 'retry') {
      if (this.waiting.get(id) === w) await this.queue.add(w.name, w.data, { ...w.opts, jobId: id });
    } else {
      this.settle(id, (x) => x.resolve(r.value));
    }
  }

  private startPolling(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll(), this.pollMs);
  }

  private stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async poll(): Promise<void> {
    const t = Date.now();
    if (this.waiting.size && t - this.lastOk >= this.downMs) {
      // commands to a Redis that is down wait in ioredis' queue: time since the last answer decides
      const err = new Error(`lost the connection to Redis at ${redactUrl(this.url)}: no answer for ${((t - this.lastOk) / 1000).toFixed(1)} s; rerun when it is back (finished nodes are cached)`);
      for (const id of [...this.waiting.keys()]) this.settle(id, (w) => w.reject(err));
      return;
    }
    if (this.polling) return;
    this.polling = true;
    try {
      // at most POLL_BATCH state checks per tick, round robin: the load on Redis stays bounded
      // with thousands of jobs waited for (events settle them first; the poll is the safety net)
      const ids = [...this.waiting.keys()];
      const batch = ids.length <= POLL_BATCH ? ids : Array.from({ length: POLL_BATCH }, (_, i) => ids[(this.cursor + i) % ids.length]!);
      this.cursor = ids.length <= POLL_BATCH ? 0 : (this.cursor + POLL_BATCH) % ids.length;
      for (const id of batch) await this.confirm(id);
      this.lastOk = Date.now();
    } catch {
      /* Redis errors: retried at the next tick until downMs */
    } finally {
      this.polling = false;
    }
  }

  /** Stop polling and reject what is still waited for. */
  close(reason = 'closed'): void {
    for (const id of [...this.waiting.keys()]) this.settle(id, (w) => w.reject(new Error(reason)));
    this.stopPolling();
  }
}
