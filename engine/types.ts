/**
 * The contract between the engine and the step kinds.
 *
 * The engine knows nothing of economics: it validates a step's params with the
 * step's own zod schema, hands it its input artifacts and a context, and stores
 * whatever named artifacts it returns. Everything a step needs from the outside
 * world (files, logging, progress, randomness) comes through {@link StepContext}.
 */
import type { z } from 'zod';
import type { Table } from './table.js';
import type { StatCache } from './statcache.js';

/** The kinds of artifact a step can consume or produce. */
export type ArtifactType = 'table' | 'json' | 'file';

/**
 * An artifact in memory.
 * - `table`: columnar data, stored as Arrow IPC.
 * - `json`: any JSON value (models, event studies, reports), stored as canonical JSON.
 * - `file`: bytes with an extension (md, tex, csv, html, svg, png), published as-is.
 */
export type Artifact =
  /**
   * `arrow` (engine use): the table's Arrow IPC bytes, made by the worker thread that ran the step
   * (it has the encoder loaded); the store saves them as they are instead of encoding again.
   */
  | { type: 'table'; table: Table; arrow?: Uint8Array }
  | { type: 'json'; value: unknown }
  | { type: 'file'; ext: string; bytes: Uint8Array };

/** One named input of a step. */
export interface InputSpec {
  /** Artifact types accepted. */
  type: ArtifactType | ArtifactType[];
  /** Accepts a list of artifacts (`in: [a, b]`, or a foreach node). Default false. */
  many?: boolean;
  /** May be absent. Default false. */
  optional?: boolean;
  /** One line for docs and error messages. */
  doc?: string;
  /**
   * Artifact contracts accepted (opaque names such as `model`, `event-study`; see {@link OutputSpec}):
   * a producer output whose declared contract is not listed is a validation error at the `in:` line.
   * A function gets the node's params (e.g. `figure` accepts what its `type` draws). Default: any.
   */
  accepts?: string[] | ((params: any) => string[] | undefined);
}

/**
 * One named output: its artifact type, and optionally the contract its content follows (an opaque
 * name the engine compares with consumers' `accepts`; the study defines the names and their
 * TypeScript types in steps/common/contracts.ts).
 */
export interface OutputSpec {
  type: ArtifactType;
  contract?: string;
}

/** A random stream: a counter-based generator, bit-identical across runs, machines and `--jobs`. */
export interface Rng {
  /** Uniform double in [0, 1), 53 random bits. */
  uniform(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal draw. */
  normal(): number;
  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(xs: T[]): T[];
}

/** What a running step may use. All I/O, logging, progress and randomness go through here. */
export interface StepContext {
  /** The node id, e.g. `by_region[east]`. */
  readonly nodeId: string;
  /** The pipeline's root seed (top-level `seed`). */
  readonly seed: number;
  /** Directory of the pipeline YAML; relative paths in params resolve against it. */
  readonly baseDir: string;
  /** Absolute path of a param path (relative to the YAML). */
  resolvePath(p: string): string;
  /**
   * A deterministic random stream keyed by (pipeline seed, node id, stream).
   * Use `stream` = replicate index for per-replicate streams.
   */
  rng(stream?: string | number): Rng;
  /**
   * A string key identifying the stream (pipeline seed, node id, stream), for code that has to
   * rebuild the same generator elsewhere (e.g. in a worker thread) with `rngFromKey` of engine/rng.ts.
   */
  rngKey(stream?: string | number): string;
  /** Informational message (hidden with --json). */
  info(msg: string): void;
  /** A warning: shown, and recorded in the run history for this node. */
  warn(msg: string): void;
  /** Report progress on long work; the CLI draws a bar. Cheap to call often. */
  progress(done: number, total: number, label?: string): void;
  /**
   * Keep `text` (e.g. an external command's stdout/stderr) in the run history for this node, also
   * when the step then fails: `repro log N --node ID` prints it. The engine keeps its last 200
   * lines / 64 KB (with a note when cut, see history.ts `boundTranscript`); a later call replaces an
   * earlier one. Cached nodes record none. Optional: absent in minimal test contexts, so call it
   * as `ctx.transcript?.(text)`.
   */
  transcript?(text: string): void;
  /** The run's thread budget (`--jobs`), the most threads {@link map} can use at once (>= 1). */
  readonly threads: number;
  /**
   * Apply the step's task `fn` (a function in its definition's `tasks`) to every chunk, on the run's
   * worker pool within the thread budget, and return the results in chunk order — identical for any
   * `--jobs`. `shared` is sent once per worker. Without compiled workers the chunks run in this
   * thread. `opts.progress` labels a progress bar advanced per chunk.
   *
   * @example
   * const parts = await ctx.map('replicates', [[0, 250], [250, 500]], problem, { progress: 'draws' });
   */
  map<C, R>(fn: string, chunks: C[], shared?: unknown, opts?: { progress?: string }): Promise<R[]>;
  /**
   * The run this step is part of, as known when the step starts: every node with its status so far
   * (`ran`/`cached`/`failed`/`skipped`, or `pending`), duration and fingerprint. For reports. It is
   * NOT part of the fingerprint: a cached artifact shows the run that built it. Absent in worker threads.
   */
  readonly run?: RunView;
}

/** A read-only view of the current run (see {@link StepContext.run}). */
export interface RunView {
  pipeline: string;
  /** The YAML path relative to the current directory. */
  file: string;
  seed: number;
  /** Run number in the history, when known. */
  run?: number;
  /** ISO time the run started. */
  started: string;
  /** Milliseconds since the run started. */
  ms: number;
  jobs: number;
  versions: Record<string, string>;
  nodes: { id: string; kind: string; status: string; ms?: number; key?: string; reason?: string; inputs: string[]; publish?: string }[];
}

/**
 * A step kind: one file under steps/, registered in steps/index.ts.
 *
 * @example
 * export default defineStep({
 *   kind: 'estimate',
 *   doc: 'Linear regression with absorbed fixed effects',
 *   params: z.strictObject({ y: z.string().describe('outcome column') }),
 *   inputs: { panel: { type: 'table' } },
 *   outputs: { model: 'json' },
 *   async run(ctx, inputs, params) { ... return { model: { type: 'json', value } }; },
 * });
 */
export interface StepDef<P = any> {
  kind: string;
  /** One paragraph: what the step does. */
  doc: string;
  /** zod schema of `with:`; use z.strictObject so unknown keys are rejected; `.describe()` each field. */
  params: z.ZodType<P>;
  /**
   * Dot-paths of params that name files (relative to the YAML). The engine hashes those files by
   * content into the fingerprint, so editing the file reruns the node. E.g. ['path'], ['roster'].
   */
  pathParams?: string[] | ((params: P) => string[]);
  /** Named inputs. The first one is the primary input: `in: X` and `in: [X, Y]` bind to it. */
  inputs: Record<string, InputSpec>;
  /**
   * Inputs the user names (`in: {panel: x, roster: y}`) beyond those of {@link inputs}, for steps
   * whose inputs are not fixed (the `script` step): any other name binds with this spec.
   */
  anyInputs?: InputSpec;
  /**
   * Named outputs: their types, or {type, contract}. The first one is the default when a node is
   * referenced as `in: id`.
   */
  outputs: Record<string, ArtifactType | OutputSpec>;
  /**
   * The outputs of one node when they depend on its params (the `script` step declares them in
   * `with.outputs`); replaces {@link outputs} for validation (`in:` references) and for the check
   * of what the step returns. Gets the parsed params.
   */
  outputsFor?: (params: P) => Record<string, ArtifactType | OutputSpec>;
  /**
   * Extra fingerprint entries computed when the node is fingerprinted (not when the YAML is
   * validated): e.g. the output of `Rscript --version`, or the values of environment variables.
   * Synchronous and cheap: cache anything slow in `stat` (keyed by a file's stat, see statcache.ts).
   * Returned as `extra` in the fingerprint parts (name → string), and `why` names the entry that
   * changed. The registry entry must say `fingerprintHook` so that a session loads it (other step
   * modules are not loaded by a no-op run). `warn` reports a problem found on the way that will make
   * the node fail (e.g. its interpreter is not installed): `repro status` prints it (Session.preflight).
   */
  extraFingerprint?: (params: P, env: { baseDir: string; stat: StatCache | null; warn?: (msg: string) => void }) => Record<string, string>;
  /** CPU-heavy: the engine runs it in a worker thread of the run's pool (holding one `--jobs` token). */
  cpu?: boolean;
  /**
   * Functions {@link StepContext.map} can apply to chunks, on any thread: `(chunk, shared) => result`,
   * pure and deterministic (plain data in, plain data out).
   */
  tasks?: Record<string, (chunk: any, shared: any) => unknown>;
  /**
   * A lighter module with the same task functions as named exports (e.g. `'stats/placebo.ts'`,
   * relative to the code root like a registry entry's file): workers that only run chunks import it
   * instead of the step module (no zod, no step code: ~15 ms instead of ~70 ms per thread).
   * `tasks` must hold those very functions (test/engine/registry-tasks.test.ts checks it).
   */
  tasksModule?: string;
  run(
    ctx: StepContext,
    inputs: Record<string, Artifact | Artifact[] | undefined>,
    params: P,
  ): Promise<Record<string, Artifact>>;
}

/** Identity helper that gives type inference for a step definition. */
export function defineStep<P>(def: StepDef<P>): StepDef<P> {
  return def;
}

/** Steps throw StepError (defined with the other error classes in errors.ts). */
export { StepError } from './errors.js';

/** The artifact type of an output spec. */
export const outputType = (o: ArtifactType | OutputSpec): ArtifactType => (typeof o === 'string' ? o : o.type);
/** The outputs of a node of this step with these (parsed) params: `outputsFor(params)`, else `outputs`. */
export const outputsOf = (def: Pick<StepDef, 'outputs' | 'outputsFor'>, params: unknown): Record<string, ArtifactType | OutputSpec> =>
  def.outputsFor ? def.outputsFor(params) : def.outputs;
/** The contract of an output spec, if declared. */
export const outputContract = (o: ArtifactType | OutputSpec): string | undefined => (typeof o === 'string' ? undefined : o.contract);
/** The task `fn` of an imported module: a step definition (default export) or a tasks module (named exports). */
export function taskOfModule(mod: Record<string, unknown>, fn: string, url: string): (chunk: unknown, shared: unknown) => unknown {
  const def = mod.default as StepDef | undefined;
  if (def && typeof def.run === 'function') return taskOf(def, fn);
  const f = mod[fn];
  if (typeof f !== 'function') throw new Error(`${url} exports no task function "${fn}"`);
  return f as (chunk: unknown, shared: unknown) => unknown;
}

/** The task function `fn` of a step definition (what `ctx.map` applies to chunks), or an error naming the tasks there are. */
export function taskOf(def: Pick<StepDef, 'kind' | 'tasks'>, fn: string): (chunk: unknown, shared: unknown) => unknown {
  const f = def.tasks?.[fn];
  if (typeof f !== 'function') throw new Error(`step ${def.kind} has no task "${fn}" (its definition's tasks: ${Object.keys(def.tasks ?? {}).join(', ') || 'none'})`);
  return f;
}
