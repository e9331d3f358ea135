/**
 * Golden tests of the `estimate` step against R (test/golden/twfe/make.R: lm with factor dummies +
 * sandwich). Coefficients must agree to 1e-8 relative, standard errors to 1e-6 relative.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import estimate from '../../steps/estimate.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { withColumn, numCol, type Table } from '../../engine/table.js';
import { StepError } from '../../engine/types.js';
import { fakeCtx, loadCsv, relClose, sharedData } from './stats-helpers.js';
import { needsSharedData } from '../shared-data.js';

interface GoldenCase {
  name: string;
  dataset: string;
  params: Record<string, unknown>;
  n: number;
  singletons: number;
  collinear: string[];
  K: number;
  df: number;
  nested: string[] | string;
  clusters: Record<string, number>;
  r2: number;
  r2_within: number;
  coefficients: { term: string; estimate: number; se: number | string; p: number; ci_low: number; ci_high: number }[];
}
const golden = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test/golden/twfe/golden.json'), 'utf8')) as { cases: GoldenCase[] };

const datasets: Record<string, () => Table> = {
  synth: () => loadCsv(path.join(PROJECT_ROOT, 'test/fixtures/twfe-synth.csv')),
  mpdta: () => {
    const t = loadCsv(sharedData('mpdta/mpdta.csv'));
    const ft = numCol(t, 'first.treat'), yr = numCol(t, 'year');
    return withColumn(t, 'post', Float64Array.from(ft, (f, i) => (f > 0 && yr[i]! >= f ? 1 : 0)));
  },
  castle: () => loadCsv(sharedData('bacondecomp-castle-divorce/castle.csv')),
  so2: () => loadCsv(sharedData('china-city-so2-2011-2019/panel_data_so2_new.csv')),
};
/** The shared data files each dataset reads (none for the synthetic fixture). */
const SHARED: Record<string, string[]> = {
  synth: [],
  mpdta: ['mpdta/mpdta.csv'],
  castle: ['bacondecomp-castle-divorce/castle.csv'],
  so2: ['china-city-so2-2011-2019/panel_data_so2_new.csv'],
};
const cache = new Map<string, Table>();
const data = (name: string): Table => {
  if (!cache.has(name)) cache.set(name, datasets[name]!());
  return cache.get(name)!;
};

async function run(params: Record<string, unknown>, table: Table) {
  const { ctx, warnings } = fakeCtx();
  const out = await estimate.run(ctx, { panel: { type: 'table', table } }, estimate.params.parse(params));
  return { model: (out.model as { value: any }).value, warnings };
}

describe('estimate vs R (lm + sandwich)', () => {
  for (const gc of golden.cases) {
    needsSharedData(...SHARED[gc.dataset]!).it(gc.name, async () => {
      const { model, warnings } = await run(gc.params, data(gc.dataset));
      expect(model.n).toBe(gc.n);
      expect(model.dropped.singletons).toBe(gc.singletons);
      expect(model.dropped.collinear).toEqual(gc.collinear);
      if (gc.collinear.length > 0) expect(warnings.join(' ')).toMatch(/collinear/);
      expect(model.vcov.k).toBe(gc.K);
      expect(model.vcov.df).toBe(gc.df);
      expect(model.coefficients.map((c: any) => c.term)).toEqual(gc.coefficients.map((c) => c.term));
      expect(relClose(model.r2, gc.r2, 1e-8)).toBe(true);
      expect(relClose(model.r2_within, gc.r2_within, 1e-8)).toBe(true);
      gc.coefficients.forEach((g, i) => {
        const c = model.coefficients[i];
        expect(relClose(c.estimate, g.estimate, 1e-8), `${g.term} estimate ${c.estimate} vs R ${g.estimate}`).toBe(true);
        if (typeof g.se !== 'number') {
          // R gives NaN (negative two-way variance of _cons): so must we
          expect(Number.isNaN(c.se)).toBe(true);
          return;
        }
        expect(relClose(c.se, g.se, 1e-6), `${g.term} se ${c.se} vs R ${g.se}`).toBe(true);
        expect(relClose(c.p, g.p, 1e-5, 1e-10), `${g.term} p ${c.p} vs R ${g.p}`).toBe(true);
        expect(relClose(c.ci_low, g.ci_low, 1e-6)).toBe(true);
        expect(relClose(c.ci_high, g.ci_high, 1e-6)).toBe(true);
      });
      for (const [k, v] of Object.entries(gc.clusters)) expect(model.cluster_counts[k]).toBe(v);
    });
  }
});

describe('estimate errors', () => {
  const synth = () => data('synth');
  it('names missing columns and lists the existing ones', async () => {
    await expect(run({ y: 'y', treat: 'nope', fe: ['unit'] }, synth())).rejects.toThrow(/"nope" not found.*columns are: unit, state/);
  });
  it('rejects a text regressor', async () => {
    await expect(run({ y: 'y', treat: 'sector', fe: ['unit'] }, synth())).rejects.toThrow(/"sector" is text/);
  });
  it('rejects an outcome with no within variation', async () => {
    await expect(run({ y: 'xinv', treat: 'd', fe: ['unit'] }, synth())).rejects.toThrow(StepError);
    await expect(run({ y: 'xinv', treat: 'd', fe: ['unit'] }, synth())).rejects.toThrow(/no variation within the fixed effects/);
  });
  it('rejects vcov cluster without a cluster column', async () => {
    await expect(run({ y: 'y', treat: 'd', fe: ['unit'], vcov: 'cluster' }, synth())).rejects.toThrow(/no cluster column/);
  });
  it('rejects unknown params', () => {
    expect(() => estimate.params.parse({ y: 'y', treat: 'd', bogus: 1 })).toThrow();
  });
  it('lists several treatment columns first, in the order given', async () => {
    const { model } = await run({ y: 'y', treat: ['x1', 'd'], controls: ['x2'], fe: ['unit', 'year'], cluster: 'unit' }, synth());
    expect(model.coefficients.map((c: any) => c.term)).toEqual(['x1', 'd', 'x2', '_cons']);
    const ref = golden.cases.find((c) => c.name === 'synth_2fe_cluster_unit')!;
    const d = model.coefficients.find((c: any) => c.term === 'd');
    expect(relClose(d.estimate, ref.coefficients[0]!.estimate, 1e-8)).toBe(true);
    expect(relClose(d.se, ref.coefficients[0]!.se as number, 1e-6)).toBe(true);
  });
  it('counts rows with missing values and applies where', async () => {
    const { model } = await run({ y: 'y', treat: 'd', controls: ['x2'], fe: ['unit', 'year'], where: { year: { le: 2018 } } }, synth());
    expect(model.dropped.missing).toBeGreaterThan(0);
    expect(model.dropped.filtered).toBeGreaterThan(0);
  });
});

// issue 9 item 12: a dropped treatment is an error naming why, unless allow_dropped_treatment
describe('estimate: a treatment dropped as collinear', () => {
  const synth = () => data('synth');
  it('fails naming the fixed effect that absorbs it', async () => {
    // xinv is constant within unit
    await expect(run({ y: 'y', treat: 'xinv', fe: ['unit', 'year'], cluster: 'unit' }, synth())).rejects.toThrow(
      /treatment was dropped as collinear: "xinv" is collinear with the fixed effect unit\b.*allow_dropped_treatment: true/,
    );
  });
  it('fails naming a constant treatment', async () => {
    const t = withColumn(synth(), 'one', new Float64Array(synth().nrows).fill(1));
    await expect(run({ y: 'y', treat: 'one', controls: ['x1'], fe: ['unit'] }, t)).rejects.toThrow(/"one" is constant in the estimation sample/);
  });
  it('fails naming the regressors it is collinear with, and a dropped params.test term', async () => {
    const s = synth();
    const x1 = numCol(s, 'x1');
    const t = withColumn(s, 'dd', Float64Array.from(x1, (v) => 2 * v));
    await expect(run({ y: 'y', treat: ['x1', 'dd'], fe: ['unit'] }, t)).rejects.toThrow(/"dd" is collinear with the regressors before it \(x1\)/);
  });
  it('allow_dropped_treatment: true publishes the model, with the reason in dropped.collinear_why', async () => {
    const { model, warnings } = await run({ y: 'y', treat: 'xinv', controls: ['x1'], fe: ['unit', 'year'], allow_dropped_treatment: true }, synth());
    expect(model.dropped.collinear).toEqual(['xinv']);
    expect(model.dropped.collinear_why).toEqual({ xinv: 'collinear with the fixed effect unit' });
    expect(warnings.join(' ')).toMatch(/xinv \(collinear with the fixed effect unit\)/);
  });
  it('a dropped control is still only a warning (no collinear_why key when nothing is dropped)', async () => {
    const { model } = await run({ y: 'y', treat: 'd', fe: ['unit', 'year'] }, synth());
    expect(model.dropped.collinear_why).toBeUndefined();
  });
});

// issue 9 item 14: an all-missing column is not reported as "is text"
describe('estimate: an all-missing column', () => {
  it('says it has no values', async () => {
    const s = data('synth');
    const t = withColumn(s, 'empty', new Array<string | null>(s.nrows).fill(null));
    await expect(run({ y: 'y', treat: 'd', controls: ['empty'], fe: ['unit'] }, t)).rejects.toThrow(/column "empty" has no values \(every cell is missing, so it was read as text\); y, treat, controls/);
    // a real text column still says text
    await expect(run({ y: 'y', treat: 'sector', fe: ['unit'] }, s)).rejects.toThrow(/"sector" is text/);
  });
});
