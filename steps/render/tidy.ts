/**
 * Tidy coefficient tables in the `broom::tidy` / `modelsummary` convention, and a plain-text table
 * aligned by display width (CJK characters count two columns) for `repro show`.
 *
 * One row per coefficient: `term, estimate, std_error, statistic, p_value, conf_low, conf_high`
 * (broom's names; `statistic` is the t statistic estimate/SE), plus the model-level columns
 * `nobs, r2, r2_within, vcov, clusters` repeated on every row (as `broom::glance` would give them
 * once) so the file is one rectangular table that pandas and R read with their defaults.
 *
 * The model JSON contract (DESIGN.md) is the source and is not changed: tidy rows are derived
 * from it, by tabulate (output `tidy`) and by `repro show MODEL`.
 *
 * @example
 * const rows = tidyModel(model);           // TidyRow[]
 * console.log(formatTidyTable(rows));      // aligned text
 * writeFileSync('m.csv', tidyCsv(rows));   // numeric CSV
 */
import { makeTable, type Table } from '../../engine/table.js';
import { csvField } from './format.js';
import { displayWidth, formatTextTable, padDisplay } from '../../engine/text.js';
import { modelSchema, type Model } from './model.js';

// generic text layout lives in the engine (the CLI uses it; the engine must not import steps/)
export { displayWidth, formatTextTable, padDisplay };

export interface TidyRow {
  term: string;
  estimate: number | null;
  std_error: number | null;
  statistic: number | null;
  p_value: number | null;
  conf_low: number | null;
  conf_high: number | null;
  nobs: number | null;
  r2: number | null;
  r2_within: number | null;
  /** The variance estimator, e.g. "cluster: city_code", "hc1", "iid". */
  vcov: string | null;
  clusters: number | null;
}

export const TIDY_COLUMNS = ['term', 'estimate', 'std_error', 'statistic', 'p_value', 'conf_low', 'conf_high', 'nobs', 'r2', 'r2_within', 'vcov', 'clusters'] as const;

const n = (x: number | null | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** "cluster: city_code" / "hc1" / null: the model's vcov as one string. */
export function vcovString(v: Model['vcov']): string | null {
  if (!v) return null;
  const by = v.by === null || v.by === undefined ? [] : Array.isArray(v.by) ? v.by : [v.by];
  return by.length ? `${v.type}: ${by.join(' + ')}` : v.type;
}

/** The tidy rows of a model (coefficients in the model's order; statistic = t, else estimate / SE). */
export function tidyModel(m: Model): TidyRow[] {
  const vc = vcovString(m.vcov);
  return m.coefficients.map((c) => {
    const est = n(c.estimate);
    const se = n(c.se);
    const t = n(c.t) ?? (est !== null && se !== null && se !== 0 ? est / se : null);
    return {
      term: c.term,
      estimate: est,
      std_error: se,
      statistic: t,
      p_value: n(c.p),
      conf_low: n(c.ci_low),
      conf_high: n(c.ci_high),
      nobs: n(m.n),
      r2: n(m.r2),
      r2_within: n(m.r2_within),
      vcov: vc,
      clusters: n(m.clusters),
    };
  });
}

/**
 * The tidy rows of several models as one table (tabulate's `tidy` output): columns `model` (1-based
 * column number), `column` (its printed label), `y`, then {@link TIDY_COLUMNS}. Numbers are Float64
 * with NaN for missing (Arrow nulls are not used by the engine's tables; CSV export prints them empty).
 */
export function tidyTable(models: Model[], columns: string[]): Table {
  const rows = models.flatMap((m, i) => tidyModel(m).map((r) => ({ model: i + 1, column: columns[i] ?? '', y: m.y, ...r })));
  const numeric = new Set(['model', 'estimate', 'std_error', 'statistic', 'p_value', 'conf_low', 'conf_high', 'nobs', 'r2', 'r2_within', 'clusters']);
  const names = ['model', 'column', 'y', ...TIDY_COLUMNS];
  const cols: Record<string, Float64Array | (string | null)[]> = {};
  for (const name of names) {
    const vals = rows.map((r) => (r as Record<string, unknown>)[name]);
    cols[name] = numeric.has(name) ? Float64Array.from(vals, (v) => (typeof v === 'number' ? v : NaN)) : vals.map((v) => (v === null || v === undefined ? null : String(v)));
  }
  return makeTable(cols, names);
}

/** Shortest round-trip text of a number ('' for missing): CSV keeps full precision. */
const numText = (x: number | null): string => (x === null ? '' : String(x));

/** The tidy rows as CSV (header + one line per term; numbers unformatted, missing as empty), CRLF line ends. */
export function tidyCsv(rows: TidyRow[]): string {
  const lines = [TIDY_COLUMNS.join(',')];
  for (const r of rows) lines.push(TIDY_COLUMNS.map((c) => (typeof r[c] === 'number' || r[c] === null ? numText(r[c] as number | null) : csvField(String(r[c])))).join(','));
  return lines.join('\r\n') + '\r\n';
}

/**
 * The tidy rows of a model as an aligned text table for `repro show MODEL`: the coefficient columns
 * (numbers with `digits` significant digits, as R prints a tibble), then one line per model-level
 * statistic under it (nobs, r2, r2_within, vcov, clusters — the same on every row).
 */
export function formatTidyTable(rows: TidyRow[], digits = 4): string {
  const cols = ['term', 'estimate', 'std_error', 'statistic', 'p_value', 'conf_low', 'conf_high'] as const;
  const num = (x: number | null) => (x === null ? 'NA' : Math.abs(x) >= 1e-4 && Math.abs(x) < 1e7 ? String(Number(x.toPrecision(digits))) : x === 0 ? '0' : x.toExponential(digits - 1));
  const body = rows.map((r) => cols.map((c) => (c === 'term' ? r.term : num(r[c]))));
  const right = new Set(cols.map((_, j) => j).filter((j) => j > 0));
  let out = formatTextTable([...cols], body, right);
  const r0 = rows[0];
  if (r0) {
    const meta: [string, string][] = [
      ['nobs', r0.nobs === null ? 'NA' : String(r0.nobs)],
      ['r2', num(r0.r2)],
      ['r2_within', num(r0.r2_within)],
      ['vcov', r0.vcov ?? 'NA'],
      ['clusters', r0.clusters === null ? 'NA' : String(r0.clusters)],
    ];
    out += '\n' + meta.map(([k, v]) => `${padDisplay(k, 9)}  ${v}`).join('\n') + '\n';
  }
  return out;
}

/**
 * What `repro show MODEL` prints for a JSON artifact: when `value` follows the model contract
 * (DESIGN.md), its tidy table aligned ({@link formatTidyTable}) or, with `csv`, as CSV
 * ({@link tidyCsv}); null for any other JSON (the CLI then prints the JSON as today).
 *
 * @example
 * const text = showModel(artifact.value, { csv: flags.csv }); if (text !== null) process.stdout.write(text);
 */
export function showModel(value: unknown, o: { csv?: boolean; digits?: number } = {}): string | null {
  const r = modelSchema.safeParse(value);
  if (!r.success) return null;
  const rows = tidyModel(r.data);
  return o.csv ? tidyCsv(rows) : formatTidyTable(rows, o.digits);
}
