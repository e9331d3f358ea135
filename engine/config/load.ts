/**
 * Loading a pipeline: YAML → (schema.ts → normalize.ts → rules.ts) → {@link PipelineSpec}.
 *
 * Every invalid input throws a {@link ConfigError} (a {@link ConfigErrors} when there are several;
 * it is also a ConfigError describing the first) with `file:line:col`; print `err.format()` and
 * exit 2. Only the step modules of kinds the pipeline uses are loaded (through the registry), and
 * the passes themselves (with js-yaml and zod) are imported only when a pipeline is validated, so
 * importing this module for `parseOverride` or `ConfigError` is cheap.
 *
 * Semantics in short (details in normalize.ts and rules.ts):
 * - top level: `name` (default: file name without .yaml), `seed` (integer >= 0, default 0), `steps`.
 * - `extends`: kind, in, publish, foreach inherited; `with` deep-merged (maps merge, lists and
 *   scalars replace, `null` removes an inherited param).
 * - `foreach: {v: [..]}` → ids `base[v]` (`base[v1,v2]` for several variables, cartesian product;
 *   list/map values → their position, `{label: value}` → the label; `zip:` groups, `name:` template);
 *   `${v}` substituted in `with`, `in`, `publish`; a foreach base id in `in` = all its expansions.
 * - `in: X | [X, Y] | {name: X | [X, Y]}`; X = `ID` (first output) or `ID.OUTPUT`.
 * - `--set ID.PARAM=VALUE` (parseOverride) applied last; ID may be a foreach base (all expansions).
 * - `publish`: relative to the YAML, inside its folder, unique across nodes.
 * - NodeSpec.params are the step schema's parsed output (defaults applied); NodeSpec.files the
 *   step's pathParams as written, relative to the YAML folder or absolute (missing files are not config errors).
 *
 * @example
 * import { registry } from '../../steps/index.js';
 * const spec = await loadPipeline('pipeline.yaml', { registry, overrides: [parseOverride('baseline.cluster=year')] });
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { StepDef } from '../types.js';
import type { ParamOverride, PipelineSpec } from '../spec.js';
import { ConfigError } from './errors.js';

export { ConfigError, ConfigErrors } from './errors.js';
export { parseOverride } from './overrides.js';

/** What loadPipeline needs from the registry (steps/index.ts). */
export type Registry = Record<string, { file: string; load(): Promise<StepDef> }>;

export interface LoadOptions {
  registry: Registry;
  /** `--set` overrides, applied after extends/foreach (see parseOverride). */
  overrides?: ParamOverride[];
}

/** Reads, validates and normalizes a pipeline YAML file. */
export async function loadPipeline(file: string, opts: LoadOptions): Promise<PipelineSpec> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError({
      file: abs,
      line: 0,
      col: 0,
      message: code === 'ENOENT' ? 'pipeline file not found' : `cannot read the pipeline: ${(e as Error).message}`,
      hint: 'give the path of a pipeline YAML (default ./pipeline.yaml)',
    });
  }
  return parsePipeline(text, abs, opts);
}

/** Like {@link loadPipeline}, for YAML text already in memory (`file` is used for messages and paths). */
export async function parsePipeline(text: string, file: string, opts: LoadOptions): Promise<PipelineSpec> {
  const abs = path.resolve(file);
  // The passes (and with them `yaml` and `zod`) are loaded only when a pipeline is validated.
  const [{ checkSchema, parseYaml }, { normalize }, { rules }] = await Promise.all([
    import('./schema.js'),
    import('./normalize.js'),
    import('./rules.js'),
  ]);
  const { doc, src } = parseYaml(abs, text);
  const raw = checkSchema(doc, src);
  const earlier: ConfigError[] = [];
  const nodes = normalize(raw, opts.overrides ?? [], earlier);
  const kinds = [...new Set(nodes.map((n) => n.kind).filter((k): k is string => k !== undefined && Object.hasOwn(opts.registry, k)))];
  const loaded = await Promise.all(
    kinds.map(async (k) => {
      const entry = opts.registry[k]!;
      try {
        return [k, await entry.load()] as const;
      } catch (e) {
        throw new Error(`loading step kind "${k}" from ${entry.file} failed: ${(e as Error).message}`, { cause: e });
      }
    }),
  );
  const defs = new Map<string, StepDef>(loaded);
  return rules(raw, nodes, defs, Object.keys(opts.registry), {
    file: abs,
    baseDir: path.dirname(abs),
    name: raw.name ?? path.basename(abs).replace(/\.ya?ml$/i, ''),
  }, earlier);
}
