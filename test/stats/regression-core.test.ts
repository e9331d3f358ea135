/**
 * Unit tests of the regression core: distributions (vs R values), demeaning, singletons, nesting,
 * absorbed degrees of freedom, collinearity. The end-to-end agreement with R is in
 * test/steps/estimate.test.ts and test/steps/event-study.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { tQuantile, tPValue, fPValue } from '../../stats/dist.js';
import { Demeaner, DemeanConvergenceError } from '../../stats/demean.js';
import { absorbedDof, connectedComponents, dropSingletons, factorize, isNested } from '../../stats/fe.js';
import { collinearityCheck, crossprod } from '../../stats/linalg.js';
import { feols } from '../../stats/ols.js';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('dist (R: qt, pt, pf)', () => {
  it('t quantiles to 1e-8 (jstat CDF precision)', () => {
    expect(rel(tQuantile(0.975, 10), 2.228138851986273927)).toBeLessThan(1e-8);
    expect(rel(tQuantile(0.975, 286), 1.968293255243789508)).toBeLessThan(1e-8);
    expect(rel(tQuantile(0.005, 3), -5.840909309733356203)).toBeLessThan(1e-8);
  });
  it('t and F p-values', () => {
    expect(rel(tPValue(2.5, 10), 0.031446844236608776)).toBeLessThan(1e-8);
    expect(rel(tPValue(-1.3, 49), 0.199683131920555951)).toBeLessThan(1e-8);
    expect(rel(fPValue(2.7, 3, 30), 0.063319467721979508)).toBeLessThan(1e-8);
    expect(rel(fPValue(0.5, 1, 499), 0.479830199561549819)).toBeLessThan(1e-8);
    expect(() => tQuantile(1, 5)).toThrow(/probability/);
  });
});

describe('demean', () => {
  it('one fixed effect subtracts (weighted) group means exactly', () => {
    const f = factorize(['a', 'a', 'b', 'b', 'b']);
    const x = Float64Array.from([1, 3, 2, 4, 9]);
    expect(Array.from(new Demeaner([f]).demean(x))).toEqual([-1, 1, -3, -1, 4]);
    const w = Float64Array.from([1, 3, 1, 1, 2]);
    const xt = new Demeaner([f], { weights: w }).demean(x);
    // weighted means: a = (1 + 9)/4 = 2.5, b = (2 + 4 + 18)/4 = 6
    expect(Array.from(xt)).toEqual([-1.5, 0.5, -4, -2, 3]);
  });
  it('two fixed effects: the result is orthogonal to both sets of dummies', () => {
    const n = 400;
    const a = factorize(Float64Array.from({ length: n }, (_, i) => i % 37));
    const b = factorize(Float64Array.from({ length: n }, (_, i) => Math.floor((i * 7919) % 23)));
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 10 + (i % 5));
    const xt = new Demeaner([a, b]).demean(x);
    for (const f of [a, b]) {
      const s = new Float64Array(f.nlevels);
      for (let i = 0; i < n; i++) s[f.codes[i]!]! += xt[i]!;
      for (const v of s) expect(Math.abs(v)).toBeLessThan(1e-8);
    }
  });
  it('throws, never returns, when it does not converge', () => {
    // a long chain of units linked by one shared period each: slow mixing
    const n = 200;
    const u = factorize(Float64Array.from({ length: n }, (_, i) => Math.floor(i / 2)));
    const t = factorize(Float64Array.from({ length: n }, (_, i) => Math.floor((i + 1) / 2)));
    const x = Float64Array.from({ length: n }, (_, i) => i * i);
    expect(() => new Demeaner([u, t], { maxIter: 2 }).demean(x, undefined, 'x')).toThrow(DemeanConvergenceError);
    expect(() => new Demeaner([u, t], { maxIter: 2 }).demean(x, undefined, 'x')).toThrow(/did not converge for x/);
  });
});

describe('fixed-effect bookkeeping', () => {
  it('drops singletons iteratively', () => {
    // unit c appears twice but once with year 3 (a year singleton); dropping it leaves c alone
    const unit = factorize(['a', 'a', 'b', 'b', 'c', 'c']);
    const year = factorize(Float64Array.from([1, 2, 1, 2, 1, 3]));
    const keep = new Uint8Array(6).fill(1);
    expect(dropSingletons([unit, year], keep)).toBe(2);
    expect(Array.from(keep)).toEqual([1, 1, 1, 1, 0, 0]);
  });
  it('detects nesting and counts connected components', () => {
    const city = factorize(['a', 'a', 'b', 'b', 'c', 'c']);
    const prov = factorize(['P', 'P', 'P', 'P', 'Q', 'Q']);
    const year = factorize(Float64Array.from([1, 2, 1, 2, 3, 4]));
    expect(isNested(city, prov)).toBe(true);
    expect(isNested(prov, city)).toBe(false);
    expect(connectedComponents(city, year)).toBe(2); // {a, b, 1, 2} and {c, 3, 4}
    // rank [1, D_city, D_year] = 1 + 2 + 3 − (2 − 1) = 5
    expect(absorbedDof([city, year])).toBe(5);
    expect(absorbedDof([city, year], [true, false])).toBe(4);
    expect(absorbedDof([])).toBe(1);
  });
  it('drops collinear columns in the order given', () => {
    const x1 = Float64Array.from([1, 2, 3, 4, 5]);
    const x2 = Float64Array.from([2, 1, 0, 1, 2]);
    const x3 = Float64Array.from(x1, (v, i) => 2 * v - x2[i]!);
    const { kept, dropped } = collinearityCheck(crossprod([x1, x2, x3, x1]), 4);
    expect(kept).toEqual([0, 1]);
    expect(dropped).toEqual([2, 3]);
  });
  it('feols reports an outcome without variation', () => {
    const f = factorize(['a', 'a', 'b', 'b']);
    expect(() =>
      feols({ y: Float64Array.from([1, 1, 2, 2]), yName: 'y', X: [Float64Array.from([1, 2, 3, 5])], xNames: ['x'], fe: [f], feNames: ['g'], vcov: 'iid' }),
    ).toThrow(/"y" has no variation within the fixed effects/);
  });
});
