/**
 * The demo panel: regenerated in memory it equals the committed file byte for byte; it is calibrated
 * to Table 2; and the pipeline's steps (ingest → merge-roster → clean → estimate) recover the paper's
 * printed estimates from it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeCol, simulate, TABLE2, TARGETS, YEARS, type SimResult } from '../../data/simulate.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import type { Table } from '../../engine/table.js';
import ingest from '../../steps/ingest.js';
import merge from '../../steps/merge-roster.js';
import clean from '../../steps/clean.js';
import estimate from '../../steps/estimate.js';
import { jsonOf, makeCtx, runStep, tableOf } from '../steps/ctx.js';
import { projectCsv } from './shared.js';

// event-time dummies: ≤ −7 binned, −6 … −2, (−1 is the base), 0 … 5, ≥ 6 binned; never-treated rows are 0
const EV: [string, string][] = [
  ['ev_m7', 'rel_year <= -7'],
  ...[-6, -5, -4, -3, -2].map((k): [string, string] => [`ev_m${-k}`, `rel_year == ${k}`]),
  ...[0, 1, 2, 3, 4, 5].map((k): [string, string] => [`ev_p${k}`, `rel_year == ${k}`]),
  ['ev_p6', 'rel_year >= 6'],
];
const EVENT = Object.fromEntries(EV.map(([n, cond]) => [n, `ifelse(is_missing(rel_year), 0, ${cond})`]));

let sim: SimResult;
let panel: Table;
beforeAll(async () => {
  sim = simulate();
  const fake = makeCtx();
  const raw = tableOf((await runStep(ingest, { path: 'data/demo/city-panel.csv', key: ['city_code', 'year'] }, {}, fake)).table);
  expect(fake.warnings.join('\n')).toMatch(/city-panel\.csv says its data are SIMULATED \(column source = "simulated" on every row\)/);
  const merged = tableOf((await runStep(merge, {}, { panel: { type: 'table', table: raw } })).panel);
  panel = tableOf(
    (
      await runStep(clean, {
        derive: {
          large: 'urban_pop >= 100',
          ...EVENT,
        },
      }, { table: { type: 'table', table: merged } })
    ).table,
  );
});

const CONTROLS = ['pgdp', 'indus', 'urb', 'fin', 'fis'];
async function did(y: string, extra: Record<string, unknown> = {}, treat: string | string[] = 'did') {
  const m = jsonOf((await runStep(estimate, { y, treat, controls: CONTROLS, fe: ['city', 'year'], cluster: 'city', ...extra }, { panel: { type: 'table', table: panel } })).model);
  return m.coefficients[0] as { term: string; estimate: number; se: number };
}

describe('data/demo/city-panel.csv', () => {
  it('is exactly what `npm run simulate` generates', () => {
    expect(sim.csv).toBe(readFileSync(path.join(PROJECT_ROOT, 'data/demo/city-panel.csv'), 'utf8'));
    // a plain CSV (header on line 1, no comment line) that pandas/R read with their defaults; every row says simulated
    const lines = sim.csv.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^city_code,city,city_en,province,year,so2,.*,source$/);
    expect(lines.slice(1).every((l) => l.endsWith(',simulated'))).toBe(true);
  });

  it('has 287 cities × 2005–2022, every prefecture-level pilot unit of Table 1, and no abolished unit', () => {
    expect(sim.cities).toHaveLength(287);
    expect(new Set(sim.cities.map((c) => c.name_zh)).size).toBe(287);
    const codes = new Set(sim.cities.map((c) => c.code));
    const pilots = projectCsv('data/pilot-zones.csv').filter((r) => r.level === 'prefecture' || r.level === 'municipality');
    expect(pilots).toHaveLength(126);
    for (const p of pilots) expect(codes.has(p.code!), p.name_en).toBe(true);
    for (const gone of ['341400', '371200']) expect(codes.has(gone)).toBe(false);
    expect(sim.columns.year).toHaveLength(287 * YEARS.length);
  });

  it('is calibrated to Table 2: means and SDs within 10%, N close to the printed N', () => {
    for (const v of ['so2', 'pgdp', 'indus', 'urb', 'fin', 'fis']) {
      const d = describeCol(sim.columns[v]!);
      const t = TABLE2[v]!;
      expect(Math.abs(d.mean / t.mean - 1), `${v} mean ${d.mean}`).toBeLessThan(0.1);
      expect(Math.abs(d.sd / t.sd - 1), `${v} sd ${d.sd}`).toBeLessThan(0.1);
      expect(d.min).toBeGreaterThanOrEqual(0);
      expect(Math.abs(d.n - Math.min(t.n, 5166)), `${v} N ${d.n}`).toBeLessThanOrEqual(20);
    }
    const didMean = tableOf({ type: 'table', table: panel }).columns.did as Float64Array;
    expect(Math.abs(didMean.reduce((a, b) => a + b, 0) / didMean.length - TABLE2.did!.mean)).toBeLessThan(0.01);
  });
});

describe('the data-generating process', () => {
  it('fits the effect model: every targeted split\'s TWFE estimand within 0.5 printed SE of the printed DID', () => {
    const targeted = ['baseline', 'resource', 'non_resource', 'east', 'central', 'west', 'northeast', 'large', 'small'];
    for (const name of targeted) {
      const f = sim.model.fit[name]!;
      expect(Math.abs(f.estimand - f.target) / f.se, `${name}: estimand ${f.estimand} vs ${f.target} (${f.se})`).toBeLessThan(0.5);
    }
  });

  it('controls do not move with adoption (their within-city variation is unrelated to treatment)', async () => {
    for (const x of CONTROLS) {
      const m = jsonOf((await runStep(estimate, { y: x, treat: 'did', fe: ['city', 'year'], cluster: 'city' }, { panel: { type: 'table', table: panel } })).model);
      const d = m.coefficients[0] as { estimate: number; se: number };
      expect(Math.abs(d.estimate / d.se), `${x} on did: ${d.estimate} (${d.se})`).toBeLessThan(3);
    }
  });
});

describe('recovery: TWFE (city + year FE, clustered by city) on the demo panel', () => {
  it('baseline (Table 3 col. 2) within the printed SE', async () => {
    const b = await did('so2');
    expect(b.term).toBe('did');
    expect(Math.abs(b.estimate - TARGETS.baseline.b)).toBeLessThan(TARGETS.baseline.se);
  });

  it('event study: no pre-trend, effects that build up after adoption', async () => {
    const m = jsonOf((await runStep(estimate, { y: 'so2', treat: EV.map(([n]) => n), controls: CONTROLS, fe: ['city', 'year'], cluster: 'city' }, { panel: { type: 'table', table: panel } })).model);
    const co = Object.fromEntries(m.coefficients.map((c: { term: string; estimate: number; se: number }) => [c.term, c]));
    const pre = ['ev_m6', 'ev_m5', 'ev_m4', 'ev_m3', 'ev_m2'].map((n) => co[n]);
    for (const c of pre) expect(Math.abs(c.estimate / c.se), `${c.term} ${c.estimate} (${c.se})`).toBeLessThan(2.58);
    expect(Math.abs(pre.reduce((s, c) => s + c.estimate, 0) / pre.length)).toBeLessThan(0.5);
    expect(co.ev_p4.estimate).toBeLessThan(co.ev_p0.estimate); // build-up
    expect(co.ev_p0.estimate).toBeLessThan(0);
  });

  it('alternative outcomes and mechanism (Tables 4 cols. 2–3, 5) within the printed SE', async () => {
    for (const [y, t] of [['co2', TARGETS.co2], ['green_patents', TARGETS.green_patents], ['so2_int', TARGETS.so2_int]] as const) {
      const b = await did(y);
      expect(Math.abs(b.estimate - t.b), `${y}: ${b.estimate}`).toBeLessThan(t.se);
    }
  });

  it('heterogeneity keeps the paper\'s pattern (Tables 6–8)', async () => {
    const r = await did('so2', { where: { resource_based: 1 } });
    const nr = await did('so2', { where: { resource_based: 0 } });
    expect(nr.estimate).toBeLessThan(r.estimate); // stronger in non-resource-based cities
    const reg = Object.fromEntries(await Promise.all(['east', 'central', 'west', 'northeast'].map(async (g) => [g, (await did('so2', { where: { region: g } })).estimate] as const)));
    expect(Math.min(...Object.values(reg))).toBe(reg.west); // strongest in the west
    const large = await did('so2', { where: { large: 1 } });
    const small = await did('so2', { where: { large: 0 } });
    expect(large.estimate).toBeLessThan(small.estimate - 1); // more pronounced in large cities
    for (const [name, est] of [['east', reg.east], ['central', reg.central], ['northeast', reg.northeast], ['resource', r.estimate]] as const) {
      const t = TARGETS[name as keyof typeof TARGETS];
      expect(Math.abs(est! - t.b), `${name}: ${est}`).toBeLessThan(2 * t.se);
    }
  });
});
