import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCities, citiesCsv } from '../../data/build-cities.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { projectCsv, sharedCsv } from './shared.js';
import { needsSharedData } from '../shared-data.js';

const reg = projectCsv('data/cities.csv');
const byCode = new Map(reg.map((r) => [r.code!, r]));
const active = reg.filter((r) => r.abolished === '');

describe('data/cities.csv (the city register)', () => {
  it('is exactly what data/build-cities.ts generates', () => {
    expect(citiesCsv(buildCities())).toBe(readFileSync(path.join(PROJECT_ROOT, 'data/cities.csv'), 'utf8'));
  });

  it('has 337 current prefecture-level units (333 + 4 municipalities) and the abolished 巢湖, 莱芜', () => {
    expect(active).toHaveLength(337);
    expect(reg.filter((r) => r.municipality === '1').map((r) => r.code)).toEqual(['110000', '120000', '310000', '500000']);
    expect(reg.filter((r) => r.abolished !== '').map((r) => [r.name_zh, r.abolished, r.absorbed_into])).toEqual([
      ['巢湖市', '2011', '340100'],
      ['莱芜市', '2019', '370100'],
    ]);
    expect(new Set(reg.map((r) => r.code)).size).toBe(reg.length);
  });

  it('records renames and 地区→市 conversions', () => {
    expect(byCode.get('420600')).toMatchObject({ name_zh: '襄阳市', former_names: '襄樊市' });
    expect(byCode.get('530800')).toMatchObject({ name_zh: '普洱市', former_names: '思茅市' });
    expect(byCode.get('520500')).toMatchObject({ name_zh: '毕节市', former_names: '毕节地区', former_codes: '522400', established: '2011' });
    expect(byCode.get('630200')).toMatchObject({ former_codes: '632100', established: '2013' });
  });

  it('gives pinyin short names', () => {
    expect(byCode.get('610100')!.name_pinyin).toBe("Xi'an");
    expect(byCode.get('331000')!.name_pinyin).toBe('Taizhou');
    expect(byCode.get('321200')!.name_pinyin).toBe('Taizhou');
    expect(byCode.get('500000')!.name_pinyin).toBe('Chongqing');
    expect(byCode.get('341500')!.name_pinyin).toBe("Lu'an");
    expect(byCode.get('533100')!.name_pinyin).toBe('Dehong');
  });

  needsSharedData('china-admin-divisions').it('matches the independent admin-division list and the NBS region map', () => {
    const cities = sharedCsv('china-admin-divisions/cities.csv');
    const provinces = new Map(sharedCsv('china-admin-divisions/provinces.csv').map((r) => [r.code!, r.name!]));
    const region = new Map(sharedCsv('china-admin-divisions/province_region_nbs2011.csv').map((r) => [r.province_code!, r.region_en!]));
    const expected = new Map<string, string>();
    for (const c of cities) {
      if (c.name === '市辖区') expected.set(`${c.provinceCode}0000`, provinces.get(c.provinceCode!)!);
      else if (c.name !== '县' && !c.name!.includes('直辖县级')) expected.set(`${c.code}00`, c.name!);
    }
    expect(new Map(active.map((r) => [r.code!, r.name_zh!]))).toEqual(expected);
    for (const r of reg) {
      expect(r.region, r.name_zh).toBe(region.get(r.province_code!));
      expect(r.province).toBe(provinces.get(r.province_code!));
    }
  });

  needsSharedData('china-resource-based-cities-2013').it('flags exactly the 126 resource-based units of the 2013 plan, with their type', () => {
    const ref = sharedCsv('china-resource-based-cities-2013/resource_based_prefectures_2013.csv');
    expect(ref).toHaveLength(126);
    const mine = new Map(reg.filter((r) => r.resource_based === '1').map((r) => [r.code!, r.resource_type!]));
    expect(mine).toEqual(new Map(ref.map((r) => [r.gb2260_code!, r.type_en!])));
  });

  needsSharedData('china-prefecture-crosswalk').it('agrees with the crosswalk: 337 active units in 2022 and the name history', () => {
    const roster = sharedCsv('china-prefecture-crosswalk/legal_roster_year_end_1987_2026.csv').filter((r) => r.year === '2022' && r.status === 'active');
    expect(roster).toHaveLength(active.length);
    const names = new Set(roster.map((r) => r.legal_name_zh));
    for (const r of active) expect(names.has(r.name_zh), r.name_zh).toBe(true);
    // every former name we record is a name the crosswalk knows for some entity, and vice versa for renames since 2005
    const ranges = sharedCsv('china-prefecture-crosswalk/entity_name_match_ranges_1987_2026.csv');
    const known = new Set(ranges.map((r) => r.name_zh));
    for (const r of reg) for (const n of r.former_names!.split(';').filter(Boolean)) expect(known.has(n), n).toBe(true);
    const events = sharedCsv('china-prefecture-crosswalk/events_2000_2026.csv').filter((e) => Number(e['年份']) >= 2005);
    const former = new Set(reg.flatMap((r) => r.former_names!.split(';')));
    for (const e of events) {
      const old = e['原单位']!;
      const abolishedUnit = reg.find((r) => r.name_zh === old && r.abolished !== '');
      if (e['原层级/类型'] === '县级市' || old.includes('办事处')) continue; // 儋州 upgrade, 三沙 creation
      expect(former.has(old) || abolishedUnit !== undefined, `${e['年份']} ${old}`).toBe(true);
    }
  });
});
