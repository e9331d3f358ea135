/**
 * The one StepContext builder of the tests: paths resolve against `baseDir`, randomness comes from
 * engine/rng.ts keyed like the engine does (seed, node id, stream), info/warn/progress calls are
 * collected for assertions, and `ctx.map` applies the step's `tasks` in this thread, in order (as
 * the engine does without compiled workers). stats-helpers' fakeCtx and render-ctx's renderCtx are
 * this builder with other defaults.
 *
 * @example
 * const { ctx, warnings } = makeCtx({ baseDir: PROJECT_ROOT });
 * const out = await ingest.run(ctx, {}, ingest.params.parse({ path: 'data/demo/city-panel.csv' }));
 */
import path from 'node:path';
import { rngFromKey, rngKeyOf } from '../../engine/rng.js';
import type { Artifact, StepContext, StepDef } from '../../engine/types.js';
import { PROJECT_ROOT } from '../../engine/paths.js';

export interface FakeCtx {
  ctx: StepContext;
  /** The step whose tasks ctx.map runs (set by runStep). */
  def?: Pick<StepDef, 'kind' | 'tasks'>;
  infos: string[];
  warnings: string[];
  progress: [number, number, string | undefined][];
  /** ctx.transcript calls, in order. */
  transcripts: string[];
}

export interface CtxOptions {
  baseDir?: string;
  seed?: number;
  nodeId?: string;
  threads?: number;
  /** The step whose `tasks` ctx.map runs (runStep sets it). */
  def?: Pick<StepDef, 'kind' | 'tasks'>;
}

export function makeCtx(opts: CtxOptions = {}): FakeCtx {
  const baseDir = opts.baseDir ?? PROJECT_ROOT;
  const seed = opts.seed ?? 20250217;
  const nodeId = opts.nodeId ?? 'test';
  const infos: string[] = [];
  const warnings: string[] = [];
  const progress: [number, number, string | undefined][] = [];
  const transcripts: string[] = [];
  const ctx: StepContext = {
    nodeId,
    seed,
    baseDir,
    resolvePath: (p) => path.resolve(baseDir, p),
    rng: (stream = '') => rngFromKey(rngKeyOf(seed, nodeId, stream)),
    rngKey: (stream = '') => rngKeyOf(seed, nodeId, stream),
    info: (m) => void infos.push(m),
    warn: (m) => void warnings.push(m),
    progress: (d, t, l) => void progress.push([d, t, l]),
    transcript: (t) => void transcripts.push(t),
    threads: opts.threads ?? 1,
    map: async <C, R>(fn: string, chunks: C[], shared?: unknown, o?: { progress?: string }): Promise<R[]> => {
      const f = (fake.def ?? opts.def)?.tasks?.[fn];
      if (typeof f !== 'function') throw new Error(`test ctx: no task "${fn}" (pass the step as makeCtx({ def }))`);
      const out: R[] = [];
      for (let i = 0; i < chunks.length; i++) {
        out.push((await f(chunks[i], shared)) as R);
        if (o?.progress) progress.push([i + 1, chunks.length, o.progress]);
      }
      return out;
    },
  };
  const fake: FakeCtx = { ctx, infos, warnings, progress, transcripts };
  return fake;
}

/** Parse `params` with the step's schema (defaults applied) and run it, like the engine does. */
export async function runStep<P>(
  def: StepDef<P>,
  params: unknown,
  inputs: Record<string, Artifact | Artifact[] | undefined> = {},
  fake: FakeCtx = makeCtx(),
): Promise<Record<string, Artifact>> {
  const parsed = def.params.parse(params);
  fake.def ??= def;
  return def.run(fake.ctx, inputs, parsed);
}

/** The table of a `table` artifact (throws otherwise). */
export function tableOf(a: Artifact | undefined) {
  if (!a || a.type !== 'table') throw new Error(`expected a table artifact, got ${a?.type}`);
  return a.table;
}

/** The value of a `json` artifact (throws otherwise). */
export function jsonOf(a: Artifact | undefined): any {
  if (!a || a.type !== 'json') throw new Error(`expected a json artifact, got ${a?.type}`);
  return a.value;
}
