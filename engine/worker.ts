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
import { outputsOf, taskOf, taskOfModule, type Artifact, type ArtifactType, type OutputSpec, type StepContext, type StepDef } from './types.js';
import type { OutputRef } from './store.js';

export interface WorkerTask {
  moduleUrl: string;
  nodeId: string;
  seed: number;
  baseDir: string;
  threads: number;
  params: unknown;
  inputs: Record<string, Artifact | Artifact[] | undefined>;
  /**
   * Inputs this worker reads from the store itself (verified, decoded here, in parallel with other
   * workers, instead of on the main thread), with the store's folder.
   */
  inputRefs?: Record<string, OutputRef | OutputRef[]>;
  storeDir?: string;
  /**
   * Input objects the main thread already read (hash → bytes), while this thread was starting;
   * only objects whose stat matched their verified record when read. The others are read here.
   */
  inputBytes?: Record<string, Uint8Array>;
  /** The step's tasks module (StepDef.tasksModule, compiled URL): what pool workers import for its ctx.map chunks. */
  tasksUrl?: string;
  /** ctx.map's other lanes are this process's threads (the local pool): apply the warm-up rule (MIN_LANE_MS). Chunks that go over the network as jobs do not. */
  localMap?: boolean;
}

/**
 * ctx.map's warm-up, on the local pool (WorkerTask.localMap): a map runs its first WARM_CHUNKS
 * chunks on the step's own thread, then asks for other threads only if the chunks left would take
 * at least MIN_LANE_MS at the pace of the last of those. A thread brought into a map starts cold
 * (its start, the task's imports, V8 compiling the task's code again: ~0.1–0.15 s here), and on 2
 * cores it competes with the step's thread meanwhile, so it pays off only when about twice that is
 * left: 1000 placebo draws (~60 ms warm) took 0.28 s of node time on two threads against 0.26 s on
 * one; 10,000 draws take 0.60 s on two against 0.82 s on one. Which thread runs a chunk never
 * changes its result (results are merged in chunk order).
 */
export const WARM_CHUNKS = 4;
export const MIN_LANE_MS = 300;

/** Messages from the main thread to a worker. */
export type ToWorker =
  | { t: 'step'; task: WorkerTask }
  | { t: 'map-grant'; id: number; k: number; claim?: boolean }
  | { t: 'map-done'; id: number; index: number[]; results: unknown[] }
  | { t: 'map-error'; id: number; name: string; message: string }
  | { t: 'map-init'; id: number; moduleUrl: string; fn: string; shared: unknown }
  /** Claim mode: run chunks `claim` hands out (Atomics.add on its first slot) until none are left. */
  | { t: 'claim-run'; id: number; moduleUrl: string; fn: string; shared: unknown; chunks: unknown[]; claim: Int32Array }
  | { t: 'chunk'; id: number; index: number; chunk: unknown }
  | { t: 'map-end'; id: number }
  /** Import a step module ahead of its job (the import is cached; errors surface when the job runs). */
  | { t: 'preload'; moduleUrl: string };

/** Messages from a worker to the main thread. */
export type FromWorker =
  | { t: 'info' | 'warn'; msg: string }
  | { t: 'progress'; done: number; total: number; label?: string }
  | { t: 'transcript'; text: string }
  | { t: 'map-start'; id: number; fn: string; n: number; done: number; want: number; progress?: string }
  | { t: 'map-data'; id: number; index: number[]; chunks: unknown[]; shared: unknown; claim?: Int32Array; tasksUrl?: string }
  | { t: 'map-progress'; id: number; done: number }
  /** `declared`: the step's declared outputs for these params (the main thread may not have loaded the step). */
  | { t: 'done'; outputs: Record<string, Artifact>; declared: Record<string, ArtifactType | OutputSpec> }
  | { t: 'error'; name: string; message: string; stack?: string; hash?: string; reason?: 'missing' | 'corrupt' }
  | { t: 'chunk'; id: number; index: number; result: unknown }
  | { t: 'chunk-error'; id: number; name: string; message: string }
  | { t: 'claim-done'; id: number };

/** @deprecated name kept for the executor's imports: the messages a step worker posts. */
export type WorkerMessage = FromWorker;

/**
 * Buffers of an artifact set (table columns, a table's Arrow bytes, file bytes) and of `extra`
 * views that can be transferred (deduplicated; shared memory excluded). With `wholeOnly`, only
 * buffers a view covers entirely (a view into a larger buffer, e.g. Node's Buffer pool, is copied
 * instead, so transferring never detaches unrelated data).
 */
export function transferList(arts: Iterable<Artifact | Artifact[] | undefined>, wholeOnly = false, extra: Iterable<ArrayBufferView> = []): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  const add = (v: ArrayBufferView): void => {
    const b = v.buffer;
    if (!(b instanceof ArrayBuffer) || b.byteLength === 0) return;
    if (wholeOnly && (v.byteOffset !== 0 || v.byteLength !== b.byteLength)) return;
    seen.add(b);
  };
  for (const a of arts) {
    for (const x of a === undefined ? [] : Array.isArray(a) ? a : [a]) {
      if (x.type === 'table') {
        for (const c of Object.values(x.table.columns)) if (c instanceof Float64Array) add(c);
        if (x.arrow) add(x.arrow);
      }
      if (x.type === 'file') add(x.bytes);
    }
  }
  for (const v of extra) add(v);
  return [...seen];
}

/** A task function from a step module or a tasks module (imports are cached per thread). */
async function loadTask(moduleUrl: string, fn: string): Promise<(chunk: unknown, shared: unknown) => unknown> {
  return taskOfModule((await import(moduleUrl)) as Record<string, unknown>, fn, moduleUrl);
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
  const maps = new Map<number, { grant(k: number, claim: boolean): void; resolve(r: { index: number[]; results: unknown[] }): void; reject(e: Error): void }>();
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
        maps.get(m.id)?.grant(m.k, !!m.claim);
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
        jobInit = loadTask(m.moduleUrl, m.fn).then((f) => {
          job = { id: m.id, f, shared: m.shared };
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
      case 'preload':
        import(m.moduleUrl).catch(() => {});
        break;
      case 'claim-run': {
        const { id, chunks, shared, claim } = m;
        void (async () => {
          try {
            const f = await loadTask(m.moduleUrl, m.fn);
            for (;;) {
              const i = Atomics.add(claim, 0, 1);
              if (i >= chunks.length) break;
              post({ t: 'chunk', id, index: i, result: await f(chunks[i], shared) });
            }
            post({ t: 'claim-done', id });
          } catch (e) {
            const err = asError(e);
            post({ t: 'chunk-error', id, name: err.name, message: err.message });
          }
        })();
        break;
      }
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
          const out = new Array<R>(n);
          // the first chunks run here before other threads are asked for (see MIN_LANE_MS)
          let i0 = 0;
          let last = 0;
          while (task.localMap && i0 < Math.min(WARM_CHUNKS, n)) {
            const t = performance.now();
            out[i0] = (await f(chunks[i0], shared)) as R;
            last = performance.now() - t;
            i0++;
          }
          const want = !task.localMap || (n - i0) * last >= MIN_LANE_MS ? n - i0 - 1 : 0;
          let remote: Promise<{ index: number[]; results: unknown[] }> | null = null;
          // ask for up to `want` free tokens; with k of them, the chunks left go to this thread and k pool workers
          const { k, claim } = await new Promise<{ k: number; claim: boolean }>((grant, reject) => {
            remote = new Promise((resolve, rej) => maps.set(id, { grant: (k, claim) => grant({ k, claim }), resolve, reject: (e) => (rej(e), reject(e)) }));
            remote.catch(() => {});
            post({ t: 'map-start', id, fn, n, done: i0, want: Math.max(0, want), ...(opts?.progress ? { progress: opts.progress } : {}) });
          });
          let done = i0;
          if (k > 0 && claim) {
            // claim mode: this thread and the k pool workers take the next unclaimed chunk (an atomic
            // counter in shared memory) until none is left, so a worker that starts late (a cold
            // thread importing the step) costs no idle time here; each chunk runs exactly once and
            // its result does not depend on who ran it
            const counter = new Int32Array(new SharedArrayBuffer(4));
            counter[0] = i0;
            post({ t: 'map-data', id, index: [], chunks, shared, claim: counter, ...(task.tasksUrl ? { tasksUrl: task.tasksUrl } : {}) });
            for (;;) {
              const i = Atomics.add(counter, 0, 1);
              if (i >= n) break;
              out[i] = (await f(chunks[i], shared)) as R;
              post({ t: 'map-progress', id, done: ++done });
            }
            const r = await remote!;
            r.index.forEach((i, j) => (out[i] = r.results[j] as R));
            return out;
          }
          const mine: number[] = [];
          const theirs: number[] = [];
          for (let i = i0; i < n; i++) (k > 0 && (i - i0) % (k + 1) !== 0 ? theirs : mine).push(i);
          if (k > 0) post({ t: 'map-data', id, index: theirs, chunks: theirs.map((i) => chunks[i]), shared, ...(task.tasksUrl ? { tasksUrl: task.tasksUrl } : {}) });
          else maps.delete(id);
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
      let inputs = task.inputs;
      if (task.inputRefs && task.storeDir !== undefined) {
        const { Store, decodeArtifact } = await import('./store.js');
        const store = new Store(task.storeDir);
        inputs = { ...inputs };
        // bytes the main thread read (their stat matched their verified record); others are read and verified here
        const get = (x: OutputRef): Promise<Artifact> => {
          const bytes = task.inputBytes?.[x.hash];
          return bytes ? decodeArtifact(x, bytes) : store.get(x);
        };
        for (const [name, r] of Object.entries(task.inputRefs)) inputs[name] = Array.isArray(r) ? await Promise.all(r.map(get)) : await get(r);
      }
      const outputs = await def.run(ctx, inputs, task.params);
      // tables are encoded here, where the encoder is loaded, not on the main thread (a table that
      // cannot be encoded is left to the main thread, which reports it as a broken output)
      for (const a of outputs && typeof outputs === 'object' ? Object.values(outputs) : []) {
        if (a?.type !== 'table') continue;
        try {
          const { tableToArrow } = await import('./arrow.js');
          a.arrow = tableToArrow(a.table);
        } catch {
          delete a.arrow;
        }
      }
      try {
        post({ t: 'done', outputs, declared: outputsOf(def, task.params) }, transferList(Object.values(outputs ?? {})));
      } catch (e) {
        const m = e instanceof Error ? e.message : String(e);
        post({ t: 'error', name: 'Error', message: `the step's outputs could not be sent back from its worker thread: ${m} (artifacts hold plain data: tables, JSON values, bytes)` });
      }
    } catch (e) {
      const err = asError(e);
      const msg: FromWorker = { t: 'error', name: err.name, message: err.message };
      if (err.stack) msg.stack = err.stack;
      // an input object that failed verification here: the main thread drops the entries that name it
      const c = e as { name?: string; hash?: unknown; reason?: unknown };
      if (c?.name === 'CorruptObjectError' && typeof c.hash === 'string') Object.assign(msg, { hash: c.hash, reason: c.reason });
      post(msg);
    }
  };
}
