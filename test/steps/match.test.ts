/**
 * The `match` step: same pairs/weights/balance as MatchIt (golden case A_caliper_ps, the paper's
 * psmatch2-style caliper), outputs in the documented shape, determinism of `order: random`, the
 * hand-off of `sample` to `estimate` (PSM-DID), and its errors.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import match from '../../steps/match.js';
import estimate from '../../steps/estimate.js';
import { StepError } from '../../engine/types.js';
import { makeTable, numCol, strCol, toRows, withColumn, type Table } from '../../engine/table.js';
import { readCsvTable, PSM_FIXTURE } from '../fixtures/psm-fixture.js';
import { makeCtx, runStep, tableOf, jsonOf } from './ctx.js';
import { needsSharedData, sharedData } from '../shared-data.js';

const golden = JSON.parse(readFileSync('test/golden/match/match.json', 'utf8')) as { cases: any[] };
const fixture = readCsvTable(PSM_FIXTURE);
const tableIn = (t: Table) => ({ panel: { type: 'table' as const, table: t } });

describe('match step', () => {
  it('reproduces MatchIt (A_caliper_ps): pairs, weights, balance; outputs in order sample, pairs, balance', async () => {
    const g = golden.cases.find((c) => c.name === 'A_caliper_ps');
    const fake = makeCtx();
    const out = await runStep(match, { treat: 'treat', covariates: ['x1', 'x2', 'x3'], caliper: 0.01, caliper_scale: 'ps', id: 'id' }, tableIn(fixture), fake);
    expect(Object.keys(out)).toEqual(['sample', 'pairs', 'balance']);
    const ids = strCol(fixture, 'id');
    const treatedIds = ids.filter((_, i) => numCol(fixture, 'treat')[i] === 1);
    const expected = (g.match_matrix[0] as (number | null)[])
      .map((c, t) => (c === null ? null : [treatedIds[t], ids[c - 1]]))
      .filter((x): x is [string, string] => x !== null);
    const pairs = tableOf(out.pairs);
    expect(pairs.names).toEqual(['treated', 'control', 'treated_row', 'control_row', 'ps_treated', 'ps_control', 'distance', 'round']);
    expect(strCol(pairs, 'treated').map((t, k) => [t, strCol(pairs, 'control')[k]])).toEqual(expected);
    for (const d of numCol(pairs, 'distance')) expect(d).toBeLessThanOrEqual(0.01);
    const sample = tableOf(out.sample);
    expect(sample.names).toEqual([...fixture.names, '_weight', '_ps', '_matched']);
    const sid = strCol(sample, 'id');
    sid.forEach((id, k) => {
      const i = ids.indexOf(id);
      expect(Math.abs(numCol(sample, '_weight')[k]! - g.weights[i])).toBeLessThan(1e-12);
      expect(Math.abs(numCol(sample, '_ps')[k]! - g.distance[i]) / g.distance[i]).toBeLessThan(1e-8);
    });
    expect(sample.nrows).toBe(g.weights.filter((w: number) => w > 0).length);
    const bal = toRows(tableOf(out.balance));
    expect(bal.map((r) => r.covariate)).toEqual(['_ps', 'x1', 'x2', 'x3']);
    bal.forEach((r, j) => {
      expect(Math.abs((r.smd_after as number) - g.balance_matched.smd[j]) / Math.abs(g.balance_matched.smd[j])).toBeLessThan(1e-6);
      expect(Math.abs((r.smd_before as number) - g.balance_all.smd[j]) / Math.abs(g.balance_all.smd[j])).toBeLessThan(1e-6);
    });
    expect(bal[3]!.var_ratio_after).toBeNull(); // binary covariate: no variance ratio, as MatchIt
    expect(fake.infos.join('\n')).toMatch(/matched 65 of 85 treated \(20 unmatched\) to 65 distinct control\(s\) of 215/);
    expect(fake.progress.length).toBeGreaterThan(0);
  });

  it('by: matches within groups only, and the pairs carry the group value', async () => {
    const g = golden.cases.find((c) => c.name === 'A_by_grp');
    const out = await runStep(match, { treat: 'treat', covariates: ['x1', 'x2', 'x3'], caliper: 0.05, by: 'grp', id: 'id' }, tableIn(fixture));
    const pairs = tableOf(out.pairs);
    expect(pairs.nrows).toBe((g.match_matrix[0] as (number | null)[]).filter((x) => x !== null).length);
    const grpOf = new Map(strCol(fixture, 'id').map((id, i) => [id, numCol(fixture, 'grp')[i]]));
    strCol(pairs, 'treated').forEach((t, k) => {
      expect(grpOf.get(t!)).toBe(numCol(pairs, 'grp')[k]);
      expect(grpOf.get(strCol(pairs, 'control')[k]!)).toBe(numCol(pairs, 'grp')[k]);
    });
  });

  it('order: random is seeded through ctx: identical for the same seed and node', async () => {
    const p = { treat: 'treat', covariates: ['x1', 'x2'], order: 'random', id: 'id' };
    const a = tableOf((await runStep(match, p, tableIn(fixture), makeCtx({ seed: 1 }))).pairs);
    const b = tableOf((await runStep(match, p, tableIn(fixture), makeCtx({ seed: 1 }))).pairs);
    const c = tableOf((await runStep(match, p, tableIn(fixture), makeCtx({ seed: 2 }))).pairs);
    expect(toRows(a)).toEqual(toRows(b));
    expect(toRows(a)).not.toEqual(toRows(c));
  });

  needsSharedData('china-city-so2-2011-2019/panel_data_so2_new.csv').it('PSM-DID: the matched sample of the real city panel feeds the estimate step', async () => {
    const panel = readCsvTable(sharedData('china-city-so2-2011-2019/panel_data_so2_new.csv'));
    const fake = makeCtx();
    const out = await runStep(match, {
      treat: 'if_officialWechat', covariates: ['gdp_percapita', 'Proportion_SecondaryIndustry', 'PopulationDensity'],
      caliper: 0.05, caliper_scale: 'ps', order: 'data', id: 'city_code',
    }, tableIn(panel), fake);
    expect(fake.warnings.join()).toMatch(/dropped 15 row\(s\) with a missing/);
    const g = golden.cases.find((c) => c.name === 'so2_psmatch2');
    const sample = tableOf(out.sample);
    expect(sample.nrows).toBe(g.weights.filter((w: number) => w > 0).length);
    const model = jsonOf((await runStep(estimate, {
      y: 'ln_OfficialSO2', treat: 'if_officialWechat', controls: ['gdp_percapita'], fe: ['city_code', 'year'], cluster: 'city_code',
    }, { panel: out.sample! })).model);
    expect(model.coefficients[0].term).toBe('if_officialWechat');
    expect(model.n).toBeGreaterThan(1000);
    expect(model.n).toBeLessThanOrEqual(sample.nrows);
  });

  it('errors name the param and the fix', async () => {
    const run = (p: object, t: Table = fixture) => runStep(match, { treat: 'treat', covariates: ['x1'], ...p }, tableIn(t));
    await expect(run({ covariates: ['nope'] })).rejects.toThrow(/params.covariates: column "nope" does not exist/);
    await expect(run({ treat: 'x1', covariates: ['x2'] })).rejects.toThrow(/must be 0 or 1; input row 1 has 0.5/);
    await expect(run({ covariates: ['treat'] })).rejects.toThrow(StepError);
    const sep = withColumn(fixture, 'sep', Float64Array.from(numCol(fixture, 'treat'), (t, i) => t * 10 + (i % 7)));
    await expect(run({ covariates: ['x1', 'sep'] }, sep)).rejects.toThrow(/separation.*"sep".*params.covariates/);
    const small = makeTable({ treat: Float64Array.from([1, 0, 1, 0, 1, 0, 0]), x1: Float64Array.from([1, 2, 3.5, 4.1, 5, 6.3, 0.2]) });
    await expect(run({ caliper: 1e-9 }, small)).rejects.toThrow(/no treated row found a control within the caliper/);
    expect(() => match.params.parse({ treat: 't', covariates: ['x'], ratio: 0 })).toThrow();
    expect(() => match.params.parse({ treat: 't', covariates: ['x'], bogus: 1 })).toThrow();
  });
});
