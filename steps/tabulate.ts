/**
 * Step `tabulate`: a paper-style regression table from model artifacts (one column per model), as
 * Markdown, LaTeX (booktabs + threeparttable + dcolumn), CSV (with a notes sidecar), HTML, Word and
 * Excel, a tidy coefficient table of every model (broom::tidy columns, output `tidy`), plus an
 * optional "paper vs this run" comparison against the paper's printed numbers (data/paper-tables.json).
 *
 * @example
 * table3:
 *   kind: tabulate
 *   in: [baseline_nocontrols, baseline]
 *   with:
 *     title: "Table 3: Baseline regression results"
 *     labels: {did: DID, pgdp: PGDP, indus: INDUS, urb: URB, fin: FIN, fis: FIS}
 *     fe_labels: {city: City FE, year: Year FE}
 *     paper: {table: table3}
 *   publish: results/table3
 */
import { CONTRACT } from './common/contracts.js';
import { z } from 'zod';
import { defineStep, StepError, type Artifact } from '../engine/types.js';
import { regressionLayout } from './render/esttab.js';
import { renderFormats, renderHtmlPage, renderMarkdown, TABLE_FORMATS, type TableFormat } from './render/layout.js';
import { tidyTable } from './render/tidy.js';
import { modelSchema, parseArtifact, type Model } from './render/model.js';
import { comparePaper, comparisonLayout, loadPaperTables } from './render/compare.js';

const rowSpec = z.union([
  z.string(),
  z.strictObject({ term: z.string().describe('coefficient name as in the model'), label: z.string().optional().describe('printed label') }),
]);

const params = z.strictObject({
  title: z.string().optional().describe('caption, e.g. "Table 3: Baseline regression results"'),
  columns: z.array(z.string()).optional().describe("column labels, one per model (default: each model's outcome y; use '' to hide)"),
  numbers: z.boolean().default(true).describe('print a "(1) (2) ..." header row (default true)'),
  groups: z
    .array(z.strictObject({ label: z.string(), span: z.number().int().min(1) }))
    .optional()
    .describe('spanning header over consecutive columns, e.g. [{label: PSM-DID, span: 1}, {label: Alternative outcomes, span: 2}]; spans must add up to the number of models'),
  rows: z.array(rowSpec).optional().describe('terms to show, in order (others are left out); default: all, treatment first, _cons last'),
  drop: z.array(z.string()).default([]).describe('terms to leave out'),
  allow_dropped_treatment: z
    .boolean()
    .default(false)
    .describe('allow a term listed in rows that a model dropped as collinear (printed as a blank cell); default false: the step fails naming the model and why'),
  rename: z
    .record(z.string(), z.string())
    .default({})
    .describe('rename terms before laying out the table (not in tidy), e.g. {ATT: did} to print the overall ATT of DID estimators in the TWFE treatment row'),
  labels: z.record(z.string(), z.string()).default({}).describe('printed labels of terms, e.g. {did: DID, _cons: Constant}'),
  digits: z.number().int().min(0).max(8).default(3).describe('decimals of coefficients, SEs and R² (default 3, 0–8)'),
  adaptive_digits: z
    .boolean()
    .default(true)
    .describe('more decimals for a coefficient/SE pair that would print as 0.000 although nonzero (default true, as esttab a3 / etable); false: exactly digits'),
  thousands: z.string().max(1).default(',').describe("thousands separator of Observations and Clusters (default ','; '' for none; CSV never has one)"),
  cons: z
    .enum(['show', 'hide', 'auto'])
    .default('show')
    .describe("the _cons row: show (default, the reghdfe constant), hide, or auto = hide when every model has fixed effects (they absorb the intercept)"),
  paren: z.enum(['se', 't']).default('se').describe("what goes in parentheses: 'se' (default) or 't'"),
  stars: z.boolean().default(true).describe('significance stars *** p<0.01, ** p<0.05, * p<0.1 (default true)'),
  fe_labels: z.record(z.string(), z.string()).default({}).describe('labels of fixed-effect rows, e.g. {city: City FE, year: Year FE}; default "<Name> FE"'),
  cluster_labels: z
    .record(z.string(), z.string())
    .default({})
    .describe('names of cluster variables in the SE note, e.g. {city_code: city}; default: the fe_labels label without " FE", lower-cased (City FE → "clustered by city"), else the variable name'),
  fe: z.array(z.string()).optional().describe('fixed effects to list (in order); default every fixed effect of any model'),
  stats: z
    .array(z.enum(['n', 'r2', 'r2_within', 'clusters', 'wild_p']))
    .default(['n', 'r2', 'r2_within'])
    .describe('statistics rows: n (Observations), r2, r2_within, clusters, wild_p (the wild cluster bootstrap p of the treatment, for models estimated with vcov: {type: wild-cluster}; blank otherwise) (default [n, r2, r2_within])'),
  stub: z.string().default('Variable').describe('header of the label column'),
  note: z.union([z.string(), z.array(z.string())]).optional().describe('extra note line(s) under the table'),
  formats: z
    .array(z.enum(TABLE_FORMATS as [string, ...string[]]))
    .min(1)
    .default([...TABLE_FORMATS])
    .describe('outputs to write: md, tex, csv (+ its notes.txt sidecar), html, docx, xlsx (default all)'),
  tidy: z.boolean().default(true).describe('write the tidy coefficient table of every model (output tidy: model, column, y, term, estimate, std_error, statistic, p_value, conf_low, conf_high, nobs, r2, r2_within, vcov, clusters); default true'),
  csv_bom: z.boolean().default(false).describe('start the CSV with a UTF-8 byte order mark, for Excel on Windows (default false: R read.csv would keep it in the first name)'),
  tex: z
    .strictObject({
      counter: z.boolean().default(false).describe('set \\setcounter{table} from a "Table N:" title (default false: the document numbers the table)'),
      fit: z.enum(['resize', 'none']).default('resize').describe('resize (default): scale down to \\linewidth when wider; none: natural width'),
      landscape: z.boolean().default(false).describe('sidewaystable on its own landscape page (package rotating)'),
      align: z.enum(['decimal', 'center']).default('decimal').describe('decimal (default, dcolumn) or center'),
    })
    .default({ counter: false, fit: 'resize', landscape: false, align: 'decimal' })
    .describe('LaTeX options'),
  paper: z
    .strictObject({
      table: z.string().describe('table id in paper_file, e.g. table3'),
      columns: z.array(z.number().int().min(1)).optional().describe('1-based paper column matched to each model (default: in order)'),
      data: z.string().optional().describe('what this run\'s data are, e.g. "real data, 2006–2018": added to the comparison\'s title as [this run: …]'),
    })
    .optional()
    .describe('compare with the paper\'s printed numbers: adds outputs comparison (json), comparison_md, comparison_html'),
  paper_file: z.string().default('data/paper-tables.json').describe('the paper\'s transcribed tables (relative to the YAML)'),
});
type Params = z.infer<typeof params>;

/** The `models` input as a list of validated models. */
export function modelsOf(input: Artifact | Artifact[] | undefined): Model[] {
  const list = input === undefined ? [] : Array.isArray(input) ? input : [input];
  if (list.length === 0) throw new StepError(`input models is empty; wire at least one model (e.g. in: [baseline])`);
  return list.map((a, i) => {
    if (a.type !== 'json') throw new StepError(`input models[${i}] is a ${a.type} artifact; a model (json) is required`);
    return parseArtifact(modelSchema, a.value, `models[${i}]`);
  });
}

/**
 * A term the table asks for (param rows) that a model dropped as collinear would print as a blank
 * cell: fail naming the model, the term and why (the model's `dropped.collinear_why`).
 */
function checkRowsNotDropped(models: Model[], rows: string[], rename: Record<string, string>): void {
  models.forEach((m, i) => {
    const d = m.dropped as { collinear?: unknown; collinear_why?: Record<string, unknown> } | undefined;
    const collinear = d && Array.isArray(d.collinear) ? d.collinear.filter((t): t is string => typeof t === 'string') : [];
    for (const orig of collinear) {
      const shownAs = Object.prototype.hasOwnProperty.call(rename, orig) ? rename[orig]! : orig;
      if (!rows.includes(shownAs)) continue;
      const why = d?.collinear_why && typeof d.collinear_why[orig] === 'string' ? ` (${d.collinear_why[orig]})` : '';
      throw new StepError(
        `models[${i}] (y = ${m.y}) dropped "${orig}" as collinear${why}, but param rows asks for ${shownAs === orig ? 'it' : `"${shownAs}"`}: its cell would be blank. ` +
          `Fix the model (treatment column / fixed effects), remove the row, or set allow_dropped_treatment: true`,
      );
    }
  });
}

/** A model with its terms renamed (param rename); two terms of one model may not end up with the same name. */
function renamed(m: Model, rename: Record<string, string>, i: number): Model {
  const coefficients = m.coefficients.map((c) => ({ ...c, term: rename[c.term] ?? c.term }));
  const seen = new Set<string>();
  for (const c of coefficients) {
    if (seen.has(c.term)) throw new StepError(`param rename gives two terms of models[${i}] the name "${c.term}"; rename only one of them`);
    seen.add(c.term);
  }
  return { ...m, coefficients };
}

export default defineStep<Params>({
  kind: 'tabulate',
  doc: 'Regression table in the esttab/etable style (one column per model; coefficient with stars, SE in parentheses; FE YES/NO, N, R²) as md, tex (booktabs), csv and html; optionally compared with the paper\'s printed numbers.',
  params,
  pathParams: ['paper_file'],
  inputs: { models: { type: 'json', many: true, accepts: [CONTRACT.model], doc: 'model artifacts (estimate), one per column, in order' } },
  // md first: `repro show table3` prints the first declared output
  outputs: {
    md: 'file',
    html: 'file',
    tex: 'file',
    csv: 'file',
    notes: 'file',
    docx: 'file',
    xlsx: 'file',
    tidy: 'table',
    comparison: { type: 'json', contract: CONTRACT.paperComparison },
    comparison_md: 'file',
    comparison_html: 'file',
  },
  async run(ctx, inputs, p) {
    const models = modelsOf(inputs.models);
    if (p.columns && p.columns.length !== models.length)
      throw new StepError(`param columns has ${p.columns.length} labels but ${models.length} models are wired; give one label per model`);
    if (p.groups) {
      const span = p.groups.reduce((s, g) => s + g.span, 0);
      if (span !== models.length) throw new StepError(`param groups spans ${span} columns but ${models.length} models are wired`);
    }
    if (p.rows && !p.allow_dropped_treatment) checkRowsNotDropped(models, p.rows.map((r) => (typeof r === 'string' ? r : r.term)), p.rename);
    const shown = Object.keys(p.rename).length === 0 ? models : models.map((m, i) => renamed(m, p.rename, i));
    const layout = regressionLayout(shown, {
      title: p.title,
      stub: p.stub,
      columns: p.columns,
      numbers: p.numbers,
      groups: p.groups,
      rows: p.rows,
      drop: p.drop,
      labels: p.labels,
      digits: p.digits,
      adaptive: p.adaptive_digits,
      thousands: p.thousands,
      cons: p.cons,
      paren: p.paren,
      stars: p.stars,
      feLabels: p.fe_labels,
      clusterLabels: p.cluster_labels,
      fe: p.fe,
      stats: p.stats,
      notes: p.note === undefined ? [] : Array.isArray(p.note) ? p.note : [p.note],
      id: ctx.nodeId.replace(/[^A-Za-z0-9_-]/g, '_'),
    });
    const out: Record<string, Artifact> = await renderFormats(layout, p.formats as TableFormat[], { tex: p.tex, csv: { bom: p.csv_bom } });
    if (p.tidy) out.tidy = { type: 'table', table: tidyTable(models, p.columns ?? models.map((m) => m.y)) };
    if (p.paper) {
      const paper = loadPaperTables(ctx.resolvePath(p.paper_file));
      const cmp = comparePaper(paper, p.paper.table, models, p.paper.columns);
      if (p.paper.data) cmp.title = `${cmp.title} [this run: ${p.paper.data}]`;
      const cl = comparisonLayout(cmp, p.digits);
      const enc = new TextEncoder();
      out.comparison = { type: 'json', value: cmp };
      out.comparison_md = { type: 'file', ext: 'md', bytes: enc.encode(renderMarkdown(cl)) };
      out.comparison_html = { type: 'file', ext: 'html', bytes: enc.encode(renderHtmlPage(cl)) };
      ctx.info(`${cmp.summary.within_2se}/${cmp.summary.cells} coefficients within 2 SE of the paper (DID ${cmp.summary.treatment_within_2se}/${cmp.summary.treatment_cells})`);
    }
    return out;
  },
});
