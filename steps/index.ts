/**
 * The registry hook: the one place the engine learns which step kinds exist.
 * Each entry names the step's source file (for the code fingerprint) and loads it lazily, so a
 * run only imports the step modules its pipeline uses. Adding a step kind = one file + one line here.
 *
 * A `cpu: true` step also says so here (and its `tasksModule`, if any): the run then hands it to a
 * worker thread without importing it on the main thread (engine/registry.ts RegistryEntry.cpu).
 *
 * Rule for step files: import heavy third-party packages (apache-arrow, vega, resvg, exceljs,
 * playwright) inside `run()` with `await import(...)`, never at the top: validation loads every
 * step module a pipeline uses, and a no-op run must stay fast.
 */
import type { Registry, RegistryEntry } from '../engine/registry.js';
import type { StepDef } from '../engine/types.js';

const entry = (file: string, load: () => Promise<{ default: StepDef }>, extra: Pick<RegistryEntry, 'fingerprintHook' | 'cpu' | 'tasksModule'> = {}): RegistryEntry => ({
  file,
  load: async () => (await load()).default,
  ...extra,
});

export const registry: Registry = {
  ingest: entry('steps/ingest.ts', () => import('./ingest.js')),
  clean: entry('steps/clean.ts', () => import('./clean.js')),
  join: entry('steps/join.ts', () => import('./join.js')),
  'merge-roster': entry('steps/merge-roster.ts', () => import('./merge-roster.js')),
  estimate: entry('steps/estimate.ts', () => import('./estimate.js'), { cpu: true }),
  match: entry('steps/match.ts', () => import('./match.js'), { cpu: true }),
  'event-study': entry('steps/event-study.ts', () => import('./event-study.js'), { cpu: true }),
  placebo: entry('steps/placebo.ts', () => import('./placebo.js'), { cpu: true, tasksModule: 'stats/placebo.ts' }),
  describe: entry('steps/describe.ts', () => import('./describe.js')),
  tabulate: entry('steps/tabulate.ts', () => import('./tabulate.js')),
  figure: entry('steps/figure.ts', () => import('./figure.js')),
  report: entry('steps/report.ts', () => import('./report.js')),
  sunab: entry('steps/sunab.ts', () => import('./sunab.js'), { cpu: true }),
  'did-imputation': entry('steps/did-imputation.ts', () => import('./did-imputation.js'), { cpu: true }),
  bacon: entry('steps/bacon.ts', () => import('./bacon.js'), { cpu: true }),
  'did-cs': entry('steps/did-cs.ts', () => import('./did-cs.js'), { cpu: true }),
  'honest-did': entry('steps/honest-did.ts', () => import('./honest-did.js'), { cpu: true }),
  'spec-curve': entry('steps/spec-curve.ts', () => import('./spec-curve.js')),
  // its fingerprint hook lives in a light module (no zod): loaded by every session of a pipeline with script nodes
  script: entry('steps/script.ts', () => import('./script.js'), { fingerprintHook: async () => (await import('./common/script-fingerprint.js')).extraFingerprint as never }),
};

/**
 * How `repro show` prints a JSON artifact (the engine's optional `present` hook, engine/registry.ts):
 * a model (the model contract, DESIGN.md) as its tidy coefficient table, aligned, or with `csv`
 * as CSV; `null` for any other JSON, which the CLI then prints as JSON. Loaded lazily.
 */
export async function present(value: unknown, opts: { csv?: boolean }): Promise<string | null> {
  const { showModel } = await import('./render/tidy.js');
  return showModel(value, { csv: !!opts.csv });
}

/**
 * How `repro diff` compares two versions of a JSON artifact (the engine's optional `diff` hook,
 * engine/registry.ts `loadDiffer`), keyed by the output's contract name: models per term,
 * event studies per period (steps/common/diff-model.ts); `null` for other contracts, which the
 * engine then compares leaf by leaf. Loaded lazily.
 */
export async function diff(contract: string | undefined, a: unknown, b: unknown): Promise<import('../engine/run-diff.js').PartialRow[] | null> {
  const { diffArtifact } = await import('./common/diff-model.js');
  return diffArtifact(contract, a, b);
}
