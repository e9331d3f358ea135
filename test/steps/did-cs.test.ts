/**
 * did-cs (Callaway & Sant'Anna) against R did::att_gt + aggte, bootstrap determinism, bad input.
 *
 * // R: test/golden/did-cs/did-cs.R → test/golden/did-cs/did-cs.json (did 2.5.1 built from GitHub),
 * //    on ../shared/data/mpdta/mpdta.csv and the SIMULATED demo panel with the roster merged.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { fromRows, makeTable, takeRows, toRows, withColumn, type Table } from '../../engine/table.js';
import type { Artifact } from '../../engine/types.js';
import step from '../../steps/did-cs.js';
import ingest from '../../steps/ingest.js';
import mergeRoster from '../../steps/merge-roster.js';
import { makeCtx, runStep, tableOf } from './ctx.js';
import { mpdtaPanel } from './render-ctx.js';

const MPDTA = path.join(PROJECT_ROOT, '..', 'shared', 'data', 'mpdta', 'mpdta.csv');
const GOLDEN = path.join(PROJECT_ROOT, 'test', 'golden', 'did-cs', 'did-cs.json');
const haveMpdta = existsSync(MPDTA);
if (!haveMpdta) console.warn(`did-cs tests on mpdta skipped: ${MPDTA} is absent (shared data)`);

/** mpdta with `first.treat` as `first_treat` and a `state` column (FIPS state = countyreal %/% 1000). */
function mpdta(): Artifact & { type: 'table' } {
  const a = mpdtaPanel();
  const cr = a.table.columns.countyreal as Float64Array;
  return { type: 'table', table: withColumn(a.table, 'state', Float64Array.from(cr, (v) => Math.floor(v / 1000))) };
}

let demoCache: Artifact | null = null;
/** The demo panel with `adopt` from the pilot roster (ingest + merge-roster as pipeline.yaml) and adopt0 = adopt or 0. */
async function demo(): Promise<Artifact> {
  if (demoCache) return demoCache;
  const ing = await runStep(ingest, { path: 'data/demo/city-panel.csv' });
  const mr = await runStep(mergeRoster, { roster: 'data/pilot-zones.csv', register: 'data/cities.csv', county_zones: 'ignore' }, { panel: ing.table });
  const t = tableOf(mr.panel);
  const a = t.columns.adopt as Float64Array;
  demoCache = { type: 'table', table: withColumn(t, 'adopt0', Float64Array.from(a, (v) => (Number.isNaN(v) ? 0 : v))) };
  return demoCache;
}

interface Part { key: number; att: number; se: number | null }
interface Agg { att: number; se: number | null; parts?: Part[]; vcov?: number[][] }
interface Case {
  id: string;
  data: 'mpdta' | 'demo';
  params: Record<string, unknown>;
  n_units: number;
  attgt: { group: number; time: number; att: number; se: number | null }[];
  pretest: { W: number | null; df: number; p: number | null };
  simple: Agg;
  group: Agg;
  calendar: Agg;
  dynamic: Agg;
}

const golden = existsSync(GOLDEN) ? (JSON.parse(readFileSync(GOLDEN, 'utf8')) as { source: string; bench_r_seconds: number; cases: Case[] }) : null;

/** |a − b| ≤ tol·|b| + abs (relative agreement; abs guards exact zeros). */
function close(a: number | null | undefined, b: number | null | undefined, tol: number, what: string, abs = 1e-12): void {
  if (b === null || b === undefined || Number.isNaN(b)) {
    expect(a === null || a === undefined || Number.isNaN(a), `${what}: expected missing, got ${a}`).toBe(true);
    return;
  }
  expect(typeof a === 'number' && Number.isFinite(a), `${what}: expected ${b}, got ${a}`).toBe(true);
  expect(Math.abs(a! - b), `${what}: ${a} vs R ${b}`).toBeLessThanOrEqual(tol * Math.abs(b) + abs);
}

const asList = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? (v as string[]) : [v as string]);

function stepParams(c: Case): Record<string, unknown> {
  const p = { ...c.params };
  if (p.adopt === 'first.treat') p.adopt = 'first_treat';
  if (p.exclude && 'first.treat' in (p.exclude as object)) p.exclude = { first_treat: (p.exclude as Record<string, unknown>)['first.treat'] };
  const out: Record<string, unknown> = { ...p, covariates: asList(p.covariates), bootstrap: { reps: 0 } };
  return out;
}

const POINT = 1e-6;
const SE = 1e-4;

describe.skipIf(!golden || !haveMpdta)('did-cs vs R did::att_gt + aggte (analytic SEs)', () => {
  for (const c of golden?.cases ?? []) {
    it(`${c.id}: ATT(g,t), pre-test, simple/group/calendar/dynamic`, async () => {
      const panel = c.data === 'mpdta' ? mpdta() : await demo();
      const out = await runStep(step, stepParams(c), { panel });
      const rows = toRows(tableOf(out.attgt));
      expect(rows.length).toBe(c.attgt.length);
      c.attgt.forEach((r, k) => {
        expect([rows[k]!.group, rows[k]!.time]).toEqual([r.group, r.time]);
        close(rows[k]!.att as number, r.att, POINT, `${c.id} att(${r.group},${r.time})`);
        close(rows[k]!.se as number, r.se, SE, `${c.id} se(${r.group},${r.time})`);
      });
      const pt = (out.pretest as { value: { W: number | null; df: number; p: number | null } }).value;
      expect(pt.df).toBe(c.pretest.df);
      close(pt.W, c.pretest.W, SE, `${c.id} pretest W`);
      close(pt.p, c.pretest.p, SE, `${c.id} pretest p`, 1e-10);
      for (const type of ['simple', 'group', 'calendar'] as const) {
        const m = (out[type] as { value: { coefficients: { term: string; estimate: number; se: number | null }[] } }).value;
        const g = c[type];
        expect(m.coefficients[0]!.term).toBe('ATT');
        close(m.coefficients[0]!.estimate, g.att, POINT, `${c.id} ${type} ATT`);
        close(m.coefficients[0]!.se, g.se, SE, `${c.id} ${type} ATT se`);
        const parts = g.parts ?? [];
        expect(m.coefficients.length - 1).toBe(parts.length);
        parts.forEach((pp, j) => {
          const co = m.coefficients[j + 1]!;
          expect(co.term).toBe(`${type === 'group' ? 'g' : 't'}${pp.key}`);
          close(co.estimate, pp.att, POINT, `${c.id} ${type} ${co.term}`);
          close(co.se, pp.se, SE, `${c.id} ${type} ${co.term} se`);
        });
      }
      const dyn = (out.dynamic as { value: { periods: { period: number; estimate: number; se: number | null; base: boolean }[]; overall: { estimate: number; se: number }; vcov: { periods: number[]; matrix: number[][] } } }).value;
      const dparts = c.dynamic.parts!;
      expect(dyn.periods.map((p) => p.period)).toEqual(dparts.map((p) => p.key));
      close(dyn.overall.estimate, c.dynamic.att, POINT, `${c.id} dynamic ATT`);
      close(dyn.overall.se, c.dynamic.se, SE, `${c.id} dynamic ATT se`);
      dyn.periods.forEach((p, j) => {
        if (p.base) {
          expect(dparts[j]!.att).toBe(0);
          expect(dparts[j]!.se).toBeNull();
          return;
        }
        close(p.estimate, dparts[j]!.att, POINT, `${c.id} dynamic e=${p.period}`);
        close(p.se, dparts[j]!.se, SE, `${c.id} dynamic e=${p.period} se`);
      });
      // the event-study contract: vcov over the non-base periods, R's matrix without the base row/column
      const keep = dparts.flatMap((p, j) => (dyn.periods[j]!.base ? [] : [j]));
      expect(dyn.vcov.periods).toEqual(keep.map((j) => dparts[j]!.key));
      keep.forEach((a, i) => keep.forEach((b, j) => close(dyn.vcov.matrix[i]![j]!, c.dynamic.vcov![a]![b]!, SE, `${c.id} vcov[${i},${j}]`, 1e-14)));
    });
  }
});

describe.skipIf(!haveMpdta)('did-cs multiplier bootstrap', () => {
  const params = { y: 'lemp', unit: 'countyreal', time: 'year', adopt: 'first_treat', covariates: ['lpop'], est: 'dr', bootstrap: { reps: 999 } };
  it('is bit-identical for the same seed and node, whatever the thread count; differs for another seed', async () => {
    const a = await runStep(step, params, { panel: mpdta() }, makeCtx({ seed: 7, nodeId: 'cs' }));
    const b = await runStep(step, params, { panel: mpdta() }, makeCtx({ seed: 7, nodeId: 'cs', threads: 2 }));
    const c = await runStep(step, params, { panel: mpdta() }, makeCtx({ seed: 8, nodeId: 'cs' }));
    const se = (o: Record<string, Artifact>) => Array.from(tableOf(o.attgt).columns.se as Float64Array);
    expect(se(a)).toEqual(se(b));
    for (const k of ['dynamic', 'simple', 'group', 'calendar']) expect(JSON.stringify((a[k] as { value: unknown }).value)).toBe(JSON.stringify((b[k] as { value: unknown }).value));
    expect(Array.from(tableOf(a.attgt).columns.band_low as Float64Array)).toEqual(Array.from(tableOf(b.attgt).columns.band_low as Float64Array));
    expect(se(a)).not.toEqual(se(c));
  });
  it('gives SEs close to the analytic ones and a sup-t band wider than the pointwise interval', async () => {
    for (const weights of ['mammen', 'rademacher'] as const) {
      const out = await runStep(step, { ...params, bootstrap: { reps: 999, weights } }, { panel: mpdta() });
      const t = tableOf(out.attgt);
      const se = t.columns.se as Float64Array, sa = t.columns.se_analytic as Float64Array;
      // IQR-based bootstrap SEs: Monte Carlo error ≈ 5% per cell with 999 draws; on average within 6%
      let dev = 0;
      for (let k = 0; k < t.nrows; k++) {
        expect(Math.abs(se[k]! / sa[k]! - 1), `cell ${k} (${weights})`).toBeLessThan(0.2);
        dev += Math.abs(Math.log(se[k]! / sa[k]!)) / t.nrows;
      }
      expect(dev, weights).toBeLessThan(0.06);
      const bl = t.columns.band_low as Float64Array, cl = t.columns.ci_low as Float64Array;
      for (let k = 0; k < t.nrows; k++) expect(bl[k]!).toBeLessThan(cl[k]!);
      const dyn = (out.dynamic as { value: { crit_uniform: number; periods: { se: number; se_analytic: number }[] } }).value;
      expect(dyn.crit_uniform).toBeGreaterThan(1.96);
      expect(dyn.crit_uniform).toBeLessThan(4);
      for (const p of dyn.periods) expect(Math.abs(p.se / p.se_analytic - 1)).toBeLessThan(0.2);
    }
  });
});

describe.skipIf(!haveMpdta)('did-cs bad input', () => {
  const base = { y: 'lemp', unit: 'countyreal', time: 'year', adopt: 'first_treat', bootstrap: { reps: 0 } };
  const edit = (f: (r: Record<string, unknown>) => void): Artifact => {
    const rows = toRows(mpdta().table);
    rows.forEach(f);
    return { type: 'table', table: fromRows(rows) };
  };
  const run = (panel: Artifact, extra: Record<string, unknown> = {}) => runStep(step, { ...base, ...extra }, { panel });

  it('no never-treated unit with control: never', async () => {
    const t = mpdta().table;
    const ft = t.columns.first_treat as Float64Array;
    const idx: number[] = [];
    for (let i = 0; i < t.nrows; i++) if (ft[i]! > 0) idx.push(i);
    const panel: Artifact = { type: 'table', table: takeRows(t, idx) };
    await expect(run(panel)).rejects.toThrow(/no never-treated unit.*control: notyet/);
    // with not-yet-treated controls it runs (the last cohort serves as comparison, as did)
    const out = await run(panel, { control: 'notyet' });
    expect(new Set(Array.from(tableOf(out.attgt).columns.group as Float64Array))).toEqual(new Set([2004, 2006]));
  });
  it('a cohort treated in the first period', async () => {
    const panel = edit((r) => void (r.countyreal === 8001 && (r.first_treat = 2003)));
    await expect(run(panel)).rejects.toThrow(/cohort 2003 are treated in the first period 2003.*no pre-treatment period/);
    await expect(run(mpdta(), { anticipation: 1 })).rejects.toThrow(/cohort 2004 .*first period 2003 \(with anticipation 1\)/);
  });
  it('treatment that switches off', async () => {
    const panel = edit((r) => void (r.countyreal === 8001 && (r.first_treat = (r.year as number) >= 2007 ? 0 : 2004)));
    await expect(run(panel)).rejects.toThrow(/treatment switches off for unit 8001/);
  });
  it('adopt varying within a unit', async () => {
    const panel = edit((r) => void (r.countyreal === 8001 && r.year === 2005 && (r.first_treat = 2006)));
    await expect(run(panel)).rejects.toThrow(/"first_treat" varies within unit 8001/);
    const filled = edit((r) => void (r.countyreal === 8001 && (r.first_treat = (r.year as number) >= 2007 ? 2007 : null)));
    await expect(run(filled)).rejects.toThrow(/varies within unit 8001 .*give every row of the unit its first treated period/);
  });
  it('adopt not an observed period', async () => {
    const panel = edit((r) => void (r.countyreal === 8001 && (r.first_treat = 2005.5)));
    await expect(run(panel)).rejects.toThrow(/2005\.5 for unit 8001 .*not an observed year/);
  });
  it('too few units in a cohort for the method', async () => {
    let k = 0;
    const seen = new Set<unknown>();
    const t = mpdta().table;
    const rows = toRows(t).filter((r) => {
      if (r.first_treat !== 2004) return true;
      if (!seen.has(r.countyreal)) {
        seen.add(r.countyreal);
        k++;
      }
      return k <= 2 || [...seen].slice(0, 2).includes(r.countyreal);
    });
    const panel: Artifact = { type: 'table', table: fromRows(rows) };
    await expect(run(panel, { covariates: ['lpop'], est: 'dr' })).rejects.toThrow(/cohort 2004 has 2 unit\(s\).*too few for est: dr with 1 covariate.*at least 3/);
    await expect(run(panel, { covariates: ['lpop'], est: 'ipw' })).rejects.toThrow(/cohort 2004 has 2 unit/);
    // the outcome regression only needs comparison units: reg runs
    const ok = await run(panel, { covariates: ['lpop'], est: 'reg' });
    expect(tableOf(ok.attgt).nrows).toBe(12);
  });
  it('a cluster column that varies within unit', async () => {
    const panel = edit((r) => void (r.countyreal === 8001 && r.year === 2005 && (r.state = 99)));
    await expect(run(panel, { cluster: 'state' })).rejects.toThrow(/"state" varies within unit 8001/);
  });
});

describe('did-cs on a small hand-made panel', () => {
  // 2×2 mean differences by hand: 6 units × 3 periods, cohort 3 (units 1–2), never (3–6)
  const rows: Record<string, unknown>[] = [];
  const yv: Record<number, number[]> = { 1: [1, 2, 5], 2: [2, 2, 6], 3: [0, 1, 1], 4: [1, 1, 3], 5: [3, 4, 4], 6: [2, 2, 2] };
  for (let u = 1; u <= 6; u++) for (let t = 1; t <= 3; t++) rows.push({ id: u, t, y: yv[u]![t - 1], g: u <= 2 ? 3 : 0 });
  const table: Table = fromRows(rows);
  it('ATT(3,3) = mean Δ treated − mean Δ never, and the pre-period cell', async () => {
    const out = await runStep(step, { y: 'y', unit: 'id', time: 't', adopt: 'g', bootstrap: { reps: 0 } }, { panel: { type: 'table', table } });
    const r = toRows(tableOf(out.attgt));
    // (3,2): Δ(t1→t2): treated (1 + 0)/2 = 0.5, never (1 + 0 + 1 + 0)/4 = 0.5 → 0
    // (3,3): Δ(t2→t3): treated (3 + 4)/2 = 3.5, never (0 + 2 + 0 + 0)/4 = 0.5 → 3
    expect(r.map((x) => [x.group, x.time])).toEqual([[3, 2], [3, 3]]);
    expect(r[0]!.att as number).toBeCloseTo(0, 12);
    expect(r[1]!.att as number).toBeCloseTo(3, 12);
    void makeTable;
  });
});

describe.skipIf(!haveMpdta)('did-cs without covariates', () => {
  it('reg, ipw and dr all give the 2×2 mean differences (same ATT(g,t) and SEs)', async () => {
    const base = { y: 'lemp', unit: 'countyreal', time: 'year', adopt: 'first_treat', bootstrap: { reps: 0 } };
    const res = await Promise.all((['reg', 'ipw', 'dr'] as const).map((est) => runStep(step, { ...base, est }, { panel: mpdta() })));
    const att = res.map((o) => Array.from(tableOf(o.attgt).columns.att as Float64Array));
    const se = res.map((o) => Array.from(tableOf(o.attgt).columns.se as Float64Array));
    for (const k of [1, 2]) {
      att[k]!.forEach((v, j) => expect(Math.abs(v - att[0]![j]!)).toBeLessThan(1e-12));
      se[k]!.forEach((v, j) => expect(Math.abs(v - se[0]![j]!)).toBeLessThan(1e-12));
    }
  });
});

describe.skipIf(!haveMpdta)('did-cs adoption after the sample', () => {
  it('counts a cohort adopting after the last period as never treated (as did)', async () => {
    const base = { y: 'lemp', unit: 'countyreal', time: 'year', adopt: 'first_treat', bootstrap: { reps: 0 } };
    const rows = toRows(mpdta().table);
    const late = fromRows(rows.map((r) => ({ ...r, first_treat: r.first_treat === 2007 ? 2010 : r.first_treat })));
    const zero = fromRows(rows.map((r) => ({ ...r, first_treat: r.first_treat === 2007 ? 0 : r.first_treat })));
    const a = await runStep(step, base, { panel: { type: 'table', table: late } });
    const b = await runStep(step, base, { panel: { type: 'table', table: zero } });
    expect(Array.from(tableOf(a.attgt).columns.att as Float64Array)).toEqual(Array.from(tableOf(b.attgt).columns.att as Float64Array));
    expect(new Set(Array.from(tableOf(a.attgt).columns.group as Float64Array))).toEqual(new Set([2004, 2006]));
  });
});
