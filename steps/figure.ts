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
 */
import { CONTRACT } from './common/contracts.js';
import { z } from 'zod';
import { defineStep, StepError, type Artifact } from '../engine/types.js';
import { isNumeric } from '../engine/table.js';
import { eventStudySchema, parseArtifact, placeboSummarySchema } from './render/model.js';
import { eventStudySpec, placeboSpec, renderSpec } from './render/charts.js';

const params = z.strictObject({
  type: z.enum(['event-study', 'placebo']).describe('which plot: event-study (input data = event study) or placebo (data = summary, replicates = table)'),
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

export default defineStep<Params>({
  kind: 'figure',
  doc: 'Event-study (Figure 1) or placebo (Figure 2) plot, drawn with Vega-Lite, as SVG and PNG.',
  params,
  inputs: {
    data: { type: 'json', accepts: (p: { type?: string }) => (p.type === 'placebo' ? [CONTRACT.placebo] : [CONTRACT.eventStudy]), doc: 'event-study artifact, or the placebo summary' },
    replicates: { type: ['table', 'json'], optional: true, accepts: [CONTRACT.placeboReplicates], doc: 'placebo only: the replicate table (estimate, p)' },
  },
  outputs: { svg: 'file', png: 'file' },
  async run(ctx, inputs, p) {
    const data = one(inputs.data, 'data');
    if (data.type !== 'json') throw new StepError(`input data must be a json artifact (event study or placebo summary), got ${data.type}`);
    const base = { title: p.title, subtitle: p.subtitle, labels: p.labels, varLabels: p.var_labels, width: p.width, height: p.height };
    let spec: Record<string, unknown>;
    if (p.type === 'event-study') {
      if (inputs.replicates !== undefined) throw new StepError(`input replicates is only for type: placebo; remove it`);
      const es = parseArtifact(eventStudySchema, data.value, 'data (event study)');
      spec = eventStudySpec(es, { ...base, adoptionAt: p.adoption_at, periodLabels: p.period_labels });
    } else {
      const s = parseArtifact(placeboSummarySchema, data.value, 'data (placebo summary)');
      const reps = replicatesOf(one(inputs.replicates, 'replicates'));
      spec = placeboSpec(reps, s, { ...base, pLine: p.p_line, bandwidth: p.bandwidth });
    }
    const { svg, png } = await renderSpec(spec, p.scale);
    return {
      svg: { type: 'file', ext: 'svg', bytes: new TextEncoder().encode(svg) },
      png: { type: 'file', ext: 'png', bytes: png },
    };
  },
});
