/**
 * Goodman-Bacon (2021) decomposition of the two-way fixed-effects DID coefficient
 *
 *   y_it = α_i + λ_t + β D_it + ε_it,   D_it = 1{t ≥ adopt_i},
 *
 * on a balanced panel into the 2×2 DIDs of every ordered pair of timing groups (k treated, l
 * control) and their weights:
 *
 * - treated_vs_never  (l never treated): k against l over all periods;
 * - earlier_vs_later  (k < l): k against the not-yet-treated l, periods before l adopts;
 * - later_vs_earlier  (k > l): k against the already-treated l, periods from l's adoption on.
 *
 * Each 2×2 estimate is the TWFE coefficient on the two groups and that window,
 * β_kl = Σ D̃ y / Σ D̃² with D̃ the two-way demeaned dummy (balanced, so it is explicit), computed
 * from group × period means. Its weight is proportional to n_kl² · Var(D̃_kl) (n_kl the rows of the
 * 2×2 sample) — Goodman-Bacon's (2021) s_kU, s_kl^k, s_kl^l up to a common factor — and the weights
 * are normalised to sum to 1, so that Σ w β equals the TWFE β exactly (tested to 1e-10).
 *
 * // R: bacondecomp::bacon(y ~ treat, data, id_var, time_var) (test/golden/bacon/make.R)
 *
 * @example
 * const r = baconDecomposition({ y, unit, panel });   // panel = staggeredPanel(...)
 * r.twfe; r.pairs[0]; // { type: 'treated_vs_never', treated: 2006, control: null, estimate, weight }
 */
import type { Factor } from './fe.js';
import type { StaggeredPanel } from './staggered.js';

export type BaconType = 'earlier_vs_later' | 'later_vs_earlier' | 'treated_vs_never';

export interface BaconPair {
  type: BaconType;
  treated: number;
  /** Control cohort (adoption period); null = never treated. */
  control: number | null;
  estimate: number;
  weight: number;
}

export interface BaconResult {
  twfe: number;
  pairs: BaconPair[];
  summary: Record<BaconType, { weight: number; estimate: number | null; pairs: number }>;
  nUnits: number;
  nPeriods: number;
}

/** Thrown when the panel is not balanced (message names a unit). */
export class UnbalancedPanelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnbalancedPanelError';
  }
}

/** The decomposition (see the module comment). `y` has no missing values. */
export function baconDecomposition(inp: { y: Float64Array; unit: Factor; panel: StaggeredPanel; unitLabel?: (c: number) => string }): BaconResult {
  const { y, unit, panel } = inp;
  const n = y.length;
  const U = unit.nlevels;
  const T = panel.times.length;
  const label = inp.unitLabel ?? ((c: number) => String(c));
  // balance: every unit once in every period
  const seen = new Uint8Array(U * T);
  const count = new Int32Array(U);
  for (let i = 0; i < n; i++) {
    const u = unit.codes[i]!, t = panel.timeIdx[i]!;
    if (seen[u * T + t]) throw new UnbalancedPanelError(`the panel has two rows for unit ${label(u)} in period ${panel.times[t]} (row ${i + 1}); the Bacon decomposition needs one row per unit and period`);
    seen[u * T + t] = 1;
    count[u]!++;
  }
  for (let u = 0; u < U; u++)
    if (count[u] !== T)
      throw new UnbalancedPanelError(
        `the panel is unbalanced: unit ${label(u)} has ${count[u]} of the ${T} periods ${panel.times[0]}..${panel.times[T - 1]} (after dropping rows with a missing value); the Bacon decomposition needs a balanced panel`,
      );
  // groups: cohorts then never (index C)
  const C = panel.cohorts.length;
  const gIndex = new Map(panel.cohorts.map((c, j) => [c, j]));
  const groupOfUnit = new Int32Array(U);
  for (let u = 0; u < U; u++) {
    const a = panel.adoptOfUnit[u]!;
    groupOfUnit[u] = Number.isNaN(a) ? C : gIndex.get(a)!;
  }
  const NG = C + 1;
  const size = new Float64Array(NG);
  for (let u = 0; u < U; u++) size[groupOfUnit[u]!]!++;
  const ybar = new Float64Array(NG * T);
  for (let i = 0; i < n; i++) ybar[groupOfUnit[unit.codes[i]!]! * T + panel.timeIdx[i]!]! += y[i]!;
  for (let g = 0; g < NG; g++) for (let t = 0; t < T; t++) if (size[g]! > 0) ybar[g * T + t]! /= size[g]!;
  const adoptIdx = panel.cohorts.map((c) => panel.times.indexOf(c));
  const Dg = (g: number, t: number): number => (g < C && t >= adoptIdx[g]! ? 1 : 0);

  /** TWFE of the groups `gs` over periods [t0, t1): Σ D̃ y, Σ D̃², rows. */
  function twfe(gs: number[], t0: number, t1: number): { sdy: number; sdd: number; rows: number } {
    const nt = t1 - t0;
    let N = 0;
    for (const g of gs) N += size[g]!;
    const dbarG = gs.map((g) => {
      let s = 0;
      for (let t = t0; t < t1; t++) s += Dg(g, t);
      return s / nt;
    });
    const dbarT = new Float64Array(nt);
    let dbar = 0;
    for (let t = t0; t < t1; t++) {
      let s = 0;
      gs.forEach((g) => (s += size[g]! * Dg(g, t)));
      dbarT[t - t0] = s / N;
      dbar += s;
    }
    dbar /= N * nt;
    let sdy = 0, sdd = 0;
    gs.forEach((g, j) => {
      for (let t = t0; t < t1; t++) {
        const dt = Dg(g, t) - dbarG[j]! - dbarT[t - t0]! + dbar;
        sdd += size[g]! * dt * dt;
        sdy += size[g]! * dt * ybar[g * T + t]!;
      }
    });
    return { sdy, sdd, rows: N * nt };
  }

  const all = Array.from({ length: NG }, (_, g) => g).filter((g) => size[g]! > 0);
  const full = twfe(all, 0, T);
  if (!(full.sdd > 0)) throw new Error('bacon: the treatment has no variation after the unit and period effects (no treated or no comparison units)');
  const twfeBeta = full.sdy / full.sdd;

  const pairs: BaconPair[] = [];
  let wsum = 0;
  for (let k = 0; k < C; k++) {
    for (let l = 0; l < NG; l++) {
      if (l === k || !(size[l]! > 0)) continue;
      let type: BaconType, t0: number, t1: number;
      if (l === C) [type, t0, t1] = ['treated_vs_never', 0, T];
      else if (k < l) [type, t0, t1] = ['earlier_vs_later', 0, adoptIdx[l]!];
      else [type, t0, t1] = ['later_vs_earlier', adoptIdx[l]!, T];
      const r = twfe([k, l], t0, t1);
      if (!(r.sdd > 0)) continue;
      const w = r.rows * r.sdd;
      wsum += w;
      pairs.push({ type, treated: panel.cohorts[k]!, control: l === C ? null : panel.cohorts[l]!, estimate: r.sdy / r.sdd, weight: w });
    }
  }
  for (const p of pairs) p.weight /= wsum;
  const types: BaconType[] = ['earlier_vs_later', 'later_vs_earlier', 'treated_vs_never'];
  const summary = {} as BaconResult['summary'];
  for (const ty of types) {
    const ps = pairs.filter((p) => p.type === ty);
    const w = ps.reduce((s, p) => s + p.weight, 0);
    const wb = ps.reduce((s, p) => s + p.weight * p.estimate, 0);
    summary[ty] = { weight: w, estimate: ps.length ? wb / w : null, pairs: ps.length };
  }
  return { twfe: twfeBeta, pairs, summary, nUnits: U, nPeriods: T };
}
