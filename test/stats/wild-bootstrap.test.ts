/**
 * stats/wild-bootstrap.ts and estimate's `vcov: {type: wild-cluster}`.
 * Golden values: test/golden/wild-bootstrap/golden.json from make.R (R: brute-force lm.fit refit per
 * enumerated draw; exact, no Monte Carlo error).
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { makeTable } from '../../engine/table.js';
import { feols } from '../../stats/ols.js';
import { factorize } from '../../stats/fe.js';
import { wildClusterBootstrap, enumerationSize } from '../../stats/wild-bootstrap.js';
import { rngFromKey } from '../../engine/rng.js';
import estimate from '../../steps/estimate.js';
import { makeCtx } from '../steps/ctx.js';

const dir = path.join(PROJECT_ROOT, 'test/golden/wild-bootstrap');
const golden = JSON.parse(fs.readFileSync(path.join(dir, 'golden.json'), 'utf8'));
const lines = fs.readFileSync(path.join(dir, 'data.csv'), 'utf8').trim().split('\n');
const names = lines[0]!.split(',').map((s) => s.replace(/"/g, ''));
const cols: Record<string, Float64Array> = {};
names.forEach((nm, j) => (cols[nm] = Float64Array.from(lines.slice(1).map((l) => Number(l.split(',')[j])))));

function subset(maxState: number): Record<string, Float64Array> {
  const idx: number[] = [];
  cols.state!.forEach((s, i) => s <= maxState && idx.push(i));
  return Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, Float64Array.from(idx.map((i) => v[i]!))]));
}

function problem(d: Record<string, Float64Array>) {
  const fit = feols({
    y: d.y!, yName: 'y', X: [d.treat!, d.c1!, d.c2!], xNames: ['treat', 'c1', 'c2'],
    fe: [factorize(d.unit!), factorize(d.year!)], feNames: ['unit', 'year'],
    clusters: [factorize(d.state!)], clusterNames: ['state'], vcov: 'cluster',
  });
  const inn = fit.internals;
  return { fit, prob: { yt: inn.yt, Xt: inn.Xt, k: 0, fe: inn.fe, cluster: inn.clusters[0]!, dofK: fit.dofK } };
}

describe('wild cluster bootstrap, full enumeration vs R brute force', () => {
  const { fit, prob } = problem(cols);
  it('reproduces the CR1 estimate and se of feols', () => {
    const r = wildClusterBootstrap(prob, { reps: 999, weights: 'rademacher', imposeNull: true, level: 0 });
    expect(r.estimate).toBeCloseTo(golden.bhat, 12);
    expect(r.se).toBeCloseTo(fit.coefficients[0]!.se, 12);
  });
  for (const g of golden.cases.filter((c: { weights: string }) => c.weights === 'rademacher')) {
    it(`rademacher, impose_null ${g.impose_null}: p and CI exact`, () => {
      const r = wildClusterBootstrap(prob, { reps: 999, weights: 'rademacher', imposeNull: g.impose_null, level: 0.95 });
      expect(r.enumerated).toBe(true);
      expect(r.reps).toBe(g.reps);
      expect(r.p).toBe(g.p); // R: make.R, 256 enumerated draws, exact
      expect(r.ci_low!).toBeCloseTo(g.ci_low, 6);
      expect(r.ci_high!).toBeCloseTo(g.ci_high, 6);
      const t = wildClusterBootstrap(prob, { reps: 999, weights: 'rademacher', imposeNull: g.impose_null, level: 0, countTies: true });
      expect(t.p).toBe(g.p_ties); // R: make.R, ties |t*| = |t| counted
    });
  }
  const { prob: prob4 } = problem(subset(4));
  for (const g of golden.cases.filter((c: { weights: string }) => c.weights === 'webb')) {
    it(`webb on 4 clusters, impose_null ${g.impose_null}: p exact over 6^4 draws`, () => {
      const r = wildClusterBootstrap(prob4, { reps: 9999, weights: 'webb', imposeNull: g.impose_null, level: 0 });
      expect(r.enumerated).toBe(true);
      expect(r.reps).toBe(1296);
      expect(r.p).toBeCloseTo(g.p, 12); // R: make.R
      expect(wildClusterBootstrap(prob4, { reps: 9999, weights: 'webb', imposeNull: g.impose_null, level: 0, countTies: true }).p).toBeCloseTo(g.p_ties, 12);
    });
  }
  it('random draws are close to the enumerated p (Monte Carlo error) and bit-identical for one stream', () => {
    const exact = golden.cases[0].p as number;
    const a = wildClusterBootstrap(prob, { reps: 9999, weights: 'mammen', imposeNull: true, level: 0, rng: rngFromKey('00000000000000000000000000000001') });
    const b = wildClusterBootstrap(prob, { reps: 9999, weights: 'mammen', imposeNull: true, level: 0, rng: rngFromKey('00000000000000000000000000000001') });
    expect(a.p).toBe(b.p);
    expect(a.enumerated).toBe(false);
    // Mammen ≠ Rademacher, so only a loose check that it is the same ballpark
    expect(Math.abs(a.p - exact)).toBeLessThan(0.15);
    const c = wildClusterBootstrap(prob, { reps: 9999, weights: 'rademacher', imposeNull: true, level: 0, noEnumeration: true, rng: rngFromKey('00000000000000000000000000000002') });
    expect(Math.abs(c.p - exact)).toBeLessThan(4 * Math.sqrt((exact * (1 - exact)) / 9999));
  });
  it('enumeration sizes', () => {
    expect(enumerationSize('rademacher', 13, 9999)).toBe(8192);
    expect(enumerationSize('rademacher', 14, 9999)).toBeNull();
    expect(enumerationSize('webb', 5, 9999)).toBe(7776);
    expect(enumerationSize('norm', 3, 9999)).toBeNull();
  });
});

describe('estimate with vcov wild-cluster', () => {
  const table = makeTable(cols);
  const run = (vcov: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const { ctx, warnings } = makeCtx({ nodeId: 'wild' });
    const p = estimate.params.parse({ y: 'y', treat: 'treat', controls: ['c1', 'c2'], fe: ['unit', 'year'], vcov: { type: 'wild-cluster', ...vcov }, ...extra });
    return { out: estimate.run(ctx, { panel: { type: 'table', table } }, p), warnings };
  };
  it('records the bootstrap and replaces p/CI of the treatment (R: make.R)', async () => {
    const { out } = run({ by: 'state', reps: 999 }, { test: ['c1'] });
    const m = ((await out).model as { value: Record<string, any> }).value;
    expect(m.vcov.type).toBe('wild-cluster');
    expect(m.vcov.bootstrap).toEqual({ reps: 256, weights: 'rademacher', enumerated: true, impose_null: true });
    const t = m.coefficients[0];
    expect(t.term).toBe('treat');
    expect(t.p).toBe(golden.cases[0].p);
    expect(t.ci_low).toBeCloseTo(golden.cases[0].ci_low, 6);
    expect(typeof t.p_cr1).toBe('number');
    expect(m.coefficients[1].bootstrap).toBe(true);
    expect(m.coefficients[2].bootstrap).toBeUndefined();
  });
  it('warns with fewer than 6 clusters', async () => {
    const sub = makeTable(subset(4));
    const { ctx, warnings } = makeCtx({ nodeId: 'few' });
    const p = estimate.params.parse({ y: 'y', treat: 'treat', fe: ['unit', 'year'], vcov: { type: 'wild-cluster', by: 'state', weights: 'webb' } });
    await estimate.run(ctx, { panel: { type: 'table', table: sub } }, p);
    expect(warnings.join('\n')).toMatch(/^params\.vcov\.by "state" has only 4 clusters.*unreliable/);
  });
  it('rejects reps < 99', async () => {
    await expect(run({ by: 'state', reps: 50 }).out).rejects.toThrow(/^params\.vcov\.reps is 50.*at least 99/);
  });
  it('rejects a by that is not a column', async () => {
    await expect(run({ by: 'province' }).out).rejects.toThrow(/^params\.vcov\.by names column "province", which is not in the input table/);
  });
  it('rejects forced webb enumeration that is too large', async () => {
    await expect(run({ by: 'unit', weights: 'webb', enumerate: true }).out).rejects.toThrow(/params\.vcov\.enumerate is true but webb enumeration of 16 clusters needs 6\^16.*drop params\.vcov\.enumerate/);
  });
  it('rejects a test term that is not a regressor, and cluster ≠ by', async () => {
    await expect(run({ by: 'state' }, { test: ['zz'] }).out).rejects.toThrow(/params\.test names "zz"/);
    await expect(run({ by: 'state' }, { cluster: 'unit' }).out).rejects.toThrow(/params\.vcov\.by \("state"\) and params\.cluster/);
  });
});
