/**
 * Step `figure`: the paper's figures as SVG and PNG, drawn with Vega-Lite (rendered headless by vega)
 * and rasterised with resvg.
 *
 * - `type: event-study` (Figure 1): input `data` = an event-study artifact; coefficients with 95% CIs,
 *   base period marked, a dashed line at adoption, a zero line, the pre-trend test in the subtitle.
 * - `type: placebo` (Figure 2): input `data` = the placebo summary, `replicates` = the placebo table
 *   (columns estimate, p); density of the placebo estimates, scatter of their p-values, the observed
 *   estimate as a vertical line.
 *
 * - `type: event-study-overlay` (Figure 3): input `data` = a list of event-study artifacts; per period one
 *   point with its 95% CI per estimator, dodged, one legend (`legend` names them in input order).
 * - `type: bacon` (Figure 4): input `data` = bacon's `summary`, `pairs` = its `pairs` table; 2×2
 *   estimates against weights by comparison type, the TWFE estimate as a dashed line.
 * - `type: sensitivity` (Figure 5): input `data` = honest-did's `sensitivity` table, `original` = its
 *   `original` CI (optional `breakdown`); robust CI against M̄, the original CI at the left.
 *
 * - `type: spec-curve` (Figure 6): input `data` = a spec-curve `specs` table (optional `summary` = its
 *   summary, for the subtitle and the order of the choice values); estimates sorted with their CIs on
 *   top, the choice indicators below, the base (or `highlight`) in red (Simonsohn, Simmons & Nelson 2020).
 *
 * Output bytes are deterministic: no timestamps; fonts are loaded from fixed files (DejaVu Sans if installed).
 *
 * @example
 * figure1:
 *   kind: figure
 *   in: event_study
 *   with: {type: event-study, title: "Figure 1: Parallel trend test", period_labels: {"-10": "≤-10", "5": "≥5"}}
 *   publish: results/figure1
 * figure2:
 *   kind: figure
 *   in: {data: placebo.summary, replicates: placebo.replicates}
 *   with: {type: placebo, title: "Figure 2: Placebo test"}
 *   publish: results/figure2
 * figure3:                       # several event studies, dodged, one legend
 *   kind: figure
 *   in: {data: [event_study, cs_never.dynamic, sunab.event, imputation.event]}
 *   with: {type: event-study-overlay, legend: [TWFE, Callaway–Sant'Anna, Sun–Abraham, Imputation]}
 * figure4:                       # Goodman-Bacon decomposition
 *   kind: figure
 *   in: {data: bacon.summary, pairs: bacon.pairs}
 *   with: {type: bacon}
 * figure6:                       # specification curve
 *   kind: figure
 *   in: {data: spec_curve.specs, summary: spec_curve.summary}
 *   with: {type: spec-curve}
 * figure5:                       # HonestDiD sensitivity
 *   kind: figure
 *   in: {data: honest.sensitivity, original: honest.original, breakdown: honest.breakdown}
 *   with: {type: sensitivity}
 */
import { CONTRACT, type SpecCurveSummary } from './common/contracts.js';
import { z } from 'zod';
import { defineStep, StepError, type Artifact } from '../engine/types.js';
import { isNumeric, type Table } from '../engine/table.js';
import { eventStudySchema, parseArtifact, placeboSummarySchema } from './render/model.js';
import { baconSpec, eventStudyOverlaySpec, eventStudySpec, placeboSpec, renderSpec, sensitivitySpec, specCurveSpec, type BaconPair, type SensitivityRow, type SpecCurveRow, type ChartOptions } from './render/charts.js';

const params = z.strictObject({
  type: z
    .enum(['event-study', 'placebo', 'event-study-overlay', 'bacon', 'sensitivity', 'spec-curve'])
    .describe('which plot: event-study (input data = event study), placebo (data = summary, replicates = table), event-study-overlay (data = a list of event studies), bacon (data = bacon summary, pairs = bacon pairs), sensitivity (data = honest-did sensitivity, original = honest-did original), spec-curve (data = spec-curve specs, summary = its summary)'),
  legend: z.array(z.string()).optional().describe("event-study-overlay: legend labels, one per event study in input order (default: each artifact's estimator)"),
  window: z.tuple([z.number(), z.number()]).optional().describe('event-study and event-study-overlay: draw only the periods in [from, to] (default: every period of every estimator); the pre-trend test in the subtitle is still the whole event study\'s'),
  dodge: z.number().min(0).max(0.95).default(0.6).describe('event-study-overlay: horizontal spread of the estimators\' points within a period (default 0.6 periods)'),
  title: z.string().optional().describe('plot title'),
  subtitle: z.string().optional().describe('subtitle (default: the pre-trend test, or the placebo draws and randomization p)'),
  labels: z
    .strictObject({
      x: z.string().optional().describe('x-axis title'),
      y: z.string().optional().describe('y-axis title (placebo: the density axis)'),
      y2: z.string().optional().describe('placebo: the p-value axis title (default "p-value of each draw (dots)")'),
      marker: z.string().optional().describe('name of the marked point/line: base period (event study) or observed estimate (placebo)'),
    })
    .default({})
    .describe('axis and marker labels'),
  var_labels: z
    .record(z.string(), z.string())
    .default({})
    .describe('printed names of variables in default axis titles, e.g. {so2: SO2} gives "Effect on SO2" (the same map as describe\'s vars)'),
  width: z.number().int().min(100).max(3000).default(560).describe('plot width in px (default 560)'),
  height: z.number().int().min(80).max(3000).default(320).describe('plot height in px (default 320)'),
  scale: z.number().min(0.5).max(6).default(2).describe('PNG pixels per SVG px (default 2)'),
  adoption_at: z.number().default(-0.5).describe('event study: x of the dashed adoption line (default -0.5: between the last pre year and the adoption year 0)'),
  period_labels: z.record(z.string(), z.string()).default({}).describe('event study: tick labels of given periods, e.g. {"-10": "≤-10"} for binned endpoints'),
  p_line: z.number().min(0).max(1).default(0.1).describe('placebo: dotted reference line on the p-value axis (default 0.1)'),
  bandwidth: z.number().positive().optional().describe("placebo: KDE bandwidth (default Scott's rule)"),
  choice_labels: z.record(z.string(), z.string()).default({}).describe('spec-curve: printed names of the choice keys in the indicator rows, e.g. {fe: Fixed effects, sample: Sample}'),
});
type Params = z.infer<typeof params>;

function one(a: Artifact | Artifact[] | undefined, name: string): Artifact {
  if (a === undefined) throw new StepError(`input ${name} is missing; wire it with in: {${name}: <node>}`);
  if (Array.isArray(a)) {
    if (a.length !== 1) throw new StepError(`input ${name} takes one artifact, got ${a.length}`);
    return a[0]!;
  }
  return a;
}

/** The (estimate, p) pairs of a placebo replicate table. */
function replicatesOf(a: Artifact): { estimate: number; p: number | null }[] {
  if (a.type === 'json' && Array.isArray(a.value)) {
    return (a.value as Record<string, unknown>[]).map((r, i) => {
      if (typeof r.estimate !== 'number') throw new StepError(`replicates[${i}].estimate is not a number`);
      return { estimate: r.estimate, p: typeof r.p === 'number' ? r.p : null };
    });
  }
  if (a.type !== 'table') throw new StepError(`input replicates must be the placebo table (columns estimate, p), got a ${a.type} artifact`);
  const t = a.table;
  const est = t.columns.estimate;
  const p = t.columns.p;
  if (!est || !isNumeric(est)) throw new StepError(`replicates table has no numeric column "estimate"; columns are: ${t.names.join(', ')}`);
  if (!p || !isNumeric(p)) throw new StepError(`replicates table has no numeric column "p"; columns are: ${t.names.join(', ')}`);
  const out: { estimate: number; p: number | null }[] = [];
  for (let i = 0; i < t.nrows; i++) if (!Number.isNaN(est[i]!)) out.push({ estimate: est[i]!, p: Number.isNaN(p[i]!) ? null : p[i]! });
  if (out.length < 2) throw new StepError(`replicates table has ${out.length} non-missing estimates; a density needs at least 2`);
  return out;
}

/** The 2×2 comparisons of a bacon `pairs` table (columns type, treated, control, estimate, weight). */
function baconPairsOf(a: Artifact): BaconPair[] {
  if (a.type !== 'table') throw new StepError(`input pairs must be the bacon pairs table, got a ${a.type} artifact`);
  const t = a.table;
  for (const c of ['type', 'treated', 'control', 'estimate', 'weight'])
    if (!(c in t.columns)) throw new StepError(`input pairs has no column "${c}"; wire the pairs output of a bacon node (columns are: ${t.names.join(', ')})`);
  const num = (c: string) => {
    const col = t.columns[c]!;
    if (!isNumeric(col)) throw new StepError(`input pairs: column "${c}" is not numeric`);
    return col;
  };
  const type = t.columns.type!;
  const [tr, co, est, w] = [num('treated'), num('control'), num('estimate'), num('weight')];
  const out: BaconPair[] = [];
  for (let i = 0; i < t.nrows; i++) {
    if (Number.isNaN(est[i]!) || Number.isNaN(w[i]!)) continue;
    out.push({ type: String(type[i]), treated: tr[i]!, control: Number.isNaN(co[i]!) ? null : co[i]!, estimate: est[i]!, weight: w[i]! });
  }
  return out;
}

/** The rows of an honest-did `sensitivity` table (columns M, lb, ub; NaN bounds = empty set). */
function sensitivityRowsOf(t: Table): SensitivityRow[] {
  for (const c of ['M', 'lb', 'ub'])
    if (!(c in t.columns) || !isNumeric(t.columns[c]!)) throw new StepError(`input data has no numeric column "${c}"; wire the sensitivity output of an honest-did node (columns are: ${t.names.join(', ')})`);
  const [M, lb, ub] = ['M', 'lb', 'ub'].map((c) => t.columns[c] as Float64Array) as [Float64Array, Float64Array, Float64Array];
  if (t.nrows === 0) throw new StepError(`input data (sensitivity) has no rows`);
  return Array.from({ length: t.nrows }, (_, i) => ({ M: M[i]!, lb: Number.isNaN(lb[i]!) ? null : lb[i]!, ub: Number.isNaN(ub[i]!) ? null : ub[i]! }));
}

/** The spec-curve chart of a specs table (columns spec, choice columns, estimate, ci_low, ci_high, p, base, highlight). */
function specCurveFigure(t: Table, sum: SpecCurveSummary | null, p: Params, base: ChartOptions): ReturnType<typeof specCurveSpec> {
  const num = ['spec', 'estimate', 'se', 'ci_low', 'ci_high', 'p', 'n', 'base', 'highlight'];
  for (const c of ['spec', 'estimate', 'ci_low', 'ci_high', 'p', 'base', 'highlight'])
    if (!(c in t.columns) || !isNumeric(t.columns[c]!)) throw new StepError(`input data has no numeric column "${c}"; wire the specs output of a spec-curve node (columns are: ${t.names.join(', ')})`);
  const keys = t.names.filter((c) => !num.includes(c));
  if (keys.some((k) => isNumeric(t.columns[k]!))) throw new StepError(`input data: choice columns must be text; "${keys.find((k) => isNumeric(t.columns[k]!))}" is numeric (wire the specs output of a spec-curve node)`);
  const col = (c: string) => t.columns[c] as Float64Array;
  const rows: SpecCurveRow[] = Array.from({ length: t.nrows }, (_, i) => ({
    spec: col('spec')[i]!,
    values: Object.fromEntries(keys.map((k) => [k, String((t.columns[k] as (string | null)[])[i] ?? '')])),
    estimate: col('estimate')[i]!,
    ci_low: col('ci_low')[i]!,
    ci_high: col('ci_high')[i]!,
    p: col('p')[i]!,
    base: col('base')[i] === 1,
    highlight: col('highlight')[i] === 1,
  }));
  const choices = keys.map((key) => ({ key, values: sum?.choices?.[key] ?? [...new Set(rows.map((r) => r.values[key]!))] }));
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const f3 = (x: number) => (Math.abs(x) >= 0.01 || x === 0 ? x.toFixed(3) : x.toPrecision(3));
  const subtitle =
    p.subtitle ??
    (sum
      ? [
          `${sum.specs} specifications${sum.valid < sum.specs ? ` (${sum.valid} with an estimate)` : ''}: ${pct(sum.share_same_sign)} with the base's sign, ${pct(sum.share_significant)} significant at 5% (${pct(sum.share_significant_same_sign)} both)`,
          `median ${f3(sum.median)}, range ${f3(sum.range[0])} to ${f3(sum.range[1])}; base ${f3(sum.base.estimate)} (${sum.base.in_grid ? `spec ${sum.base.spec}` : 'not in the grid'})`,
        ]
      : undefined);
  return specCurveSpec(rows, { ...base, subtitle, choices, keyLabels: p.choice_labels, level: sum?.level });
}

export default defineStep<Params>({
  kind: 'figure',
  doc: 'Event-study (Figure 1), placebo (Figure 2), event-study overlay (Figure 3), Bacon decomposition (Figure 4), HonestDiD sensitivity (Figure 5) or specification-curve (Figure 6) plot, drawn with Vega-Lite, as SVG and PNG.',
  params,
  inputs: {
    data: {
      type: ['json', 'table'],
      many: true,
      accepts: (p: { type?: string }) =>
        p.type === 'placebo' ? [CONTRACT.placebo] : p.type === 'bacon' ? [CONTRACT.bacon] : p.type === 'sensitivity' ? [CONTRACT.honestSensitivity] : p.type === 'spec-curve' ? [CONTRACT.specCurveSpecs] : [CONTRACT.eventStudy],
      doc: 'event-study artifact (a list for event-study-overlay), the placebo summary, the bacon summary, the honest-did sensitivity table, or the spec-curve specs table',
    },
    replicates: { type: ['table', 'json'], optional: true, accepts: [CONTRACT.placeboReplicates], doc: 'placebo only: the replicate table (estimate, p)' },
    pairs: { type: 'table', optional: true, accepts: [CONTRACT.baconPairs], doc: 'bacon only: the 2×2 comparisons (bacon.pairs)' },
    original: { type: 'json', optional: true, accepts: [CONTRACT.honestOriginal], doc: 'sensitivity only: the original CI (honest-did original)' },
    breakdown: { type: 'json', optional: true, doc: 'sensitivity only: the breakdown value (honest-did breakdown), named in the subtitle' },
    summary: { type: 'json', optional: true, accepts: [CONTRACT.specCurve], doc: 'spec-curve only: the spec-curve summary (subtitle, order of the choice values)' },
  },
  outputs: { svg: 'file', png: 'file' },
  async run(ctx, inputs, p) {
    const base = { title: p.title, subtitle: p.subtitle, labels: p.labels, varLabels: p.var_labels, width: p.width, height: p.height };
    const only = (names: string[]) => {
      for (const n of ['replicates', 'pairs', 'original', 'breakdown', 'summary'])
        if (!names.includes(n) && inputs[n] !== undefined) throw new StepError(`input ${n} is not used by type: ${p.type}; remove it`);
    };
    if (p.legend !== undefined && p.type !== 'event-study-overlay') throw new StepError(`param legend is only for type: event-study-overlay; remove it`);
    if (p.window !== undefined && p.type !== 'event-study-overlay' && p.type !== 'event-study') throw new StepError(`param window is only for types event-study and event-study-overlay; remove it`);
    if (p.window && !(p.window[0] <= p.window[1])) throw new StepError(`param window is [${p.window.join(', ')}]; give [from, to] with from ≤ to`);
    let spec: Record<string, unknown>;
    if (p.type === 'event-study-overlay') {
      only([]);
      const list = inputs.data === undefined ? [] : Array.isArray(inputs.data) ? inputs.data : [inputs.data];
      if (list.length === 0) throw new StepError(`input data is empty; wire a list of event studies, e.g. in: {data: [event_study, sunab.event]}`);
      if (p.legend && p.legend.length !== list.length)
        throw new StepError(`param legend has ${p.legend.length} labels but ${list.length} event studies are wired; give one label per event study`);
      const series = list.map((a, i) => {
        if (a.type !== 'json') throw new StepError(`input data[${i}] is a ${a.type} artifact; an event study (json) is required`);
        const full = parseArtifact(eventStudySchema, a.value, `data[${i}] (event study)`);
        const es = p.window ? { ...full, periods: full.periods.filter((q) => q.period >= p.window![0] && q.period <= p.window![1]) } : full;
        const est = (a.value as { estimator?: unknown }).estimator;
        return { label: p.legend?.[i] ?? (typeof est === 'string' ? est : `Estimator ${i + 1}`), es };
      });
      const dup = series.map((s) => s.label).find((l, i, all) => all.indexOf(l) !== i);
      if (dup !== undefined) throw new StepError(`two event studies have the legend label "${dup}"; give distinct labels in param legend`);
      spec = eventStudyOverlaySpec(series, { ...base, adoptionAt: p.adoption_at, dodge: p.dodge, periodLabels: p.period_labels });
    } else if (p.type === 'spec-curve') {
      only(['summary']);
      const data = one(inputs.data, 'data');
      if (data.type !== 'table') throw new StepError(`input data must be the specs table of a spec-curve node, got a ${data.type} artifact`);
      const sum = inputs.summary === undefined ? null : one(inputs.summary, 'summary');
      if (sum && sum.type !== 'json') throw new StepError(`input summary must be the summary (json) of a spec-curve node`);
      spec = specCurveFigure(data.table, sum ? (sum.value as SpecCurveSummary) : null, p, base);
    } else if (p.type === 'bacon') {
      only(['pairs']);
      const data = one(inputs.data, 'data');
      if (data.type !== 'json') throw new StepError(`input data must be the bacon summary (json), got a ${data.type} artifact`);
      const twfe = (data.value as { twfe?: unknown }).twfe;
      if (typeof twfe !== 'number') throw new StepError(`input data has no number "twfe"; wire the summary output of a bacon node (in: {data: bacon.summary, pairs: bacon.pairs})`);
      spec = baconSpec(baconPairsOf(one(inputs.pairs, 'pairs')), twfe, base);
    } else if (p.type === 'sensitivity') {
      only(['original', 'breakdown']);
      const data = one(inputs.data, 'data');
      if (data.type !== 'table') throw new StepError(`input data must be the honest-did sensitivity table, got a ${data.type} artifact`);
      const orig = one(inputs.original, 'original');
      const ov = orig.type === 'json' ? (orig.value as { lb?: unknown; ub?: unknown; estimate?: unknown }) : null;
      if (!ov || typeof ov.lb !== 'number' || typeof ov.ub !== 'number')
        throw new StepError(`input original has no numeric lb/ub; wire the original output of an honest-did node`);
      let breakdown: number | null | undefined;
      let parameter: string | undefined;
      if (inputs.breakdown !== undefined) {
        const b = one(inputs.breakdown, 'breakdown');
        const bv = b.type === 'json' ? (b.value as { breakdown?: unknown; parameter?: unknown }) : null;
        if (!bv || !(bv.breakdown === null || typeof bv.breakdown === 'number')) throw new StepError(`input breakdown has no breakdown value; wire the breakdown output of an honest-did node`);
        breakdown = bv.breakdown as number | null;
        parameter = bv.parameter === 'M' ? 'M' : 'M̄';
      }
      spec = sensitivitySpec(sensitivityRowsOf(data.table), { lb: ov.lb, ub: ov.ub }, { ...base, breakdown, parameter });
    } else {
      const data = one(inputs.data, 'data');
      if (data.type !== 'json') throw new StepError(`input data must be a json artifact (event study or placebo summary), got ${data.type}`);
      if (p.type === 'event-study') {
        only([]);
        const full = parseArtifact(eventStudySchema, data.value, 'data (event study)');
        const es = p.window ? { ...full, periods: full.periods.filter((q) => q.period >= p.window![0] && q.period <= p.window![1]) } : full;
        if (es.periods.length === 0) throw new StepError(`param window [${p.window!.join(', ')}] leaves no period of the event study (its periods: ${full.periods[0]?.period} to ${full.periods.at(-1)?.period})`);
        spec = eventStudySpec(es, { ...base, adoptionAt: p.adoption_at, periodLabels: p.period_labels });
      } else {
        only(['replicates']);
        const s = parseArtifact(placeboSummarySchema, data.value, 'data (placebo summary)');
        const reps = replicatesOf(one(inputs.replicates, 'replicates'));
        spec = placeboSpec(reps, s, { ...base, pLine: p.p_line, bandwidth: p.bandwidth });
      }
    }
    const { svg, png } = await renderSpec(spec, p.scale);
    return {
      svg: { type: 'file', ext: 'svg', bytes: new TextEncoder().encode(svg) },
      png: { type: 'file', ext: 'png', bytes: png },
    };
  },
});
