/**
 * pipelines/real-2006-2018.yaml end to end against an independent R rebuild
 * (test/golden/pipeline/real.R: base R + sandwich reads the same CSVs in ../shared/data, joins them
 * by code and year, coalesces, derives the paper's variables, applies the 桂林 fix, merges the
 * roster and refits every model). Checked here: the join's match counts and coalesce counts, the
 * applied fix, the merged panel, Table 2's statistics, every model (coefficients 1e-8 relative, SEs
 * 1e-6; N, clusters, K and singletons exactly), the event study and the placebo's observed estimate.
 *
 * Skipped with a message when ../shared/data is absent (the data are not redistributable).
 * Temp store, steps in-process, placebo shrunk to 5 draws; nothing is written into the repository.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../engine/paths.js';
import { toRows } from '../engine/table.js';
import { needsSharedData } from './shared-data.js';
import { checkEventStudy, checkModel, checkPanel, EngineRun, expectRel, type GoldenModel, type GoldenRun } from './pipeline-vs-r.helpers.js';

const FILES = [
  'china-city-pollution-2006-2018/city_pollution_pop_2006_2018.csv',
  'china-city-loans-gdp-2000-2023/city_loans_deposits_gdp_2003_2023.csv',
  'china-city-loans-gdp-2000-2023/city_gdp_industry_structure_2000_2023.csv',
  'china-city-loans-gdp-2000-2023/city_resident_pop_area_1998_2024.csv',
  'china-city-loans-gdp-2000-2023/city_co2_ceads_1997_2019.csv',
  'china-city-so2-2011-2019/panel_data_so2_new.csv',
];
const sources = needsSharedData(...FILES);

interface CoalesceCounts { first: number; second: number; missing: number; disagreements: number; over_1pct: number }
interface RealGolden extends Omit<GoldenRun, 'psm' | 'panel'> {
  join: {
    rows: number;
    ceads_rows_without_code: number;
    matches: { matched_left: number; only_left: number; only_right: number; rows_out: number }[];
    coalesce: Record<string, CoalesceCounts>;
  };
  panel: GoldenRun['panel'] & { guilin_2016_so2: number };
  table2: { term: string; n: number; mean: number; sd: number; min: number; median: number; max: number }[];
  models: GoldenModel[];
}
const golden = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test/golden/pipeline/real.json'), 'utf8')) as RealGolden;

let dir: string;
const real = new EngineRun();

sources.describe('pipelines/real-2006-2018.yaml on the real sources vs R (test/golden/pipeline/real.R)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'repro-real-vs-r-'));
    const targets = ['joined', 'qin', 'ceads', 'panel', 'table2', ...golden.models.map((m) => m.id), 'event_study', 'placebo'];
    await real.start(dir, [{ id: 'placebo', param: 'reps', value: 5, arg: 'placebo.reps=5' }], targets, 'pipelines/real-2006-2018.yaml');
  }, 120_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('join: the loans frame left-joined 1:1 with the five other tables, match counts as in R', async () => {
    const r = await real.json('joined', 'report');
    expect(r.rows_out).toBe(golden.join.rows);
    expect(r.matches.map((m: Record<string, number>) => [m.matched_left, m.only_left, m.only_right, m.rows_out])).toEqual(
      golden.join.matches.map((m) => [m.matched_left, m.only_left, m.only_right, m.rows_out]),
    );
    const ceads = await real.json('ceads', 'report');
    expect(ceads.rows_in - ceads.rows_out).toBe(golden.join.ceads_rows_without_code);
  });

  it('coalesce: cells from each source, missing, disagreements (after the fix: none over 1% for SO2) as in R', async () => {
    const r = await real.json('joined', 'report');
    for (const [col, g] of Object.entries(golden.join.coalesce)) {
      const c = r.coalesce.find((x: { column: string }) => x.column === col);
      const [a, b] = c.sources as string[];
      expect([c.filled_from[a!], c.filled_from[b!], c.missing, c.disagreements, c.disagreements_over_1pct], col).toEqual([g.first, g.second, g.missing, g.disagreements, g.over_1pct]);
    }
    expect(golden.join.coalesce.so2_t!.over_1pct).toBe(0);
  });

  it('the 桂林 2016 fix is applied once, recorded with its reason, and the panel holds 1.6146 (10,000 t)', async () => {
    const fixes = await real.json('qin', 'fixes');
    expect(fixes).toHaveLength(1);
    expect(fixes[0]).toMatchObject({ node: 'qin', key: { city_code: 450300, year: 2016 }, column: 'so2_t_qin', from: 6146, to: 16146 });
    expect(fixes[0].why).toMatch(/digit slip/);
    const rows = toRows(await real.table('panel', 'panel')).filter((r) => r.city_code === 450300 && r.year === 2016);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.so2).toBeCloseTo(golden.panel.guilin_2016_so2, 12);
  });

  it('the merged panel: rows, cities (287 − 三沙 + 4 municipalities), pilots and adoption years, did, large', async () => {
    await checkPanel(real, golden.panel);
  });

  it('Table 2: N, mean, SD, min, median, max of each variable as in R (the paper\'s units)', async () => {
    const rows = toRows(await real.table('table2', 'table'));
    expect(rows.map((r) => r.variable)).toEqual(golden.table2.map((g) => g.term));
    for (const g of golden.table2) {
      const r = rows.find((x) => x.variable === g.term)!;
      expect(r.n, `${g.term} n`).toBe(g.n);
      for (const s of ['mean', 'sd', 'min', 'median', 'max'] as const) expectRel(r[s] as number, g[s], 1e-10, `${g.term} ${s}`);
    }
  });

  it.each(golden.models.map((m) => [m.id, m] as const))('%s: N, clusters, K, singletons, coefficients, SEs, R² as in R', async (id, g) => {
    await checkModel(real, id, g);
  });

  it('event study (base −10, window [−10, 3], binned) as in R', async () => {
    await checkEventStudy(real, golden.event_study);
  });

  it('placebo: its observed regression is the baseline', async () => {
    const s = await real.json('placebo', 'summary');
    const base = golden.models.find((m) => m.id === 'baseline')!;
    expect(s.n).toBe(base.n);
    expectRel(s.observed.estimate, base.coefficients[0]!.estimate, 1e-8, 'placebo observed estimate');
    expectRel(s.observed.se, base.coefficients[0]!.se, 1e-6, 'placebo observed SE');
  });
});

describe('pipelines/real-2006-2018.yaml: every output says what its data are', () => {
  const LABEL = 'real data, 2006–2018, 4 of 5 controls (no fiscal spending)';
  it('each table and figure title, each paper comparison and the report name the data; no model has fis', async () => {
    const { parse } = await import('yaml');
    const spec = parse(readFileSync(path.join(PROJECT_ROOT, 'pipelines/real-2006-2018.yaml'), 'utf8')) as { steps: Record<string, { kind?: string; with?: Record<string, any> }> };
    const outputs = Object.entries(spec.steps).filter(([, s]) => s.kind === 'describe' || s.kind === 'tabulate' || s.kind === 'figure');
    // Beyond the paper: table9 and figures 3-6 (no printed counterpart, so no paper comparison)
    const beyond = ['table9', 'figure3', 'figure4', 'figure5', 'figure6'];
    expect(outputs.map(([id]) => id)).toEqual(['table2', 'table3', 'figure1', 'figure2', 'table4', 'table6', 'table7', 'table8', ...beyond]);
    for (const [id, s] of outputs) {
      expect(s.with!.title, `${id} title`).toContain(LABEL);
      if (beyond.includes(id)) expect(s.with!.paper, `${id} paper`).toBeUndefined();
      else if (s.kind !== 'figure') expect(s.with!.paper?.data, `${id} paper.data`).toBe(LABEL);
    }
    const report = spec.steps.report!.with!;
    expect(report.subtitle).toBe(LABEL);
    expect(report.simulated).toBe(false);
    expect(JSON.stringify(spec)).not.toMatch(/\bfis\b/);
  });
});
