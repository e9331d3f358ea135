/**
 * stats/wild-bootstrap.ts, estimate's and event-study's `vcov: {type: wild-cluster}` against
 * fwildclusterboot 0.14.3's boottest.
 *
 * // R: test/golden/wild-bootstrap/make-fwcb.R → golden-fwcb.json (+ voters.csv, the package's own
 * //    example data). Full enumeration (Rademacher, 2^G ≤ B): p identical, test-inversion CI to 1e-7
 * //    relative to its width (R inverts with tol 1e-12). Random draws (different streams from R's
 * //    dqrng): p within 4 Monte Carlo standard errors, CI endpoints within a share of the CI width.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { feols } from '../../stats/ols.js';
import { factorize } from '../../stats/fe.js';
import { wildClusterBootstrap, type WildWeights } from '../../stats/wild-bootstrap.js';
import { rngFromKey } from '../../engine/rng.js';
import type { Artifact } from '../../engine/types.js';
import estimate from '../../steps/estimate.js';
import eventStudy from '../../steps/event-study.js';
import ingest from '../../steps/ingest.js';
import mergeRoster from '../../steps/merge-roster.js';
import { jsonOf, makeCtx, runStep } from '../steps/ctx.js';

const dir = path.join(PROJECT_ROOT, 'test/golden/wild-bootstrap');
const golden = JSON.parse(fs.readFileSync(path.join(dir, 'golden-fwcb.json'), 'utf8'));

interface Case {
  id: string; param: string; weights: WildWeights; impose_null: boolean; B: number; G: number;
  p: number; ci_low: number; ci_high: number; ties: number; enumerated: boolean; subset?: string;
}

/** Monte Carlo tolerance for two independent bootstrap p-values with B draws each. */
const mcTol = (p: number, B: number): number => 4 * Math.sqrt((Math.max(p, 0.01) * (1 - Math.min(p, 0.99)) * 2) / B) + 2 / B;

function expectAgrees(r: { p: number; ci_low: number | null; ci_high: number | null; reps: number; enumerated: boolean }, g: Case, what: string): void {
  const width = g.ci_high - g.ci_low;
  if (process.env.WILD_FWCB_LOG) console.log(`AGREE ${what} enum=${g.enumerated} p ${r.p} vs ${g.p} (tol ${g.enumerated ? 0 : mcTol(g.p, g.B).toFixed(4)}) ci_low ${((r.ci_low! - g.ci_low) / width).toExponential(2)} ci_high ${((r.ci_high! - g.ci_high) / width).toExponential(2)} (of width)`);
  expect(r.enumerated, what).toBe(g.enumerated);
  if (g.enumerated) {
    expect(r.reps, what).toBe(g.B);
    expect(r.p, what).toBe(g.p); // R: fwildclusterboot, all 2^G draws: exact
    expect(Math.abs(r.ci_low! - g.ci_low), what).toBeLessThan(1e-7 * width);
    expect(Math.abs(r.ci_high! - g.ci_high), what).toBeLessThan(1e-7 * width);
  } else {
    expect(Math.abs(r.p - g.p), what).toBeLessThan(mcTol(g.p, g.B));
    // endpoints are bootstrap quantiles of t*: with 9,999 draws each, their MC error is ~1% of the width
    expect(Math.abs(r.ci_low! - g.ci_low), what).toBeLessThan(0.04 * width);
    expect(Math.abs(r.ci_high! - g.ci_high), what).toBeLessThan(0.04 * width);
  }
}

// ---- (1) fwildclusterboot's own example: voters ------------------------------------------------------
const lines = fs.readFileSync(path.join(dir, 'voters.csv'), 'utf8').trim().split('\n');
const names = lines[0]!.split(',').map((s) => s.replace(/"/g, ''));
const voters: Record<string, Float64Array> = {};
names.forEach((nm, j) => (voters[nm] = Float64Array.from(lines.slice(1).map((l) => Number(l.split(',')[j]!.replace(/"/g, ''))))));

function votersProblem(maxGroup: number) {
  const idx: number[] = [];
  voters.group_id1!.forEach((g, i) => g <= maxGroup && idx.push(i));
  const d = Object.fromEntries(Object.entries(voters).map(([k, v]) => [k, Float64Array.from(idx.map((i) => v[i]!))]));
  const xNames = ['treatment', 'ideology1', 'log_income'];
  const fit = feols({
    y: d.proposition_vote!, yName: 'proposition_vote', X: xNames.map((x) => d[x]!), xNames,
    fe: [factorize(d.Q1_immigration!)], feNames: ['Q1_immigration'],
    clusters: [factorize(d.group_id1!)], clusterNames: ['group_id1'], vcov: 'cluster',
  });
  const inn = fit.internals;
  return (term: string) => ({ yt: inn.yt, Xt: inn.Xt, k: fit.terms.indexOf(term), fe: inn.fe, cluster: inn.clusters[0]!, dofK: fit.dofK });
}

describe('wild cluster bootstrap vs fwildclusterboot: voters (the package example)', () => {
  const full = votersProblem(Infinity);
  const sub = votersProblem(12);
  for (const g of golden.cases.filter((c: { data: string }) => c.data === 'voters') as Case[]) {
    it(`${g.id}: ${g.enumerated ? 'exact (full enumeration)' : 'within Monte Carlo error'}`, () => {
      const prob = (g.subset ? sub : full)(g.param);
      const r = wildClusterBootstrap(prob, { reps: 9999, weights: g.weights, imposeNull: g.impose_null, level: 0.95, rng: rngFromKey('0000000000000000000000000000f00d') });
      expect(r.G).toBe(g.G);
      expectAgrees(r, g, g.id);
      if (g.enumerated) {
        // counting the ties |t*| = |t| adds exactly the draws R reports as ties (v ≡ ±1 under WCR)
        const t = wildClusterBootstrap(prob, { reps: 9999, weights: g.weights, imposeNull: g.impose_null, level: 0, countTies: true });
        expect(t.p * t.reps).toBe(g.p * g.B + g.ties);
      }
    });
  }
});

// ---- (2) the SIMULATED demo panel, through the steps --------------------------------------------------
let demoCache: Artifact | null = null;
async function demo(): Promise<Artifact> {
  if (demoCache) return demoCache;
  const ing = await runStep(ingest, { path: 'data/demo/city-panel.csv' });
  const mr = await runStep(mergeRoster, { roster: 'data/pilot-zones.csv', register: 'data/cities.csv', county_zones: 'ignore' }, { panel: ing.table });
  demoCache = mr.panel!;
  return demoCache;
}
const CONTROLS = ['pgdp', 'indus', 'urb', 'fin', 'fis'];
const years = { year: { ge: 2005, le: 2022 } };

describe('wild cluster bootstrap vs fwildclusterboot: demo panel, estimate', () => {
  for (const g of golden.cases.filter((c: { data: string }) => c.data === 'demo') as Case[]) {
    it(`${g.id}: ${g.enumerated ? 'exact (full enumeration)' : 'within Monte Carlo error'}`, async () => {
      const east = g.id.includes('east');
      const by = east ? 'province' : 'city_code';
      const { ctx } = makeCtx({ nodeId: g.id });
      const p = estimate.params.parse({
        y: 'so2', treat: 'did', controls: CONTROLS, fe: ['city_code', 'year'], where: east ? { ...years, region: 'east' } : years,
        vcov: { type: 'wild-cluster', by, reps: 9999, weights: g.weights, impose_null: g.impose_null },
      });
      const m = jsonOf((await estimate.run(ctx, { panel: await demo() }, p)).model);
      const c = m.coefficients[0];
      expect(m.vcov.bootstrap).toEqual({ reps: g.B, weights: g.weights, enumerated: g.enumerated, impose_null: g.impose_null });
      expectAgrees({ p: c.p, ci_low: c.ci_low, ci_high: c.ci_high, reps: m.vcov.bootstrap.reps, enumerated: m.vcov.bootstrap.enumerated }, g, g.id);
    });
  }
});

interface EventCase { id: string; cluster: string; subset: string | null; impose_null: boolean; B: number; periods: (Case & { period: number; estimate: number })[] }

describe('wild cluster bootstrap vs fwildclusterboot: demo panel, event-study per period (boottest per coefficient)', () => {
  for (const e of golden.event as EventCase[]) {
    it(`${e.id}: every non-base period`, async () => {
      const east = e.subset !== null;
      const { ctx } = makeCtx({ nodeId: e.id });
      const p = eventStudy.params.parse({
        y: 'so2', unit: 'city_code', time: 'year', adopt: 'adopt', base: -10, window: [-10, 7], bin_endpoints: true, controls: CONTROLS,
        where: east ? { ...years, region: 'east' } : years,
        vcov: { type: 'wild-cluster', by: east ? 'province' : 'city_code', reps: e.B, impose_null: e.impose_null },
      });
      const es = jsonOf((await eventStudy.run(ctx, { panel: await demo() }, p)).event);
      expect(es.vcov.type).toBe('wild-cluster');
      expect(es.vcov.bootstrap).toEqual({ reps: e.periods[0]!.B, weights: 'rademacher', enumerated: e.periods[0]!.enumerated, impose_null: e.impose_null });
      expect(es.vcov.matrix.length).toBe(es.vcov.periods.length); // the analytic matrix stays (HonestDiD)
      const base = es.periods.find((q: { base: boolean }) => q.base);
      expect(base.p_boot).toBeNull();
      expect(e.periods.length).toBe(es.periods.length - 1);
      for (const g of e.periods) {
        const q = es.periods.find((x: { period: number }) => x.period === g.period);
        expect(q.estimate).toBeCloseTo(g.estimate, 9);
        expectAgrees({ p: q.p_boot, ci_low: q.ci_boot_low, ci_high: q.ci_boot_high, reps: es.vcov.bootstrap.reps, enumerated: es.vcov.bootstrap.enumerated }, g, `${e.id} period ${g.period}`);
      }
    });
  }
});
