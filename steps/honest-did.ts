/**
 * `honest-did`: Rambachan–Roth sensitivity of an event study's post-period effect to violations of
 * parallel trends (the R package HonestDiD; numerics in stats/honest-did.ts).
 *
 * @example
 * honest:
 *   kind: honest-did
 *   in: event_study                      # any event-study artifact (needs vcov.matrix)
 *   with: {restriction: relative_magnitude, mbar: [0, 0.5, 1, 1.5, 2], target: average}
 * honest_given:                          # or estimates from elsewhere (Stata, R)
 *   kind: honest-did
 *   with: {betahat: [...], sigma: [[...]], num_pre: 4, num_post: 4, mbar: [0, 1]}
 *
 * Outputs: `sensitivity` (table: restriction, bound, M, lb, ub, method; M is M̄ for relative
 * magnitudes), `original` (json: the non-robust CI of the target), `breakdown` (json: the largest M̄
 * of the list whose robust CI excludes 0, or null).
 * Method defaults as HonestDiD: relative magnitudes → C-LF (also conditional; bound
 * deviation_from_linear_trend = Δ^SDRM); smoothness → FLCI (also conditional, C-LF and C-F, the
 * conditional-FLCI hybrid).
 */
import { CONTRACT } from './common/contracts.js';
import { z } from 'zod';
import { defineStep, StepError, type Artifact } from '../engine/types.js';
import { makeTable } from '../engine/table.js';
import { conditionalCSDeltaRM, conditionalCSDeltaSD, conditionalCSDeltaSDRM, originalCI } from '../stats/honest-did.js';
import { findOptimalFLCI } from '../stats/flci.js';

const params = z
  .strictObject({
    betahat: z.array(z.number()).optional().describe('event-study estimates, pre-periods then post-periods, base period excluded (instead of an input)'),
    sigma: z.array(z.array(z.number())).optional().describe('their covariance matrix (with betahat)'),
    num_pre: z.number().int().optional().describe('number of pre-period coefficients in betahat'),
    num_post: z.number().int().optional().describe('number of post-period coefficients in betahat'),
    restriction: z.enum(['relative_magnitude', 'smoothness']).default('relative_magnitude').describe('Δ^RM (relative magnitudes, M̄) or Δ^SD (smoothness, M)'),
    bound: z.enum(['deviation_from_parallel_trends', 'deviation_from_linear_trend']).default('deviation_from_parallel_trends').describe('relative magnitudes: bound the deviation from parallel trends (Δ^RM) or from a linear trend (Δ^SDRM)'),
    mbar: z.array(z.number()).optional().describe('relative magnitudes: the M̄ values (default 10 values on [0, 2], as HonestDiD)'),
    m: z.array(z.number()).optional().describe('smoothness: the M values'),
    target: z.union([z.number().int().min(1), z.literal('average')]).default(1).describe('the post period targeted (1 = first post period) or average (mean of the post periods)'),
    method: z.enum(['C-LF', 'FLCI', 'conditional', 'C-F']).optional().describe('confidence set (default as HonestDiD: C-LF for relative magnitudes, FLCI for smoothness)'),
    alpha: z.number().gt(0).lt(1).default(0.05).describe('1 − confidence level'),
    grid_points: z.number().int().min(10).default(1000).describe('points of the θ grid the confidence set is inverted on (HonestDiD gridPoints)'),
  })
  .strict();
type Params = z.infer<typeof params>;

interface Estimates { beta: number[]; sigma: number[][]; numPre: number; numPost: number; periods?: number[]; /** the input's name when the estimates come from an artifact */ src?: string }

/** β̂, Σ and the pre/post split from an event-study artifact (DESIGN.md contract). */
function fromArtifact(v: Record<string, any>, src: string): Estimates {
  const vc = v?.vcov;
  if (!vc || !Array.isArray(vc.matrix) || !Array.isArray(vc.periods))
    throw new StepError(`input ${src} has no vcov.matrix / vcov.periods (the event-study contract's covariance of the period estimates); rerun the event-study step that produced it with the current code (repro run --force ${src}) or give betahat/sigma/num_pre/num_post directly`);
  const periods: number[] = vc.periods;
  const byP = new Map<number, number>();
  for (const p of v.periods ?? []) if (!p.base && p.estimate !== null && p.estimate !== undefined) byP.set(p.period, p.estimate);
  const beta = periods.map((p) => {
    const b = byP.get(p);
    if (b === undefined) throw new StepError(`input ${src}: period ${p} of vcov.periods has no estimate in periods`);
    return b;
  });
  // pre-periods: relative period < 0 (whatever the base period is), post: ≥ 0
  const numPre = periods.filter((p) => p < 0).length;
  for (let i = 1; i < periods.length; i++) if (!(periods[i]! > periods[i - 1]!)) throw new StepError(`input ${src}: vcov.periods must be increasing`);
  return { beta, sigma: vc.matrix, numPre, numPost: periods.length - numPre, periods, src };
}

function checkEstimates(e: Estimates): void {
  const n = e.beta.length;
  if (e.src !== undefined) {
    // estimates from an artifact: name its fields and the step to rerun, not the params
    const fix = `rerun the event-study node wired to input ${e.src} with the current code (repro run --force <node>) or give betahat/sigma/num_pre/num_post directly`;
    if (e.numPost < 1) throw new StepError(`input ${e.src} has no post periods (vcov.periods ${JSON.stringify((e as { periods?: number[] }).periods ?? [])} are all < 0); HonestDiD bounds a post-period effect: give that event study a window reaching periods ≥ 0`);
    if (e.numPre < 1) throw new StepError(`input ${e.src} has no pre periods besides the base; the restrictions extrapolate from pre-trends: give that event study a window with at least two periods < 0 (one is the base)`);
    if (!Array.isArray(e.sigma) || e.sigma.length !== n || e.sigma.some((r) => !Array.isArray(r) || r.length !== n))
      throw new StepError(`input ${e.src}: vcov.matrix must be ${n}×${n} (one row per entry of vcov.periods); ${fix}`);
    try {
      checkEstimates({ ...e, src: undefined });
    } catch (err) {
      throw new StepError(`input ${e.src}: vcov.matrix (as sigma): ${(err as Error).message}; ${fix}`);
    }
    return;
  }
  if (e.numPre + e.numPost !== n) throw new StepError(`num_pre + num_post = ${e.numPre} + ${e.numPost} = ${e.numPre + e.numPost}, but betahat has ${n} elements; they must be equal (betahat holds the pre- then the post-period estimates, base period excluded)`);
  if (e.numPost < 1) throw new StepError(`there are no post periods (num_post = ${e.numPost}); HonestDiD bounds a post-period effect: give an event study with periods ≥ 0`);
  if (e.numPre < 1) throw new StepError(`there are no pre periods (num_pre = ${e.numPre}); the restrictions extrapolate from pre-trends: give an event study with at least one pre period besides the base`);
  if (!Array.isArray(e.sigma) || e.sigma.length !== n || e.sigma.some((r) => !Array.isArray(r) || r.length !== n))
    throw new StepError(`sigma must be a ${n}×${n} matrix (the length of betahat), got ${Array.isArray(e.sigma) ? `${e.sigma.length} rows of lengths ${[...new Set(e.sigma.map((r) => (Array.isArray(r) ? r.length : 'non-array')))].join('/')}` : typeof e.sigma}`);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const a = e.sigma[i]![j]!, b = e.sigma[j]![i]!;
      if (!Number.isFinite(a)) throw new StepError(`sigma[${i + 1}][${j + 1}] is not a finite number`);
      if (Math.abs(a - b) > 1e-8 * Math.max(1e-300, Math.abs(a), Math.abs(b))) throw new StepError(`sigma is not symmetric (sigma[${i + 1}][${j + 1}] = ${a} but sigma[${j + 1}][${i + 1}] = ${b}); give the covariance matrix of betahat`);
    }
  // PSD: Cholesky with a relative tolerance on the pivots
  const L: number[][] = e.sigma.map(() => new Array<number>(n).fill(0));
  const maxDiag = Math.max(...e.sigma.map((r, i) => r[i]!));
  for (let j = 0; j < n; j++) {
    let d = e.sigma[j]![j]!;
    for (let k = 0; k < j; k++) d -= L[j]![k]! * L[j]![k]!;
    if (d < -1e-10 * maxDiag) throw new StepError(`sigma is not positive semi-definite (negative pivot at row ${j + 1}); give a valid covariance matrix of betahat`);
    const s = Math.sqrt(Math.max(d, 0));
    L[j]![j] = s;
    for (let i = j + 1; i < n; i++) {
      let v = e.sigma[i]![j]!;
      for (let k = 0; k < j; k++) v -= L[i]![k]! * L[j]![k]!;
      L[i]![j] = s > 1e-12 * Math.sqrt(maxDiag) ? v / s : 0;
    }
  }
  if (e.beta.some((b) => !Number.isFinite(b))) throw new StepError(`betahat has a missing or non-finite value`);
}

export default defineStep<Params>({
  kind: 'honest-did',
  doc: 'HonestDiD sensitivity analysis (Rambachan & Roth 2023): robust CIs for a post-period effect of an event study under relative-magnitude (Δ^RM, Δ^SDRM) or smoothness (Δ^SD: FLCI, conditional, C-LF, C-F) bounds on the violation of parallel trends, the original CI, and the breakdown M̄ or M.',
  params,
  inputs: { event_study: { type: 'json', optional: true, accepts: [CONTRACT.eventStudy], doc: 'an event-study artifact (with vcov.matrix); or give betahat/sigma/num_pre/num_post' } },
  outputs: { sensitivity: { type: 'table', contract: CONTRACT.honestSensitivity }, original: { type: 'json', contract: CONTRACT.honestOriginal }, breakdown: 'json' },
  cpu: true,
  async run(ctx, inputs, p): Promise<Record<string, Artifact>> {
    const art = inputs.event_study;
    const given = [p.betahat, p.sigma, p.num_pre, p.num_post].filter((x) => x !== undefined).length;
    let est: Estimates;
    if (art) {
      if (Array.isArray(art) || art.type !== 'json') throw new StepError(`input event_study must be one event-study (json) artifact`);
      if (given > 0) throw new StepError(`give either an input event study or betahat/sigma/num_pre/num_post, not both`);
      est = fromArtifact(art.value as Record<string, any>, 'event_study');
    } else {
      if (given < 4) throw new StepError(`without an input event study, params betahat, sigma, num_pre and num_post are all required (missing: ${(['betahat', 'sigma', 'num_pre', 'num_post'] as const).filter((k) => p[k] === undefined).join(', ')})`);
      est = { beta: p.betahat!, sigma: p.sigma!, numPre: p.num_pre!, numPost: p.num_post! };
    }
    checkEstimates(est);
    est.sigma = est.sigma.map((r, i) => r.map((x, j) => (x + est.sigma[j]![i]!) / 2)); // exact symmetry (as (S + t(S))/2 in R)
    const rm = p.restriction === 'relative_magnitude';
    const linear = p.bound === 'deviation_from_linear_trend';
    if (!rm && linear) throw new StepError(`params.bound deviation_from_linear_trend is for restriction relative_magnitude (Δ^SDRM); smoothness bounds the deviation from a linear trend already — remove params.bound`);
    if (linear && est.numPre < 2) throw new StepError(`bound deviation_from_linear_trend needs at least two pre periods besides the base (num_pre = ${est.numPre}): the pre-period second differences are its reference; use bound: deviation_from_parallel_trends`);
    if (rm && p.m !== undefined) throw new StepError(`params.m is for restriction smoothness; relative magnitudes take params.mbar`);
    if (!rm && p.mbar !== undefined) throw new StepError(`params.mbar is for restriction relative_magnitude; smoothness takes params.m`);
    const method = p.method ?? (rm ? 'C-LF' : 'FLCI');
    if (rm && method !== 'C-LF' && method !== 'conditional') throw new StepError(`method ${method} is not available for relative magnitudes; HonestDiD offers C-LF (default) and conditional`);
    if (!rm && p.m === undefined) throw new StepError(`restriction smoothness needs params.m, the list of M values (bounds on the change in slope of the trend, in units of the outcome), e.g. m: [0, 0.01, 0.02]`);
    const pname = rm ? 'mbar' : 'm';
    const mbar = (rm ? p.mbar : p.m) ?? Array.from({ length: 10 }, (_, i) => (2 * i) / 9);
    const neg = mbar.find((x) => !(x >= 0));
    if (neg !== undefined) throw new StepError(`params.${pname} has ${neg}; ${rm ? 'M̄ bounds a ratio of trend changes' : 'M bounds the change in slope'} and must be ≥ 0`);
    let l: number[];
    if (p.target === 'average') l = new Array<number>(est.numPost).fill(1 / est.numPost);
    else {
      const t = p.target;
      if (t > est.numPost) throw new StepError(`params.target is ${p.target} but there are only ${est.numPost} post periods; use 1..${est.numPost} or average`);
      l = Array.from({ length: est.numPost }, (_, i) => (i === t - 1 ? 1 : 0));
    }
    const orig = originalCI(est.beta, est.sigma, est.numPre, l, p.alpha);
    const rows = { restriction: [] as string[], bound: [] as string[], M: [] as number[], lb: [] as number[], ub: [] as number[], method: [] as string[] };
    let breakdown: number | null = null;
    mbar.forEach((M, i) => {
      const opts = { alpha: p.alpha, hybrid: (method === 'C-LF' ? 'LF' : method === 'C-F' ? 'FLCI' : 'ARP') as 'LF' | 'ARP' | 'FLCI', gridPoints: p.grid_points };
      let cs: { lb: number | null; ub: number | null; accept: number[] };
      if (method === 'FLCI') {
        let f: ReturnType<typeof findOptimalFLCI>;
        try {
          f = findOptimalFLCI(est.beta, est.sigma, est.numPre, est.numPost, l, M, p.alpha);
        } catch (e) {
          throw new StepError(`FLCI at M = ${M} failed (${(e as Error).message}): the pre-period block of sigma is singular; give a positive definite sigma or use method: conditional`);
        }
        cs = { lb: f.lb, ub: f.ub, accept: [] };
      } else if (rm) cs = (linear ? conditionalCSDeltaSDRM : conditionalCSDeltaRM)(est.beta, est.sigma, est.numPre, est.numPost, l, M, opts);
      else cs = conditionalCSDeltaSD(est.beta, est.sigma, est.numPre, est.numPost, l, M, opts);
      if (cs.lb === null) ctx.warn(`${rm ? 'M̄' : 'M'} = ${M}: no grid value accepted (empty confidence set)`);
      else if (cs.accept[0] === 1 || cs.accept[cs.accept.length - 1] === 1) ctx.warn(`${rm ? 'M̄' : 'M'} = ${M}: the confidence set reaches the end of the grid (±20 sd); its bound is the grid end`);
      rows.restriction.push(p.restriction);
      rows.bound.push(p.bound);
      rows.M.push(M);
      rows.lb.push(cs.lb ?? NaN);
      rows.ub.push(cs.ub ?? NaN);
      rows.method.push(method);
      if (cs.lb !== null && (cs.lb > 0 || cs.ub! < 0)) breakdown = breakdown === null ? M : Math.max(breakdown, M);
      ctx.progress(i + 1, mbar.length, `${rm ? 'M̄' : 'M'} = ${M}`);
    });
    const sensitivity = makeTable({
      restriction: rows.restriction,
      bound: rows.bound,
      M: Float64Array.from(rows.M),
      lb: Float64Array.from(rows.lb),
      ub: Float64Array.from(rows.ub),
      method: rows.method,
    });
    return {
      sensitivity: { type: 'table', table: sensitivity },
      original: { type: 'json', value: { ...orig, method: 'Original', alpha: p.alpha, target: p.target, l_vec: l, num_pre: est.numPre, num_post: est.numPost } },
      breakdown: { type: 'json', value: { restriction: p.restriction, parameter: rm ? 'Mbar' : 'M', breakdown, grid: mbar, method, note: `largest ${rm ? 'M̄' : 'M'} of the grid whose robust CI excludes 0 (null: none)` } },
    };
  },
});
