/**
 * Standard normal functions at full double precision, including tails in log space, and R's
 * default random number generator (Mersenne-Twister seeded by `set.seed`, normals by Inversion),
 * so that a computation R packages do by simulation with a fixed seed (HonestDiD's least-favourable
 * critical value: `set.seed(0); mvtnorm::rmvnorm(...)`) can be reproduced draw for draw.
 *
 * - erfc: W. H. Press et al., Numerical Recipes 3rd ed. §6.2.2 Chebyshev fit (relative error < 1.2e-16),
 *   the coefficients as in jstat's erf (node_modules/jstat), evaluated for erfc directly (no 1 − erf
 *   cancellation) and in log space for the far tail.
 * - qnorm: Newton (Halley) iterations on the log-space CDF from a rational start, ~1e-15 relative.
 * - norminvp(p, l, u): quantile of N(0,1) truncated to [l, u] (as TruncatedNormal::norminvp), from
 *   whichever tail keeps precision.
 * - RRng: R's `RNGkind("Mersenne-Twister", "Inversion")`; `new RRng(0)` = `set.seed(0)`.
 *
 * // R: pnorm, qnorm, set.seed(0); rnorm(5) — checked in test/stats/honest-did.test.ts
 */

const COF = [
  -1.3026537197817094, 6.4196979235649026e-1, 1.9476473204185836e-2, -9.561514786808631e-3, -9.46595344482036e-4, 3.66839497852761e-4,
  4.2523324806907e-5, -2.0278578112534e-5, -1.624290004647e-6, 1.30365583558e-6, 1.5626441722e-8, -8.5238095915e-8, 6.529054439e-9,
  5.059343495e-9, -9.91364156e-10, -2.27365122e-10, 9.6467911e-11, 2.394038e-12, -6.886027e-12, 8.94487e-13, 3.13092e-13,
  -1.12708e-13, 3.81e-16, 7.106e-15, -1.523e-15, -9.4e-17, 1.21e-16, -2.8e-17,
];

/** log erfc(z) for z ≥ 0. */
function logErfcPos(z: number): number {
  const t = 2 / (2 + z), ty = 4 * t - 2;
  let d = 0, dd = 0;
  for (let j = COF.length - 1; j > 0; j--) {
    const tmp = d;
    d = ty * d - dd + COF[j]!;
    dd = tmp;
  }
  return Math.log(t) - z * z + 0.5 * (COF[0]! + ty * d) - dd;
}

/** log P(Z > x) (upper tail), accurate in both tails. */
export function logUpper(x: number): number {
  if (x >= 0) return Math.LN2 * -1 + logErfcPos(x / Math.SQRT2);
  return Math.log1p(-0.5 * Math.exp(logErfcPos(-x / Math.SQRT2)));
}

/** Φ(x). */
export function pnorm(x: number): number {
  return x >= 0 ? 1 - Math.exp(logUpper(x)) : Math.exp(logUpper(-x));
}

const dnormLog = (x: number): number => -0.5 * x * x - 0.5 * Math.log(2 * Math.PI);

/** x with P(Z > x) = exp(lq) (upper-tail quantile from a log probability). */
function qUpperLog(lq: number): number {
  // start: Acklam-style via the lower/upper rational approximation on the smaller tail
  const q = Math.exp(lq);
  let x: number;
  if (q < 0.5) {
    const t = Math.sqrt(-2 * lq);
    x = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
  } else {
    const l1 = Math.log1p(-q); // log P(Z ≤ x) for the lower tail, x ≤ 0
    const t = Math.sqrt(-2 * l1);
    x = -(t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t));
  }
  for (let it = 0; it < 50; it++) {
    // f(x) = logUpper(x) − lq; f' = −φ(x)/Q(x)
    const lu = logUpper(x);
    const f = lu - lq;
    const g = -Math.exp(dnormLog(x) - lu);
    // Halley: f'' = g (x + g)... use Newton with a damped step in log space
    const step = f / g;
    const xn = x - step;
    if (!Number.isFinite(xn)) break;
    x = xn;
    if (Math.abs(step) <= 1e-15 * Math.max(1, Math.abs(x))) break;
  }
  return x;
}

/** Quantile of N(0,1): x with Φ(x) = p, 0 < p < 1 (±Infinity at 0 and 1). */
export function qnorm(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  if (p < 0.5) return -qUpperLog(Math.log(p));
  return qUpperLog(Math.log1p(-p));
}

/**
 * Quantile p of N(0,1) truncated to [l, u] (TruncatedNormal::norminvp(p, l, u)): Φ⁻¹(Φ(l) + p(Φ(u) − Φ(l))),
 * computed in the upper tail when l ≥ 0 and by symmetry when u ≤ 0, so far tails keep precision.
 */
export function norminvp(p: number, l: number, u: number): number {
  if (!(l < u)) return NaN;
  if (u <= 0) return -norminvp(1 - p, -u, -l);
  if (l >= 0) {
    // upper tail: Q(x) = Q(l) − p (Q(l) − Q(u)), in logs
    const ql = logUpper(l), qu = u === Infinity ? -Infinity : logUpper(u);
    // log(Q(l) − p(Q(l) − Q(u))) = ql + log(1 − p (1 − exp(qu − ql)))
    const lt = ql + Math.log1p(-p * -Math.expm1(qu - ql));
    return qUpperLog(lt);
  }
  // l < 0 < u: plain
  const pl = pnorm(l), pu = pnorm(u);
  return qnorm(pl + p * (pu - pl));
}

/** R's default generator: Mersenne-Twister seeded as `set.seed(seed)`, normals by Inversion. */
export class RRng {
  private readonly mt = new Uint32Array(624);
  private mti = 624;

  constructor(seed: number) {
    // R's RNG_Init: initial scrambling (50 LCG steps), then fill the 625 seeds (mti word + 624)
    let s = seed >>> 0;
    for (let j = 0; j < 50; j++) s = (Math.imul(69069, s) + 1) >>> 0;
    s = (Math.imul(69069, s) + 1) >>> 0; // dummy[0] (mti), overwritten by FixupSeeds(initial) = 624
    for (let j = 0; j < 624; j++) {
      s = (Math.imul(69069, s) + 1) >>> 0;
      this.mt[j] = s;
    }
    this.mti = 624;
  }

  private genrand(): number {
    const mt = this.mt, N = 624, M = 397;
    const mag = (y: number): number => ((y & 1) !== 0 ? 0x9908b0df : 0);
    if (this.mti >= N) {
      let kk = 0, y: number;
      for (; kk < N - M; kk++) {
        y = (mt[kk]! & 0x80000000) | (mt[kk + 1]! & 0x7fffffff);
        mt[kk] = mt[kk + M]! ^ (y >>> 1) ^ mag(y);
      }
      for (; kk < N - 1; kk++) {
        y = (mt[kk]! & 0x80000000) | (mt[kk + 1]! & 0x7fffffff);
        mt[kk] = mt[kk + (M - N)]! ^ (y >>> 1) ^ mag(y);
      }
      y = (mt[N - 1]! & 0x80000000) | (mt[0]! & 0x7fffffff);
      mt[N - 1] = mt[M - 1]! ^ (y >>> 1) ^ mag(y);
      this.mti = 0;
    }
    let y = mt[this.mti++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return (y >>> 0) * 2.3283064365386963e-10;
  }

  /** R's unif_rand(): in (0, 1). */
  unif(): number {
    const x = this.genrand();
    const i2_32m1 = 2.328306437080797e-10;
    if (x <= 0) return 0.5 * i2_32m1;
    if (1 - x <= 0) return 1 - 0.5 * i2_32m1;
    return x;
  }

  /** R's norm_rand() with Inversion. */
  norm(): number {
    const BIG = 134217728;
    let u = this.unif();
    u = Math.trunc(BIG * u) + this.unif();
    return qnorm(u / BIG);
  }
}
