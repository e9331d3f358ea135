/**
 * Row- and cell-level difference of two tables (old `a`, new `b`), as data: used by `why` (what
 * changed in an input table) and `repro diff` (table artifacts). The prose is rendered by
 * reasons.ts (`tableDiffLines`), like every other explanation.
 *
 * Rows are matched by key columns when a usable key is given (its columns exist in both tables
 * and identify one row in each), else by position (row i of `a` against row i of `b`). Cells are
 * compared exactly: numbers by value (NaN equals NaN: both missing), text by string; a column that
 * is numeric in one table and text in the other is compared by its text form. Columns present in
 * only one table are listed, not counted as cell changes.
 *
 * @example
 * const d = diffTables(oldPanel, newPanel, { keys: [['city_code', 'year']] });
 * d.changed; d.perColumn.so2; d.cells[0]; // {key: {city_code: 330100, year: 2015}, column: 'so2', a: 12.3, b: 13.1}
 */
import { isNumeric, type Column, type Table } from './table.js';

export type Cell = number | string | null;

/** One changed cell; `key` names the row (its key values, or `{row: i}` 1-based when matched by position). */
export interface CellChange {
  key: Record<string, Cell>;
  column: string;
  a: Cell;
  b: Cell;
}

export interface TableDiff {
  /** Key columns the rows were matched by; null = by position. */
  keyedBy: string[] | null;
  /** Why a declared key was not used (not in both tables, or not unique), when it was not. */
  keyNote?: string;
  rowsA: number;
  rowsB: number;
  /** Rows only in `b` / only in `a` (by key, or the tail when matched by position). */
  added: number;
  removed: number;
  /** Matched rows with at least one changed cell. */
  changed: number;
  /** Changed cells per column (columns with at least one). */
  perColumn: Record<string, number>;
  /** The first changed cells, in `b`'s row order. */
  cells: CellChange[];
  /** Keys of the first added / removed rows. */
  addedKeys: Record<string, Cell>[];
  removedKeys: Record<string, Cell>[];
  columnsAdded: string[];
  columnsRemoved: string[];
}

export interface TableDiffOptions {
  /** Candidate keys, most specific first: the first whose columns exist in both tables and are unique in each is used. */
  keys?: string[][];
  /** How many changed cells to keep in `cells` (default 10). */
  limit?: number;
  /** How many added / removed row keys to keep (default 5). */
  keyLimit?: number;
}

/** The value of a cell as data: NaN (missing number) → null. */
export function cellValue(c: Column, i: number): Cell {
  if (isNumeric(c)) {
    const v = c[i]!;
    return Number.isNaN(v) ? null : v;
  }
  return c[i] ?? null;
}

const text = (v: Cell): string | null => (v === null ? null : String(v));

/** Do two cells hold the same value (exactly; missing equals missing)? */
function same(ca: Column, i: number, cb: Column, j: number): boolean {
  if (isNumeric(ca) && isNumeric(cb)) {
    const x = ca[i]!;
    const y = cb[j]!;
    return x === y || (Number.isNaN(x) && Number.isNaN(y));
  }
  return text(cellValue(ca, i)) === text(cellValue(cb, j));
}

/** Row index by key string, or the reason the key cannot be used. */
function keyIndex(t: Table, key: string[], label: string): Map<string, number> | string {
  const missing = key.filter((k) => !Object.prototype.hasOwnProperty.call(t.columns, k));
  if (missing.length) return `the ${label} table has no column ${missing.join(', ')}`;
  const cols = key.map((k) => t.columns[k]!);
  const m = new Map<string, number>();
  for (let i = 0; i < t.nrows; i++) {
    const s = JSON.stringify(cols.map((c) => text(cellValue(c, i))));
    if (m.has(s)) return `[${key.join(', ')}] is not unique in the ${label} table (${key.map((k, j) => `${k}=${text(cellValue(cols[j]!, i))}`).join(', ')} twice)`;
    m.set(s, i);
  }
  return m;
}

const keyOf = (t: Table, key: string[], i: number): Record<string, Cell> => Object.fromEntries(key.map((k) => [k, cellValue(t.columns[k]!, i)]));

/** Compare two tables (see the module header). */
export function diffTables(a: Table, b: Table, opts: TableDiffOptions = {}): TableDiff {
  const limit = opts.limit ?? 10;
  const keyLimit = opts.keyLimit ?? 5;
  let keyedBy: string[] | null = null;
  let keyNote: string | undefined;
  let ia: Map<string, number> | undefined;
  let ib: Map<string, number> | undefined;
  for (const key of opts.keys ?? []) {
    if (!key.length) continue;
    const xa = keyIndex(a, key, 'old');
    const xb = typeof xa === 'string' ? xa : keyIndex(b, key, 'new');
    if (typeof xa !== 'string' && typeof xb !== 'string') {
      keyedBy = key;
      ia = xa;
      ib = xb;
      keyNote = undefined;
      break;
    }
    // a key inherited from upstream whose columns this table lacks is simply not its key; a key
    // whose columns are there but do not identify rows is worth saying
    const why = typeof xa === 'string' ? xa : (xb as string);
    if (!why.includes(' has no column ')) keyNote ??= `key [${key.join(', ')}] not used: ${why}`;
  }
  const colsA = new Set(a.names);
  const colsB = new Set(b.names);
  const common = b.names.filter((n) => colsA.has(n) && !(keyedBy ?? []).includes(n));
  const d: TableDiff = {
    keyedBy,
    ...(keyNote ? { keyNote } : {}),
    rowsA: a.nrows,
    rowsB: b.nrows,
    added: 0,
    removed: 0,
    changed: 0,
    perColumn: {},
    cells: [],
    addedKeys: [],
    removedKeys: [],
    columnsAdded: b.names.filter((n) => !colsA.has(n)),
    columnsRemoved: a.names.filter((n) => !colsB.has(n)),
  };
  const compareRow = (i: number, j: number, key: Record<string, Cell>): void => {
    let any = false;
    for (const name of common) {
      const ca = a.columns[name]!;
      const cb = b.columns[name]!;
      if (same(ca, i, cb, j)) continue;
      any = true;
      d.perColumn[name] = (d.perColumn[name] ?? 0) + 1;
      if (d.cells.length < limit) d.cells.push({ key, column: name, a: cellValue(ca, i), b: cellValue(cb, j) });
    }
    if (any) d.changed++;
  };
  if (keyedBy && ia && ib) {
    const k = keyedBy;
    for (let j = 0; j < b.nrows; j++) {
      const s = JSON.stringify(k.map((c) => text(cellValue(b.columns[c]!, j))));
      const i = ia.get(s);
      if (i === undefined) {
        d.added++;
        if (d.addedKeys.length < keyLimit) d.addedKeys.push(keyOf(b, k, j));
      } else compareRow(i, j, keyOf(b, k, j));
    }
    for (let i = 0; i < a.nrows; i++) {
      const s = JSON.stringify(k.map((c) => text(cellValue(a.columns[c]!, i))));
      if (!ib.has(s)) {
        d.removed++;
        if (d.removedKeys.length < keyLimit) d.removedKeys.push(keyOf(a, k, i));
      }
    }
  } else {
    const n = Math.min(a.nrows, b.nrows);
    for (let i = 0; i < n; i++) compareRow(i, i, { row: i + 1 });
    for (let j = n; j < b.nrows; j++) {
      d.added++;
      if (d.addedKeys.length < keyLimit) d.addedKeys.push({ row: j + 1 });
    }
    for (let i = n; i < a.nrows; i++) {
      d.removed++;
      if (d.removedKeys.length < keyLimit) d.removedKeys.push({ row: i + 1 });
    }
  }
  return d;
}

/** True when the diff found no difference at all (rows, cells, columns). */
export function tableDiffEmpty(d: TableDiff): boolean {
  return d.added === 0 && d.removed === 0 && d.changed === 0 && d.columnsAdded.length === 0 && d.columnsRemoved.length === 0;
}
