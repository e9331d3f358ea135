/**
 * The `placebo` step: replicates split in chunks equal one uninterrupted stream of replicates,
 * replicate 0 equal to a full `estimate`
 * run on the permuted treatment (checks the FWL fast path), observed = estimate step, and the
 * randomization p recomputed from the replicates table.
 * (Identical output for any --jobs through the engine's worker pool: test/engine/pool.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import placebo from '../../steps/placebo.js';
import estimate from '../../steps/estimate.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { numCol, strCol, withColumn, type Table } from '../../engine/table.js';
import { rngFromKey } from '../../engine/rng.js';
import { PlaceboSolver } from '../../stats/placebo.js';
import { fakeCtx, loadCsv, relClose } from './stats-helpers.js';

const synth = loadCsv(path.join(PROJECT_ROOT, 'test/fixtures/twfe-synth.csv'));
const base = { y: 'y', treat: 'd', controls: ['x1', 'x2'], fe: ['unit', 'year'], cluster: 'unit', unit: 'unit', time: 'year', adopt: 'adopt' };

async function runPlacebo(params: Record<string, unknown>, threads: number) {
  const f = fakeCtx({ threads, nodeId: 'placebo_test', def: placebo });
  const out = await placebo.run(f.ctx, { panel: { type: 'table', table: synth } }, placebo.params.parse(params));
  return { table: (out.replicates as { table: Table }).table, summary: (out.summary as { value: any }).value, f };
}

describe('placebo', () => {
  it('merges its chunks into one stream of replicates, and computes the randomization p as stated', async () => {
    const a = await runPlacebo({ ...base, reps: 120 }, 1);
    // the chunked result equals one solver running all 120 stream keys in order
    const { ctx } = fakeCtx({ nodeId: 'placebo_test' });
    const keys = Array.from({ length: 120 }, (_, i) => ctx.rngKey(i));
    let seen: unknown = null;
    const spy = fakeCtx({ nodeId: 'placebo_test', def: { kind: 'placebo', tasks: { replicates: (c: string[], problem: unknown) => ((seen = problem), placebo.tasks!.replicates!(c, problem)) } } });
    await placebo.run(spy.ctx, { panel: { type: 'table', table: synth } }, placebo.params.parse({ ...base, reps: 120 }));
    const whole = new PlaceboSolver(seen as never).run(keys);
    expect(Array.from(numCol(a.table, 'estimate'))).toEqual(Array.from(whole.estimate));
    expect(Array.from(numCol(a.table, 'se'))).toEqual(Array.from(whole.se));
    const est = numCol(a.table, 'estimate');
    const obs = a.summary.observed.estimate;
    const valid = Array.from(est).filter((v) => !Number.isNaN(v));
    expect(a.summary.valid).toBe(valid.length);
    expect(a.summary.randomization_p).toBe(valid.filter((v) => Math.abs(v) >= Math.abs(obs)).length / valid.length);
    expect(a.f.progress.at(-1)).toEqual([120, 120, 'placebo replicates']);
    // the draws differ from one another
    expect(new Set(valid).size).toBeGreaterThan(100);
  });

  it('observed model equals the estimate step', async () => {
    const { summary } = await runPlacebo({ ...base, reps: 5 }, 1);
    const { ctx } = fakeCtx();
    const m = ((await estimate.run(ctx, { panel: { type: 'table', table: synth } }, estimate.params.parse({ y: 'y', treat: 'd', controls: ['x1', 'x2'], fe: ['unit', 'year'], cluster: 'unit' }))).model as { value: any }).value;
    expect(relClose(summary.observed.estimate, m.coefficients[0].estimate, 1e-10)).toBe(true);
    expect(relClose(summary.observed.se, m.coefficients[0].se, 1e-10)).toBe(true);
    expect(relClose(summary.observed.p, m.coefficients[0].p, 1e-8)).toBe(true);
  });

  const variants: { label: string; extra: Record<string, unknown> }[] = [
    { label: 'cluster', extra: { vcov: 'cluster' } },
    { label: 'hc1', extra: { vcov: 'hc1' } },
    { label: 'iid', extra: { vcov: 'iid' } },
    { label: 'weighted, two-way clustered', extra: { weights: 'w', cluster: ['unit', 'year'] } },
  ];
  for (const { label, extra } of variants) {
    it(`replicate 0 equals a full estimate on the permuted treatment (${label})`, async () => {
      const params = { ...base, reps: 3, ...extra };
      const { table, f } = await runPlacebo(params, 1);
      // rebuild replicate 0 by hand: shuffle the unit-level adoption vector (units in order of appearance)
      const units = strCol(synth, 'unit');
      const adopt = numCol(synth, 'adopt');
      const order: string[] = [];
      const a0 = new Map<string, number>();
      // estimation sample: singletons (units seen once) are dropped first; x2 missing rows too
      const x2 = numCol(synth, 'x2');
      const count = new Map<string, number>();
      units.forEach((u, i) => { if (!Number.isNaN(x2[i]!)) count.set(u!, (count.get(u!) ?? 0) + 1); });
      units.forEach((u, i) => {
        if (Number.isNaN(x2[i]!) || count.get(u!)! < 2 || a0.has(u!)) return;
        order.push(u!);
        a0.set(u!, adopt[i]!);
      });
      const shuffled = rngFromKey(f.ctx.rngKey(0)).shuffle(order.map((u) => a0.get(u)!));
      const newAdopt = new Map(order.map((u, j) => [u, shuffled[j]!]));
      const year = numCol(synth, 'year');
      const pd = Float64Array.from(units, (u, i) => {
        const a = newAdopt.get(u!) ?? 0;
        return a > 0 && year[i]! >= a ? 1 : 0;
      });
      const t2 = withColumn(synth, 'pd', pd);
      const m = ((await estimate.run(fakeCtx().ctx, { panel: { type: 'table', table: t2 } }, estimate.params.parse({ y: 'y', treat: 'pd', controls: ['x1', 'x2'], fe: ['unit', 'year'], cluster: 'unit', ...extra }))).model as { value: any }).value;
      expect(relClose(numCol(table, 'estimate')[0]!, m.coefficients[0].estimate, 1e-9)).toBe(true);
      expect(relClose(numCol(table, 'se')[0]!, m.coefficients[0].se, 1e-9)).toBe(true);
      expect(relClose(numCol(table, 'p')[0]!, m.coefficients[0].p, 1e-7)).toBe(true);
    });
  }

  it('permute keeps the adoption times; random keeps the number treated', () => {
    const adopt = Float64Array.from([0, 0, 2014, 2015, 0, 2016, 2014]);
    const prob = { yt: new Float64Array(3), Ct: [], fe: [], weights: null, clusters: [], vcov: 'iid' as const, dofK: 2, dfT: 1, unit: new Int32Array(3), time: new Float64Array(3), adopt, times: Float64Array.from([2012, 2013, 2014, 2015, 2016]) };
    const p = new PlaceboSolver({ ...prob, mode: 'permute' });
    const r = new PlaceboSolver({ ...prob, mode: 'random' });
    for (let i = 0; i < 20; i++) {
      expect(Array.from(p.drawAdoption(`k${i}`)).sort()).toEqual(Array.from(adopt).sort());
      const d = r.drawAdoption(`k${i}`);
      expect(Array.from(d).filter((a) => a > 0).length).toBe(4);
      for (const a of d) if (a > 0) expect(prob.times).toContain(a);
    }
  });

  it('runs in random mode and rejects a non-constant adoption column', async () => {
    const { summary } = await runPlacebo({ ...base, reps: 20, mode: 'random' }, 1);
    expect(summary.mode).toBe('random');
    expect(summary.valid).toBeGreaterThan(0);
    const bad = withColumn(synth, 'adopt', Float64Array.from(numCol(synth, 'year')));
    await expect(placebo.run(fakeCtx({ def: placebo }).ctx, { panel: { type: 'table', table: bad } }, placebo.params.parse({ ...base, reps: 2 }))).rejects.toThrow(/not constant within unit/);
  });

  it('keeps never-treated units whose adoption cell is missing (as merge-roster writes them), like adopt = 0', async () => {
    const adopt = numCol(synth, 'adopt');
    const missing = withColumn(synth, 'adopt', Float64Array.from(adopt, (a) => (a === 0 ? NaN : a)));
    const run = async (t: Table) =>
      ((await placebo.run(fakeCtx({ nodeId: 'placebo_test', def: placebo }).ctx, { panel: { type: 'table', table: t } }, placebo.params.parse({ ...base, reps: 5 }))).summary as { value: any }).value;
    const withZero = await run(synth);
    const withNaN = await run(missing);
    expect(Array.from(adopt).some((a) => a === 0)).toBe(true);
    expect(withNaN.n).toBe(withZero.n);
    expect(withNaN.units).toBe(withZero.units);
    expect(withNaN.observed).toEqual(withZero.observed);
    // and the observed model is the estimate step's on the full sample
    const est = await estimate.run(fakeCtx().ctx, { panel: { type: 'table', table: missing } }, estimate.params.parse({ y: 'y', treat: 'd', controls: ['x1', 'x2'], fe: ['unit', 'year'], cluster: 'unit' }));
    const model = (est.model as { value: any }).value;
    expect(withNaN.n).toBe(model.n);
    expect(relClose(withNaN.observed.estimate, model.coefficients[0].estimate, 1e-10)).toBe(true);
  });
});

describe('PlaceboSolver: the grouped path of replicates', () => {
  /** A balanced-minus-holes panel: U units × T years, kc controls, adoption in [2004, 2009] for a third of the units. */
  function problem(kc: number, cluster: 'unit' | 'region' | 'year') {
    const U = 40, T = 10, rng = rngFromKey('grouped-test');
    const rows: { u: number; t: number }[] = [];
    for (let u = 0; u < U; u++) for (let t = 0; t < T; t++) if (!(u % 7 === 3 && t % 4 === 1)) rows.push({ u, t }); // unbalanced
    rows.reverse(); // not sorted by unit: the layout must not assume it
    const n = rows.length;
    const unit = Int32Array.from(rows, (r) => r.u);
    const year = Int32Array.from(rows, (r) => r.t);
    const fe = [{ codes: unit, nlevels: U }, { codes: year, nlevels: T }];
    const cl = cluster === 'unit' ? fe[0]! : cluster === 'year' ? fe[1]! : { codes: Int32Array.from(rows, (r) => Math.floor(r.u / 5)), nlevels: U / 5 };
    // any columns will do for the algebra check (the solver only needs them orthogonal to nothing)
    const col = () => Float64Array.from({ length: n }, () => rng.normal());
    const adopt = Float64Array.from({ length: U }, (_, u) => (u % 3 === 0 ? 2004 + (u % 6) : 0));
    return {
      yt: col(), Ct: Array.from({ length: kc }, col), fe, weights: null, clusters: [cl], vcov: 'cluster' as const, dofK: kc + 1, dfT: cl.nlevels - 1,
      unit, time: Float64Array.from(year, (t) => 2000 + t), adopt, mode: 'permute' as const, times: Float64Array.from([2001, 2002, 2003, 2004, 2005]),
    };
  }

  for (const [kc, cluster] of [[5, 'unit'], [2, 'unit'], [5, 'region'], [0, 'unit'], [5, 'year']] as const) {
    it(`equals the row-order path on the same draws (${kc} controls, clustered by ${cluster})`, () => {
      const prob = problem(kc, cluster);
      const grouped = new PlaceboSolver(prob);
      const plain = new PlaceboSolver(prob);
      // the grouped layout applies when the units are nested in the clusters (not for year clusters)
      expect((grouped as unknown as { grp: unknown }).grp !== null).toBe(cluster !== 'year');
      for (let r = 0; r < 25; r++) {
        const key = `draw-${r}`;
        const [b, se, p] = grouped.replicate(key);
        // the same draw's treatment, fitted by fitTreatment (the row-order fused / generic path)
        const A = plain.drawAdoption(key);
        const D = Float64Array.from(prob.unit, (u, i) => (A[u]! > 0 && prob.time[i]! >= A[u]! ? 1 : 0));
        const [b2, se2, p2] = plain.fitTreatment(D);
        if (Number.isNaN(b2)) {
          expect(b).toBeNaN();
          continue;
        }
        expect(relClose(b, b2, 1e-12)).toBe(true);
        expect(relClose(se, se2, 1e-12)).toBe(true);
        expect(relClose(p, p2, 1e-10)).toBe(true);
      }
    });
  }
});

describe('PlaceboSolver.state', () => {
  it('a solver built from another one\'s state gives the same replicates, bit for bit (grouped and row-order paths)', () => {
    const S = PlaceboSolver;
    const U = 12, T = 6;
    const unit = Int32Array.from({ length: U * T }, (_, i) => Math.floor(i / T));
    const year = Int32Array.from({ length: U * T }, (_, i) => i % T);
    const rng = rngFromKey('state-test');
    const col = () => Float64Array.from({ length: U * T }, () => rng.normal());
    const fe = [{ codes: unit, nlevels: U }, { codes: year, nlevels: T }];
    for (const vcov of ['cluster', 'hc1'] as const) {
      const prob = {
        yt: col(), Ct: [col(), col()], fe, weights: null, clusters: [fe[0]!], vcov, dofK: 3, dfT: U - 1, unit, time: Float64Array.from(year, (t) => 2000 + t),
        adopt: Float64Array.from({ length: U }, (_, u) => (u % 2 ? 2002 + (u % 3) : 0)), mode: 'permute' as const, times: Float64Array.from([2001, 2002, 2003]),
      };
      const a = new S(prob);
      const b = new S({ ...prob, state: structuredClone(a.state()) });
      for (let r = 0; r < 10; r++) expect(b.replicate(`k${r}`)).toEqual(a.replicate(`k${r}`));
    }
  });
});
