/**
 * Pieces of stats/did-cs.ts checked in isolation (the full estimator is checked against R did in
 * test/steps/did-cs.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { rngFromKey, rngKeyOf } from '../../engine/rng.js';
import { bootDraws, bootStats, chi2Upper, multiplierDraws, qnorm, quantile1, twoByTwo } from '../../stats/did-cs.js';

describe('quantile1 (R type 1)', () => {
  it('matches R quantile(type = 1)', () => {
    // R: x <- c(3.1, -2, 0.5, 7, 1.25, -0.75, 4, 2, 9, -5); quantile(x, p, type = 1)
    const x = [3.1, -2, 0.5, 7, 1.25, -0.75, 4, 2, 9, -5].sort((a, b) => a - b);
    const want: [number, number][] = [[0.05, -5], [0.25, -0.75], [0.5, 1.25], [0.75, 4], [0.9, 7], [0.95, 9], [1, 9]];
    for (const [p, q] of want) expect(quantile1(x, p)).toBe(q);
    // R: y <- seq(0.001, 0.999, length.out = 999); quantile(y, c(.95, .75), type = 1) = 0.95000000000000007, 0.75
    const y = Array.from({ length: 999 }, (_, i) => 0.001 + (i * (0.999 - 0.001)) / 998);
    expect(quantile1(y, 0.95)).toBeCloseTo(0.95, 14);
    expect(quantile1(y, 0.75)).toBeCloseTo(0.75, 14);
  });
  it('qnorm and the χ² tail match R', () => {
    expect(qnorm(0.975)).toBeCloseTo(1.9599639845400536, 12); // R: qnorm(0.975)
    expect(chi2Upper(7.791236627200394, 5)).toBeCloseTo(0.16812249492387454, 10); // R: 1 - pchisq(7.7912366272, 5)
  });
});

describe('multiplier draws', () => {
  const rng = rngFromKey(rngKeyOf(1, 'test', 'm'));
  it('Mammen weights have mean 0, variance 1, third moment 1', () => {
    const v = multiplierDraws(400, 500, () => rng.uniform(), 'mammen');
    let m1 = 0, m2 = 0, m3 = 0;
    for (const x of v) { m1 += x; m2 += x * x; m3 += x * x * x; }
    const n = v.length;
    expect(Math.abs(m1 / n)).toBeLessThan(0.01);
    expect(Math.abs(m2 / n - 1)).toBeLessThan(0.01);
    expect(Math.abs(m3 / n - 1)).toBeLessThan(0.03);
    expect(new Set(v).size).toBe(2);
  });
  it('Rademacher weights are ±1 with mean 0', () => {
    const v = multiplierDraws(400, 500, () => rng.uniform(), 'rademacher');
    let m1 = 0;
    for (const x of v) m1 += x;
    expect(Math.abs(m1 / v.length)).toBeLessThan(0.01);
    expect([...new Set(v)].sort()).toEqual([-1, 1]);
  });
  it('bootstrap SE of a mean ≈ its analytic SE; clusters sum the influence function', () => {
    // ψ_i = x_i − x̄ for the mean of n = 2000 draws: analytic SE = sqrt(Σψ²)/n
    const n = 2000;
    const x = Float64Array.from({ length: n }, () => rng.normal());
    const xbar = x.reduce((a, b) => a + b, 0) / n;
    const psi = Float64Array.from(x, (v) => v - xbar);
    const se = Math.sqrt(psi.reduce((a, b) => a + b * b, 0)) / n;
    const cl = Int32Array.from({ length: n }, (_, i) => i);
    const B = 999;
    const V = multiplierDraws(B, n, () => rng.uniform(), 'mammen');
    const bres = bootDraws([psi], cl, n, V, B);
    const s = bootStats(bres, B, [0], n, n, 0.05);
    expect(Math.abs(s.se[0]! / se - 1)).toBeLessThan(0.1);
    // one cluster per pair of units: same draws as bootstrapping the pair sums
    const cl2 = Int32Array.from({ length: n }, (_, i) => i >> 1);
    const V2 = multiplierDraws(B, n / 2, () => rng.uniform(), 'mammen');
    const a = bootDraws([psi], cl2, n / 2, V2, B);
    const sums = Float64Array.from({ length: n }, (_, i) => (i < n / 2 ? psi[2 * i]! + psi[2 * i + 1]! : 0));
    const b = bootDraws([sums], Int32Array.from({ length: n }, (_, i) => (i < n / 2 ? i : 0)), n / 2, V2, B);
    for (let k = 0; k < B; k++) expect(a[k]).toBeCloseTo(b[k]!, 12);
  });
});

describe('twoByTwo', () => {
  it('without covariates: the difference of mean changes, IF = centred changes / shares', () => {
    const dy = Float64Array.from([3, 4, 0, 2, 0, 0]);
    const D = Uint8Array.from([1, 1, 0, 0, 0, 0]);
    const Z = [new Float64Array(6).fill(1)];
    for (const est of ['reg', 'ipw', 'dr'] as const) {
      const r = twoByTwo(dy, D, Z, est);
      expect(r.att).toBeCloseTo(3.5 - 0.5, 12);
      // ψ_i = D(ΔY − 3.5)/(2/6) − (1−D)(ΔY − 0.5)/(4/6)
      const want = [-1.5, 1.5, 0.75, -2.25, 0.75, 0.75];
      r.inf.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));
    }
  });
});
