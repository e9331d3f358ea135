/**
 * Worker thread for CPU-heavy steps (`cpu: true`). The main thread sends the step's module URL
 * (compiled JS), its params and decoded inputs; the worker imports the step, builds a StepContext
 * whose info/warn/progress are forwarded as messages, runs it, and posts the outputs back with
 * their buffers transferred (no copy).
 */
import { parentPort } from 'node:worker_threads';
import path from 'node:path';
import { rngFromKey, rngKeyOf } from './rng.js';
import { asError } from './thrown.js';
import type { Artifact, StepContext, StepDef } from './types.js';

export interface WorkerTask {
  moduleUrl: string;
  nodeId: string;
  seed: number;
  baseDir: string;
  threads: number;
  params: unknown;
  inputs: Record<string, Artifact | Artifact[] | undefined>;
}

export type WorkerMessage =
  | { t: 'info' | 'warn'; msg: string }
  | { t: 'progress'; done: number; total: number; label?: string }
  | { t: 'done'; outputs: Record<string, Artifact> }
  | { t: 'error'; name: string; message: string; stack?: string };

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

if (parentPort) {
  const port = parentPort;
  port.once('message', async (task: WorkerTask) => {
    try {
      const mod = (await import(task.moduleUrl)) as { default?: StepDef };
      const def = mod.default;
      if (!def || typeof def.run !== 'function') throw new Error(`${task.moduleUrl} does not default-export a step definition`);
      const ctx: StepContext = {
        nodeId: task.nodeId,
        seed: task.seed,
        baseDir: task.baseDir,
        threads: task.threads,
        resolvePath: (p) => path.resolve(task.baseDir, p),
        rng: (stream = '') => rngFromKey(rngKeyOf(task.seed, task.nodeId, stream)),
        rngKey: (stream = '') => rngKeyOf(task.seed, task.nodeId, stream),
        info: (msg) => port.postMessage({ t: 'info', msg: String(msg) } satisfies WorkerMessage),
        warn: (msg) => port.postMessage({ t: 'warn', msg: String(msg) } satisfies WorkerMessage),
        progress: (done, total, label) => port.postMessage({ t: 'progress', done, total, label } satisfies WorkerMessage),
      };
      const outputs = await def.run(ctx, task.inputs, task.params);
      try {
        port.postMessage({ t: 'done', outputs } satisfies WorkerMessage, transferList(Object.values(outputs ?? {})));
      } catch (e) {
        const m = e instanceof Error ? e.message : String(e);
        port.postMessage({ t: 'error', name: 'Error', message: `the step's outputs could not be sent back from its worker thread: ${m} (artifacts hold plain data: tables, JSON values, bytes)` } satisfies WorkerMessage);
      }
    } catch (e) {
      const err = asError(e);
      const msg: WorkerMessage = { t: 'error', name: err.name, message: err.message };
      if (err.stack) msg.stack = err.stack;
      port.postMessage(msg);
    }
  });
}
