/**
 * `clean`: prepare an analysis sample. In this order: `derive` new numeric columns from safe
 * expressions (steps/common/expr.ts: + − × ÷ ^, log, exp, comparisons, and/or, ifelse…), keep the
 * `years` range, apply `where` / `exclude` row filters (steps/common/filter.ts), drop rows missing
 * any `require` column, then `winsorize` columns at quantiles of the remaining sample.
 * Outputs the table and a report of what was dropped at each stage and why.
 *
 * @example
 * sample:
 *   kind: clean
 *   in: panel
 *   with:
 *     years: {from: 2005, to: 2022}
 *     derive: {ln_so2: "log(so2 + 1)", large: "urban_pop >= 100"}
 *     require: [so2, pgdp]
 *     winsorize: {columns: [pgdp], quantiles: [0.01, 0.99]}
 */
import { CONTRACT } from './common/contracts.js';
import { z } from 'zod';
import { defineStep, StepError } from '../engine/types.js';
import { filterRows, hasCol, isNumeric, type Table, withColumn } from '../engine/table.js';
import { quantile7 } from '../stats/quantile.js';
import { applyFilters, excludeSchema, whereSchema } from './common/filter.js';
import { nearest } from './common/suggest.js';
import { columnRefs, evaluate, ExprError, parseExpr } from './common/expr.js';

const params = z.strictObject({
  year: z.string().default('year').describe('name of the year column used by `years` (default "year")'),
  years: z
    .union([
      z.strictObject({
        from: z.number().int().optional().describe('first year kept (inclusive)'),
        to: z.number().int().optional().describe('last year kept (inclusive)'),
      }),
      z.tuple([z.number().int(), z.number().int()]),
    ])
    .optional()
    .describe('keep years in [from, to], inclusive: {from: 2005, to: 2022} or [2005, 2022]'),
  derive: z
    .record(z.string(), z.string())
    .optional()
    .describe('new numeric columns {name: expression}, computed in order (later ones may use earlier ones); e.g. {ln_so2: "log(so2 + 1)"}'),
  where: whereSchema.optional(),
  exclude: excludeSchema.optional(),
  require: z.array(z.string()).optional().describe('drop rows where any of these columns is missing'),
  winsorize: z
    .strictObject({
      columns: z.array(z.string()).min(1).describe('numeric columns to winsorize'),
      quantiles: z
        .tuple([z.number().min(0).max(0.5), z.number().min(0.5).max(1)])
        .default([0.01, 0.99])
        .describe('lower and upper quantile (type 7, as R quantile()); default [0.01, 0.99]'),
    })
    .optional()
    .describe('clamp columns to their quantiles over the kept sample (missing values stay missing)'),
});
export type CleanParams = z.infer<typeof params>;



export default defineStep<CleanParams>({
  kind: 'clean',
  doc: 'Derive columns with a safe expression language, restrict years, filter rows, drop missing, winsorize; reports what was dropped and why.',
  params,
  inputs: { table: { type: 'table', doc: 'the panel to clean' } },
  outputs: { table: 'table', report: { type: 'json', contract: CONTRACT.dataReport } },
  async run(ctx, inputs, p) {
    const a = inputs.table;
    if (!a || Array.isArray(a) || a.type !== 'table') throw new StepError(`clean (${ctx.nodeId}): input "table" must be one table artifact`);
    let t: Table = a.table;
    const report: {
      rows_in: number;
      rows_out: number;
      stages: { stage: string; dropped: number; rows_left: number; detail?: unknown }[];
      derived: { column: string; expression: string; missing: number }[];
      winsorized: { column: string; low: number; high: number; clamped_low: number; clamped_high: number }[];
    } = { rows_in: t.nrows, rows_out: 0, stages: [], derived: [], winsorized: [] };
    const stage = (name: string, next: Table, detail?: unknown) => {
      report.stages.push({ stage: name, dropped: t.nrows - next.nrows, rows_left: next.nrows, ...(detail === undefined ? {} : { detail }) });
      t = next;
    };

    for (const [name, src] of Object.entries(p.derive ?? {})) {
      let col: Float64Array;
      try {
        const tree = parseExpr(src);
        for (const ref of columnRefs(tree)) {
          if (!hasCol(t, ref.name)) {
            const near = nearest(ref.name, t.names);
            const hint = near.length ? `did you mean "${near[0]}"? ` : '';
            throw new ExprError(`unknown column "${ref.name}" (${hint}columns: ${t.names.join(', ')})`, ref.pos, src);
          }
        }
        col = evaluate(tree, t, src);
      } catch (e) {
        if (e instanceof ExprError) throw new StepError(`clean (${ctx.nodeId}): param derive.${name}: ${e.pretty()}\nFix the expression.`);
        throw e;
      }
      t = withColumn(t, name, col);
      let miss = 0;
      for (const v of col) if (Number.isNaN(v)) miss++;
      report.derived.push({ column: name, expression: src, missing: miss });
    }

    if (p.years) {
      const [from, to] = Array.isArray(p.years) ? p.years : [p.years.from ?? -Infinity, p.years.to ?? Infinity];
      if (!hasCol(t, p.year)) throw new StepError(`clean (${ctx.nodeId}): param years needs a year column "${p.year}"; columns are: ${t.names.join(', ')}. Set param year.`);
      const y = t.columns[p.year]!;
      if (!isNumeric(y)) throw new StepError(`clean (${ctx.nodeId}): year column "${p.year}" is text; it must be numeric.`);
      stage('years', filterRows(t, (i) => y[i]! >= from && y[i]! <= to), { from, to });
    }
    if (p.where) stage('where', applyFilters(t, p.where, undefined, `clean (${ctx.nodeId}) param where`), p.where);
    if (p.exclude) stage('exclude', applyFilters(t, undefined, p.exclude, `clean (${ctx.nodeId}) param exclude`), p.exclude);
    if (p.require && p.require.length > 0) {
      const missingCols = p.require.filter((c) => !hasCol(t, c));
      if (missingCols.length > 0) {
        throw new StepError(`clean (${ctx.nodeId}): param require names column(s) ${missingCols.join(', ')} that do not exist; columns are: ${t.names.join(', ')}.`);
      }
      const cols = p.require.map((c) => t.columns[c]!);
      const byCol: Record<string, number> = {};
      for (const c of p.require) byCol[c] = 0;
      const keep = new Uint8Array(t.nrows);
      for (let i = 0; i < t.nrows; i++) {
        let ok = true;
        cols.forEach((c, k) => {
          const v = c[i];
          if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) {
            ok = false;
            byCol[p.require![k]!]!++;
          }
        });
        keep[i] = ok ? 1 : 0;
      }
      stage('require', filterRows(t, (i) => keep[i] === 1), { missing_by_column: byCol });
    }
    if (p.winsorize) {
      const [ql, qh] = p.winsorize.quantiles;
      for (const name of p.winsorize.columns) {
        const c = t.columns[name];
        if (c === undefined) throw new StepError(`clean (${ctx.nodeId}): param winsorize.columns names "${name}", which does not exist; columns are: ${t.names.join(', ')}.`);
        if (!isNumeric(c)) throw new StepError(`clean (${ctx.nodeId}): param winsorize.columns: "${name}" is text; only numeric columns can be winsorized.`);
        const finite = Float64Array.from(c.filter((v) => !Number.isNaN(v))).sort();
        const lo = quantile7(finite, ql);
        const hi = quantile7(finite, qh);
        let nl = 0;
        let nh = 0;
        const out = Float64Array.from(c, (v) => {
          if (v < lo) {
            nl++;
            return lo;
          }
          if (v > hi) {
            nh++;
            return hi;
          }
          return v;
        });
        t = withColumn(t, name, out);
        report.winsorized.push({ column: name, low: lo, high: hi, clamped_low: nl, clamped_high: nh });
      }
    }
    report.rows_out = t.nrows;
    if (t.nrows === 0) ctx.warn(`clean (${ctx.nodeId}): no rows left (${report.stages.map((s) => `${s.stage} dropped ${s.dropped}`).join(', ')})`);
    ctx.info(`clean: ${report.rows_in} → ${report.rows_out} rows`);
    return { table: { type: 'table', table: t }, report: { type: 'json', value: report } };
  },
});
