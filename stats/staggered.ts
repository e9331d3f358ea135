/**
 * Staggered-adoption panels: the cohort structure shared by the heterogeneity-robust DID
 * estimators (sunab.ts, did-imputation.ts, bacon.ts), with the checks that make their input valid.
 *
 * A unit's cohort is its adoption period (first treated period); 0 or missing = never treated.
 * From `adopt` (or, for bacon, from a 0/1 treatment column `treat`) this module derives, per row,
 * the relative period rel = time − adopt (NaN for never-treated units) and the treatment dummy
 * D = 1{time ≥ adopt}, after checking, in this order:
 *
 * 1. `adopt` is constant within a unit (0 and missing count as the same "never");
 * 2. with `treat`: it is 0/1, never switches off (1 then 0 within a unit), and agrees with `adopt`
 *    when both are given (treat = 1{time ≥ adopt});
 * 3. every adoption period is an observed value of `time` (an adoption after the sample, or between
 *    observed periods, is an error: recode it as 0 = never treated, or fix the period);
 * 4. no cohort is treated in the first observed period (it has no pre-period, so no DID compares
 *    it with anything);
 * 5. each cohort has at least `minCohortSize` units.
 *
 * Errors are `StaggeredError`s whose `param` names the offending parameter (adopt / treat /
 * min_cohort_size) and whose message names the unit and the (1-based) row of the table given.
 *
 * @example
 * const p = staggeredPanel({ unit, time, adopt }, { minCohortSize: 1 });
 * p.cohorts;  // [2015, 2016, 2018, ...]   p.rel[i] = time − adopt, NaN for never treated
 */
import type { Factor } from './fe.js';

export class StaggeredError extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
    this.name = 'StaggeredError';
  }
}

export interface StaggeredInput {
  unit: Factor;
  /** Time period of each row (finite numbers). */
  time: Float64Array;
  /** Adoption period per row (0 / NaN = never). Give adopt or treat (or both). */
  adopt?: Float64Array;
  /** 0/1 treatment indicator per row. */
  treat?: Float64Array;
  /** Label of a unit code for messages (default: the code). */
  unitLabel?: (code: number) => string;
  /** Parameter names for messages (defaults 'adopt', 'treat', 'time'). */
  names?: { adopt?: string; treat?: string; time?: string };
}

export interface StaggeredPanel {
  nUnits: number;
  /** Sorted distinct periods. */
  times: number[];
  /** Index of each row's period in `times`. */
  timeIdx: Int32Array;
  /** Adoption period per unit code (NaN = never treated). */
  adoptOfUnit: Float64Array;
  /** Sorted distinct adoption periods (the treated cohorts). */
  cohorts: number[];
  /** Units per cohort (cohorts order). */
  cohortSizes: number[];
  /** Number of never-treated units. */
  nNever: number;
  /** time − adopt per row, NaN for never-treated units. */
  rel: Float64Array;
  /** 1{time ≥ adopt} per row. */
  D: Float64Array;
}

export interface StaggeredOptions {
  /** Minimum number of units in each treated cohort (≥ 1). Default 1. */
  minCohortSize?: number;
}

const isNever = (a: number): boolean => Number.isNaN(a) || a === 0;

/** Check and describe a staggered-adoption panel (see the module comment). */
export function staggeredPanel(inp: StaggeredInput, opts: StaggeredOptions = {}): StaggeredPanel {
  const { unit, time, adopt, treat } = inp;
  const n = time.length;
  const label = inp.unitLabel ?? ((c: number) => String(c));
  const aName = inp.names?.adopt ?? 'adopt';
  const tName = inp.names?.treat ?? 'treat';
  const timeName = inp.names?.time ?? 'time';
  const minSize = opts.minCohortSize ?? 1;
  if (!adopt && !treat) throw new Error('staggeredPanel: give adopt or treat');
  const G = unit.nlevels;
  for (let i = 0; i < n; i++) if (!Number.isFinite(time[i]!)) throw new StaggeredError(`${timeName} is missing or not finite at row ${i + 1}`, timeName);
  const times = [...new Set(time)].sort((a, b) => a - b);
  const tIndex = new Map(times.map((t, j) => [t, j]));
  const timeIdx = new Int32Array(n);
  for (let i = 0; i < n; i++) timeIdx[i] = tIndex.get(time[i]!)!;

  const adoptOfUnit = new Float64Array(G).fill(NaN);
  if (adopt) {
    const firstRow = new Int32Array(G).fill(-1);
    for (let i = 0; i < n; i++) {
      const u = unit.codes[i]!;
      const a = isNever(adopt[i]!) ? NaN : adopt[i]!;
      if (firstRow[u]! < 0) {
        firstRow[u] = i;
        adoptOfUnit[u] = a;
      } else {
        const b = adoptOfUnit[u]!;
        if (!(Object.is(a, b) || a === b)) {
          const show = (v: number) => (Number.isNaN(v) ? 'never (0/missing)' : String(v));
          throw new StaggeredError(
            `unit ${label(u)} has ${aName} = ${show(b)} at row ${firstRow[u]! + 1} but ${show(a)} at row ${i + 1}; ${aName} must be the unit's first treated period, the same on every row of the unit`,
            aName,
          );
        }
      }
    }
  }
  if (treat) {
    // rows of each unit in time order
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => unit.codes[a]! - unit.codes[b]! || time[a]! - time[b]!);
    const firstOn = new Float64Array(G).fill(NaN);
    const lastVal = new Float64Array(G).fill(NaN);
    const onRow = new Int32Array(G).fill(-1);
    for (const i of order) {
      const u = unit.codes[i]!;
      const d = treat[i]!;
      if (d !== 0 && d !== 1) throw new StaggeredError(`${tName} must be 0 or 1; row ${i + 1} (unit ${label(u)}) has ${d}`, tName);
      if (d === 0 && lastVal[u] === 1)
        throw new StaggeredError(
          `treatment switches off: unit ${label(u)} is treated from ${timeName} ${firstOn[u]} (row ${onRow[u]! + 1}) but ${tName} = 0 at ${timeName} ${time[i]} (row ${i + 1}); these estimators need an absorbing treatment (once treated, always treated) — drop the unit or the later rows`,
          tName,
        );
      if (d === 1 && lastVal[u] !== 1) {
        firstOn[u] = time[i]!;
        onRow[u] = i;
      }
      lastVal[u] = d;
    }
    if (adopt) {
      for (let u = 0; u < G; u++) {
        const a = adoptOfUnit[u]!, f = firstOn[u]!;
        if (!(Object.is(a, f) || a === f))
          throw new StaggeredError(
            `unit ${label(u)}: ${tName} first equals 1 at ${Number.isNaN(f) ? 'no period' : f} but ${aName} is ${Number.isNaN(a) ? 'never (0/missing)' : a}; give one of them or make them agree`,
            tName,
          );
      }
    } else adoptOfUnit.set(firstOn);
  }

  const t0 = times[0]!;
  const cohortCount = new Map<number, number>();
  for (let u = 0; u < G; u++) {
    const a = adoptOfUnit[u]!;
    if (Number.isNaN(a)) continue;
    cohortCount.set(a, (cohortCount.get(a) ?? 0) + 1);
  }
  const unitOfCohort = new Map<number, number>();
  for (let u = G - 1; u >= 0; u--) if (!Number.isNaN(adoptOfUnit[u]!)) unitOfCohort.set(adoptOfUnit[u]!, u);
  const cohorts = [...cohortCount.keys()].sort((a, b) => a - b);
  for (const c of cohorts) {
    if (!tIndex.has(c))
      throw new StaggeredError(
        `${aName} = ${c} (unit ${label(unitOfCohort.get(c)!)}) is not an observed period of ${timeName} (observed: ${times[0]}..${times[times.length - 1]}, ${times.length} periods); an adoption outside the sample must be coded 0 (never treated), otherwise fix the period`,
        aName,
      );
  }
  if (cohorts.length > 0 && cohorts[0] === t0)
    throw new StaggeredError(
      `cohort ${t0} (${cohortCount.get(t0)} unit(s), e.g. ${label(unitOfCohort.get(t0)!)}) is treated in the first observed period ${t0}, so it has no pre-period and no DID can use it; drop those units (exclude) or start the sample earlier`,
      aName,
    );
  const cohortSizes = cohorts.map((c) => cohortCount.get(c)!);
  cohorts.forEach((c, j) => {
    if (cohortSizes[j]! < minSize)
      throw new StaggeredError(
        `cohort ${c} has ${cohortSizes[j]} unit(s) (e.g. ${label(unitOfCohort.get(c)!)}), fewer than min_cohort_size = ${minSize}; pool or drop the cohort, or lower min_cohort_size`,
        'min_cohort_size',
      );
  });
  let nNever = 0;
  for (let u = 0; u < G; u++) if (Number.isNaN(adoptOfUnit[u]!)) nNever++;
  const rel = new Float64Array(n);
  const D = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = adoptOfUnit[unit.codes[i]!]!;
    rel[i] = Number.isNaN(a) ? NaN : time[i]! - a;
    D[i] = !Number.isNaN(a) && time[i]! >= a ? 1 : 0;
  }
  return { nUnits: G, times, timeIdx, adoptOfUnit, cohorts, cohortSizes, nNever, rel, D };
}
