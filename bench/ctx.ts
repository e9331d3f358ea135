/**
 * The one StepContext of the benchmarks (steps run in this thread): paths resolve against
 * `baseDir`, randomness is the engine's stream keyed by (seed, node id, stream), messages are
 * dropped, and `ctx.map` applies the step's tasks in order, as the engine does without workers.
 *
 * @example
 * await placebo.run(benchCtx({ nodeId: 'bench_placebo', def: placebo }), inputs, params);
 */
import path from 'node:path';
import { rngFromKey, rngKeyOf } from '../engine/rng.js';
import { taskOf, type StepContext, type StepDef } from '../engine/types.js';

export function benchCtx(opts: { nodeId: string; seed?: number; baseDir?: string; threads?: number; def?: Pick<StepDef, 'kind' | 'tasks'> }): StepContext {
  const seed = opts.seed ?? 20250217;
  const baseDir = opts.baseDir ?? process.cwd();
  const { nodeId, def } = opts;
  return {
    nodeId,
    seed,
    baseDir,
    resolvePath: (p) => path.resolve(baseDir, p),
    rng: (s = '') => rngFromKey(rngKeyOf(seed, nodeId, s)),
    rngKey: (s = '') => rngKeyOf(seed, nodeId, s),
    info: () => {},
    warn: () => {},
    progress: () => {},
    threads: opts.threads ?? 1,
    map: async <C, R>(fn: string, chunks: C[], shared?: unknown): Promise<R[]> => {
      if (!def) throw new Error(`bench ctx: no step given for ctx.map("${fn}")`);
      const f = taskOf(def, fn);
      const out: R[] = [];
      for (const c of chunks) out.push((await f(c, shared)) as R);
      return out;
    },
  };
}
