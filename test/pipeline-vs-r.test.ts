/**
 * End-to-end cross-check of pipeline.yaml against R: the engine runs the real pipeline on the
 * SIMULATED demo panel (ingest → clean → merge-roster → estimate / event-study / match / placebo),
 * and every model is compared with test/golden/pipeline/pipeline.json, which
 * test/golden/pipeline/pipeline.R computes from the three input files alone (its own roster/register
 * merge by code, derived `large`, where/exclude filters, iterative singleton dropping, lm + factor
 * dummies, sandwich::vcovCL scaled to the project's CR1, MatchIt for the PSM) — no TypeScript output
 * is read by the R side. So this checks the wiring of the steps, not only the numerical core (which
 * has its own unit-level golden tests in test/golden/twfe, eventstudy, glm, match).
 *
 * Tolerances: coefficients 1e-8 relative, SEs 1e-6 relative (issue 3); N, clusters, singletons
 * and the CR1 parameter count K exactly; the PSM pairs (input row numbers) exactly.
 * Conventions shared with R (documented in pipeline.R): K leaves out fixed effects nested in the
 * cluster; the matched sample holds each used control once and psm_did is unweighted.
 *
 * Runs in a temp store (`storeDir`), steps in-process (`workers: false`), placebo shrunk to 5 draws;
 * nothing is written into the repository's artifacts/ or results/.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../engine/paths.js';
import { needsSharedData } from './shared-data.js';
import { checkEventStudy, checkModel, checkPanel, checkPsm, EngineRun, expectRel, type GoldenModel, type GoldenRun } from './pipeline-vs-r.helpers.js';

interface Golden extends GoldenRun {
  /** The same checks with non-default paths: see VARIANT below. */
  variant: GoldenRun & { overrides: Record<string, string | boolean>; parent_adoption: Record<string, number> };
}

const golden = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test/golden/pipeline/pipeline.json'), 'utf8')) as Golden;
const TARGETS = [...new Set(golden.models.map((m) => m.id.replace(/\[.*\]$/, ''))), 'event_study', 'placebo', 'psm', 'panel'];
/**
 * The variant run exercises paths the pipeline's settings leave unused: county-level zones and 雄安
 * attributed to their parent prefecture (merge-roster `county_zones: parent`), an event study that
 * drops treated rows outside the window instead of binning them, and matching without replacement
 * (largest score first). Same store, so ingest and clean are reused.
 */
const VARIANT_OVERRIDES = Object.entries(golden.variant.overrides).map(([k, value]) => {
  const dot = k.indexOf('.');
  return { id: k.slice(0, dot), param: k.slice(dot + 1), value, arg: `${k}=${value}` };
});
const VARIANT_TARGETS = ['panel', ...golden.variant.models.map((m) => m.id), 'event_study', 'psm'];

/** pipelines/public-2011-2019.yaml on the real panel in ../shared/data (test/golden/pipeline/public.R). */
const PUBLIC_DATA = 'china-city-so2-2011-2019/panel_data_so2_new.csv';
const publicData = needsSharedData(PUBLIC_DATA);
const havePublic = publicData.present;
const publicGolden = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test/golden/pipeline/public.json'), 'utf8')) as Omit<GoldenRun, 'psm' | 'panel'> & {
  panel: Omit<GoldenRun['panel'], 'large_cities'>;
};

let dir: string;
const main = new EngineRun();
const variant = new EngineRun();
const pub = new EngineRun();

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'repro-vs-r-'));
  await main.start(dir, [{ id: 'placebo', param: 'reps', value: 5, arg: 'placebo.reps=5' }], TARGETS);
  await variant.start(dir, VARIANT_OVERRIDES, VARIANT_TARGETS);
  if (havePublic)
    await pub.start(dir, [{ id: 'placebo', param: 'reps', value: 5, arg: 'placebo.reps=5' }], ['panel', 'baseline', 'event_study', 'placebo'], 'pipelines/public-2011-2019.yaml');
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('pipeline.yaml end to end vs an independent R implementation (test/golden/pipeline/pipeline.R)', () => {
  it('the merged panel: rows, cities, pilot cities and their adoption years, did, large', async () => {
    await checkPanel(main, golden.panel);
  });
  it.each(golden.models.map((m) => [m.id, m] as const))('%s: N, clusters, K, singletons, coefficients, SEs, R² as in R', async (id, g) => {
    await checkModel(main, id, g);
  });
  it('event study: N, clusters, every period (base −10 at 0), controls and the pre-trend F as in R', async () => {
    await checkEventStudy(main, golden.event_study);
  });
  it('PSM (with replacement): the same pairs (panel row numbers), scores and matched sample as R (MatchIt + brute force)', async () => {
    await checkPsm(main, golden.psm);
  });
  it('placebo: its observed regression uses the baseline sample (never-treated cities included)', async () => {
    const s = await main.json('placebo', 'summary');
    const base = golden.models.find((m) => m.id === 'baseline')!;
    expect(s.n).toBe(base.n);
    expectRel(s.observed.estimate, base.coefficients[0]!.estimate, 1e-8, 'placebo observed estimate');
    expectRel(s.observed.se, base.coefficients[0]!.se, 1e-6, 'placebo observed SE');
  });
});

describe(`variant (${VARIANT_OVERRIDES.map((o) => o.arg).join(', ')}) vs R`, () => {
  it('county_zones: parent — 义乌 → 金华 2018, 绥芬河 → 牡丹江 2019, 满洲里 → 呼伦贝尔 and 雄安 → 保定 2020', async () => {
    const adoptOf = await checkPanel(variant, golden.variant.panel);
    for (const [code, year] of Object.entries(golden.variant.parent_adoption)) expect(adoptOf.get(Number(code)), `adopt of ${code}`).toBe(year);
  });
  it.each(golden.variant.models.map((m) => [m.id, m] as const))('%s as in R', async (id, g) => {
    await checkModel(variant, id, g);
  });
  it('event study without binning: treated rows outside [−10, 7] dropped, periods as in R', async () => {
    await checkEventStudy(variant, golden.variant.event_study);
  });
  it('PSM without replacement (largest score first): the same pairs as R', async () => {
    await checkPsm(variant, golden.variant.psm);
  });
});

publicData.describe('pipelines/public-2011-2019.yaml on the real panel (../shared/data) vs R (test/golden/pipeline/public.R)', () => {
  it('the merged panel after ingest (BOM, renamed columns) and clean (2011–2019, so2 in 10,000 t, rows without so2 dropped)', async () => {
    await checkPanel(pub, publicGolden.panel);
  });
  it('baseline: N, clusters, K, singletons, coefficients, SEs as in R', async () => {
    await checkModel(pub, 'baseline', publicGolden.models[0]!);
  });
  it('event study (base −1, window [−6, 3], binned; 2020/2022 adopters observed only before adoption) as in R', async () => {
    await checkEventStudy(pub, publicGolden.event_study);
  });
  it('placebo (permute): the observed regression is the baseline sample', async () => {
    const s = await pub.json('placebo', 'summary');
    const base = publicGolden.models[0]!;
    expect(s.n).toBe(base.n);
    expectRel(s.observed.estimate, base.coefficients[0]!.estimate, 1e-8, 'placebo observed estimate');
  });
});
