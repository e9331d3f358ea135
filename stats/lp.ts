/**
 * A small dense linear-programming solver for the LPs of HonestDiD (a few dozen variables and
 * constraints): maximise c'x subject to A x = b, x ≥ 0, by the two-phase tableau simplex method with
 * Bland's rule (no cycling under degeneracy). Returns the optimal vertex x, the optimum, and the
 * dual vector y (y' = c_B' B⁻¹, the shadow prices of the equality constraints, so c'x = b'y).
 *
 * Every LP of the Rambachan–Roth tests is in this form or its dual:
 * - the test statistic η = min{η : σ_i η + X_i δ ≥ y_i} equals max{y'λ : [σ X]'λ = e₁, λ ≥ 0}
 *   (solved in the dual: λ is the vertex, as the Lagrange multipliers lpSolveAPI reports);
 * - `.max_program` of HonestDiD is max f'γ s.t. W'γ = e₁, γ ≥ 0 (Rglpk's default bounds).
 *
 * Tests: test/stats/honest-did.test.ts (small LPs with known optima and R-checked HonestDiD output).
 *
 * @example
 * const r = simplexMax([1, 1], [[1, 2], [3, 1]], [4, 6]); // equality form
 */

export interface LpResult {
  status: 'optimal' | 'infeasible' | 'unbounded';
  x: Float64Array;
  value: number;
  /** Duals of the equality constraints (length m). */
  y: Float64Array;
}

/**
 * max c'x s.t. A x = b (A: m rows of length n), x ≥ 0.
 * `tol` is the pivot / reduced-cost tolerance relative to the problem scale.
 */
export function simplexMax(c: ArrayLike<number>, A: ArrayLike<number>[], b: ArrayLike<number>, tol = 1e-10): LpResult {
  const m = A.length, n = c.length;
  const W = n + m + 1; // columns: x (n), artificials (m), rhs
  const T = new Float64Array((m + 1) * W);
  const sign = new Float64Array(m);
  let scale = 0;
  for (let i = 0; i < m; i++) {
    const s = b[i]! < 0 ? -1 : 1;
    sign[i] = s;
    for (let j = 0; j < n; j++) {
      T[i * W + j] = s * A[i]![j]!;
      scale = Math.max(scale, Math.abs(A[i]![j]!));
    }
    T[i * W + n + i] = 1;
    T[i * W + W - 1] = s * b[i]!;
  }
  const eps = tol * Math.max(1, scale);
  const basis = new Int32Array(m);
  for (let i = 0; i < m; i++) basis[i] = n + i;
  const obj = m * W; // objective row: reduced costs r_j = (cost of j) − z_j, stored as −r_j ("z_j − c_j")

  const pivot = (r: number, col: number): void => {
    const pr = r * W;
    const pv = T[pr + col]!;
    for (let j = 0; j < W; j++) T[pr + j]! /= pv;
    for (let i = 0; i <= m; i++) {
      if (i === r) continue;
      const f = T[i * W + col]!;
      if (f === 0) continue;
      const ir = i * W;
      for (let j = 0; j < W; j++) T[ir + j]! -= f * T[pr + j]!;
    }
    basis[r] = col;
  };

  /** Run the simplex on the current objective row; allowed(j) says which columns may enter. */
  const run = (allowed: (j: number) => boolean): 'optimal' | 'unbounded' => {
    for (let iter = 0; iter < 50000; iter++) {
      // Bland: the smallest index with z_j − c_j < −eps enters
      let col = -1;
      for (let j = 0; j < n + m; j++) if (allowed(j) && T[obj + j]! < -eps) { col = j; break; }
      if (col < 0) return 'optimal';
      let r = -1, best = Infinity;
      for (let i = 0; i < m; i++) {
        const a = T[i * W + col]!;
        if (a > eps) {
          const ratio = T[i * W + W - 1]! / a;
          if (r < 0 || ratio < best - 1e-14 * Math.max(1, Math.abs(best)) || (Math.abs(ratio - best) <= 1e-14 * Math.max(1, Math.abs(best)) && basis[i]! < basis[r]!)) {
            best = ratio;
            r = i;
          }
        }
      }
      if (r < 0) return 'unbounded';
      pivot(r, col);
    }
    throw new Error('simplex: iteration limit reached');
  };

  // phase 1: maximise −Σ artificials ⇒ objective row = −Σ rows (z_j − c_j with c = −1 on artificials)
  for (let j = 0; j < W; j++) {
    let s = 0;
    for (let i = 0; i < m; i++) s += T[i * W + j]!;
    T[obj + j] = j >= n && j < n + m ? 0 : -s;
  }
  run(() => true);
  const infeas = -T[obj + W - 1]!;
  let bscale = 0;
  for (let i = 0; i < m; i++) bscale = Math.max(bscale, Math.abs(b[i]!));
  if (infeas > 1e-9 * Math.max(1, bscale)) return { status: 'infeasible', x: new Float64Array(n), value: NaN, y: new Float64Array(m) };
  // drive artificials out of the basis where possible
  for (let i = 0; i < m; i++) {
    if (basis[i]! < n) continue;
    let col = -1, big = eps;
    for (let j = 0; j < n; j++) if (Math.abs(T[i * W + j]!) > big) { big = Math.abs(T[i * W + j]!); col = j; }
    if (col >= 0) pivot(i, col);
  }
  // phase 2: objective row z_j − c_j for the original costs
  for (let j = 0; j < W; j++) {
    let z = 0;
    for (let i = 0; i < m; i++) {
      const bj = basis[i]!;
      const cb = bj < n ? c[bj]! : 0;
      z += cb * T[i * W + j]!;
    }
    T[obj + j] = j < n ? z - c[j]! : z;
  }
  const st = run((j) => j < n);
  const x = new Float64Array(n);
  for (let i = 0; i < m; i++) if (basis[i]! < n) x[basis[i]!] = T[i * W + W - 1]!;
  let value = 0;
  for (let j = 0; j < n; j++) value += c[j]! * x[j]!;
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) y[i] = sign[i]! * T[obj + n + i]!;
  return { status: st, x, value: st === 'unbounded' ? Infinity : value, y };
}
