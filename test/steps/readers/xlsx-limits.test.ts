/**
 * steps/readers/xlsx-limits.ts: an XLSX workbook is bounded before exceljs builds its object model
 * (issue 9 item 9). The bombs here are built by hand with the project's own ZIP writer: a sheet that
 * inflates past Excel's row limit, a sparse sheet whose one row is numbered past it, a cell beyond
 * column XFD, an archive that lies about its sizes, and the cell budget.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkXlsxLimits, DEFAULT_XLSX_LIMITS, EXCEL_MAX_ROWS } from '../../../steps/readers/xlsx-limits.js';
import { zipDirectory } from '../../../steps/render/zip.js';
import { manyRows, writeWorkbook } from './xlsx-fixtures.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'repro-xlsx-limits-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const workbook = (file: string, name: string, rows: string) => writeWorkbook(path.join(tmp, file), name, rows);
const row = (r: number, cols = ['A']) => `<row r="${r}">${cols.map((c) => `<c r="${c}${r}"><v>1</v></c>`).join('')}</row>`;

describe('checkXlsxLimits', () => {
  it('counts rows, cells, the last row and the widest column of a genuine workbook (exceljs writes it)', async () => {
    const ExcelJS = (await import('exceljs')).default;
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Panel & co');
    ws.addRow(['city', 'year', 'so2']);
    for (let i = 0; i < 50; i++) ws.addRow([`c${i}`, 2005 + (i % 18), i * 1.5]);
    const f = path.join(tmp, 'genuine.xlsx');
    await wb.xlsx.writeFile(f);
    const scans = await checkXlsxLimits(f);
    const sheet = scans.find((s) => s.sheet === 'Panel & co')!;
    expect(sheet).toMatchObject({ rows: 51, cells: 153, maxRow: 51, maxColumn: 3 });
  });

  it(`a sheet that inflates to more than Excel's ${EXCEL_MAX_ROWS} rows (a 1 MB decompression bomb) stops at the limit, naming the sheet`, async () => {
    const n = EXCEL_MAX_ROWS + 10;
    const f = workbook('bomb.xlsx', 'Data', manyRows(n));
    const { size } = await import('node:fs').then((fs) => fs.statSync(f));
    expect(size).toBeLessThan(1_000_000); // about 27 MB of XML in under 1 MB of file
    const mem0 = process.memoryUsage().rss;
    await expect(checkXlsxLimits(f)).rejects.toThrow(/bomb\.xlsx: sheet "Data" has more than Excel's 1,048,576 rows \(row 1,048,577\); no spreadsheet program wrote this/);
    expect(process.memoryUsage().rss - mem0).toBeLessThan(400 * 2 ** 20);
  }, 30_000);

  it('a sparse sheet whose row number passes the limit is refused at once', async () => {
    const f = workbook('sparse.xlsx', 'Sparse', row(1) + row(2_000_000));
    await expect(checkXlsxLimits(f)).rejects.toThrow(/sheet "Sparse" has more than Excel's 1,048,576 rows \(row 2,000,000\)/);
  });

  it("a cell beyond Excel's 16,384 columns (XFD) is refused", async () => {
    await expect(checkXlsxLimits(workbook('wide.xlsx', 'Wide', row(1, ['A', 'XFD'])))).resolves.toHaveLength(1);
    await expect(checkXlsxLimits(workbook('wider.xlsx', 'Wide', row(1, ['A', 'XFE'])))).rejects.toThrow(/sheet "Wide" has a cell \(XFE1\) beyond Excel's 16,384 columns \(XFD\)/);
  });

  it('the cell budget (param max_cells) names the sheet, the row and the param', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => row(i + 1, ['A', 'B', 'C', 'D'])).join('');
    const f = workbook('cells.xlsx', 'Panel', rows);
    await expect(checkXlsxLimits(f, { ...DEFAULT_XLSX_LIMITS, maxCells: 120 })).resolves.toHaveLength(1);
    await expect(checkXlsxLimits(f, { ...DEFAULT_XLSX_LIMITS, maxCells: 100 })).rejects.toThrow(
      /sheet "Panel" takes the workbook past the budget of 100 cells \(param max_cells\) at row 26; raise max_cells if the file is genuine/,
    );
  });

  it('the byte budget holds against the declared sizes and against an archive that lies about them', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => row(i + 1)).join('');
    const f = workbook('bytes.xlsx', 'Panel', rows);
    await expect(checkXlsxLimits(f, { ...DEFAULT_XLSX_LIMITS, maxBytes: 10_000 })).rejects.toThrow(/the workbook's sheets inflate to 87,832 bytes of XML \(sheet "Panel" alone 87,832 bytes\), over the 10,000 bytes budget; raise param max_bytes/);
    // declare every entry 1 byte long: only the streamed count can catch it
    const { readFileSync } = await import('node:fs');
    const bytes = Buffer.from(readFileSync(f));
    let p = bytes.readUInt32LE(bytes.length - 22 + 16);
    for (let k = 0; k < bytes.readUInt16LE(bytes.length - 22 + 10); k++) {
      bytes.writeUInt32LE(1, p + 24);
      p += 46 + bytes.readUInt16LE(p + 28) + bytes.readUInt16LE(p + 30) + bytes.readUInt16LE(p + 32);
    }
    writeFileSync(path.join(tmp, 'liar.xlsx'), bytes);
    expect(zipDirectory(bytes).every((e) => e.usize === 1)).toBe(true);
    await expect(checkXlsxLimits(path.join(tmp, 'liar.xlsx'), { ...DEFAULT_XLSX_LIMITS, maxBytes: 10_000 })).rejects.toThrow(/sheet "Panel" inflates past the 10,000 bytes budget of decompressed XML \(more than its archive declares\)/);
  });

  it('a file that is not a ZIP archive gets the XLSX hint', async () => {
    const f = path.join(tmp, 'not.xlsx');
    writeFileSync(f, 'city,year\n1,2\n');
    await expect(checkXlsxLimits(f)).rejects.toThrow(/cannot read .*not\.xlsx as XLSX: no end-of-central-directory record \(not a ZIP archive\)\. Is it really an \.xlsx workbook/);
  });
});
