/**
 * Unit-level treatment timing shared by every staggered-adoption step (event-study, placebo, and
 * the heterogeneity-robust DID estimators): the unit of each row, the adoption time of each unit
 * (its cohort; 0 = never treated) and each row's time relative to adoption.
 *
 * The adoption column must be constant within a unit (one adoption time per unit); a missing value
 * or 0 means never treated. Rows whose unit is missing are not checked and get no unit (-1).
 *
 * @example
 * const c = unitCohorts(table, { unit: 'city_code', time: 'year', adopt: 'pilot_year' });
 * c.rel[i];          // year − pilot_year of row i, NaN for never-treated cities
 * c.adopt[c.unit[i]]; // the adoption year of row i's city (0 = never)
 */
import { StepError } from '../../engine/types.js';
import { hasCol, isNumeric, type Table } from '../../engine/table.js';
import { factorize } from '../../stats/fe.js';

export interface CohortColumns {
  /** Unit column (numeric or text). */
  unit: string;
  /** Time column (numeric). */
  time: string;
  /** Adoption-time column (numeric, constant within unit; 0 or missing = never treated). */
  adopt: string;
}

export interface Cohorts {
  /** Per row (of `rows`, or of the table): unit index 0..units−1 in order of first appearance; −1 when the unit is missing. */
  unit: Int32Array;
  /** Per unit: adoption time, 0 = never treated. */
  adopt: Float64Array;
  /** Per row: time − adoption time for ever-treated units, NaN for never-treated units (and missing time). */
  rel: Float64Array;
  /** Per row: the time. */
  time: Float64Array;
  /** Number of units. */
  units: number;
  /** Number of ever-treated units. */
  treated: number;
}

/**
 * Cohorts and relative time of `rows` of `table` (default: every row). Throws a StepError naming
 * the column and row when a column is absent or not numeric, or the adoption time varies within a unit.
 */
export function unitCohorts(table: Table, cols: CohortColumns, rows?: Int32Array): Cohorts {
  for (const c of [cols.unit, cols.time, cols.adopt]) {
    if (!hasCol(table, c)) throw new StepError(`column "${c}" not found in the input table; columns are: ${table.names.join(', ')}`);
  }
  for (const c of [cols.time, cols.adopt]) {
    if (!isNumeric(table.columns[c]!)) throw new StepError(`column "${c}" must be numeric (periods, e.g. years)`);
  }
  const n = rows ? rows.length : table.nrows;
  const at = (i: number): number => (rows ? rows[i]! : i);
  const unitF = factorize(table.columns[cols.unit]!);
  const timeCol = table.columns[cols.time] as Float64Array;
  const adoptCol = table.columns[cols.adopt] as Float64Array;
  const unitMap = new Int32Array(unitF.nlevels).fill(-1);
  const firstRow: number[] = [];
  const adoptU: number[] = [];
  const unit = new Int32Array(n);
  const rel = new Float64Array(n);
  const time = new Float64Array(n);
  let treated = 0;
  for (let i = 0; i < n; i++) {
    const r = at(i);
    const a = Number.isNaN(adoptCol[r]!) ? 0 : adoptCol[r]!;
    const t = timeCol[r]!;
    time[i] = t;
    rel[i] = a === 0 ? NaN : t - a;
    const uc = unitF.codes[r]!;
    if (uc < 0) {
      unit[i] = -1;
      continue;
    }
    if (unitMap[uc]! < 0) {
      unitMap[uc] = adoptU.length;
      adoptU.push(a);
      firstRow.push(r);
      if (a !== 0) treated++;
    }
    const u = unitMap[uc]!;
    unit[i] = u;
    if (a !== adoptU[u]) {
      throw new StepError(
        `adoption column "${cols.adopt}" is not constant within unit "${cols.unit}": row ${firstRow[u]! + 1} has ${adoptU[u] || 'never (0/empty)'}, row ${r + 1} has ${a || 'never (0/empty)'}; it must give one adoption time per unit`,
      );
    }
  }
  return { unit, adopt: Float64Array.from(adoptU), rel, time, units: adoptU.length, treated };
}
