/**
 * stats/twoway.ts against stats/ols.ts (alternating projections; itself tested against R lm +
 * sandwich in test/golden/twfe): the exact two-way projection and OLS agree with feols on an
 * unbalanced panel (the demo panel's missing values), on a panel with two disconnected components,
 * and sunab gives the same result by either path. The projector's many-column effects equal its
 * one-column ones on rows out of order with repeated (unit, period) pairs; feols' fused two-way fit
 * equals its alternating-projection path; the block-fed variance equals computeVcov.
 */
import { describe, expect, it } from 'vitest';
import { TwoWayProjector, olsTwoWay } from '../../stats/twoway.js';
import { Demeaner } from '../../stats/demean.js';
import { feols } from '../../stats/ols.js';
import { VcovAccumulator, computeVcov, type VcovType } from '../../stats/vcov.js';
import { factorize, type Factor } from '../../stats/fe.js';
import { sunabFit } from '../../stats/sunab.js';
import { staggeredPanel } from '../../stats/staggered.js';
import { demoPanel } from '../steps/staggered-data.js';
import { relClose } from '../steps/stats-helpers.js';

async function demoComplete() {
  const t = await demoPanel();
  const cols = ['so2', 'pgdp', 'indus', 'urb', 'fin', 'fis'];
  const idx: number[] = [];
  for (let i = 0; i < t.nrows; i++) if (cols.every((c) => !Number.isNaN((t.columns[c] as Float64Array)[i]!))) idx.push(i);
  const pick = (c: string) => Float64Array.from(idx, (i) => (t.columns[c] as Float64Array)[i]!);
  return { n: idx.length, pick };
}

describe('TwoWayProjector', () => {
  it('equals the alternating-projection residual on an unbalanced panel and on two disconnected components', async () => {
    const { pick } = await demoComplete();
    const unit = factorize(pick('city_code')), year = factorize(pick('year'));
    const x = pick('so2');
    const a = new TwoWayProjector(unit, year).residual(x);
    const b = new Demeaner([unit, year], { tol: 1e-14 }).demean(x);
    const scale = Math.max(...Array.from(x, Math.abs));
    for (let i = 0; i < x.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-10 * scale);
    // two components: units 0-2 observed in periods 0-2, units 3-5 in periods 3-5 (unbalanced within)
    const uc: number[] = [], tc: number[] = [], xs: number[] = [];
    for (let u = 0; u < 6; u++) for (let t = 0; t < 3; t++) if (!(u === 1 && t === 2)) {
      uc.push(u);
      tc.push(u < 3 ? t : t + 3);
      xs.push(Math.sin(u * 3.1 + t * t));
    }
    const U: Factor = { codes: Int32Array.from(uc), nlevels: 6 }, T: Factor = { codes: Int32Array.from(tc), nlevels: 6 };
    const X = Float64Array.from(xs);
    const r1 = new TwoWayProjector(U, T).residual(X), r2 = new Demeaner([U, T], { tol: 1e-14 }).demean(X);
    for (let i = 0; i < X.length; i++) expect(Math.abs(r1[i]! - r2[i]!)).toBeLessThan(1e-10);
  });
});

describe('TwoWayProjector.effectsOf', () => {
  it('gives each column the effects of effects(), on rows out of unit order with repeated (unit, period) pairs and runs of like units', () => {
    // units 0-3 share one pattern (a run), unit 4 repeats period 1, units 5-6 another pattern; rows shuffled
    const rows: [number, number][] = [];
    for (let u = 0; u < 4; u++) for (let t = 0; t < 4; t++) rows.push([u, t]);
    rows.push([4, 0], [4, 1], [4, 1], [4, 3]);
    for (let u = 5; u < 7; u++) for (let t = 1; t < 4; t++) rows.push([u, t]);
    const order = rows.map((_, i) => (i * 7) % rows.length);
    expect(new Set(order).size).toBe(rows.length);
    const U: Factor = { codes: Int32Array.from(order, (i) => rows[i]![0]), nlevels: 7 };
    const T: Factor = { codes: Int32Array.from(order, (i) => rows[i]![1]), nlevels: 4 };
    const cols = [0, 1, 2].map((c) => Float64Array.from(order, (i, j) => Math.cos(1.7 * i + c) + 0.3 * j));
    const p = new TwoWayProjector(U, T);
    const totals = new Float64Array(3);
    const { alpha, beta } = p.effectsOf(cols, totals);
    cols.forEach((x, c) => {
      const one = p.effects(x);
      for (let u = 0; u < 7; u++) expect(alpha[u * 3 + c]).toBe(one.alpha[u]);
      for (let t = 0; t < 4; t++) expect(beta[t * 3 + c]).toBe(one.beta[t]);
      expect(Math.abs(totals[c]! - x.reduce((s, v) => s + v, 0))).toBeLessThan(1e-12);
      const r1 = p.residual(x), r2 = new Demeaner([U, T], { tol: 1e-14 }).demean(x);
      for (let i = 0; i < x.length; i++) expect(Math.abs(r1[i]! - r2[i]!)).toBeLessThan(1e-10);
    });
  });
});

describe('feols, two fixed effects', () => {
  it('fits the same model by the fused exact path (unweighted) as by alternating projections (unit weights): iid, hc1, one- and two-way clusters', async () => {
    const { pick } = await demoComplete();
    const unit = factorize(pick('city_code')), year = factorize(pick('year'));
    const X = [pick('pgdp'), pick('indus'), pick('urb')];
    const xNames = ['pgdp', 'indus', 'urb'];
    const y = pick('so2');
    const ones = new Float64Array(y.length).fill(1);
    const cases: [VcovType, Factor[]][] = [['iid', []], ['hc1', []], ['cluster', [unit]], ['cluster', [unit, year]]];
    for (const [vcov, clusters] of cases) {
      const base = { y, yName: 'so2', X, xNames, fe: [unit, year], feNames: ['city', 'year'], clusters, vcov, tol: 1e-14 };
      const a = feols(base);
      const b = feols({ ...base, weights: ones });
      expect(a.n).toBe(b.n);
      expect(a.dofK).toBe(b.dofK);
      expect(a.dfT).toBe(b.dfT);
      a.coefficients.forEach((c, j) => {
        expect(relClose(c.estimate, b.coefficients[j]!.estimate, 1e-9), `${vcov} ${c.term}`).toBe(true);
        expect(relClose(c.se, b.coefficients[j]!.se, 1e-8), `${vcov} ${c.term}`).toBe(true);
      });
      expect(relClose(a.r2_within, b.r2_within, 1e-9)).toBe(true);
      // the demeaned columns of `internals` are built on request, and are the fit's
      const r = new Demeaner([unit, year], { tol: 1e-14 }).demean(X[1]!);
      a.internals.Xt[1]!.forEach((v, i) => expect(Math.abs(v - r[i]!)).toBeLessThan(1e-9));
    }
  });
});

describe('VcovAccumulator', () => {
  it('fed by blocks gives computeVcov on the whole columns (to rounding)', () => {
    const n = 500, k = 3;
    const Z = Array.from({ length: k }, (_, a) => Float64Array.from({ length: n }, (_, i) => Math.sin(i * (a + 1.3))));
    const e = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 0.7));
    const w = Float64Array.from({ length: n }, (_, i) => 1 + (i % 3));
    const g1: Factor = { codes: Int32Array.from({ length: n }, (_, i) => i % 17), nlevels: 17 };
    const g2: Factor = { codes: Int32Array.from({ length: n }, (_, i) => Math.floor(i / 50)), nlevels: 10 };
    const bread = Float64Array.from({ length: k * k }, (_, i) => (i % (k + 1) === 0 ? 2 : 0.1));
    for (const [type, clusters] of [['iid', []], ['hc1', []], ['cluster', [g1]], ['cluster', [g1, g2]]] as [VcovType, Factor[]][])
      for (const wt of [null, w]) {
        const whole = computeVcov(type, { Z, e, w: wt, bread, dofK: 5, clusters });
        const acc = new VcovAccumulator(type, k, wt, clusters);
        for (let s = 0; s < n; s += 64) {
          const len = Math.min(64, n - s);
          acc.add(Z.map((z) => z.subarray(s, s + len)), e.subarray(s, s + len), s, len);
        }
        const parts = acc.result(bread, 5);
        // the same sums, but a run of one cluster cut by a block boundary is added in two parts
        parts.V.forEach((v, i) => expect(relClose(v, whole.V[i]!, 1e-12), `${type} ${i}`).toBe(true));
        expect(parts.dfT).toBe(whole.dfT);
      }
  });
});

describe('olsTwoWay', () => {
  it('equals feols (coefficients 1e-9, clustered SEs 1e-9, K, R²) with sparse dummies and dense controls', async () => {
    const { n, pick } = await demoComplete();
    const unit = factorize(pick('city_code')), year = factorize(pick('year'));
    const yr = pick('year'), code = pick('city_code');
    const d1 = Float64Array.from(yr, (v, i) => (v >= 2016 && code[i]! % 7 === 0 ? 1 : 0));
    const d2 = Float64Array.from(yr, (v, i) => (v === 2019 && code[i]! % 5 === 0 ? 1 : 0));
    const X = [d1, d2, pick('pgdp'), pick('indus')];
    const xNames = ['d1', 'd2', 'pgdp', 'indus'];
    const y = pick('so2');
    const a = olsTwoWay({ y, X, xNames, a: unit, b: year, feNames: ['city', 'year'], clusters: [unit], clusterNames: ['city'], vcov: 'cluster' });
    const b = feols({ y, yName: 'so2', X, xNames, fe: [unit, year], feNames: ['city', 'year'], clusters: [unit], clusterNames: ['city'], vcov: 'cluster', keepSingletons: true, tol: 1e-14 });
    expect(a.n).toBe(n);
    expect(a.dofK).toBe(b.dofK);
    expect(a.dfT).toBe(b.dfT);
    a.coefficients.forEach((c, j) => {
      expect(relClose(c.estimate, b.coefficients[j]!.estimate, 1e-9), c.term).toBe(true);
      expect(relClose(c.se, b.coefficients[j]!.se, 1e-9), c.term).toBe(true);
    });
    expect(relClose(a.r2, b.r2, 1e-10)).toBe(true);
    expect(relClose(a.r2_within, b.r2_within, 1e-9)).toBe(true);
  });
});

describe('sunabFit', () => {
  it('gives the same estimates by the exact and the iterative path', async () => {
    const { pick } = await demoComplete();
    const unit = factorize(pick('city_code')), year = factorize(pick('year'));
    const adopt = pick('adopt');
    const panel = staggeredPanel({ unit, time: pick('year'), adopt });
    const base = { y: pick('so2'), yName: 'so2', X: [pick('pgdp')], xNames: ['pgdp'], fe: [unit, year], feNames: ['city', 'year'], clusters: [unit], clusterNames: ['city'], vcov: 'cluster' as const, panel };
    const a = sunabFit(base);
    const b = sunabFit({ ...base, method: 'iterative' });
    expect(a.periods.map((p) => p.period)).toEqual(b.periods.map((p) => p.period));
    a.periods.forEach((p, j) => {
      expect(relClose(p.estimate, b.periods[j]!.estimate, 1e-8)).toBe(true);
      expect(relClose(p.se, b.periods[j]!.se, 1e-8)).toBe(true);
    });
    expect(relClose(a.att.estimate, b.att.estimate, 1e-9)).toBe(true);
  });
});
