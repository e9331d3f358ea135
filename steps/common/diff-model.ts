/**
 * The study's `diff` hook (engine/registry.ts `loadDiffer`, used by `repro diff`): how two versions
 * of a result artifact differ, keyed by the artifact contract name (steps/common/contracts.ts).
 *
 * - `model`: one `coef` row per term (estimate and SE in A and B, Δ = b − a, Δ/SE_A, p in A and B,
 *   significance at 5% in each and whether it changed), then `stat` rows for N, R², within R² and
 *   the number of clusters.
 * - `event-study`: one `period` row per relative period (significance at 5%: the 95% CI excludes
 *   0, the contract carries no p-values per period), then `stat` rows for N and the joint
 *   pre-trend test (stat, p).
 * Other contracts: null (the engine compares the JSON leaves).
 *
 * Rows are plain data (engine/run-diff.ts `PartialRow`); the engine fills in Δ, Δ/SE_A and
 * `sig_changed` where a row leaves them out.
 */
import type { PartialRow } from '../../engine/run-diff.js';
import { CONTRACT, type EventStudyArtifact, type ModelArtifact } from './contracts.js';

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
/** Significant at 5% from a p-value (undefined when there is none). */
const sigP = (p: unknown): number | undefined => (num(p) === undefined ? undefined : (p as number) < 0.05 ? 1 : 0);
/** Significant at 5% from a 95% CI: it excludes 0. */
const sigCi = (lo: unknown, hi: unknown): number | undefined => (num(lo) === undefined || num(hi) === undefined ? undefined : (lo as number) > 0 || (hi as number) < 0 ? 1 : 0);

function stat(item: string, a: unknown, b: unknown): PartialRow {
  const x = num(a);
  const y = num(b);
  return { what: 'stat', item, ...(x !== undefined ? { a: x } : {}), ...(y !== undefined ? { b: y } : {}), changed: x !== y ? 1 : 0 };
}

/** `model` vs `model`: coefficient and statistic rows (see the header). */
export function diffModels(a: ModelArtifact, b: ModelArtifact): PartialRow[] {
  const rows: PartialRow[] = [];
  const ca = new Map(a.coefficients.map((c) => [c.term, c]));
  const cb = new Map(b.coefficients.map((c) => [c.term, c]));
  // B's term order (the treatment first), then terms only in A
  const terms = [...cb.keys(), ...[...ca.keys()].filter((t) => !cb.has(t))];
  for (const term of terms) {
    const x = ca.get(term);
    const y = cb.get(term);
    const r: PartialRow = { what: 'coef', item: term };
    if (x) Object.assign(r, { a: x.estimate, se_a: x.se, ...(num(x.p) !== undefined ? { p_a: x.p } : {}), ...(sigP(x.p) !== undefined ? { sig_a: sigP(x.p) } : {}) });
    if (y) Object.assign(r, { b: y.estimate, se_b: y.se, ...(num(y.p) !== undefined ? { p_b: y.p } : {}), ...(sigP(y.p) !== undefined ? { sig_b: sigP(y.p) } : {}) });
    if (!x) r.a_text = '(absent)';
    if (!y) r.b_text = '(absent)';
    rows.push(r);
  }
  rows.push(stat('n', a.n, b.n), stat('r2', a.r2, b.r2), stat('r2_within', a.r2_within, b.r2_within), stat('clusters', a.clusters, b.clusters));
  return rows;
}

/** `event-study` vs `event-study`: period and statistic rows (see the header). */
export function diffEventStudies(a: EventStudyArtifact, b: EventStudyArtifact): PartialRow[] {
  const rows: PartialRow[] = [];
  const pa = new Map(a.periods.map((p) => [p.period, p]));
  const pb = new Map(b.periods.map((p) => [p.period, p]));
  const periods = [...new Set([...pa.keys(), ...pb.keys()])].sort((x, y) => x - y);
  for (const period of periods) {
    const x = pa.get(period);
    const y = pb.get(period);
    const r: PartialRow = { what: 'period', item: String(period) };
    const side = (p: typeof x, s: 'a' | 'b'): void => {
      if (!p) {
        r[`${s}_text`] = '(absent)';
        return;
      }
      if (num(p.estimate) !== undefined) r[s] = p.estimate as number;
      if (num(p.se) !== undefined) r[`se_${s}`] = p.se as number;
      const sig = p.base ? undefined : sigCi(p.ci_low, p.ci_high);
      if (sig !== undefined) r[`sig_${s}`] = sig;
      if (p.base) r[`${s}_text`] = 'base';
    };
    side(x, 'a');
    side(y, 'b');
    rows.push(r);
  }
  rows.push(stat('n', a.n, b.n), stat('pretrend_stat', a.pretrend?.stat, b.pretrend?.stat), stat('pretrend_p', a.pretrend?.p, b.pretrend?.p));
  return rows;
}

const looksModel = (v: unknown): v is ModelArtifact => isObj(v) && Array.isArray(v.coefficients);
const looksEvent = (v: unknown): v is EventStudyArtifact => isObj(v) && Array.isArray(v.periods);

/** The hook: rows for the contracts it knows, null otherwise (also when a value does not have the contract's shape). */
export function diffArtifact(contract: string | undefined, a: unknown, b: unknown): PartialRow[] | null {
  if (contract === CONTRACT.model && looksModel(a) && looksModel(b)) return diffModels(a, b);
  if (contract === CONTRACT.eventStudy && looksEvent(a) && looksEvent(b)) return diffEventStudies(a, b);
  return null;
}
