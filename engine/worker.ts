/**
 * A worker thread of the run's pool (pool.ts). It serves two kinds of job, one at a time:
 * - `step`: import a step module (compiled JS), build a StepContext whose info/warn/progress are
 *   forwarded as messages and whose `map` asks the main thread to spread chunks over the pool, run
 *   the step, and post the outputs back with their buffers transferred (no copy);
 * - `map-init` / `chunk` / `map-end`: apply one of a step module's `tasks` to chunks of a
 *   `ctx.map` call, the shared data received once per job.
 */
import { parentPort } from 'node:worker_threads';
import path from 'node:path';
import { rngFromKey, rngKeyOf } from './rng.js';
import { asError } from './errors.js';
import { taskOf, type Artifact, type StepContext, type StepDef } from './types.js';

export interface WorkerTask {
  moduleUrl: string;
  nodeId: string;
  seed: number;
  baseDir: string;
  threads: number;
  params: unknown;
  inputs: Record<string, Artifact | Artifact[] | undefined>;
}

/** Messages from the main thread to a worker. */
export type ToWorker =
  | { t: 'step'; task: WorkerTask }
  | { t: 'map-grant'; id: number; k: number }
  | { t: 'map-done'; id: number; index: number[]; results: unknown[] }
  | { t: 'map-error'; id: number; name: string; message: string }
  | { t: 'map-init'; id: number; moduleUrl: string; fn: string; shared: unknown }
  | { t: 'chunk'; id: number; index: number; chunk: unknown }
  | { t: 'map-end'; id: number };

/** Messages from a worker to the main thread. */
export type FromWorker =
  | { t: 'info' | 'warn'; msg: string }
  | { t: 'progress'; done: number; total: number; label?: string }
  | { t: 'transcript'; text: string }
  | { t: 'map-start'; id: number; fn: string; n: number; progress?: string }
  | { t: 'map-data'; id: number; index: number[]; chunks: unknown[]; shared: unknown }
  | { t: 'map-progress'; id: number; done: number }
  | { t: 'done'; outputs: Record<string, Artifact> }
  | { t: 'error'; name: string; message: string; stack?: string }
  | { t: 'chunk'; id: number; index: number; result: unknown }
  | { t: 'chunk-error'; id: number; name: string; message: string };

/** @deprecated name kept for the executor's imports: the messages a step worker posts. */
export type WorkerMessage = FromWorker;

/**
 * Buffers of an artifact set that can be transferred (deduplicated; shared memory excluded).
 * With `wholeOnly`, only buffers a view covers entirely (a view into a larger buffer, e.g. Node's
 * Buffer pool, is copied instead, so transferring never detaches unrelated data).
 */
export function transferList(arts: Iterable<Artifact | Artifact[] | undefined>, wholeOnly = false): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  const add = (v: ArrayBufferView): void => {
    const b = v.buffer;
    if (!(b instanceof ArrayBuffer) || b.byteLength === 0) return;
    if (wholeOnly && (v.byteOffset !== 0 || v.byteLength !== b.byteLength)) return;
    seen.add(b);
  };
  for (const a of arts) {
    for (const x of a === undefined ? [] : Array.isArray(a) ? a : [a]) {
      if (x.type === 'table') for (const c of Object.values(x.table.columns)) if (c instanceof Float64Array) add(c);
      if (x.type === 'file') add(x.bytes);
    }
  }
  return [...seen];
}

async function loadDef(moduleUrl: string): Promise<StepDef> {
  const mod = (await import(moduleUrl)) as { default?: StepDef };
  const def = mod.default;
  if (!def || typeof def.run !== 'function') throw new Error(`${moduleUrl} does not default-export a step definition`);
  return def;
}


if (parentPort) {
  const port = parentPort;
  const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  /** Pending ctx.map calls of the step running here. */
  const maps = new Map<number, { grant(k: number): void; resolve(r: { index: number[]; results: unknown[] }): void; reject(e: Error): void }>();
  let mapSeq = 0;
  /** The current chunk job. */
  let job: { id: number; f: (chunk: unknown, shared: unknown) => unknown; shared: unknown } | null = null;
  let jobInit: Promise<void> | null = null;

  port.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'step':
        void runStep(m.task);
        break;
      case 'map-grant':
        maps.get(m.id)?.grant(m.k);
        break;
      case 'map-done':
        maps.get(m.id)?.resolve({ index: m.index, results: m.results });
        maps.delete(m.id);
        break;
      case 'map-error': {
        const e = new Error(m.message);
        e.name = m.name;
        delete e.stack;
        maps.get(m.id)?.reject(e);
        maps.delete(m.id);
        break;
      }
      case 'map-init':
        jobInit = loadDef(m.moduleUrl).then((def) => {
          job = { id: m.id, f: taskOf(def, m.fn), shared: m.shared };
        });
        jobInit.catch(() => {});
        break;
      case 'chunk': {
        const id = m.id;
        void (async () => {
          try {
            await jobInit;
            if (!job || job.id !== id) throw new Error('chunk without its map-init');
            const r = await job.f(m.chunk, job.shared);
            post({ t: 'chunk', id, index: m.index, result: r });
          } catch (e) {
            const err = asError(e);
            post({ t: 'chunk-error', id, name: err.name, message: err.message });
          }
        })();
        break;
      }
      case 'map-end':
        job = null;
        jobInit = null;
        break;
    }
  });

  const runStep = async (task: WorkerTask): Promise<void> => {
    try {
      const def = await loadDef(task.moduleUrl);
      const ctx: StepContext = {
        nodeId: task.nodeId,
        seed: task.seed,
        baseDir: task.baseDir,
        threads: task.threads,
        resolvePath: (p) => path.resolve(task.baseDir, p),
        rng: (stream = '') => rngFromKey(rngKeyOf(task.seed, task.nodeId, stream)),
        rngKey: (stream = '') => rngKeyOf(task.seed, task.nodeId, stream),
        info: (msg) => post({ t: 'info', msg: String(msg) }),
        warn: (msg) => post({ t: 'warn', msg: String(msg) }),
        progress: (done, total, label) => post({ t: 'progress', done, total, ...(label !== undefined ? { label } : {}) }),
        transcript: (text) => post({ t: 'transcript', text: String(text) }),
        map: async <C, R>(fn: string, chunks: C[], shared?: unknown, opts?: { progress?: string }): Promise<R[]> => {
          const f = taskOf(def, fn); // fail here, in the step, when the task does not exist
          const id = ++mapSeq;
          const n = chunks.length;
          let remote: Promise<{ index: number[]; results: unknown[] }> | null = null;
          // ask for free tokens; with k of them, chunks i % (k+1) ≠ 0 go to pool workers
          const k = await new Promise<number>((grant, reject) => {
            remote = new Promise((resolve, rej) => maps.set(id, { grant, resolve, reject: (e) => (rej(e), reject(e)) }));
            remote.catch(() => {});
            post({ t: 'map-start', id, fn, n, ...(opts?.progress ? { progress: opts.progress } : {}) });
          });
          const out = new Array<R>(n);
          const mine: number[] = [];
          const theirs: number[] = [];
          for (let i = 0; i < n; i++) (k > 0 && i % (k + 1) !== 0 ? theirs : mine).push(i);
          if (k > 0) post({ t: 'map-data', id, index: theirs, chunks: theirs.map((i) => chunks[i]), shared });
          else maps.delete(id);
          let done = 0;
          for (const i of mine) {
            out[i] = (await f(chunks[i], shared)) as R;
            post({ t: 'map-progress', id, done: ++done });
          }
          if (k > 0) {
            const r = await remote!;
            r.index.forEach((i, j) => (out[i] = r.results[j] as R));
          }
          return out;
        },
      };
      const outputs = await def.run(ctx, task.inputs, task.params);
      try {
        post({ t: 'done', outputs }, transferList(Object.values(outputs ?? {})));
      } catch (e) {
        const m = e instanceof Error ? e.message : String(e);
        post({ t: 'error', name: 'Error', message: `the step's outputs could not be sent back from its worker thread: ${m} (artifacts hold plain data: tables, JSON values, bytes)` });
      }
    } catch (e) {
      const err = asError(e);
      const msg: FromWorker = { t: 'error', name: err.name, message: err.message };
      if (err.stack) msg.stack = err.stack;
      post(msg);
    }
  };
}
