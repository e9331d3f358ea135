import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import ingest, { columnLetter, parseNumber } from '../../steps/ingest.js';
import { StepError } from '../../engine/types.js';
import { toRows } from '../../engine/table.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { makeCtx, runStep, tableOf } from './ctx.js';
import { needsSharedData, sharedData } from '../shared-data.js';

const FIX = path.join(PROJECT_ROOT, 'test/fixtures/data');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ingest-test-'));
const ctxAt = (dir: string) => makeCtx({ baseDir: dir, nodeId: 'ingest' });
const rename = { year: '年份', city_code: '城市代码', city: '城市', so2: '工业二氧化硫排放量', pgdp: '人均GDP' };
const expected = [
  { year: 2011, city_code: 330100, city: '杭州市', so2: 1234.5, pgdp: 10.1 },
  { year: 2011, city_code: 331000, city: '台州市', so2: null, pgdp: 8.2 },
  { year: 2012, city_code: 330100, city: '杭州市', so2: 999, pgdp: null },
  { year: 2012, city_code: 331000, city: '台州市', so2: 800, pgdp: 8.9 },
];

/** Run ingest and expect a StepError whose message matches every pattern. */
async function expectError(params: unknown, patterns: RegExp[], dir = FIX) {
  const err = await runStep(ingest, params, {}, ctxAt(dir)).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StepError);
  for (const p of patterns) expect((err as Error).message).toMatch(p);
}

describe('parseNumber', () => {
  it('parses plain, grouped and exponent numbers, rejects text', () => {
    expect(parseNumber('1,234.5')).toBe(1234.5);
    expect(parseNumber('12,345,678')).toBe(12345678);
    expect(parseNumber(' -3.5e2 ')).toBe(-350);
    expect(parseNumber('.5')).toBe(0.5);
    expect(parseNumber('1,23')).toBeNaN();
    expect(parseNumber('abc')).toBeNaN();
  });
});

describe('ingest: CSV', () => {
  it('reads UTF-8 with BOM and Chinese headers, renames, parses 1,234.5, honours NA markers', async () => {
    const fake = ctxAt(FIX);
    const out = await runStep(ingest, { path: 'yearbook-bom.csv', columns: rename, key: ['city_code', 'year'] }, {}, fake);
    const t = tableOf(out.table);
    expect(fake.infos).toContainEqual(expect.stringMatching(/^missing cells \(empty or one of na \["","NA","—","\.\.\.","-","\.","#N\/A","#DIV\/0!",.*\]\): so2 1, pgdp 1$/));
    expect(t.names).toEqual(['year', 'city_code', 'city', 'so2', 'pgdp']);
    expect(toRows(t)).toEqual(expected);
  });

  it('auto-detects GBK / GB18030 bytes and reads the same table', async () => {
    const iconv = (await import('iconv-lite')).default;
    const text = readFileSync(path.join(FIX, 'yearbook-bom.csv'), 'utf8').replace(/^\uFEFF/, '');
    writeFileSync(path.join(tmp, 'gbk.csv'), iconv.encode(text, 'gbk'));
    const fake = ctxAt(tmp);
    const t = tableOf((await runStep(ingest, { path: 'gbk.csv', columns: rename }, {}, fake)).table);
    expect(toRows(t)).toEqual(expected);
    expect(fake.infos.join('\n')).toMatch(/gb18030/);
    const t2 = tableOf((await runStep(ingest, { path: 'gbk.csv', columns: rename, encoding: 'gbk' }, {}, ctxAt(tmp))).table);
    expect(toRows(t2)).toEqual(expected);
  });

  it('skips comment lines and reads TSV', async () => {
    writeFileSync(path.join(tmp, 'c.tsv'), '# SIMULATED data\ncity_code\tyear\tso2\n110000\t2005\t3.25\n');
    const t = tableOf((await runStep(ingest, { path: 'c.tsv', delimiter: '\t' }, {}, ctxAt(tmp))).table);
    expect(toRows(t)).toEqual([{ city_code: 110000, year: 2005, so2: 3.25 }]);
  });

  it('keeps selected columns and honours explicit types', async () => {
    const t = tableOf((await runStep(ingest, { path: 'yearbook-bom.csv', columns: rename, select: ['city_code', 'so2'], types: { city_code: 'string' } }, {}, ctxAt(FIX))).table);
    expect(t.names).toEqual(['city_code', 'so2']);
    expect(t.columns.city_code).toEqual(['330100', '331000', '330100', '331000']);
  });
});

describe('ingest: XLSX and Arrow', () => {
  it('reads a named sheet of an XLSX workbook, and names the sheets when the name is wrong', async () => {
    const ExcelJS = (await import('exceljs')).default;
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('notes').addRow(['nothing here']);
    const ws = wb.addWorksheet('panel');
    ws.addRow(['城市代码', '年份', '工业二氧化硫排放量']);
    ws.addRow([330100, 2011, 1234.5]);
    ws.addRow([331000, 2011, '—']);
    ws.addRow([321200, 2011, '2,000']);
    await wb.xlsx.writeFile(path.join(tmp, 'p.xlsx'));
    const t = tableOf((await runStep(ingest, { path: 'p.xlsx', sheet: 'panel', columns: { city_code: '城市代码', year: '年份', so2: '工业二氧化硫排放量' } }, {}, ctxAt(tmp))).table);
    expect(toRows(t)).toEqual([
      { city_code: 330100, year: 2011, so2: 1234.5 },
      { city_code: 331000, year: 2011, so2: null },
      { city_code: 321200, year: 2011, so2: 2000 },
    ]);
    const t2 = tableOf((await runStep(ingest, { path: 'p.xlsx', sheet: 2 }, {}, ctxAt(tmp))).table);
    expect(t2.nrows).toBe(3);
    await expectError({ path: 'p.xlsx', sheet: 'Sheet1' }, [/p\.xlsx has no sheet "Sheet1"/, /its sheets are: "notes", "panel"/, /Set param sheet to one of them/], tmp);
    // a bad cell is named by its spreadsheet address
    ws.getCell('C3').value = 'n.a.';
    await wb.xlsx.writeFile(path.join(tmp, 'p2.xlsx'));
    await expectError({ path: 'p2.xlsx', sheet: 'panel' }, [/column "工业二氧化硫排放量" is numeric/, /sheet "panel" cell C3: "n\.a\."/], tmp);
  });

  it('reads Arrow IPC with numeric and text columns', async () => {
    const arrow = await import('apache-arrow');
    const at = arrow.tableFromArrays({ city_code: Float64Array.from([110000, 120000]), name: ['北京市', '天津市'], year: Int32Array.from([2005, 2006]) });
    writeFileSync(path.join(tmp, 'p.arrow'), arrow.tableToIPC(at, 'file'));
    const t = tableOf((await runStep(ingest, { path: 'p.arrow' }, {}, ctxAt(tmp))).table);
    expect(toRows(t)).toEqual([
      { city_code: 110000, name: '北京市', year: 2005 },
      { city_code: 120000, name: '天津市', year: 2006 },
    ]);
  });
});

describe('ingest: bad input (issue 4): each names the file, the place and the fix', () => {
  it('missing file: names the path, the base directory and the --set fix', async () => {
    await expectError({ path: 'nope.csv' }, [/file not found: .*test\/fixtures\/data\/nope\.csv/, /relative to .*fixtures\/data/, /--set ingest\.path=/]);
  });
  it('missing required column: lists the columns that exist, suggests a near name, says how to map one', async () => {
    await expectError({ path: 'yearbook-bom.csv', key: ['city_code', 'year'] }, [
      /yearbook-bom\.csv/,
      /required columns "city_code", "year" are missing/,
      /the file's columns are: "年份", "城市代码", "城市", "工业二氧化硫排放量", "人均GDP"/,
      /param columns \(\{city_code: name_in_file\}\)/,
    ]);
    await expectError({ path: 'bad-number.csv', require: ['so_2'] }, [/required column "so_2" is missing/, /"so_2": did you mean "so2"\?/]);
    await expectError({ path: 'yearbook-bom.csv', columns: { so2: 'SO2排放' } }, [/columns\.so2 names column "SO2排放"/, /"工业二氧化硫排放量"/, /Fix param columns\.so2/]);
  });
  it('non-numeric cell: line and column as an editor shows them (header = line 1), the value, the fix', async () => {
    await expectError({ path: 'bad-number.csv' }, [/bad-number\.csv/, /column "so2" is numeric/, /\(line 3, column 3: "abc"\)/, /Add the marker to param na/, /types: \{so2: string\}/]);
    await expectError({ path: 'bad-number.csv', types: { so2: 'number' } }, [/line 3, column 3: "abc"/]);
    // a '#' comment line above the header is line 1, as in the demo panel
    await expectError({ path: 'bad-number-commented.csv' }, [/line 4, column 3: "abc"/]);
  });
  it('duplicate key rows: the first few, with both lines, and the fix', async () => {
    await expectError({ path: 'dup-key.csv', key: ['city_code', 'year'] }, [
      /dup-key\.csv/,
      /not unique: 2 duplicate/,
      /city_code=330100, year=2011 at line 2 and line 3/,
      /city_code=331000, year=2011 at line 4 and line 5/,
      /Remove the duplicates or extend param key/,
    ]);
  });
  it('empty file, comment-only file and header-only file', async () => {
    await expectError({ path: 'empty.csv' }, [/empty\.csv is empty \(0 bytes\)/, /Point path at a file with a header line and data rows/]);
    writeFileSync(path.join(tmp, 'comment-only.csv'), '# nothing but a comment\n\n');
    await expectError({ path: 'comment-only.csv' }, [/comment-only\.csv is empty \(no header line\)/], tmp);
    await expectError({ path: 'header-only.csv' }, [/header-only\.csv has a header but no data rows/]);
  });
  it('a row with the wrong number of fields: its line, both counts, the fix', async () => {
    writeFileSync(path.join(tmp, 'ragged.csv'), 'city_code,year,so2\n330100,2011,1\n330100,2012\n');
    await expectError({ path: 'ragged.csv' }, [/ragged\.csv/, /line 3 has 2 field\(s\) but the header \(line 1\) has 3/, /param delimiter/], tmp);
  });
  it('a trailing note row is kept (and is an error) with footer: 0', async () => {
    await expectError({ path: 'trailing-note.csv', footer: 0 }, [/line 5 has 1 field\(s\)/, /param footer/]);
  });
});

describe('ingest: real-world files', () => {
  it('drops a trailing note row (warning names its line), reads "1,234.5" and "..."', async () => {
    const fake = ctxAt(FIX);
    const t = tableOf((await runStep(ingest, { path: 'trailing-note.csv', columns: { city_code: '城市代码', year: '年份', so2: '工业二氧化硫排放量' } }, {}, fake)).table);
    expect(toRows(t)).toEqual([
      { city_code: 330100, year: 2011, so2: 1234.5 },
      { city_code: 331000, year: 2011, so2: null },
    ]);
    expect(fake.warnings).toEqual([expect.stringMatching(/dropped trailing row at line 5 \(param footer\): "注：数据来源/)]);
    // footer as a count drops that many last rows
    const t2 = tableOf((await runStep(ingest, { path: 'dup-key.csv', footer: 2 }, {}, ctxAt(FIX))).table);
    expect(toRows(t2).map((r) => r.so2)).toEqual([1, 2, 3]);
  });

  it('custom na markers; a marker not listed is an error naming its cell', async () => {
    writeFileSync(path.join(tmp, 'na.csv'), 'city_code,so2\n1,n/a\n2,—\n3,...\n4,"2,000"\n');
    const t = tableOf((await runStep(ingest, { path: 'na.csv', na: ['n/a', '—', '...'] }, {}, ctxAt(tmp))).table);
    expect(Array.from(t.columns.so2 as Float64Array)).toEqual([NaN, NaN, NaN, 2000]);
    await expectError({ path: 'na.csv', na: ['—', '...'], types: { so2: 'number' } }, [/line 2, column 2: "n\/a"/], tmp);
  });

  it('header_row skips title lines above the header (line numbers stay those of the file)', async () => {
    writeFileSync(path.join(tmp, 'title.csv'), '表1 城市面板,,\n\ncity_code,year,so2\n330100,2011,x\n');
    await expectError({ path: 'title.csv', header_row: 3, types: { so2: 'number' } }, [/line 4, column 3: "x"/], tmp);
    await expectError({ path: 'title.csv', header_row: 2 }, [/no header at line 2 \(param header_row\)/], tmp);
  });

  it('repeated header names get a suffix, with a warning saying how to rename them', async () => {
    writeFileSync(path.join(tmp, 'dup-head.csv'), 'code,Name,Name,Name_2\n1,杭州市,Hangzhou,x\n');
    const fake = ctxAt(tmp);
    const t = tableOf((await runStep(ingest, { path: 'dup-head.csv', columns: { name_en: 'Name_3' } }, {}, fake)).table);
    expect(t.names).toEqual(['code', 'Name', 'name_en', 'Name_2']);
    expect(toRows(t)).toEqual([{ code: 1, Name: '杭州市', name_en: 'Hangzhou', Name_2: 'x' }]);
    expect(fake.warnings.join('\n')).toMatch(/"Name" more than once; column 3 is read as "Name_3"/);
  });
});

const CO2_XLSX = sharedData('china-county-co2-1997-2017/co2.xlsx');
const CO2_CSV = sharedData('china-county-co2-1997-2017/county_co2_1997_2017.csv');
needsSharedData('china-county-co2-1997-2017/co2.xlsx', 'china-county-co2-1997-2017/county_co2_1997_2017.csv').describe('ingest: the real county CO2 workbook (../shared/data, read in place)', () => {
  it('reads its named sheet, Chinese/duplicated headers and trailing note row; agrees with the R readxl conversion', async () => {
    const cols = { distcode: 'DISTCODE地区代码', county_zh: 'County Name', county_en: 'County Name_2', city_zh: 'City Name' };
    await expectError({ path: CO2_XLSX, sheet: 'Sheet1' }, [/no sheet "Sheet1"; its sheets are: "Unit \(Million tons\)"/]);
    // three distcodes carry a "（2）" suffix: the error names their cells
    await expectError({ path: CO2_XLSX, sheet: 'Unit (Million tons)', columns: cols }, [/column "distcode" is numeric but has 3 non-numeric/, /cell A\d+: "\d{6}（2）"/]);
    const fake = ctxAt(tmp);
    const t = tableOf((await runStep(ingest, { path: CO2_XLSX, sheet: 'Unit (Million tons)', columns: cols, types: { distcode: 'string' }, key: ['distcode'] }, {}, fake)).table);
    expect(fake.warnings.join('\n')).toMatch(/dropped trailing row 2738 of sheet "Unit \(Million tons\)" \(param footer\): "Note: County name/);
    const ref = tableOf((await runStep(ingest, { path: CO2_CSV, types: { distcode: 'string' }, key: ['distcode'] }, {}, ctxAt(tmp))).table);
    expect(t.nrows).toBe(2735);
    expect(ref.nrows).toBe(2735);
    expect(t.columns.distcode).toEqual(ref.columns.distcode);
    expect(t.columns.county_zh).toEqual(ref.columns.county_zh);
    for (const y of [1997, 2005, 2017]) {
      const a = t.columns[`C${y}`] as Float64Array;
      const b = ref.columns[`C${y}`] as Float64Array;
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-9 * Math.max(1, Math.abs(b[i]!)));
    }
  }, 30_000);
});

describe('columnLetter', () => {
  it('maps 0-based indices to spreadsheet letters', () => {
    expect([0, 5, 25, 26, 27, 51, 52, 701, 702].map(columnLetter)).toEqual(['A', 'F', 'Z', 'AA', 'AB', 'AZ', 'BA', 'ZZ', 'AAA']);
  });
});
