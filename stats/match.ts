/**
 * Greedy nearest-neighbour matching on a scalar distance (a propensity score or its logit), a
 * line-by-line reimplementation of MatchIt 4.5's `nn_matchC_vec` (Greifer et al.) so the pairs are
 * identical to MatchIt's `match.matrix`, ties included:
 *
 * - all units are sorted by distance (stable: equal scores keep data order, as R's `sort.list`);
 * - matching proceeds in rounds r = 1..ratio; in each round the treated units are visited in the
 *   matching order (`data`, `largest` or `smallest` score first — stable for equal scores, as R's
 *   `order` —, or a caller-supplied random permutation);
 * - for a treated unit, the nearest still-available control on each side in the sorted order is
 *   found (skipping controls already matched to this unit in earlier rounds); if the nearest
 *   available control on a side is farther than the caliper, that side has none; of the two the
 *   closer wins, the left one (lower score) on an exact tie of the gaps;
 * - without replacement a control is used once; with replacement it can be reused without limit.
 *
 * `matchWithin` runs this separately within each group (MatchIt's `exact =`), with the caliper
 * fixed beforehand for the whole sample. Weights follow MatchIt's ATT rule (see
 * {@link attWeights}).
 *
 * Cost: each search skips used controls through path-compressed "next available" links, so a full
 * match is O(n log n) for the sort plus near-linear search (ratio > 1 adds the few same-row skips).
 *
 * // R: MatchIt::matchit(..., method = "nearest") 4.5.1, match.matrix and weights (test/golden/match/)
 */

/** Matching order of the treated units. */
export type MatchOrder = 'data' | 'largest' | 'smallest' | 'random';

export interface NearestOptions {
  /** Number of controls per treated unit, integer ≥ 1. Default 1. */
  ratio?: number;
  /** Match with replacement (a control may serve several treated units). Default false. */
  replace?: boolean;
  /** Maximum |distance gap| of a match, in distance units; undefined = no caliper. */
  caliper?: number;
  /** Order in which treated units pick their matches. Default 'largest' (MatchIt's default for ATT). */
  order?: MatchOrder;
  /** For order 'random': a permutation of 0..n1-1 (positions among the treated, in data order). */
  permutation?: ArrayLike<number>;
  /** Called every few hundred treated units with (done, total). */
  progress?: (done: number, total: number) => void;
}

export interface NearestResult {
  /** Row indices (into the input arrays) of the treated units, in data order. */
  treated: Int32Array;
  /**
   * For treated unit t (index into `treated`) and round r, the matched control's row index, or -1:
   * `matches[t * ratio + r]` — MatchIt's match.matrix.
   */
  matches: Int32Array;
  ratio: number;
}

/** Stable ascending order of `d` (ties keep index order). */
function stableOrder(idx: number[], d: ArrayLike<number>, decreasing = false): number[] {
  const s = decreasing ? -1 : 1;
  return idx.slice().sort((a, b) => {
    const x = d[a]!, y = d[b]!;
    if (x < y) return -s;
    if (x > y) return s;
    return a - b;
  });
}

/**
 * MatchIt's nearest-neighbour algorithm (nn_matchC_vec) on rows where treat is 0 or 1.
 * `distance` must be finite for every row. Throws on invalid options.
 */
export function nearestNeighbor(treat: ArrayLike<number>, distance: ArrayLike<number>, opts: NearestOptions = {}): NearestResult {
  const n = treat.length;
  if (distance.length !== n) throw new Error(`nearestNeighbor: distance has ${distance.length} values, treat has ${n}`);
  const ratio = opts.ratio ?? 1;
  if (!Number.isInteger(ratio) || ratio < 1) throw new Error(`nearestNeighbor: ratio must be an integer ≥ 1, got ${ratio}`);
  const caliper = opts.caliper;
  if (caliper !== undefined && !(caliper >= 0)) throw new Error(`nearestNeighbor: caliper must be ≥ 0, got ${caliper}`);
  const order = opts.order ?? 'largest';
  for (let i = 0; i < n; i++) {
    if (treat[i] !== 0 && treat[i] !== 1) throw new Error(`nearestNeighbor: treat must be 0 or 1, row ${i + 1} has ${treat[i]}`);
    if (!Number.isFinite(distance[i]!)) throw new Error(`nearestNeighbor: distance is not finite in row ${i + 1}`);
  }
  const all = Array.from({ length: n }, (_, i) => i);
  const dOrd = stableOrder(all, distance); // sorted position → row
  const treatedRows: number[] = [];
  for (let i = 0; i < n; i++) if (treat[i] === 1) treatedRows.push(i);
  const n1 = treatedRows.length;
  const treatedIdx = Int32Array.from(treatedRows);
  const matches = new Int32Array(n1 * ratio).fill(-1);
  const res: NearestResult = { treated: treatedIdx, matches, ratio };
  if (n1 === 0) return res;

  // positions (in sorted order) of controls, and of each treated unit
  const ctrlPos: number[] = []; // control slot → sorted position
  const sortedDist = new Float64Array(n);
  const posOfRow = new Int32Array(n);
  for (let p = 0; p < n; p++) {
    const row = dOrd[p]!;
    sortedDist[p] = distance[row]!;
    posOfRow[row] = p;
    if (treat[row] === 0) ctrlPos.push(p);
  }
  const n0 = ctrlPos.length;
  if (n0 === 0) return res;
  // for a sorted position p: number of control slots strictly before p
  const ctrlBefore = new Int32Array(n + 1);
  for (let p = 0, c = 0; p <= n; p++) {
    ctrlBefore[p] = c;
    if (p < n && treat[dOrd[p]!] === 0) c++;
  }
  const ctrlRow = Int32Array.from(ctrlPos, (p) => dOrd[p]!);
  const ctrlDist = Float64Array.from(ctrlPos, (p) => sortedDist[p]!);

  // "next available" links over control slots with path compression (without replacement);
  // slots -1 and n0 are sentinels.
  const alive = new Uint8Array(n0).fill(1);
  const nextR = new Int32Array(n0 + 2); // index shifted by 1: nextR[s+1] for slot s, s in -1..n0
  const nextL = new Int32Array(n0 + 2);
  for (let s = -1; s <= n0; s++) {
    nextR[s + 1] = s;
    nextL[s + 1] = s;
  }
  const findR = (s: number): number => {
    // smallest alive slot ≥ s, or n0
    let r = s;
    while (r < n0 && nextR[r + 1] !== r) r = nextR[r + 1]!;
    while (s < n0 && nextR[s + 1] !== r && s !== r) {
      const nx = nextR[s + 1]!;
      nextR[s + 1] = r;
      s = nx;
    }
    return r;
  };
  const findL = (s: number): number => {
    // largest alive slot ≤ s, or -1
    let r = s;
    while (r >= 0 && nextL[r + 1] !== r) r = nextL[r + 1]!;
    while (s >= 0 && nextL[s + 1] !== r && s !== r) {
      const nx = nextL[s + 1]!;
      nextL[s + 1] = r;
      s = nx;
    }
    return r;
  };
  const kill = (s: number): void => {
    alive[s] = 0;
    nextR[s + 1] = s + 1;
    nextL[s + 1] = s - 1;
  };
  let nAlive = n0;

  // matching order over treated units (indices into treatedRows)
  let ord: number[];
  const tIdx = Array.from({ length: n1 }, (_, t) => t);
  const tDist = treatedRows.map((r) => distance[r]!);
  if (opts.replace) ord = tIdx; // MatchIt: with unlimited reuse the order is irrelevant and set to "data"
  else if (order === 'data') ord = tIdx;
  else if (order === 'largest') ord = stableOrder(tIdx, tDist, true);
  else if (order === 'smallest') ord = stableOrder(tIdx, tDist, false);
  else {
    const perm = opts.permutation;
    if (!perm || perm.length !== n1) throw new Error(`nearestNeighbor: order 'random' needs a permutation of the ${n1} treated units`);
    ord = Array.from(perm);
    const seen = new Uint8Array(n1);
    for (const t of ord) {
      if (!(Number.isInteger(t) && t >= 0 && t < n1) || seen[t]) throw new Error('nearestNeighbor: permutation is not a permutation of 0..n1-1');
      seen[t] = 1;
    }
  }

  const total = ratio * n1;
  let done = 0;
  const inRow = (t: number, r: number, row: number): boolean => {
    for (let q = 0; q < r; q++) if (matches[t * ratio + q] === row) return true;
    return false;
  };
  for (let r = 0; r < ratio; r++) {
    for (let oi = 0; oi < n1; oi++) {
      done++;
      if (opts.progress && (done & 255) === 0) opts.progress(done, total);
      const t = ord[oi]!;
      const row = treatedRows[t]!;
      const p = posOfRow[row]!;
      const dti = sortedDist[p]!;
      const base = ctrlBefore[p]!; // first control slot to the right; base-1 is the first to the left
      // left
      let kl = -1;
      let s = opts.replace ? base - 1 : findL(base - 1);
      while (s >= 0) {
        if (r > 0 && inRow(t, r, ctrlRow[s]!)) {
          s = opts.replace ? s - 1 : findL(s - 1);
          continue;
        }
        if (caliper !== undefined && Math.abs(dti - ctrlDist[s]!) > caliper) break;
        kl = s;
        break;
      }
      let kr = -1;
      s = opts.replace ? base : findR(base);
      while (s < n0) {
        if (r > 0 && inRow(t, r, ctrlRow[s]!)) {
          s = opts.replace ? s + 1 : findR(s + 1);
          continue;
        }
        if (caliper !== undefined && Math.abs(dti - ctrlDist[s]!) > caliper) break;
        kr = s;
        break;
      }
      let k: number;
      if (kl >= 0 && kr >= 0) k = Math.abs(ctrlDist[kl]! - dti) <= Math.abs(ctrlDist[kr]! - dti) ? kl : kr;
      else if (kl >= 0) k = kl;
      else if (kr >= 0) k = kr;
      else continue;
      matches[t * ratio + r] = ctrlRow[k]!;
      if (!opts.replace) {
        kill(k);
        nAlive--;
        if (nAlive === 0) {
          opts.progress?.(total, total);
          return res;
        }
      }
    }
  }
  opts.progress?.(total, total);
  return res;
}

/**
 * Nearest-neighbour matching separately within each group (`groups[i]` a group key per row; MatchIt's
 * `exact =`): the same options apply in each group, with row indices reported for the whole input.
 * Groups are processed in sorted key order; `permutationFor(group, n1)` supplies the random order.
 */
export function matchWithin(
  treat: ArrayLike<number>,
  distance: ArrayLike<number>,
  groups: ArrayLike<string>,
  opts: Omit<NearestOptions, 'permutation'> & { permutationFor?: (group: string, n1: number) => ArrayLike<number> },
): NearestResult {
  const n = treat.length;
  const ratio = opts.ratio ?? 1;
  const byGroup = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const g = groups[i]!;
    let l = byGroup.get(g);
    if (!l) byGroup.set(g, (l = []));
    l.push(i);
  }
  const treatedRows: number[] = [];
  for (let i = 0; i < n; i++) if (treat[i] === 1) treatedRows.push(i);
  const tPos = new Map<number, number>(treatedRows.map((r, t) => [r, t]));
  const matches = new Int32Array(treatedRows.length * ratio).fill(-1);
  const keys = [...byGroup.keys()].sort();
  let doneT = 0;
  for (const g of keys) {
    const rows = byGroup.get(g)!;
    const tr = rows.map((i) => treat[i]!);
    const di = rows.map((i) => distance[i]!);
    const n1g = tr.reduce((a, b) => a + b, 0);
    const sub = nearestNeighbor(tr, di, {
      ...opts,
      permutation: opts.order === 'random' && opts.permutationFor ? opts.permutationFor(g, n1g) : undefined,
      progress: undefined,
    });
    for (let t = 0; t < sub.treated.length; t++) {
      const globalT = tPos.get(rows[sub.treated[t]!]!)!;
      for (let r = 0; r < ratio; r++) {
        const m = sub.matches[t * ratio + r]!;
        matches[globalT * ratio + r] = m < 0 ? -1 : rows[m]!;
      }
    }
    doneT += n1g;
    opts.progress?.(doneT, treatedRows.length);
  }
  return { treated: Int32Array.from(treatedRows), matches, ratio };
}

/**
 * MatchIt's ATT matching weights from a match matrix: a matched treated unit gets 1; each control
 * gets the sum over the treated units it serves of 1/(number of controls matched to that treated
 * unit); control weights are then rescaled to sum to the number of distinct matched controls.
 * Unmatched units get 0.
 * // R: matchit(...)$weights
 */
export function attWeights(n: number, m: NearestResult): Float64Array {
  const w = new Float64Array(n);
  const { ratio, treated, matches } = m;
  for (let t = 0; t < treated.length; t++) {
    let cnt = 0;
    for (let r = 0; r < ratio; r++) if (matches[t * ratio + r]! >= 0) cnt++;
    if (cnt === 0) continue;
    w[treated[t]!] = 1;
    for (let r = 0; r < ratio; r++) {
      const c = matches[t * ratio + r]!;
      if (c >= 0) w[c] = w[c]! + 1 / cnt;
    }
  }
  const isT = new Uint8Array(n);
  for (const t of treated) isT[t] = 1;
  let sumC = 0, nC = 0;
  for (let i = 0; i < n; i++) if (!isT[i] && w[i]! > 0) { sumC += w[i]!; nC++; }
  if (sumC > 0) for (let i = 0; i < n; i++) if (!isT[i] && w[i]! > 0) w[i] = (w[i]! * nC) / sumC;
  return w;
}

/** Sample standard deviation (n − 1 denominator), as R's `sd`. */
export function sampleSd(x: ArrayLike<number>): number {
  const n = x.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i]!;
  m /= n;
  let s = 0;
  for (let i = 0; i < n; i++) s += (x[i]! - m) ** 2;
  return Math.sqrt(s / (n - 1));
}
