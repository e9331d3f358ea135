/**
 * "Paper vs this run": lines up the paper's printed numbers (data/paper-tables.json) with this run's
 * models, cell by cell.
 *
 * Rule: a coefficient "agrees" when |run − paper| ≤ 2 · SE_run, the run's own standard error
 * (the issue's recovery criterion: the estimate falls within two standard errors of the paper's
 * printed coefficient). z = (run − paper) / SE_run is reported too, and the paper's SE for reference.
 *
 * @example
 * const paper = loadPaperTables('/repo/data/paper-tables.json', 'tabulate');
 * const cmp = comparePaper(paper, 'table3', models, [1, 2]);
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { StepError } from '../../engine/types.js';
import type { Model } from './model.js';
import type { BodyRow, TableLayout } from './layout.js';
import { fmtInt, fmtNum, stars } from './format.js';

const paperCoef = z.object({
  term: z.string(),
  label: z.string(),
  estimate: z.number(),
  se: z.number(),
  stars: z.number().int().min(0).max(3),
  printed: z.string().optional(),
});
const paperColumn = z.object({
  label: z.string(),
  y: z.string(),
  y_label: z.string().optional(),
  coefficients: z.array(paperCoef),
  fixed_effects: z.record(z.string(), z.boolean()),
  n: z.number(),
  r2: z.number(),
});
const paperRegression = z.object({
  title: z.string(),
  kind: z.literal('regression'),
  groups: z.array(z.object({ label: z.string(), span: z.number() })).optional(),
  notes: z.array(z.string()).default([]),
  columns: z.array(paperColumn).min(1),
});
const paperDescribe = z.object({
  title: z.string(),
  kind: z.literal('describe'),
  columns: z.array(z.string()),
  column_labels: z.array(z.string()).optional(),
  rows: z.array(z.record(z.string(), z.union([z.string(), z.number()]))),
  notes: z.array(z.string()).default([]),
});
export const paperFileSchema = z.object({
  source: z.string().optional(),
  paper: z.string().optional(),
  notes: z.array(z.string()).default([]),
  tables: z.record(z.string(), z.union([paperRegression, paperDescribe])),
});
export type PaperFile = z.infer<typeof paperFileSchema>;

/** Read and validate the transcribed tables file; errors name the file and the bad field. */
export function loadPaperTables(file: string): PaperFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new StepError(`cannot read the paper tables file ${file}: ${(e as Error).message}; set param paper_file to the JSON transcription (default data/paper-tables.json)`);
  }
  const r = paperFileSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new StepError(`${file} is not a valid paper-tables file at ${i.path.join('.')}: ${i.message}`);
  }
  return r.data;
}

export interface ComparisonCell {
  /** Paper column label, e.g. "(2)". */
  column: string;
  /** 1-based index of the model (this run's column). */
  model: number;
  term: string;
  label: string;
  paper: { estimate: number; se: number; stars: number };
  /** This run's coefficient; null when the model has no such term. */
  run: { estimate: number; se: number | null; p: number | null; stars: number } | null;
  /** run − paper. */
  diff: number | null;
  /** (run − paper) / SE_run. */
  z: number | null;
  /** |run − paper| ≤ 2 · SE_run; null when not computable. */
  within_2se: boolean | null;
}

export interface Comparison {
  table: string;
  title: string;
  rule: string;
  columns: { column: string; model: number; y_paper: string; y_run: string; n_paper: number; n_run: number; r2_paper: number; r2_run: number | null }[];
  cells: ComparisonCell[];
  summary: { cells: number; within_2se: number; treatment_cells: number; treatment_within_2se: number };
}

export const COMPARISON_RULE = 'a coefficient agrees when |this run − paper| <= 2 x this run\'s standard error; z = (this run − paper) / SE(this run)';

/**
 * Compare `models` with paper table `tableId`. `columns[i]` is the 1-based paper column matched to
 * model i (default: model i ↔ paper column i+1; the counts must then agree).
 */
export function comparePaper(paper: PaperFile, tableId: string, models: Model[], columns: number[] | undefined): Comparison {
  const t = paper.tables[tableId];
  if (!t) throw new StepError(`paper table "${tableId}" is not in the paper tables file; known: ${Object.keys(paper.tables).join(', ')}`);
  if (t.kind !== 'regression') throw new StepError(`paper table "${tableId}" is a ${t.kind} table, not a regression table`);
  const map = columns ?? models.map((_, i) => i + 1);
  if (map.length !== models.length)
    throw new StepError(`paper.columns lists ${map.length} paper columns but ${models.length} models are wired; give one paper column per model`);
  if (!columns && models.length !== t.columns.length)
    throw new StepError(`${models.length} models are wired but paper ${tableId} has ${t.columns.length} columns; set paper.columns to say which paper column each model matches`);
  const cells: ComparisonCell[] = [];
  const cols: Comparison['columns'] = [];
  map.forEach((pc, mi) => {
    const col = t.columns[pc - 1];
    if (!col) throw new StepError(`paper.columns[${mi}] = ${pc} but ${tableId} has columns 1..${t.columns.length}`);
    const m = models[mi]!;
    cols.push({ column: col.label, model: mi + 1, y_paper: col.y, y_run: m.y, n_paper: col.n, n_run: m.n, r2_paper: col.r2, r2_run: m.r2 ?? null });
    for (const pcf of col.coefficients) {
      const rc = m.coefficients.find((c) => c.term.toLowerCase() === pcf.term.toLowerCase());
      const run = rc && rc.estimate !== null ? { estimate: rc.estimate, se: rc.se ?? null, p: rc.p ?? null, stars: stars(rc.p).length } : null;
      const diff = run ? run.estimate - pcf.estimate : null;
      const zz = run && diff !== null && run.se ? diff / run.se : null;
      cells.push({
        column: col.label,
        model: mi + 1,
        term: pcf.term,
        label: pcf.label,
        paper: { estimate: pcf.estimate, se: pcf.se, stars: pcf.stars },
        run,
        diff,
        z: zz,
        within_2se: zz === null ? null : Math.abs(zz) <= 2,
      });
    }
  });
  const treatment = new Set(t.columns.map((c) => c.coefficients[0]?.term));
  const tc = cells.filter((c) => treatment.has(c.term));
  return {
    table: tableId,
    title: t.title,
    rule: COMPARISON_RULE,
    columns: cols,
    cells,
    summary: {
      cells: cells.length,
      within_2se: cells.filter((c) => c.within_2se === true).length,
      treatment_cells: tc.length,
      treatment_within_2se: tc.filter((c) => c.within_2se === true).length,
    },
  };
}

const starStr = (n: number) => '*'.repeat(n);

/** Long-format layout of a comparison: one row per (column, term), then N and R² per column. */
export function comparisonLayout(c: Comparison, digits: number, title?: string): TableLayout {
  const body: BodyRow[] = [];
  for (const col of c.columns) {
    let first = true;
    for (const cell of c.cells.filter((x) => x.model === col.model)) {
      body.push({
        label: first ? (col.column === `(${col.model})` ? `${col.column} ${col.y_run}` : `(${col.model}) ${col.y_run} vs paper ${col.column}`) : '',
        ruleAbove: first && body.length > 0,
        kind: 'data',
        cells: [
          cell.label,
          `${fmtNum(cell.paper.estimate, digits)}${starStr(cell.paper.stars)} (${fmtNum(cell.paper.se, digits)})`,
          cell.run ? `${fmtNum(cell.run.estimate, digits)}${starStr(cell.run.stars)} (${fmtNum(cell.run.se, digits)})` : 'not estimated',
          fmtNum(cell.diff, digits),
          fmtNum(cell.z, 2),
          cell.within_2se === null ? 'n/a' : cell.within_2se ? 'yes' : 'NO',
        ],
      });
      first = false;
    }
    body.push({ label: '', kind: 'stat', cells: ['N', fmtInt(col.n_paper), fmtInt(col.n_run), fmtInt(col.n_run - col.n_paper), '', ''] });
    body.push({ label: '', kind: 'stat', cells: ['R²', fmtNum(col.r2_paper, 3), fmtNum(col.r2_run, 3), col.r2_run === null ? '' : fmtNum(col.r2_run - col.r2_paper, 3), '', ''] });
  }
  const s = c.summary;
  return {
    title: title ?? `${c.title}: paper vs this run`,
    stub: 'Column',
    header: [['Term', 'Paper', 'This run', 'Difference', 'z', 'Within 2 SE'].map((text) => ({ text }))],
    body,
    notes: [
      `Cells: coefficient with stars (standard error). Rule: ${c.rule}.`,
      `${s.within_2se} of ${s.cells} coefficients agree; treatment (DID): ${s.treatment_within_2se} of ${s.treatment_cells}.`,
    ],
    id: `${c.table}-comparison`,
  };
}

/** Paper vs this run for a descriptive-statistics table (Table 2): per variable and statistic, both values and the difference. */
export interface DescribeComparison {
  kind: 'describe';
  table: string;
  title: string;
  stats: string[];
  rows: { term: string; label: string; run_label: string | null; values: Record<string, { paper: number | null; run: number | null; diff: number | null }> }[];
}

/**
 * Compare describe results (`runRows`: variable → statistic → value) with paper table `tableId`
 * (kind 'describe'). Variables are matched by `term` (case-insensitive); statistics by name.
 */
export function compareDescribe(
  paper: PaperFile,
  tableId: string,
  runRows: { variable: string; label: string; stats: Record<string, number> }[],
): DescribeComparison {
  const t = paper.tables[tableId];
  if (!t) throw new StepError(`paper table "${tableId}" is not in the paper tables file; known: ${Object.keys(paper.tables).join(', ')}`);
  if (t.kind !== 'describe') throw new StepError(`paper table "${tableId}" is a ${t.kind} table; describe compares with a describe table (e.g. table2)`);
  const rows = t.rows.map((pr) => {
    const term = String(pr.term);
    const rr = runRows.find((r) => r.variable.toLowerCase() === term.toLowerCase());
    const values: DescribeComparison['rows'][number]['values'] = {};
    for (const s of t.columns) {
      const pv = typeof pr[s] === 'number' ? (pr[s] as number) : null;
      const rv = rr && Number.isFinite(rr.stats[s]) ? rr.stats[s]! : null;
      values[s] = { paper: pv, run: rv, diff: pv !== null && rv !== null ? rv - pv : null };
    }
    return { term, label: String(pr.label ?? term), run_label: rr ? rr.label : null, values };
  });
  return { kind: 'describe', table: tableId, title: t.title, stats: t.columns, rows };
}

/** Layout: one row per variable; per statistic a "paper | this run" pair under a spanning header. */
export function describeComparisonLayout(c: DescribeComparison, digits: number, statLabels: Record<string, string>): TableLayout {
  const fmt = (s: string, v: number | null) => (v === null ? '' : s === 'n' || s === 'missing' ? fmtInt(v) : fmtNum(v, digits));
  return {
    title: `${c.title}: paper vs this run`,
    stub: 'Variable',
    header: [c.stats.map((s) => ({ text: statLabels[s] ?? s, span: 2 })), c.stats.flatMap(() => [{ text: 'Paper' }, { text: 'This run' }])],
    body: c.rows.map((r) => ({
      label: r.label,
      kind: 'data' as const,
      // a short mark, explained in the note: "not described" in every cell made the table too wide for a page
      cells: c.stats.flatMap((s) => [fmt(s, r.values[s]!.paper), r.run_label === null ? '—' : fmt(s, r.values[s]!.run)]),
    })),
    notes: [
      'Descriptive statistics have no standard errors: compare the levels; the paper prints two decimals.',
      ...(c.rows.some((r) => r.run_label === null) ? ['— : a variable of the paper that this run does not describe.'] : []),
    ],
    id: `${c.table}-comparison`,
  };
}
