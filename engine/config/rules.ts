/**
 * Pass 3 of 3 (schema → normalize → rules): check the normalized nodes against the step kinds and
 * produce the {@link PipelineSpec}.
 *
 * Checks: known kind; params valid for the step's own zod schema (defaults applied; each zod
 * issue is reported at the YAML key/value it concerns, or at the `--set` argument that set it);
 * inputs declared by the step, bound to known outputs of the right artifact type and of a contract
 * the input accepts (`model`, `event-study`, … — opaque names to the engine), a list only for
 * `many` inputs, required inputs present; publish paths relative, inside the project, not empty
 * and not shared; no cycles (printed `a → b → c → a`). Nodes come out in a topological order,
 * ties broken by YAML order. `files` are the step's path params as written (relative to the YAML dir, or absolute).
 *
 * @example
 * const spec = rules(raw, nodes, defs, { file, baseDir });
 */
import path from 'node:path';
import { outputContract, outputType, type ArtifactType, type InputSpec, type OutputSpec, type StepDef } from '../types.js';
import type { InputRef, NodeSpec, PipelineSpec } from '../spec.js';
import { ConfigError, didYouMean, overrideError, throwIfAny } from './errors.js';
import { paramWhere, type NormNode } from './normalize.js';
import { overrideLabel } from './overrides.js';
import { topoSort } from '../graph.js';
import type { RawPipeline } from './schema.js';

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  expected?: string;
  input?: unknown;
}

/**
 * Validates nodes against step definitions and returns the spec; throws ConfigError(s), together
 * with `earlier` problems (from normalize) if any.
 */
export function rules(
  raw: RawPipeline,
  nodes: NormNode[],
  defs: ReadonlyMap<string, StepDef>,
  known: readonly string[],
  where: { file: string; baseDir: string; name: string },
  earlier: readonly ConfigError[] = [],
): PipelineSpec {
  const errors: ConfigError[] = [...earlier];
  const src = raw.src;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const specs = new Map<string, NodeSpec>();
  const publishers = new Map<string, string>();
  // parsed params by node id (for steps whose outputs depend on them: outputsFor)
  const parsedParams = new Map<string, unknown>();
  const paramsOf = (t: NormNode, d: StepDef): unknown => {
    if (!parsedParams.has(t.id)) {
      const r = d.params.safeParse(t.params);
      parsedParams.set(t.id, r.success ? r.data : undefined);
    }
    return parsedParams.get(t.id);
  };
  /** The declared outputs of node `t` (undefined when they depend on params that do not parse: reported at `t`). */
  const outputsOfNode = (t: NormNode, d: StepDef): Record<string, ArtifactType | OutputSpec> | undefined => {
    if (!d.outputsFor) return d.outputs;
    const p = paramsOf(t, d);
    return p === undefined ? undefined : d.outputsFor(p);
  };

  const pos = (n: NormNode) => src.pos(n.raw.keyNode);
  // Errors are reported once per YAML location even when several foreach expansions share it.
  const seen = new Set<string>();
  const push = (e: ConfigError) => {
    const k = `${e.file}:${e.line}:${e.col}:${e.message}`;
    if (!seen.has(k)) {
      seen.add(k);
      errors.push(e);
    }
  };

  for (const n of nodes) {
    if (n.kind === undefined) {
      push(src.error(n.raw.keyNode, `step "${n.baseId}" has no kind`, 'add `kind: ...`, or `extends: ID` to inherit one'));
      continue;
    }
    const def = defs.get(n.kind);
    if (!def) {
      push(src.error(n.kindNode, `unknown step kind "${n.kind}"`, didYouMean(n.kind, known, 'known kinds')));
      continue;
    }
    // Params.
    const parsed = def.params.safeParse(n.params);
    let params: Record<string, unknown> = {};
    if (!parsed.success) {
      for (const iss of parsed.error.issues as unknown as ZodIssueLike[]) for (const e of paramErrors(raw, n, def, iss)) push(e);
    } else {
      params = (parsed.data ?? {}) as Record<string, unknown>;
    }
    // Inputs.
    const inputNames = Object.keys(def.inputs);
    const primary = inputNames[0];
    const inputs: Record<string, InputRef | InputRef[]> = {};
    let misnamed = false;
    for (const entry of n.inputs) {
      const name = entry.name ?? primary;
      if (name === undefined) {
        if (def.anyInputs) push(src.error(entry.yaml, `the inputs of step kind "${n.kind}" need names`, 'name each input, e.g. `in: {panel: panel}`'));
        else push(src.error(entry.yaml, `step kind "${n.kind}" takes no inputs`, 'remove `in:`'));
        continue;
      }
      const spec = def.inputs[name] ?? (def.anyInputs && entry.name !== undefined ? def.anyInputs : undefined);
      if (!spec) {
        misnamed = true;
        push(src.error(entry.nameNode ?? entry.yaml, `step kind "${n.kind}" has no input "${name}"`, didYouMean(name, inputNames, 'its inputs')));
        continue;
      }
      if (name in inputs) {
        push(src.error(entry.nameNode ?? entry.yaml, `input "${name}" is bound twice`, 'bind each input once'));
        continue;
      }
      if (!spec.many && (entry.list || entry.refs.length > 1)) {
        const what = entry.refs[0]?.expandedFrom && !entry.list
          ? `"${entry.refs[0].expandedFrom}" stands for ${entry.refs.length} foreach nodes`
          : 'a list was given';
        push(
          src.error(entry.yaml, `input "${name}" of kind "${n.kind}" takes one artifact, but ${what}`, 'bind a single step id (e.g. `by_region[east]`), or use a step whose input accepts a list'),
        );
        continue;
      }
      const refs: InputRef[] = [];
      for (const r of entry.refs) {
        const target = byId.get(r.node)!;
        const tdef = target.kind !== undefined ? defs.get(target.kind) : undefined;
        const touts = tdef ? outputsOfNode(target, tdef) : undefined;
        if (!tdef || !touts) {
          refs.push({ node: r.node, output: r.output ?? '' });
          continue;
        }
        const outs = Object.keys(touts);
        const output = r.output ?? outs[0];
        if (output === undefined || !(output in touts)) {
          push(
            src.error(r.yaml, output === undefined ? `step "${r.node}" has no outputs` : `step "${r.node}" (kind "${target.kind}") has no output "${output}"`, didYouMean(output ?? '', outs, 'its outputs')),
          );
          continue;
        }
        const type = outputType(touts[output]!);
        const accepted: ArtifactType[] = Array.isArray(spec.type) ? spec.type : [spec.type];
        if (!accepted.includes(type)) {
          const others = outs.filter((o) => accepted.includes(outputType(touts[o]!)));
          push(
            src.error(r.yaml, `input "${name}" of kind "${n.kind}" takes ${accepted.join(' or ')}, but ${r.node}.${output} is ${type === 'json' ? 'a json' : `a ${type}`} artifact`, others.length ? `use ${others.map((o) => `${r.node}.${o}`).join(' or ')}` : `connect a step that produces a ${accepted.join(' or ')}`),
          );
          continue;
        }
        // Artifact contracts: opaque names the producer declares and the consumer accepts.
        const contracts = parsed.success ? acceptsOf(spec, params) : undefined;
        if (contracts) {
          const c = outputContract(touts[output]!);
          if (c === undefined || !contracts.includes(c)) {
            const others = outs.filter((o) => { const oc = outputContract(touts[o]!); return oc !== undefined && contracts.includes(oc); });
            push(
              src.error(
                r.yaml,
                `input "${name}" of kind "${n.kind}" accepts ${contracts.map((x) => `"${x}"`).join(' or ')} artifacts, but ${r.node}.${output} (kind "${target.kind}") is ${c === undefined ? 'not declared as any of them' : `a "${c}" artifact`}`,
                others.length ? `use ${others.map((o) => `${r.node}.${o}`).join(' or ')}` : `connect a step that produces ${contracts.map((x) => `"${x}"`).join(' or ')} (or change the params of ${n.baseId} so it takes what ${r.node} produces)`,
              ),
            );
            continue;
          }
        }
        refs.push({ node: r.node, output });
      }
      inputs[name] = spec.many ? refs : refs[0]!;
      if (!spec.many && refs.length === 0) delete inputs[name];
    }
    for (const [name, spec] of Object.entries(def.inputs)) {
      const bound = inputs[name];
      const empty = bound === undefined || (Array.isArray(bound) && bound.length === 0);
      const given = n.inputs.some((e) => (e.name ?? primary) === name);
      if (!spec.optional && empty && !given && !misnamed && !n.brokenInputs) {
        const hint = name === primary ? `add \`in: ID\` (or \`in: {${name}: ID}\`)` : `add \`${name}: ID\` under \`in:\``;
        push(src.error(n.inNode ?? n.raw.keyNode, `step "${n.baseId}" (kind "${n.kind}") is missing its input "${name}"`, hint));
      }
    }
    // Publish.
    let publish: string | undefined;
    if (n.publish !== undefined) {
      const p = n.publish.trim();
      const norm = path.posix.normalize(p.replace(/\\/g, '/')).replace(/\/+$/, '');
      if (p === '' || norm === '.' || norm === '') {
        push(src.error(n.publishNode, 'empty publish path', 'give a directory, e.g. `publish: results/table7`'));
      } else if (path.isAbsolute(p) || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('/') || p.startsWith('~')) {
        push(src.error(n.publishNode, `publish path "${n.publish}" is absolute`, 'give a path relative to the pipeline file, e.g. `publish: results/table7`'));
      } else if (norm === '..' || norm.startsWith('../')) {
        push(src.error(n.publishNode, `publish path "${n.publish}" leaves the project`, 'publish inside the project, e.g. `publish: results/table7`'));
      } else if (norm === 'artifacts' || norm.startsWith('artifacts/')) {
        // published files would land among the store's own files (history.json, objects/, …)
        push(src.error(n.publishNode, `publish path "${n.publish}" is inside the store (artifacts/)`, 'publish elsewhere, e.g. `publish: results/table7`'));
      } else if (norm === 'results/variants' || norm.startsWith('results/variants/')) {
        // variant runs publish there (run --variant NAME): the main run never writes into it
        push(src.error(n.publishNode, `publish path "${n.publish}" is inside results/variants/, where variant runs publish`, 'publish elsewhere, e.g. `publish: results/table7`'));
      } else {
        const other = publishers.get(norm);
        if (other !== undefined) {
          const hint = n.bindings ? 'put a foreach variable in it, e.g. `publish: results/by_region/${region}`' : 'give each step its own publish directory';
          push(src.error(n.publishNode, `publish path "${norm}" is also used by "${other}"`, hint));
        } else {
          publishers.set(norm, n.id);
          publish = norm;
        }
      }
    }
    // Files named by path params.
    const files: string[] = [];
    // pathParams: dot paths of params naming files, or a function of the params returning the files
    const named: unknown[] = [];
    if (typeof def.pathParams === 'function') {
      if (parsed.success) named.push(...def.pathParams(params));
    } else {
      for (const pp of def.pathParams ?? []) {
        let v: unknown = params;
        for (const k of pp.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
        named.push(...(Array.isArray(v) ? v : [v]));
      }
    }
    // as written (normalized): relative to the YAML folder, or absolute. Not resolved here, so the
    // fingerprint does not change when the project folder moves (see Fingerprinter.files).
    for (const f of named) if (typeof f === 'string' && f !== '') files.push(path.isAbsolute(f) ? path.normalize(f) : relPosixNorm(f));
    const p = pos(n);
    const spec: NodeSpec = {
      id: n.id,
      baseId: n.baseId,
      kind: n.kind,
      params,
      inputs,
      files: [...new Set(files)],
      pos: { line: p.line, col: p.col },
      ...(n.bindings ? { bindings: n.bindings } : {}),
      ...(publish !== undefined ? { publish } : {}),
    };
    specs.set(n.id, spec);
  }

  // Topological order (Kahn), ties by YAML order; a cycle is reported with its path.
  const order = topoOrder(nodes, errors, raw);
  throwIfAny(errors);
  return {
    file: where.file,
    baseDir: where.baseDir,
    name: where.name,
    seed: raw.seed ?? 0,
    ...(raw.cache ? { cache: raw.cache } : {}),
    nodes: order.map((n) => specs.get(n.id)!),
  };
}

/** The contracts an input accepts for these params (undefined = any). */
function acceptsOf(spec: InputSpec, params: Record<string, unknown>): string[] | undefined {
  if (spec.accepts === undefined) return undefined;
  return typeof spec.accepts === 'function' ? spec.accepts(params) : spec.accepts;
}

function topoOrder(nodes: NormNode[], errors: ConfigError[], raw: RawPipeline): NormNode[] {
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const deps = nodes.map((n) => {
    const ds: number[] = [];
    for (const e of n.inputs) for (const r of e.refs) ds.push(index.get(r.node)!);
    return ds;
  });
  const { order, cycle } = topoSort(deps);
  if (cycle) {
    // Report at the first cycle node (YAML order), pointing at its reference to its predecessor.
    const ids = cycle.map((i) => nodes[i]!.id);
    const at = nodes[cycle[0]!]!;
    const pred = nodes[cycle[cycle.length - 1]!]!.id;
    const ref = at.inputs.flatMap((e) => e.refs).find((r) => r.node === pred);
    errors.push(
      raw.src.error(ref?.yaml ?? at.inNode ?? at.raw.keyNode, `cycle: ${[...ids, ids[0]].join(' → ')}`, 'a step cannot depend on its own output; remove one of these inputs'),
    );
  }
  return order.map((i) => nodes[i]!);
}

function paramErrors(raw: RawPipeline, n: NormNode, def: StepDef, iss: ZodIssueLike): ConfigError[] {
  const src = raw.src;
  const at = (p: PropertyKey[], part: 'key' | 'value', message: string, hint?: string): ConfigError => {
    const w = paramWhere(raw, n, p, part);
    if (w.override) return overrideError(overrideLabel(w.override), message, hint);
    return src.error(w.node, message, hint);
  };
  const label = (p: readonly PropertyKey[]) => p.map(String).join('.');
  if (iss.code === 'unrecognized_keys' && iss.keys) {
    const known = shapeKeys(def.params, iss.path);
    return iss.keys.map((k) =>
      at(
        [...iss.path, k],
        'key',
        `unknown param "${label([...iss.path, k])}" for kind "${n.kind}"`,
        known ? didYouMean(k, known, `params${iss.path.length ? ` of ${label(iss.path)}` : ''}`) : 'remove it',
      ),
    );
  }
  const msg = iss.message.replace(/^Invalid input: /, '');
  const value = getPath(n.params, iss.path);
  if (iss.path.length === 0) return [at([], 'value', `params of kind "${n.kind}": ${msg}`)];
  if (iss.code === 'invalid_type' && value === undefined) {
    return [
      at(iss.path.slice(0, -1), 'key', `missing required param "${label(iss.path)}" for kind "${n.kind}"${iss.expected ? ` (expected ${iss.expected})` : ''}`, `add \`${String(iss.path[iss.path.length - 1])}: ...\` under \`with:\``),
    ];
  }
  const hint = describeParam(def.params, iss.path);
  return [at(iss.path, 'value', `param "${label(iss.path)}": ${msg}`, hint)];
}

function getPath(v: unknown, p: readonly PropertyKey[]): unknown {
  let cur = v;
  for (const k of p) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k as string];
  }
  return cur;
}

/** The zod schema at a param path (through objects, optionals, defaults), when it can be found. */
function schemaAt(schema: unknown, p: readonly PropertyKey[]): unknown {
  let cur: any = schema;
  for (const k of p) {
    cur = unwrap(cur);
    const shape = cur?.shape ?? cur?._zod?.def?.shape;
    if (shape && typeof k === 'string') cur = shape[k];
    else if (cur?._zod?.def?.type === 'array' && typeof k === 'number') cur = cur._zod.def.element;
    else if (cur?._zod?.def?.type === 'record') cur = cur._zod.def.valueType;
    else return undefined;
  }
  return cur;
}

function unwrap(s: any): any {
  let cur = s;
  for (let i = 0; i < 10 && cur?._zod?.def; i++) {
    const t = cur._zod.def.type;
    if ((t === 'optional' || t === 'default' || t === 'nullable' || t === 'prefault' || t === 'readonly' || t === 'catch') && cur._zod.def.innerType) cur = cur._zod.def.innerType;
    else if (t === 'pipe' && cur._zod.def.in) cur = cur._zod.def.in;
    else break;
  }
  return cur;
}

function shapeKeys(schema: unknown, p: readonly PropertyKey[]): string[] | undefined {
  const s = unwrap(schemaAt(schema, p));
  const shape = s?.shape ?? s?._zod?.def?.shape;
  return shape ? Object.keys(shape) : undefined;
}

function describeParam(schema: unknown, p: readonly PropertyKey[]): string | undefined {
  const s = schemaAt(schema, p) as { description?: string } | undefined;
  const d = s?.description ?? (unwrap(s) as { description?: string } | undefined)?.description;
  return d ? `${p.map(String).join('.')}: ${d}` : undefined;
}

/** A relative path normalized with forward slashes (`./data//x.csv` → `data/x.csv`). */
function relPosixNorm(f: string): string {
  return path.posix.normalize(f.split(path.sep).join('/'));
}
