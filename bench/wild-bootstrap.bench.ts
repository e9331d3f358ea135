/**
 * Benchmark of the wild cluster bootstrap (stats/wild-bootstrap.ts through `estimate` with
 * `vcov: {type: wild-cluster}`): 9,999 Rademacher draws (WCR), 287 clusters, 5,000 rows, 5 controls
 * and city + year fixed effects, p-value and the 95% CI by test inversion. Target ≤ 0.5 s wall for
 * the bootstrap (the regression fit itself is timed separately and subtracted).
 * Then the event study on the same panel (window [-5, 5], 10 periods, each with its own bootstrap).
 *
 * Side by side: fwildclusterboot's boottest (B = 9999, Rademacher WCR, p and CI, one thread) on the
 * same data when Rscript with fwildclusterboot and fixest is available (set REPRO_R_LIBS to the
 * library holding them, e.g. REPRO_R_LIBS=/tmp/rlib-wild:/tmp/rlib-did2); the ratio ours / R is
 * printed. The machine is shared: the load average is printed with the times.
 * Run: `npm run build && node dist/bench/index.js wild`.
 */
import { makeTable } from '../engine/table.js';
import estimate from '../steps/estimate.js';
import { makePanel } from './stats.bench.js';
import type { StepContext } from '../engine/types.js';
import { benchCtx } from './ctx.js';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import eventStudy from '../steps/event-study.js';

function rEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...(process.env.REPRO_R_LIBS ? { R_LIBS: process.env.REPRO_R_LIBS } : {}) };
}

/**
 * fwildclusterboot timings on `csv` (best of 3 each): boottest on the DID coefficient, and one boottest
 * per event-study period (`periods` columns m5..p5 built in R as in the TS event study); null when R
 * or the packages are missing.
 */
function rTimes(csv: string, periods: number[]): { did: number; event: number; p: number } | null {
  const which = spawnSync('which', ['Rscript'], { encoding: 'utf8' }).stdout.trim();
  if (!which) return null;
  const code = `
suppressPackageStartupMessages({ library(fwildclusterboot); library(fixest) })
setFixest_nthreads(1)
d <- read.csv("${csv}")
best <- function(f) min(sapply(1:3, function(i) { t0 <- proc.time()[["elapsed"]]; f(); proc.time()[["elapsed"]] - t0 }))
fit <- feols(y ~ did + c1 + c2 + c3 + c4 + c5 | city + year, data = d, cluster = ~city)
p <- NA
t1 <- best(function() { dqrng::dqset.seed(1); b <- suppressMessages(boottest(fit, param = "did", clustid = "city", B = 9999, nthreads = 1)); p <<- b$p_val })
rel <- ifelse(d$adopt > 0, pmin(pmax(d$year - d$adopt, -5), 5), NA)
per <- c(${periods.join(', ')})
nm <- ifelse(per < 0, paste0("m", -per), paste0("p", per))
for (j in seq_along(per)) d[[nm[j]]] <- as.numeric(!is.na(rel) & rel == per[j])
dd <<- d
fe_ <- feols(as.formula(paste("y ~", paste(c(nm, paste0("c", 1:5)), collapse = " + "), "| city + year")), data = dd, cluster = ~city)
t2 <- best(function() for (v in nm) { dqrng::dqset.seed(1); suppressMessages(boottest(fe_, param = v, clustid = "city", B = 9999, nthreads = 1)) })
cat(t1, t2, p, "\n")`;
  const r = spawnSync('Rscript', ['-e', code], { encoding: 'utf8', env: rEnv(), maxBuffer: 1 << 24 });
  if (r.status !== 0) return null;
  const v = (r.stdout.trim().split('\n').pop() ?? '').trim().split(/\s+/).map(Number);
  return v.length === 3 && v.every((x) => Number.isFinite(x)) ? { did: v[0]!, event: v[1]!, p: v[2]! } : null;
}

const ctxOf = (nodeId: string): StepContext => benchCtx({ nodeId });

export default async function main(): Promise<void> {
  const full = makePanel(287, 18); // 5,166 rows; drop every 31st row → 5,000 rows, still 287 clusters
  const keep: number[] = [];
  for (let i = 0; i < full.nrows && keep.length < 5000; i++) if (i % 31 !== 30) keep.push(i);
  const cols = Object.fromEntries(full.names.map((nm) => [nm, Float64Array.from(keep.map((i) => (full.columns[nm] as Float64Array)[i]!))]));
  const table = makeTable(cols);
  const base = { y: 'y', treat: 'did', controls: ['c1', 'c2', 'c3', 'c4', 'c5'], fe: ['city', 'year'] };
  const pCr1 = estimate.params.parse({ ...base, cluster: 'city' });
  const pWild = estimate.params.parse({ ...base, vcov: { type: 'wild-cluster', by: 'city', reps: 9999, weights: 'rademacher' } });
  // wall time and CPU time (user+system of this process: less sensitive to other load on the machine)
  const time = async (p: unknown, reps: number): Promise<[number, Record<string, any>, number]> => {
    let best = Infinity, bestCpu = Infinity, out: any;
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now(), c0 = process.cpuUsage();
      out = await estimate.run(ctxOf('bench_wild'), { panel: { type: 'table', table } }, p as never);
      const c = process.cpuUsage(c0);
      best = Math.min(best, performance.now() - t0);
      bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000);
    }
    return [best / 1000, out.model.value, bestCpu / 1000];
  };
  await time(pWild, 1); // warm-up
  const [tFit, , cFit] = await time(pCr1, 3);
  const [tWild, model, cWild] = await time(pWild, 3);
  const c = model.coefficients[0];
  console.log(`wild cluster bootstrap: ${table.nrows} rows, ${model.clusters} clusters, 5 controls + city/year FE, 9999 Rademacher draws (WCR), p and 95% CI`);
  console.log(`  estimate (CR1 only): ${tFit.toFixed(3)} s; with wild bootstrap: ${tWild.toFixed(3)} s; bootstrap alone ${(tWild - tFit).toFixed(3)} s (target ≤ 0.5 s) — best of 3`);
  console.log(`  CPU time: estimate ${cFit.toFixed(3)} s, with wild bootstrap ${cWild.toFixed(3)} s, bootstrap alone ${(cWild - cFit).toFixed(3)} s; load average ${os.loadavg()[0]!.toFixed(1)}`);
  console.log(`  did: estimate ${c.estimate.toFixed(4)}, CR1 p ${c.p_cr1.toFixed(4)}, wild p ${c.p.toFixed(4)}, CI [${c.ci_low.toFixed(4)}, ${c.ci_high.toFixed(4)}]`);

  // the event study, 10 non-base periods, each with its own wild bootstrap (shared design basis)
  const esBase = { y: 'y', unit: 'city', time: 'year', adopt: 'adopt', base: -1, window: [-5, 5], controls: ['c1', 'c2', 'c3', 'c4', 'c5'] };
  const esPlain = eventStudy.params.parse({ ...esBase, cluster: 'city' });
  const esWild = eventStudy.params.parse({ ...esBase, vcov: { type: 'wild-cluster', by: 'city', reps: 9999 } });
  const timeEs = async (p: unknown): Promise<[number, number, Record<string, any>]> => {
    let best = Infinity, bestCpu = Infinity, out: any;
    for (let r = 0; r < 2; r++) {
      const t0 = performance.now(), c0 = process.cpuUsage();
      out = await eventStudy.run(ctxOf('bench_es_wild'), { panel: { type: 'table', table } }, p as never);
      const cc = process.cpuUsage(c0);
      best = Math.min(best, performance.now() - t0);
      bestCpu = Math.min(bestCpu, (cc.user + cc.system) / 1000);
    }
    return [best / 1000, bestCpu / 1000, out.event.value];
  };
  const [tEs0, cEs0] = await timeEs(esPlain);
  const [tEs1, cEs1, es] = await timeEs(esWild);
  const nPer = es.periods.filter((q: { base: boolean }) => !q.base).length;
  const bootEs = tEs1 - tEs0;
  console.log(`event study, ${nPer} periods × 9999 draws (WCR, p and CI each): ${tEs1.toFixed(3)} s (without the bootstrap ${tEs0.toFixed(3)} s); bootstrap alone ${bootEs.toFixed(3)} s wall, ${(cEs1 - cEs0).toFixed(3)} s CPU — best of 2`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-bench-wild-'));
  try {
    const csv = path.join(dir, 'panel.csv');
    const nm = table.names;
    const rows = [nm.join(',')];
    for (let i = 0; i < table.nrows; i++) rows.push(nm.map((k) => String((table.columns[k] as Float64Array)[i])).join(','));
    fs.writeFileSync(csv, rows.join('\n') + '\n');
    const periods = es.periods.filter((q: { base: boolean }) => !q.base).map((q: { period: number }) => q.period);
    const r = rTimes(csv, periods);
    if (r === null) console.log('  fwildclusterboot: not available (set REPRO_R_LIBS to a library with fwildclusterboot and fixest)');
    else {
      const boot = tWild - tFit;
      console.log(`  fwildclusterboot 0.14 boottest (B = 9999, 1 thread, p and CI), same data: DID ${r.did.toFixed(3)} s (p ${r.p.toFixed(4)}) vs ours ${boot.toFixed(3)} s: ratio ours/R ${(boot / r.did).toFixed(2)}`);
      console.log(`  fwildclusterboot, one boottest per event-study period (${periods.length}): ${r.event.toFixed(3)} s vs ours ${bootEs.toFixed(3)} s: ratio ours/R ${(bootEs / r.event).toFixed(2)}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`  load average ${os.loadavg()[0]!.toFixed(1)} (2 shared cores)`);
}
