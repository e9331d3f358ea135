/**
 * "Did you mean" suggestions for error messages: Levenshtein edit distance and the nearest names.
 *
 * @example
 * nearest('urbanpop', ['urban_pop', 'urb', 'year'], 1); // ['urban_pop']
 */

/** Levenshtein distance between two strings (insertions, deletions, substitutions cost 1). */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

/**
 * Up to `k` candidates nearest to `name` (case-insensitive), ties in candidate order, keeping only
 * those within `maxDistance` edits (default: a third of the name's length, at least 2).
 */
export function nearest(name: string, candidates: string[], k = 1, maxDistance = Math.max(2, Math.floor(name.length / 3))): string[] {
  const lower = name.toLowerCase();
  return candidates
    .map((c, i) => ({ c, i, d: editDistance(lower, c.toLowerCase()) }))
    .filter((x) => x.d <= maxDistance)
    .sort((x, y) => x.d - y.d || x.i - y.i)
    .slice(0, k)
    .map((x) => x.c);
}
