/**
 * One thread budget and one pool of worker threads for the whole run (DESIGN invariant 6).
 *
 * - {@link ThreadBudget}: `--jobs N` tokens. A running node holds one token (on the main thread or
 *   in a pool worker); a step that splits its own work (`ctx.map`) borrows the tokens that are free
 *   at that moment, so the busy threads of the run never exceed N (as Snakemake's `_cores`).
 * - {@link WorkerPool}: worker threads started on demand and reused across nodes; each runs either a
 *   whole `cpu: true` step or chunks of a `ctx.map` call (a function a step module exports in its
 *   definition's `tasks`). Results of a map come back in chunk order, so output is identical for
 *   any `--jobs`.
 *
 * @example
 * const budget = new ThreadBudget(2);
 * const pool = new WorkerPool(budget);
 * await budget.acquire();
 * const outputs = await pool.runStep(task, hooks); // ctx.map inside it borrows free tokens
 * budget.release();
 * await pool.close();
 */
import type { Worker } from 'node:worker_threads';
import { compiledUrl } from './paths.js';
import { contractError, CorruptObjectError } from './errors.js';
import { availableParallelism } from 'node:os';
import type { Artifact, ArtifactType, OutputSpec } from './types.js';
import type { FromWorker, ToWorker, WorkerTask } from './worker.js';

/** Counting semaphore of thread tokens. */
export class ThreadBudget {
  private free: number;
  private waiters: (() => void)[] = [];
  /**
   * @param total tokens, ≥ 1 (`--jobs`)
   */
  constructor(readonly total: number) {
    if (!(Number.isInteger(total) && total >= 1)) throw new Error(`ThreadBudget: total must be an integer >= 1, got ${total}`);
    this.free = total;
  }
  /** Wait for one token. */
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiters.push(r));
  }
  /** Take up to `max` tokens that are free now (never waits); returns how many were taken. */
  tryAcquire(max: number): number {
    const k = Math.max(0, Math.min(max, this.free));
    this.free -= k;
    return k;
  }
  /** Give back `k` tokens. */
  release(k = 1): void {
    for (let i = 0; i < k; i++) {
      const w = this.waiters.shift();
      if (w) w();
      else this.free++;
    }
  }
  /** Tokens free right now. */
  get available(): number {
    return this.free;
  }
}

export interface StepHooks {
  info(msg: string): void;
  warn(msg: string): void;
  progress(done: number, total: number, label?: string): void;
  /** ctx.transcript of the step (see StepContext.transcript). */
  transcript?(text: string): void;
}

/** One chunked job: `fn` of the definition exported by `moduleUrl`, applied to each chunk with `shared`. */
export interface MapJob {
  moduleUrl: string;
  fn: string;
  shared: unknown;
  chunks: unknown[];
  /**
   * Claim mode (a step's ctx.map in a worker thread): the step's own thread also takes chunks from
   * this shared counter; each lane claims the next chunk until none is left, and the results come
   * back with their indexes. Without it, lanes run the chunks given, in order.
   */
  claim?: Int32Array;
  /** Called as chunks finish (count done, total). */
  onChunk?: (done: number, total: number) => void;
}

interface PoolWorker {
  w: Worker;
  /** Step modules this worker was asked to import ahead of a job ({@link WorkerPool.preload}). */
  preloaded?: Set<string>;
  /** Handler of the current job's messages. */
  onMessage: ((m: FromWorker) => void) | null;
  onFail: ((e: Error) => void) | null;
  dead: boolean;
}

let seq = 0;

/** Worker threads of one run, started lazily, reused, terminated by {@link close}. */
export class WorkerPool {
  /** Lanes of a step's ctx.map share the step thread's chunk counter (claim mode); not over the network. */
  readonly claims: boolean = true;
  private idle: PoolWorker[] = [];
  private all = new Set<PoolWorker>();

  constructor(readonly budget: ThreadBudget) {}

  /** Worker threads alive (started and not yet terminated). */
  get threads(): number {
    return this.all.size;
  }

  private async spawn(): Promise<PoolWorker> {
    const { Worker } = await import('node:worker_threads');
    // plain compiled JS: do not inherit the parent's exec flags (loaders, test hooks)
    const w = new Worker(compiledUrl('engine/worker.ts'), { execArgv: [] });
    const pw: PoolWorker = { w, onMessage: null, onFail: null, dead: false };
    w.on('message', (m: FromWorker) => pw.onMessage?.(m));
    w.on('error', (e) => {
      pw.dead = true;
      pw.onFail?.(e);
    });
    w.on('exit', (code) => {
      pw.dead = true;
      this.all.delete(pw);
      this.idle = this.idle.filter((x) => x !== pw);
      pw.onFail?.(contractError(`worker thread exited with code ${code} before the step finished (did the step call process.exit?)`));
    });
    this.all.add(pw);
    return pw;
  }

  /**
   * Start `n` workers now (at most the budget's total and the cores), idle until a job or a
   * {@link preload} comes: the CLI starts them while it loads the session of a run certain to
   * need them (`--force` of a cpu step), so their start overlaps that work.
   */
  prestart(n: number): void {
    const most = Math.min(n, this.budget.total, availableParallelism());
    const run = async (): Promise<void> => {
      while (this.all.size < most) {
        const pw = await this.spawn();
        pw.w.unref();
        this.idle.push(pw);
      }
    };
    this.warming = this.warming.then(run, run).catch(() => {});
  }

  /** Workers being started by {@link preload}: take() waits for them instead of starting more. */
  private warming: Promise<void> = Promise.resolve();

  /**
   * Have up to `n` idle workers import `moduleUrl` now, starting workers as needed (never more
   * than the budget's total): a job's thread start and its step's imports then overlap the main
   * thread's own work (loading the inputs). Takes no token; errors surface when the job runs.
   */
  preload(moduleUrl: string, n = 1): void {
    const most = Math.min(n, this.budget.total, availableParallelism());
    const run = async (): Promise<void> => {
      // idle workers that have it already count (a second call for the same module starts nothing)
      const have = this.idle.filter((w) => !w.dead && w.preloaded?.has(moduleUrl)).length;
      for (let k = have; k < most; k++) {
        let pw = this.idle.find((w) => !w.dead && !w.preloaded?.has(moduleUrl));
        if (!pw) {
          if (this.all.size >= this.budget.total) return;
          pw = await this.spawn();
          pw.w.unref();
        }
        (pw.preloaded ??= new Set()).add(moduleUrl);
        this.post(pw, { t: 'preload', moduleUrl });
        // idle, and the first one take() pops
        this.idle = [...this.idle.filter((x) => x !== pw), pw];
      }
    };
    this.warming = this.warming.then(run, run).catch(() => {});
  }

  /**
   * A worker for a job; it keeps the process alive while busy (ref), not while idle (unref).
   * Prefers an idle worker that has imported `moduleUrl` ({@link preload}): a step then runs on the
   * thread that loaded its module, and a map lane on one that loaded the tasks.
   */
  private async take(moduleUrl?: string): Promise<PoolWorker> {
    await this.warming;
    for (;;) {
      let at = -1;
      if (moduleUrl !== undefined) for (let i = this.idle.length - 1; i >= 0 && at < 0; i--) if (!this.idle[i]!.dead && this.idle[i]!.preloaded?.has(moduleUrl)) at = i;
      const pw = (at >= 0 ? this.idle.splice(at, 1)[0] : this.idle.pop()) ?? (await this.spawn());
      if (pw.dead) continue;
      pw.w.ref();
      return pw;
    }
  }

  private give(pw: PoolWorker): void {
    pw.onMessage = null;
    pw.onFail = null;
    if (!pw.dead) {
      pw.w.unref();
      this.idle.push(pw);
    }
  }

  private post(pw: PoolWorker, msg: ToWorker, transfer: ArrayBuffer[] = []): void {
    pw.w.postMessage(msg, transfer);
  }

  /**
   * Run a whole step in a worker (the caller holds its token). `ctx.map` calls from inside the
   * step are served here with borrowed tokens.
   */
  async runStep(task: WorkerTask, hooks: StepHooks, transfer: ArrayBuffer[]): Promise<{ outputs: Record<string, Artifact>; declared: Record<string, ArtifactType | OutputSpec> }> {
    const pw = await this.take(task.moduleUrl);
    /** ctx.map calls of this step in flight. */
    const maps = new Map<number, { onLocal(done: number): void; onData?: (d: { index: number[]; chunks: unknown[]; shared: unknown; claim?: Int32Array; tasksUrl?: string }) => void }>();
    try {
      return await new Promise<{ outputs: Record<string, Artifact>; declared: Record<string, ArtifactType | OutputSpec> }>((resolve, reject) => {
        pw.onFail = reject;
        pw.onMessage = (m) => {
          switch (m.t) {
            case 'info':
              hooks.info(m.msg);
              break;
            case 'warn':
              hooks.warn(m.msg);
              break;
            case 'progress':
              hooks.progress(m.done, m.total, m.label);
              break;
            case 'transcript':
              hooks.transcript?.(m.text);
              break;
            case 'map-start': {
              // ctx.map in this step: its own thread ran the first m.done chunks and asks for up to
              // m.want more threads (worker.ts MIN_LANE_MS); the k tokens free right now join it
              const k = this.budget.tryAcquire(Math.max(0, Math.min(m.want, m.n - m.done - 1)));
              const progress = m.progress;
              let local = m.done;
              let remote = 0;
              const report = (): void => {
                if (progress) hooks.progress(local + remote, m.n, progress);
              };
              maps.set(m.id, { onLocal: (d) => ((local = d), report()) });
              this.post(pw, { t: 'map-grant', id: m.id, k, claim: this.claims });
              if (k === 0) break;
              const pending = new Promise<{ index: number[]; chunks: unknown[]; shared: unknown; claim?: Int32Array; tasksUrl?: string }>((res) => maps.set(m.id, { onLocal: (d) => ((local = d), report()), onData: res }));
              void pending
                .then(({ index, chunks, shared, claim, tasksUrl }) =>
                  (claim
                    ? this.claimMap({ moduleUrl: tasksUrl ?? task.moduleUrl, fn: m.fn, shared, chunks, claim, onChunk: (d) => ((remote = d), report()) }, k)
                    : this.map({ moduleUrl: tasksUrl ?? task.moduleUrl, fn: m.fn, shared, chunks, onChunk: (d) => ((remote = d), report()) }, 0, k).then((results) => ({ index, results }))
                  ).then(
                    ({ index, results }) => this.post(pw, { t: 'map-done', id: m.id, index, results }),
                    (e: Error) => this.post(pw, { t: 'map-error', id: m.id, name: e.name, message: e.message }),
                  ),
                )
                .finally(() => maps.delete(m.id));
              break;
            }
            case 'map-data':
              maps.get(m.id)?.onData?.({ index: m.index, chunks: m.chunks, shared: m.shared, ...(m.claim ? { claim: m.claim } : {}), ...(m.tasksUrl ? { tasksUrl: m.tasksUrl } : {}) });
              break;
            case 'map-progress':
              maps.get(m.id)?.onLocal(m.done);
              break;
            case 'done':
              resolve({ outputs: m.outputs, declared: m.declared });
              break;
            case 'error': {
              if (m.name === 'CorruptObjectError' && m.hash) {
                reject(new CorruptObjectError(m.hash, m.reason ?? 'corrupt'));
                break;
              }
              const e = new Error(m.message);
              e.name = m.name;
              if (m.stack) e.stack = m.stack;
              else delete e.stack; // a non-Error thrown in the worker: no stack of ours either
              reject(e);
              break;
            }
            case 'chunk':
            case 'chunk-error':
              break;
          }
        };
        this.post(pw, { t: 'step', task }, transfer);
      });
    } finally {
      this.give(pw);
    }
  }

  /**
   * Apply a task function to every chunk on pool workers: `own` tokens the caller already holds
   * (its own thread, idle while it waits), `held` tokens taken for this call (released at the end),
   * plus whatever tokens are free now; at least one worker. Results in chunk order.
   */
  async map(job: MapJob, own: number, held = 0): Promise<unknown[]> {
    const n = job.chunks.length;
    if (n === 0) {
      this.budget.release(held);
      return [];
    }
    const borrowed = held + this.budget.tryAcquire(Math.max(0, n - own - held));
    const lanes = Math.max(1, Math.min(n, own + borrowed));
    const results = new Array<unknown>(n);
    let next = 0;
    let done = 0;
    let failed: Error | null = null;
    const id = ++seq;
    const lane = async (): Promise<void> => {
      const pw = await this.take(job.moduleUrl);
      try {
        // the shared data goes once per worker and job; chunks follow one at a time
        this.post(pw, { t: 'map-init', id, moduleUrl: job.moduleUrl, fn: job.fn, shared: job.shared });
        while (!failed && next < n) {
          const i = next++;
          const r = await new Promise<unknown>((resolve, reject) => {
            pw.onFail = reject;
            pw.onMessage = (m) => {
              if (m.t === 'chunk' && m.id === id && m.index === i) resolve(m.result);
              else if (m.t === 'chunk-error' && m.id === id) {
                const e = new Error(m.message);
                e.name = m.name;
                delete e.stack;
                reject(e);
              }
            };
            this.post(pw, { t: 'chunk', id, index: i, chunk: job.chunks[i] });
          });
          results[i] = r;
          done++;
          job.onChunk?.(done, n);
        }
        this.post(pw, { t: 'map-end', id });
      } catch (e) {
        failed ??= e as Error;
      } finally {
        this.give(pw);
      }
    };
    try {
      await Promise.all(Array.from({ length: lanes }, lane));
    } finally {
      this.budget.release(borrowed);
    }
    if (failed) throw failed;
    return results;
  }

  /**
   * Claim mode of a step's ctx.map: `held` tokens (taken for this call, released at the end), one
   * lane each; every lane's worker takes the next unclaimed chunk of `job.claim` (shared with the
   * step's own thread) until none is left. Returns the indexes this side ran and their results.
   */
  async claimMap(job: MapJob & { claim: Int32Array }, held: number): Promise<{ index: number[]; results: unknown[] }> {
    const index: number[] = [];
    const results: unknown[] = [];
    let failed: Error | null = null;
    const id = ++seq;
    const lane = async (): Promise<void> => {
      const pw = await this.take(job.moduleUrl);
      try {
        await new Promise<void>((resolve, reject) => {
          pw.onFail = reject;
          pw.onMessage = (m) => {
            if (m.t === 'chunk' && m.id === id) {
              index.push(m.index);
              results.push(m.result);
              job.onChunk?.(index.length, job.chunks.length);
            } else if (m.t === 'claim-done' && m.id === id) resolve();
            else if (m.t === 'chunk-error' && m.id === id) {
              const e = new Error(m.message);
              e.name = m.name;
              delete e.stack;
              reject(e);
            }
          };
          this.post(pw, { t: 'claim-run', id, moduleUrl: job.moduleUrl, fn: job.fn, shared: job.shared, chunks: job.chunks, claim: job.claim });
        });
      } catch (e) {
        failed ??= e as Error;
      } finally {
        this.give(pw);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, held) }, lane));
    } finally {
      this.budget.release(held);
    }
    if (failed) throw failed;
    return { index, results };
  }

  /** Terminate every worker. */
  async close(): Promise<void> {
    const ws = [...this.all];
    this.all.clear();
    this.idle = [];
    await Promise.all(ws.map((pw) => pw.w.terminate()));
  }
}
