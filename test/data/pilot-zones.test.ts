import { describe, expect, it } from 'vitest';
import { projectCsv, sharedCsv } from './shared.js';
import { needsSharedData } from '../shared-data.js';

const roster = projectCsv('data/pilot-zones.csv');
const cities = new Map(projectCsv('data/cities.csv').map((r) => [r.code!, r]));
const byZh = (zh: string) => roster.filter((r) => r.name_zh === zh);

describe('data/pilot-zones.csv (Table 1 of the paper)', () => {
  it('has the per-year counts printed in Table 1 and 132 entries in all', () => {
    const counts: Record<string, number> = {};
    for (const r of roster) counts[r.year!] = (counts[r.year!] ?? 0) + 1;
    expect(counts).toEqual({ '2015': 1, '2016': 12, '2018': 22, '2019': 24, '2020': 46, '2022': 27 });
    expect(roster).toHaveLength(132);
    const batchOf: Record<string, string> = { '2015': '1', '2016': '2', '2018': '3', '2019': '4', '2020': '5', '2022': '6' };
    for (const r of roster) expect(r.batch).toBe(batchOf[r.year!]);
  });

  it('distinguishes the two Taizhous by code', () => {
    const t = roster.filter((r) => r.name_en === 'Taizhou');
    expect(t.map((r) => [r.year, r.code, r.name_zh])).toEqual([
      ['2020', '331000', '台州市'],
      ['2022', '321200', '泰州市'],
    ]);
    expect(cities.get('331000')!.province).toBe('浙江省');
    expect(cities.get('321200')!.province).toBe('江苏省');
  });

  it('marks county-level zones with their parent prefecture, and Jinhua itself in 2022', () => {
    const county = roster.filter((r) => r.level === 'county').map((r) => [r.name_zh, r.year, r.code, r.parent_code]);
    expect(county).toEqual([
      ['义乌市', '2018', '330782', '330700'],
      ['珲春市', '2019', '222404', '222400'],
      ['绥芬河市', '2019', '231081', '231000'],
      ['满洲里市', '2020', '150781', '150700'],
      ['阿拉山口市', '2022', '652702', '652700'],
    ]);
    expect(byZh('金华市').map((r) => [r.year, r.level, r.code])).toEqual([['2022', 'prefecture', '330700']]);
    for (const r of roster.filter((x) => x.level === 'county' || x.level === 'new-area')) {
      expect(cities.has(r.parent_code!), `${r.name_zh} parent ${r.parent_code}`).toBe(true);
      if (r.code) expect(r.code.slice(0, 4)).toBe(r.parent_code!.slice(0, 4));
    }
  });

  it("has Xiong'an as a new area under Baoding without a code of its own", () => {
    expect(byZh('雄安新区').map((r) => [r.year, r.level, r.code, r.parent_code])).toEqual([['2020', 'new-area', '', '130600']]);
  });

  it('resolves the autonomous prefectures and Kashgar to prefecture-level codes in the register', () => {
    for (const [zh, code, type] of [
      ['德宏傣族景颇族自治州', '533100', 'autonomous-prefecture'],
      ['红河哈尼族彝族自治州', '532500', 'autonomous-prefecture'],
      ['喀什地区', '653100', 'prefecture'],
    ] as const) {
      const r = byZh(zh);
      expect(r).toHaveLength(1);
      expect(r[0]!.code).toBe(code);
      expect(cities.get(code)!.unit_type).toBe(type);
    }
  });

  it('every prefecture/municipality entry is in the register, each at most once', () => {
    const codes = roster.filter((r) => r.level === 'prefecture' || r.level === 'municipality').map((r) => r.code!);
    expect(new Set(codes).size).toBe(codes.length);
    for (const r of roster.filter((x) => x.level === 'prefecture' || x.level === 'municipality')) {
      const c = cities.get(r.code!);
      expect(c, `${r.name_en} ${r.code}`).toBeDefined();
      expect(c!.name_zh).toBe(r.name_zh);
      expect(c!.municipality === '1').toBe(r.level === 'municipality');
    }
  });

  needsSharedData('china-cbec-pilot-zones').it('agrees with the independent batch 1–6 list (code, year, parent)', () => {
    const ref = sharedCsv('china-cbec-pilot-zones/cbec_pilot_zones_batches_1_7.csv').filter((r) => Number(r.batch) <= 6);
    expect(ref).toHaveLength(132);
    const refByName = new Map(ref.map((r) => [r.jurisdiction!, r]));
    for (const r of roster) {
      const x = refByName.get(r.name_zh!);
      expect(x, r.name_zh).toBeDefined();
      expect([r.code, r.year, r.parent_code]).toEqual([x!.gb2260_code, x!.approval_year, x!.parent_prefecture_code]);
    }
  });
});
