/**
 * Pass 2 of 3 (schema → normalize → rules): turn the YAML steps into concrete nodes.
 *
 * - `extends: P` inherits P's `kind`, `in`, `publish` and `foreach` unless the child sets them, and
 *   deep-merges the child's `with` over P's (maps merge key by key; lists and scalars replace; a
 *   `null` value removes the inherited param so the step's default applies). Chains are followed;
 *   a missing parent or a cycle is an error.
 * - `foreach: {var: [values...]}` makes one node per value, id `base[value]`; several variables
 *   give the cartesian product (first variable outermost), id `base[v1,v2]`. Values may be lists
 *   and maps (id part: the position), or labelled `{label: value}` (id part: the label); `zip:`
 *   pairs variables, `name:` is an id template (foreach.ts). `${var}` is substituted
 *   in every string of `with`, `in` and `publish`; a string that is exactly `${var}` takes the
 *   value itself (keeping its type; a list or map can only be used so). An unknown `${name}` in a
 *   foreach step is an error.
 * - `in` forms: `in: X` and `in: [X, Y]` bind to the step's first input, `in: {name: X | [X, Y]}`
 *   names inputs. A reference is `ID` (its first output), `ID.OUTPUT`, `base[v]`, or a foreach
 *   base id, which stands for all its expansions in order. Unknown ids are errors.
 * - `--set` overrides are applied last (see overrides.ts), to the node only; with `--inherit`
 *   (ParamOverride.inherit) as an edit of that step's `with` would be: they also reach the steps
 *   that `extends` it (directly or not) unless that step, or one in between, sets the param itself.
 *   An override of one expansion (`m[east]`) reaches only it.
 *
 * @example
 * const nodes = normalize(raw, [parseOverride('baseline.cluster=year')]);
 */
import type { YNode as Node } from './yaml-tree.js';
import type { ParamOverride } from '../spec.js';
import { ConfigError, didYouMean, overrideError, throwIfAny } from './errors.js';
import { locate } from './source.js';
import { applyOverride, isPlainObject, overrideLabel } from './overrides.js';
import type { RawPipeline, RawStep } from './schema.js';
import { NAME_TEXT, combos, comboId, describeDims, expandedSize, planForeach, type Combo } from './foreach.js';
import { MAX_ALIAS_EXPANSION } from './yaml-tree.js';

/** One reference in `in`, after substitution and foreach expansion. */
export interface RefItem {
  node: string;
  /** Output name when written as `ID.OUTPUT`; absent means the target's first output. */
  output?: string;
  /** The reference as written (after substitution). */
  text: string;
  /** The YAML node of the reference. */
  yaml: Node | undefined;
  /** Set when the reference was a foreach base id standing for several nodes. */
  expandedFrom?: string;
}

/** One `in` binding: to the primary input (name undefined) or a named one. */
export interface InputEntry {
  name?: string;
  nameNode?: Node;
  /** Written as a list (`[X, Y]`). */
  list: boolean;
  refs: RefItem[];
  yaml: Node | undefined;
}

export interface NormNode {
  id: string;
  baseId: string;
  /** Position in the expanded YAML order (for topological tie-breaking). */
  order: number;
  raw: RawStep;
  bindings?: Record<string, unknown>;
  kind?: string;
  kindNode?: Node;
  /** Params after extends, substitution and overrides; not yet validated. */
  params: Record<string, unknown>;
  /** The `with:` entries that contributed, child first (key and value nodes), for positions. */
  withChain: { key: Node; value: Node | undefined }[];
  /** Overrides applied to this node, in order. */
  overrides: ParamOverride[];
  inputs: InputEntry[];
  inNode?: Node;
  /** Some reference in `in` was invalid (already reported): do not report missing inputs. */
  brokenInputs?: boolean;
  publish?: string;
  publishNode?: Node;
}

interface Field<T> {
  value: T;
  node: Node | undefined;
  keyNode: Node | undefined;
}

interface Resolved {
  kind?: Field<string>;
  in?: Field<unknown>;
  publish?: Field<string>;
  foreach?: Field<Record<string, unknown>>;
  with: Record<string, unknown>;
  withChain: { key: Node; value: Node | undefined }[];
}

/**
 * Normalizes the steps. Problems are pushed to `errors` when given (the nodes that could be built
 * are still returned, so that the rules pass can report its own problems too), else thrown.
 */
export function normalize(raw: RawPipeline, overrides: readonly ParamOverride[] = [], collect?: ConfigError[]): NormNode[] {
  const errors: ConfigError[] = collect ?? [];
  let current: NormNode | undefined;
  const resolved = resolveExtends(raw, errors);

  // Expand foreach.
  const nodes: NormNode[] = [];
  const expansions = new Map<string, string[]>(); // foreach base id → expansion ids
  const inRaw = new Map<NormNode, unknown>();
  let expanded = 0; // nodes from foreach so far
  for (const step of raw.steps) {
    const r = resolved.get(step.id);
    if (!r) continue;
    const plan = r.foreach ? planForeach(r.foreach.value) : undefined;
    if (plan) {
      // bound the expansion before building it (100 × 100 × 100 took minutes and gigabytes)
      const count = plan.count;
      const f = r.foreach!;
      const inherited = step.data.foreach === undefined;
      const at = inherited ? (locate(step.node, ['extends']).value ?? step.keyNode) : (f.keyNode ?? f.node);
      const what = `foreach${inherited ? ' (inherited through extends)' : ''} expands step "${step.id}"`;
      if (expanded + count > raw.foreachLimit) {
        errors.push(
          raw.src.error(
            at,
            `${what} to ${count.toLocaleString('en-US')} nodes (${describeDims(plan)})` +
              `${expanded > 0 ? `, after ${expanded.toLocaleString('en-US')} from earlier foreach steps` : ''}; the limit is ${raw.foreachLimit.toLocaleString('en-US')} nodes`,
            'use fewer values, or raise the limit with a top-level `foreach_limit: N` if you really mean to run that many nodes',
          ),
        );
        expansions.set(step.id, []);
        continue;
      }
      // structured values are copied into every expansion they bind: bound that like aliases
      const size = expandedSize(plan, MAX_ALIAS_EXPANSION);
      if (size > MAX_ALIAS_EXPANSION) {
        errors.push(
          raw.src.error(
            at,
            `${what} to ${count.toLocaleString('en-US')} nodes whose foreach values add more than ${MAX_ALIAS_EXPANSION.toLocaleString('en-US')} YAML nodes to their params`,
            'use fewer or smaller values (a long list is better a data file the step reads)',
          ),
        );
        expansions.set(step.id, []);
        continue;
      }
      expanded += count;
    }
    const all: (Combo | undefined)[] = plan ? combos(plan) : [undefined];
    const ids = new Map<string, Combo>();
    if (plan) expansions.set(step.id, []);
    for (const c of all) {
      const b = c?.values;
      const id = c ? comboId(step.id, plan!, c) : step.id;
      if (c && plan?.name !== undefined) {
        const nameAt = locate(r.foreach!.node, ['name']).value ?? r.foreach!.node;
        const text = id.slice(step.id.length + 1, -1);
        if (!NAME_TEXT.test(text)) {
          errors.push(raw.src.error(nameAt, `foreach name "${plan.name}" gives "${text}", which cannot be part of an id (${bindingText(c)})`, 'use labelled values ({label: value}) or variables whose values are letters, digits, _ . + -'));
          continue;
        }
      }
      const prev = ids.get(id);
      if (prev && c) {
        if (plan?.name !== undefined) {
          const nameAt = locate(r.foreach!.node, ['name']).value ?? r.foreach!.node;
          const differ = plan.varNames.filter((v) => prev.parts[v] !== c.parts[v]);
          errors.push(
            raw.src.error(
              nameAt,
              `foreach name "${plan.name}" gives the id "${id}" twice (${bindingText(prev)} and ${bindingText(c)})`,
              `put a variable that tells them apart in the name, e.g. ${differ.map((v) => `\${${v}}`).join(' or ')}`,
            ),
          );
        } else {
          // a scalar's part is itself, a list's or map's its position: `[1, [x]]` gives 1 twice
          const hint = plan!.dims.some((d) => d.vars.some((v) => v.values.some((x) => typeof x === 'object' && x !== null)))
            ? 'remove the repeated value, or give the values labels ({label: value}) or a `name:` template'
            : 'remove the repeated value';
          errors.push(raw.src.error(r.foreach?.node, `foreach gives the id "${id}" twice`, hint));
        }
        continue;
      }
      if (c) ids.set(id, c);
      const sub = (v: unknown, where: () => Node | undefined): unknown =>
        b ? substitute(v, b, (name, structured) => errors.push(unknownVar(raw, name, b, where(), structured))) : v;
      const n: NormNode = {
        id,
        baseId: step.id,
        order: nodes.length,
        raw: step,
        ...(b ? { bindings: b } : {}),
        ...(r.kind ? { kind: r.kind.value, kindNode: r.kind.node ?? r.kind.keyNode } : {}),
        params: {},
        withChain: r.withChain,
        overrides: [],
        inputs: [],
        ...(r.in?.node ? { inNode: r.in.node } : {}),
      };
      if (b) {
        const unknownAt: [PropertyKey[], boolean][] = [];
        n.params = substituteTracked(r.with, b, [], unknownAt) as Record<string, unknown>;
        for (const [p, structured] of unknownAt) {
          const name = String(p.pop());
          errors.push(unknownVar(raw, name, b, paramWhere(raw, n, p).node, structured));
        }
      } else n.params = r.with;
      if (r.in) inRaw.set(n, sub(r.in.value, () => r.in?.node));
      if (r.publish) {
        const pv = sub(r.publish.value, () => r.publish?.node);
        n.publish = typeof pv === 'string' ? pv : String(pv);
        if (r.publish.node) n.publishNode = r.publish.node;
      }
      nodes.push(n);
      if (b) expansions.get(step.id)!.push(id);
    }
  }

  // Resolve `in` references.
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const allIds = [...byId.keys(), ...expansions.keys()];
  const resolveRef = (text: unknown, yaml: Node | undefined): RefItem[] => {
    const refs = resolveRefInner(text, yaml);
    if (refs.length === 0 && current) current.brokenInputs = true;
    return refs;
  };
  const resolveRefInner = (text: unknown, yaml: Node | undefined): RefItem[] => {
    if (typeof text !== 'string') {
      errors.push(raw.src.error(yaml, `expected a step id, got ${JSON.stringify(text)}`, 'write `ID` or `ID.OUTPUT`'));
      return [];
    }
    const m = /^([A-Za-z_][A-Za-z0-9_-]*)(\[[^\]]*\])?(?:\.([A-Za-z_][A-Za-z0-9_-]*))?$/.exec(text);
    // a `${var}` left in place was an unknown foreach variable, already reported at this spot
    if (!m && current?.bindings && VAR_ANY.test(text)) return [];
    if (!m) {
      errors.push(raw.src.error(yaml, `invalid input reference "${text}"`, 'write `ID`, `ID.OUTPUT`, or `base[value]` for a foreach expansion'));
      return [];
    }
    const base = m[1]!;
    const id = base + (m[2] ?? '');
    const out = m[3] !== undefined ? { output: m[3] } : {};
    if (byId.has(id)) return [{ node: id, text, yaml, ...out }];
    if (!m[2] && expansions.has(base)) {
      return expansions.get(base)!.map((e) => ({ node: e, text, yaml, expandedFrom: base, ...out }));
    }
    const hint = m[2] && expansions.has(base)
      ? `"${base}" expands to: ${expansions.get(base)!.join(', ')}`
      : didYouMean(id, allIds, 'step ids');
    errors.push(raw.src.error(yaml, `unknown input id "${id}"`, hint));
    return [];
  };
  for (const [n, v] of inRaw) {
    current = n;
    const at = n.inNode;
    if (typeof v === 'string') {
      n.inputs.push({ list: false, refs: resolveRef(v, at), yaml: at });
    } else if (Array.isArray(v)) {
      n.inputs.push({ list: true, refs: v.flatMap((x, i) => resolveRef(x, locate(at, [i]).value ?? at)), yaml: at });
    } else if (isPlainObject(v)) {
      for (const [name, x] of Object.entries(v)) {
        const loc = locate(at, [name]);
        const yaml = loc.value ?? loc.key ?? at;
        const entry: InputEntry = Array.isArray(x)
          ? { name, list: true, refs: x.flatMap((y, i) => resolveRef(y, locate(loc.value, [i]).value ?? yaml)), yaml }
          : { name, list: false, refs: resolveRef(x, yaml), yaml };
        if (loc.key) entry.nameNode = loc.key;
        n.inputs.push(entry);
      }
    } else if (v !== null && v !== undefined) {
      errors.push(raw.src.error(at, 'expected `in` to be a step id, a list of ids, or a map {input: id | [ids]}'));
    }
  }

  // --set overrides: on the node (or every expansion of a foreach base) and, with --inherit (as an
  // edit of the YAML would), on the nodes that inherit the param through `extends` (see inheritedBy).
  const pending = new Map<NormNode, { o: ParamOverride; dist: number; i: number }[]>();
  const add = (t: NormNode, o: ParamOverride, dist: number, i: number): void => {
    const l = pending.get(t);
    if (l) l.push({ o, dist, i });
    else pending.set(t, [{ o, dist, i }]);
  };
  overrides.forEach((o, i) => {
    const direct = byId.get(o.id);
    const targets = direct ? [direct] : (expansions.get(o.id) ?? []).map((e) => byId.get(e)!);
    if (targets.length === 0) {
      errors.push(overrideError(overrideLabel(o), `unknown step id "${o.id}"`, didYouMean(o.id, allIds, 'step ids')));
      return;
    }
    for (const t of targets) add(t, o, 0, i);
    if (!o.inherit || !raw.byId.has(o.id)) return; // without --inherit, or an expansion (`m[east]`): that node only
    for (const n of nodes) {
      const dist = inheritedBy(raw, n.baseId, o.id, o.param);
      if (dist > 0) add(n, o, dist, i);
    }
  });
  // farthest ancestor first, the node's own overrides last; in command-line order otherwise
  for (const [t, list] of pending) {
    list.sort((a, b) => b.dist - a.dist || a.i - b.i);
    for (const { o } of list) {
      t.params = applyOverride(t.params, o.param, o.value);
      t.overrides.push(o);
    }
  }

  if (!collect) throwIfAny(errors);
  return nodes;
}

/** Where a param path of a node was written: the override that set it, or the YAML node. */
export function paramWhere(
  raw: RawPipeline,
  n: NormNode,
  p: readonly PropertyKey[],
  part: 'key' | 'value' = 'value',
): { override?: ParamOverride; node?: Node } {
  const ps = p.map(String);
  for (let i = n.overrides.length - 1; i >= 0; i--) {
    const o = n.overrides[i]!;
    const op = o.param.split('.');
    const k = Math.min(op.length, ps.length);
    let same = true;
    for (let j = 0; j < k; j++) if (op[j] !== ps[j]) same = false;
    if (same) return { override: o };
  }
  let best: { key?: Node; value?: Node; depth: number } | undefined;
  let bestWith: { key: Node; value: Node | undefined } | undefined;
  for (const w of n.withChain) {
    const loc = locate(w.value, p);
    if (!best || loc.depth > best.depth) {
      best = loc;
      bestWith = w;
    }
    if (loc.depth === p.length) break;
  }
  if (!best || !bestWith) return { node: n.raw.keyNode };
  if (best.depth === 0) return { node: bestWith.key };
  if (best.depth < p.length || part === 'key') return { node: best.key ?? best.value ?? bestWith.key };
  return { node: best.value ?? best.key ?? bestWith.key };
}

/**
 * How many `extends` steps up from step `id` the step `from` is, when an override of `from`'s
 * `param` reaches `id`: `id` extends `from` (directly or through others) and neither it nor any
 * step in between sets that param in its own `with` (a map on the way merges, a scalar, list or
 * null replaces — the deep-merge rule). 0 when it does not reach (or `id` is `from`).
 */
export function inheritedBy(raw: RawPipeline, id: string, from: string, param: string): number {
  const path = param.split('.');
  const seen = new Set<string>();
  let cur = raw.byId.get(id);
  let dist = 0;
  while (cur && cur.id !== from && !seen.has(cur.id)) {
    seen.add(cur.id);
    if (ownsParam(cur.data.with, path)) return 0;
    if (cur.data.extends === undefined) return 0;
    cur = raw.byId.get(cur.data.extends);
    dist++;
  }
  return cur?.id === from ? dist : 0;
}

/** Does this `with` set the param path itself (so that a parent's value does not show through)? */
function ownsParam(w: unknown, path: string[]): boolean {
  let cur = w;
  for (let i = 0; i < path.length; i++) {
    if (!isPlainObject(cur) || !Object.hasOwn(cur, path[i]!)) return false;
    cur = cur[path[i]!];
    if (i === path.length - 1 || !isPlainObject(cur)) return true;
  }
  return false;
}

/** `controls=1, fe=city` (the id parts of a combination) for messages. */
function bindingText(c: Combo): string {
  return Object.entries(c.parts).map(([k, v]) => `${k}=${v}`).join(', ');
}

function unknownVar(raw: RawPipeline, name: string, b: Record<string, unknown>, at: Node | undefined, structured = false): ConfigError {
  if (structured) {
    return raw.src.error(
      at,
      `foreach variable \${${name}} is a ${Array.isArray(b[name]) ? 'list' : 'map'} here, so it can only stand alone as a whole value (e.g. \`${name}: "\${${name}}"\`), not inside a longer string`,
      'to name files or ids after it, zip it with a scalar tag: `foreach: {zip: {' + name + ': [...], tag: [a, b]}}`, then use ${tag}',
    );
  }
  return raw.src.error(at, `unknown foreach variable \${${name}}`, `variables of this step: ${Object.keys(b).map((k) => `\${${k}}`).join(', ')}`);
}

function resolveExtends(raw: RawPipeline, errors: ConfigError[]): Map<string, Resolved> {
  const out = new Map<string, Resolved>();
  const failed = new Set<string>();
  const visiting: string[] = [];
  const field = <T>(step: RawStep, key: string, value: T | undefined): Field<T> | undefined => {
    if (value === undefined) return undefined;
    const loc = locate(step.node, [key]);
    return { value, node: loc.value, keyNode: loc.key };
  };
  const resolve = (step: RawStep): Resolved | undefined => {
    const done = out.get(step.id);
    if (done) return done;
    if (failed.has(step.id)) return undefined;
    const d = step.data;
    const withLoc = locate(step.node, ['with']);
    const own: Resolved = {
      with: isPlainObject(d.with) ? d.with : {},
      withChain: withLoc.key ? [{ key: withLoc.key, value: withLoc.value }] : [],
    };
    const kind = field(step, 'kind', d.kind);
    const inF = field(step, 'in', d.in as unknown);
    const pub = field(step, 'publish', d.publish);
    const fe = field(step, 'foreach', d.foreach);
    if (d.extends === undefined) {
      if (kind) own.kind = kind;
      if (inF) own.in = inF;
      if (pub) own.publish = pub;
      if (fe) own.foreach = fe;
      out.set(step.id, own);
      return own;
    }
    const extNode = locate(step.node, ['extends']).value;
    const parent = raw.byId.get(d.extends);
    if (!parent) {
      errors.push(raw.src.error(extNode, `extends a missing step "${d.extends}"`, didYouMean(d.extends, [...raw.byId.keys()], 'step ids')));
      failed.add(step.id);
      return undefined;
    }
    const at = visiting.indexOf(parent.id);
    if (at >= 0 || parent.id === step.id) {
      const cycle = [...visiting.slice(at >= 0 ? at : visiting.length), step.id, parent.id];
      errors.push(raw.src.error(extNode, `extends cycle: ${cycle.join(' → ')}`, 'a step cannot extend itself, directly or through others'));
      for (const id of cycle) failed.add(id);
      return undefined;
    }
    visiting.push(step.id);
    const p = resolve(parent);
    visiting.pop();
    if (!p) {
      failed.add(step.id);
      return undefined;
    }
    const r: Resolved = {
      with: deepMerge(p.with, own.with),
      withChain: [...own.withChain, ...p.withChain],
    };
    const k = kind ?? p.kind;
    const i = inF ?? p.in;
    const pb = pub ?? p.publish;
    const f = fe ?? p.foreach;
    if (k) r.kind = k;
    if (i) r.in = i;
    if (pb) r.publish = pb;
    if (f) r.foreach = f;
    out.set(step.id, r);
    return r;
  };
  for (const s of raw.steps) resolve(s);
  return out;
}

/** Child over parent: maps merge recursively, anything else replaces, null deletes. */
export function deepMerge(parent: Record<string, unknown>, child: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...parent };
  for (const [k, v] of Object.entries(child)) {
    if (v === null) delete out[k];
    else if (isPlainObject(v) && isPlainObject(out[k])) out[k] = deepMerge(out[k] as Record<string, unknown>, v);
    else out[k] = v;
  }
  return out;
}

function product(vars: [string, (string | number | boolean)[]][]): Record<string, unknown>[] {
  let acc: Record<string, unknown>[] = [{}];
  for (const [name, values] of vars) {
    const next: Record<string, unknown>[] = [];
    for (const a of acc) for (const v of values) next.push({ ...a, [name]: v });
    acc = next;
  }
  return acc;
}

const VAR_ANY = /\$\{[A-Za-z_][A-Za-z0-9_-]*\}/;
const WHOLE = /^\$\{([A-Za-z_][A-Za-z0-9_-]*)\}$/;
const VAR = /\$\{([A-Za-z_][A-Za-z0-9_-]*)\}/g;

/**
 * Substitutes `${var}` in every string of `v`; calls `unknown(name)` for unbound variables, and
 * `unknown(name, true)` for a list or map value inside a longer string (it has no text form).
 */
export function substitute(v: unknown, b: Record<string, unknown>, unknown: (name: string, structured?: boolean) => void): unknown {
  if (typeof v === 'string') {
    if (!v.includes('${')) return v;
    const whole = WHOLE.exec(v);
    if (whole) {
      if (Object.hasOwn(b, whole[1]!)) return b[whole[1]!];
      unknown(whole[1]!);
      return v;
    }
    return v.replace(VAR, (s, name: string) => {
      if (Object.hasOwn(b, name)) {
        const x = b[name];
        if (typeof x === 'object' && x !== null) {
          unknown(name, true);
          return s;
        }
        return String(x);
      }
      unknown(name);
      return s;
    });
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, b, unknown));
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = substitute(x, b, unknown);
    return out;
  }
  return v;
}

function substituteTracked(v: unknown, b: Record<string, unknown>, p: PropertyKey[], unknownAt: [PropertyKey[], boolean][]): unknown {
  if (typeof v === 'string') return substitute(v, b, (name, structured) => unknownAt.push([[...p, name], structured === true]));
  if (Array.isArray(v)) return v.map((x, i) => substituteTracked(x, b, [...p, i], unknownAt));
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = substituteTracked(x, b, [...p, k], unknownAt);
    return out;
  }
  return v;
}
