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
import { dataset, haveShared } from './did-data.js';

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
      expect(base).toEqual([expect.objectContaining({ period: -1, estimate: 0, base: true })]);
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
