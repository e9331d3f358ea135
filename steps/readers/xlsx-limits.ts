/**
 * Bounds an XLSX workbook before anything parses it (issue 9 item 9: a 0.96 MB workbook that
 * inflates to 8 M rows took the reader to 4.4 GB and out of memory).
 *
 * The check streams every worksheet and the shared-string table through zlib (memory stays at one
 * chunk: nothing is kept) and counts, per sheet, the decompressed bytes, the rows, the cells, the
 * highest row number and the widest column reference. It stops at the first limit passed:
 * - Excel's own sheet limits: 1,048,576 rows and 16,384 columns (XFD) — no Excel file is bigger;
 * - `maxCells` cells over the whole workbook (the exceljs object model costs a few hundred bytes a
 *   cell, so this is the memory budget);
 * - `maxBytes` decompressed XML over the whole workbook (the declared sizes are checked first, then
 *   the real ones, since a hostile archive may lie about them).
 * The error names the sheet as the workbook names it and the param that raises the budget.
 *
 * @example
 * await checkXlsxLimits('data/panel.xlsx', { maxCells: 5e6, maxBytes: 256 * 2 ** 20 }); // throws XlsxLimitError
 */
import { readFile } from 'node:fs/promises';
import { createInflateRaw } from 'node:zlib';
import { Readable } from 'node:stream';
import { zipDirectory, type ZipDirEntry } from '../render/zip.js';

/** Excel's limits per sheet (Excel specifications and limits, Microsoft 365). */
export const EXCEL_MAX_ROWS = 1_048_576;
export const EXCEL_MAX_COLUMNS = 16_384;

export interface XlsxLimits {
  /** most cells over the whole workbook; default 5,000,000 */
  maxCells: number;
  /** most decompressed bytes of sheet and shared-string XML over the whole workbook; default 256 MiB */
  maxBytes: number;
}

export const DEFAULT_XLSX_LIMITS: XlsxLimits = { maxCells: 5_000_000, maxBytes: 256 * 2 ** 20 };

export class XlsxLimitError extends Error {}

/** What the scan of one sheet found (also returned for tests and the log). */
export interface SheetScan {
  sheet: string;
  bytes: number;
  rows: number;
  cells: number;
  maxRow: number;
  maxColumn: number;
}

/** Column letters (A, Z, AA, XFD) to a 1-based index. */
function columnIndex(letters: string): number {
  let n = 0;
  for (let i = 0; i < letters.length; i++) n = n * 26 + (letters.charCodeAt(i) - 64);
  return n;
}

/** Sheet names by entry path (xl/worksheets/sheet1.xml → "Panel"), from workbook.xml and its rels. */
function sheetNames(bytes: Uint8Array, dir: ZipDirEntry[], inflate: (e: ZipDirEntry) => string): Map<string, string> {
  const names = new Map<string, string>();
  const wb = dir.find((e) => e.name === 'xl/workbook.xml');
  const rels = dir.find((e) => e.name === 'xl/_rels/workbook.xml.rels');
  if (!wb || !rels || wb.usize > 16 * 2 ** 20 || rels.usize > 16 * 2 ** 20) return names;
  const target = new Map<string, string>();
  for (const m of inflate(rels).matchAll(/<Relationship\b[^>]*>/g)) {
    const id = /\bId="([^"]*)"/.exec(m[0])?.[1];
    const t = /\bTarget="([^"]*)"/.exec(m[0])?.[1];
    if (id && t) target.set(id, t.startsWith('/') ? t.slice(1) : `xl/${t}`);
  }
  for (const m of inflate(wb).matchAll(/<sheet\b[^>]*>/g)) {
    const name = /\bname="([^"]*)"/.exec(m[0])?.[1];
    const id = /\br:id="([^"]*)"/.exec(m[0])?.[1];
    const t = id ? target.get(id) : undefined;
    if (name !== undefined && t) names.set(t, name.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'"));
  }
  return names;
}

/**
 * Scans `file` (an XLSX workbook) and throws {@link XlsxLimitError} naming the sheet and the limit
 * when it is bigger than Excel allows or than `limits`; returns what it counted otherwise.
 */
export async function checkXlsxLimits(file: string, limits: XlsxLimits = DEFAULT_XLSX_LIMITS): Promise<SheetScan[]> {
  const bytes = await readFile(file);
  let dir: ZipDirEntry[];
  try {
    dir = zipDirectory(bytes);
  } catch (e) {
    throw new XlsxLimitError(`cannot read ${file} as XLSX: ${(e as Error).message.replace(/^readZip: /, '')}. Is it really an .xlsx workbook (not .xls or CSV)?`);
  }
  const { inflateRawSync } = await import('node:zlib');
  const small = (e: ZipDirEntry): string => {
    const raw = bytes.subarray(e.start, e.start + e.csize);
    return (e.method === 8 ? inflateRawSync(raw, { maxOutputLength: 16 * 2 ** 20 }) : raw).toString('utf8');
  };
  let names = new Map<string, string>();
  try {
    names = sheetNames(bytes, dir, small);
  } catch {
    // an unreadable workbook.xml is exceljs's to report; the limits still hold by entry name
  }
  const parts = dir.filter((e) => /^xl\/worksheets\/[^/]+\.xml$/.test(e.name) || e.name === 'xl/sharedStrings.xml');
  const label = (e: ZipDirEntry) => (e.name === 'xl/sharedStrings.xml' ? 'the shared-string table' : `sheet "${names.get(e.name) ?? e.name}"`);
  const mib = (n: number) => (n < 2 ** 20 ? `${n.toLocaleString('en-US')} bytes` : `${(n / 2 ** 20).toFixed(0)} MiB`);
  const declared = parts.reduce((s, e) => s + e.usize, 0);
  if (declared > limits.maxBytes) {
    const big = parts.reduce((a, b) => (b.usize > a.usize ? b : a));
    throw new XlsxLimitError(
      `${file}: the workbook's sheets inflate to ${mib(declared)} of XML (${label(big)} alone ${mib(big.usize)}), over the ${mib(limits.maxBytes)} budget; raise param max_bytes if the file is genuine, or export the sheet to CSV or Parquet`,
    );
  }
  const scans: SheetScan[] = [];
  let total = 0;
  let cells = 0;
  for (const e of parts) {
    const scan: SheetScan = { sheet: names.get(e.name) ?? e.name, bytes: 0, rows: 0, cells: 0, maxRow: 0, maxColumn: 0 };
    const isSheet = e.name !== 'xl/sharedStrings.xml';
    const raw = bytes.subarray(e.start, e.start + e.csize);
    const source = Readable.from([raw]);
    const stream = e.method === 8 ? source.pipe(createInflateRaw()) : source;
    let carry = '';
    const fail = (msg: string): never => {
      stream.destroy();
      throw new XlsxLimitError(`${file}: ${label(e)} ${msg}`);
    };
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        scan.bytes += chunk.length;
        total += chunk.length;
        if (total > limits.maxBytes) {
          fail(`inflates past the ${mib(limits.maxBytes)} budget of decompressed XML (more than its archive declares); raise param max_bytes if the file is genuine, or export the sheet to CSV or Parquet`);
        }
        if (!isSheet) continue;
        // tags never straddle the cut: keep the text from the last '<' for the next chunk
        const text = carry + chunk.toString('latin1');
        const cut = text.lastIndexOf('<');
        const done = cut < 0 ? '' : text.slice(0, cut);
        carry = cut < 0 ? '' : text.slice(cut);
        if (carry.length > 1 << 20) carry = ''; // a megabyte without a tag is text, not a tag
        for (const m of done.matchAll(/<(?:\w+:)?(row|c)\b([^>]*)>/g)) {
          if (m[1] === 'row') {
            scan.rows++;
            const r = /\br="(\d+)"/.exec(m[2]!);
            scan.maxRow = r ? Number(r[1]) : scan.maxRow + 1;
            if (scan.rows > EXCEL_MAX_ROWS || scan.maxRow > EXCEL_MAX_ROWS) {
              fail(`has more than Excel's ${EXCEL_MAX_ROWS.toLocaleString('en-US')} rows (row ${Math.max(scan.rows, scan.maxRow).toLocaleString('en-US')}); no spreadsheet program wrote this: the file is damaged or built to exhaust memory`);
            }
          } else {
            scan.cells++;
            cells++;
            const r = /\br="([A-Z]+)\d+"/.exec(m[2]!);
            if (r) {
              const col = r[1]!.length > 3 ? Infinity : columnIndex(r[1]!);
              if (col > scan.maxColumn) scan.maxColumn = col;
              if (col > EXCEL_MAX_COLUMNS) fail(`has a cell (${r[0].slice(3, -1)}) beyond Excel's ${EXCEL_MAX_COLUMNS.toLocaleString('en-US')} columns (XFD); the file is damaged or built to exhaust memory`);
            }
            if (cells > limits.maxCells) {
              fail(`takes the workbook past the budget of ${limits.maxCells.toLocaleString('en-US')} cells (param max_cells) at row ${scan.maxRow.toLocaleString('en-US')}; raise max_cells if the file is genuine (each cell costs a few hundred bytes of memory), or export the sheet to CSV or Parquet, which stream`);
            }
          }
        }
      }
    } catch (err) {
      if (err instanceof XlsxLimitError) throw err;
      throw new XlsxLimitError(`cannot read ${file} as XLSX: ${label(e)} is damaged (${(err as Error).message})`);
    }
    scans.push(scan);
  }
  return scans;
}
