/**
 * Plain-text layout without dependencies: the display width of a string in a terminal (CJK and
 * fullwidth characters count two columns) and an aligned text table built on it. Used by
 * `repro show` for tables and by steps/render/tidy.ts (which re-exports these) for model tables.
 *
 * @example
 * formatTextTable(['city', 'so2'], [['北京', '1.5'], ['Xi\'an', '12']], new Set([1]));
 */

/**
 * Display width of a string in a terminal: East Asian Wide and Fullwidth characters (CJK ideographs,
 * kana, Hangul, fullwidth forms, CJK punctuation) count 2, combining marks and zero-width characters 0,
 * everything else 1 (the wcwidth convention; ranges from Unicode's EastAsianWidth.txt, W and F).
 */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if ((cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x200b && cp <= 0x200f) || cp === 0xfeff || (cp >= 0xfe00 && cp <= 0xfe0f)) continue;
    const wide =
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0x303e) ||
      (cp >= 0x3041 && cp <= 0x33ff) ||
      (cp >= 0x3400 && cp <= 0x4dbf) ||
      (cp >= 0x4e00 && cp <= 0x9fff) ||
      (cp >= 0xa000 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) ||
      (cp >= 0x1f300 && cp <= 0x1f64f) ||
      (cp >= 0x1f900 && cp <= 0x1f9ff) ||
      (cp >= 0x20000 && cp <= 0x3fffd);
    w += wide ? 2 : 1;
  }
  return w;
}

/** Pad `s` to display width `w` (left-aligned, or right-aligned when `right`). */
export function padDisplay(s: string, w: number, right = false): string {
  const pad = ' '.repeat(Math.max(0, w - displayWidth(s)));
  return right ? pad + s : s + pad;
}

/**
 * A plain-text table of string cells aligned by display width: `header` then `rows`, columns
 * separated by two spaces, a dashed rule under the header; columns listed in `right` are
 * right-aligned (numbers), the others left-aligned. Used by `repro show` for any table.
 */
export function formatTextTable(header: string[], rows: string[][], right: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, j) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[j] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, j) => padDisplay(c, widths[j]!, right.has(j)))
      .join('  ')
      .replace(/\s+$/, '');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}
