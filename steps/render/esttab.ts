/**
 * Regression-table layout in the esttab / etable style: one column per model, the coefficient with
 * stars and its standard error (or t statistic) in parentheses on the line beneath, fixed-effect
 * YES/NO rows, then N and R², and a note stating the SE type and the star levels.
 *
 * @example
 * const layout = regressionLayout(models, { digits: 3, paren: 'se', feLabels: { city: 'City FE' } });
 */
import type { Model, Coefficient } from './model.js';
import type { BodyRow, HeaderCell, TableLayout } from './layout.js';
import { STAR_NOTE, adaptiveDigits, fmtCoef, fmtCount, fmtNum, stars } from './format.js';

/** A row request: a term name, or a term with its printed label. */
export type RowSpec = string | { term: string; label?: string };

/** Model-level statistics that can be printed under the fixed effects. */
export type StatRow = 'n' | 'r2' | 'r2_within' | 'clusters' | 'wild_p';

export interface RegressionLayoutOptions {
  /** Caption. */
  title?: string;
  /** Header of the label column. Default 'Variable'. */
  stub?: string;
  /** Column labels (one per model), printed under the column numbers. Default: each model's outcome `y`. Empty strings hide it. */
  columns?: string[];
  /** Print a "(1) (2) ..." header row. Default true. */
  numbers?: boolean;
  /** Spanning header over groups of columns, e.g. [{label: 'PSM-DID', span: 1}, {label: 'Alternative outcomes', span: 2}]. */
  groups?: { label: string; span: number }[];
  /** Terms to show, in order (others are left out). Default: all terms, treatment first, `_cons` last. */
  rows?: RowSpec[];
  /** Terms to leave out. */
  drop?: string[];
  /** Printed labels of terms, e.g. {did: 'DID'}. Default: the term itself. */
  labels?: Record<string, string>;
  /** Decimals of coefficients, SEs and R². Default 3, bounds 0–8. */
  digits?: number;
  /**
   * Adaptive digits (default true): a coefficient and its SE get more decimals when a nonzero value
   * would round to zero at `digits` (see {@link adaptiveDigits}); false prints exactly `digits`.
   */
  adaptive?: boolean;
  /** Thousands separator of the Observations and Clusters rows (default ','; '' for none). */
  thousands?: string;
  /**
   * The `_cons` row: 'show' (default), 'hide', or 'auto' = hide when every model has fixed effects
   * (they absorb the intercept; the reghdfe constant ȳ − x̄′β̂ is then rarely reported).
   */
  cons?: 'show' | 'hide' | 'auto';
  /** What goes in parentheses: the standard error ('se', default) or the t statistic ('t'). */
  paren?: 'se' | 't';
  /** Add significance stars. Default true. */
  stars?: boolean;
  /** Labels of fixed-effect rows, e.g. {city: 'City FE', year: 'Year FE'}. Default "<Name> FE". */
  feLabels?: Record<string, string>;
  /**
   * Names of cluster variables in the SE note, e.g. {city_code: 'city'}. Default: the variable's
   * fixed-effect label without " FE", lower-cased (feLabels {city_code: 'City FE'} → "clustered by
   * city"), else the variable name.
   */
  clusterLabels?: Record<string, string>;
  /** Fixed effects to list, in order. Default: every fixed effect of any model, in order of appearance. */
  fe?: string[];
  /** Statistics rows. Default ['n', 'r2', 'r2_within'] (within R² next to R², as fixest::etable prints it). */
  stats?: StatRow[];
  /** Extra note lines (after the SE/star note). */
  notes?: string[];
  /** Anchor id for HTML / \label for LaTeX. */
  id?: string;
}

export const STAT_LABELS: Record<StatRow, string> = { n: 'Observations', r2: 'R²', r2_within: 'Within R²', clusters: 'Clusters', wild_p: 'Wild bootstrap p' };

/** Default statistics rows. */
export const DEFAULT_STATS: StatRow[] = ['n', 'r2', 'r2_within'];

/** "city" → "City FE". */
export function defaultFeLabel(fe: string): string {
  return `${fe.charAt(0).toUpperCase()}${fe.slice(1)} FE`;
}

/**
 * The default row order: the first term of the first model (the treatment, by the model contract), then
 * every other term in order of first appearance across models, with `_cons` last.
 */
export function defaultTermOrder(models: Model[]): string[] {
  const seen: string[] = [];
  for (const m of models) for (const c of m.coefficients) if (!seen.includes(c.term)) seen.push(c.term);
  const cons = seen.filter((t) => t === '_cons');
  return [...seen.filter((t) => t !== '_cons'), ...cons];
}

/** A sentence describing the variance estimator of a model's vcov, e.g. "clustered by city"; `label` names a cluster variable. */
export function describeVcov(v: Model['vcov'], label: (by: string) => string = (b) => b): string {
  if (!v) return 'of unknown type';
  const by = v.by === null || v.by === undefined ? '' : (Array.isArray(v.by) ? v.by : [v.by]).map(label).join(' and ');
  const ty = v.type.toLowerCase();
  if (ty === 'wild-cluster') return `clustered by ${by || 'cluster'}`;
  // did-cs: multiplier-bootstrap or analytic influence-function SEs (clustered by the unit or `cluster`)
  if (ty === 'multiplier-bootstrap') return `from the multiplier bootstrap${by ? `, clustered by ${by}` : ''}`;
  if (ty === 'influence-function') return `from the influence function${by ? `, clustered by ${by}` : ''}`;
  if (/clust|^cr/.test(ty)) return `clustered by ${by || 'cluster'}${ty === 'cluster' || ty === 'clustered' ? '' : ` (${v.type.toUpperCase()})`}`;
  if (/hc|robust|hetero/.test(ty)) return `heteroskedasticity-robust (${ty === 'robust' ? 'HC1' : v.type.toUpperCase()})`;
  if (/iid|standard|ols|conventional/.test(ty)) return 'conventional (iid)';
  return `of type ${v.type}${by ? ` by ${by}` : ''}`;
}

/**
 * The wild cluster bootstrap p-value of a model's treatment (its first coefficient, by the model
 * contract): the coefficient's `p` when `vcov.bootstrap` is present (estimate with `vcov: {type:
 * wild-cluster}` moves the analytic p to `p_cr1` and writes the bootstrap p in `p`); null otherwise,
 * printed as an empty cell.
 */
export function wildP(m: Model): number | null {
  const b = (m.vcov as { bootstrap?: unknown } | undefined)?.bootstrap;
  if (b === undefined || b === null) return null;
  return m.coefficients[0]?.p ?? null;
}

/** The note under a table with a wild_p row: which bootstrap gave the p-values (and where stars follow it). */
export function wildNote(models: Model[], label: (by: string) => string = (b) => b): string {
  const kinds = new Set<string>();
  for (const m of models) {
    const v = m.vcov as { by?: string | string[] | null; bootstrap?: { reps?: number; weights?: string; enumerated?: boolean; impose_null?: boolean } } | undefined;
    const b = v?.bootstrap;
    if (!b) continue;
    const by = v?.by === null || v?.by === undefined ? 'cluster' : (Array.isArray(v.by) ? v.by : [v.by]).map(label).join(' and ');
    kinds.add(`${b.impose_null === false ? 'WCU' : 'WCR'}, ${b.weights ?? 'rademacher'} weights, ${b.enumerated ? 'all sign vectors enumerated' : `${b.reps} draws`}, clusters by ${by}`);
  }
  if (kinds.size === 0) return 'Wild bootstrap p: none of the models has a wild cluster bootstrap (give the estimate vcov: {type: wild-cluster, ...}).';
  return `Wild bootstrap p: wild cluster bootstrap p-value of the treatment coefficient (${[...kinds].join('; ')}); its stars follow this p-value; a blank cell: no bootstrap for that model.`;
}

/** The note line: what the parentheses hold, the SE type(s) and the star levels. */
export function seNote(models: Model[], paren: 'se' | 't', withStars: boolean, label?: (by: string) => string): string {
  const kinds = models.map((m) => describeVcov(m.vcov, label));
  const uniq = [...new Set(kinds)];
  const seText =
    uniq.length === 1 ? `standard errors ${uniq[0]}` : `standard errors: ${kinds.map((k, i) => `(${i + 1}) ${k}`).join('; ')}`;
  const head = paren === 'se' ? `Standard errors in parentheses; ${seText}.` : `t statistics in parentheses; ${seText}.`;
  return withStars ? `${head} ${STAR_NOTE}.` : head;
}

function coefOf(m: Model, term: string): Coefficient | undefined {
  return m.coefficients.find((c) => c.term === term);
}

/** Build the layout of a regression table from models (in column order). */
export function regressionLayout(models: Model[], o: RegressionLayoutOptions = {}): TableLayout {
  if (models.length === 0) throw new Error('regressionLayout: at least one model is required');
  const digits = o.digits ?? 3;
  const paren = o.paren ?? 'se';
  const useStars = o.stars ?? true;
  const labels = o.labels ?? {};
  const drop = new Set(o.drop ?? []);
  const clusterLabel = (by: string): string => {
    const explicit = o.clusterLabels?.[by];
    if (explicit !== undefined) return explicit;
    const fe = /^(.+?)\s+FE$/i.exec(o.feLabels?.[by] ?? '');
    return fe ? fe[1]!.toLowerCase() : by;
  };

  const rowSpecs: { term: string; label: string }[] = (o.rows ?? defaultTermOrder(models))
    .map((r) => (typeof r === 'string' ? { term: r, label: labels[r] ?? r } : { term: r.term, label: r.label ?? labels[r.term] ?? r.term }))
    .filter((r) => !drop.has(r.term));
  const cons = o.cons ?? 'show';
  const hideCons = cons === 'hide' || (cons === 'auto' && models.every((m) => m.fixed_effects.length > 0));
  if (hideCons) rowSpecs.splice(0, rowSpecs.length, ...rowSpecs.filter((r) => r.term !== '_cons'));
  const adaptive = o.adaptive ?? true;
  const sep = o.thousands ?? ',';

  const header: HeaderCell[][] = [];
  if (o.groups && o.groups.length) header.push(o.groups.map((g) => ({ text: g.label, span: g.span })));
  if (o.numbers ?? true) header.push(models.map((_, i) => ({ text: `(${i + 1})` })));
  const colLabels = o.columns ?? models.map((m) => m.y);
  if (colLabels.some((c) => c !== '')) header.push(colLabels.map((c) => ({ text: c })));

  const body: BodyRow[] = [];
  for (const r of rowSpecs) {
    const est: string[] = [];
    const par: string[] = [];
    for (const m of models) {
      const c = coefOf(m, r.term);
      if (!c || c.estimate === null) {
        est.push(c ? '(omitted)' : '');
        par.push('');
        continue;
      }
      const inner = paren === 'se' ? c.se : (c.t ?? (c.se ? c.estimate / c.se : null));
      const d = adaptive ? adaptiveDigits([c.estimate, inner], digits) : digits;
      const fmt = adaptive ? fmtCoef : fmtNum;
      est.push(fmt(c.estimate, d) + (useStars ? stars(c.p) : ''));
      const s = fmt(inner, d);
      par.push(s === '' ? '' : `(${s})`);
    }
    body.push({ label: r.label, cells: est, kind: 'coef' });
    body.push({ label: '', cells: par, kind: 'se' });
  }

  const feList: string[] = o.fe ?? [];
  if (!o.fe) for (const m of models) for (const f of m.fixed_effects) if (!feList.includes(f)) feList.push(f);
  feList.forEach((f, i) => {
    body.push({
      label: o.feLabels?.[f] ?? defaultFeLabel(f),
      cells: models.map((m) => (m.fixed_effects.includes(f) ? 'YES' : 'NO')),
      kind: 'fe',
      ruleAbove: i === 0,
    });
  });

  (o.stats ?? DEFAULT_STATS).forEach((s, i) => {
    const cells = models.map((m) => {
      if (s === 'n') return fmtCount(m.n, sep);
      if (s === 'clusters') return fmtCount(m.clusters, sep);
      if (s === 'wild_p') return fmtNum(wildP(m), 3);
      return fmtNum(s === 'r2' ? m.r2 : m.r2_within, digits);
    });
    body.push({ label: STAT_LABELS[s], cells, kind: 'stat', ruleAbove: i === 0 });
  });

  return {
    title: o.title,
    stub: o.stub ?? 'Variable',
    header,
    body,
    notes: [seNote(models, paren, useStars, clusterLabel), ...((o.stats ?? DEFAULT_STATS).includes('wild_p') ? [wildNote(models, clusterLabel)] : []), ...(o.notes ?? [])],
    id: o.id,
  };
}
