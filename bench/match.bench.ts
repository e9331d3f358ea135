/**
 * Benchmark of propensity-score matching (stats/glm.ts + stats/match.ts + stats/balance.ts) on a
 * synthetic city-year panel the size of the paper's (287 cities × 18 years = 5,166 rows, pooled),
 * and on 10× and 100× that. Prints milliseconds per stage (median of 5 runs after a warm-up).
 *
 * Run: `npm run bench` (all benches) or `node dist/bench/index.js match`.
 */
import { rngFromKey, rngKeyOf } from '../engine/rng.js';
import { fitBinary } from '../stats/glm.js';
import { nearestNeighbor, attWeights, sampleSd, type NearestOptions } from '../stats/match.js';
import { balanceTable } from '../stats/balance.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Times one configuration; returns a printable line. */
function one(n: number, opts: NearestOptions & { label: string }): string {
  const rng = rngFromKey(rngKeyOf(20250217, 'bench-match', n));
  const k = 5;
  const X = Array.from({ length: k }, () => Float64Array.from({ length: n }, () => rng.normal()));
  const treat = Float64Array.from({ length: n }, (_, i) => (rng.uniform() < 1 / (1 + Math.exp(-(-1 + X[0]![i]! + 0.5 * X[1]![i]!))) ? 1 : 0));
  const names = X.map((_, j) => `x${j + 1}`);
  const tg: number[] = [], tm: number[] = [], tb: number[] = [];
  let matched = 0;
  for (let rep = 0; rep < 6; rep++) {
    const t0 = performance.now();
    const fit = fitBinary({ y: treat, X, names });
    const t1 = performance.now();
    const caliper = opts.caliper === undefined ? undefined : opts.caliper * sampleSd(fit.fitted);
    const m = nearestNeighbor(treat, fit.fitted, { ...opts, caliper });
    const w = attWeights(n, m);
    const t2 = performance.now();
    balanceTable(names.map((name, j) => ({ name, values: X[j]! })), treat, w);
    const t3 = performance.now();
    if (rep > 0) { tg.push(t1 - t0); tm.push(t2 - t1); tb.push(t3 - t2); }
    matched = 0;
    for (let i = 0; i < m.treated.length; i++) if (m.matches[i * m.ratio]! >= 0) matched++;
  }
  return `n=${String(n).padStart(7)}  ${opts.label.padEnd(28)} logit ${median(tg).toFixed(1).padStart(7)} ms  match ${median(tm).toFixed(1).padStart(7)} ms  balance ${median(tb).toFixed(1).padStart(6)} ms  (${matched} treated matched)`;
}

export function benchMatch(): string[] {
  const lines: string[] = [];
  for (const n of [287 * 18, 287 * 180, 287 * 1800]) {
    lines.push(one(n, { label: '1:1, largest first', order: 'largest' }));
    lines.push(one(n, { label: '1:1, data order, caliper .2sd', order: 'data', caliper: 0.2 }));
    lines.push(one(n, { label: '1:3, largest first', ratio: 3 }));
    lines.push(one(n, { label: '1:2 with replacement', ratio: 2, replace: true }));
  }
  return lines;
}


/** Entry point for `npm run bench` (bench/index.ts). */
export default async function main(): Promise<void> {
  console.log('Propensity-score matching (logit + nearest neighbour + balance), median of 5 runs:');
  for (const l of benchMatch()) console.log(l);
}
