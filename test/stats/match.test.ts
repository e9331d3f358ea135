/**
 * stats/match.ts and stats/balance.ts against MatchIt (test/golden/match/match.R → match.json):
 * the match matrix must be identical (ties included), weights and balance statistics equal to 1e-10,
 * on the seeded fixture and on the real city panel. Also: with our own logit/probit scores, the
 * pairs are still identical to MatchIt's.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { nearestNeighbor, matchWithin, attWeights, sampleSd, type NearestResult, type MatchOrder } from '../../stats/match.js';
import { balanceTable } from '../../stats/balance.js';
import { fitBinary } from '../../stats/glm.js';
import { numCol, strCol, takeRows, type Table } from '../../engine/table.js';
import { readCsvTable, PSM_FIXTURE } from '../fixtures/psm-fixture.js';
import { needsSharedData, sharedData } from '../shared-data.js';

interface Bal { covariate: string[]; mean_treated: number[]; mean_control: number[]; smd: number[]; var_ratio: (number | null)[] }
interface Case {
  name: string; data: 'fixture' | 'so2'; treat: string; covariates: string[];
  params: { order?: MatchOrder; replace?: boolean; ratio?: number; caliper?: number; caliper_scale?: 'ps' | 'sd'; by?: string; model?: 'logit' | 'probit'; distance?: 'ps' | 'logit' };
  distance: number[]; caliper: number | null; match_matrix: (number | null)[][]; weights: number[];
  balance_all: Bal; balance_matched: Bal;
}
const golden = JSON.parse(readFileSync('test/golden/match/match.json', 'utf8')) as { cases: Case[] };
const SO2_REL = 'china-city-so2-2011-2019/panel_data_so2_new.csv';
const SO2 = sharedData(SO2_REL);
/** `it`, skipped with a message when the case reads the shared SO2 panel and it is absent. */
const itFor = (c: Case) => needsSharedData(...(c.data === 'so2' ? [SO2_REL] : [])).it;
const so2Vars = ['if_officialWechat', 'gdp_percapita', 'Proportion_SecondaryIndustry', 'PopulationDensity'];

const tables = new Map<string, Table>();
function table(which: 'fixture' | 'so2'): Table {
  let t = tables.get(which);
  if (!t) {
    if (which === 'fixture') t = readCsvTable(PSM_FIXTURE);
    else {
      const raw = readCsvTable(SO2);
      const idx: number[] = [];
      for (let i = 0; i < raw.nrows; i++) if (so2Vars.every((c) => Number.isFinite(numCol(raw, c)[i]!))) idx.push(i);
      t = takeRows(raw, idx);
    }
    tables.set(which, t);
  }
  return t;
}

function caliperOf(c: Case, dist: ArrayLike<number>): number | undefined {
  const p = c.params;
  if (p.caliper === undefined) return undefined;
  return p.caliper_scale === 'ps' ? p.caliper : p.caliper * sampleSd(dist);
}

function runCase(c: Case, dist: ArrayLike<number>): NearestResult {
  const t = table(c.data);
  const treat = numCol(t, c.treat);
  const opts = { ratio: c.params.ratio ?? 1, replace: c.params.replace ?? false, order: c.params.order ?? 'largest', caliper: caliperOf(c, dist) };
  if (c.params.by) return matchWithin(treat, dist, strCol(t, c.params.by) as string[], opts);
  return nearestNeighbor(treat, dist, opts);
}

/** Our match matrix as MatchIt's: column r = round r, 1-based rows, null = none. */
function asMatrix(m: NearestResult): (number | null)[][] {
  return Array.from({ length: m.ratio }, (_, r) => Array.from(m.treated, (_, t) => {
    const v = m.matches[t * m.ratio + r]!;
    return v < 0 ? null : v + 1;
  }));
}
const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(b), 1e-12));

describe('nearestNeighbor vs MatchIt (given MatchIt\'s distance)', () => {
  for (const c of golden.cases) {
    itFor(c)(`${c.name}: identical match matrix, weights and balance`, () => {
      const dist = Float64Array.from(c.distance);
      if (c.caliper !== null) expect(rel(caliperOf(c, dist)!, c.caliper)).toBeLessThan(1e-12);
      const m = runCase(c, dist);
      expect(asMatrix(m)).toEqual(c.match_matrix);
      const w = attWeights(dist.length, m);
      w.forEach((v, i) => expect(Math.abs(v - c.weights[i]!)).toBeLessThan(1e-12));
      // balance: MatchIt's summary rows are the distance then the covariates
      const t = table(c.data);
      const covs = [{ name: 'distance', values: dist }, ...c.balance_all.covariate.slice(1).map((name) => ({ name, values: numCol(t, name) }))];
      const bal = balanceTable(covs, numCol(t, c.treat), w);
      bal.forEach((b, j) => {
        expect(b.covariate).toBe(c.balance_all.covariate[j]);
        expect(rel(b.mean_treated, c.balance_all.mean_treated[j]!)).toBeLessThan(1e-10);
        expect(rel(b.mean_control, c.balance_all.mean_control[j]!)).toBeLessThan(1e-10);
        expect(rel(b.mean_treated_matched, c.balance_matched.mean_treated[j]!)).toBeLessThan(1e-10);
        expect(rel(b.mean_control_matched, c.balance_matched.mean_control[j]!)).toBeLessThan(1e-10);
        expect(rel(b.smd_before, c.balance_all.smd[j]!)).toBeLessThan(1e-9);
        expect(rel(b.smd_after, c.balance_matched.smd[j]!)).toBeLessThan(1e-9);
        const vb = c.balance_all.var_ratio[j] ?? NaN, va = c.balance_matched.var_ratio[j] ?? NaN;
        if (Number.isNaN(vb)) expect(b.var_ratio_before).toBeNaN(); else expect(rel(b.var_ratio_before, vb)).toBeLessThan(1e-9);
        if (Number.isNaN(va)) expect(b.var_ratio_after).toBeNaN(); else expect(rel(b.var_ratio_after, va)).toBeLessThan(1e-9);
      });
    });
  }
});

describe('end to end with our own propensity model', () => {
  for (const c of golden.cases) {
    itFor(c)(`${c.name}: our ${c.params.model ?? 'logit'} scores agree to 1e-8 and give the same pairs`, () => {
      const t = table(c.data);
      const fit = fitBinary({ y: numCol(t, c.treat), X: c.covariates.map((v) => numCol(t, v)), names: c.covariates, link: c.params.model ?? 'logit' });
      const dist = c.params.distance === 'logit' ? fit.linear : fit.fitted;
      let worst = 0;
      dist.forEach((v, i) => (worst = Math.max(worst, rel(v, c.distance[i]!))));
      expect(worst).toBeLessThan(1e-8);
      expect(asMatrix(runCase(c, dist))).toEqual(c.match_matrix);
    });
  }
});

describe('nearestNeighbor edge cases', () => {
  it('equal gaps on both sides go to the lower score; exact ties in score keep data order', () => {
    // sorted: c0(0.2) t(0.3) c1(0.4) — equal gaps: left (lower score) wins
    expect(Array.from(nearestNeighbor([0, 1, 0], [0.2, 0.3, 0.4]).matches)).toEqual([0]);
    // two controls with the same score: the first in data order is taken first
    expect(Array.from(nearestNeighbor([0, 0, 1], [0.5, 0.5, 0.45]).matches)).toEqual([0]);
  });
  it('caliper: a treated unit whose nearest available control is too far stays unmatched', () => {
    const m = nearestNeighbor([1, 0, 1, 0], [0.1, 0.12, 0.5, 0.9], { caliper: 0.05 });
    expect(Array.from(m.matches)).toEqual([1, -1]);
    expect(Array.from(attWeights(4, m))).toEqual([1, 1, 0, 0]);
  });
  it('without replacement each control is used once; largest-first order decides who gets it', () => {
    // t0 (0.50) and t1 (0.60) both nearest to c (0.58); largest first → t1 gets it, t0 the next one
    const m = nearestNeighbor([1, 1, 0, 0], [0.5, 0.6, 0.58, 0.3], { order: 'largest' });
    expect(Array.from(m.matches)).toEqual([3, 2]);
    const d = nearestNeighbor([1, 1, 0, 0], [0.5, 0.6, 0.58, 0.3], { order: 'smallest' });
    expect(Array.from(d.matches)).toEqual([2, 3]);
  });
  it('random order uses the given permutation and rejects a bad one', () => {
    const m = nearestNeighbor([1, 1, 0, 0], [0.5, 0.6, 0.58, 0.3], { order: 'random', permutation: [0, 1] });
    expect(Array.from(m.matches)).toEqual([2, 3]);
    expect(() => nearestNeighbor([1, 1, 0], [0.5, 0.6, 0.58], { order: 'random', permutation: [0, 0] })).toThrow(/permutation/);
  });
  it('rejects bad input', () => {
    expect(() => nearestNeighbor([1, 2], [0.1, 0.2])).toThrow(/treat must be 0 or 1, row 2/);
    expect(() => nearestNeighbor([1, 0], [0.1, NaN])).toThrow(/not finite in row 2/);
    expect(() => nearestNeighbor([1, 0], [0.1, 0.2], { ratio: 0 })).toThrow(/ratio/);
  });
});
