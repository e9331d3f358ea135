/**
 * ingest, issue 13 "Inputs": Parquet (snappy/gzip/zstd, dictionary), Arrow IPC / Feather v2 with LZ4 /
 * ZSTD compressed record batches, delimiter detection, unsupported formats (.xls, unknown binary),
 * default missing markers and unknown-marker warnings, title rows above the header, integer columns.
 * Columnar fixtures: test/fixtures/columnar (make-fixtures.mjs; expected.csv = the same rows as CSV).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import ingest, { detectDelimiter } from '../../steps/ingest.js';
import { StepError } from '../../engine/types.js';
import { IntColumn, intColumnOf, isIntColumn, makeTable, takeRows, toRows } from '../../engine/table.js';
import { arrowToTable, tableToArrow } from '../../engine/arrow.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { makeCtx, runStep, tableOf } from './ctx.js';

const COL = path.join(PROJECT_ROOT, 'test/fixtures/columnar');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ingest-formats-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const at = (dir: string) => makeCtx({ baseDir: dir, nodeId: 'ingest' });

async function read(params: Record<string, unknown>, dir = tmp) {
  const fake = at(dir);
  const t = tableOf((await runStep(ingest, params, {}, fake)).table);
  return { t, fake };
}
async function error(params: Record<string, unknown>, dir = tmp): Promise<string> {
  const e = await runStep(ingest, params, {}, at(dir)).then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(StepError);
  return (e as Error).message;
}

describe('ingest: Parquet and Arrow/Feather (compressed)', async () => {
  const ref = toRows((await read({ path: 'expected.csv' }, COL)).t);
  it.each(['panel-snappy.parquet', 'panel-gzip.parquet', 'panel-zstd.parquet', 'panel-lz4.feather', 'panel-zstd.arrow', 'panel-stream.arrows'])('%s reads the same 40 rows as expected.csv', async (f) => {
    const { t } = await read({ path: f }, COL);
    expect(t.names).toEqual(['city_code', 'year', 'so2', 'region', 'name', 'patents']);
    expect(toRows(t)).toEqual(ref);
    expect(ref[3]).toEqual({ city_code: 140000, year: 2005, so2: null, region: 'northeast', name: '城市3', patents: 3007 });
    expect(ref[5]!.region).toBeNull();
    // integer columns of the file stay integers (int32 and int64 within int32)
    for (const c of ['city_code', 'year', 'patents']) expect(isIntColumn(t.columns[c]!), `${f} ${c}`).toBe(true);
    expect(isIntColumn(t.columns.so2!)).toBe(false);
  });

  it('the parquet fixtures are compressed as named and dictionary-encode the region column', async () => {
    const { parquetMetadata } = await import('hyparquet');
    for (const [f, codec] of [['panel-snappy.parquet', 'SNAPPY'], ['panel-gzip.parquet', 'GZIP'], ['panel-zstd.parquet', 'ZSTD']] as const) {
      const b = readFileSync(path.join(COL, f));
      const meta = parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
      const chunks = meta.row_groups[0]!.columns.map((c) => c.meta_data!);
      expect(chunks.every((c) => c.codec === codec), f).toBe(true);
      const region = chunks.find((c) => c.path_in_schema[0] === 'region')!;
      expect(region.dictionary_page_offset, `${f}: region has a dictionary page`).toBeDefined();
    }
  });

  it('the Arrow fixtures are compressed (smaller than the uncompressed stream)', () => {
    // the record batch metadata carries the codec: CompressionType 0 = LZ4_FRAME, 1 = ZSTD
    for (const f of ['panel-lz4.feather', 'panel-zstd.arrow']) {
      const b = readFileSync(path.join(COL, f));
      expect(b.subarray(0, 6).toString('latin1')).toBe('ARROW1');
      expect(b.length).toBeLessThan(readFileSync(path.join(COL, 'panel-stream.arrows')).length);
    }
  });

  it('ZSTD frames whose blocks are stored raw (as Arrow C++ writes incompressible buffers) decode into aligned int64 buffers', async () => {
    // a valid zstd frame with one raw block (RFC 8878 §3.1.1): fzstd returns a view into its input,
    // at an offset that a BigInt64Array cannot start at; registerArrowCodecs copies such a result
    const rawZstd = (payload: Uint8Array) => {
      if (payload.length > 255) throw new Error('test helper: one-byte content size');
      const h = 1 | (payload.length << 3); // last block, type raw, size
      return new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x20, payload.length, h & 255, (h >> 8) & 255, (h >> 16) & 255, ...payload]);
    };
    const { registerArrowCodecs } = await import('../../steps/ingest.js');
    const arrow = await import('apache-arrow');
    await registerArrowCodecs();
    const buf = new Uint8Array(40);
    buf.set(rawZstd(Uint8Array.from({ length: 16 }, (_, i) => i)), 3);
    const out = arrow.compressionRegistry.get(arrow.CompressionType.ZSTD)!.decode!(buf.subarray(3, 3 + 25));
    expect(out.byteOffset).toBe(0);
    expect(Array.from(out)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    // a whole file: int64 and utf8 columns, every buffer a raw-block zstd frame
    const codec = arrow.compressionRegistry.get(arrow.CompressionType.ZSTD)!;
    arrow.compressionRegistry.set(arrow.CompressionType.ZSTD, { encode: rawZstd, decode: codec.decode });
    try {
      const t = arrow.tableFromArrays({ n: BigInt64Array.from([1n, 2n, 3n]), s: ['a', 'bb', 'ccc'] });
      writeFileSync(path.join(tmp, 'raw-zstd.arrow'), arrow.tableToIPC(t, 'file', arrow.CompressionType.ZSTD));
    } finally {
      arrow.compressionRegistry.set(arrow.CompressionType.ZSTD, codec);
    }
    expect(toRows((await read({ path: 'raw-zstd.arrow' })).t)).toEqual([
      { n: 1, s: 'a' },
      { n: 2, s: 'bb' },
      { n: 3, s: 'ccc' },
    ]);
  });

  it('Feather v1 and a truncated Arrow file: errors naming the file and what to do', async () => {
    writeFileSync(path.join(tmp, 'old.feather'), Buffer.concat([Buffer.from('FEA1'), Buffer.alloc(60)]));
    expect(await error({ path: 'old.feather' })).toMatch(/old\.feather is a Feather version 1 file .* not supported\. Re-save it as Feather v2/);
    writeFileSync(path.join(tmp, 'cut.arrow'), readFileSync(path.join(COL, 'panel-zstd.arrow')).subarray(0, 300));
    const m = await error({ path: 'cut.arrow' });
    expect(m).toMatch(/cannot read .*cut\.arrow as Arrow IPC \/ Feather v2/);
    expect(m).not.toMatch(/pyarrow\.feather\/ipc/);
  });

  it('Parquet: INTEGER logical types (as pyarrow writes int8…uint32) are integers; DATE columns are ISO dates, not integers', async () => {
    const { parquetWriteBuffer } = await import('hyparquet-writer');
    const buf = parquetWriteBuffer({
      columnData: [
        { name: 'n', data: Int32Array.from([7, -2]) },
        { name: 'd', data: Int32Array.from([0, 16436]) },
      ],
      schema: [
        { name: 'root', num_children: 2 },
        { name: 'n', type: 'INT32', repetition_type: 'REQUIRED', logical_type: { type: 'INTEGER', bitWidth: 16, isSigned: true } },
        { name: 'd', type: 'INT32', repetition_type: 'REQUIRED', converted_type: 'DATE', logical_type: { type: 'DATE' } },
      ],
    });
    writeFileSync(path.join(tmp, 'typed.parquet'), new Uint8Array(buf));
    const { t } = await read({ path: 'typed.parquet' });
    // 16436 days after 1970-01-01 = 2015-01-01
    expect(toRows(t)).toEqual([
      { n: 7, d: '1970-01-01' },
      { n: -2, d: '2015-01-01' },
    ]);
    expect(isIntColumn(t.columns.n!)).toBe(true);
  });

  it('a truncated Parquet file is an error naming the file', async () => {
    writeFileSync(path.join(tmp, 'cut.parquet'), readFileSync(path.join(COL, 'panel-snappy.parquet')).subarray(0, 200));
    expect(await error({ path: 'cut.parquet' })).toMatch(/cannot read .*cut\.parquet as Parquet: .*export it as CSV/);
  });
});

// a Parquet file written by pyarrow 0.17 (parquet-cpp 1.5.1), shipped by Debian's python3-pandas: absent elsewhere
const PYARROW_PARQUET = '/usr/lib/python3/dist-packages/pandas/tests/io/data/parquet/simple.parquet';
describe.skipIf(!existsSync(PYARROW_PARQUET))('ingest: a pyarrow-written Parquet file (python3-pandas test data, read in place)', () => {
  // pandas/tests/io/test_parquet.py: df_compat = pd.DataFrame({"A": [1, 2, 3], "B": "foo"}) is what pandas reads from it
  it('reads what the pandas test expects: A = 1, 2, 3 (int64 → integers), B = "foo"', async () => {
    const { t } = await read({ path: PYARROW_PARQUET }, '/');
    expect(toRows(t)).toEqual([
      { A: 1, B: 'foo' },
      { A: 2, B: 'foo' },
      { A: 3, B: 'foo' },
    ]);
    expect(isIntColumn(t.columns.A!)).toBe(true);
  });
});

describe('ingest: delimiters', () => {
  it('detects tab, semicolon and pipe; .tsv is tab; the comma stays the default', async () => {
    expect(detectDelimiter('a;b;c\n1;2,5;3\n4;5;6\n', '#')).toBe(';');
    expect(detectDelimiter('a|b\n1|2\n', '#')).toBe('|');
    expect(detectDelimiter('a\tb\n1\t2\n', '#')).toBe('\t');
    expect(detectDelimiter('a,b\n1,2\n', '#')).toBe(',');
    expect(detectDelimiter('a\n1\n', '#')).toBe(',');
    writeFileSync(path.join(tmp, 'semi.csv'), 'city_code;year;so2\n330100;2011;1,5\n331000;2011;2\n');
    // European decimal comma is not parsed as a number: the column is text, with a warning naming the cell
    const semi = await read({ path: 'semi.csv' });
    expect(semi.t.names).toEqual(['city_code', 'year', 'so2']);
    expect(semi.fake.infos.join('\n')).toMatch(/fields separated by semicolon/);
    expect(semi.t.columns.so2).toEqual(['1,5', '2']);
    expect(semi.fake.warnings.join('\n')).toMatch(/column "so2" is read as text: .*"1,5" \(line 2\).*Decimal commas \(1,5\) are not read as numbers/);
    writeFileSync(path.join(tmp, 'p.tsv'), 'city_code\tname\n110000\tBeijing, China\n');
    expect(toRows((await read({ path: 'p.tsv' })).t)).toEqual([{ city_code: 110000, name: 'Beijing, China' }]);
    writeFileSync(path.join(tmp, 'pipe.txt'), 'a|b\n1|2\n');
    expect(toRows((await read({ path: 'pipe.txt', delimiter: '|' })).t)).toEqual([{ a: 1, b: 2 }]);
  });

  it('a wrong explicit delimiter is an error naming the line and the separator used', async () => {
    writeFileSync(path.join(tmp, 'tabbed.csv'), 'a\tb\n1\t2\n3\t4\t5\n');
    const m = await error({ path: 'tabbed.csv', delimiter: ',', types: { a: 'number' } });
    expect(m).toMatch(/required column "a" is missing/);
    expect(m).toMatch(/the header is one column that contains tab characters: set param delimiter: "\\t", or leave it auto/);
    expect(await error({ path: 'tabbed.csv' })).toMatch(/line 3 has 3 field\(s\) but the header \(line 1\) has 2 \(fields separated by tab\)/);
  });
});

describe('ingest: unsupported formats', () => {
  const OLE2 = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, ...Array(504).fill(0)]);
  it('.xls (OLE2) is refused with "export to XLSX/CSV", also when named .csv or .xlsx', async () => {
    for (const f of ['book.xls', 'book.csv', 'book.xlsx']) {
      writeFileSync(path.join(tmp, f), OLE2);
      const m = await error({ path: f });
      expect(m).toMatch(new RegExp(`${f.replace('.', '\\.')} is an (Excel 97–2003 workbook|OLE2 compound file)`));
      expect(m).toMatch(/unsupported format\. Export it to XLSX or CSV/);
    }
  });
  it('an unknown binary file is refused, not parsed as CSV', async () => {
    writeFileSync(path.join(tmp, 'blob.csv'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48]));
    const m = await error({ path: 'blob.csv' });
    expect(m).toMatch(/blob\.csv is a binary file .*first bytes 89504e47/);
    expect(m).toMatch(/unsupported format/);
    expect(m).not.toMatch(/delimiter/);
    // UTF-16 text (with a BOM, or without one when encoding is given) is text, not binary
    writeFileSync(path.join(tmp, 'u16.csv'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\n1,2\n', 'utf16le')]));
    expect(toRows((await read({ path: 'u16.csv' })).t)).toEqual([{ a: 1, b: 2 }]);
    writeFileSync(path.join(tmp, 'u16nobom.csv'), Buffer.from('a,b\n1,2\n', 'utf16le'));
    expect(toRows((await read({ path: 'u16nobom.csv', encoding: 'utf16le' })).t)).toEqual([{ a: 1, b: 2 }]);
    writeFileSync(path.join(tmp, 'x.sav'), 'whatever');
    expect(await error({ path: 'x.sav' })).toMatch(/x\.sav is an SPSS file: unsupported format/);
  });
});

describe('ingest: missing markers', () => {
  it("Stata's . and Excel's #N/A, #DIV/0! are missing by default", async () => {
    writeFileSync(path.join(tmp, 'm.csv'), 'id,x\n1,.\n2,#N/A\n3,#DIV/0!\n4,2.5\n');
    const { t } = await read({ path: 'm.csv' });
    expect(toRows(t)).toEqual([
      { id: 1, x: null },
      { id: 2, x: null },
      { id: 3, x: null },
      { id: 4, x: 2.5 },
    ]);
  });
  it('numbers mixed with unknown markers: a warning naming the markers, their rows and the fix', async () => {
    writeFileSync(path.join(tmp, 'u.csv'), 'id,x\n1,n.a.\n2,n.a.\n3,1.5\n4,missing\n5,n.a.\n');
    const { t, fake } = await read({ path: 'u.csv' });
    expect(t.columns.x).toEqual(['n.a.', 'n.a.', '1.5', 'missing', 'n.a.']);
    const w = fake.warnings.join('\n');
    expect(w).toMatch(/u\.csv: column "x" is read as text: 1 of its cells are numbers, the others are unknown marker\(s\) "n\.a\." \(line 2, line 3, line 6\), "missing" \(line 5\)/);
    expect(w).toMatch(/add them to param na \(na: \[.*"n\.a\.","missing"\]\)/);
    // with the markers in na, it is numeric and silent
    const ok = await read({ path: 'u.csv', na: ['n.a.', 'missing'] });
    expect(Array.from(ok.t.columns.x as Float64Array)).toEqual([NaN, NaN, 1.5, NaN, NaN]);
    expect(ok.fake.warnings).toEqual([]);
    // declared text: silent
    expect((await read({ path: 'u.csv', types: { x: 'string' } })).fake.warnings).toEqual([]);
  });
});

describe('ingest: a title row above the header', () => {
  it('CSV: the error says the header looks like a title and suggests header_row: N', async () => {
    writeFileSync(path.join(tmp, 'title.csv'), '表1 城市面板,,\n,,\n\ncity_code,year,so2\n330100,2011,1\n');
    const m = await error({ path: 'title.csv' });
    expect(m).toMatch(/title\.csv: the header \(line 1\) looks like a title, not column names: it has one filled cell, "表1 城市面板"/);
    expect(m).toMatch(/The header seems to be line 4 \("city_code", "year", "so2"\): set header_row: 4\./);
    expect(toRows((await read({ path: 'title.csv', header_row: 4 })).t)).toEqual([{ city_code: 330100, year: 2011, so2: 1 }]);
    // a title with no delimiters at all above wider rows
    writeFileSync(path.join(tmp, 'title2.csv'), 'Table 1 City panel\ncity_code,year\n1,2\n');
    expect(await error({ path: 'title2.csv' })).toMatch(/set header_row: 2/);
  });
  it('XLSX: the same, with the row number the spreadsheet shows', async () => {
    const ExcelJS = (await import('exceljs')).default;
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Panel');
    ws.getCell('A1').value = 'Table 2: city panel';
    ws.getCell('A3').value = 'city_code';
    ws.getCell('B3').value = 'year';
    ws.getCell('A4').value = 330100;
    ws.getCell('B4').value = 2011;
    await wb.xlsx.writeFile(path.join(tmp, 'title.xlsx'));
    expect(await error({ path: 'title.xlsx' })).toMatch(/the header \(sheet "Panel" row 1\) looks like a title.*"Table 2: city panel".*set header_row: 3\./);
    const { t } = await read({ path: 'title.xlsx', header_row: 3 });
    expect(toRows(t)).toEqual([{ city_code: 330100, year: 2011 }]);
    expect(isIntColumn(t.columns.year!)).toBe(true);
  });
  it('XLSX formula cells without a stored result are missing, with a warning naming the first cell (not "[object Object]")', async () => {
    const ExcelJS = (await import('exceljs')).default;
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('S');
    ws.addRow(['a', 'b']);
    ws.addRow([1, 2]);
    ws.addRow([3, 4]);
    ws.getCell('B3').value = { formula: 'A3*2' } as never;
    await wb.xlsx.writeFile(path.join(tmp, 'f.xlsx'));
    const { t, fake } = await read({ path: 'f.xlsx' });
    expect(toRows(t)).toEqual([
      { a: 1, b: 2 },
      { a: 3, b: null },
    ]);
    expect(fake.warnings.join('\n')).toMatch(/f\.xlsx: 1 formula cell\(s\) of sheet "S" have no stored result \(first: cell B3\) and are read as missing/);
  });

  it('a one-column file, a pandas export with an unnamed index, and a header with blank names are not titles', async () => {
    writeFileSync(path.join(tmp, 'one.csv'), 'x\n1\n2\n');
    expect(toRows((await read({ path: 'one.csv' })).t)).toEqual([{ x: 1 }, { x: 2 }]);
    writeFileSync(path.join(tmp, 'series.csv'), ',value\n0,1.5\n1,2.5\n');
    expect(toRows((await read({ path: 'series.csv' })).t)).toEqual([
      { column_1: 0, value: 1.5 },
      { column_1: 1, value: 2.5 },
    ]);
    // one named column and unnamed ones, and no header-like row below: read as before
    writeFileSync(path.join(tmp, 'blank.csv'), 'id,,\n1,2,3\n');
    expect(toRows((await read({ path: 'blank.csv' })).t)).toEqual([{ id: 1, column_2: 2, column_3: 3 }]);
  });
});

describe('integer columns', () => {
  it('CSV columns written as whole numbers are IntColumns; decimals, big numbers and 1,234 are not', async () => {
    writeFileSync(path.join(tmp, 'ints.csv'), 'code,year,x,big,grouped,neg\n110000,2005,1.0,3000000000,"1,234",-3\n120000,,2.5,1,5,4\n');
    const { t } = await read({ path: 'ints.csv' });
    expect(isIntColumn(t.columns.code!)).toBe(true);
    expect(isIntColumn(t.columns.year!)).toBe(true);
    expect(isIntColumn(t.columns.neg!)).toBe(true);
    expect(isIntColumn(t.columns.x!)).toBe(false);
    expect(isIntColumn(t.columns.big!)).toBe(false);
    expect(isIntColumn(t.columns.grouped!)).toBe(false);
    expect(Array.from(t.columns.year as Float64Array)).toEqual([2005, NaN]);
  });
  it('the demo panel: city_code and year are integers, so2 is not; pandas/R defaults read it (header on line 1)', async () => {
    const { t, fake } = await read({ path: 'data/demo/city-panel.csv', key: ['city_code', 'year'] }, PROJECT_ROOT);
    expect(isIntColumn(t.columns.city_code!)).toBe(true);
    expect(isIntColumn(t.columns.year!)).toBe(true);
    expect(isIntColumn(t.columns.so2!)).toBe(false);
    expect(t.nrows).toBe(287 * 18);
    expect(fake.warnings).toEqual(['city-panel.csv says its data are SIMULATED (column source = "simulated" on every row)']);
  });

  it('survive the store (Arrow Int32, null ↔ NaN) and row selection; derived arrays are plain Float64Array', () => {
    const t = makeTable({ year: intColumnOf([2005, NaN, 2007]), x: Float64Array.from([0.5, 1, 2]) });
    const back = arrowToTable(tableToArrow(t));
    expect(isIntColumn(back.columns.year!)).toBe(true);
    expect(isIntColumn(back.columns.x!)).toBe(false);
    expect(Array.from(back.columns.year as Float64Array)).toEqual([2005, NaN, 2007]);
    expect(isIntColumn(takeRows(back, [2, 0]).columns.year!)).toBe(true);
    const y = back.columns.year as Float64Array;
    expect(isIntColumn(y.map((v) => v / 2) as Float64Array)).toBe(false);
    // an IntColumn holding a fraction (written by hand) is stored as Float64, never truncated
    const bad = new IntColumn(2);
    bad.set([1, 2.5]);
    const b2 = arrowToTable(tableToArrow(makeTable({ v: bad })));
    expect(Array.from(b2.columns.v as Float64Array)).toEqual([1, 2.5]);
    expect(intColumnOf([1, 2.5])).not.toBeInstanceOf(IntColumn);
  });
});
