/**
 * Binary-response GLMs: logit and probit by iteratively reweighted least squares (Fisher scoring,
 * which for the canonical logit link is exactly Newton–Raphson), as R's `glm.fit` does.
 *
 * Standard errors are the square roots of the diagonal of the inverse Fisher information
 * (X'WX)^{-1} at the estimate, as `summary.glm` reports them (dispersion fixed at 1), with
 * z statistics and two-sided normal p-values.
 *
 * Perfect or quasi-perfect separation (some observations fitted with probability numerically 0 or
 * 1 of their observed outcome, i.e. a coefficient drifting to ±∞) is an error, never a result.
 *
 * // R: glm(y ~ x1 + x2, family = binomial(link = "logit" | "probit"),
 * //        control = glm.control(epsilon = 1e-14, maxit = 100))   (test/golden/glm/glm.R)
 *
 * @example
 * const fit = fitBinary({ y, X: [x1, x2], names: ['x1', 'x2'], link: 'logit' });
 * fit.coefficients[1]; // { term: 'x1', estimate, se, z, p }
 */
import { createRequire } from 'node:module';
import { cholSolveInPlace } from './linalg.js';

interface JStatLike {
  erfc(x: number): number;
}
const jStat = (createRequire(import.meta.url)('jstat') as { jStat: JStatLike }).jStat;

export type BinaryLink = 'logit' | 'probit';

/** Inputs of {@link fitBinary}. */
export interface BinaryGlmInput {
  /** Outcome, each value 0 or 1 (no missing values: drop incomplete rows before calling). */
  y: ArrayLike<number>;
  /** Regressor columns (each of length n, no missing values). */
  X: ArrayLike<number>[];
  /** Names of the regressors, same length as X. */
  names: string[];
  /** Link function. Default 'logit'. */
  link?: BinaryLink;
  /** Add an intercept column named `_cons` first. Default true. */
  intercept?: boolean;
  /**
   * Convergence tolerance on the relative change of the deviance, |Δdev|/(|dev|+0.1); in addition the
   * last step must be below 1e-10 standard errors. Default 1e-12, bounds (0, 1e-4].
   */
  tol?: number;
  /** Maximum IRLS iterations. Default 100, bounds [1, 10000]. */
  maxit?: number;
  /** Label used in error messages (e.g. the step's node id and param). Default 'fitBinary'. */
  who?: string;
}

export interface GlmCoefficient {
  term: string;
  estimate: number;
  se: number;
  z: number;
  p: number;
}

export interface BinaryGlmFit {
  link: BinaryLink;
  n: number;
  coefficients: GlmCoefficient[];
  /** Inverse Fisher information, row-major k×k, in the order of `coefficients`. */
  vcov: Float64Array;
  logLik: number;
  deviance: number;
  nullDeviance: number;
  iterations: number;
  converged: true;
  /** Linear predictor Xβ. */
  linear: Float64Array;
  /** Fitted probabilities P(y = 1 | x). */
  fitted: Float64Array;
}

/** Error of the GLM fit that the caller should show to the user as is. */
export class GlmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GlmError';
  }
}

const EPS_P = 1e-10; // a fitted probability this close to the observed outcome signals separation
const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Standard normal CDF Φ(x), via jStat's complementary error function (accurate in both tails). */
export function pnorm(x: number): number {
  return x < 0 ? 0.5 * jStat.erfc(-x * SQRT1_2) : 1 - 0.5 * jStat.erfc(x * SQRT1_2);
}
/** Upper tail 1 − Φ(x), without cancellation for large x. */
function pnormUpper(x: number): number {
  return 0.5 * jStat.erfc(x * SQRT1_2);
}

/** Link-specific mean, derivative dμ/dη, and the log-probabilities log μ and log(1−μ). */
function linkFns(link: BinaryLink) {
  if (link === 'logit') {
    return {
      mu: (eta: number) => 1 / (1 + Math.exp(-eta)),
      dmu: (eta: number) => {
        const e = Math.exp(-Math.abs(eta));
        return e / ((1 + e) * (1 + e));
      },
      // log μ = −log(1+e^{−η}); log(1−μ) = −log(1+e^{η})
      logMu: (eta: number) => -softplus(-eta),
      log1mMu: (eta: number) => -softplus(eta),
    };
  }
  return {
    mu: (eta: number) => pnorm(eta),
    dmu: (eta: number) => INV_SQRT_2PI * Math.exp(-0.5 * eta * eta),
    logMu: (eta: number) => Math.log(pnorm(eta)),
    log1mMu: (eta: number) => Math.log(pnormUpper(eta)),
  };
}

function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/**
 * Cholesky factorisation of a symmetric positive definite k×k matrix (row-major, in place, lower
 * triangle). Returns the index of the first pivot that is not positive relative to the diagonal
 * scale (a linear dependence among the columns), or -1 on success.
 */
function cholesky(a: Float64Array, k: number): number {
  for (let j = 0; j < k; j++) {
    const orig = a[j * k + j]!;
    let d = orig;
    for (let m = 0; m < j; m++) d -= a[j * k + m]! * a[j * k + m]!;
    if (!(d > 1e-11 * Math.max(orig, 1e-300))) return j;
    const l = Math.sqrt(d);
    a[j * k + j] = l;
    for (let i = j + 1; i < k; i++) {
      let s = a[i * k + j]!;
      for (let m = 0; m < j; m++) s -= a[i * k + m]! * a[j * k + m]!;
      a[i * k + j] = s / l;
    }
  }
  return -1;
}

/** Solve L L' x = b given the Cholesky factor (lower triangle of `l`). */
function cholSolve(l: Float64Array, k: number, b: Float64Array): Float64Array {
  return cholSolveInPlace(l, k, Float64Array.from(b));
}

/** Inverse of an SPD matrix from its Cholesky factor. */
function cholInverse(l: Float64Array, k: number): Float64Array {
  const inv = new Float64Array(k * k);
  const e = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    e.fill(0);
    e[j] = 1;
    const col = cholSolve(l, k, e);
    for (let i = 0; i < k; i++) inv[i * k + j] = col[i]!;
  }
  return inv;
}

/**
 * A single regressor that by itself separates the outcome (all y=1 on one side of a threshold, all
 * y=0 on the other, ties allowed = quasi-complete), for the error message; null when none does.
 */
function separatingColumn(y: ArrayLike<number>, X: ArrayLike<number>[], names: string[]): string | null {
  for (let j = 0; j < X.length; j++) {
    const x = X[j]!;
    let min0 = Infinity, max0 = -Infinity, min1 = Infinity, max1 = -Infinity;
    for (let i = 0; i < y.length; i++) {
      const v = x[i]!;
      if (y[i] === 1) { if (v < min1) min1 = v; if (v > max1) max1 = v; }
      else { if (v < min0) min0 = v; if (v > max0) max0 = v; }
    }
    if (min0 === max0 && min1 === max1 && min0 === min1) continue; // constant
    if (max0 <= min1 || max1 <= min0) return names[j]!;
  }
  return null;
}

/**
 * Fit P(y=1|x) = F(xβ) with F the logistic or standard normal CDF by IRLS. Throws GlmError on bad
 * input (non-0/1 outcome, missing values, no variation, collinear regressors), on separation, and
 * when the iterations do not converge.
 */
export function fitBinary(input: BinaryGlmInput): BinaryGlmFit {
  const link = input.link ?? 'logit';
  const who = input.who ?? 'fitBinary';
  const tol = input.tol ?? 1e-12;
  const maxit = input.maxit ?? 100;
  if (!(tol > 0 && tol <= 1e-4)) throw new GlmError(`${who}: tol must be in (0, 1e-4], got ${tol}`);
  if (!(Number.isInteger(maxit) && maxit >= 1 && maxit <= 10000)) throw new GlmError(`${who}: maxit must be an integer in [1, 10000], got ${maxit}`);
  const y = input.y;
  const n = y.length;
  if (input.X.length !== input.names.length) throw new GlmError(`${who}: ${input.X.length} regressor columns but ${input.names.length} names`);
  const cols: ArrayLike<number>[] = [];
  const names: string[] = [];
  if (input.intercept ?? true) {
    cols.push(new Float64Array(n).fill(1));
    names.push('_cons');
  }
  input.X.forEach((c, j) => {
    if (c.length !== n) throw new GlmError(`${who}: regressor "${input.names[j]}" has ${c.length} values, the outcome has ${n}`);
    cols.push(c);
    names.push(input.names[j]!);
  });
  const k = cols.length;
  if (k === 0) throw new GlmError(`${who}: no regressors and no intercept`);
  let n1 = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i]!;
    if (v !== 0 && v !== 1) throw new GlmError(`${who}: the outcome must be 0 or 1; row ${i + 1} has ${Number.isNaN(v) ? 'a missing value' : v}`);
    n1 += v;
    for (let j = 0; j < k; j++) {
      if (!Number.isFinite(cols[j]![i]!)) throw new GlmError(`${who}: regressor "${names[j]}" is missing or not finite in row ${i + 1}; drop incomplete rows first`);
    }
  }
  if (n1 === 0 || n1 === n) throw new GlmError(`${who}: the outcome has no variation (all ${n1 === 0 ? 0 : 1}); both 0s and 1s are needed`);
  if (n <= k) throw new GlmError(`${who}: ${n} observations for ${k} coefficients; more observations are needed`);

  const f = linkFns(link);
  const beta = new Float64Array(k);
  const eta = new Float64Array(n);
  const mu = new Float64Array(n);
  // R's starting values: mustart = (y + 0.5)/2 → eta = linkfun(mustart)
  for (let i = 0; i < n; i++) {
    const m0 = (y[i]! + 0.5) / 2;
    eta[i] = link === 'logit' ? Math.log(m0 / (1 - m0)) : -Math.SQRT2 * inverseErfcApprox(2 * m0);
    mu[i] = f.mu(eta[i]!);
  }
  const devOf = (): number => {
    let d = 0;
    for (let i = 0; i < n; i++) d += -2 * (y[i] === 1 ? f.logMu(eta[i]!) : f.log1mMu(eta[i]!));
    return d;
  };
  let dev = devOf();
  const xtwx = new Float64Array(k * k);
  const xtwz = new Float64Array(k);
  const w = new Float64Array(n);
  const z = new Float64Array(n);
  let iter = 0;
  let converged = false;
  let prevQuad = Infinity;
  let chol = new Float64Array(k * k);
  for (iter = 1; iter <= maxit; iter++) {
    for (let i = 0; i < n; i++) {
      const d = f.dmu(eta[i]!);
      const m = mu[i]!;
      const v = m * (1 - m);
      w[i] = v > 0 ? (d * d) / v : 0;
      // working residual: the IRLS step is solved as an increment Δβ = (X'WX)^{-1} X'W(z − η),
      // which keeps full precision near the optimum (solving for β itself loses cond(X'WX)·ε)
      // (first iteration: β = 0 but η is R's starting value linkfun((y + 0.5)/2), so add η back)
      z[i] = (d > 0 ? (y[i]! - m) / d : 0) + (iter === 1 ? eta[i]! : 0);
    }
    xtwx.fill(0);
    xtwz.fill(0);
    for (let a = 0; a < k; a++) {
      const ca = cols[a]!;
      let s = 0;
      for (let i = 0; i < n; i++) s += ca[i]! * w[i]! * z[i]!;
      xtwz[a] = s;
      for (let b = 0; b <= a; b++) {
        const cb = cols[b]!;
        let t = 0;
        for (let i = 0; i < n; i++) t += ca[i]! * w[i]! * cb[i]!;
        xtwx[a * k + b] = t;
        xtwx[b * k + a] = t;
      }
    }
    chol = Float64Array.from(xtwx);
    const bad = cholesky(chol, k);
    if (bad >= 0) {
      const sep = separatingColumn(y, input.X, input.names);
      if (sep !== null) throw separationError(who, link, sep);
      throw new GlmError(`${who}: regressor "${names[bad]}" is collinear with the ones before it (${names.slice(0, bad).join(', ') || 'none'}); drop it or one of them`);
    }
    const step = cholSolve(chol, k, xtwz);
    const nb = new Float64Array(k);
    for (let j = 0; j < k; j++) nb[j] = beta[j]! + step[j]!;
    // squared step in standard-error units: Δβ' (X'WX) Δβ (scale-free)
    let quad = 0;
    if (iter > 1) {
      for (let a = 0; a < k; a++) {
        let s = 0;
        for (let b = 0; b < k; b++) s += xtwx[a * k + b]! * (nb[b]! - beta[b]!);
        quad += (nb[a]! - beta[a]!) * s;
      }
    } else quad = Infinity;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += cols[j]![i]! * nb[j]!;
      eta[i] = s;
      mu[i] = f.mu(s);
    }
    beta.set(nb);
    const devNew = devOf();
    if (!Number.isFinite(devNew)) {
      throw new GlmError(`${who}: the ${link} deviance became non-finite at iteration ${iter}; check for extreme regressor values or separation`);
    }
    const rel = Math.abs(devNew - dev) / (Math.abs(devNew) + 0.1);
    dev = devNew;
    // Converged when the deviance has settled AND the last step was below 1e-10 standard errors
    // (Fisher scoring for probit converges only linearly, so the deviance alone stops too early),
    // or when the step stopped shrinking at the level of rounding error.
    if (rel < tol && (quad < 1e-20 || (quad < 1e-14 && quad >= prevQuad))) {
      converged = true;
      break;
    }
    prevQuad = quad;
  }
  // separation: some observation fitted (numerically) perfectly, i.e. a coefficient heading to ±∞
  let perfect = 0;
  for (let i = 0; i < n; i++) {
    const pObs = y[i] === 1 ? mu[i]! : 1 - mu[i]!;
    if (1 - pObs < EPS_P) perfect++;
  }
  if (perfect > 0) {
    const sep = separatingColumn(y, input.X, input.names);
    throw separationError(who, link, sep, perfect);
  }
  if (!converged) {
    throw new GlmError(`${who}: the ${link} fit did not converge in ${maxit} iterations (deviance ${dev}); rescale the regressors or raise maxit`);
  }
  // information at the estimate
  for (let i = 0; i < n; i++) {
    const d = f.dmu(eta[i]!);
    const m = mu[i]!;
    w[i] = (d * d) / (m * (1 - m));
  }
  for (let a = 0; a < k; a++) {
    for (let b = 0; b <= a; b++) {
      let t = 0;
      const ca = cols[a]!, cb = cols[b]!;
      for (let i = 0; i < n; i++) t += ca[i]! * w[i]! * cb[i]!;
      xtwx[a * k + b] = t;
      xtwx[b * k + a] = t;
    }
  }
  chol = Float64Array.from(xtwx);
  const bad = cholesky(chol, k);
  if (bad >= 0) throw new GlmError(`${who}: the information matrix is singular at the estimate (regressor "${names[bad]}"); drop collinear regressors`);
  const vcov = cholInverse(chol, k);
  const coefficients: GlmCoefficient[] = names.map((term, j) => {
    const se = Math.sqrt(vcov[j * k + j]!);
    const zz = beta[j]! / se;
    return { term, estimate: beta[j]!, se, z: zz, p: 2 * pnormUpper(Math.abs(zz)) };
  });
  const ybar = n1 / n;
  const nullDeviance = -2 * (n1 * Math.log(ybar) + (n - n1) * Math.log(1 - ybar));
  return {
    link,
    n,
    coefficients,
    vcov,
    logLik: -dev / 2,
    deviance: dev,
    nullDeviance,
    iterations: iter,
    converged: true,
    linear: eta,
    fitted: mu,
  };
}

function separationError(who: string, link: BinaryLink, col: string | null, perfect?: number): GlmError {
  const what = perfect !== undefined ? `${perfect} observation(s) are fitted with probability numerically 0 or 1` : 'the information matrix became singular';
  const hint = col !== null
    ? `regressor "${col}" alone separates the outcome (every 1 lies on one side of a threshold of it, every 0 on the other)`
    : 'a combination of the regressors separates the outcome';
  return new GlmError(
    `${who}: perfect or quasi-perfect separation in the ${link} model: ${what}, so the maximum-likelihood estimate does not exist; ${hint}. ` +
      'Drop or coarsen that regressor, or drop the observations it predicts perfectly.',
  );
}

/**
 * Starting value helper for probit: Φ^{-1}(m) for m in {0.25, 0.75} (R's mustart for binary y);
 * written as −√2·erfc^{-1}(2m). Only these two values are needed, so an exact constant is used.
 */
function inverseErfcApprox(v: number): number {
  // v = 2m: m = 0.25 → erfc^{-1}(0.5) = 0.4769362762044699; m = 0.75 → erfc^{-1}(1.5) = −0.4769362762044699
  const c = 0.4769362762044699;
  if (Math.abs(v - 0.5) < 1e-12) return c;
  if (Math.abs(v - 1.5) < 1e-12) return -c;
  throw new Error(`inverseErfcApprox: unsupported argument ${v}`);
}
