/**
 * Shared helpers of the end-to-end "pipeline vs an independent R implementation" tests
 * (test/pipeline-vs-r.test.ts, test/pipeline-real-vs-r.test.ts): the golden JSON types written by
 * test/golden/pipeline/*.R, an engine run in a temp store with typed access to its artifacts, and the
 * checks of a merged panel, a model, an event study and a PSM match against the golden values.
 * Tolerances: coefficients 1e-8 relative, SEs 1e-6 relative (issue 3).
 */
import path from 'node:path';
import { expect } from 'vitest';
import { runSession, type RunResult } from '../engine/executor.js';
import { PROJECT_ROOT } from '../engine/paths.js';
import { openSession, type Session } from '../engine/session.js';
import type { Table } from '../engine/table.js';

export interface Coef { term: string; estimate: number; se: number; t: number; p: number; ci_low: number; ci_high: number }
export interface GoldenModel {
  id: string; spec: string; n: number; clusters: number; k: number; singletons: number;
  r2: number; r2_within: number; coefficients: Coef[]; cons: number;
}
export interface GoldenRun {
  panel: { rows: number; cities: number; treated_cities: number; did_sum: number; large_cities: number; adopt_counts: Record<string, number> };
  models: GoldenModel[];
  event_study: {
    n: number; clusters: number; k: number; singletons: number; base: number; window: [number, number];
    bin_endpoints: boolean; rows_outside_window: number;
    periods: { period: number; estimate: number; se: number; base: boolean }[];
    controls: Coef[]; pretrend: { stat: number; df1: number; df2: number; p: number }; r2: number; r2_within: number;
  };
  psm: {
    rows_used: number; treated: number; matched_treated: number; distinct_controls: number; sample_rows: number;
    pairs: { treated_row: number[]; control_row: number[]; ps_treated: number[]; ps_control: number[] };
    sample_row: number[];
  };
}

/** |a − b| ≤ tol · max(|b|, floor): relative, with an absolute floor for values near 0. */
export const close = (a: number, b: number, tol: number, floor = 1e-12) => Math.abs(a - b) <= tol * Math.max(Math.abs(b), floor);
export const expectRel = (a: number, b: number, tol: number, what: string) =>
  expect(close(a, b, tol), `${what}: engine ${a} vs R ${b} (rel. diff ${((a - b) / b).toExponential(2)}, tolerance ${tol})`).toBe(true);
export const numbers = (t: Table, col: string): number[] => Array.from(t.columns[col] as Float64Array);

/** One engine run in the temp store and typed access to its artifacts. */
export class EngineRun {
  session!: Session;
  run!: RunResult;
  async start(dir: string, overrides: { id: string; param: string; value: unknown; arg: string }[], targets: string[], file = 'pipeline.yaml'): Promise<void> {
    this.session = await openSession({ file: path.join(PROJECT_ROOT, file), storeDir: dir, noSpecCache: true, overrides });
    this.run = await runSession(this.session, { targets, workers: false, noHistory: true, jobs: 2 });
    const failed = this.run.nodes.filter((n) => n.status === 'failed');
    if (failed.length) throw new Error(`pipeline-vs-r: nodes failed: ${failed.map((n) => `${n.id}: ${n.error?.message}`).join('; ')}`);
  }
  async artifact(id: string, name: string) {
    const node = this.run.nodes.find((n) => n.id === id);
    if (!node?.outputs?.[name]) throw new Error(`pipeline-vs-r: node ${id} has no output ${name} (status ${node?.status}: ${node?.error?.message ?? ''})`);
    return this.session.store.get(node.outputs[name]!);
  }
  async json(id: string, name: string): Promise<any> {
    const a = await this.artifact(id, name);
    if (a.type !== 'json') throw new Error(`pipeline-vs-r: ${id}.${name} is not json`);
    return a.value;
  }
  async table(id: string, name: string): Promise<Table> {
    const a = await this.artifact(id, name);
    if (a.type !== 'table') throw new Error(`pipeline-vs-r: ${id}.${name} is not a table`);
    return a.table;
  }
}

export async function checkPanel(e: EngineRun, g: Omit<GoldenRun['panel'], 'large_cities'> & { large_cities?: number }): Promise<Map<number, number>> {
  const t = await e.table('panel', 'panel');
  expect(t.nrows).toBe(g.rows);
  const code = numbers(t, 'city_code'), adopt = numbers(t, 'adopt'), did = numbers(t, 'did');
  expect(new Set(code).size).toBe(g.cities);
  const adoptOf = new Map<number, number>();
  code.forEach((c, i) => { if (!adoptOf.has(c)) adoptOf.set(c, adopt[i]!); });
  const counts: Record<string, number> = {};
  let treated = 0;
  for (const a of adoptOf.values()) if (!Number.isNaN(a)) { treated++; counts[String(a)] = (counts[String(a)] ?? 0) + 1; }
  expect(treated).toBe(g.treated_cities);
  expect(counts).toEqual(g.adopt_counts);
  expect(did.reduce((s, v) => s + v, 0)).toBe(g.did_sum);
  if (g.large_cities !== undefined) {
    const large = numbers(t, 'large');
    expect(new Set(code.filter((_, i) => large[i] === 1)).size).toBe(g.large_cities);
  }
  return adoptOf;
}

export async function checkModel(e: EngineRun, id: string, g: GoldenModel): Promise<void> {
  const m = await e.json(id, 'model');
  expect(m.n, `${id} N`).toBe(g.n);
  expect(m.clusters, `${id} clusters`).toBe(g.clusters);
  expect(m.vcov.k, `${id} CR1 parameter count K`).toBe(g.k);
  expect(m.dropped.singletons, `${id} singletons`).toBe(g.singletons);
  const terms = (m.coefficients as Coef[]).filter((c) => c.term !== '_cons');
  expect(terms.map((c) => c.term)).toEqual(g.coefficients.map((c) => c.term));
  for (const [j, r] of g.coefficients.entries()) {
    const c = terms[j]!;
    expectRel(c.estimate, r.estimate, 1e-8, `${id} ${r.term} estimate`);
    expectRel(c.se, r.se, 1e-6, `${id} ${r.term} SE`);
    expectRel(c.t, r.t, 1e-6, `${id} ${r.term} t`);
    expect(Math.abs(c.p - r.p), `${id} ${r.term} p: ${c.p} vs ${r.p}`).toBeLessThanOrEqual(1e-8 + 1e-5 * r.p);
    expectRel(c.ci_low, r.ci_low, 1e-6, `${id} ${r.term} ci_low`);
    expectRel(c.ci_high, r.ci_high, 1e-6, `${id} ${r.term} ci_high`);
  }
  const cons = (m.coefficients as Coef[]).find((c) => c.term === '_cons')!;
  expectRel(cons.estimate, g.cons, 1e-8, `${id} _cons`);
  expectRel(m.r2, g.r2, 1e-8, `${id} R²`);
  expectRel(m.r2_within, g.r2_within, 1e-8, `${id} within R²`);
}

export async function checkEventStudy(run: EngineRun, g: GoldenRun['event_study']): Promise<void> {
  const e = await run.json('event_study', 'event');
  expect([e.n, e.clusters, e.vcov.k, e.dropped.singletons]).toEqual([g.n, g.clusters, g.k, g.singletons]);
  expect([e.base, e.bin_endpoints, e.dropped.outside_window]).toEqual([g.base, g.bin_endpoints, g.rows_outside_window]);
  expect(e.window).toEqual(g.window);
  expect(e.periods.map((p: { period: number }) => p.period)).toEqual(g.periods.map((p) => p.period));
  for (const [j, r] of g.periods.entries()) {
    const p = e.periods[j];
    expect(p.base, `period ${r.period} base flag`).toBe(r.base);
    if (r.base) {
      expect([p.estimate, p.se]).toEqual([0, 0]);
      continue;
    }
    expectRel(p.estimate, r.estimate, 1e-8, `period ${r.period} estimate`);
    expectRel(p.se, r.se, 1e-6, `period ${r.period} SE`);
  }
  for (const r of g.controls) {
    const c = e.controls.find((x: Coef) => x.term === r.term);
    expectRel(c.estimate, r.estimate, 1e-8, `event study ${r.term} estimate`);
    expectRel(c.se, r.se, 1e-6, `event study ${r.term} SE`);
  }
  expect([e.pretrend.df1, e.pretrend.df2]).toEqual([g.pretrend.df1, g.pretrend.df2]);
  expectRel(e.pretrend.stat, g.pretrend.stat, 1e-6, 'pre-trend F');
  expectRel(e.pretrend.p, g.pretrend.p, 1e-6, 'pre-trend p');
  expectRel(e.r2, g.r2, 1e-8, 'event study R²');
}

export async function checkPsm(e: EngineRun, g: GoldenRun['psm']): Promise<void> {
  const pairs = await e.table('psm', 'pairs');
  const sample = await e.table('psm', 'sample');
  expect(pairs.nrows, 'matched treated rows').toBe(g.matched_treated);
  expect(numbers(pairs, 'treated_row')).toEqual(g.pairs.treated_row);
  expect(numbers(pairs, 'control_row')).toEqual(g.pairs.control_row);
  const pt = numbers(pairs, 'ps_treated'), pc = numbers(pairs, 'ps_control');
  g.pairs.ps_treated.forEach((v, i) => expectRel(pt[i]!, v, 1e-6, `score of treated row ${g.pairs.treated_row[i]}`));
  g.pairs.ps_control.forEach((v, i) => expectRel(pc[i]!, v, 1e-6, `score of control row ${g.pairs.control_row[i]}`));
  expect(new Set(numbers(pairs, 'control_row')).size).toBe(g.distinct_controls);
  expect(sample.nrows).toBe(g.sample_rows);
}
