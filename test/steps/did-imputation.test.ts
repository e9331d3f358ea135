/**
 * Golden tests of the `did-imputation` step against didimputation (test/golden/did-imputation/make.R,
 * whose first stage is also cross-checked there with lm() on the untreated rows): pre-period and
 * horizon estimates and the ATT to 1e-6 relative, SEs to 1e-4, the horizon × horizon and pre × pre
 * blocks of vcov.matrix (independent R reference) to 2e-4, on mpdta, castle and the demo panel
 * (with and without controls) and without never-treated units.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import imputation from '../../steps/did-imputation.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { fakeCtx, relClose } from './stats-helpers.js';
import { dataset, haveShared } from './staggered-data.js';

const golden = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test/golden/did-imputation/golden.json'), 'utf8')) as { cases: any[] };

async function run(params: Record<string, unknown>, name: string) {
  const f = fakeCtx();
  const out = await imputation.run(f.ctx, { panel: { type: 'table', table: await dataset(name) } }, imputation.params.parse(params));
  return { event: (out.event as any).value, att: (out.att as any).value, f };
}

describe('did-imputation vs didimputation', () => {
  for (const gc of golden.cases) {
    it.skipIf(gc.dataset !== 'demo' && !haveShared)(gc.name, async () => {
      const { event, att } = await run(gc.params, gc.dataset);
      expect(event.n_treated).toBe(gc.n_treated_imputed);
      expect(event.periods.map((p: any) => p.period)).toEqual(gc.periods.map((p: any) => p.period));
      gc.periods.forEach((g: any, i: number) => {
        const e = event.periods[i];
        expect(relClose(e.estimate, g.estimate, 1e-6), `period ${g.period}: ${e.estimate} vs ${g.estimate}`).toBe(true);
        expect(relClose(e.se, g.se, 1e-4), `period ${g.period} se: ${e.se} vs ${g.se}`).toBe(true);
        expect(relClose(event.vcov.matrix[i][i], g.se * g.se, 2e-4)).toBe(true);
      });
      expect(att.coefficients[0].term).toBe('ATT');
      expect(relClose(att.coefficients[0].estimate, gc.att.estimate, 1e-6), `ATT ${att.coefficients[0].estimate} vs ${gc.att.estimate}`).toBe(true);
      expect(relClose(att.coefficients[0].se, gc.att.se, 1e-4), `ATT se ${att.coefficients[0].se} vs ${gc.att.se}`).toBe(true);
      expect(event.pretrend.periods).toEqual(gc.periods.filter((p: any) => p.period < 0).map((p: any) => p.period));
      // covariance blocks against the independent R reference: horizons × horizons, pre × pre
      const V = event.vcov.matrix;
      const post = event.periods.map((p: any, i: number) => (p.period >= 0 ? i : -1)).filter((i: number) => i >= 0);
      const pre = event.periods.map((p: any, i: number) => (p.period < 0 ? i : -1)).filter((i: number) => i >= 0);
      for (const [idx, ref] of [[post, gc.vcov_post], [pre, gc.vcov_pre ?? []]] as [number[], number[][]][]) {
        expect(ref.length).toBe(idx.length);
        const scale = Math.max(...ref.flat().map(Math.abs), 0);
        idx.forEach((a, i) => idx.forEach((b, j) => expect(relClose(V[a][b], ref[i]![j]!, 2e-4, scale * 1e-6), `V[${a}][${b}] = ${V[a][b]} vs ${ref[i]![j]}`).toBe(true)));
      }
      // the covariance matrix is symmetric positive semi-definite (a correlation never exceeds 1)
      V.forEach((row: number[], i: number) => row.forEach((v, j) => {
        expect(v).toBe(V[j][i]);
        expect(Math.abs(v)).toBeLessThanOrEqual(Math.sqrt(V[i][i] * V[j][j]) * (1 + 1e-12));
      }));
    });
  }
});
