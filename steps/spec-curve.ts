/**
 * `spec-curve`: the multiverse of a DiD regression as one node (Simonsohn, Simmons & Nelson 2020,
 * "Specification curve analysis", Nature Human Behaviour 4: 1208–1214). Every combination of the
 * declared `choices` replaces the base specification's value and is estimated as the `estimate`
 * step would (same complete cases, singletons, collinearity rule, K, CR1 / iid / HC1).
 *
 * @example
 * spec_curve:
 *   kind: spec-curve
 *   in: panel.panel
 *   with:
 *     base: {y: so2, treat: did, controls: [pgdp, indus, urb, fin, fis], fe: [city_code, year], cluster: city_code}
 *     choices:                       # every combination of these replaces the base's value
 *       y: [so2, so2_int]
 *       controls: [[], [pgdp, indus], [pgdp, indus, urb, fin, fis]]
 *       fe: [[city_code, year], [province, year]]
 *       cluster: [city_code, province]
 *       sample: {all: {}, no_municipalities: {exclude: {municipality: [1]}}, to_2019: {where: {year: {le: 2019}}}}
 *     highlight: {}                  # the base itself unless given
 *
 * Choice keys: `y` (outcomes), `controls` (lists of controls), `fe` (fixed-effect sets), `cluster`
 * (a column, or two for two-way clustering), `sample` (named `where` / `exclude` filters; a sample
 * replaces the base's where/exclude), `estimator` (only `twfe`: the heterogeneity-robust
 * estimators are separate step kinds with other inputs). A key left out keeps the base's value.
 *
 * Outputs: `specs`, a table with one row per specification (`spec`, one text column per choice,
 * estimate, se, ci_low, ci_high, p, n, base, highlight) and `summary` (share of specifications with
 * the base's sign, share significant at 5%, median and range of the estimates, the base's estimate);
 * `figure` with `type: spec-curve` draws them.
 *
 * Fast path (Frisch–Waugh–Lovell, stats/spec-curve.ts): specifications with the same sample, fixed
 * effects and complete cases form a group whose columns are demeaned once; each specification is
 * then a small OLS on demeaned columns plus the cluster scores. The specifications, in group order,
 * are split into chunks of {@link CHUNK} that `ctx.map` spreads over the run's thread budget (with
 * `--jobs 1` they run in the step's thread, without a worker); the output does not depend on `--jobs`.
 */
import { z } from 'zod';
import { defineStep, StepError, type Artifact, type StepContext } from '../engine/types.js';
import { type Table, hasCol, isNumeric, makeTable, notNumericWhy } from '../engine/table.js';
import { FwlGroup, summarizeCurve, type SpecFit } from '../stats/spec-curve.js';
import { factorize, subsetFactor, type Factor } from '../stats/fe.js';
import type { VcovType } from '../stats/vcov.js';
import { CONTRACT, type SpecCurveSummary } from './common/contracts.js';
import { applyFilters, excludeSchema, whereSchema, type Exclude, type Where } from './common/filter.js';
import { asList, outcomeParam, regressionParams, resolveVcov } from './common/regression.js';
import { nearest } from './common/suggest.js';
import { ParamError, withYamlLine } from './common/yaml-where.js';

/** Specifications per ctx.map chunk: fixed, so the split never depends on --jobs. */
const CHUNK = 100;
/** Significance level of the summary's "share significant" (two-sided p < ALPHA). */
const ALPHA = 0.05;

const strOrList = z.union([z.string().min(1), z.array(z.string().min(1))]);
const clusterValue = z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(2)]);
const EMPTY = 'an empty choice list gives no specification: list at least one value, or remove the key to keep the base value';

const sampleSchema = z
  .strictObject({ where: whereSchema.optional(), exclude: excludeSchema.optional() })
  .describe('a named sample: {} (all rows), {where: ...}, {exclude: ...} or both');

/** The choice keys, in the order of the specs table's columns. */
export const CHOICE_KEYS = ['y', 'controls', 'fe', 'cluster', 'sample', 'estimator'] as const;
export type ChoiceKey = (typeof CHOICE_KEYS)[number];

export const specCurveParams = z.strictObject({
  base: z
    .strictObject({ y: outcomeParam, treat: z.string().min(1).describe('the treatment column (numeric); its coefficient is the curve'), ...regressionParams })
    .describe('the base specification, as the params of estimate (one treatment column)'),
  choices: z
    .strictObject({
      y: z.array(z.string().min(1)).min(1, EMPTY).optional().describe('outcome columns'),
      controls: z.array(z.array(z.string().min(1))).min(1, EMPTY).optional().describe('control sets, e.g. [[], [pgdp, indus]]'),
      fe: z.array(strOrList).min(1, EMPTY).optional().describe('fixed-effect sets, e.g. [[city_code, year], [province, year]]'),
      cluster: z.array(clusterValue).min(1, EMPTY).optional().describe('cluster columns (a list of two: two-way clustering)'),
      sample: z
        .record(z.string().min(1), sampleSchema)
        .refine((o) => Object.keys(o).length > 0, EMPTY)
        .optional()
        .describe('named samples: {name: {where: ..., exclude: ...}}; each replaces the base where/exclude'),
      estimator: z.array(z.enum(['twfe'])).min(1, EMPTY).optional().describe('estimators; only twfe (the heterogeneity-robust estimators are step kinds of their own)'),
    })
    .default({})
    .describe('the choices: every combination replaces the base value of these keys'),
  highlight: z
    .strictObject({
      y: z.string().optional(),
      controls: z.array(z.string()).optional(),
      fe: strOrList.optional(),
      cluster: clusterValue.optional(),
      sample: z.string().optional().describe('a sample name'),
      estimator: z.enum(['twfe']).optional(),
    })
    .default({})
    .describe('specifications to highlight, by choice values (each key a declared choice); {} = the base specification'),
});
export type SpecCurveParams = z.infer<typeof specCurveParams>;

type Base = SpecCurveParams['base'];

interface SampleDef {
  name: string;
  where?: Where;
  exclude?: Exclude;
}

/** One specification as the fitting task needs it. */
interface SpecDef {
  y: string;
  x: string[];
  fe: string[];
  cluster: string[];
  vcov: VcovType;
  sample: number;
}

interface GroupDef {
  sample: number;
  fe: string[];
  numeric: string[];
  clusters: string[];
  /** Complete cases: rows of the sample (after its filters) with no missing value in any column of the group's specifications. */
  rows: Int32Array;
}

/** What ctx.map sends every worker once. */
export interface SpecCurveShared {
  table: Table;
  samples: SampleDef[];
  groups: GroupDef[];
  specs: SpecDef[];
  /** The group of each specification. */
  specGroup: Int32Array;
  weights: string | null;
  keepSingletons: boolean;
  level: number;
}

/** A chunk: specifications (indices into shared.specs), ordered by group. */
type Chunk = number[];

/** Per chunk: estimate, se, p, ci_low, ci_high, n per specification, and why one has none. */
interface ChunkResult {
  values: Float64Array;
  why: (string | null)[];
}

const FIELDS = ['estimate', 'se', 'ci_low', 'ci_high', 'p', 'n'] as const;

/** Per shared object and thread: the filtered sample tables, their factors, and the groups built. */
interface Memo {
  samples: Map<number, { table: Table; factors: Map<string, Factor> }>;
  groups: Map<number, FwlGroup>;
}
const memos = new WeakMap<SpecCurveShared, Memo>();

/**
 * The group's data as `prepareRegression` (steps/common/regression.ts) builds it for each of its
 * specifications — the sample's filters, complete cases, factors coded in order of appearance on
 * those rows — with the filtering and factor coding done once per sample instead of per group.
 */
function groupOf(shared: SpecCurveShared, g: number): FwlGroup {
  let memo = memos.get(shared);
  if (!memo) memos.set(shared, (memo = { samples: new Map(), groups: new Map() }));
  let grp = memo.groups.get(g);
  if (grp) return grp;
  memo.groups.clear(); // chunks visit the groups in order: keep one group's demeaned columns at a time
  const def = shared.groups[g]!;
  const s = shared.samples[def.sample]!;
  let st = memo.samples.get(def.sample);
  if (!st) memo.samples.set(def.sample, (st = { table: applyFilters(shared.table, s.where, s.exclude), factors: new Map() }));
  const { table, factors } = st;
  const factor = (c: string): Factor => {
    let f = factors.get(c);
    if (!f) factors.set(c, (f = factorize(table.columns[c]!)));
    return subsetFactor(f, def.rows);
  };
  const pick = (c: string): Float64Array => {
    const col = table.columns[c] as Float64Array;
    const rows = def.rows;
    const out = new Float64Array(rows.length);
    for (let j = 0; j < rows.length; j++) out[j] = col[rows[j]!]!;
    return out;
  };
  const columns: Record<string, Float64Array> = Object.create(null) as Record<string, Float64Array>;
  for (const c of def.numeric) columns[c] = pick(c);
  const clusters = Object.fromEntries(def.clusters.map((c) => [c, factor(c)]));
  try {
    grp = new FwlGroup({ columns, fe: def.fe.map(factor), feNames: def.fe, clusters, weights: shared.weights ? pick(shared.weights) : null, keepSingletons: shared.keepSingletons });
  } catch (e) {
    throw new StepError(`sample "${s.name}" with fixed effects ${def.fe.join(', ') || 'none'}: ${(e as Error).message}`);
  }
  memo.groups.set(g, grp);
  return grp;
}

/** The ctx.map task: fit the specifications of a chunk. */
export function fitChunk(chunk: Chunk, shared: SpecCurveShared): ChunkResult {
  const values = new Float64Array(chunk.length * FIELDS.length);
  const why: (string | null)[] = [];
  chunk.forEach((si, j) => {
    const s = shared.specs[si]!;
    const grp = groupOf(shared, shared.specGroup[si]!);
    let f: SpecFit;
    try {
      f = grp.fit({ y: s.y, x: s.x, cluster: s.cluster, vcov: s.vcov, level: shared.level });
    } catch (e) {
      throw new StepError(`specification ${si + 1} (y ${s.y}, controls ${s.x.slice(1).join(', ') || 'none'}, fe ${s.fe.join(', ') || 'none'}): ${(e as Error).message}`);
    }
    FIELDS.forEach((k, q) => (values[j * FIELDS.length + q] = f[k]));
    why.push(f.why);
  });
  return { values, why };
}

/** Printed value of a choice, as in the specs table. */
function label(key: ChoiceKey, v: unknown): string {
  if (key === 'controls') return (v as string[]).length ? (v as string[]).join(', ') : 'none';
  if (key === 'fe') return asList(v as string | string[]).join(' + ') || 'none';
  if (key === 'cluster') return asList(v as string | string[]).join(' × ') || 'none';
  return String(v);
}

const canon = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
const sameSample = (a: { where?: Where; exclude?: Exclude }, b: { where?: Where; exclude?: Exclude }) =>
  canon(a.where && Object.keys(a.where).length ? a.where : null) === canon(b.where && Object.keys(b.where).length ? b.where : null) &&
  canon(a.exclude && Object.keys(a.exclude).length ? a.exclude : null) === canon(b.exclude && Object.keys(b.exclude).length ? b.exclude : null);

/** A column the table must have, or a ParamError at `param` naming the nearest columns. */
function needColumn(t: Table, col: string, param: (string | number)[], what: string, numeric: boolean): void {
  const at = paramName(param);
  if (!hasCol(t, col)) {
    const near = nearest(col, t.names);
    throw new ParamError(param, `${at} names ${what} "${col}", which is not in the input table${near.length ? ` (did you mean "${near[0]}"?)` : ''}; columns are: ${t.names.join(', ')}`);
  }
  if (numeric && !isNumeric(t.columns[col]!)) throw new ParamError(param, `${at}: ${what} "${col}" ${notNumericWhy(t.columns[col]!)}; it must be numeric (convert it in a clean step)`);
}

const paramName = (p: (string | number)[]): string => p.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${k}` : k), '');

function checkFilters(t: Table, where: Where | undefined, exclude: Exclude | undefined, param: (string | number)[]): void {
  for (const [kind, f] of [['where', where], ['exclude', exclude]] as const)
    for (const col of Object.keys(f ?? {})) needColumn(t, col, [...param, kind, col], 'filter column', false);
}

/** The cartesian product of the choices (the last key varies fastest). */
function* product(lists: unknown[][]): Generator<number[]> {
  const idx = lists.map(() => 0);
  if (lists.some((l) => l.length === 0)) return;
  for (;;) {
    yield [...idx];
    let k = lists.length - 1;
    while (k >= 0 && ++idx[k]! === lists[k]!.length) idx[k--] = 0;
    if (k < 0) return;
  }
}

export default defineStep({
  kind: 'spec-curve',
  doc: 'Specification curve (Simonsohn, Simmons & Nelson 2020): every combination of outcome, controls, fixed effects, clustering and sample choices around a base TWFE specification, estimated with shared demeaning (FWL) in the thread budget; outputs the specs table and a summary.',
  params: specCurveParams,
  inputs: { panel: { type: 'table', doc: 'the estimation data' } },
  outputs: { specs: { type: 'table', contract: CONTRACT.specCurveSpecs }, summary: { type: 'json', contract: CONTRACT.specCurve } },
  tasks: { fit: fitChunk },
  async run(ctx, inputs, params): Promise<Record<string, Artifact>> {
    const art = inputs.panel;
    if (!art || Array.isArray(art) || art.type !== 'table') throw new StepError(`input "panel" must be one table`);
    try {
      return await runCurve(ctx, art.table, params);
    } catch (e) {
      throw await withYamlLine(ctx, e);
    }
  },
});

async function runCurve(ctx: StepContext, table: Table, params: SpecCurveParams): Promise<Record<string, Artifact>> {
  const { base, choices } = params;
  // ---- the values of every choice (base value where a key is not declared) ----
  const samples: SampleDef[] = choices.sample ? Object.entries(choices.sample).map(([name, s]) => ({ name, where: s.where, exclude: s.exclude })) : [{ name: 'base', where: base.where, exclude: base.exclude }];
  const values: Record<ChoiceKey, unknown[]> = {
    y: choices.y ?? [base.y],
    controls: choices.controls ?? [base.controls],
    fe: (choices.fe ?? [base.fe]).map((f) => asList(f)),
    cluster: (choices.cluster ?? [base.cluster ?? []]).map((c) => asList(c)),
    sample: samples.map((s) => s.name),
    estimator: choices.estimator ?? ['twfe'],
  };
  const declared = CHOICE_KEYS.filter((k) => choices[k] !== undefined);
  const labels = Object.fromEntries(CHOICE_KEYS.map((k) => [k, values[k].map((v) => label(k, v))])) as Record<ChoiceKey, string[]>;
  for (const k of declared) {
    const dup = labels[k].find((l, i) => labels[k].indexOf(l) !== i);
    if (dup !== undefined) throw new ParamError(['choices', k], `choices.${k} lists ${k === 'sample' ? 'the same sample' : 'the same value'} twice (${dup}); each value gives its own specifications, list it once`);
  }

  // ---- columns: every name the params give must be in the table ----
  needColumn(table, base.y, ['base', 'y'], 'outcome column', true);
  needColumn(table, base.treat, ['base', 'treat'], 'treatment column', true);
  base.controls.forEach((c) => needColumn(table, c, ['base', 'controls'], 'control', true));
  asList(base.fe).forEach((c) => needColumn(table, c, ['base', 'fe'], 'fixed-effect column', false));
  asList(base.cluster).forEach((c) => needColumn(table, c, ['base', 'cluster'], 'cluster column', false));
  if (base.weights) needColumn(table, base.weights, ['base', 'weights'], 'weights column', true);
  checkFilters(table, base.where, base.exclude, ['base']);
  choices.y?.forEach((c, i) => needColumn(table, c, ['choices', 'y', i], 'outcome column', true));
  choices.controls?.forEach((cs, i) => cs.forEach((c) => needColumn(table, c, ['choices', 'controls', i], 'control', true)));
  choices.fe?.forEach((f, i) => asList(f).forEach((c) => needColumn(table, c, ['choices', 'fe', i], 'fixed-effect column', false)));
  choices.cluster?.forEach((f, i) => asList(f).forEach((c) => needColumn(table, c, ['choices', 'cluster', i], 'cluster column', false)));
  for (const s of choices.sample ? samples : []) checkFilters(table, s.where, s.exclude, ['choices', 'sample', s.name]);
  for (const [i, y] of values.y.entries())
    if (y === base.treat) throw new ParamError(choices.y ? ['choices', 'y', i] : ['base', 'y'], `outcome "${y}" is also the treatment; the outcome and the treatment must differ`);
  const controlSets: [string[], (string | number)[]][] = [...(choices.controls ? [[base.controls, ['base', 'controls']] as [string[], (string | number)[]]] : []), ...(values.controls as string[][]).map((cs, i) => [cs, choices.controls ? ['choices', 'controls', i] : ['base', 'controls']] as [string[], (string | number)[]])];
  for (const [cs, at] of controlSets) {
    const twice = cs.find((c, j) => cs.indexOf(c) !== j);
    if (twice !== undefined) throw new ParamError(at, `control "${twice}" is listed twice in one control set; list it once`);
    const bad = cs.find((c) => c === base.treat || (values.y as string[]).includes(c) || c === base.y);
    if (bad !== undefined) throw new ParamError(at, `control "${bad}" is also the treatment or an outcome; remove it from the control set`);
  }

  // ---- the base specification and its place in the grid ----
  const baseSample = samples.findIndex((s) => sameSample(s, base));
  if (baseSample < 0) samples.push({ name: '(base)', where: base.where, exclude: base.exclude });
  const baseValues: Record<ChoiceKey, string> = {
    y: label('y', base.y),
    controls: label('controls', base.controls),
    fe: label('fe', base.fe),
    cluster: label('cluster', base.cluster ?? []),
    sample: baseSample >= 0 ? samples[baseSample]!.name : '(base)',
    estimator: 'twfe',
  };
  const baseIdx = CHOICE_KEYS.map((k) => labels[k].indexOf(baseValues[k]));
  const baseInGrid = baseIdx.every((i) => i >= 0);

  // ---- highlight: choice values, each among the declared choices ----
  const hl = params.highlight;
  const hlIdx: [number, number][] = [];
  for (const k of CHOICE_KEYS) {
    if (hl[k] === undefined) continue;
    const ki = CHOICE_KEYS.indexOf(k);
    if (!declared.includes(k)) throw new ParamError(['highlight', k], `highlight.${k}: ${k} is not among the choices (${declared.join(', ') || 'none declared'}); highlight by a declared choice`);
    const l = label(k, k === 'fe' || k === 'cluster' ? asList(hl[k] as string | string[]) : hl[k]);
    const vi = labels[k].indexOf(l);
    if (vi < 0) throw new ParamError(['highlight', k], `highlight.${k} is "${l}", which is not one of choices.${k}: ${labels[k].map((x) => `"${x}"`).join(', ')}`);
    hlIdx.push([ki, vi]);
  }
  if (hlIdx.length === 0 && !baseInGrid)
    ctx.warn(`the base specification (${CHOICE_KEYS.filter((k, i) => baseIdx[i]! < 0).map((k) => `${k} ${baseValues[k]}`).join('; ')}) is not among the combinations of the choices: nothing is highlighted; it is estimated for the summary only`);

  // ---- the specifications: the grid, then the base when it is not in it ----
  const combos = [...product(CHOICE_KEYS.map((k) => values[k]))];
  const toDef = (combo: number[], sample: number): SpecDef => {
    const cluster = values.cluster[combo[3]!] as string[];
    let vcov: VcovType;
    try {
      vcov = resolveVcov(cluster, base.vcov);
    } catch (e) {
      throw new ParamError(choices.cluster ? ['choices', 'cluster'] : ['base', 'vcov'], (e as Error).message);
    }
    return { y: values.y[combo[0]!] as string, x: [base.treat, ...(values.controls[combo[1]!] as string[])], fe: values.fe[combo[2]!] as string[], cluster, vcov, sample };
  };
  const defs = combos.map((c) => toDef(c, c[4]!));
  const nGrid = defs.length;
  if (!baseInGrid)
    defs.push({ y: base.y, x: [base.treat, ...base.controls], fe: asList(base.fe), cluster: asList(base.cluster), vcov: resolveVcov(asList(base.cluster), base.vcov), sample: baseSample >= 0 ? baseSample : samples.length - 1 });

  // ---- groups: same sample, fixed effects and complete cases → demeaned once ----
  // the columns the specifications and samples use: the table the samples filter and the workers get
  const needed = new Set<string>([...(base.weights ? [base.weights] : [])]);
  for (const d of defs) for (const c of [d.y, ...d.x, ...d.fe, ...d.cluster]) needed.add(c);
  for (const s of samples) for (const c of [...Object.keys(s.where ?? {}), ...Object.keys(s.exclude ?? {})]) needed.add(c);
  const slim = makeTable(Object.fromEntries([...needed].map((c) => [c, table.columns[c]!])), table.names.filter((c) => needed.has(c)));
  const filtered = samples.map((s) => {
    const t = applyFilters(slim, s.where, s.exclude);
    if (t.nrows === 0) throw new ParamError(s.name === 'base' || s.name === '(base)' ? ['base'] : ['choices', 'sample', s.name], `sample "${s.name}" has no rows after its where/exclude filters`);
    return t;
  });
  const missingMemo = new Map<string, Int32Array>();
  /** Rows (of the filtered sample) with a missing value of `col` (a zero weight for the weights), as prepareRegression drops them. */
  const missingRows = (si: number, col: string): Int32Array => {
    const key = `${si}\u0000${col}`;
    let r = missingMemo.get(key);
    if (r) return r;
    const c = filtered[si]!.columns[col]!;
    const zero = col === base.weights;
    const out: number[] = [];
    if (isNumeric(c)) for (let i = 0; i < c.length; i++) { if (Number.isNaN(c[i]!) || (zero && c[i] === 0)) out.push(i); }
    else for (let i = 0; i < c.length; i++) if (c[i] === null) out.push(i);
    missingMemo.set(key, (r = Int32Array.from(out)));
    return r;
  };
  if (base.weights) {
    const wc = table.columns[base.weights] as Float64Array;
    const neg = wc.findIndex((v) => v < 0);
    if (neg >= 0) throw new ParamError(['base', 'weights'], `weights column "${base.weights}" has a negative value (${wc[neg]}) at row ${neg + 1}; weights must be >= 0`);
  }
  const groups: GroupDef[] = [];
  const groupSpecs: number[][] = [];
  const groupKey = new Map<string, number>();
  // the complete cases of a specification depend only on which of its columns have missing values
  // in its sample: that set gives the rows left out, and (with the sample and the fixed effects)
  // the rows left out give the group
  const gapsMemo = new Map<string, { miss: string; rows: Int32Array }>();
  defs.forEach((d, si) => {
    const cols = [...new Set([d.y, ...d.x, ...d.fe, ...d.cluster, ...(base.weights ? [base.weights] : [])])];
    const gaps = cols.filter((c) => missingRows(d.sample, c).length > 0).sort();
    const gk = `${d.sample}\u0000${gaps.join('\u0001')}`;
    let cc = gapsMemo.get(gk);
    if (!cc) {
      const n0 = filtered[d.sample]!.nrows;
      const ok = new Uint8Array(n0).fill(1);
      for (const c of gaps) for (const i of missingRows(d.sample, c)) ok[i] = 0;
      let m = 0;
      for (let i = 0; i < n0; i++) m += ok[i]!;
      if (m === 0) throw new StepError(`specification ${si + 1}: every row of sample "${samples[d.sample]!.name}" has a missing value in one of ${cols.join(', ')}`);
      const rows = new Int32Array(m);
      const miss = new Int32Array(n0 - m);
      for (let i = 0, a = 0, b = 0; i < n0; i++) if (ok[i]) rows[a++] = i; else miss[b++] = i;
      gapsMemo.set(gk, (cc = { miss: miss.join(','), rows }));
    }
    const key = `${d.sample}\u0000${d.fe.join('\u0001')}\u0000${cc.miss}`;
    let g = groupKey.get(key);
    if (g === undefined) {
      groupKey.set(key, (g = groups.length));
      groups.push({ sample: d.sample, fe: d.fe, numeric: [], clusters: [], rows: cc.rows });
      groupSpecs.push([]);
    }
    const gd = groups[g]!;
    for (const c of [d.y, ...d.x]) if (!gd.numeric.includes(c)) gd.numeric.push(c);
    for (const c of d.cluster) if (!gd.clusters.includes(c)) gd.clusters.push(c);
    groupSpecs[g]!.push(si);
  });

  // ---- fit: chunks of a group, in the thread budget ----
  const specGroup = new Int32Array(defs.length);
  groupSpecs.forEach((specs, g) => specs.forEach((si) => (specGroup[si] = g)));
  const shared: SpecCurveShared = { table: slim, samples, groups, specs: defs, specGroup, weights: base.weights ?? null, keepSingletons: base.keep_singletons, level: base.level };
  // fixed chunks of CHUNK specifications in group order (a group may span two chunks)
  const order = groupSpecs.flat();
  const chunks: Chunk[] = [];
  for (let s = 0; s < order.length; s += CHUNK) chunks.push(order.slice(s, s + CHUNK));
  const total = defs.length;
  ctx.info(`${nGrid} specifications in ${groups.length} group(s) of shared sample and fixed effects${baseInGrid ? '' : ', plus the base'}`);
  ctx.progress(0, total, 'specifications');
  // one thread in the budget: the chunks run here (a worker would only add its start-up and the copy of `shared`)
  let parts: ChunkResult[];
  if (ctx.threads > 1) parts = await ctx.map<Chunk, ChunkResult>('fit', chunks, shared, { progress: 'spec-curve chunks' });
  else {
    parts = [];
    let done = 0;
    for (const c of chunks) {
      parts.push(fitChunk(c, shared));
      ctx.progress((done += c.length), total, 'specifications');
    }
  }
  ctx.progress(total, total, 'specifications');
  const res = FIELDS.map(() => new Float64Array(total));
  const why: (string | null)[] = new Array(total).fill(null);
  parts.forEach((r, c) =>
    chunks[c]!.forEach((si, j) => {
      FIELDS.forEach((_, q) => (res[q]![si] = r.values[j * FIELDS.length + q]!));
      why[si] = r.why[j]!;
    }),
  );

  // ---- outputs ----
  const empty = why.slice(0, nGrid).map((w, i) => [i, w] as const).filter(([, w]) => w !== null);
  if (empty.length > 0) ctx.warn(`${empty.length} of ${nGrid} specification(s) have no estimate (left out of the summary): spec ${empty[0]![0] + 1}: ${empty[0]![1]}${empty.length > 1 ? ', …' : ''}`);
  const baseRow = baseInGrid ? combos.findIndex((c) => c.every((v, i) => v === baseIdx[i])) : nGrid;
  const hlRows = new Float64Array(nGrid);
  combos.forEach((c, i) => (hlRows[i] = hlIdx.length ? (hlIdx.every(([k, v]) => c[k] === v) ? 1 : 0) : i === baseRow ? 1 : 0));
  const cols: Record<string, Float64Array | (string | null)[]> = { spec: Float64Array.from({ length: nGrid }, (_, i) => i + 1) };
  for (const k of declared) cols[k] = combos.map((c) => labels[k][c[CHOICE_KEYS.indexOf(k)]!]!);
  FIELDS.forEach((f, q) => (cols[f] = res[q]!.slice(0, nGrid)));
  cols.base = Float64Array.from({ length: nGrid }, (_, i) => (i === baseRow ? 1 : 0));
  cols.highlight = hlRows;
  const specs = makeTable(cols);

  const at = (q: (typeof FIELDS)[number], i: number) => res[FIELDS.indexOf(q)]![i]!;
  const sum = summarizeCurve(res[0]!.subarray(0, nGrid), res[4]!.subarray(0, nGrid), at('estimate', baseRow), ALPHA);
  const summary: SpecCurveSummary = {
    treat: base.treat,
    specs: nGrid,
    valid: sum.valid,
    groups: groups.length,
    level: base.level,
    alpha: ALPHA,
    choices: Object.fromEntries(declared.map((k) => [k, labels[k]])),
    base: {
      in_grid: baseInGrid,
      spec: baseInGrid ? baseRow + 1 : null,
      values: Object.fromEntries(declared.map((k) => [k, baseValues[k]])),
      ...Object.fromEntries(FIELDS.map((f) => [f, at(f, baseRow)])),
      why: why[baseRow] ?? null,
    } as SpecCurveSummary['base'],
    highlight: Array.from(hlRows).flatMap((h, i) => (h ? [i + 1] : [])),
    share_same_sign: sum.share_same_sign,
    share_significant: sum.share_significant,
    share_significant_same_sign: sum.share_significant_same_sign,
    median: sum.median,
    range: [sum.min, sum.max],
  };
  return { specs: { type: 'table', table: specs }, summary: { type: 'json', value: summary } };
}
