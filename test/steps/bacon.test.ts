/**
 * Golden tests of the `bacon` step against bacondecomp (test/golden/bacon/make.R): every 2×2
 * estimate to 1e-6 relative and weight to 1e-6, the TWFE coefficient; and the decomposition
 * identities (weights sum to 1, Σ w·β = TWFE to 1e-10, the TWFE coefficient equal to the fixed-effects
 * regression of stats/ols.ts).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import bacon from '../../steps/bacon.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import type { Table } from '../../engine/table.js';
import { feols } from '../../stats/ols.js';
import { factorize } from '../../stats/fe.js';
import { fakeCtx, relClose } from './stats-helpers.js';
import { dataset, haveShared, synthPanel } from './staggered-data.js';

const golden = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test/golden/bacon/golden.json'), 'utf8')) as { cases: any[] };

async function run(params: Record<string, unknown>, table: Table) {
  const f = fakeCtx();
  const out = await bacon.run(f.ctx, { panel: { type: 'table', table } }, bacon.params.parse(params));
  return { pairs: (out.pairs as any).table as Table, summary: (out.summary as any).value };
}

/** Cities with so2 in every year (the balanced demo sample of make.R), derived from the data. */
async function demoIncomplete(): Promise<number[]> {
  const t = await dataset('demo');
  const code = t.columns.city_code as Float64Array, so2 = t.columns.so2 as Float64Array;
  const bad = new Set<number>();
  for (let i = 0; i < t.nrows; i++) if (Number.isNaN(so2[i]!)) bad.add(code[i]!);
  return [...bad];
}

function twfe(t: Table, y: string, d: string, unit: string, time: string): number {
  const fit = feols({ y: t.columns[y] as Float64Array, yName: y, X: [t.columns[d] as Float64Array], xNames: [d], fe: [factorize(t.columns[unit]!), factorize(t.columns[time]!)], feNames: [unit, time], vcov: 'iid', keepSingletons: true });
  return fit.coefficients[0]!.estimate;
}

describe('bacon vs bacondecomp', () => {
  for (const gc of golden.cases) {
    it.skipIf(gc.dataset !== 'demo' && !haveShared)(gc.name, async () => {
      const params: Record<string, unknown> = { ...gc.params };
      if (gc.dataset === 'demo') params.exclude = { city_code: await demoIncomplete() };
      const { pairs, summary } = await run(params, await dataset(gc.dataset));
      expect(relClose(summary.twfe, gc.twfe, 1e-9)).toBe(true);
      expect(pairs.nrows).toBe(gc.pairs.length);
      const type = pairs.columns.type as string[], tr = pairs.columns.treated as Float64Array, ct = pairs.columns.control as Float64Array;
      const est = pairs.columns.estimate as Float64Array, w = pairs.columns.weight as Float64Array;
      for (const g of gc.pairs) {
        const i = type.findIndex((ty, j) => ty === g.type && tr[j] === g.treated && (g.control === null ? Number.isNaN(ct[j]!) : ct[j] === g.control));
        expect(i, `${g.type} ${g.treated} vs ${g.control}`).toBeGreaterThanOrEqual(0);
        expect(relClose(est[i]!, g.estimate, 1e-6), `estimate ${g.treated} vs ${g.control}: ${est[i]} vs ${g.estimate}`).toBe(true);
        expect(relClose(w[i]!, g.weight, 1e-6), `weight ${g.treated} vs ${g.control}`).toBe(true);
      }
      for (const ty of ['earlier_vs_later', 'later_vs_earlier', 'treated_vs_never']) {
        const gs = gc.pairs.filter((p: any) => p.type === ty);
        const W = gs.reduce((s: number, p: any) => s + p.weight, 0);
        expect(relClose(summary.types[ty].weight, W, 1e-6, 1e-12)).toBe(true);
        if (gs.length) expect(relClose(summary.types[ty].estimate, gs.reduce((s: number, p: any) => s + p.weight * p.estimate, 0) / W, 1e-6)).toBe(true);
      }
    });
  }
});

describe('bacon balance: drop_units', () => {
  it('keeps the units observed in every period: the same decomposition as excluding them by hand (demo golden case)', async () => {
    const gc = golden.cases.find((c) => c.dataset === 'demo');
    const bad = await demoIncomplete();
    const a = await run({ ...gc.params, balance: 'drop_units' }, await dataset('demo'));
    const b = await run({ ...gc.params, exclude: { city_code: bad } }, await dataset('demo'));
    expect(a.summary.types).toEqual(b.summary.types);
    expect(a.summary.twfe).toBe(b.summary.twfe);
    expect(a.summary.dropped.unbalanced_units.map(Number).sort()).toEqual([...bad].sort());
    await expect(run(gc.params, await dataset('demo'))).rejects.toThrow(/^the panel is unbalanced: unit \d+ has \d+ of the 18 periods 2005\.\.2022/);
  });
});

describe('bacon identities', () => {
  const cases: [string, () => Promise<{ t: Table; params: Record<string, unknown>; d: string }>][] = [
    ['synthetic panel with never-treated units', async () => ({ t: synthPanel(), params: { y: 'y', unit: 'unit', time: 'year', adopt: 'adopt' }, d: 'treat' })],
    ['synthetic panel without never-treated units', async () => ({ t: synthPanel({ adopt: [2002, 2005, 2003, 2006] }), params: { y: 'y', unit: 'unit', time: 'year', adopt: 'adopt' }, d: 'treat' })],
  ];
  for (const [name, make] of cases) {
    it(`${name}: weights sum to 1 and Σ w·β equals the TWFE coefficient to 1e-10`, async () => {
      const { t, params, d } = await make();
      const { pairs, summary } = await run(params, t);
      const w = pairs.columns.weight as Float64Array, b = pairs.columns.estimate as Float64Array;
      const sw = w.reduce((s, x) => s + x, 0);
      const swb = w.reduce((s, x, i) => s + x * b[i]!, 0);
      expect(Math.abs(sw - 1)).toBeLessThan(1e-12);
      const beta = twfe(t, 'y', d, 'unit', 'year');
      expect(Math.abs(swb - beta)).toBeLessThan(1e-10);
      expect(Math.abs(summary.twfe - beta)).toBeLessThan(1e-10);
      expect(w.every((x) => x > 0)).toBe(true);
    });
  }
  it.skipIf(!haveShared)('mpdta and castle: Σ w·β equals the TWFE coefficient of stats/ols.ts to 1e-10', async () => {
    for (const gc of golden.cases.filter((c) => c.dataset !== 'demo')) {
      const tt = await dataset(gc.dataset);
      const { pairs, summary } = await run(gc.params, tt);
      const w = pairs.columns.weight as Float64Array, b = pairs.columns.estimate as Float64Array;
      const beta = twfe(tt, gc.params.y, gc.params.treat, gc.params.unit, gc.params.time);
      expect(Math.abs(w.reduce((s, x, i) => s + x * b[i]!, 0) - beta)).toBeLessThan(1e-10);
      expect(Math.abs(summary.weighted_sum - summary.twfe)).toBeLessThan(1e-10);
    }
  });
});
