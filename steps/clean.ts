/**
 * `clean`: prepare an analysis sample. In this order: apply `fixes` (cell corrections, each with its
 * reason; see below), `derive` new numeric columns from safe
 * expressions (engine/expr.ts: + − × ÷ ^, log, exp, comparisons, and/or, ifelse…), keep the
 * `years` range, apply `where` / `exclude` row filters (steps/common/filter.ts), drop rows missing
 * any `require` column, then `winsorize` columns at quantiles of the remaining sample.
 * Outputs the table, a report of what was dropped at each stage and why, and the list of applied
 * fixes (output `fixes`, which the report step lists under Data provenance).
 *
 * A fix names one cell by its key columns and one column, the value the data must hold now (`from`;
 * `null` = missing) and the new value (`to`), and why. A fix whose `from` no longer matches the data
 * (stale), whose key matches no row or several rows, whose column or key column does not exist, or
 * that corrects a cell another fix already corrects is an error: nothing is applied silently.
 *
 * @example
 * sample:
 *   kind: clean
 *   in: panel
 *   with:
 *     fixes:
 *       - {key: {city_code: 450300, year: 2016}, column: so2_t, from: 6146, to: 16146, why: "digit slip: the other source and 2015/2017 say 16,146"}
 *     years: {from: 2005, to: 2022}
 *     derive: {ln_so2: "log(so2 + 1)", large: "urban_pop >= 100"}
 *     require: [so2, pgdp]
 *     winsorize: {columns: [pgdp], quantiles: [0.01, 0.99]}
 */
import { isUnsafeKey, unsafeKeyMessage } from '../engine/safe-keys.js';
import { CONTRACT } from './common/contracts.js';
import { z } from 'zod';
import { defineStep, StepError } from '../engine/types.js';
import { type Column, filterRows, hasCol, isNumeric, makeTable, type Table, withColumn, notNumericWhy } from '../engine/table.js';
import { quantile7 } from '../stats/quantile.js';
import { applyFilters, excludeSchema, whereSchema } from './common/filter.js';
import { nearest } from './common/suggest.js';
import { ParamError, withYamlLine } from './common/yaml-where.js';
import { columnRefs, evaluate, ExprError, parseExpr } from '../engine/expr.js';

const cell = z.union([z.number(), z.string(), z.null()]);
const fixSchema = z.strictObject({
  key: z.record(z.string(), z.union([z.number(), z.string()])).describe('the row: {key column: value}, e.g. {city_code: 450300, year: 2016}; must match exactly one row'),
  column: z.string().describe('the column to correct'),
  from: cell.describe('the value the cell holds now (null = missing); if the data say otherwise the fix is stale and the step fails'),
  to: cell.describe('the corrected value (null = missing)'),
  why: z.string().min(1).describe('the reason, shown in the report'),
});
export type CellFix = z.infer<typeof fixSchema>;
/** An applied fix as recorded in the `fixes` output: the fix, the node and the data row it changed. */
export interface AppliedFix extends CellFix {
  node: string;
  /** 1-based data row of the input table. */
  row: number;
}

const params = z.strictObject({
  fixes: z
    .array(fixSchema)
    .default([])
    .describe('cell corrections applied first, each {key, column, from, to, why}; listed in the report'),
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

const show = (v: unknown) => (v === null ? 'missing (null)' : typeof v === 'string' ? JSON.stringify(v) : String(v));

/**
 * Apply cell fixes to a copy of `t`. Each fix must name existing columns, match exactly one row by
 * its key, find `from` in the cell (numbers compared exactly; null = missing) and not touch a cell
 * another fix touches; otherwise a StepError naming the fix (param fixes[i]) and the remedy.
 */
export function applyFixes(t: Table, fixes: CellFix[], nodeId: string): { table: Table; applied: AppliedFix[] } {
  const cols: Record<string, Column> = { ...t.columns };
  const copied = new Set<string>();
  const touched = new Map<string, number>();
  const applied: AppliedFix[] = [];
  fixes.forEach((f, i) => {
    const at = `param fixes[${i}] (${JSON.stringify(f.key)}, ${f.column})`;
    const keyCols = Object.keys(f.key);
    if (keyCols.length === 0) throw new ParamError(['fixes', i], `${at}: key is empty; name the row by its key columns, e.g. {city_code: 450300, year: 2016}.`);
    for (const c of [...keyCols, f.column]) {
      if (!hasCol(t, c)) {
        const near = nearest(c, t.names);
        throw new ParamError(['fixes', i], `${at}: unknown column "${c}"${near.length ? ` (did you mean "${near[0]}"?)` : ''}; columns are: ${t.names.join(', ')}. Fix the column name of the fix.`);
      }
    }
    const rows: number[] = [];
    for (let r = 0; r < t.nrows; r++) {
      let ok = true;
      for (const c of keyCols) {
        const v = t.columns[c]![r];
        const want = f.key[c]!;
        if (isNumeric(t.columns[c]!) ? v !== (typeof want === 'number' ? want : Number(want)) : v !== String(want)) {
          ok = false;
          break;
        }
      }
      if (ok) rows.push(r);
    }
    if (rows.length === 0)
      throw new ParamError(['fixes', i], `${at}: unknown key: no row has ${keyCols.map((c) => `${c} = ${f.key[c]}`).join(' and ')}. The row may have been renamed, recoded or dropped upstream; fix the key or remove the fix.`);
    if (rows.length > 1)
      throw new ParamError(['fixes', i], `${at}: the key matches ${rows.length} rows (data rows ${rows.slice(0, 10).map((r) => r + 1).join(', ')}); add key columns until it names one cell.`);
    const r = rows[0]!;
    const cellId = `${r}\u0001${f.column}`;
    if (touched.has(cellId))
      throw new ParamError(['fixes', i], `${at}: the same cell is already corrected by fixes[${touched.get(cellId)}]; two fixes of one cell are ambiguous. Keep one (with from = the value in the data).`);
    touched.set(cellId, i);
    const c = cols[f.column]!;
    const numeric = isNumeric(c);
    const cur: number | string | null = numeric ? (Number.isNaN(c[r] as number) ? null : (c[r] as number)) : ((c[r] as string | null) ?? null);
    for (const [what, v] of [['from', f.from], ['to', f.to]] as const)
      if (v !== null && (typeof v === 'number') !== numeric)
        throw new ParamError(['fixes', i], `${at}: column "${f.column}" is ${numeric ? 'numeric' : 'text'} but ${what} is ${show(v)}; give a ${numeric ? 'number' : 'string'} (or null for missing).`);
    if (cur !== f.from)
      throw new ParamError(['fixes', i], `${at}: stale fix: the cell holds ${show(cur)}, the fix expects from = ${show(f.from)}. The data changed (or the fix was already applied upstream): check the value and update or remove the fix.`);
    if (!copied.has(f.column)) {
      cols[f.column] = numeric ? Float64Array.from(c as Float64Array) : [...(c as (string | null)[])];
      copied.add(f.column);
    }
    const out = cols[f.column]!;
    if (numeric) (out as Float64Array)[r] = f.to === null ? NaN : (f.to as number);
    else (out as (string | null)[])[r] = f.to as string | null;
    applied.push({ ...f, node: nodeId, row: r + 1 });
  });
  return { table: makeTable(cols, t.names), applied };
}



export default defineStep<CleanParams>({
  kind: 'clean',
  doc: 'Derive columns with a safe expression language, restrict years, filter rows, drop missing, winsorize; reports what was dropped and why.',
  params,
  inputs: { table: { type: 'table', doc: 'the panel to clean' } },
  outputs: { table: 'table', report: { type: 'json', contract: CONTRACT.dataReport }, fixes: { type: 'json', contract: CONTRACT.dataFixes } },
  async run(ctx, inputs, p) {
    const a = inputs.table;
    if (!a || Array.isArray(a) || a.type !== 'table') throw new StepError(`input "table" must be one table artifact`);
    let t: Table = a.table;
    const report: {
      rows_in: number;
      rows_out: number;
      stages: { stage: string; dropped: number; rows_left: number; detail?: unknown }[];
      fixes: AppliedFix[];
      derived: { column: string; expression: string; missing: number }[];
      winsorized: { column: string; low: number; high: number; clamped_low: number; clamped_high: number }[];
    } = { rows_in: t.nrows, rows_out: 0, stages: [], fixes: [], derived: [], winsorized: [] };
    const stage = (name: string, next: Table, detail?: unknown) => {
      report.stages.push({ stage: name, dropped: t.nrows - next.nrows, rows_left: next.nrows, ...(detail === undefined ? {} : { detail }) });
      t = next;
    };

    if (p.fixes.length > 0) {
      let r: ReturnType<typeof applyFixes>;
      try {
        r = applyFixes(t, p.fixes, ctx.nodeId);
      } catch (e) {
        throw await withYamlLine(ctx, e);
      }
      t = r.table;
      report.fixes = r.applied;
      for (const f of r.applied) ctx.info(`clean: fix ${JSON.stringify(f.key)} ${f.column}: ${f.from} → ${f.to} (${f.why})`);
    }

    for (const [name, src] of Object.entries(p.derive ?? {})) {
      if (isUnsafeKey(name)) throw new StepError(`param derive: ${unsafeKeyMessage(name, 'column name')}; choose another name`);
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
        if (e instanceof ExprError) throw new StepError(`param derive.${name}: ${e.pretty()}\nFix the expression.`);
        throw e;
      }
      t = withColumn(t, name, col);
      let miss = 0;
      for (const v of col) if (Number.isNaN(v)) miss++;
      report.derived.push({ column: name, expression: src, missing: miss });
    }

    if (p.years) {
      const [from, to] = Array.isArray(p.years) ? p.years : [p.years.from ?? -Infinity, p.years.to ?? Infinity];
      if (!hasCol(t, p.year)) throw new StepError(`param years needs a year column "${p.year}"; columns are: ${t.names.join(', ')}. Set param year.`);
      const y = t.columns[p.year]!;
      if (!isNumeric(y)) throw new StepError(`year column "${p.year}" ${notNumericWhy(y)}; it must be numeric.`);
      stage('years', filterRows(t, (i) => y[i]! >= from && y[i]! <= to), { from, to });
    }
    if (p.where) stage('where', applyFilters(t, p.where, undefined), p.where);
    if (p.exclude) stage('exclude', applyFilters(t, undefined, p.exclude), p.exclude);
    if (p.require && p.require.length > 0) {
      const missingCols = p.require.filter((c) => !hasCol(t, c));
      if (missingCols.length > 0) {
        throw new StepError(`param require names column(s) ${missingCols.join(', ')} that do not exist; columns are: ${t.names.join(', ')}.`);
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
        if (c === undefined) throw new StepError(`param winsorize.columns names "${name}", which does not exist; columns are: ${t.names.join(', ')}.`);
        if (!isNumeric(c)) throw new StepError(`param winsorize.columns: "${name}" ${notNumericWhy(c)}; only numeric columns can be winsorized.`);
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
    if (t.nrows === 0) ctx.warn(`no rows left (${report.stages.map((s) => `${s.stage} dropped ${s.dropped}`).join(', ')})`);
    ctx.info(`clean: ${report.rows_in} → ${report.rows_out} rows`);
    return { table: { type: 'table', table: t }, report: { type: 'json', value: report }, fixes: { type: 'json', value: report.fixes } };
  },
});
