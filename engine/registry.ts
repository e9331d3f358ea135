/**
 * How the engine finds step kinds. The default registry is the study's hook `steps/index.ts`
 * (export `registry`); it is imported lazily so the engine's own tests never load the study.
 *
 * `REPRO_REGISTRY=/abs/path/registry.js` replaces it with another ES module exporting `registry`
 * (same shape) and optionally `codeRoot` (directory the entries' `file` paths are relative to;
 * default: the project root). The benches and the engine's process-level tests use this to run
 * pipelines of toy steps through the real CLI.
 *
 * The same module may export an optional presenter, `present(value, {csv}) → Promise<string | null>`:
 * how `repro show` prints a JSON artifact (the study's turns a model into its tidy coefficient
 * table, or CSV with `csv: true`). It returns null for JSON it does not know; without the export
 * (toy registries) `show` prints JSON. {@link loadPresenter} loads it.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from './paths.js';
import type { StepDef } from './types.js';

/** One step kind: its source file (for the code fingerprint) and a lazy loader of its definition. */
export interface RegistryEntry {
  /** Source file of the step, relative to the code root (or absolute). */
  file: string;
  load(): Promise<StepDef>;
  /**
   * The step defines `extraFingerprint` (see StepDef.extraFingerprint), which sessions load when a
   * pipeline uses the kind: `true` loads the step module; a loader returns the same function from a
   * lighter module (no zod, no run code), so that a no-op run stays fast.
   */
  fingerprintHook?: true | (() => Promise<NonNullable<StepDef['extraFingerprint']>>);
  /**
   * Copies of the step's `cpu` and `tasksModule` (test/engine/registry-tasks.test.ts checks that
   * they match the definition): with them a run hands a cpu step to a worker thread without first
   * importing the step module (and zod) on the main thread; the worker, which imports it anyway,
   * sends the declared outputs back with the result. Without them the main thread loads the step.
   */
  cpu?: boolean;
  tasksModule?: string;
}

export type Registry = Record<string, RegistryEntry>;

export interface LoadedRegistry {
  registry: Registry;
  /** Directory `file` paths are relative to; code hashes are keyed relative to it. */
  codeRoot: string;
}

/** The registry named by REPRO_REGISTRY, or the study's steps/index.ts. */
export async function loadRegistry(env: NodeJS.ProcessEnv = process.env): Promise<LoadedRegistry> {
  const alt = env.REPRO_REGISTRY;
  if (alt) {
    const abs = path.resolve(alt);
    const mod = (await import(pathToFileURL(abs).href)) as { registry?: Registry; codeRoot?: string };
    if (!mod.registry) throw new Error(`REPRO_REGISTRY=${alt}: the module does not export \`registry\``);
    return { registry: mod.registry, codeRoot: mod.codeRoot ? path.resolve(path.dirname(abs), mod.codeRoot) : PROJECT_ROOT };
  }
  const mod = (await import('../steps/index.js')) as unknown as { registry: Registry };
  return { registry: mod.registry, codeRoot: PROJECT_ROOT };
}

/** `present` of the registry module (see the header): how `repro show` prints JSON artifacts. */
export type Presenter = (value: unknown, opts: { csv?: boolean }) => Promise<string | null>;

/** The registry module's optional `present` export (REPRO_REGISTRY or steps/index.ts); null when absent. */
export async function loadPresenter(env: NodeJS.ProcessEnv = process.env): Promise<Presenter | null> {
  const alt = env.REPRO_REGISTRY;
  const mod = (alt ? await import(pathToFileURL(path.resolve(alt)).href) : await import('../steps/index.js')) as { present?: unknown };
  return typeof mod.present === 'function' ? (mod.present as Presenter) : null;
}

/** URL of the module a worker thread imports to run a step: compiled JS for `.ts` sources. */
export function stepModuleUrl(file: string, codeRoot: string): URL {
  const abs = path.resolve(codeRoot, file);
  if (/\.(m|c)?ts$/.test(abs)) {
    const rel = path.relative(PROJECT_ROOT, abs);
    return pathToFileURL(path.join(PROJECT_ROOT, 'dist', rel.replace(/\.(m|c)?ts$/, (m) => m.replace('ts', 'js'))));
  }
  return pathToFileURL(abs);
}

/**
 * The registry module's optional `diff` export: `diff(contract, a, b) → Promise<rows | null>`, how
 * `repro diff` compares two JSON artifacts of an artifact contract (engine/run-diff.ts `Differ`;
 * the study's compares models and event studies, steps/common/diff-model.ts). Null when absent:
 * `repro diff` then compares JSON leaf by leaf.
 */
export async function loadDiffer(env: NodeJS.ProcessEnv = process.env): Promise<import('./run-diff.js').Differ | null> {
  const alt = env.REPRO_REGISTRY;
  const mod = (alt ? await import(pathToFileURL(path.resolve(alt)).href) : await import('../steps/index.js')) as { diff?: unknown };
  return typeof mod.diff === 'function' ? (mod.diff as import('./run-diff.js').Differ) : null;
}
