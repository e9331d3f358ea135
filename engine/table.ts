/**
 * The in-memory table every step passes around: named columns, each either numeric
 * (Float64Array, NaN = missing) or string ((string | null)[], null = missing). A numeric column of
 * whole numbers (city codes, years, counts) may be an {@link IntColumn}: still a Float64Array to
 * every consumer, but stored as Arrow Int32 and read back as an IntColumn, so integer columns stay
 * integers through the store.
 * The store serialises it to Arrow IPC (Float64 / Int32 / Utf8 columns) and back.
 *
 * @example
 * const t = makeTable({ city: ['a', 'b'], so2: new Float64Array([1.5, NaN]) });
 * numCol(t, 'so2'); // Float64Array [1.5, NaN]
 */
import { isUnsafeKey, unsafeKeyMessage } from './safe-keys.js';

export type Column = Float64Array | (string | null)[];

/**
 * A numeric column whose values are whole numbers in the int32 range, NaN = missing. It is a
 * Float64Array (every numeric consumer works unchanged); arrays derived from it (map, slice, filter,
 * subarray) are plain Float64Arrays, so arithmetic never produces an IntColumn by accident.
 * tableToArrow writes it as Int32 only after checking every value (else Float64).
 */
export class IntColumn extends Float64Array {
  static get [Symbol.species](): Float64ArrayConstructor {
    return Float64Array;
  }
}

/** An IntColumn of `values` if every value is a whole number within int32 or NaN; else a Float64Array. */
export function intColumnOf(values: ArrayLike<number>): Float64Array {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isNaN(v) && (!Number.isInteger(v) || v > 2147483647 || v < -2147483648)) return Float64Array.from(values);
  }
  const out = new IntColumn(values.length);
  out.set(values);
  return out;
}

export function isIntColumn(c: Column): c is IntColumn {
  return c instanceof IntColumn;
}

export interface Table {
  /** Column names in order. */
  readonly names: string[];
  /** Columns by name; every column has `nrows` entries. */
  readonly columns: Record<string, Column>;
  readonly nrows: number;
}

/** Build a table from named columns (all the same length; throws otherwise). */
export function makeTable(cols: Record<string, Column>, names: string[] = Object.keys(cols)): Table {
  let n = -1;
  for (const name of names) {
    if (isUnsafeKey(name)) throw new Error(`${unsafeKeyMessage(name, 'column name')}; rename the column`);
    const c = Object.hasOwn(cols, name) ? cols[name] : undefined;
    if (c === undefined) throw new Error(`makeTable: column "${name}" listed in names but not given`);
    if (n < 0) n = c.length;
    else if (c.length !== n) throw new Error(`makeTable: column "${name}" has ${c.length} rows, expected ${n}`);
  }
  // no prototype: a column lookup never finds Object.prototype's members
  const columns = Object.create(null) as Record<string, Column>;
  for (const name of names) columns[name] = cols[name]!;
  return { names: [...names], columns, nrows: Math.max(n, 0) };
}

export function isNumeric(c: Column): c is Float64Array {
  return c instanceof Float64Array;
}

export function hasCol(t: Table, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(t.columns, name);
}

/** The numeric column `name`; throws a message listing the columns that exist. */
export function numCol(t: Table, name: string, who = 'table'): Float64Array {
  const c = t.columns[name];
  if (c === undefined) throw new Error(`${who}: no column "${name}"; columns are: ${t.names.join(', ')}`);
  if (!isNumeric(c)) throw new Error(`${who}: column "${name}" is text, a number column is required`);
  return c;
}

/** Any column as strings (numbers formatted with String(), NaN → null). */
export function strCol(t: Table, name: string, who = 'table'): (string | null)[] {
  const c = t.columns[name];
  if (c === undefined) throw new Error(`${who}: no column "${name}"; columns are: ${t.names.join(', ')}`);
  if (isNumeric(c)) return Array.from(c, (v) => (Number.isNaN(v) ? null : String(v)));
  return c;
}

/** Keep the rows whose index is listed (in that order). */
export function takeRows(t: Table, idx: ArrayLike<number>): Table {
  const cols: Record<string, Column> = {};
  for (const name of t.names) {
    const c = t.columns[name]!;
    if (isNumeric(c)) {
      const out = c instanceof IntColumn ? new IntColumn(idx.length) : new Float64Array(idx.length);
      for (let i = 0; i < idx.length; i++) out[i] = c[idx[i]!]!;
      cols[name] = out;
    } else {
      const out: (string | null)[] = new Array(idx.length);
      for (let i = 0; i < idx.length; i++) out[i] = c[idx[i]!] ?? null;
      cols[name] = out;
    }
  }
  return makeTable(cols, t.names);
}

/** Keep the rows where `keep(i)` is true. */
export function filterRows(t: Table, keep: (i: number) => boolean): Table {
  const idx: number[] = [];
  for (let i = 0; i < t.nrows; i++) if (keep(i)) idx.push(i);
  return takeRows(t, idx);
}

/** A new table with `name` set to `col` (appended, or replaced in place). */
export function withColumn(t: Table, name: string, col: Column): Table {
  if (col.length !== t.nrows) throw new Error(`withColumn: "${name}" has ${col.length} rows, table has ${t.nrows}`);
  const names = hasCol(t, name) ? t.names : [...t.names, name];
  return makeTable({ ...t.columns, [name]: col }, names);
}

/** Rows as plain objects (for small tables: reports, tests). */
export function toRows(t: Table): Record<string, number | string | null>[] {
  const rows: Record<string, number | string | null>[] = [];
  for (let i = 0; i < t.nrows; i++) {
    const r: Record<string, number | string | null> = {};
    for (const name of t.names) {
      const c = t.columns[name]!;
      const v = c[i];
      r[name] = isNumeric(c) ? (Number.isNaN(v as number) ? null : (v as number)) : ((v as string | null) ?? null);
    }
    rows.push(r);
  }
  return rows;
}

/** Build a table from row objects; a column is numeric if every non-null value is a number. */
export function fromRows(rows: Record<string, unknown>[], names?: string[]): Table {
  const keys = names ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cols: Record<string, Column> = {};
  for (const k of keys) {
    const vals = rows.map((r) => r[k]);
    const numeric = vals.every((v) => v === null || v === undefined || typeof v === 'number');
    cols[k] = numeric
      ? Float64Array.from(vals, (v) => (typeof v === 'number' ? v : NaN))
      : vals.map((v) => (v === null || v === undefined ? null : String(v)));
  }
  return makeTable(cols, keys);
}

/**
 * Why a column is not numeric, for messages (`column "x" ${notNumericWhy(c)}`): "is text", or,
 * when every cell is missing (an all-empty column reads as text), "has no values (every cell is
 * missing)" — saying "is text" there sent users looking for text that is not there.
 */
export function notNumericWhy(c: Column): string {
  if (isNumeric(c)) return 'is numeric';
  for (let i = 0; i < c.length; i++) if (c[i] !== null && c[i] !== '') return 'is text';
  return 'has no values (every cell is missing, so it was read as text)';
}
