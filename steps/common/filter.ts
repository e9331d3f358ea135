/**
 * Row filters shared by every step that takes `where` / `exclude` params.
 *
 * `where: {year: {le: 2019}, region: east, city: [a, b]}` keeps rows where every condition holds:
 * a scalar means equality, a list membership, an object compares with lt/le/gt/ge/ne/in/not_in.
 * `exclude: {municipality: [1]}` drops rows whose column value is listed. Missing values never match
 * a condition (so `where` drops them, `exclude` keeps them).
 *
 * @example
 * applyFilters(table, { year: { le: 2019 } }, { city_code: [110000, 310000] }, 'estimate')
 */
import { z } from 'zod';
import { StepError } from '../../engine/types.js';
import { isUnsafeKey, unsafeKeyMessage } from '../../engine/safe-keys.js';
import { type Table, hasCol, isNumeric, filterRows } from '../../engine/table.js';

const scalar = z.union([z.number(), z.string(), z.boolean()]);
const comparison = z.strictObject({
  lt: scalar.optional(),
  le: scalar.optional(),
  gt: scalar.optional(),
  ge: scalar.optional(),
  ne: scalar.optional(),
  in: z.array(scalar).optional(),
  not_in: z.array(scalar).optional(),
});
export const whereSchema = z
  .record(z.string(), z.union([scalar, z.array(scalar), comparison]))
  .describe('keep rows where every condition holds: value (equality), list (membership) or {lt, le, gt, ge, ne, in, not_in}');
export const excludeSchema = z
  .record(z.string(), z.union([scalar, z.array(scalar)]))
  .describe('drop rows whose column value is listed, e.g. {city_code: [110000, 310000]}');
export type Where = z.infer<typeof whereSchema>;
export type Exclude = z.infer<typeof excludeSchema>;

type Scalar = z.infer<typeof scalar>;

function cellGetter(t: Table, col: string): (i: number) => number | string | null {
  if (isUnsafeKey(col)) throw new StepError(`filter: ${unsafeKeyMessage(col, 'column name')}`);
  if (!hasCol(t, col)) throw new StepError(`filter column "${col}" does not exist; columns are: ${t.names.join(', ')}`);
  const c = t.columns[col]!;
  if (isNumeric(c)) return (i) => (Number.isNaN(c[i]!) ? null : c[i]!);
  return (i) => c[i] ?? null;
}

/** Compare a cell to a YAML scalar: numbers numerically (numeric strings too), else as strings. */
function cmp(cell: number | string, v: Scalar): number {
  const vv = typeof v === 'boolean' ? (v ? 1 : 0) : v;
  if (typeof cell === 'number') {
    const n = typeof vv === 'number' ? vv : Number(vv);
    if (!Number.isNaN(n)) return cell - n;
    return String(cell) < String(vv) ? -1 : String(cell) > String(vv) ? 1 : 0;
  }
  if (typeof vv === 'number' && cell.trim() !== '' && !Number.isNaN(Number(cell))) return Number(cell) - vv;
  const s = String(vv);
  return cell < s ? -1 : cell > s ? 1 : 0;
}

function matches(cell: number | string | null, cond: Where[string]): boolean {
  if (cell === null) return false;
  if (Array.isArray(cond)) return cond.some((v) => cmp(cell, v) === 0);
  if (typeof cond !== 'object') return cmp(cell, cond) === 0;
  if (cond.lt !== undefined && !(cmp(cell, cond.lt) < 0)) return false;
  if (cond.le !== undefined && !(cmp(cell, cond.le) <= 0)) return false;
  if (cond.gt !== undefined && !(cmp(cell, cond.gt) > 0)) return false;
  if (cond.ge !== undefined && !(cmp(cell, cond.ge) >= 0)) return false;
  if (cond.ne !== undefined && !(cmp(cell, cond.ne) !== 0)) return false;
  if (cond.in !== undefined && !cond.in.some((v) => cmp(cell, v) === 0)) return false;
  if (cond.not_in !== undefined && cond.not_in.some((v) => cmp(cell, v) === 0)) return false;
  return true;
}

/** A predicate over row indices for `where` and `exclude` (either may be undefined). */
export function rowFilter(t: Table, where: Where | undefined, exclude: Exclude | undefined): (i: number) => boolean {
  const tests: ((i: number) => boolean)[] = [];
  for (const [col, cond] of Object.entries(where ?? {})) {
    const get = cellGetter(t, col);
    tests.push((i) => matches(get(i), cond));
  }
  for (const [col, vals] of Object.entries(exclude ?? {})) {
    const get = cellGetter(t, col);
    const list = Array.isArray(vals) ? vals : [vals];
    tests.push((i) => !matches(get(i), list));
  }
  return (i) => tests.every((f) => f(i));
}

/** The rows of `t` passing `where` and not listed in `exclude`. */
export function applyFilters(t: Table, where: Where | undefined, exclude: Exclude | undefined): Table {
  if (!where && !exclude) return t;
  return filterRows(t, rowFilter(t, where, exclude));
}
