/**
 * Pass 1 of 3 (schema → normalize → rules): parse the YAML text with positions and check the
 * document's shape against a zod schema (top-level `name`, `seed`, `steps`; per step `kind`, `in`,
 * `with`, `extends`, `foreach`, `publish`; unknown keys rejected). Produces the steps in YAML
 * order with their YAML nodes kept, so later passes can point at the offending key or value.
 *
 * @example
 * const { doc, src } = parseYaml('/p/pipeline.yaml', text);
 * const raw = checkSchema(doc, src);   // throws ConfigError(s) with file:line:col
 */
import { z } from 'zod';
import { LineIndex, YamlLimitError, YamlSyntaxError, parseYamlTree, type YMap, type YNode, type YamlTree } from './yaml-tree.js';
import { ConfigError, didYouMean, throwIfAny } from './errors.js';
import { Source, locate } from './source.js';
import { unsafeKeyMessage } from '../safe-keys.js';
import { foreachProblems } from './foreach.js';

/** Step ids: a letter or `_`, then letters, digits, `_` or `-` (no dots or brackets: those address outputs and foreach expansions). */
export const STEP_ID = /^[A-Za-z_][A-Za-z0-9_-]*$/;

const Ref = z.string().min(1).describe('`ID` (its first output), `ID.OUTPUT`, or a foreach id (all its expansions)');
const RefOrList = z.union([Ref, z.array(Ref)]);
const IN_ERROR = 'expected `in` to be a step id, a list of ids, or a map {input: id | [ids]}';

/** The zod schema of one step (used for validation and for pipeline.schema.json). */
export const stepSchema = z
  .strictObject({
    kind: z.string({ error: 'expected a step kind (a string)' }).min(1).optional().describe('Step kind (see steps/index.ts)'),
    in: z
      .union([Ref, z.array(Ref), z.record(z.string(), RefOrList, { error: IN_ERROR })], { error: IN_ERROR })
      .optional()
      .describe('Inputs: `in: X` / `in: [X, Y]` bind to the step\'s first input; `in: {name: X | [X, Y]}` names them'),
    with: z
      .record(z.string(), z.unknown(), { error: 'expected `with` to be a map of params' })
      .nullable()
      .optional()
      .describe('Params, validated by the step kind\'s own schema; deep-merged over the `extends` parent\'s'),
    extends: z
      .string({ error: 'expected `extends` to be a step id' })
      .regex(STEP_ID, { error: 'expected `extends` to be a step id' })
      .optional()
      .describe('Inherit kind, in, with (deep-merged), publish and foreach from another step'),
    foreach: z
      .record(
        z.string().regex(STEP_ID, { error: 'foreach variable names are letters, digits, _ and -' }),
        z
          .union([z.array(z.unknown()), z.record(z.string(), z.unknown()), z.string()], {
            error: 'foreach over a non-list: give a list of values, e.g. region: [east, west]',
          })
          .describe('A variable: a list of values (any YAML) or a map {label: value}; `zip: {var: [...], ...}` zips variables; `name: "${var}-…"` is the id template'),
        { error: 'expected `foreach` to be a map {variable: [values...]}' },
      )
      .superRefine((fe, ctx) => {
        for (const p of foreachProblems(fe)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
      })
      .optional()
      .describe(
        'One node per value (several variables, or `zip:` groups: the cartesian product); ids `base[v]` / `base[v1,v2]` (a list or map value: its position `0`, `1`…; a labelled value `{label: value}`: its label; `name:` template: `base[NAME]`); `${var}` is substituted in `with`, `in` and `publish`',
      ),
    publish: z
      .string({ error: 'expected `publish` to be a relative directory path' })
      .optional()
      .describe('Directory (relative to the YAML) to copy the outputs to after a successful run'),
  })
  .describe('A pipeline step');

/** Default of the top-level `foreach_limit`: nodes all foreach expansions of a pipeline may add up to. */
export const DEFAULT_FOREACH_LIMIT = 10_000;

/** The zod schema of the whole YAML document. */
export const pipelineSchema = z
  .strictObject({
    name: z.string({ error: 'expected `name` to be a string' }).min(1).optional().describe('Pipeline name (default: the file name)'),
    seed: z
      .int({ error: 'expected `seed` to be an integer' })
      .min(0, { error: 'expected `seed` to be a non-negative integer' })
      .optional()
      .describe('Root of every random stream (default 0)'),
    foreach_limit: z
      .int({ error: 'expected `foreach_limit` to be an integer' })
      .min(1, { error: 'expected `foreach_limit` to be a positive integer' })
      .optional()
      .describe(`Most nodes all foreach steps may expand to together (default ${DEFAULT_FOREACH_LIMIT}); a larger product is an error at its foreach`),
    cache: z
      .strictObject({
        remote: z
          .string({ error: 'expected `cache.remote` to be a URL' })
          .regex(/^https?:\/\/[^\s/]+/, { error: 'expected `cache.remote` to be an http:// or https:// URL, e.g. https://cache.example.org/repro' })
          .optional()
          .describe('Remote cache (Bazel HTTP cache protocol: GET/PUT/HEAD of /cas/<sha256> and /ac/<key> under this URL); --remote-cache and REPRO_REMOTE_CACHE take precedence; credentials: REPRO_REMOTE_CACHE_HEADER'),
        upload: z.boolean({ error: 'expected `cache.upload` to be true or false' }).optional().describe('Upload the outputs of nodes that ran (default true; --remote-upload=false for read-only users)'),
      })
      .optional()
      .describe('Cache settings: a shared remote cache'),
    steps: z
      .record(z.string().regex(STEP_ID), stepSchema, { error: 'expected `steps` to be a map {id: step}' })
      .describe('The steps, by id'),
  })
  .describe('A repro pipeline');

export type StepYaml = z.infer<typeof stepSchema>;

/** One step as written in the YAML, with its nodes for positions. */
export interface RawStep {
  id: string;
  /** Position in the YAML `steps` map (0-based). */
  index: number;
  /** The step's key node (`baseline:`). */
  keyNode: YNode;
  /** The step's map node (null for an empty step). */
  node: YMap | null;
  data: StepYaml;
}

export interface RawPipeline {
  src: Source;
  doc: YamlTree;
  name?: string;
  seed?: number;
  /** Top-level `foreach_limit` (default {@link DEFAULT_FOREACH_LIMIT}). */
  foreachLimit: number;
  /** Top-level `cache:` (remote cache settings). */
  cache?: { remote?: string; upload?: boolean };
  steps: RawStep[];
  byId: Map<string, RawStep>;
}

/** Parses YAML text with positions; YAML syntax errors and repeated keys become ConfigErrors. */
export function parseYaml(file: string, text: string): { doc: YamlTree; src: Source } {
  const lines = new LineIndex(text);
  const src = new Source(file, text, lines);
  let doc: YamlTree;
  try {
    doc = parseYamlTree(text, lines);
  } catch (e) {
    if (e instanceof YamlLimitError) throw src.errorAt(e.offset, e.end, e.reason, e.hint);
    if (!(e instanceof YamlSyntaxError)) throw e;
    throw src.errorAt(e.offset, e.offset + 1, `YAML syntax: ${e.reason}`, syntaxHint(e.reason));
  }
  const errors: ConfigError[] = [];
  for (const k of doc.badKeys) {
    errors.push(
      k.key === '<<'
        ? src.error(k, 'YAML merge keys (`<<`) are not supported', 'use `extends: ID` to inherit a step')
        : src.error(k, unsafeKeyMessage(k.key!, 'name (step id, param, derive/where key, foreach variable)'), 'rename it (a data column of that name: rename it in the source file)'),
    );
  }
  for (const d of doc.duplicates) {
    const line = src.pos(d.first).line;
    errors.push(
      d.path.length === 1 && d.path[0] === 'steps'
        ? src.error(d.key, `duplicate step id "${d.name}" (first defined on line ${line})`, 'give each step a unique id')
        : src.error(d.key, `duplicate key "${d.name}" (first on line ${line})`, 'remove or rename one of them'),
    );
  }
  throwIfAny(errors);
  return { doc, src };
}

/** Checks the document against {@link pipelineSchema}; returns the steps with their nodes. */
export function checkSchema(doc: YamlTree, src: Source): RawPipeline {
  const root = doc.root;
  const js = doc.value;
  if (js === null || js === undefined || typeof js !== 'object' || Array.isArray(js)) {
    throw src.error(root, 'expected the pipeline to be a map with `steps:`', 'start with `name: ...`, `seed: ...` and `steps:`');
  }
  const parsed = pipelineSchema.safeParse(js);
  if (!parsed.success) {
    const errors: ConfigError[] = [];
    for (const iss of parsed.error.issues) errors.push(...issueErrors(src, root, iss));
    throwIfAny(errors);
  }
  const data = parsed.data!;
  const deref = (n: YNode | undefined): YNode | undefined => (n?.kind === 'alias' ? n.target : n);
  const stepsNode = deref(locate(root, ['steps']).value);
  const steps: RawStep[] = [];
  const byId = new Map<string, RawStep>();
  if (stepsNode?.kind === 'map') {
    for (const it of stepsNode.items) {
      if (it.key.kind !== 'scalar' || it.key.key === undefined) continue;
      const id = it.key.key;
      const stepData = data.steps[id];
      if (!stepData || byId.has(id)) continue;
      const value = deref(it.value);
      const raw: RawStep = {
        id,
        index: steps.length,
        keyNode: it.key,
        node: value?.kind === 'map' ? value : null,
        data: stepData,
      };
      steps.push(raw);
      byId.set(id, raw);
    }
  }
  if (steps.length === 0) {
    throw src.error(locate(root, ['steps']).key ?? root, 'the pipeline has no steps', 'add steps under `steps:`');
  }
  return {
    src,
    doc,
    ...(data.name !== undefined ? { name: data.name } : {}),
    ...(data.seed !== undefined ? { seed: data.seed } : {}),
    foreachLimit: data.foreach_limit ?? DEFAULT_FOREACH_LIMIT,
    ...(data.cache ? { cache: data.cache } : {}),
    steps,
    byId,
  };
}

const STEP_KEYS = ['kind', 'in', 'with', 'extends', 'foreach', 'publish'];
const TOP_KEYS = ['name', 'seed', 'foreach_limit', 'cache', 'steps'];

function issueErrors(src: Source, root: YNode | undefined, iss: z.core.$ZodIssue): ConfigError[] {
  const p = iss.path;
  if (iss.code === 'unrecognized_keys') {
    return iss.keys.map((k) => {
      const at = locate(root, [...p, k]);
      if (k === '<<') return src.error(at.key, 'YAML merge keys (`<<`) are not supported', 'use `extends: ID` to inherit a step');
      if (p.length === 0) return src.error(at.key, `unknown top-level key "${k}"`, didYouMean(k, TOP_KEYS, 'allowed keys'));
      if (p.length === 2 && p[0] === 'steps') {
        return src.error(at.key, `unknown key "${k}" in step "${String(p[1])}"`, didYouMean(k, STEP_KEYS, 'a step has'));
      }
      if (p.length === 1 && p[0] === 'cache') return src.error(at.key, `unknown key "${k}" in cache`, didYouMean(k, ['remote', 'upload'], 'cache has'));
      return src.error(at.key, `unknown key "${k}"`, 'remove it');
    });
  }
  const at = locate(root, p);
  if (iss.code === 'invalid_key' && p.length === 2 && p[0] === 'steps') {
    return [
      src.error(at.key, `invalid step id "${String(p[1])}"`, 'ids start with a letter or _ and contain only letters, digits, _ and -'),
    ];
  }
  const complete = at.depth === p.length;
  const where = complete ? (iss.code === 'invalid_key' ? at.key : (at.value ?? at.key)) : (at.key ?? at.value ?? root);
  let msg = iss.message.replace(/^Invalid input: /, '');
  if (!complete && iss.code === 'invalid_type') msg = `missing \`${String(p[p.length - 1])}:\``;
  // zod's own messages ("Invalid input: ...") get the field path; our custom ones name the field already.
  const custom = !/^(Invalid|Too|Unrecognized)/.test(iss.message);
  const field = custom ? '' : `${(p[0] === 'steps' ? p.slice(2) : p).join('.')}: `;
  const label = p.length >= 2 && p[0] === 'steps' ? `step "${String(p[1])}": ${p.length > 2 ? field : ''}` : p.length <= 1 || custom ? '' : field;
  const hint =
    p[0] === 'steps' && p.length === 1
      ? 'write `steps:` followed by indented `id:` entries'
      : p[p.length - 1] === 'in'
        ? 'e.g. `in: panel`, `in: [a, b]` or `in: {panel: ingest}`'
        : undefined;
  return [src.error(where, lowerFirst(`${label}${msg}`), hint)];
}

function syntaxHint(reason: string): string {
  if (/deficient indentation|unexpected end of the stream|end of the stream/.test(reason)) {
    return 'is a quote, bracket or brace above this point left open?';
  }
  if (/bad indentation/.test(reason)) return 'keys of one map must start at the same column (indent with spaces)';
  if (/missed comma/.test(reason)) return 'separate the items of a [list] or {map} with commas, and close it';
  if (/tab/i.test(reason)) return 'indent with spaces, not tabs';
  return 'fix the YAML syntax (indentation, quotes, `:` after keys)';
}

function lowerFirst(s: string): string {
  return s.length > 0 && /^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s;
}
