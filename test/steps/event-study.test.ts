/**
 * Golden tests of the `event-study` step against R (test/golden/eventstudy/make.R): period
 * coefficients 1e-8 relative, SEs 1e-6, pre-trend F and p.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import eventStudy from '../../steps/event-study.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import type { Table } from '../../engine/table.js';
import { fakeCtx, loadCsv, relClose, sharedData } from './stats-helpers.js';
import { needsSharedData } from '../shared-data.js';

const golden = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test/golden/eventstudy/golden.json'), 'utf8')) as { cases: any[] };
const shared = needsSharedData('mpdta/mpdta.csv', 'bacondecomp-castle-divorce/castle.csv');
const data: Record<string, Table> = shared.present
  ? {
      mpdta: loadCsv(sharedData('mpdta/mpdta.csv')),
      castle: loadCsv(sharedData('bacondecomp-castle-divorce/castle.csv')),
    }
  : {};

async function run(params: Record<string, unknown>, table: Table) {
  const f = fakeCtx();
  const out = await eventStudy.run(f.ctx, { panel: { type: 'table', table } }, eventStudy.params.parse(params));
  return { es: (out.event as { value: any }).value, f };
}

shared.describe('event-study vs R', () => {
  for (const gc of golden.cases) {
    it(gc.name, async () => {
      const { es } = await run(gc.params, data[gc.dataset]!);
      expect(es.n).toBe(gc.n);
      expect(es.clusters).toBe(gc.clusters);
      expect(es.vcov.k).toBe(gc.K);
      const base = es.periods.filter((p: any) => p.base);
      expect(base).toHaveLength(1);
      expect(base[0]).toMatchObject({ period: gc.params.base, estimate: 0 });
      const est = es.periods.filter((p: any) => !p.base);
      expect(est.map((p: any) => p.period)).toEqual(gc.periods.map((p: any) => p.period));
      gc.periods.forEach((g: any, i: number) => {
        expect(relClose(est[i].estimate, g.estimate, 1e-8), `period ${g.period}: ${est[i].estimate} vs ${g.estimate}`).toBe(true);
        expect(relClose(est[i].se, g.se, 1e-6), `period ${g.period} se`).toBe(true);
      });
      expect(es.pretrend.df1).toBe(gc.pretrend.df1);
      expect(es.pretrend.df2).toBe(gc.pretrend.df2);
      expect(relClose(es.pretrend.stat, gc.pretrend.stat, 1e-6)).toBe(true);
      expect(relClose(es.pretrend.p, gc.pretrend.p, 1e-5)).toBe(true);
    });
  }
  it('rejects a base period outside the window and missing columns', async () => {
    await expect(run({ y: 'lemp', unit: 'countyreal', time: 'year', adopt: 'first.treat', base: -5, window: [-2, 2] }, data.mpdta!)).rejects.toThrow(/outside the window/);
    await expect(run({ y: 'lemp', unit: 'county', time: 'year', adopt: 'first.treat' }, data.mpdta!)).rejects.toThrow(/"county" not found/);
    expect(() => eventStudy.params.parse({ y: 'lemp', unit: 'c', time: 'year' })).toThrow(/adopt or event_time/);
  });
  it('accepts a precomputed event_time column with the same result', async () => {
    const t = data.mpdta!;
    const ft = t.columns['first.treat'] as Float64Array, yr = t.columns['year'] as Float64Array;
    const { withColumn } = await import('../../engine/table.js');
    const t2 = withColumn(t, 'et', Float64Array.from(ft, (f, i) => (f > 0 ? yr[i]! - f : NaN)));
    const a = (await run(golden.cases[0].params, t)).es;
    const b = (await run({ ...golden.cases[0].params, adopt: undefined, event_time: 'et' }, t2)).es;
    expect(b.periods).toEqual(a.periods);
  });
});
