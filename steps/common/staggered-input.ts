/**
 * Shared input handling of the staggered-DID step kinds (sunab, did-imputation, bacon): the common
 * params (y, unit, time, adopt, cluster, where/exclude, min_cohort_size), the column checks, the
 * complete-case rows and the cohort checks of stats/staggered.ts turned into StepErrors that name
 * the step and the parameter.
 *
 * @example
 * const d = prepareDid(table, params, { controls: params.controls });
 * d.panel.cohorts; d.y; d.X; d.unit; d.cluster
 */
import { z } from 'zod';
import { StepError } from '../../engine/types.js';
import { type Table, hasCol, isNumeric, notNumericWhy } from '../../engine/table.js';
import { applyFilters, whereSchema, excludeSchema, type Where, type Exclude } from './filter.js';
import { factorize, type Factor } from '../../stats/fe.js';
import { staggeredPanel, StaggeredError, type StaggeredPanel } from '../../stats/staggered.js';

/** Params shared by sunab, did-imputation and bacon. */
export const didParams = {
  y: z.string().min(1).describe('outcome column (numeric)'),
  unit: z.string().min(1).describe('unit column (e.g. city_code)'),
  time: z.string().min(1).describe('time column (numeric, e.g. year)'),
  adopt: z.string().min(1).optional().describe('first treated period of the unit (constant within unit); 0 or empty = never treated'),
  treat: z.string().min(1).optional().describe('optional 0/1 treatment column (absorbing); checked against adopt (it must be 1 exactly from adopt on), or, for bacon, used instead of adopt'),
  cluster: z.string().min(1).optional().describe('cluster column (default: the unit column)'),
  min_cohort_size: z.number().int().min(1).default(1).describe('minimum number of units in a treated cohort (default 1); a smaller cohort is an error'),
  where: whereSchema.optional(),
  exclude: excludeSchema.optional(),
};

export interface DidData {
  table: Table;
  /** Complete-case rows, indices into `table`. */
  rows: Int32Array;
  y: Float64Array;
  time: Float64Array;
  X: Float64Array[];
  unit: Factor;
  cluster: Factor;
  unitLabel: (code: number) => string;
  panel: StaggeredPanel;
  missing: number;
  filtered: number;
}

/** Filter, check columns, take complete cases and build the cohort structure. */
export function prepareDid(
  input: Table,
  p: { y: string; unit: string; time: string; adopt?: string; treat?: string; cluster?: string; min_cohort_size: number; where?: Where; exclude?: Exclude },
  opts: { controls?: string[] } = {},
): DidData {
  const table = applyFilters(input, p.where, p.exclude);
  const controls = opts.controls ?? [];
  const clusterCol = p.cluster ?? p.unit;
  const numeric = [p.y, p.time, ...controls, ...(p.adopt ? [p.adopt] : []), ...(p.treat ? [p.treat] : [])];
  const needed = [...numeric, p.unit, clusterCol];
  const absent = [...new Set(needed.filter((c) => !hasCol(table, c)))];
  if (absent.length) throw new StepError(`column${absent.length > 1 ? 's' : ''} ${absent.map((c) => `"${c}"`).join(', ')} not found in the input table; columns are: ${table.names.join(', ')}`);
  for (const c of numeric) if (!isNumeric(table.columns[c]!)) throw new StepError(`column "${c}" ${notNumericWhy(table.columns[c]!)}; it must be numeric (convert it in a clean step)`);
  if (controls.includes(p.y)) throw new StepError(`params.controls lists the outcome "${p.y}"`);
  const n0 = table.nrows;
  if (n0 === 0) throw new StepError(`no rows left after where/exclude filters`);
  const unitF = factorize(table.columns[p.unit]!);
  const clF = factorize(table.columns[clusterCol]!);
  const ok = new Uint8Array(n0).fill(1);
  // adopt may be missing (= never treated); every other column must be present
  for (const c of [p.y, p.time, ...controls, ...(p.treat ? [p.treat] : [])]) {
    const col = table.columns[c] as Float64Array;
    for (let i = 0; i < n0; i++) if (Number.isNaN(col[i]!)) ok[i] = 0;
  }
  for (let i = 0; i < n0; i++) if (unitF.codes[i]! < 0 || clF.codes[i]! < 0) ok[i] = 0;
  const idx: number[] = [];
  for (let i = 0; i < n0; i++) if (ok[i]) idx.push(i);
  if (idx.length === 0) throw new StepError(`every row has a missing value in one of ${[...new Set(needed)].join(', ')}`);
  const rows = Int32Array.from(idx);
  const m = rows.length;
  const pick = (c: string): Float64Array => {
    const col = table.columns[c] as Float64Array;
    const out = new Float64Array(m);
    for (let j = 0; j < m; j++) out[j] = col[rows[j]!]!;
    return out;
  };
  const recode = (f: Factor): { f: Factor; orig: Int32Array } => {
    const map = new Int32Array(f.nlevels).fill(-1);
    const orig: number[] = [];
    const codes = new Int32Array(m);
    for (let j = 0; j < m; j++) {
      const c = f.codes[rows[j]!]!;
      if (map[c]! < 0) {
        map[c] = orig.length;
        orig.push(rows[j]!);
      }
      codes[j] = map[c]!;
    }
    return { f: { codes, nlevels: orig.length }, orig: Int32Array.from(orig) };
  };
  const u = recode(unitF);
  const cl = recode(clF).f;
  const unitCol = table.columns[p.unit]!;
  const unitLabel = (c: number) => String(unitCol[u.orig[c]!]);
  const y = pick(p.y);
  const time = pick(p.time);
  let panel: StaggeredPanel;
  try {
    panel = staggeredPanel(
      { unit: u.f, time, adopt: p.adopt ? pick(p.adopt) : undefined, treat: p.treat ? pick(p.treat) : undefined, unitLabel, names: { adopt: p.adopt, treat: p.treat, time: p.time } },
      { minCohortSize: p.min_cohort_size },
    );
  } catch (e) {
    if (e instanceof StaggeredError) {
      // rows in messages are rows of the complete-case table: map "row k" back to the filtered input
      const msg = e.message.replace(/row (\d+)/g, (_, k) => `row ${rows[Number(k) - 1]! + 1}`);
      throw new StepError(`params.${e.param === 'min_cohort_size' ? 'min_cohort_size' : e.param === p.adopt ? 'adopt' : e.param === p.treat ? 'treat' : 'time'} ("${e.param}"): ${msg}`);
    }
    throw e;
  }
  if (panel.cohorts.length === 0) throw new StepError(`no treated unit (every "${p.adopt ?? p.treat}" is never-treated); nothing to estimate`);
  return { table, rows, y, time, X: controls.map(pick), unit: u.f, cluster: cl, unitLabel, panel, missing: n0 - m, filtered: input.nrows - n0 };
}
