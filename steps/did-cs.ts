/**
 * `did-cs`: Callaway & Sant'Anna (2021) group-time ATTs and their aggregations, as R
 * `did::att_gt` + `did::aggte` (numerics in stats/did-cs.ts).
 *
 * @example
 * cs_never:
 *   kind: did-cs
 *   in: panel
 *   with: {y: so2, unit: city_code, time: year, adopt: adopt, control: never, covariates: [pgdp], est: dr,
 *          bootstrap: {reps: 999}}
 *
 * The panel must be balanced after `where`/`exclude` and dropping rows with a missing y/covariate
 * (units not observed in every period are dropped, with a warning, as did does). `adopt` is the first
 * treated period (constant within unit; 0 or missing = never treated; after the last period = never
 * treated within the sample, as did). Outputs: `attgt` (table), `dynamic` (event-study contract),
 * `simple`, `group`, `calendar` (model contract, `term: ATT` first), `pretest` (Wald χ² of the
 * pre-treatment ATT(g,t), did's W/Wpval). With `bootstrap.reps > 0` the SEs are did's multiplier-
 * bootstrap SEs and the bands use the sup-t critical value; with 0 the SEs are analytic and the band
 * equals the pointwise interval. `vcov.matrix` of `dynamic` is always the analytic IF covariance.
 */
import { CONTRACT } from './common/contracts.js';
import { z } from 'zod';
import { defineStep, StepError, type Artifact, type StepContext } from '../engine/types.js';
import { isNumeric, makeTable, type Table } from '../engine/table.js';
import { tPValue } from '../stats/dist.js';
import { applyFilters, whereSchema, excludeSchema } from './common/filter.js';
import { spdInverse } from '../stats/linalg.js';
import { aggregate, attGt, bootDraws, bootStats, chi2Upper, CsError, ifSe, ifVcov, multiplierDraws, pretest, qnorm, type AggResult, type AggType, type BootResult, type CsFit } from '../stats/did-cs.js';

export const didCsParams = z.strictObject({
  y: z.string().min(1).describe('outcome column (numeric)'),
  unit: z.string().min(1).describe('unit column (e.g. city_code)'),
  time: z.string().min(1).describe('time column (numeric, e.g. year)'),
  adopt: z.string().min(1).describe('first treated period per unit (constant within unit); 0 or missing = never treated'),
  cluster: z.string().optional().describe('cluster column, constant within unit (default: the unit column)'),
  where: whereSchema.optional(),
  exclude: excludeSchema.optional(),
  control: z.enum(['never', 'notyet']).default('never').describe('comparison units: never treated, or never + not yet treated'),
  base: z.enum(['varying', 'universal']).default('varying').describe('base period: varying (t−1 before treatment) or universal (g−1−anticipation)'),
  anticipation: z.number().int().min(0).default(0).describe('periods of anticipation (default 0)'),
  covariates: z.array(z.string()).default([]).describe('covariate columns (numeric; the value of the earlier period of each 2×2 is used)'),
  est: z.enum(['reg', 'ipw', 'dr']).default('dr').describe('2×2 estimator with covariates: reg (outcome regression), ipw (normalized IPW), dr (doubly robust, default)'),
  bootstrap: z
    .strictObject({
      reps: z.number().int().min(0).default(999).describe('multiplier bootstrap draws (0 = analytic SEs only)'),
      weights: z.enum(['mammen', 'rademacher']).default('mammen').describe('multiplier weights: mammen (default) or rademacher (did ≥ 2.2 / BMisc)'),
    })
    .default({ reps: 999, weights: 'mammen' })
    .describe('multiplier bootstrap'),
  balance_e: z.number().int().min(0).optional().describe('dynamic: keep cohorts observed for at least balance_e periods after treatment'),
  min_e: z.number().int().optional().describe('dynamic: first event time reported'),
  max_e: z.number().int().optional().describe('dynamic: last event time reported'),
  level: z.number().gt(0).lt(1).default(0.95).describe('confidence level (default 0.95)'),
});
export type DidCsParams = z.infer<typeof didCsParams>;

/** Build the unit-major balanced panel of stats/did-cs.ts from a long table, with did's input checks. */
export function buildPanel(table: Table, p: DidCsParams, warn: (m: string) => void) {
  const need = [p.y, p.unit, p.time, p.adopt, ...p.covariates, ...(p.cluster ? [p.cluster] : [])];
  for (const c of need) if (!(c in table.columns)) throw new StepError(`column "${c}" not found in the input table; columns are: ${table.names.join(', ')}`);
  for (const [c, what] of [[p.y, 'params.y'], [p.time, 'params.time'], [p.adopt, 'params.adopt'], ...p.covariates.map((c) => [c, 'params.covariates'])] as [string, string][]) {
    if (!isNumeric(table.columns[c]!)) throw new StepError(`column "${c}" (${what}) must be numeric; convert it in a clean step`);
  }
  const y = table.columns[p.y] as Float64Array;
  const tc = table.columns[p.time] as Float64Array;
  const ac = table.columns[p.adopt] as Float64Array;
  const xs = p.covariates.map((c) => table.columns[c] as Float64Array);
  const uc = table.columns[p.unit]!;
  const key = (i: number): string | null => {
    const v = uc[i];
    return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? null : String(v);
  };
  const cc = p.cluster ? table.columns[p.cluster]! : null;
  const ckey = (i: number): string | null => {
    if (!cc) return null;
    const v = cc[i];
    return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)) ? null : String(v);
  };
  // adopt: constant within unit (missing counts as 0 = never)
  const unitAdopt = new Map<string, { a: number; row: number }>();
  const seen = new Map<string, { vals: Map<number, number>; zeroAfter: number; zeroRow: number }>();
  const unitCluster = new Map<string, string>();
  for (let i = 0; i < table.nrows; i++) {
    const u = key(i);
    if (u === null) continue;
    const a = Number.isNaN(ac[i]!) ? 0 : ac[i]!;
    if (a < 0) throw new StepError(`params.adopt column "${p.adopt}" is negative (${a}) at row ${i + 1}; use the first treated period, or 0/empty for never treated`);
    let st = seen.get(u);
    if (!st) seen.set(u, (st = { vals: new Map(), zeroAfter: -1, zeroRow: -1 }));
    if (a !== 0) {
      if (!st.vals.has(a)) st.vals.set(a, i);
    } else if (st.zeroRow < 0 || tc[i]! > tc[st.zeroAfter]!) {
      st.zeroRow = i;
      st.zeroAfter = i;
    }
    if (cc) {
      const c = ckey(i);
      if (c === null) throw new StepError(`params.cluster column "${p.cluster}" is missing at row ${i + 1}`);
      const pc = unitCluster.get(u);
      if (pc === undefined) unitCluster.set(u, c);
      else if (pc !== c) throw new StepError(`params.cluster column "${p.cluster}" varies within unit ${u}; the cluster must contain whole units (e.g. a region or province column)`);
    }
  }
  for (const [u, st] of seen) {
    const vals = [...st.vals];
    if (vals.length > 1)
      throw new StepError(`params.adopt column "${p.adopt}" varies within unit ${u} (${vals[0]![0]} at row ${vals[0]![1] + 1}, ${vals[1]![0]} at row ${vals[1]![1] + 1}); adopt must be the unit's first treated period, the same in every row`);
    if (vals.length === 1 && st.zeroRow >= 0) {
      const [a, r1] = vals[0]!;
      const r0 = st.zeroRow;
      if (tc[r0]! >= a)
        throw new StepError(
          `treatment switches off for unit ${u}: params.adopt column "${p.adopt}" is ${a} at row ${r1 + 1} but 0/missing at row ${r0 + 1} (${p.time} ${tc[r0]}, after adoption). ` +
            'did-cs needs irreversible (staggered) adoption: give every row of a unit its first treated period, or drop units whose treatment ends.',
        );
      throw new StepError(`params.adopt column "${p.adopt}" varies within unit ${u} (0/missing at row ${r0 + 1}, ${a} at row ${r1 + 1}); give every row of the unit its first treated period (0 or missing in every row = never treated)`);
    }
    unitAdopt.set(u, vals.length ? { a: vals[0]![0], row: vals[0]![1] } : { a: 0, row: st.zeroRow });
  }
  // complete rows
  const periodsSet = new Set<number>();
  const rowsByUnit = new Map<string, Map<number, number>>();
  let missing = 0;
  for (let i = 0; i < table.nrows; i++) {
    const u = key(i);
    const t = tc[i]!;
    if (u === null || Number.isNaN(t) || Number.isNaN(y[i]!) || xs.some((x) => Number.isNaN(x[i]!))) {
      missing++;
      continue;
    }
    periodsSet.add(t);
    let m = rowsByUnit.get(u);
    if (!m) rowsByUnit.set(u, (m = new Map()));
    if (m.has(t)) throw new StepError(`unit ${u} has two rows for ${p.time} = ${t} (rows ${m.get(t)! + 1} and ${i + 1}); the panel needs one row per unit and period`);
    m.set(t, i);
  }
  const periods = [...periodsSet].sort((a, b) => a - b);
  const T = periods.length;
  if (T < 2) throw new StepError(`at least two periods are needed, found ${T}`);
  const units = [...rowsByUnit.keys()].filter((u) => rowsByUnit.get(u)!.size === T);
  const dropped = rowsByUnit.size - units.length;
  if (dropped > 0) warn(`dropped ${dropped} unit(s) not observed (with y${p.covariates.length ? ' and covariates' : ''}) in all ${T} periods, to balance the panel (as did)`);
  const n = units.length;
  const Y = new Float64Array(n * T);
  const G = new Float64Array(n);
  const X = xs.map(() => new Float64Array(n * T));
  const clusterIds = new Map<string, number>();
  const cluster = new Int32Array(n);
  const lastP = periods[T - 1]!;
  const periodSet = new Set(periods);
  units.forEach((u, i) => {
    const m = rowsByUnit.get(u)!;
    periods.forEach((t, j) => {
      const r = m.get(t)!;
      Y[i * T + j] = y[r]!;
      xs.forEach((x, c) => (X[c]![i * T + j] = x[r]!));
    });
    const { a, row } = unitAdopt.get(u)!;
    if (a !== 0 && a <= lastP + p.anticipation && !periodSet.has(a))
      throw new StepError(`params.adopt column "${p.adopt}" has ${a} for unit ${u} (row ${row + 1}), which is not an observed ${p.time} (${periods[0]}–${lastP}: ${periods.join(', ')}); adopt must be the first treated period`);
    G[i] = a;
    if (cc) {
      const c = unitCluster.get(u)!;
      if (!clusterIds.has(c)) clusterIds.set(c, clusterIds.size);
      cluster[i] = clusterIds.get(c)!;
    } else cluster[i] = i;
  });
  if (n === 0) throw new StepError(`no unit is observed in every period`);
  return { panel: { nUnits: n, periods, y: Y, g: G, X, cluster }, units, missing, droppedUnits: dropped, nClusters: cc ? clusterIds.size : n };
}

/** Checks of the design that did turns into warnings or silent drops, as errors naming the fix. */
export function checkDesign(panel: { nUnits: number; periods: number[]; g: Float64Array }, p: DidCsParams): void {
  const first = panel.periods[0]!, last = panel.periods[panel.periods.length - 1]!;
  const sizes = new Map<number, number>();
  for (const a of panel.g) {
    const gg = a > last + p.anticipation ? 0 : a;
    sizes.set(gg, (sizes.get(gg) ?? 0) + 1);
  }
  for (const [gg, m] of sizes) {
    if (gg !== 0 && gg <= first + p.anticipation)
      throw new StepError(
        `${m} unit(s) of cohort ${gg} are treated in the first period ${first}${p.anticipation ? ` (with anticipation ${p.anticipation})` : ''}, so they have no pre-treatment period; drop them (e.g. exclude: {${p.adopt}: [${gg}]}) or start the panel earlier`,
      );
  }
  if (p.control === 'never' && !sizes.has(0))
    throw new StepError(`no never-treated unit (params.adopt 0 or missing, or after the last period ${last}) but params.control is "never"; use control: notyet`);
  // too few units for the method: the comparison units' outcome regression (reg, dr) has k = covariates + 1
  // parameters; the propensity-score logit (ipw, dr) with covariates needs a cohort larger than k, or it
  // (nearly) separates the cohort and did reports NA for its cells (overlap check).
  if (p.covariates.length > 0) {
    const k = p.covariates.length + 1;
    const bad = (gg: number, m: number) => {
      const what = gg === 0 ? 'the never-treated group' : `cohort ${gg}`;
      const fix = gg === 0 ? 'use control: notyet, fewer covariates, or no covariates' : `drop it with exclude: {${p.adopt}: [${gg}]}, use fewer covariates${p.est === 'reg' ? '' : ', or est: reg'}`;
      return new StepError(`${what} has ${m} unit(s) with complete data in every period, too few for est: ${p.est} with ${p.covariates.length} covariate(s): at least ${k + 1} are needed (more units than the ${k} parameters of the ${gg === 0 || p.est === 'reg' ? 'outcome regression' : 'propensity-score logit'}); ${fix}`);
    };
    for (const [gg, m] of [...sizes].sort((a, b) => a[0] - b[0])) {
      if (gg === 0 ? p.control === 'never' && p.est !== 'ipw' && m < k + 1 : p.est !== 'reg' && m < k + 1) throw bad(gg, m);
    }
  }
}

const modelJson = (
  y: string,
  fit: CsFit,
  nObs: number,
  byCluster: string | null,
  term: (k: number) => string,
  agg: AggResult,
  ses: { overall: number; parts: number[] },
  crit: number,
  level: number,
  vcovType: string,
  extra: Record<string, unknown>,
) => {
  const z = qnorm(0.5 + level / 2);
  const coef = (t: string, est: number, se: number, band?: number) => {
    const ok = Number.isFinite(se);
    const zz = est / se;
    const p = ok ? tPValue(zz, Infinity) : null;
    return {
      term: t,
      estimate: est,
      se: ok ? se : null,
      t: ok ? zz : null,
      p,
      ci_low: ok ? est - z * se : null,
      ci_high: ok ? est + z * se : null,
      ...(band !== undefined ? { band_low: ok ? est - band * se : null, band_high: ok ? est + band * se : null } : {}),
    };
  };
  return {
    y,
    n: nObs,
    units: fit.n,
    clusters: fit.nClusters,
    r2: null,
    r2_within: null,
    fixed_effects: [],
    vcov: { type: vcovType, by: byCluster ? [byCluster] : null },
    estimator: 'callaway-santanna',
    aggregation: agg.type,
    coefficients: [coef('ATT', agg.overall.att, ses.overall), ...agg.parts.map((pp, j) => coef(term(pp.key), pp.att, ses.parts[j]!, crit))],
    crit_uniform: agg.parts.length ? crit : null,
    dropped: {},
    ...extra,
  };
};

export default defineStep({
  kind: 'did-cs',
  doc: "Callaway & Sant'Anna (2021) staggered DiD as R did::att_gt + aggte: ATT(g,t) with never/not-yet-treated comparison units, covariates by outcome regression, IPW or doubly robust 2×2s, influence-function and multiplier-bootstrap SEs, uniform bands; simple/group/calendar/dynamic aggregations and the pre-test of parallel trends.",
  params: didCsParams,
  inputs: { panel: { type: 'table', doc: 'the long panel (one row per unit and period)' } },
  outputs: { attgt: 'table', dynamic: { type: 'json', contract: CONTRACT.eventStudy }, simple: { type: 'json', contract: CONTRACT.model }, group: { type: 'json', contract: CONTRACT.model }, calendar: { type: 'json', contract: CONTRACT.model }, pretest: 'json' },
  cpu: true,
  async run(ctx: StepContext, inputs, params): Promise<Record<string, Artifact>> {
    return runDidCs(ctx, inputs, params);
  },
});

export async function runDidCs(ctx: StepContext, inputs: Record<string, Artifact | Artifact[] | undefined>, params: DidCsParams): Promise<Record<string, Artifact>> {
  const art = inputs.panel;
  if (!art || Array.isArray(art) || art.type !== 'table') throw new StepError(`input "panel" must be one table`);
  const table = applyFilters(art.table, params.where, params.exclude);
  if (table.nrows === 0) throw new StepError(`no rows left after where/exclude filters`);
  const built = buildPanel(table, params, (m) => ctx.warn(m));
  const panel = built.panel;
  checkDesign(panel, params);
  const opt = { control: params.control, base: params.base, anticipation: params.anticipation, est: params.est };
  let fit: CsFit;
  const reps = params.bootstrap.reps;
  try {
    fit = attGt(panel, opt, (d, t) => ctx.progress(d, t + (reps > 0 ? 1 : 0), 'ATT(g,t)'));
  } catch (e) {
    if (e instanceof CsError) throw new StepError(`${e.message}`);
    throw e;
  }
  const n = fit.n;
  const alpha = 1 - params.level;
  const z = qnorm(1 - alpha / 2);
  const K = fit.cells.length;
  const col = (k: number) => fit.inf.subarray(k * n, (k + 1) * n);
  const seA = fit.cells.map((_, k) => ifSe(col(k), fit.cluster, fit.nClusters));
  // bootstrap: one matrix of multipliers (reps × clusters) shared by every quantity
  let V: Float64Array | null = null;
  if (reps > 0) {
    const rng = ctx.rng('mboot');
    V = multiplierDraws(reps, fit.nClusters, () => rng.uniform(), params.bootstrap.weights);
  }
  const aggOpt = { balance_e: params.balance_e, min_e: params.min_e, max_e: params.max_e };
  const types = ['simple', 'group', 'calendar', 'dynamic'] as const;
  const aggs = {} as Record<AggType, AggResult>;
  for (const type of types) {
    try {
      aggs[type] = aggregate(fit, type, type === 'dynamic' ? aggOpt : {});
    } catch (e) {
      if (e instanceof CsError) throw new StepError(`${type} aggregation: ${e.message}`);
      throw e;
    }
  }
  // every IF column that gets a bootstrap SE, drawn in one pass: cells, then per aggregation its parts and overall
  const allCols: Float64Array[] = fit.cells.map((_, k) => col(k));
  const cellIdx = allCols.map((_, k) => k);
  const slots = {} as Record<AggType, { parts: number[]; overall: number }>;
  for (const type of types) {
    const parts = aggs[type].parts.map((pp) => allCols.push(pp.inf) - 1);
    slots[type] = { parts, overall: allCols.push(aggs[type].overall.inf) - 1 };
  }
  const bres = V ? bootDraws(allCols, fit.cluster, fit.nClusters, V, reps) : null;
  const boot = (which: number[]): BootResult | null => (bres ? bootStats(bres, reps, which, fit.nClusters, n, alpha) : null);
  const bc = boot(cellIdx);
  const seCell = seA.map((s, k) => (bc && Number.isFinite(s) ? bc.se[k]! : s));
  const critCell = bc && Number.isFinite(bc.crit) ? bc.crit : z;
  const fin = (v: number) => (Number.isFinite(v) ? v : NaN);
  const attgt = makeTable({
    group: Float64Array.from(fit.cells, (c) => c.group),
    time: Float64Array.from(fit.cells, (c) => c.time),
    base_period: Float64Array.from(fit.cells, (c) => c.base),
    post: Float64Array.from(fit.cells, (c) => (c.post ? 1 : 0)),
    att: Float64Array.from(fit.cells, (c) => c.att),
    se: Float64Array.from(seCell, fin),
    ci_low: Float64Array.from(fit.cells, (c, k) => c.att - z * seCell[k]!),
    ci_high: Float64Array.from(fit.cells, (c, k) => c.att + z * seCell[k]!),
    band_low: Float64Array.from(fit.cells, (c, k) => c.att - critCell * seCell[k]!),
    band_high: Float64Array.from(fit.cells, (c, k) => c.att + critCell * seCell[k]!),
    se_analytic: Float64Array.from(seA, fin),
    n_treated: Float64Array.from(fit.cells, (c) => c.nTreated),
    n_control: Float64Array.from(fit.cells, (c) => c.nControl),
  });
  const nObs = n * fit.periods.length;
  const byCluster = params.cluster ?? params.unit;
  const vcovType = reps > 0 ? 'multiplier-bootstrap' : 'influence-function';
  const seOf = (agg: AggResult, type: AggType) => {
    const partCols = agg.parts.map((p) => p.inf);
    const ba = boot(slots[type].parts);
    const bo = boot([slots[type].overall]);
    const sA = ifSe(agg.overall.inf, fit.cluster, fit.nClusters);
    const pA = partCols.map((c) => ifSe(c, fit.cluster, fit.nClusters));
    return {
      overall: bo && Number.isFinite(sA) ? bo.se[0]! : sA,
      parts: pA.map((s, j) => (ba && Number.isFinite(s) ? ba.se[j]! : s)),
      partsAnalytic: pA,
      overallAnalytic: sA,
      crit: ba && Number.isFinite(ba.crit) && ba.crit >= z ? ba.crit : z,
    };
  };
  const common = { control: params.control, base_period: params.base, anticipation: params.anticipation, est: params.est, covariates: params.covariates, bootstrap: reps > 0 ? { reps, weights: params.bootstrap.weights } : null, level: params.level };
  const out: Record<string, Artifact> = { attgt: { type: 'table', table: attgt } };
  let dynamicAgg: AggResult | null = null;
  for (const type of types) {
    const agg = aggs[type];
    const s = seOf(agg, type);
    if (type === 'dynamic') {
      dynamicAgg = agg;
      const baseE = params.base === 'universal' ? -1 - params.anticipation : null;
      const est = agg.parts.filter((p) => p.key !== baseE);
      const estIdx = agg.parts.flatMap((p, j) => (p.key !== baseE ? [j] : []));
      const Vm = ifVcov(est.map((p) => p.inf), fit.cluster, fit.nClusters);
      const q = est.length;
      const periods = agg.parts.map((p, j) => {
        if (p.key === baseE) return { period: p.key, estimate: 0, se: 0, ci_low: 0, ci_high: 0, band_low: 0, band_high: 0, base: true };
        const se = s.parts[j]!;
        const ok = Number.isFinite(se);
        return {
          period: p.key,
          estimate: p.att,
          se: ok ? se : null,
          se_analytic: Number.isFinite(s.partsAnalytic[j]!) ? s.partsAnalytic[j]! : null,
          ci_low: ok ? p.att - z * se : null,
          ci_high: ok ? p.att + z * se : null,
          band_low: ok ? p.att - s.crit * se : null,
          band_high: ok ? p.att + s.crit * se : null,
          base: false,
        };
      });
      // pre-trend: Wald χ² of the pre-period dynamic estimates (analytic covariance)
      const pre = estIdx.map((j, r) => ({ j, r })).filter(({ j }) => agg.parts[j]!.key < 0 && Number.isFinite(s.partsAnalytic[j]!));
      let pretrend: Record<string, unknown> = { stat: null, df1: pre.length, df2: null, p: null, test: 'wald-chi2 (stat = chi2/df1, an F with df2 = ∞)', periods: pre.map(({ j }) => agg.parts[j]!.key) };
      if (pre.length) {
        const qq = pre.length;
        const Vp = new Float64Array(qq * qq);
        pre.forEach((a, i) => pre.forEach((b, j) => (Vp[i * qq + j] = Vm[a.r * q + b.r]!)));
        try {
          const inv = spdInverse(Vp, qq);
          const th = pre.map(({ j }) => agg.parts[j]!.att);
          let W = 0;
          for (let a = 0; a < qq; a++) for (let b = 0; b < qq; b++) W += th[a]! * inv[a * qq + b]! * th[b]!;
          pretrend = { ...pretrend, stat: W / qq, chi2: W, p: chi2Upper(W, qq) }; // F(q, ∞) form of the Wald χ²(q)
        } catch {
          pretrend = { ...pretrend, note: 'singular covariance of the pre-period estimates' };
        }
      }
      const matrix: number[][] = [];
      for (let a = 0; a < q; a++) matrix.push(Array.from(Vm.subarray(a * q, (a + 1) * q)));
      out.dynamic = {
        type: 'json',
        value: {
          y: params.y,
          n: nObs,
          units: n,
          clusters: fit.nClusters,
          base: baseE,
          estimator: 'callaway-santanna',
          periods,
          vcov: { type: 'influence-function', by: [byCluster], periods: est.map((p) => p.key), matrix },
          pretrend,
          overall: { term: 'ATT', estimate: agg.overall.att, se: Number.isFinite(s.overall) ? s.overall : null, se_analytic: Number.isFinite(s.overallAnalytic) ? s.overallAnalytic : null },
          crit_uniform: s.crit,
          balance_e: params.balance_e ?? null,
          min_e: params.min_e ?? null,
          max_e: params.max_e ?? null,
          ...common,
        },
      };
      continue;
    }
    const term = type === 'group' ? (k: number) => `g${k}` : (k: number) => `t${k}`;
    out[type] = { type: 'json', value: modelJson(params.y, fit, nObs, byCluster, term, agg, s, s.crit, params.level, vcovType, { ...common, se_analytic: { ATT: fin(s.overallAnalytic), parts: s.partsAnalytic.map(fin) } }) };
  }
  void dynamicAgg;
  const pt = pretest(fit);
  out.pretest = { type: 'json', value: { test: 'wald-chi2', description: 'did::att_gt pre-test: W = θ′V⁻¹θ over the pre-treatment ATT(g,t) (group > time), χ²(df)', ...pt, stat: pt.W } };
  ctx.progress(1, 1, 'done');
  void K;
  return out;
}
