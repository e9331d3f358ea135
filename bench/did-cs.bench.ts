/**
 * Benchmark of the `did-cs` step (Callaway & Sant'Anna): covariates pgdp, fin, fis with est dr
 * (cohort 2015, a single city, excluded), control never, base varying, 999 multiplier-bootstrap draws, on the 287 × 18 demo panel
 * (data/demo/city-panel.csv with the pilot roster merged by merge-roster, as pipeline.yaml does).
 * Target ≤ 1 s. R did::att_gt + the four aggte calls (bstrap = TRUE, biters = 999) on the same data
 * take the time printed as "recorded" (measured once by hand with test/golden/did-cs/did-cs.R's
 * setup; R is not run here).
 *
 * Run: `npm run bench` (all benches) or `node dist/bench/index.js did-cs`.
 */
import type { Artifact, StepContext } from '../engine/types.js';
import { benchCtx } from './ctx.js';
import { PROJECT_ROOT } from '../engine/paths.js';
import ingest from '../steps/ingest.js';
import mergeRoster from '../steps/merge-roster.js';
import didCs from '../steps/did-cs.js';

/** R 4.2.2, did 2.5.1 (GitHub snapshot), same configuration, median of 3 runs on this machine (2 cores, busy: load ≈ 15) — test/golden/did-cs/did-cs.R, bench_r_seconds. */
export const R_RECORDED_SECONDS = 1.25;

const ctxOf = (nodeId: string): StepContext => benchCtx({ nodeId, baseDir: PROJECT_ROOT });

/** The demo panel with `adopt` from the roster (ingest + merge-roster, county zones ignored). */
export async function demoPanel(): Promise<Artifact> {
  const ing = await ingest.run(ctxOf('ingest'), {}, ingest.params.parse({ path: 'data/demo/city-panel.csv' }));
  const mr = await mergeRoster.run(ctxOf('panel'), { panel: ing.table }, mergeRoster.params.parse({ roster: 'data/pilot-zones.csv', register: 'data/cities.csv', county_zones: 'ignore' }));
  return mr.panel!;
}

export default async function main(): Promise<void> {
  const panel = await demoPanel();
  const params = didCs.params.parse({
    y: 'so2', unit: 'city_code', time: 'year', adopt: 'adopt',
    covariates: ['pgdp', 'fin', 'fis'], est: 'dr', control: 'never', bootstrap: { reps: 999 },
    exclude: { adopt: [2015] }, // the 2015 cohort is one city: too few units for a propensity score with covariates
  });
  await didCs.run(ctxOf('warmup'), { panel }, params); // JIT warm-up
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    await didCs.run(ctxOf('bench_did_cs'), { panel }, params);
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  const s = times[1]!;
  const rTxt = Number.isFinite(R_RECORDED_SECONDS) ? `R did::att_gt + 4×aggte ${R_RECORDED_SECONDS.toFixed(2)} s (recorded)` : 'R: not recorded';
  console.log(`did-cs dr + 3 covariates + 999 bootstrap, 287×18 demo panel: ${s.toFixed(3)} s (median of 3; target ≤ 1 s) ${s <= 1 ? 'OK' : 'SLOW'} | ${rTxt}`);
}
