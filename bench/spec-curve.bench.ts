/**
 * Benchmark of the `spec-curve` step (issue 14): 1,024 TWFE specifications on the 287 × 18 demo
 * panel (data/demo/city-panel.csv with the roster's adoption years, as the pipeline's `panel` node):
 * 2 outcomes (so2, so2_int) × all 32 subsets of the 5 controls × 2 fixed-effect sets (city + year,
 * province + year) × 2 cluster variables (city, province) × 4 samples (all, without municipalities,
 * to 2019, both). Target ≤ 2 s.
 *
 * Printed beside it, measured in the same run: the time of one `estimate` fit of the base
 * specification (the anchor: the curve costs about this many single fits), and, when REPRO_R_LIBS
 * names an R library with fixest, fixest's feols in a loop over the same 1,024 specifications
 * (nthreads = 1). 1. is the step in this thread (ctx.map runs its chunks in order): the first run
 * (cold JIT, what one `repro run` pays) and the warm median; 2. the node times in fresh
 * `repro run --json --jobs 1|2` processes (--jobs 1: chunks in the step's thread; 2: on worker threads), with an
 * `estimate` node of the base specification timed the same way, when the CLI is built.
 * Timings on a shared 2-core machine vary with its load: the load average is printed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Artifact, StepDef } from '../engine/types.js';
import { PROJECT_ROOT } from '../engine/paths.js';
import type { Table } from '../engine/table.js';
import { benchCtx } from './ctx.js';
import ingest from '../steps/ingest.js';
import merge from '../steps/merge-roster.js';
import estimate from '../steps/estimate.js';
import specCurve from '../steps/spec-curve.js';

const CONTROLS = ['pgdp', 'indus', 'urb', 'fin', 'fis'];
const SUBSETS = Array.from({ length: 32 }, (_, m) => CONTROLS.filter((_, j) => m & (1 << j)));
const BASE = { y: 'so2', treat: 'did', controls: CONTROLS, fe: ['city_code', 'year'], cluster: 'city_code' };
const SAMPLES = {
  all: {},
  no_municipalities: { exclude: { municipality: [1] } },
  to_2019: { where: { year: { le: 2019 } } },
  no_municipalities_to_2019: { where: { year: { le: 2019 } }, exclude: { municipality: [1] } },
};
const CHOICES = { y: ['so2', 'so2_int'], controls: SUBSETS, fe: [['city_code', 'year'], ['province', 'year']], cluster: ['city_code', 'province'], sample: SAMPLES };

async function runStep(def: StepDef<any>, params: unknown, inputs: Record<string, Artifact>): Promise<Record<string, Artifact>> {
  return def.run(benchCtx({ nodeId: 'bench_spec_curve', baseDir: PROJECT_ROOT, def }), inputs, def.params.parse(params));
}

/** Median wall seconds of `reps` runs after one warm-up. */
async function median(f: () => Promise<unknown>, reps: number): Promise<number> {
  await f();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await f();
    ts.push((performance.now() - t0) / 1000);
  }
  return ts.sort((a, b) => a - b)[Math.floor(reps / 2)]!;
}

/** fixest's loop over the same specifications (seconds), or null without R / fixest. */
function fixestSeconds(): number | null {
  if (!process.env.REPRO_R_LIBS) return null;
  const script = path.join(PROJECT_ROOT, 'test/golden/spec-curve/make.R');
  const r = spawnSync('Rscript', [script, '--bench'], { cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, R_LIBS: process.env.REPRO_R_LIBS }, maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    console.log(`   (R fixest loop failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ')})`);
    return null;
  }
  const v = Number(r.stdout.trim().split('\n').pop());
  return Number.isFinite(v) ? v : null;
}

/** Node times (s) of the spec-curve node and of one estimate node in `repro run --json --jobs J` (median of 3), or null without the built CLI. */
function cliSeconds(jobs: number): { curve: number; estimate: number } | null {
  const cli = path.join(PROJECT_ROOT, 'dist', 'engine', 'cli', 'main.js');
  if (!fs.existsSync(cli)) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-bench-spec-curve-'));
  try {
    fs.symlinkSync(path.join(PROJECT_ROOT, 'data'), path.join(dir, 'data'));
    const yaml = `name: bench\nseed: 1\nsteps:\n  ingest:\n    kind: ingest\n    with: {path: data/demo/city-panel.csv}\n  panel:\n    kind: merge-roster\n    in: ingest\n    with: {roster: data/pilot-zones.csv, register: data/cities.csv}\n  curve:\n    kind: spec-curve\n    in: panel.panel\n    with: ${JSON.stringify({ base: BASE, choices: CHOICES })}\n  base_fit:\n    kind: estimate\n    in: panel.panel\n    with: ${JSON.stringify(BASE)}\n`;
    fs.writeFileSync(path.join(dir, 'pipeline.yaml'), yaml);
    const run = (args: string[]) => {
      const r = spawnSync(process.execPath, [cli, 'run', '--json', ...args], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26 });
      if (r.status !== 0) throw new Error(`repro run failed: ${r.stdout.slice(0, 500)} ${r.stderr.slice(0, 1000)}`);
      return (JSON.parse(r.stdout) as { nodes: { id: string; ms: number }[] }).nodes;
    };
    run(['--target', 'panel']);
    const ts: number[] = [], es: number[] = [];
    for (let k = 0; k < 3; k++) {
      // one at a time: the estimate node would otherwise take the second thread
      ts.push(run(['--target', 'curve', '--force', 'curve', '--jobs', String(jobs)]).find((n) => n.id === 'curve')!.ms / 1000);
      es.push(run(['--target', 'base_fit', '--force', 'base_fit', '--jobs', String(jobs)]).find((n) => n.id === 'base_fit')!.ms / 1000);
    }
    const med = (v: number[]) => v.sort((a, b) => a - b)[1]!;
    return { curve: med(ts), estimate: med(es) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export default async function main(): Promise<void> {
  const raw = (await runStep(ingest, { path: 'data/demo/city-panel.csv', key: ['city_code', 'year'] }, {})).table!;
  const panel = (await runStep(merge, { county_zones: 'ignore' }, { panel: raw })).panel!;
  const t = (panel as { table: Table }).table;
  let nSpecs = 0;
  const curveOnce = async () => {
    const out = await runStep(specCurve, { base: BASE, choices: CHOICES }, { panel });
    nSpecs = (out.specs as { table: Table }).table.nrows;
  };
  const t0 = performance.now();
  await curveOnce();
  const cold = (performance.now() - t0) / 1000;
  const curve = await median(curveOnce, 5);
  const one = await median(() => runStep(estimate, BASE, { panel }), 15);
  const cli = [1, 2].map((j) => [j, cliSeconds(j)] as const);
  const r = fixestSeconds();
  const ok = (s: number) => (s <= 2 ? 'ok' : 'SLOW');
  console.log(`demo panel: ${t.nrows} rows (287 cities × 18 years); load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (2 shared cores)`);
  console.log(`1. spec-curve, ${nSpecs} TWFE specifications, in this thread: first run (cold JIT) ${cold.toFixed(3)} s (target ≤ 2 s: ${ok(cold)}); warm median of 5 ${curve.toFixed(3)} s, ${((curve / nSpecs) * 1000).toFixed(3)} ms per specification`);
  console.log(`   anchor: one estimate fit of the base specification (warm) ${(one * 1000).toFixed(2)} ms → the curve costs ${(curve / one).toFixed(0)} single fits (${((one * nSpecs) / curve).toFixed(1)}× faster than ${nSpecs} estimate fits)`);
  for (const [j, c] of cli) {
    if (c === null) console.log('2. repro run: skipped (dist/engine/cli/main.js not built)');
    else console.log(`2. \`repro run --jobs ${j}\` node times (fresh processes, median of 3): spec-curve ${c.curve.toFixed(3)} s (target ≤ 2 s: ${ok(c.curve)}), one estimate node ${c.estimate.toFixed(3)} s → ${(c.curve / c.estimate).toFixed(0)} estimate nodes`);
  }
  if (r !== null) console.log(`   R fixest feols loop over the same ${nSpecs} specifications (nthreads = 1), measured now: ${r.toFixed(2)} s → spec-curve (warm, this thread) ${(r / curve).toFixed(0)}× faster`);
  else console.log('   R fixest loop: not measured (set REPRO_R_LIBS to an R library with fixest)');
}
