/**
 * Fixed-effect bookkeeping: factor coding, iterative singleton removal, nesting of a fixed effect
 * in a cluster variable, and the degrees of freedom the fixed effects absorb.
 *
 * @example
 * const f = factorize(cityColumn);            // { codes: Int32Array, nlevels }
 * const keep = dropSingletons([f, g], mask);  // rows kept, singletons removed iteratively
 */

/** A categorical column coded 0..nlevels-1 (code −1 = missing). */
export interface Factor {
  codes: Int32Array;
  nlevels: number;
}

/**
 * Code a numeric or string column as a factor, levels numbered in order of first appearance.
 * NaN / null become −1 (missing).
 */
export function factorize(col: Float64Array | (string | null)[]): Factor {
  const n = col.length;
  const codes = new Int32Array(n);
  let nlevels = 0;
  if (col instanceof Float64Array) {
    // fast path: integer codes in a compact range (ids, years) use a lookup table instead of a Map
    const { lo, hi, ints } = integerRange(col);
    if (ints && (hi - lo < 4 * n + 1024 || lo > hi)) return { codes, nlevels: codeByTable(col, lo, lo > hi ? 0 : hi - lo + 1, codes) };
    const map = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const v = col[i]!;
      if (Number.isNaN(v)) {
        codes[i] = -1;
        continue;
      }
      let c = map.get(v);
      if (c === undefined) {
        c = nlevels++;
        map.set(v, c);
      }
      codes[i] = c;
    }
  } else {
    const map = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const v = col[i];
      if (v === null || v === undefined) {
        codes[i] = -1;
        continue;
      }
      let c = map.get(v);
      if (c === undefined) {
        c = nlevels++;
        map.set(v, c);
      }
      codes[i] = c;
    }
  }
  return { codes, nlevels };
}

/** The range of the non-NaN values of x, and whether all are whole numbers (lo > hi: none). */
function integerRange(x: Float64Array): { lo: number; hi: number; ints: boolean } {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (Number.isNaN(v)) continue;
    if (!Number.isInteger(v)) return { lo, hi, ints: false };
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return { lo, hi, ints: true };
}

/** Codes of whole numbers in [lo, lo + size) in order of first appearance (NaN → −1); returns the number of levels. */
function codeByTable(x: Float64Array, lo: number, size: number, codes: Int32Array): number {
  const table = new Int32Array(size).fill(-1);
  let nlevels = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (Number.isNaN(v)) {
      codes[i] = -1;
      continue;
    }
    const j = v - lo;
    let c = table[j]!;
    if (c < 0) table[j] = c = nlevels++;
    codes[i] = c;
  }
  return nlevels;
}

/** The factor restricted to rows `idx` (in that order), levels recoded densely in order of appearance. */
export function subsetFactor(f: Factor, idx: Int32Array | number[]): Factor {
  const remap = new Int32Array(f.nlevels).fill(-1);
  const codes = new Int32Array(idx.length);
  let nlevels = 0;
  for (let i = 0; i < idx.length; i++) {
    const c = f.codes[idx[i]!]!;
    if (c < 0) {
      codes[i] = -1;
      continue;
    }
    let r = remap[c]!;
    if (r < 0) {
      r = nlevels++;
      remap[c] = r;
    }
    codes[i] = r;
  }
  return { codes, nlevels };
}

/**
 * Iteratively drop observations that are alone in a level of some fixed effect (singletons), as
 * reghdfe and fixest do: removing one can create another, so repeat until none is left.
 * `keep` (1 = in sample) is updated in place; returns the number of rows dropped.
 */
export function dropSingletons(factors: Factor[], keep: Uint8Array): number {
  if (factors.length === 0) return 0;
  const n = keep.length;
  // rows per level among those kept, updated as rows are dropped (a pass over the rows only for a
  // factor that has a singleton level)
  const counts = factors.map((f) => keptPerLevel(f, keep));
  let dropped = 0;
  for (;;) {
    let changed = 0;
    for (let q = 0; q < factors.length; q++) {
      const cnt = counts[q]!, codes = factors[q]!.codes;
      if (cnt.indexOf(1) < 0) continue;
      for (let i = 0; i < n; i++)
        if (keep[i] && cnt[codes[i]!] === 1) {
          keep[i] = 0;
          changed++;
          for (let r = 0; r < factors.length; r++) counts[r]![factors[r]!.codes[i]!]!--;
        }
    }
    dropped += changed;
    if (changed === 0 || factors.length === 1) return dropped;
  }
}

/** Rows per level of f among the rows with keep = 1. */
function keptPerLevel(f: Factor, keep: Uint8Array): Int32Array {
  const cnt = new Int32Array(f.nlevels);
  const codes = f.codes;
  for (let i = 0; i < keep.length; i++) if (keep[i]) cnt[codes[i]!]!++;
  return cnt;
}

/** True when every level of `fe` falls within a single level of `cluster` (the FE is nested in the cluster). */
export function isNested(fe: Factor, cluster: Factor): boolean {
  if (fe.codes === cluster.codes) return true;
  const owner = new Int32Array(fe.nlevels).fill(-1);
  const n = fe.codes.length;
  for (let i = 0; i < n; i++) {
    const f = fe.codes[i]!;
    const c = cluster.codes[i]!;
    const o = owner[f]!;
    if (o < 0) owner[f] = c;
    else if (o !== c) return false;
  }
  return true;
}

/** Number of connected components of the bipartite graph linking levels of `a` and `b` through observations. */
export function connectedComponents(a: Factor, b: Factor): number {
  const parent = new Int32Array(a.nlevels + b.nlevels);
  for (let i = 0; i < parent.length; i++) parent[i] = i;
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  let comps = parent.length;
  const n = a.codes.length;
  for (let i = 0; i < n; i++) {
    const ra = find(a.codes[i]!);
    const rb = find(a.nlevels + b.codes[i]!);
    if (ra !== rb) {
      parent[ra] = rb;
      comps--;
    }
  }
  return comps;
}

/**
 * Parameters absorbed by the fixed effects *and the intercept*, i.e. rank([1, D_1, …, D_Q]):
 * 1 + Σ_q (L_q − 1) − (C − 1), where C is the number of connected components of the first two
 * fixed effects (exact redundancy for the first two, as reghdfe computes it; further fixed effects
 * are assumed to add L_q − 1 each). Fixed effects flagged in `skip` (nested in a cluster variable)
 * are left out entirely. With no fixed effect this is 1 (the intercept).
 */
export function absorbedDof(factors: Factor[], skip: boolean[] = []): number {
  const used = factors.filter((_, q) => !skip[q]);
  let dof = 1;
  for (const f of used) dof += f.nlevels - 1;
  if (used.length >= 2) dof -= connectedComponents(used[0]!, used[1]!) - 1;
  return dof;
}
