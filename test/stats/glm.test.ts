/**
 * stats/glm.ts against R's glm (test/golden/glm/glm.R → glm.json): coefficients 1e-8 relative,
 * SEs 1e-6 relative, log-likelihood and fitted probabilities; and the separation / input errors.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fitBinary, GlmError, type BinaryLink } from '../../stats/glm.js';
import { numCol, type Table } from '../../engine/table.js';
import { readCsvTable, PSM_FIXTURE } from '../fixtures/psm-fixture.js';
import { needsSharedData, sharedData } from '../shared-data.js';

interface GoldenCase {
  name: string; link: BinaryLink; n: number; terms: string[];
  estimate: number[]; se: number[]; logLik: number; fitted: number[];
  glm_estimate: number[]; glm_se: number[];
}
const golden = JSON.parse(readFileSync('test/golden/glm/glm.json', 'utf8')) as { cases: GoldenCase[] };
const SO2_REL = 'china-city-so2-2011-2019/panel_data_so2_new.csv';
const SO2 = sharedData(SO2_REL);

function completeRows(t: Table, cols: string[]): number[] {
  const idx: number[] = [];
  for (let i = 0; i < t.nrows; i++) if (cols.every((c) => Number.isFinite(numCol(t, c)[i]!))) idx.push(i);
  return idx;
}
function data(name: string): { y: Float64Array; X: Float64Array[]; names: string[] } {
  if (name.startsWith('fixture')) {
    const t = readCsvTable(PSM_FIXTURE);
    const names = ['x1', 'x2', 'x3', 'x4'];
    return { y: numCol(t, 'treat'), X: names.map((c) => numCol(t, c)), names };
  }
  const t = readCsvTable(SO2);
  const names = ['gdp_percapita', 'Proportion_SecondaryIndustry', 'PopulationDensity'];
  const idx = completeRows(t, ['if_officialWechat', ...names]);
  const pick = (c: string) => Float64Array.from(idx, (i) => numCol(t, c)[i]!);
  return { y: pick('if_officialWechat'), X: names.map(pick), names };
}
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('fitBinary vs R glm', () => {
  for (const g of golden.cases) {
    needsSharedData(...(g.name.startsWith('fixture') ? [] : [SO2_REL])).it(`${g.name}: coefficients 1e-8, SEs 1e-6, logLik and fitted probabilities`, () => {
      const d = data(g.name);
      const fit = fitBinary({ ...d, link: g.link });
      expect(fit.n).toBe(g.n);
      expect(fit.coefficients.map((c) => c.term)).toEqual(['_cons', ...d.names]);
      fit.coefficients.forEach((c, j) => {
        // the MLE (R: glm, then Fisher-scoring increments to a zero score; see glm.R)
        expect(rel(c.estimate, g.estimate[j]!)).toBeLessThan(1e-8);
        expect(rel(c.se, g.se[j]!)).toBeLessThan(1e-6);
        // glm's own output: equal to 1e-8 except where glm's fixed point is itself off (so2_probit,
        // PopulationDensity: 2.4e-8, glm's score there is 7e-4 vs 4e-13 at the refined MLE)
        expect(rel(c.estimate, g.glm_estimate[j]!)).toBeLessThan(g.name === 'so2_probit' ? 5e-8 : 1e-8);
        expect(rel(c.se, g.glm_se[j]!)).toBeLessThan(1e-6);
      });
      expect(rel(fit.logLik, g.logLik)).toBeLessThan(1e-10);
      let worst = 0;
      fit.fitted.forEach((p, i) => (worst = Math.max(worst, rel(p, g.fitted[i]!))));
      expect(worst).toBeLessThan(1e-8);
      expect(fit.iterations).toBeGreaterThan(2);
    });
  }
});

describe('fitBinary errors', () => {
  it('complete separation by one regressor is an error naming it', () => {
    const x = Float64Array.from({ length: 40 }, (_, i) => i);
    const z = Float64Array.from({ length: 40 }, (_, i) => Math.sin(i));
    const y = Float64Array.from(x, (v) => (v >= 20 ? 1 : 0));
    expect(() => fitBinary({ y, X: [z, x], names: ['z', 'x'] })).toThrow(/separation.*"x" alone separates/);
    expect(() => fitBinary({ y, X: [z, x], names: ['z', 'x'], link: 'probit' })).toThrow(GlmError);
  });
  needsSharedData('card-krueger/card-krueger.csv').it('quasi-complete separation (a dummy that is 1 only for treated units) is an error', () => {
    // real data: card-krueger, centralj (central New Jersey) is 1 only for nj == 1 stores
    const t = readCsvTable(sharedData('card-krueger/card-krueger.csv'));
    const y = numCol(t, 'nj');
    const X = ['bk', 'kfc', 'co_owned', 'centralj'].map((c) => numCol(t, c));
    expect(() => fitBinary({ y, X, names: ['bk', 'kfc', 'co_owned', 'centralj'] })).toThrow(/quasi-perfect separation.*"centralj"/);
    // without it the model is fine
    const ok = fitBinary({ y, X: X.slice(0, 3), names: ['bk', 'kfc', 'co_owned'] });
    expect(ok.coefficients).toHaveLength(4);
  });
  it('rejects a non-binary outcome, missing values, collinearity, no variation', () => {
    const x = Float64Array.from({ length: 10 }, (_, i) => i % 3);
    expect(() => fitBinary({ y: Float64Array.from(x), X: [x], names: ['x'] })).toThrow(/must be 0 or 1; row 3 has 2/);
    const y = Float64Array.from({ length: 10 }, (_, i) => (i * 7) % 2);
    const xm = Float64Array.from(x); xm[4] = NaN;
    expect(() => fitBinary({ y, X: [xm], names: ['x'] })).toThrow(/"x" is missing or not finite in row 5/);
    expect(() => fitBinary({ y, X: [x, Float64Array.from(x, (v) => 2 * v)], names: ['x', 'x2'] })).toThrow(/"x2" is collinear/);
    expect(() => fitBinary({ y: new Float64Array(10), X: [x], names: ['x'] })).toThrow(/no variation/);
  });
});
