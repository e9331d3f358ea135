/**
 * Benchmarks of the regression core (run: `npm run build && node dist/bench/stats.bench.js`, or via
 * bench/index.ts which imports this module and awaits its default export).
 *
 * 1. Placebo: 1000 replicates on a 287 × 18 city-year panel with 5 controls, city and year fixed
 *    effects and city-clustered SEs per replicate (the `placebo` step, worker threads). Target
 *    ≤ 0.3 s wall. When Rscript is on the PATH, the same loop in R with lm + sandwich::vcovCL is
 *    timed on fewer replicates and extrapolated to 1000 (printed as such).
 * 2. Scaling: TWFE with a treatment, 5 controls, unit and year fixed effects and unit-clustered SEs
 *    on 10⁴, 10⁵, 10⁶ rows (units × 20 years), data already in memory: seconds, seconds per million
 *    rows, peak RSS. Target: 10⁶ rows ≤ 0.5 s and ≤ 1 GB.
 */
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { makeTable, type Table } from '../engine/table.js';
import { rngFromKey, rngKeyOf } from '../engine/rng.js';
import type { StepContext } from '../engine/types.js';
import { benchCtx } from './ctx.js';
import placebo from '../steps/placebo.js';
import { feols } from '../stats/ols.js';
import { factorize } from '../stats/fe.js';

const ctxFor = (threads: number): StepContext => benchCtx({ nodeId: 'bench_placebo', threads, def: placebo });

/** A synthetic units × years panel: did from staggered adoption, 5 controls, unit and year effects. */
export function makePanel(units: number, years: number, seedStream = 'panel'): Table {
  const rng = rngFromKey(rngKeyOf(1, 'bench', seedStream));
  const n = units * years;
  const unit = new Float64Array(n), year = new Float64Array(n), adopt = new Float64Array(n), did = new Float64Array(n), y = new Float64Array(n);
  const ctr = Array.from({ length: 5 }, () => new Float64Array(n));
  for (let u = 0; u < units; u++) {
    const a = rng.uniform() < 0.3 ? 2011 + 3 + rng.int(years - 4) : 0;
    const alpha = rng.normal();
    for (let t = 0; t < years; t++) {
      const i = u * years + t;
      unit[i] = u + 1;
      year[i] = 2011 + t;
      adopt[i] = a;
      did[i] = a > 0 && 2011 + t >= a ? 1 : 0;
      let s = alpha + 0.1 * t - 0.2 * did[i]!;
      for (let c = 0; c < 5; c++) {
        const v = rng.normal() + 0.2 * alpha;
        ctr[c]![i] = v;
        s += (0.1 * (c + 1)) * v;
      }
      y[i] = s + rng.normal();
    }
  }
  return makeTable({ city: unit, year, adopt, did, y, c1: ctr[0]!, c2: ctr[1]!, c3: ctr[2]!, c4: ctr[3]!, c5: ctr[4]! });
}

function toCsv(t: Table, file: string): void {
  const lines = [t.names.join(',')];
  for (let i = 0; i < t.nrows; i++) lines.push(t.names.map((nm) => String((t.columns[nm] as Float64Array)[i])).join(','));
  writeFileSync(file, lines.join('\n') + '\n');
}

const fmt = (x: number, d = 3) => x.toFixed(d);

async function benchPlacebo(): Promise<void> {
  const panel = makePanel(287, 18);
  const threads = Math.max(1, Math.min(2, os.availableParallelism()));
  const params = placebo.params.parse({
    y: 'y', treat: 'did', controls: ['c1', 'c2', 'c3', 'c4', 'c5'], fe: ['city', 'year'], cluster: 'city',
    unit: 'city', time: 'year', adopt: 'adopt', reps: 1000, mode: 'permute',
  });
  const input = { panel: { type: 'table' as const, table: panel } };
  await placebo.run(ctxFor(threads), input, { ...params, reps: 20 }); // warm-up (JIT, worker code cache)
  const times: number[] = [];
  let summary: any;
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    const out = await placebo.run(ctxFor(threads), input, params);
    times.push((performance.now() - t0) / 1000);
    summary = (out.summary as { value: unknown }).value;
  }
  const t1 = performance.now();
  await placebo.run(ctxFor(1), input, params);
  const single = (performance.now() - t1) / 1000;
  const best = Math.min(...times);
  console.log(`placebo: 1000 replicates, 287×18 panel, 5 controls, city+year FE, city-clustered SE`);
  console.log(`  ${threads} worker threads: ${fmt(best)} s wall (best of 3: ${times.map((t) => fmt(t)).join(', ')})  target ≤ 0.3 s  ${best <= 0.3 ? 'OK' : 'MISSED'}`);
  console.log(`  1 thread (in-thread): ${fmt(single)} s   observed β = ${fmt(summary.observed.estimate, 4)}, randomization p = ${fmt(summary.randomization_p, 3)}`);

  const rscript = spawnSync('which', ['Rscript'], { encoding: 'utf8' }).stdout.trim();
  if (!rscript) {
    console.log('  R comparison: Rscript not found on PATH (install r-base-core, r-cran-sandwich to print it)');
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stats-bench-'));
  try {
    const csv = path.join(dir, 'panel.csv');
    toCsv(panel, csv);
    const rReps = 20;
    const script = path.join(dir, 'placebo.R');
    writeFileSync(
      script,
      `suppressPackageStartupMessages(library(sandwich))
d <- read.csv("${csv}")
units <- unique(d$city); a0 <- tapply(d$adopt, d$city, function(v) v[1])[as.character(units)]
set.seed(1)
t0 <- proc.time()[["elapsed"]]
for (r in 1:${rReps}) {
  a <- sample(a0); names(a) <- units
  aa <- a[as.character(d$city)]
  d$pd <- as.numeric(aa > 0 & d$year >= aa)
  f <- lm(y ~ pd + c1 + c2 + c3 + c4 + c5 + factor(city) + factor(year), data = d)
  v <- vcovCL(f, cluster = ~city, type = "HC1")
  se <- sqrt(v["pd", "pd"])
}
cat((proc.time()[["elapsed"]] - t0) / ${rReps}, "\\n")
`,
    );
    const per = Number(execFileSync(rscript, [script], { encoding: 'utf8' }).trim());
    console.log(`  R lm + sandwich::vcovCL: ${fmt(per, 3)} s per replicate (timed on ${rReps}, this run) → ≈ ${fmt(per * 1000, 0)} s for 1000 (extrapolated); ratio ≈ ${fmt((per * 1000) / best, 0)}×`);
  } catch (e) {
    console.log(`  R comparison failed: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function benchScaling(): void {
  console.log('scaling: TWFE, treatment + 5 controls, unit + year FE, unit-clustered SE (data in memory)');
  console.log('  rows        seconds   s per 1e6 rows   peak RSS (MB)');
  for (const units of [500, 5000, 50000]) {
    const t = makePanel(units, 20, `scale${units}`);
    const col = (c: string) => t.columns[c] as Float64Array;
    const run = () => {
      const unit = factorize(col('city'));
      const year = factorize(col('year'));
      return feols({
        y: col('y'), yName: 'y', X: ['did', 'c1', 'c2', 'c3', 'c4', 'c5'].map(col), xNames: ['did', 'c1', 'c2', 'c3', 'c4', 'c5'],
        fe: [unit, year], feNames: ['city', 'year'], clusters: [unit], clusterNames: ['city'], vcov: 'cluster',
      });
    };
    run(); // warm-up
    const reps = units <= 5000 ? 5 : 3;
    let best = Infinity;
    for (let k = 0; k < reps; k++) {
      const t0 = performance.now();
      run();
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
    const n = t.nrows;
    const rss = process.resourceUsage().maxRSS / 1024;
    const flag = n === 1e6 ? `   target ≤ 0.5 s & ≤ 1024 MB: ${best <= 0.5 && rss <= 1024 ? 'OK' : 'MISSED'}` : '';
    console.log(`  ${String(n).padEnd(10)}  ${fmt(best).padStart(7)}   ${fmt((best / n) * 1e6).padStart(14)}   ${fmt(rss, 0).padStart(13)}${flag}`);
  }
  console.log('  (seconds: best of several runs of factor coding + demeaning + OLS + clustered vcov; RSS: process peak so far)');
}

/** Run both benchmarks, printing to stdout. */
export default async function main(): Promise<void> {
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`machine: ${os.availableParallelism()} cores, load average ${load} (wall times scale with contention)`);
  await benchPlacebo();
  benchScaling();
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
