/**
 * steps/common/diff-model.ts, the study's `diff` hook for `repro diff`: model rows per term
 * (Δ, Δ/SE_A, significance at 5% from p) and statistic rows; event-study rows per period
 * (significance from the 95% CI); other contracts → null. Rows are completed by the engine's
 * completeRow (engine/run-diff.ts). Inputs are hand-made; expectations are the definitions
 * applied to them.
 */
import { describe, expect, it } from 'vitest';
import { completeRow } from '../../../engine/run-diff.js';
import { diffArtifact } from '../../../steps/common/diff-model.js';
import type { EventStudyArtifact, ModelArtifact } from '../../../steps/common/contracts.js';

const coef = (term: string, estimate: number, se: number, p: number) => ({ term, estimate, se, t: estimate / se, p, ci_low: estimate - 2 * se, ci_high: estimate + 2 * se });
const model = (coefs: ReturnType<typeof coef>[], n: number, r2: number): ModelArtifact => ({ y: 'so2', n, clusters: 10, r2, r2_within: r2 / 2, fixed_effects: ['city_code', 'year'], vcov: { type: 'cluster', by: ['city_code'] }, coefficients: coefs, dropped: {} });

describe('diff hook: model', () => {
  const A = model([coef('did', -2, 0.5, 0.001), coef('pgdp', 0.3, 0.2, 0.04), coef('_cons', 10, 1, 0)], 100, 0.8);
  const B = model([coef('did', -1.8, 0.6, 0.01), coef('pgdp', 0.2, 0.2, 0.2), coef('indus', 1, 1, 0.5), coef('_cons', 10, 1, 0)], 99, 0.79);
  const rows = diffArtifact('model', A, B)!.map((r) => completeRow('baseline', 'model', r));
  const by = (what: string, item: string) => rows.find((r) => r.what === what && r.item === item)!;

  it('per term: estimates and SEs in A and B, Δ, Δ/SE_A, significance at 5% and its change', () => {
    const did = by('coef', 'did');
    expect([did.a, did.se_a, did.b, did.se_b]).toEqual([-2, 0.5, -1.8, 0.6]);
    expect(did.delta).toBeCloseTo(-1.8 - -2, 15);
    expect(did.delta_se).toBeCloseTo((-1.8 - -2) / 0.5, 15);
    expect([did.sig_a, did.sig_b, did.sig_changed, did.changed]).toEqual([1, 1, 0, 1]);
    const pgdp = by('coef', 'pgdp');
    expect([pgdp.sig_a, pgdp.sig_b, pgdp.sig_changed]).toEqual([1, 0, 1]); // p 0.04 → 0.2
    expect(by('coef', '_cons').changed).toBe(0);
    // a term only in B: a is missing, said so
    const indus = by('coef', 'indus');
    expect([indus.a, indus.a_text, indus.b, indus.delta]).toEqual([null, '(absent)', 1, null]);
  });

  it('N and R² rows, flagged when they change', () => {
    expect([by('stat', 'n').a, by('stat', 'n').b, by('stat', 'n').delta, by('stat', 'n').changed]).toEqual([100, 99, -1, 1]);
    expect(by('stat', 'r2').delta).toBeCloseTo(0.79 - 0.8, 15);
    expect(by('stat', 'clusters').changed).toBe(0);
  });

  it('other contracts, or values without the contract shape → null (the engine compares JSON leaves)', () => {
    expect(diffArtifact('placebo', A, B)).toBeNull();
    expect(diffArtifact(undefined, A, B)).toBeNull();
    expect(diffArtifact('model', { x: 1 }, B)).toBeNull();
  });
});

describe('diff hook: event study', () => {
  const period = (p: number, estimate: number, se: number, base = false) => ({ period: p, estimate, se, ci_low: estimate - 1.96 * se, ci_high: estimate + 1.96 * se, base });
  const es = (periods: ReturnType<typeof period>[], pre: number): EventStudyArtifact => ({ y: 'so2', n: 50, clusters: 5, base: -1, estimator: 'twfe', periods, vcov: { type: 'cluster', by: ['c'], periods: [], matrix: [] }, pretrend: { stat: 1, df1: 2, df2: 4, p: pre } });
  it('per period: Δ, Δ/SE_A, significance from the 95% CI; the base period says base; pre-trend p row', () => {
    const A = es([period(-2, 0.1, 0.2), period(-1, 0, 0, true), period(0, -1, 0.3), period(1, -0.5, 0.3)], 0.4);
    const B = es([period(-2, 0.1, 0.2), period(-1, 0, 0, true), period(0, -1.2, 0.3), period(1, -0.3, 0.3)], 0.5);
    const rows = diffArtifact('event-study', A, B)!.map((r) => completeRow('es', 'event', r));
    const at = (p: string) => rows.find((r) => r.what === 'period' && r.item === p)!;
    expect(at('-2').changed).toBe(0);
    expect(at('-1').a_text).toBe('base');
    expect(at('0').delta_se).toBeCloseTo((-1.2 - -1) / 0.3, 14);
    // period 1: -0.5 ± 0.588 → includes 0? -0.5 + 0.588 > 0 → not significant; -0.3 likewise
    expect([at('0').sig_a, at('0').sig_b]).toEqual([1, 1]);
    expect([at('1').sig_a, at('1').sig_b, at('1').sig_changed]).toEqual([0, 0, 0]);
    const pre = rows.find((r) => r.item === 'pretrend_p')!;
    expect([pre.a, pre.b, pre.changed]).toEqual([0.4, 0.5, 1]);
  });
});
