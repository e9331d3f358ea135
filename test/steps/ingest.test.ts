import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import ingest, { parseNumber } from '../../steps/ingest.js';
import { StepError } from '../../engine/types.js';
import { toRows } from '../../engine/table.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { makeCtx, runStep, tableOf } from './ctx.js';

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
    const out = await runStep(ingest, { path: 'yearbook-bom.csv', columns: rename, key: ['city_code', 'year'] }, {}, ctxAt(FIX));
    const t = tableOf(out.table);
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
    await expectError({ path: 'p.xlsx', sheet: 'Sheet1' }, [/no sheet "Sheet1"/, /"notes", "panel"/, /param sheet/], tmp);
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

describe('ingest: bad input', () => {
  it('missing file: names the path and the --set fix', async () => {
    await expectError({ path: 'nope.csv' }, [/file not found/, /nope\.csv/, /--set ingest\.path=/]);
  });
  it('missing required column: lists the columns that exist', async () => {
    await expectError({ path: 'yearbook-bom.csv', key: ['city_code', 'year'] }, [/required column "city_code" is missing/, /"年份", "城市代码", "城市"/]);
    await expectError({ path: 'yearbook-bom.csv', columns: { so2: 'SO2排放' } }, [/columns\.so2 names column "SO2排放"/, /"工业二氧化硫排放量"/]);
  });
  it('non-numeric cell: row, column and value', async () => {
    await expectError({ path: 'bad-number.csv' }, [/column "so2"/, /line 3: "abc"/, /param na|types/]);
    await expectError({ path: 'bad-number.csv', types: { so2: 'number' } }, [/line 3: "abc"/]);
  });
  it('duplicate key rows: the first few', async () => {
    await expectError({ path: 'dup-key.csv', key: ['city_code', 'year'] }, [/not unique: 2 duplicate/, /city_code=330100, year=2011 at line 2 and line 3/, /city_code=331000/]);
  });
  it('empty file and header-only file', async () => {
    await expectError({ path: 'empty.csv' }, [/empty/, /empty\.csv/]);
    await expectError({ path: 'header-only.csv' }, [/no data rows/]);
  });
});
