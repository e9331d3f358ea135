/**
 * A small fake StepContext for unit tests of step kinds: paths resolve against `baseDir`,
 * randomness comes from engine/rng.ts keyed like the engine does (seed, node id, stream), and
 * info/warn/progress calls are collected for assertions.
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
  infos: string[];
  warnings: string[];
  progress: [number, number, string | undefined][];
}

export function makeCtx(opts: { baseDir?: string; seed?: number; nodeId?: string; threads?: number } = {}): FakeCtx {
  const baseDir = opts.baseDir ?? PROJECT_ROOT;
  const seed = opts.seed ?? 20250217;
  const nodeId = opts.nodeId ?? 'test';
  const infos: string[] = [];
  const warnings: string[] = [];
  const progress: [number, number, string | undefined][] = [];
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
    threads: opts.threads ?? 1,
  };
  return { ctx, infos, warnings, progress };
}

/** Parse `params` with the step's schema (defaults applied) and run it, like the engine does. */
export async function runStep<P>(
  def: StepDef<P>,
  params: unknown,
  inputs: Record<string, Artifact | Artifact[] | undefined> = {},
  fake: FakeCtx = makeCtx(),
): Promise<Record<string, Artifact>> {
  const parsed = def.params.parse(params);
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
