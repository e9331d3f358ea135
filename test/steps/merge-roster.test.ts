import path from 'node:path';
import { describe, expect, it } from 'vitest';
import merge from '../../steps/merge-roster.js';
import { StepError } from '../../engine/types.js';
import { fromRows, toRows } from '../../engine/table.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { jsonOf, makeCtx, runStep, tableOf } from './ctx.js';

// 台州 (Zhejiang), 泰州 (Jiangsu), 金华 (parent of 义乌), 牡丹江 (parent of 绥芬河), 保定 (雄安),
// 宿州 (never), 毕节 under its pre-2011 code 522400, Beijing written as 110100.
const CODES = [331000, 321200, 330700, 231000, 130600, 341300, 522400, 110100];
const panel = fromRows(CODES.flatMap((c) => [2017, 2018, 2019, 2020, 2021, 2022].map((y) => ({ city_code: c, year: y, so2: 1 }))));
const input = { panel: { type: 'table' as const, table: panel } };
const FIX = path.join(PROJECT_ROOT, 'test/fixtures/data');

function adoptByCode(t: ReturnType<typeof tableOf>) {
  const m: Record<string, number | null> = {};
  for (const r of toRows(t)) m[String(r.city_code)] = r.adopt as number | null;
  return m;
}

describe('merge-roster', () => {
  it('matches by code: two Taizhous, county zones ignored by default, old codes and 110100 remapped', async () => {
    const out = await runStep(merge, {}, input);
    const t = tableOf(out.panel);
    expect(adoptByCode(t)).toEqual({
      '331000': 2020, '321200': 2022, '330700': 2022, '231000': null, '130600': null, '341300': null, '522400': null, '110100': 2018,
    });
    const rows = toRows(t);
    const tz = rows.filter((r) => r.city_code === 331000).map((r) => [r.year, r.did, r.treat, r.rel_year]);
    expect(tz).toEqual([[2017, 0, 1, -3], [2018, 0, 1, -2], [2019, 0, 1, -1], [2020, 1, 1, 0], [2021, 1, 1, 1], [2022, 1, 1, 2]]);
    const sz = rows.filter((r) => r.city_code === 341300);
    expect(sz.every((r) => r.did === 0 && r.treat === 0 && r.rel_year === null)).toBe(true);
    const first = (code: number) => rows.find((r) => r.city_code === code)!;
    expect([first(331000).region, first(321200).region, first(231000).region, first(522400).region]).toEqual(['east', 'east', 'northeast', 'west']);
    expect([first(110100).municipality, first(341300).resource_based, first(331000).resource_based]).toEqual([1, 1, 0]);
    const rep = jsonOf(out.report);
    expect(rep.entries).toHaveLength(132);
    const entry = (zh: string) => rep.entries.find((e: { name_zh: string }) => e.name_zh === zh);
    expect(entry('义乌市')).toMatchObject({ rule: 'county_ignored', attributed_to: null });
    expect(entry('泰州市')).toMatchObject({ rule: 'code', attributed_to: '321200', in_panel: true, year: 2022 });
    expect(entry('台州市')).toMatchObject({ rule: 'code', attributed_to: '331000', in_panel: true, year: 2020 });
    expect(entry('雄安新区')).toMatchObject({ level: 'new-area', rule: 'county_ignored' });
    expect(rep.panel_codes_remapped).toEqual({ '522400': '520500', '110100': '110000' });
    expect(rep.treated_in_panel).toBe(4);
  });

  it('county_zones: parent treats the parent prefecture from the county zone year', async () => {
    const out = await runStep(merge, { county_zones: 'parent' }, input);
    expect(adoptByCode(tableOf(out.panel))).toMatchObject({ '330700': 2018, '231000': 2019, '130600': 2020, '341300': null });
    const rep = jsonOf(out.report);
    expect(rep.entries.find((e: { name_zh: string }) => e.name_zh === '义乌市')).toMatchObject({ rule: 'parent', attributed_to: '330700', attributed_name: '金华市' });
  });

  it('a roster entry that resolves to nothing is an error listing the closest register names', async () => {
    const err = (await runStep(merge, { roster: path.join(FIX, 'roster-bad.csv') }, input).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(StepError);
    expect(err.message).toMatch(/1 roster entry resolves to no city/);
    expect(err.message).toMatch(/Atlantis 亚特兰蒂斯市 \(2020, code "999900"; closest register names: /);
    expect(err.message).toMatch(/allow_unmatched/);
    const ok = await runStep(merge, { roster: path.join(FIX, 'roster-bad.csv'), allow_unmatched: ['Atlantis'] }, input);
    expect(jsonOf(ok.report).entries.map((e: { rule: string }) => e.rule)).toEqual(['code', 'allowed_unmatched']);
  });

  it('a panel code missing from the register is an error (or dropped on request)', async () => {
    const bad = { panel: { type: 'table' as const, table: fromRows([{ city_code: 330100, year: 2015 }, { city_code: 999999, year: 2015 }]) } };
    const err = (await runStep(merge, {}, bad).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(StepError);
    expect(err.message).toMatch(/999999 \(1 rows, first at panel row 2, counting data rows from 1\)/);
    expect(err.message).toMatch(/unknown_codes: drop/);
    const fake = makeCtx();
    const out = await runStep(merge, { unknown_codes: 'drop' }, bad, fake);
    expect(tableOf(out.panel).nrows).toBe(1);
    expect(fake.warnings.join()).toMatch(/dropped 1 panel rows/);
  });

  it('missing code column / missing roster file are clear errors', async () => {
    await expect(runStep(merge, { code: 'gb' }, input)).rejects.toThrow(/no code column "gb".*city_code, year, so2/);
    await expect(runStep(merge, { roster: 'nope.csv' }, input)).rejects.toThrow(/roster file not found.*nope\.csv/);
  });
});
