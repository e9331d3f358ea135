/**
 * Number and text formatting shared by the table renderers (describe, tabulate, report).
 *
 * Conventions (as esttab / etable print them):
 * - fixed decimals (`digits`), minus sign as ASCII '-', and a negative number that rounds to zero
 *   is printed without its sign ("0.000", as the paper prints it, not "-0.000");
 * - stars: *** p < 0.01, ** p < 0.05, * p < 0.1 (strict inequalities, p = 0.05 gets one star);
 * - counts (N, clusters): {@link fmtInt} without separators (describe, comparisons: the paper prints
 *   5001), {@link fmtCount} with them (regression tables' Observations row: 5,001, as etable/esttab);
 * - coefficient/SE pairs with {@link adaptiveDigits}, so a nonzero value never prints as 0.000.
 *
 * @example
 * fmtNum(-0.0004, 3) // "0.000"
 * stars(0.049)       // "**"
 */

/** Star thresholds: p below the first gets ***, below the second **, below the third *. */
export const STAR_LEVELS = [0.01, 0.05, 0.1] as const;

/** The note sentence describing the star levels. */
export const STAR_NOTE = '*** p<0.01, ** p<0.05, * p<0.1';

/** Stars for a p-value: '***' if p < 0.01, '**' if p < 0.05, '*' if p < 0.1, else '' (also for a missing p). */
export function stars(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return '';
  if (p < STAR_LEVELS[0]) return '***';
  if (p < STAR_LEVELS[1]) return '**';
  if (p < STAR_LEVELS[2]) return '*';
  return '';
}

/**
 * `x` with `digits` decimals; '' for a missing value (null, undefined, NaN); '-0.000' becomes '0.000';
 * ±Infinity prints as 'Inf' / '-Inf'.
 */
export function fmtNum(x: number | null | undefined, digits: number): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '';
  if (!Number.isFinite(x)) return x > 0 ? 'Inf' : '-Inf';
  const s = x.toFixed(digits);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/**
 * Decimals for a coefficient and its standard error printed side by side ("adaptive digits", like
 * esttab's `a#` formats and fixest::etable's significant-digit rule): at least `digits`, more until
 * each nonzero finite value shows at least one significant digit, at most `max`. So a nonzero
 * estimate never prints as 0.000 (0.000) — 0.00042 (0.00011) prints as 0.0004 (0.0001).
 */
export function adaptiveDigits(values: (number | null | undefined)[], digits: number, max = 8): number {
  let d = digits;
  const need = (x: number) => Number.isFinite(x) && x !== 0 && Number(Math.abs(x).toFixed(d)) === 0;
  while (d < max && values.some((x) => typeof x === 'number' && need(x))) d++;
  return d;
}

/**
 * A coefficient-table number with {@link adaptiveDigits} already chosen: `fmtNum(x, d)`, except a
 * nonzero value that still rounds to zero at `d` = 8 decimals prints in scientific notation (2 significant
 * digits, e.g. "3.1e-10") rather than as 0.
 */
export function fmtCoef(x: number | null | undefined, d: number): string {
  if (typeof x === 'number' && Number.isFinite(x) && x !== 0 && Number(Math.abs(x).toFixed(d)) === 0) return x.toExponential(1);
  return fmtNum(x, d);
}

/** A count with a thousands separator (`sep`, default ','), e.g. 4551 → "4,551"; '' when missing. */
export function fmtCount(x: number | null | undefined, sep = ','): string {
  const s = fmtInt(x);
  if (s === '' || sep === '') return s;
  const neg = s.startsWith('-');
  const digitsOnly = neg ? s.slice(1) : s;
  return (neg ? '-' : '') + digitsOnly.replace(/\B(?=(\d{3})+(?!\d))/g, sep);
}

/** An integer count (N, clusters) without separators; '' when missing. */
export function fmtInt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '';
  return String(Math.round(x));
}

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const TEX_SPECIAL: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
  // with the default OT1 font encoding, bare < > | in text print as ¡ ¿ — (e.g. the star note's "p<0.01")
  '<': '\\textless{}',
  '>': '\\textgreater{}',
  '|': '\\textbar{}',
};
/** Unicode characters that appear in labels, mapped to LaTeX (math sub/superscripts, dashes, ≤ ≥). */
const TEX_UNICODE: Record<string, string> = {
  '²': '$^2$',
  '³': '$^3$',
  '₂': '$_2$',
  '−': '$-$',
  '–': '--',
  '—': '---',
  '≤': '$\\leq$',
  '≥': '$\\geq$',
  '×': '$\\times$',
  '±': '$\\pm$',
  'Ü': '\\"U',
  'ü': '\\"u',
};

/** Escape text for LaTeX (special characters, and the few Unicode symbols labels use). */
export function escapeTex(s: string): string {
  let out = '';
  for (const ch of s) out += TEX_SPECIAL[ch] ?? TEX_UNICODE[ch] ?? ch;
  return out;
}

/** Quote a CSV field when needed (RFC 4180). */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Escape a Markdown table cell (pipes, and star runs that Markdown would read as emphasis). */
export function escapeMd(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\*/g, '\\*').replace(/\n/g, ' ');
}
