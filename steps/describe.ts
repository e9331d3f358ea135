/**
 * Step `describe`: descriptive statistics of panel columns (the paper's Table 2), as a table artifact
 * and rendered md / tex / csv / html.
 *
 * Statistics (missing values are skipped per variable):
 * - n: non-missing count; missing: missing count;
 * - mean; sd: the sample standard deviation (divisor n − 1, as Stata `summarize` and R `sd`);
 * - min, max; median, p25, p75: quantiles by linear interpolation between order statistics,
 *   Hyndman–Fan type 7 (R's default `quantile(type = 7)`). The median equals Stata's `summarize, detail`
 *   p50 (mean of the two middle values when n is even); Stata's p25/p75 use a different rule and can differ.
 *
 * @example
 * table2:
 *   kind: describe
 *   in: panel
 *   with:
 *     vars: {so2: SO₂, did: DID, pgdp: PGDP, indus: INDUS, urb: URB, fin: FIN, fis: FIS}
 *     title: "Table 2: Descriptive statistics of main variables"
 *   publish: results/table2
 */
import { CONTRACT } from './common/contracts.js';
import { z } from 'zod';
import { defineStep, StepError, type Artifact } from '../engine/types.js';
import { makeTable, hasCol, isNumeric, type Table, notNumericWhy } from '../engine/table.js';
import { quantile7 } from '../stats/quantile.js';
import { applyFilters, excludeSchema, whereSchema } from './common/filter.js';
import { renderFormats, renderHtmlPage, renderMarkdown, TABLE_FORMATS, type BodyRow, type TableFormat, type TableLayout } from './render/layout.js';
import { compareDescribe, describeComparisonLayout, loadPaperTables } from './render/compare.js';
import { fmtInt, fmtNum } from './render/format.js';

export const STATS = ['n', 'missing', 'mean', 'sd', 'min', 'p25', 'median', 'p75', 'max'] as const;
export type Stat = (typeof STATS)[number];

/** Column headers of each statistic (as the paper prints them). */
export const STAT_LABELS: Record<Stat, string> = {
  n: 'Observations',
  missing: 'Missing',
  mean: 'Mean',
  sd: 'Std. Dev.',
  min: 'Min',
  p25: 'P25',
  median: 'Median',
  p75: 'P75',
  max: 'Max',
};

const params = z.strictObject({
  vars: z
    .union([z.array(z.string()).min(1), z.record(z.string(), z.string())])
    .describe('columns to describe, in order: a list, or a map column → printed label'),
  stats: z.array(z.enum(STATS)).min(1).default(['n', 'mean', 'sd', 'min', 'median', 'max']).describe('statistics (columns of the table), default [n, mean, sd, min, median, max]'),
  digits: z.number().int().min(0).max(8).default(2).describe('decimals (default 2, as the paper; counts are integers)'),
  where: whereSchema.optional(),
  exclude: excludeSchema.optional(),
  title: z.string().optional().describe('caption'),
  note: z.union([z.string(), z.array(z.string())]).optional().describe('note line(s) under the table'),
  stub: z.string().default('Variable').describe('header of the label column'),
  formats: z.array(z.enum(TABLE_FORMATS as [string, ...string[]])).min(1).default([...TABLE_FORMATS]).describe('rendered outputs: md, tex, csv (+ notes.txt sidecar), html, docx, xlsx (default all)'),
  paper: z
    .strictObject({
      table: z.string().describe('table id in paper_file, e.g. table2'),
      data: z.string().optional().describe('what this run\'s data are, e.g. "real data, 2006–2018": added to the comparison\'s title as [this run: …]'),
    })
    .optional()
    .describe("compare with the paper's printed statistics: adds outputs comparison (json), comparison_md, comparison_html"),
  paper_file: z.string().default('data/paper-tables.json').describe("the paper's transcribed tables (relative to the YAML)"),
});
type Params = z.infer<typeof params>;



/**
 * The statistics of one column, skipping NaN. Mean and SD by a two-pass algorithm
 * (R: mean(x), sd(x) with divisor n − 1; sd is NaN when n < 2).
 */
export function describeColumn(x: Float64Array): Record<Stat, number> {
  const v = Float64Array.from(x.filter((a) => !Number.isNaN(a))).sort();
  const n = v.length;
  let sum = 0;
  for (const a of v) sum += a;
  const mean = n ? sum / n : NaN;
  let ss = 0;
  for (const a of v) ss += (a - mean) * (a - mean);
  return {
    n,
    missing: x.length - n,
    mean,
    sd: n > 1 ? Math.sqrt(ss / (n - 1)) : NaN,
    min: n ? v[0]! : NaN,
    p25: quantile7(v, 0.25),
    median: quantile7(v, 0.5),
    p75: quantile7(v, 0.75),
    max: n ? v[n - 1]! : NaN,
  };
}

export default defineStep<Params>({
  kind: 'describe',
  doc: 'Descriptive statistics (N, mean, SD with n−1, min, median (type 7), max, ...) of chosen panel columns, as a table and md/tex/csv/html.',
  params,
  inputs: { panel: { type: 'table', doc: 'the panel' } },
  // html first: `in: table2` (e.g. in the report's tables) means the rendered page
  outputs: { md: 'file', html: 'file', tex: 'file', csv: 'file', notes: 'file', docx: 'file', xlsx: 'file', table: 'table', comparison: { type: 'json', contract: CONTRACT.paperComparison }, comparison_md: 'file', comparison_html: 'file' },
  pathParams: ['paper_file'],
  async run(ctx, inputs, p) {
    const a = inputs.panel as Artifact | undefined;
    if (!a || Array.isArray(a) || a.type !== 'table') throw new StepError(`input panel must be one table artifact`);
    const t: Table = applyFilters(a.table, p.where, p.exclude);
    const vars: [string, string][] = Array.isArray(p.vars) ? p.vars.map((v) => [v, v]) : Object.entries(p.vars);
    const results: Record<Stat, number>[] = vars.map(([v]) => {
      if (!hasCol(t, v)) throw new StepError(`param vars names column "${v}", which the panel does not have; columns are: ${t.names.join(', ')}`);
      const c = t.columns[v]!;
      if (!isNumeric(c)) throw new StepError(`column "${v}" ${notNumericWhy(c)}; describe needs numeric columns (remove it from vars)`);
      return describeColumn(c);
    });
    const cols: Record<string, Float64Array | (string | null)[]> = {
      variable: vars.map(([v]) => v),
      label: vars.map(([, l]) => l),
    };
    for (const s of p.stats) cols[s] = Float64Array.from(results, (r) => r[s]);
    const table = makeTable(cols, ['variable', 'label', ...p.stats]);

    const body: BodyRow[] = vars.map(([, label], i) => ({
      label,
      kind: 'data',
      cells: p.stats.map((s) => (s === 'n' || s === 'missing' ? fmtInt(results[i]![s]) : fmtNum(results[i]![s], p.digits))),
    }));
    const notes = p.note === undefined ? [] : Array.isArray(p.note) ? p.note : [p.note];
    const layout: TableLayout = {
      title: p.title,
      stub: p.stub,
      header: [p.stats.map((s) => ({ text: STAT_LABELS[s] }))],
      body,
      notes: [...notes, `N = ${t.nrows} rows${p.where || p.exclude ? ' after filters' : ''}; Std. Dev. with divisor n−1; quantiles by linear interpolation (type 7).`],
      id: ctx.nodeId.replace(/[^A-Za-z0-9_-]/g, '_'),
    };
    const out: Record<string, Artifact> = { table: { type: 'table', table }, ...(await renderFormats(layout, p.formats as TableFormat[])) };
    if (p.paper) {
      const paper = loadPaperTables(ctx.resolvePath(p.paper_file));
      const cmp = compareDescribe(paper, p.paper.table, vars.map(([v, l], i) => ({ variable: v, label: l, stats: results[i]! })));
      if (p.paper.data) cmp.title = `${cmp.title} [this run: ${p.paper.data}]`;
      const cl = describeComparisonLayout(cmp, p.digits, STAT_LABELS);
      const enc = new TextEncoder();
      out.comparison = { type: 'json', value: cmp };
      out.comparison_md = { type: 'file', ext: 'md', bytes: enc.encode(renderMarkdown(cl)) };
      out.comparison_html = { type: 'file', ext: 'html', bytes: enc.encode(renderHtmlPage(cl)) };
    }
    return out;
  },
});
