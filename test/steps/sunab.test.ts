/**
 * Golden tests of the `sunab` step against fixest (test/golden/sunab/make.R): aggregated period
 * estimates and the ATT to 1e-6 relative, their SEs and the covariance matrix to 1e-4, the cohort ×
 * period cells, on mpdta, castle and the demo panel (with and without controls), and the case
 * without never-treated units (last cohort as control).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import sunab from '../../steps/sunab.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { fakeCtx, relClose } from './stats-helpers.js';
import { dataset, haveShared } from './staggered-data.js';

const golden = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test/golden/sunab/golden.json'), 'utf8')) as { cases: any[] };

async function run(params: Record<string, unknown>, name: string) {
  const f = fakeCtx();
  const out = await sunab.run(f.ctx, { panel: { type: 'table', table: await dataset(name) } }, sunab.params.parse(params));
  return { event: (out.event as any).value, att: (out.att as any).value, f };
}

describe('sunab vs fixest', () => {
  for (const gc of golden.cases) {
    it.skipIf(gc.dataset !== 'demo' && !haveShared)(gc.name, async () => {
      const { event, att, f } = await run(gc.params, gc.dataset);
      expect(event.n).toBe(gc.n);
      expect(event.clusters).toBe(gc.clusters);
      const est = event.periods.filter((p: any) => !p.base);
      expect(est.map((p: any) => p.period)).toEqual(gc.periods.map((p: any) => p.period));
      gc.periods.forEach((g: any, i: number) => {
        expect(relClose(est[i].estimate, g.estimate, 1e-6), `period ${g.period}: ${est[i].estimate} vs ${g.estimate}`).toBe(true);
        expect(relClose(est[i].se, g.se, 1e-4), `period ${g.period} se: ${est[i].se} vs ${g.se}`).toBe(true);
      });
      const base = event.periods.filter((p: any) => p.base);
      const refs: number[] = gc.params.ref_period ?? [-1];
      expect(base).toEqual([...refs].sort((x, y) => x - y).map((p) => expect.objectContaining({ period: p, estimate: 0, base: true })));
      expect(event.vcov.periods).toEqual(gc.periods.map((p: any) => p.period));
      const scale = Math.max(...gc.vcov_matrix.flat().map(Math.abs));
      event.vcov.matrix.forEach((row: number[], i: number) => row.forEach((v, j) => expect(relClose(v, gc.vcov_matrix[i][j], 1e-4, scale * 1e-6), `V[${i}][${j}]`).toBe(true)));
      expect(att.coefficients[0].term).toBe('ATT');
      expect(relClose(att.coefficients[0].estimate, gc.att.estimate, 1e-6)).toBe(true);
      expect(relClose(att.coefficients[0].se, gc.att.se, 1e-4)).toBe(true);
      expect(event.cells).toHaveLength(gc.cells.length);
      for (const g of gc.cells) {
        const c = event.cells.find((x: any) => x.cohort === g.cohort && x.period === g.period);
        expect(c, `cell ${g.cohort}:${g.period}`).toBeDefined();
        expect(c.n).toBe(g.n);
        expect(relClose(c.estimate, g.estimate, 1e-6)).toBe(true);
        expect(relClose(c.se, g.se, 1e-4)).toBe(true);
      }
      for (const g of gc.controls) {
        const c = att.coefficients.find((x: any) => x.term === g.term);
        expect(relClose(c.estimate, g.estimate, 1e-6) && relClose(c.se, g.se, 1e-4), g.term).toBe(true);
      }
      if (gc.params.where) expect(f.infos.join('\n')).toMatch(/no never-treated unit; cohort 2007 is the control/);
    });
  }
  it('the fixed effects in another order, or with a third one nested in the unit (the iterative path), give the same estimates', async () => {
    const gc = golden.cases.find((c) => c.name === 'demo with controls');
    const a = await run(gc.params, 'demo');
    const b = await run({ ...gc.params, fe: ['year', 'city_code'] }, 'demo');
    const c = await run({ ...gc.params, fe: ['city_code', 'year', 'province'] }, 'demo');
    // SEs: equal for the reordered fixed effects; with the redundant third one only up to the
    // small-sample factor (K counts its levels, as reghdfe/ols.ts do for a third fixed effect)
    const ratio = c.event.periods.find((p: any) => !p.base).se / a.event.periods.find((p: any) => !p.base).se;
    for (const [o, f] of [[b, 1], [c, ratio]] as const) {
      expect(o.event.periods.map((p: any) => p.period)).toEqual(a.event.periods.map((p: any) => p.period));
      o.event.periods.forEach((p: any, i: number) => {
        expect(relClose(p.estimate, a.event.periods[i].estimate, 1e-8, 1e-12), `${o.event.fixed_effects} ${p.period}: ${p.estimate} vs ${a.event.periods[i].estimate}`).toBe(true);
        expect(relClose(p.se, f * a.event.periods[i].se, 1e-6, 1e-12), `${o.event.fixed_effects} ${p.period} se: ${p.se} vs ${a.event.periods[i].se}`).toBe(true);
      });
    }
    expect(c.event.fixed_effects).toEqual(['city_code', 'year', 'province']);
    expect(c.event.vcov.k).toBeGreaterThan(a.event.vcov.k);
    expect(ratio).toBeCloseTo(Math.sqrt((a.event.n - a.event.vcov.k) / (c.event.n - c.event.vcov.k)), 10);
  });
  it('the ATT and the event study are consistent: the ATT is the count-weighted mean of post cells', async () => {
    const { event, att } = await run(golden.cases.find((c) => c.dataset === 'demo').params, 'demo');
    const post = event.cells.filter((c: any) => c.period >= 0);
    const n = post.reduce((s: number, c: any) => s + c.n, 0);
    const m = post.reduce((s: number, c: any) => s + c.n * c.estimate, 0) / n;
    expect(relClose(att.coefficients[0].estimate, m, 1e-12)).toBe(true);
    expect(event.pretrend.df2).toBe(event.clusters - 1);
    expect(event.pretrend.df1).toBe(event.periods.filter((p: any) => p.period < 0 && !p.base).length);
  });
});
