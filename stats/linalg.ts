/**
 * Small dense linear algebra for regression: symmetric K×K matrices stored row-major in a
 * Float64Array (K is the number of regressors, small), columns of data as Float64Array.
 *
 * @example
 * const A = crossprod([x1, x2]);      // X'X, 2×2
 * const { kept } = collinearityCheck(A, 2, 1e-10);
 */

/** Dot product Σ a_i b_i (or Σ w_i a_i b_i when weights are given). */
export function dot(a: Float64Array, b: Float64Array, w?: Float64Array | null): number {
  let s = 0;
  const n = a.length;
  if (w) for (let i = 0; i < n; i++) s += w[i]! * a[i]! * b[i]!;
  else for (let i = 0; i < n; i++) s += a[i]! * b[i]!;
  return s;
}

/** X'WX of the columns `cols` (K×K row-major), W = diag(w) or identity; blocked over rows for cache reuse. */
export function crossprod(cols: Float64Array[], w?: Float64Array | null): Float64Array {
  const k = cols.length;
  const out = new Float64Array(k * k);
  if (k === 0) return out;
  const n = cols[0]!.length;
  const B = 2048;
  const wa = new Float64Array(Math.min(B, n));
  for (let s = 0; s < n; s += B) {
    const e = Math.min(n, s + B);
    for (let a = 0; a < k; a++) {
      const za = cols[a]!;
      if (w) for (let i = s; i < e; i++) wa[i - s] = w[i]! * za[i]!;
      else for (let i = s; i < e; i++) wa[i - s] = za[i]!;
      for (let b = a; b < k; b++) {
        const zb = cols[b]!;
        let acc = 0;
        for (let i = s; i < e; i++) acc += wa[i - s]! * zb[i]!;
        out[a * k + b]! += acc;
      }
    }
  }
  for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) out[a * k + b] = out[b * k + a]!;
  return out;
}

/** X'Wy for the columns `cols`. */
export function crossvec(cols: Float64Array[], y: Float64Array, w?: Float64Array | null): Float64Array {
  const out = new Float64Array(cols.length);
  for (let a = 0; a < cols.length; a++) out[a] = dot(cols[a]!, y, w);
  return out;
}

/**
 * Sequential collinearity check on a Gram matrix A = X'X (K×K), in column order, as a Cholesky
 * factorisation that skips a column whose squared residual norm after projecting on the columns
 * kept so far is ≤ tol × its own squared norm (fixest's `collin.tol` logic; default tol 1e-10).
 * Columns with zero norm are always dropped. Returns the indices kept, in order.
 */
export function collinearityCheck(A: Float64Array, k: number, tol = 1e-10): { kept: number[]; dropped: number[] } {
  const kept: number[] = [];
  const dropped: number[] = [];
  // L: Cholesky factor rows for kept columns, L[r][c] over kept indices
  const L: number[][] = [];
  for (let j = 0; j < k; j++) {
    const ajj = A[j * k + j]!;
    if (!(ajj > 0)) {
      dropped.push(j);
      continue;
    }
    const row: number[] = [];
    let ss = 0;
    for (let r = 0; r < kept.length; r++) {
      let v = A[kept[r]! * k + j]!;
      for (let c = 0; c < r; c++) v -= L[r]![c]! * row[c]!;
      v /= L[r]![r]!;
      row.push(v);
      ss += v * v;
    }
    const resid = ajj - ss;
    if (!(resid > tol * ajj)) {
      dropped.push(j);
      continue;
    }
    row.push(Math.sqrt(resid));
    L.push(row);
    kept.push(j);
  }
  return { kept, dropped };
}

/** The sub-matrix of a K×K matrix A on the indices `idx`. */
export function subMatrix(A: Float64Array, k: number, idx: number[]): Float64Array {
  const m = idx.length;
  const out = new Float64Array(m * m);
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) out[a * m + b] = A[idx[a]! * k + idx[b]!]!;
  return out;
}

/** Cholesky factor (lower, row-major) of a symmetric positive-definite K×K matrix; throws if not PD. */
export function cholesky(A: Float64Array, k: number): Float64Array {
  const L = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * k + j]!;
      for (let c = 0; c < j; c++) s -= L[i * k + c]! * L[j * k + c]!;
      if (i === j) {
        if (!(s > 0)) throw new Error(`cholesky: matrix is not positive definite (pivot ${i} = ${s})`);
        L[i * k + i] = Math.sqrt(s);
      } else L[i * k + j] = s / L[j * k + j]!;
    }
  }
  return L;
}

/** Solve A x = b with A symmetric positive-definite (K×K), via Cholesky. */
export function cholSolve(A: Float64Array, k: number, b: Float64Array): Float64Array {
  const L = cholesky(A, k);
  return cholSolveL(L, k, b);
}

function cholSolveL(L: Float64Array, k: number, b: Float64Array): Float64Array {
  return cholSolveInPlace(L, k, Float64Array.from(b.subarray(0, k)));
}

/**
 * z ← (L Lᵀ)⁻¹ z in place, for L the lower Cholesky factor (row-major K×K, e.g. {@link cholesky}):
 * a forward then a backward substitution. Returns z.
 */
export function cholSolveInPlace(L: Float64Array, k: number, z: Float64Array): Float64Array {
  for (let i = 0; i < k; i++) {
    let s = z[i]!;
    for (let c = 0; c < i; c++) s -= L[i * k + c]! * z[c]!;
    z[i] = s / L[i * k + i]!;
  }
  for (let i = k - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let c = i + 1; c < k; c++) s -= L[c * k + i]! * z[c]!;
    z[i] = s / L[i * k + i]!;
  }
  return z;
}

/** Inverse of a symmetric positive-definite K×K matrix, via Cholesky. */
export function spdInverse(A: Float64Array, k: number): Float64Array {
  const L = cholesky(A, k);
  const inv = new Float64Array(k * k);
  const e = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    e.fill(0);
    e[j] = 1;
    const col = cholSolveL(L, k, e);
    for (let i = 0; i < k; i++) inv[i * k + j] = col[i]!;
  }
  // symmetrise
  for (let i = 0; i < k; i++)
    for (let j = i + 1; j < k; j++) {
      const v = 0.5 * (inv[i * k + j]! + inv[j * k + i]!);
      inv[i * k + j] = v;
      inv[j * k + i] = v;
    }
  return inv;
}

/** B M B for symmetric K×K matrices B and M (the sandwich). */
export function sandwichProduct(B: Float64Array, M: Float64Array, k: number): Float64Array {
  const BM = new Float64Array(k * k);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += B[i * k + c]! * M[c * k + j]!;
      BM[i * k + j] = s;
    }
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += BM[i * k + c]! * B[c * k + j]!;
      out[i * k + j] = s;
    }
  return out;
}
