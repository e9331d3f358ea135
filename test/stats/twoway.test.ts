/**
 * stats/twoway.ts against stats/ols.ts (alternating projections; itself tested against R lm +
 * sandwich in test/golden/twfe): the exact two-way projection and OLS agree with feols on an
 * unbalanced panel (the demo panel's missing values), on a panel with two disconnected components,
 * and sunab gives the same result by either path.
 */
import { describe, expect, it } from 'vitest';
import { TwoWayProjector, olsTwoWay } from '../../stats/twoway.js';
import { Demeaner } from '../../stats/demean.js';
import { feols } from '../../stats/ols.js';
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
