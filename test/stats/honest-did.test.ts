/**
 * stats/honest-did.ts, stats/lp.ts, stats/normal.ts and the honest-did step.
 * Golden values: test/golden/honest-did/golden.json from make.R (R: HonestDiD 0.2.8 built from
 * GitHub; createSensitivityResults_relativeMagnitudes / constructOriginalCS on the package's
 * BCdata_EventStudy and on our demo panel's event study).
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { simplexMax } from '../../stats/lp.js';
import { RRng, qnorm, pnorm, norminvp } from '../../stats/normal.js';
import { conditionalCSDeltaRM, originalCI, constructGamma, createA_RM } from '../../stats/honest-did.js';
import honest from '../../steps/honest-did.js';
import { makeCtx } from '../steps/ctx.js';

const dir = path.join(PROJECT_ROOT, 'test/golden/honest-did');
const golden = JSON.parse(fs.readFileSync(path.join(dir, 'golden.json'), 'utf8'));
const demo = JSON.parse(fs.readFileSync(path.join(dir, 'demo-event-study.json'), 'utf8'));
const sym = (S: number[][]) => S.map((r, i) => r.map((x, j) => (x + S[j]![i]!) / 2));

describe('numerical building blocks', () => {
  it('simplex: optimum, vertex and duals of a small LP (hand-checked)', () => {
    // max x1 + x2 s.t. x1 + 2x2 ≤ 4, 3x1 + x2 ≤ 6 (slacks): optimum 2.8 at (1.6, 1.2), duals (0.4, 0.2)
    const r = simplexMax([1, 1, 0, 0], [[1, 2, 1, 0], [3, 1, 0, 1]], [4, 6]);
    expect(r.status).toBe('optimal');
    expect(r.value).toBeCloseTo(2.8, 12);
    expect(Array.from(r.x)).toEqual([expect.closeTo(1.6, 12), expect.closeTo(1.2, 12), 0, 0]);
    expect(r.y[0]).toBeCloseTo(0.4, 12);
    expect(r.y[1]).toBeCloseTo(0.2, 12);
    expect(simplexMax([1], [[1], [1]], [1, 2]).status).toBe('infeasible');
    expect(simplexMax([1, 0], [[1, -1]], [0]).status).toBe('unbounded');
    // negative right-hand side (row flipped internally), duals keep the original sign
    const s = simplexMax([-1, -1], [[-1, -1]], [-3]);
    expect(s.value).toBeCloseTo(-3, 12);
    expect(s.y[0]).toBeCloseTo(1, 12);
  });
  it("R's RNG: set.seed(0); rnorm reproduces R draw for draw", () => {
    const r = new RRng(0);
    // R: set.seed(0); rnorm(5); x <- rnorm(2000)[2000 - 5]
    const got = Array.from({ length: 5 }, () => r.norm());
    const want = [1.26295428488079331, -0.3262333607056494, 1.32979926292250061, 1.27242932142940468, 0.41464143445640822];
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 14));
    const r2 = new RRng(0);
    let x = 0;
    for (let i = 0; i < 2000; i++) x = r2.norm();
    expect(x).toBeCloseTo(-1.1484864155881647, 14); // R: set.seed(0); rnorm(2000)[2000]
  });
  it('normal quantiles and truncated-normal quantiles (R: qnorm, pnorm, TruncatedNormal::norminvp)', () => {
    expect(qnorm(0.975)).toBeCloseTo(1.9599639845400536, 14);
    expect(qnorm(1e-300)).toBeCloseTo(-37.047096299361201, 11);
    expect(pnorm(-10) / 7.6198530241605269e-24).toBeCloseTo(1, 12);
    const num = (x: number | string): number => (x === 'Inf' ? Infinity : x === '-Inf' ? -Infinity : Number(x));
    expect(golden.norminvp.length).toBe(6);
    for (const [p, l, u, want] of golden.norminvp as (number | string)[][]) expect(norminvp(num(p!), num(l!), num(u!))).toBeCloseTo(num(want!), 9);
  });
  it('Γ and the Δ^RM constraint matrix have the package layout', () => {
    expect(constructGamma([0, 1, 0])).toEqual([[0, 1, 0], [1, 0, 0], [0, 0, 1]]);
    expect(constructGamma([0.25, 0.25, 0.25, 0.25])[0]).toEqual([0.25, 0.25, 0.25, 0.25]);
    const A = createA_RM(2, 2, 1, 0, true);
    expect(A[0]!.length).toBe(4);
    expect(A).toEqual(golden.A_RM_2_2_1_0);
  });
});

describe('HonestDiD golden: Benzarti–Carloni (BCdata_EventStudy)', () => {
  const bc = golden.bc;
  for (const c of bc.cases) {
    it(`${c.method}, target ${c.target}: bounds agree with R to 1e-4 on the package grid`, () => {
      const hybrid = c.method === 'C-LF' ? 'LF' : 'ARP';
      c.mbar.forEach((M: number, i: number) => {
        const r = conditionalCSDeltaRM(bc.betahat, bc.sigma, 4, 4, c.l_vec, M, { alpha: 0.05, hybrid });
        expect(Math.abs(r.lb! - c.lb[i])).toBeLessThan(1e-4); // R: make.R
        expect(Math.abs(r.ub! - c.ub[i])).toBeLessThan(1e-4);
      });
      const o = originalCI(bc.betahat, bc.sigma, 4, c.l_vec, 0.05);
      expect(o.lb).toBeCloseTo(c.original[0], 10);
      expect(o.ub).toBeCloseTo(c.original[1], 10);
    }, 120_000);
  }
});

describe('HonestDiD golden: one post period (no nuisance parameters), through the step with betahat/sigma params', () => {
  const g1 = JSON.parse(fs.readFileSync(path.join(dir, 'golden-one-post.json'), 'utf8'));
  for (const c of g1.cases) {
    it(`${c.method}: bounds agree with R to 1e-4 (R: make-one-post.R, gridPoints 200)`, async () => {
      const { ctx, warnings } = makeCtx({ nodeId: 'hd1' });
      const method = c.method === 'C-LF' ? 'C-LF' : 'conditional';
      const out = await honest.run(ctx, {}, honest.params.parse({ betahat: g1.betahat, sigma: g1.sigma, num_pre: 4, num_post: 1, mbar: c.mbar, method, grid_points: g1.grid_points }));
      const t = (out.sensitivity as any).table;
      expect(t.nrows).toBe(c.mbar.length);
      for (let i = 0; i < c.mbar.length; i++) {
        expect(Math.abs(t.columns.lb[i] - c.lb[i])).toBeLessThan(1e-4);
        expect(Math.abs(t.columns.ub[i] - c.ub[i])).toBeLessThan(1e-4);
        expect(t.columns.method[i]).toBe(method);
      }
      // M̄ = 2 reaches the grid end, as the package warns ("CI is open at one of the endpoints")
      expect(warnings.some((w) => /M̄ = 2: the confidence set reaches the end of the grid/.test(w))).toBe(true);
    }, 120_000);
  }
});

describe('HonestDiD golden: the demo panel event study, through the step', () => {
  it('in: event_study artifact → sensitivity, original, breakdown agree with R', async () => {
    const g = golden.demo.cases[0];
    const es = {
      base: demo.base,
      periods: [...demo.periods.map((p: number, i: number) => ({ period: p, estimate: demo.betahat[i], base: false })), { period: demo.base, estimate: 0, base: true }],
      vcov: { periods: demo.periods, matrix: demo.sigma },
    };
    const { ctx } = makeCtx({ nodeId: 'honest' });
    const out = await honest.run(ctx, { event_study: { type: 'json', value: es } }, honest.params.parse({ mbar: g.mbar, target: 'average' }));
    const t = (out.sensitivity as any).table;
    for (let i = 0; i < g.mbar.length; i++) {
      expect(Math.abs(t.columns.lb[i] - g.lb[i])).toBeLessThan(1e-4); // R: make.R
      expect(Math.abs(t.columns.ub[i] - g.ub[i])).toBeLessThan(1e-4);
    }
    const o = (out.original as any).value;
    expect(o.lb).toBeCloseTo(g.original[0], 10);
    const b = (out.breakdown as any).value;
    const excl = g.mbar.filter((_: number, i: number) => g.lb[i] > 0 || g.ub[i] < 0);
    expect(b.breakdown).toBe(excl.length ? Math.max(...excl) : null);
  }, 300_000);
});

describe('HonestDiD golden: smoothness Δ^SD (conditional, C-LF)', () => {
  const gs = JSON.parse(fs.readFileSync(path.join(dir, 'golden-smoothness.json'), 'utf8'));
  for (const c of gs.cases) {
    it(`${c.method}, ${c.num_post} post period(s), target ${c.target}: bounds agree with R to 1e-4 (R: make-smoothness.R)`, async () => {
      const np = c.num_post as number;
      const beta = (gs.betahat as number[]).slice(0, 4 + np);
      const sigma = (gs.sigma as number[][]).slice(0, 4 + np).map((r) => r.slice(0, 4 + np));
      const { ctx } = makeCtx({ nodeId: 'sd' });
      const out = await honest.run(ctx, {}, honest.params.parse({
        betahat: beta, sigma, num_pre: 4, num_post: np, restriction: 'smoothness', m: c.m,
        method: c.method === 'C-LF' ? 'C-LF' : 'conditional', target: c.target === 'average' ? 'average' : 1,
      }));
      const t = (out.sensitivity as any).table;
      for (let i = 0; i < c.m.length; i++) {
        expect(t.columns.restriction[i]).toBe('smoothness');
        if (c.lb[i] === 'Inf') {
          // R: empty confidence set (min of no accepted grid value = Inf); ours: NaN and a warning
          expect(t.columns.lb[i]).toBeNaN();
          expect(t.columns.ub[i]).toBeNaN();
          continue;
        }
        expect(Math.abs(t.columns.lb[i] - c.lb[i])).toBeLessThan(1e-4);
        expect(Math.abs(t.columns.ub[i] - c.ub[i])).toBeLessThan(1e-4);
      }
    }, 120_000);
  }
});

describe('honest-did bad input', () => {
  const base = { betahat: [0.1, 0.0, 0.2, 0.3], sigma: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]].map((r) => r.map((x) => x * 0.01)), num_pre: 2, num_post: 2, mbar: [0] };
  const run = (p: Record<string, unknown>, inputs: Record<string, unknown> = {}) => {
    const { ctx } = makeCtx({ nodeId: 'hd' });
    return honest.run(ctx, inputs as never, honest.params.parse(p));
  };
  it('an artifact without vcov.matrix names the step to rerun', async () => {
    await expect(run({}, { event_study: { type: 'json', value: { periods: [], vcov: { type: 'cluster' } } } })).rejects.toThrow(/^input event_study has no vcov\.matrix.*rerun the event-study step/);
  });
  it('sigma not symmetric, not PSD, or of the wrong size', async () => {
    const asym = base.sigma.map((r) => [...r]);
    asym[0]![1] = 0.005;
    await expect(run({ ...base, sigma: asym })).rejects.toThrow(/sigma is not symmetric \(sigma\[1\]\[2\]/);
    const npsd = base.sigma.map((r) => [...r]);
    npsd[0]![1] = npsd[1]![0] = 0.02;
    await expect(run({ ...base, sigma: npsd })).rejects.toThrow(/sigma is not positive semi-definite/);
    await expect(run({ ...base, sigma: base.sigma.slice(0, 3) })).rejects.toThrow(/sigma must be a 4×4 matrix/);
  });
  it('an artifact with no post periods, no pre periods, or a vcov.matrix of the wrong size / not PSD names the input and the rerun', async () => {
    const es = (periods: number[], matrix: number[][]) => ({
      event_study: { type: 'json', value: { periods: periods.map((p) => ({ period: p, estimate: 0.1 * p, base: false })), vcov: { type: 'cluster', periods, matrix } } },
    });
    const I = (n: number, v = 0.01) => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? v : 0)));
    await expect(run({ mbar: [0] }, es([-3, -2], I(2)))).rejects.toThrow(/^input event_study has no post periods \(vcov\.periods \[-3,-2\] are all < 0\).*window reaching periods ≥ 0/);
    await expect(run({ mbar: [0] }, es([0, 1], I(2)))).rejects.toThrow(/^input event_study has no pre periods besides the base/);
    await expect(run({ mbar: [0] }, es([-2, 0, 1], I(2)))).rejects.toThrow(/^input event_study: vcov\.matrix must be 3×3 \(one row per entry of vcov\.periods\); rerun the event-study node/);
    const npsd = I(3);
    npsd[0]![1] = npsd[1]![0] = 0.02;
    await expect(run({ mbar: [0] }, es([-2, 0, 1], npsd))).rejects.toThrow(/^input event_study: vcov\.matrix \(as sigma\): sigma is not positive semi-definite.*rerun the event-study node/);
  });
  it('num_pre + num_post ≠ length(betahat)', async () => {
    await expect(run({ ...base, num_pre: 3 })).rejects.toThrow(/num_pre \+ num_post = 3 \+ 2 = 5, but betahat has 4 elements/);
  });
  it('negative Mbar', async () => {
    await expect(run({ ...base, mbar: [0, -1] })).rejects.toThrow(/params\.mbar has -1; M̄ .* must be ≥ 0/);
  });
  it('smoothness: m required, negative m', async () => {
    await expect(run({ ...base, mbar: undefined, restriction: 'smoothness', method: 'conditional' })).rejects.toThrow(/restriction smoothness needs params\.m/);
    await expect(run({ ...base, mbar: undefined, restriction: 'smoothness', method: 'conditional', m: [-0.1] })).rejects.toThrow(/params\.m has -0\.1.*must be ≥ 0/);
  });
  it('no post periods', async () => {
    await expect(run({ ...base, num_pre: 4, num_post: 0 })).rejects.toThrow(/there are no post periods/);
  });
  it('missing params without an input, and target beyond the post periods', async () => {
    await expect(run({ betahat: [1, 2] })).rejects.toThrow(/missing: sigma, num_pre, num_post/);
    await expect(run({ ...base, target: 3 })).rejects.toThrow(/params\.target is 3 but there are only 2 post periods/);
  });
});
