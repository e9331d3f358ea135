/**
 * `foreach:` — the forms it takes, how it expands, and the ids it gives (used by schema.ts for the
 * checks with positions and by normalize.ts for the expansion).
 *
 * ```yaml
 * foreach: {region: [east, west], level: [0.9, 0.99]}         # cartesian product: m[east,0.9], …
 * foreach: {controls: [[pgdp], [pgdp, indus]]}                # any YAML values: m[0], m[1]
 * foreach: {controls: {short: [pgdp], long: [pgdp, indus]}}   # labelled values: m[short], m[long]
 * foreach:                                                    # zip: the i-th values go together
 *   zip: {y: [so2, so2_int], tag: [level, intensity]}         # m[so2,level], m[so2_int,intensity]
 *   fe: [city, province]                                      # … times fe (a product with the zip)
 *   name: "${tag}-${fe}"                                       # id template: m[level-city], …
 * ```
 *
 * - A variable's values are a list (any YAML values) or a map `{label: value}`.
 * - The **part** of a value in an id: a scalar (string, number, boolean) is itself, as before; a
 *   list, map or null is its position (`0`, `1`, …); a labelled value is its label.
 * - The id is `base[part1,part2,…]` (variables in the order written, those under `zip` where `zip`
 *   stands), or `base[NAME]` with `name:` rendered: `${v}` in the name is v's part.
 * - Dimensions (each plain variable, and the `zip` group as one) combine as a cartesian product,
 *   first outermost. All variables under `zip` must have as many values.
 * - `zip` and `name` are reserved only with those meanings: a variable called `zip` or `name` whose
 *   value is a list still is a plain variable.
 * - Labels and rendered names are id-safe: letters (any script), digits, `_ . + -` (and `,` in a
 *   name; no `=`, which would end the id in `--set ID.PARAM=V`).
 */
import { isPlainObject } from './overrides.js';

/** One foreach variable: its values and the part each value gives in ids. */
export interface ForeachVar {
  name: string;
  values: unknown[];
  parts: string[];
}

/** One dimension of the product: a plain variable, or the `zip` group. */
export interface ForeachDim {
  vars: ForeachVar[];
  length: number;
  zip: boolean;
}

export interface ForeachPlan {
  dims: ForeachDim[];
  /** The `name:` template, if given. */
  name?: string;
  /** Number of combinations (product of the dimension lengths; may exceed 2^53 only in theory). */
  count: number;
  /** All variable names in id order. */
  varNames: string[];
}

/** A label of a labelled value (`{short: [pgdp]}`) or a rendered name part. */
export const LABEL = /^[\p{L}\p{N}_.+-]+$/u;
/** What a rendered `name:` may contain. */
export const NAME_TEXT = /^[\p{L}\p{N}_.+,-]+$/u;
const VAR = /\$\{([A-Za-z_][A-Za-z0-9_-]*)\}/g;

const isScalar = (v: unknown): v is string | number | boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** True when `v` is the value of the `zip` group (as opposed to a variable called zip). */
export const isZipGroup = (key: string, v: unknown): v is Record<string, unknown> => key === 'zip' && isPlainObject(v);
/** True when `v` is the `name:` template (as opposed to a variable called name). */
export const isNameTemplate = (key: string, v: unknown): v is string => key === 'name' && typeof v === 'string';

function variable(name: string, v: unknown): ForeachVar {
  if (Array.isArray(v)) return { name, values: v, parts: v.map((x, i) => (isScalar(x) ? String(x) : String(i))) };
  const m = v as Record<string, unknown>;
  return { name, values: Object.values(m), parts: Object.keys(m) };
}

/** The plan of a `foreach:` value that passed the schema checks. */
export function planForeach(fe: Record<string, unknown>): ForeachPlan {
  const dims: ForeachDim[] = [];
  let name: string | undefined;
  for (const [k, v] of Object.entries(fe)) {
    if (isNameTemplate(k, v)) name = v;
    else if (isZipGroup(k, v)) {
      const vars = Object.entries(v).map(([n, x]) => variable(n, x));
      dims.push({ vars, length: vars[0]?.values.length ?? 0, zip: true });
    } else {
      const x = variable(k, v);
      dims.push({ vars: [x], length: x.values.length, zip: false });
    }
  }
  const count = dims.reduce((acc, d) => acc * d.length, 1);
  return { dims, ...(name !== undefined ? { name } : {}), count, varNames: dims.flatMap((d) => d.vars.map((x) => x.name)) };
}

/** `u: 100 × zip(y, tag): 2` for messages. */
export function describeDims(p: ForeachPlan): string {
  return p.dims.map((d) => `${d.zip ? `zip(${d.vars.map((x) => x.name).join(', ')})` : d.vars[0]!.name}: ${d.length}`).join(' × ');
}

/** Number of YAML nodes in `v`, counting at most `cap` (iterative: no recursion on input size). */
export function sizeOf(v: unknown, cap: number): number {
  let n = 0;
  const stack: unknown[] = [v];
  while (stack.length > 0 && n <= cap) {
    const x = stack.pop();
    n++;
    if (Array.isArray(x)) for (const y of x) stack.push(y);
    else if (isPlainObject(x)) for (const y of Object.values(x)) stack.push(y);
  }
  return n;
}

/**
 * YAML nodes the expansion copies into node params, at most: each value's size times the number of
 * combinations it appears in. Bounds structured values (a 10,000-element list in each of 10,000
 * expansions) the way the alias limit bounds the document.
 */
export function expandedSize(p: ForeachPlan, cap: number): number {
  let total = 0;
  for (const d of p.dims) {
    const times = d.length > 0 ? p.count / d.length : 0;
    let s = 0;
    for (const x of d.vars) for (const v of x.values) s += sizeOf(v, cap);
    total += s * times;
    if (total > cap) return total;
  }
  return total;
}

/** One combination: the bound values and the id parts, by variable. */
export interface Combo {
  values: Record<string, unknown>;
  parts: Record<string, string>;
}

/** All combinations, first dimension outermost (an odometer: no recursion). Call after bounding `count`. */
export function combos(p: ForeachPlan): Combo[] {
  const out: Combo[] = [];
  if (p.dims.some((d) => d.length === 0)) return out;
  const idx = p.dims.map(() => 0);
  for (;;) {
    const values: Record<string, unknown> = {};
    const parts: Record<string, string> = {};
    p.dims.forEach((d, di) => {
      for (const x of d.vars) {
        values[x.name] = x.values[idx[di]!];
        parts[x.name] = x.parts[idx[di]!]!;
      }
    });
    out.push({ values, parts });
    let di = p.dims.length - 1;
    while (di >= 0) {
      idx[di]!++;
      if (idx[di]! < p.dims[di]!.length) break;
      idx[di] = 0;
      di--;
    }
    if (di < 0) return out;
  }
}

/** The id of a combination: `base[NAME]` or `base[part1,part2,…]`. */
export function comboId(base: string, p: ForeachPlan, c: Combo): string {
  return `${base}[${p.name !== undefined ? renderName(p.name, c.parts) : p.varNames.map((v) => c.parts[v]).join(',')}]`;
}

/** `${v}` → v's part. Unknown variables were rejected by the schema. */
export function renderName(template: string, parts: Record<string, string>): string {
  return template.replace(VAR, (s, v: string) => (Object.hasOwn(parts, v) ? parts[v]! : s));
}

/** Variables a `name:` template refers to. */
export function nameVars(template: string): string[] {
  return [...template.matchAll(VAR)].map((m) => m[1]!);
}

/**
 * Problems of a `foreach:` value, each with its path inside it (for positions): reported by the
 * schema pass. Empty when it is valid.
 */
export function foreachProblems(fe: Record<string, unknown>): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const seen = new Set<string>();
  const checkVar = (path: (string | number)[], name: string, v: unknown): number | undefined => {
    if (seen.has(name)) out.push({ path, message: `foreach variable "${name}" is given twice (under zip and outside it)` });
    seen.add(name);
    if (Array.isArray(v)) {
      if (v.length === 0) out.push({ path, message: 'foreach over an empty list: give at least one value' });
      return v.length;
    }
    if (isPlainObject(v)) {
      const labels = Object.keys(v);
      if (labels.length === 0) out.push({ path, message: 'foreach over an empty map: give at least one {label: value}' });
      for (const l of labels) {
        if (!LABEL.test(l)) out.push({ path: [...path, l], message: `foreach label "${l}" cannot be part of an id: use letters, digits, _ . + -` });
      }
      return labels.length;
    }
    out.push({ path, message: 'foreach over a non-list: give a list of values, e.g. region: [east, west]' });
    return undefined;
  };
  let name: string | undefined;
  for (const [k, v] of Object.entries(fe)) {
    if (k === 'name' && !Array.isArray(v)) {
      if (typeof v !== 'string') out.push({ path: [k], message: 'foreach `name:` is the id template, a string such as "${region}-${level}"' });
      else name = v;
      continue;
    }
    if (k === 'zip' && !Array.isArray(v)) {
      if (!isPlainObject(v) || Object.keys(v).length === 0) {
        out.push({ path: [k], message: 'foreach `zip:` takes a map of variables with equally long lists, e.g. zip: {y: [so2, co2], tag: [s, c]}' });
        continue;
      }
      const lengths: [string, number][] = [];
      for (const [n, x] of Object.entries(v)) {
        if (n === 'zip' || n === 'name') out.push({ path: [k, n], message: `"${n}" cannot be a variable under zip` });
        const len = checkVar([k, n], n, x);
        if (len !== undefined) lengths.push([n, len]);
      }
      if (new Set(lengths.map(([, l]) => l)).size > 1) {
        out.push({
          path: [k],
          message: `zip lists of unequal length: ${lengths.map(([n, l]) => `${n} has ${l} value${l === 1 ? '' : 's'}`).join(', ')}`,
        });
      }
      continue;
    }
    checkVar([k], k, v);
  }
  if (seen.size === 0) out.push({ path: [], message: 'foreach has no variables: give at least one, e.g. region: [east, west]' });
  if (name !== undefined) {
    const vars = nameVars(name);
    for (const v of vars) {
      if (!seen.has(v)) out.push({ path: ['name'], message: `foreach name refers to an unknown variable \${${v}} (variables: ${[...seen].map((x) => `\${${x}}`).join(', ')})` });
    }
    const literal = name.replace(VAR, '');
    if (literal.length > 0 && !NAME_TEXT.test(literal)) {
      out.push({ path: ['name'], message: `foreach name "${name}" cannot be part of an id: outside \${var} use letters, digits, _ . + - ,` });
    }
  }
  return out;
}
