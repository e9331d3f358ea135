/**
 * `event-study` with `vcov: {type: wild-cluster}`: the per-period bootstrap fields, the contract kept
 * for honest-did, determinism, and bad input (issue 11). Agreement with fwildclusterboot per period is
 * in test/stats/wild-bootstrap-fwcb.test.ts; here the per-period results are checked against a direct
 * call of stats/wild-bootstrap.ts on the same regression (R: test/golden/wild-bootstrap/make.R made
 * the data: 8 states × 2 units × 6 years, state-level staggered adoption).
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { makeTable } from '../../engine/table.js';
import { feols } from '../../stats/ols.js';
import { factorize } from '../../stats/fe.js';
import { wildClusterBootstrap } from '../../stats/wild-bootstrap.js';
import eventStudy from '../../steps/event-study.js';
import honest from '../../steps/honest-did.js';
import { makeCtx } from './ctx.js';
import figure from '../../steps/figure.js';
import { renderCtx } from './render-ctx.js';
import { eventStudySpec } from '../../steps/render/charts.js';
import { eventStudySchema } from '../../steps/render/model.js';

const lines = fs.readFileSync(path.join(PROJECT_ROOT, 'test/golden/wild-bootstrap/data.csv'), 'utf8').trim().split('\n');
const names = lines[0]!.split(',').map((s) => s.replace(/"/g, ''));
const cols: Record<string, Float64Array> = {};
names.forEach((nm, j) => (cols[nm] = Float64Array.from(lines.slice(1).map((l) => Number(l.split(',')[j])))));
// adoption year per unit: the first treated year (0 = never)
const adoptOf = new Map<number, number>();
cols.unit!.forEach((u, i) => {
  if (cols.treat![i] === 1) adoptOf.set(u, Math.min(adoptOf.get(u) ?? Infinity, cols.year![i]!));
});
cols.adopt = Float64Array.from(cols.unit!, (u) => adoptOf.get(u) ?? 0);
const table = makeTable(cols);
const base = { y: 'y', unit: 'unit', time: 'year', adopt: 'adopt', base: -1, window: [-3, 2], controls: ['c1', 'c2'] };

async function run(vcov: Record<string, unknown> | string | undefined, extra: Record<string, unknown> = {}, t = table) {
  const f = makeCtx({ nodeId: 'es_wild' });
  const p = eventStudy.params.parse({ ...base, ...(vcov === undefined ? {} : { vcov: typeof vcov === 'string' ? vcov : { type: 'wild-cluster', ...vcov } }), ...extra });
  const out = await eventStudy.run(f.ctx, { panel: { type: 'table', table: t } }, p);
  return { es: (out.event as { value: any }).value, warnings: f.warnings };
}

describe('event-study with the wild cluster bootstrap', () => {
  it('adds p_boot and the test-inversion CI per non-base period, keeps the analytic fields and matrix', async () => {
    const plain = (await run(undefined, { cluster: 'state' })).es;
    const { es } = await run({ by: 'state', reps: 999 });
    expect(es.vcov.type).toBe('wild-cluster');
    expect(es.vcov.by).toEqual(['state']);
    expect(es.vcov.matrix_type).toBe('cluster');
    expect(es.vcov.bootstrap).toEqual({ reps: 256, weights: 'rademacher', enumerated: true, impose_null: true });
    expect(es.vcov.matrix).toEqual(plain.vcov.matrix); // the CR1 matrix, as without the bootstrap
    expect(es.pretrend).toEqual(plain.pretrend);
    // the same regression by hand: each period's bootstrap = the stats function on that coefficient
    const fit = feols({
      y: cols.y!, yName: 'y',
      X: [-3, -2, 0, 1, 2].map((p) => Float64Array.from(cols.adopt!, (a, i) => (a > 0 && Math.min(2, Math.max(-3, cols.year![i]! - a)) === p ? 1 : 0))).concat([cols.c1!, cols.c2!]),
      xNames: ['m3', 'm2', 'p0', 'p1', 'p2', 'c1', 'c2'],
      fe: [factorize(cols.unit!), factorize(cols.year!)], feNames: ['unit', 'year'],
      clusters: [factorize(cols.state!)], clusterNames: ['state'], vcov: 'cluster',
    });
    const inn = fit.internals;
    for (const [k, period] of [-3, -2, 0, 1, 2].entries()) {
      const q = es.periods.find((x: { period: number }) => x.period === period);
      const ref = plain.periods.find((x: { period: number }) => x.period === period);
      expect(q).toMatchObject({ estimate: ref.estimate, se: ref.se, p: ref.p, ci_low: ref.ci_low, ci_high: ref.ci_high });
      const r = wildClusterBootstrap({ yt: inn.yt, Xt: inn.Xt, k, fe: inn.fe, cluster: inn.clusters[0]!, dofK: fit.dofK }, { reps: 999, weights: 'rademacher', imposeNull: true, level: 0.95 });
      expect(q.p_boot).toBe(r.p);
      expect(q.ci_boot_low).toBeCloseTo(r.ci_low!, 9);
      expect(q.ci_boot_high).toBeCloseTo(r.ci_high!, 9);
      expect(q.ci_boot_low).toBeLessThan(q.estimate);
      expect(q.ci_boot_high).toBeGreaterThan(q.estimate);
    }
    const b = es.periods.find((x: { base: boolean }) => x.base);
    expect(b).toMatchObject({ period: -1, p_boot: null, ci_boot_low: null, ci_boot_high: null });
  });

  it('random draws (Mammen) are bit-identical across runs and give every period its own stream', async () => {
    const a = (await run({ by: 'state', reps: 999, weights: 'mammen' })).es;
    const b = (await run({ by: 'state', reps: 999, weights: 'mammen' })).es;
    expect(a.vcov.bootstrap).toEqual({ reps: 999, weights: 'mammen', enumerated: false, impose_null: true });
    expect(a.periods.map((p: { p_boot: number }) => p.p_boot)).toEqual(b.periods.map((p: { p_boot: number }) => p.p_boot));
    expect(a.periods.map((p: { ci_boot_low: number }) => p.ci_boot_low)).toEqual(b.periods.map((p: { ci_boot_low: number }) => p.ci_boot_low));
  });

  it('honest-did reads the event study with the wild bootstrap (the analytic vcov.matrix)', async () => {
    const { es } = await run({ by: 'state', reps: 999, impose_null: false });
    const f = makeCtx({ nodeId: 'hd' });
    const out = await honest.run(f.ctx, { event_study: { type: 'json', value: es } }, honest.params.parse({ mbar: [0, 1], target: 'average' }));
    const orig = (out.original as { value: any }).value;
    const post = es.periods.filter((p: { period: number }) => p.period >= 0).map((p: { estimate: number }) => p.estimate);
    expect(orig.estimate).toBeCloseTo(post.reduce((s: number, x: number) => s + x, 0) / post.length, 12);
    // its se is the analytic CR1 one: l'Σ_post l with l = 1/3 on the three post periods
    const ix = es.vcov.periods.map((p: number, i: number) => (p >= 0 ? i : -1)).filter((i: number) => i >= 0);
    let v = 0;
    for (const i of ix) for (const j of ix) v += es.vcov.matrix[i][j] / 9;
    expect(orig.se).toBeCloseTo(Math.sqrt(v), 12);
  });
});

describe('Figure: the event study with wild bootstrap CIs', () => {
  it('draws the bootstrap CI next to each CR1 bar and names it in the subtitle; nothing changes without it', async () => {
    const { es } = await run({ by: 'state', reps: 999 });
    const spec = eventStudySpec(eventStudySchema.parse(es), { width: 400, height: 300 }) as any;
    expect(spec.title.subtitle[1]).toBe('Orange: wild cluster bootstrap 95% CI (WCR, rademacher, all 256 draws enumerated)');
    const boot = spec.layer[2].layer.find((l: any) => l.data?.values?.[0]?.ci_boot_low !== undefined);
    const want = es.periods.filter((p: any) => !p.base).map((p: any) => ({ period: p.period + 0.18, ci_boot_low: p.ci_boot_low, ci_boot_high: p.ci_boot_high }));
    expect(boot.data.values).toEqual(want);
    const plain = (await run(undefined, { cluster: 'state' })).es;
    const spec0 = eventStudySpec(eventStudySchema.parse(plain), { width: 400, height: 300 }) as any;
    expect(spec0.layer[2].layer).toHaveLength(2);
    expect(typeof spec0.title.subtitle).toBe('string');
    const out = await figure.run(renderCtx('fig_wild'), { data: { type: 'json', value: es } }, figure.params.parse({ type: 'event-study', title: 'Event study' }));
    const svg = new TextDecoder().decode((out.svg as { bytes: Uint8Array }).bytes);
    expect(svg).toContain('#d07a1f');
    expect(svg).toContain('wild cluster bootstrap 95% CI');
  });
});

describe('event-study wild bootstrap: bad input (issue 11)', () => {
  it('G < 6 clusters: a warning naming params.vcov.by', async () => {
    const sub = makeTable(Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, v.filter((_, i) => cols.state![i]! <= 5)])));
    const { es, warnings } = await run({ by: 'state', weights: 'webb' }, {}, sub);
    expect(warnings.join('\n')).toMatch(/params\.vcov\.by "state" has only 5 clusters; the wild cluster bootstrap is unreliable/);
    expect(es.vcov.bootstrap).toMatchObject({ reps: 7776, weights: 'webb', enumerated: true });
  });
  it('reps < 99 and reps too large', async () => {
    await expect(run({ by: 'state', reps: 50 })).rejects.toThrow(/^params\.vcov\.reps is 50; the wild bootstrap needs at least 99 draws/);
    await expect(run({ by: 'state', reps: 5_000_000 })).rejects.toThrow(/^params\.vcov\.reps is 5000000; at most 1048576 draws/);
  });
  it('by not a column', async () => {
    await expect(run({ by: 'province' })).rejects.toThrow(/^params\.vcov\.by names column "province", which is not in the input table; set it to the cluster column \(columns are: state, unit/);
  });
  it('webb enumeration too large / not enumerable weights', async () => {
    await expect(run({ by: 'unit', weights: 'webb', enumerate: true })).rejects.toThrow(/^params\.vcov\.enumerate is true but webb enumeration of 16 clusters needs 6\^16 = 2\.82e\+12 draws .*drop params\.vcov\.enumerate/);
    await expect(run({ by: 'state', weights: 'norm', enumerate: true })).rejects.toThrow(/^params\.vcov\.enumerate is true but norm weights .*cannot be enumerated/);
  });
  it('cluster and vcov.by differ; regression weights', async () => {
    await expect(run({ by: 'state' }, { cluster: 'unit' })).rejects.toThrow(/^params\.vcov\.by \("state"\) and params\.cluster \("unit"\) differ/);
    await expect(run({ by: 'state' }, { weights: 'c2' })).rejects.toThrow(/wild-cluster does not support regression weights/);
  });
  it('an unknown weights kind is a schema error', () => {
    expect(() => eventStudy.params.parse({ ...base, vcov: { type: 'wild-cluster', by: 'state', weights: 'gamma' } })).toThrow();
  });
});
