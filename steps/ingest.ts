/**
 * `ingest`: read a data file into a table. CSV and other delimited text (UTF-8 with or without BOM,
 * GBK/GB18030 as Chinese yearbook exports often are; the encoding is detected unless given; the
 * separator , tab ; | is detected unless `delimiter` is given), XLSX (one sheet), Stata .dta (formats
 * 113–119, steps/readers/dta.ts; variable and value labels logged and kept as the `meta` JSON output,
 * `value_labels: labels` reads the label text, %td/%tc dates as ISO text), Parquet (hyparquet: snappy, gzip, zstd, brotli, LZ4; dictionary encoding; flat schemas)
 * or Arrow IPC / Feather v2 (uncompressed, LZ4 or ZSTD record batches). The format is decided by the
 * first bytes, then the extension; .xls and other binary files are refused with an "export to XLSX/CSV"
 * hint. Columns can be renamed (`columns: {new: old}`), typed, checked for a unique key, and
 * missing-value markers (`na`) set (default: '', NA, —, ..., -, Stata's `.`, Excel's #N/A, #DIV/0! and
 * other error values). Numbers written with thousands separators (`1,234.5`) parse. Title rows above
 * the header (`header_row`; a header that looks like a title is an error that names the real header's
 * row) and trailing note rows ("注：…", "Note: …"; `footer`) are skipped; a repeated header name gets a
 * suffix (`County Name`, `County Name_2`). Whole-number columns (city codes, years, counts) come out as
 * IntColumns (engine/table.ts), stored as Arrow Int32.
 *
 * Errors name the file and the place as an editor or spreadsheet shows it: CSV "line 40, column 6"
 * (physical lines, so a leading `#` comment line is line 1), XLSX `sheet "Panel" cell F10`.
 *
 * @example
 * ingest:
 *   kind: ingest
 *   with:
 *     path: data/yearbook.csv
 *     columns: {so2: 工业二氧化硫排放量, city_code: 城市代码}
 *     key: [city_code, year]
 *     na: ['', '—', '...']
 *
 * # the real county CO2 workbook: named sheet, Chinese and repeated headers, a trailing note row
 * co2:
 *   kind: ingest
 *   with:
 *     path: ../shared/data/china-county-co2-1997-2017/co2.xlsx
 *     sheet: Unit (Million tons)
 *     columns: {distcode: DISTCODE地区代码, county_en: County Name_2}
 *     types: {distcode: string}
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { type Artifact, defineStep, StepError } from '../engine/types.js';
import { editDistance } from './common/suggest.js';
import { checkXlsxLimits, DEFAULT_XLSX_LIMITS, XlsxLimitError } from './readers/xlsx-limits.js';
import { isUnsafeKey, unsafeKeyMessage } from '../engine/safe-keys.js';
import { type Column, intColumnOf, isNumeric, makeTable, type Table } from '../engine/table.js';

/** Missing by default: empty, R's NA, Chinese yearbooks' — and ..., Stata's `.`, Excel's error values. */
const DEFAULT_NA = ['', 'NA', '—', '...', '-', '.', '#N/A', '#DIV/0!', '#VALUE!', '#REF!', '#NUM!', '#NAME?', '#NULL!'];

const params = z.strictObject({
  path: z.string().min(1).describe('data file, relative to the pipeline YAML (.csv, .tsv, .txt, .xlsx, .dta, .parquet, .arrow, .feather, .ipc)'),
  format: z
    .enum(['auto', 'csv', 'xlsx', 'arrow', 'parquet', 'dta'])
    .default('auto')
    .describe(
      'file format; auto (default) decides by the first bytes (XLSX zip, Parquet PAR1, Arrow IPC, Stata dta) and else by extension: .xlsx → xlsx, .dta → dta, .parquet → parquet, .arrow/.feather/.ipc → arrow, text → csv. .xls (Excel 97–2003) and other binary files are refused with a hint to export to XLSX or CSV',
    ),
  encoding: z
    .enum(['auto', 'utf8', 'gbk', 'gb18030', 'utf16le'])
    .default('auto')
    .describe('CSV text encoding; auto (default): a BOM decides, else UTF-8 if the bytes are valid UTF-8, else GB18030 (a superset of GBK)'),
  delimiter: z
    .string()
    .min(1)
    .default('auto')
    .describe('CSV field separator: auto (default: tab for .tsv/.tab, else whichever of , ; tab | splits the first lines into the same number of fields), or the character itself (",", ";", "|", "\\t" for tab)'),
  comment: z
    .string()
    .max(1)
    .default('#')
    .describe('CSV lines starting with this character are skipped (default "#"; "" to read every line)'),
  sheet: z
    .union([z.string().min(1), z.number().int().min(1)])
    .optional()
    .describe('XLSX sheet, by name or 1-based position (default: the first sheet)'),
  max_cells: z
    .number()
    .int()
    .min(1)
    .default(DEFAULT_XLSX_LIMITS.maxCells)
    .describe(`XLSX: most cells over the whole workbook before reading is refused (a memory budget: each cell costs a few hundred bytes); default ${DEFAULT_XLSX_LIMITS.maxCells.toLocaleString('en-US')}. Excel's own limits (1,048,576 rows, 16,384 columns a sheet) always hold`),
  max_bytes: z
    .number()
    .int()
    .min(1)
    .default(DEFAULT_XLSX_LIMITS.maxBytes)
    .describe(`XLSX: most bytes of decompressed sheet XML over the whole workbook (guards against decompression bombs); default ${DEFAULT_XLSX_LIMITS.maxBytes} (256 MiB)`),
  columns: z
    .record(z.string(), z.string())
    .optional()
    .describe('rename map {new_name: name_in_file}, e.g. {so2: 工业二氧化硫排放量}; other columns keep their names'),
  select: z.array(z.string()).optional().describe('keep only these columns (names after renaming), in this order; default all'),
  types: z
    .record(z.string(), z.enum(['number', 'string', 'auto']))
    .optional()
    .describe('column types by (new) name: number, string or auto (default: number if every non-missing cell parses as a number)'),
  header_row: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('line (CSV) or row (XLSX) number of the header, 1-based as an editor or spreadsheet shows it; rows above it are skipped (for title rows above the header). Default: the first non-empty, non-comment line'),
  footer: z
    .union([z.literal('auto'), z.number().int().min(0)])
    .default('auto')
    .describe(
      'trailing rows to drop: a count, or auto (default): drop trailing note rows, i.e. rows at the end whose only non-empty cell is text starting with Note/Source/注/资料来源/数据来源/说明/备注 (each dropped row is reported as a warning); 0 keeps every row',
    ),
  require: z.array(z.string()).optional().describe('columns (after renaming) that must exist; key and typed columns are required too'),
  key: z.array(z.string()).optional().describe('columns whose combination must be unique, e.g. [city_code, year]'),
  na: z.array(z.string()).default(DEFAULT_NA).describe(`cell values read as missing (compared after trimming); default ${JSON.stringify(DEFAULT_NA)}`),
  value_labels: z
    .enum(['codes', 'labels'])
    .default('codes')
    .describe('Stata .dta columns with value labels: codes (default: the numbers, labels reported in the log) or labels (the label text, as a text column)'),
});
export type IngestParams = z.infer<typeof params>;

/** One raw cell as read from the file before typing. */
type Cell = string | number | null;

interface Raw {
  header: string[];
  rows: Cell[][];
  /** Human location of data row i, 1-based as an editor/spreadsheet shows it, e.g. "line 7" or "sheet \"Panel\" row 7". */
  where(i: number): string;
  /** Human location of the cell in data row i and column j (0-based), e.g. "line 7, column 3" or "sheet \"Panel\" cell C7". */
  cell(i: number, j: number): string;
  /** Typed files (dta, Parquet, Arrow): which columns the file declares integer (and hold int32 values). */
  ints?: boolean[];
  /** Labels and other metadata of the file (Stata dta), returned as the `meta` output. */
  meta?: Record<string, unknown>;
}

/** Spreadsheet column letters of a 0-based column index: 0 → A, 25 → Z, 26 → AA. */
export function columnLetter(j: number): string {
  let s = '';
  for (let n = j + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

const NOTE_RE = /^\s*(?:notes?|sources?|注|资料来源|数据来源|说明|备注)(?:\b|[:：\s])/i;

/**
 * Drop trailing rows (param footer): a fixed count, or 'auto': rows at the end whose only non-empty
 * cell is text that starts like a note (Note:, Source:, 注：, 资料来源 …). Returns the number of rows kept.
 */
function footerKeep(rows: Cell[][], footer: IngestParams['footer'], dropped: (i: number, text: string) => void): number {
  if (typeof footer === 'number') {
    const keep = Math.max(0, rows.length - footer);
    for (let i = keep; i < rows.length; i++) dropped(i, rows[i]!.filter((c) => c !== null && c !== '').join(' | '));
    return keep;
  }
  let keep = rows.length;
  while (keep > 0) {
    const filled = rows[keep - 1]!.filter((c) => c !== null && String(c).trim() !== '');
    if (filled.length !== 1 || typeof filled[0] !== 'string' || !NOTE_RE.test(filled[0])) break;
    dropped(keep - 1, filled[0]);
    keep--;
  }
  return keep;
}

const INT_RE = /^[+-]?\d+$/;
const NUM_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const GROUPED_RE = /^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$/;

/**
 * Parse a text cell as a number: plain decimals and exponents, and thousands-separated
 * values like `1,234.5`. Returns NaN if it is not a number.
 */
export function parseNumber(s: string): number {
  const t = s.trim();
  if (NUM_RE.test(t)) return Number(t);
  if (GROUPED_RE.test(t)) return Number(t.replace(/,/g, ''));
  return NaN;
}

/** Decode CSV bytes: BOM first, then strict UTF-8, else GB18030. Returns the text and the encoding used. */
export async function decodeText(bytes: Uint8Array, encoding: IngestParams['encoding']): Promise<{ text: string; encoding: string }> {
  const iconv = (await import('iconv-lite')).default;
  if (encoding === 'auto') {
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { text: new TextDecoder('utf-8').decode(bytes.subarray(3)), encoding: 'utf8 (BOM)' };
    if (bytes[0] === 0xff && bytes[1] === 0xfe) return { text: iconv.decode(Buffer.from(bytes.subarray(2)), 'utf16le'), encoding: 'utf16le (BOM)' };
    try {
      return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf8' };
    } catch {
      return { text: iconv.decode(Buffer.from(bytes), 'gb18030'), encoding: 'gb18030' };
    }
  }
  if (encoding === 'utf8') {
    const b = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
    return { text: new TextDecoder('utf-8').decode(b), encoding };
  }
  return { text: iconv.decode(Buffer.from(bytes), encoding), encoding };
}

const DELIMS = [',', '\t', ';', '|'];
const DELIM_NAME: Record<string, string> = { ',': 'comma', '\t': 'tab', ';': 'semicolon', '|': 'pipe' };

/**
 * Line and column (1-based, as an editor shows them) of the opening quote of a quoted field that is
 * still open at the end of `text`, or null. A quote opens a field only at its start (elsewhere it is
 * text, as with relax_quotes); `""` inside a quoted field is an escaped quote.
 */
export function unclosedQuote(text: string, delimiter: string): { line: number; col: number } | null {
  let line = 1;
  let lineStart = 0;
  let fieldStart = true;
  let open: { line: number; col: number } | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (open) {
      if (ch === '"') {
        if (text[i + 1] === '"') i++;
        else open = null;
      } else if (ch === '\n') {
        line++;
        lineStart = i + 1;
      }
      continue;
    }
    if (ch === '\n') {
      line++;
      lineStart = i + 1;
      fieldStart = true;
    } else if (text.startsWith(delimiter, i)) {
      fieldStart = true;
      i += delimiter.length - 1;
    } else if (ch === '"' && fieldStart) {
      open = { line, col: i - lineStart + 1 };
      fieldStart = false;
    } else if (ch !== '\r') fieldStart = false;
  }
  return open;
}

/** Fields of one line split at `d` outside double quotes (for delimiter detection only). */
function countFields(line: string, d: string): number {
  let n = 1;
  let q = false;
  for (const ch of line) {
    if (ch === '"') q = !q;
    else if (ch === d && !q) n++;
  }
  return n;
}

/**
 * The field separator of a delimited text: among , tab ; | the one that splits the first (up to 20)
 * non-empty, non-comment lines into the same number (> 1) of fields on the most lines; ties go to
 * the order above. A title line above the header may differ, so agreement on most lines counts.
 * Falls back to ',' (a one-column file).
 */
export function detectDelimiter(text: string, comment: string): string {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/, 200)
    .filter((l) => l.trim() !== '' && (comment === '' || !l.startsWith(comment)))
    .slice(0, 20);
  let best = ',';
  let bestScore = 0;
  for (const d of DELIMS) {
    const counts = lines.map((l) => countFields(l, d));
    const freq = new Map<number, number>();
    for (const c of counts) if (c > 1) freq.set(c, (freq.get(c) ?? 0) + 1);
    const score = Math.max(0, ...freq.values());
    if (score > bestScore) {
      best = d;
      bestScore = score;
    }
  }
  return best;
}

/**
 * A title row: only its first cell filled, and at least one empty cell after it (or a single cell
 * above wider rows). A first cell left empty (pandas' unnamed index column: `,value`) is no title.
 */
function isTitleRow(cells: Cell[], nextWidth: number): boolean {
  const filled = cells.map((c) => c !== null && String(c).trim() !== '');
  return filled[0] === true && filled.filter(Boolean).length === 1 && (cells.length > 1 || nextWidth > 1);
}

/** A header candidate: every cell filled and at least one that is not a number. */
function isHeaderLike(cells: Cell[]): boolean {
  return cells.length > 1 && cells.every((c) => c !== null && String(c).trim() !== '') && cells.some((c) => typeof c === 'string' && Number.isNaN(parseNumber(c)));
}

/**
 * When the header row looks like a title (one filled cell, the rest empty) and a later row looks like
 * a header (every cell filled, some text): the error that says so and names that row. Else null (the
 * first row is read as the header, as before).
 */
function titleError(file: string, where: string, title: string, rows: { cells: Cell[]; n: number }[], unit: string): StepError | null {
  const real = rows.find((r) => isHeaderLike(r.cells));
  if (!real) return null;
  return new StepError(
    `${file}: the header (${where}) looks like a title, not column names: it has one filled cell, ${JSON.stringify(title.slice(0, 60))}, and the rest empty. ` +
      `The header seems to be ${unit} ${real.n} (${real.cells.slice(0, 4).map((c) => JSON.stringify(String(c))).join(', ')}${real.cells.length > 4 ? ', …' : ''}): set header_row: ${real.n}.`,
  );
}

async function readCsv(file: string, p: IngestParams, info: (m: string) => void, warn: (m: string) => void): Promise<Raw> {
  const { parse } = await import('csv-parse/sync');
  const { text, encoding } = await decodeText(readFileSync(file), p.encoding);
  info(`${path.basename(file)} read as ${encoding}`);
  // leading comment lines are passed on: a file that says it is simulated makes a warning (kept in the run history)
  if (p.comment !== '') {
    for (const line of text.replace(/^\uFEFF/, '').split(/\r?\n/, 20)) {
      if (!line.startsWith(p.comment)) break;
      const note = line.slice(p.comment.length).trim();
      if (/simulated/i.test(note)) warn(`${path.basename(file)} says: ${note}`);
      else if (note) info(`${path.basename(file)}: ${note}`);
    }
  }
  let delimiter = p.delimiter === '\\t' || p.delimiter === 'tab' ? '\t' : p.delimiter;
  if (delimiter === 'auto') {
    const ext = path.extname(file).toLowerCase();
    delimiter = ext === '.tsv' || ext === '.tab' ? '\t' : detectDelimiter(text, p.comment);
    if (delimiter !== ',') info(`${path.basename(file)}: fields separated by ${DELIM_NAME[delimiter]} (param delimiter: auto)`);
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      delimiter,
      comment: p.comment === '' ? undefined : p.comment,
      comment_no_infix: true,
      skip_empty_lines: true,
      // row lengths are checked below, so that a trailing note row can be told apart from a broken row
      relax_column_count: true,
      // a quote inside an unquoted field (注："—"表示缺失) is kept as text, as R and pandas read it
      relax_quotes: true,
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (e) {
    // csv-parse names the end of the file for a quote that never closes: name where it opens
    const open = (e as { code?: string }).code === 'CSV_QUOTE_NOT_CLOSED' ? unclosedQuote(text, delimiter) : null;
    if (open) {
      throw new StepError(
        `cannot parse ${file} as CSV: the quote opened at line ${open.line}, column ${open.col} is never closed (everything after it, to the end of the file, would be one cell). ` +
          `Close the quote on line ${open.line}, or double a quote inside a quoted cell ("").`,
      );
    }
    throw new StepError(`cannot parse ${file} as CSV: ${(e as Error).message}. Check the delimiter (param delimiter) and the quoting on that line.`);
  }
  if (p.header_row !== undefined) {
    const h = p.header_row;
    records = records.filter((r) => r.info.lines >= h);
    if (records.length === 0 || records[0]!.info.lines !== h) {
      throw new StepError(`${file} has no header at line ${h} (param header_row): that line is empty, a comment or past the end. Set header_row to the line number of the header as an editor shows it.`);
    }
  }
  if (records.length === 0) throw new StepError(`${file} is empty (no header line). Point path at a file with a header line and data rows.`);
  if (p.header_row === undefined && isTitleRow(records[0]!.record, records[1]?.record.length ?? 0)) {
    const title = records[0]!.record[0]!;
    const e = titleError(file, `line ${records[0]!.info.lines}`, title, records.slice(1, 30).map((r) => ({ cells: r.record, n: r.info.lines })), 'line');
    if (e) throw e;
  }
  const header = records[0]!.record.map((h) => h.trim());
  let body = records.slice(1);
  const keep = footerKeep(
    body.map((r) => r.record),
    p.footer,
    (i, t) => warn(`${path.basename(file)}: dropped trailing row at line ${body[i]!.info.lines} (param footer): ${JSON.stringify(t.slice(0, 80))}`),
  );
  body = body.slice(0, keep);
  const bad = body.find((r) => r.record.length !== header.length);
  if (bad) {
    throw new StepError(
      `cannot parse ${file} as CSV: line ${bad.info.lines} has ${bad.record.length} field(s) but the header (line ${records[0]!.info.lines}) has ${header.length} (fields separated by ${DELIM_NAME[delimiter] ?? JSON.stringify(delimiter)}). ` +
        `Check the delimiter (param delimiter) and the quoting on that line; a note row at the end can be dropped with param footer.`,
    );
  }
  return {
    header,
    rows: body.map((r) => r.record),
    where: (i) => `line ${body[i]!.info.lines}`,
    cell: (i, j) => `line ${body[i]!.info.lines}, column ${j + 1}`,
  };
}

async function readXlsx(file: string, p: IngestParams, warn: (m: string) => void): Promise<Raw> {
  try {
    await checkXlsxLimits(file, { maxCells: p.max_cells, maxBytes: p.max_bytes });
  } catch (e) {
    if (e instanceof XlsxLimitError) throw new StepError(e.message);
    throw e;
  }
  const ExcelJS = (await import('exceljs')).default;
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.readFile(file);
  } catch (e) {
    throw new StepError(`cannot read ${file} as XLSX: ${(e as Error).message}. Is it really an .xlsx workbook (not .xls or CSV)?`);
  }
  const names = wb.worksheets.map((w) => w.name);
  const ws = p.sheet === undefined ? wb.worksheets[0] : typeof p.sheet === 'number' ? wb.worksheets[p.sheet - 1] : wb.getWorksheet(p.sheet);
  if (!ws) {
    throw new StepError(
      `${file} has no sheet ${JSON.stringify(p.sheet ?? 1)}; its sheets are: ${names.map((n) => JSON.stringify(n)).join(', ') || '(none)'}. Set param sheet to one of them.`,
    );
  }
  // formula cells whose value the file does not store (written by a program, never recalculated)
  const uncached = { count: 0, first: '' };
  const cellValue = (v: unknown): Cell => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'number') return v;
    if (typeof v === 'string') return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (v instanceof Date) return v.toISOString().slice(0, 10);
    if (typeof v === 'object') {
      const o = v as { result?: unknown; richText?: { text: string }[]; text?: string; error?: string };
      if ('result' in o) return cellValue(o.result);
      if (o.richText) return o.richText.map((r) => r.text).join('');
      if (typeof o.text === 'string') return o.text;
      if (o.error) return null;
      if ('formula' in o || 'sharedFormula' in o) {
        uncached.count++;
        return null;
      }
    }
    return String(v);
  };
  const rows: Cell[][] = [];
  const rowNums: number[] = [];
  let header: string[] | null = null;
  let width = 0;
  // the header row looks like a title (one filled cell): name the row of the real header
  if (p.header_row === undefined) {
    const first: { cells: Cell[]; n: number }[] = [];
    ws.eachRow({ includeEmpty: false }, (row, n) => {
      if (first.length < 30) first.push({ cells: (row.values as unknown[]).slice(1).map(cellValue), n });
    });
    const maxWidth = Math.max(0, ...first.map((r) => r.cells.length));
    if (first.length > 1 && isTitleRow(first[0]!.cells, maxWidth)) {
      const e = titleError(file, `sheet "${ws.name}" row ${first[0]!.n}`, String(first[0]!.cells[0]), first.slice(1), 'row');
      if (e) throw e;
    }
  }
  uncached.count = 0;
  ws.eachRow({ includeEmpty: false }, (row, n) => {
    if (p.header_row !== undefined && n < p.header_row) return;
    const vals = (row.values as unknown[]).slice(1).map((v, j) => {
      const before = uncached.count;
      const c = cellValue(v);
      if (uncached.count > before && !uncached.first) uncached.first = `${columnLetter(j)}${n}`;
      return c;
    });
    if (header === null) {
      if (p.header_row !== undefined && n !== p.header_row) {
        throw new StepError(`sheet "${ws.name}" of ${file} has no header at row ${p.header_row} (param header_row): that row is empty. Set header_row to the row number of the header as the spreadsheet shows it.`);
      }
      header = vals.map((v) => (v === null ? '' : String(v).trim()));
      width = header.length;
      return;
    }
    const r = vals.slice(0, width);
    while (r.length < width) r.push(null);
    rows.push(r);
    rowNums.push(n);
  });
  if (header === null) throw new StepError(`sheet "${ws.name}" of ${file} is empty (no header row). Choose another sheet (param sheet) or fix the file.`);
  if (uncached.count > 0) {
    warn(
      `${path.basename(file)}: ${uncached.count} formula cell(s) of sheet "${ws.name}" have no stored result (first: cell ${uncached.first}) and are read as missing; open the workbook in Excel or LibreOffice and save it to store their values.`,
    );
  }
  const keep = footerKeep(rows, p.footer, (i, t) => warn(`${path.basename(file)}: dropped trailing row ${rowNums[i]} of sheet "${ws.name}" (param footer): ${JSON.stringify(t.slice(0, 80))}`));
  rows.length = keep;
  return {
    header,
    rows,
    where: (i) => `sheet "${ws.name}" row ${rowNums[i]}`,
    cell: (i, j) => `sheet "${ws.name}" cell ${columnLetter(j)}${rowNums[i]}`,
  };
}

let codecsRegistered = false;

/**
 * Register the LZ4 (frame) and ZSTD codecs with apache-arrow, so that record batches compressed by
 * pyarrow / R arrow (Feather v2's default is LZ4; ZSTD on request) decode. Pure JS: lz4js, fzstd.
 */
export async function registerArrowCodecs(): Promise<void> {
  if (codecsRegistered) return;
  const arrow = await import('apache-arrow');
  const lz4 = (await import('lz4js')).default as typeof import('lz4js');
  const { decompress } = await import('fzstd');
  // apache-arrow views the decoded bytes as typed arrays (BigInt64Array needs an 8-aligned offset): a
  // result that is a view into a larger buffer (fzstd returns one for some frames) is copied to its own
  const own = (u: Uint8Array) => (u.byteOffset === 0 ? u : u.slice());
  arrow.compressionRegistry.set(arrow.CompressionType.LZ4_FRAME, { decode: (b: Uint8Array) => own(lz4.decompress(b)) });
  arrow.compressionRegistry.set(arrow.CompressionType.ZSTD, { decode: (b: Uint8Array) => own(decompress(b)) });
  codecsRegistered = true;
}

/** A raw cell from a value read by a columnar reader (Arrow, Parquet): bigint → number, Date → ISO date. */
function convCell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString().replace(/T00:00:00\.000Z$/, '');
  return String(v);
}

async function readArrow(file: string): Promise<Raw> {
  const arrow = await import('apache-arrow');
  await registerArrowCodecs();
  const bytes = readFileSync(file);
  if (bytes.subarray(0, 4).toString('latin1') === 'FEA1') {
    throw new StepError(
      `${file} is a Feather version 1 file (written by feather-format or arrow < 0.17), which is not supported. Re-save it as Feather v2 / Arrow IPC (pyarrow.feather.write_feather(df, path) or arrow::write_feather(df, path) with their defaults), or as Parquet or CSV.`,
    );
  }
  let t;
  try {
    t = arrow.tableFromIPC(bytes);
  } catch (e) {
    throw new StepError(
      `cannot read ${file} as Arrow IPC / Feather v2: ${(e as Error).message}. Uncompressed, LZ4 and ZSTD record batches are supported; check that the file is complete, or export it as Parquet or CSV.`,
    );
  }
  const header = t.schema.fields.map((f) => f.name);
  const rows: Cell[][] = [];
  const cols = header.map((_, j) => t.getChildAt(j)!);
  for (let i = 0; i < t.numRows; i++) rows.push(cols.map((col) => convCell(col.isValid(i) ? col.get(i) : null)));
  return { header, rows, where: (i) => `record ${i + 1}`, cell: (i, j) => `record ${i + 1}, column ${j + 1}`, ints: intColumns(rows, header.length, t.schema.fields.map((f) => f.typeId === arrow.Type.Int)) };
}

async function readParquet(file: string): Promise<Raw> {
  const { parquetMetadata, parquetSchema, parquetReadObjects } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const buf = readFileSync(file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  let objs: Record<string, unknown>[];
  let header: string[];
  let intCols: boolean[];
  try {
    const meta = parquetMetadata(ab);
    const schema = parquetSchema(meta);
    const nested = schema.children.filter((c) => c.children.length > 0).map((c) => c.element.name);
    if (nested.length) {
      throw new StepError(`${file} has nested (struct/list/map) column(s) ${nested.map((n) => JSON.stringify(n)).join(', ')}; only flat tables are read. Flatten them (e.g. pandas json_normalize, tidyr::unnest) or drop them before writing the file.`);
    }
    header = schema.children.map((c) => c.element.name);
    // plain integers (pyarrow marks int8…uint64 with the INTEGER logical type); not dates, times, decimals
    intCols = schema.children.map(
      (c) =>
        (c.element.type === 'INT32' || c.element.type === 'INT64') &&
        (!c.element.logical_type || c.element.logical_type.type === 'INTEGER') &&
        !/^(DATE|TIME|DECIMAL)/.test(c.element.converted_type ?? ''),
    );
    objs = (await parquetReadObjects({ file: ab, compressors, metadata: meta })) as Record<string, unknown>[];
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw new StepError(`cannot read ${file} as Parquet: ${(e as Error).message}. Snappy, gzip, zstd, brotli and LZ4 compression and dictionary encoding are supported; check that the file is complete, or export it as CSV.`);
  }
  const rows = objs.map((o) => header.map((h) => convCell(o[h])));
  return { header, rows, where: (i) => `row ${i + 1}`, cell: (i, j) => `row ${i + 1}, column ${j + 1} ("${header[j]}")`, ints: intColumns(rows, header.length, intCols) };
}

async function readStata(file: string, p: IngestParams, info: (m: string) => void): Promise<Raw> {
  const { readDta, DtaError, stataDateText } = await import('./readers/dta.js');
  let dta;
  try {
    dta = readDta(readFileSync(file));
  } catch (e) {
    if (e instanceof DtaError) throw new StepError(`cannot read ${file} as a Stata .dta file: ${e.message}. Supported: dta formats 113–115 and 117–119 (Stata 8–18); re-save it in Stata with \`saveold\` or export it as CSV.`);
    throw e;
  }
  info(`${path.basename(file)}: Stata dta format ${dta.release}${dta.dataLabel ? `, "${dta.dataLabel}"` : ''}, ${dta.nobs} observations`);
  const header = dta.variables.map((v) => v.name);
  const labelled: string[] = [];
  const cols: Cell[][] = dta.variables.map((v) => {
    const lbl = v.valueLabel ? dta.valueLabels[v.valueLabel] : undefined;
    if (v.label) info(`${path.basename(file)}: variable ${v.name}: "${v.label}"`);
    if (lbl && lbl.size) {
      labelled.push(v.name);
      info(`${path.basename(file)}: value labels of ${v.name} (${v.valueLabel}): ${[...lbl].map(([k, t]) => `${k} = ${JSON.stringify(t)}`).join(', ')}`);
    }
    if (v.values instanceof Float64Array) {
      const vals = v.values;
      // %td / %tc dates and datetimes → ISO text, as pandas and haven turn them into dates
      if (stataDateText(0, v.format) !== undefined) return Array.from(vals, (x) => stataDateText(x, v.format)!);
      if (lbl && p.value_labels === 'labels') return Array.from(vals, (x) => (Number.isNaN(x) ? null : (lbl.get(x) ?? String(x))));
      return Array.from(vals, (x) => (Number.isNaN(x) ? null : x));
    }
    return v.values.map((s) => (s === '' ? null : s));
  });
  const rows: Cell[][] = Array.from({ length: dta.nobs }, (_, i) => cols.map((c) => c[i]!));
  const intType = dta.variables.map((v) => (v.type === 'byte' || v.type === 'int' || v.type === 'long') && !(p.value_labels === 'labels' && labelled.includes(v.name)) && stataDateText(0, v.format) === undefined);
  // the file's labels, kept as the node's `meta` output (repro show ingest.meta)
  const meta = {
    file: path.basename(file),
    format: `Stata dta ${dta.release}`,
    data_label: dta.dataLabel,
    timestamp: dta.timestamp,
    variables: Object.fromEntries(
      dta.variables.map((v) => {
        const lbl = v.valueLabel ? dta.valueLabels[v.valueLabel] : undefined;
        return [v.name, { type: v.type, format: v.format, label: v.label, ...(lbl && lbl.size ? { value_labels: Object.fromEntries([...lbl].map(([k, t]) => [String(k), t])) } : {}) }];
      }),
    ),
  };
  return { header, rows, where: (i) => `observation ${i + 1}`, cell: (i, j) => `observation ${i + 1}, variable ${header[j]}`, ints: intColumns(rows, header.length, intType), meta };
}

/** Integer columns of a typed file: declared integer in the file and every present value within int32. */
function intColumns(rows: Cell[][], width: number, declared: boolean[]): boolean[] {
  return Array.from({ length: width }, (_, j) => declared[j] === true && rows.every((r) => r[j] === null || (typeof r[j] === 'number' && Number.isInteger(r[j]) && Math.abs(r[j] as number) <= 2147483647)));
}

type Format = 'csv' | 'xlsx' | 'arrow' | 'parquet' | 'dta';

/** Export hint for binary formats ingest does not read, by extension. */
const UNSUPPORTED: Record<string, string> = {
  '.xls': 'an Excel 97–2003 workbook (.xls)',
  '.sav': 'an SPSS file',
  '.sas7bdat': 'a SAS data set',
  '.rds': 'an R data file',
  '.rdata': 'an R workspace',
  '.rda': 'an R workspace',
  '.ods': 'an OpenDocument spreadsheet',
  '.mat': 'a MATLAB file',
  '.pkl': 'a Python pickle',
};

/**
 * The format of a file: its first bytes first (Parquet `PAR1`, Arrow `ARROW1` / IPC stream, zip =
 * XLSX, Stata dta, OLE2 = .xls), else the extension, else text → CSV. Throws for .xls and any other
 * binary (NUL bytes in the first 4 KiB that are not UTF-16 text).
 */
export function formatOf(file: string, f: IngestParams['format'], head: Uint8Array = new Uint8Array()): Format {
  if (f !== 'auto') return f;
  const ext = path.extname(file).toLowerCase();
  const ascii = Buffer.from(head.subarray(0, 16)).toString('latin1');
  const unsupported = (what: string) =>
    new StepError(`${file} is ${what}: unsupported format. Export it to XLSX or CSV (UTF-8), or to Parquet / Stata .dta / Arrow Feather, and point param path at that file.`);
  if (head[0] === 0xd0 && head[1] === 0xcf && head[2] === 0x11 && head[3] === 0xe0) {
    throw unsupported(ext === '.xls' || ext === '.xlsx' ? 'an Excel 97–2003 workbook (.xls, OLE2 compound file)' : 'an OLE2 compound file (Excel 97–2003 .xls, old Word or similar)');
  }
  if (ascii.startsWith('PAR1')) return 'parquet';
  if (ascii.startsWith('ARROW1') || ascii.startsWith('FEA1') || (head[0] === 0xff && head[1] === 0xff && head[2] === 0xff && head[3] === 0xff)) return 'arrow';
  if (ascii.startsWith('PK\x03\x04')) return 'xlsx';
  if (ascii.startsWith('<stata_dta>') || ext === '.dta') return 'dta';
  if (ext === '.xlsx' || ext === '.xlsm') return 'xlsx';
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  if (ext === '.arrow' || ext === '.feather' || ext === '.ipc') return 'arrow';
  if (UNSUPPORTED[ext]) throw unsupported(UNSUPPORTED[ext]);
  // text: no NUL byte, or UTF-16 (a BOM, or NULs only at odd/even positions of ASCII text)
  const sample = head.subarray(0, 4096);
  let nulEven = 0;
  let nulOdd = 0;
  for (let i = 0; i < sample.length; i++) if (sample[i] === 0) i % 2 ? nulOdd++ : nulEven++;
  // UTF-16 text without a BOM: mostly ASCII characters, so NUL bytes all on one side of each pair
  const isUtf16 = (sample[0] === 0xff && sample[1] === 0xfe) || (sample[0] === 0xfe && sample[1] === 0xff) || (Math.min(nulEven, nulOdd) === 0 && Math.max(nulEven, nulOdd) >= sample.length / 4);
  if (!isUtf16 && sample.includes(0)) throw unsupported(`a binary file (extension ${JSON.stringify(ext || '(none)')}, first bytes ${Buffer.from(head.subarray(0, 8)).toString('hex')}) that is neither text nor XLSX, Parquet, Arrow or Stata`);
  return 'csv';
}

/** When the header is one column that contains a separator character: which param delimiter to set. */
function delimiterHint(h: string): string {
  const d = DELIMS.find((c) => c !== ',' && h.includes(c));
  return d ? ` (the header is one column that contains ${DELIM_NAME[d]} characters: set param delimiter: ${JSON.stringify(d)}, or leave it auto)` : '';
}

/** The existing names closest to `name` (at most 2 edits, or one contains the other), best first. */
function closest(name: string, names: string[]): string[] {
  const lo = name.toLowerCase();
  return names
    .map((n) => ({ n, d: n.toLowerCase().includes(lo) || lo.includes(n.toLowerCase()) ? 0.5 : editDistance(name.toLowerCase(), n.toLowerCase()) }))
    .filter((x) => x.d <= 2)
    .sort((a, b) => a.d - b.d)
    .slice(0, 3)
    .map((x) => x.n);
}

/**
 * Type the raw cells into a Table, applying renames, NA markers, types, key checks. Throws StepError.
 * Repeated header names (e.g. "County Name" over a Chinese and an English column) get a suffix
 * `_2`, `_3` … in order, reported through `warn`.
 */
export function typeRaw(raw: Raw, p: IngestParams, file: string, warn: (m: string) => void = () => {}): Table {
  const who = file; // messages name the file; the engine names the node
  const listCols = (cols: string[]) => cols.map((c) => JSON.stringify(c)).join(', ');
  // empty header names get their position; repeated names a suffix
  const count = new Map<string, number>();
  const taken = new Set(raw.header);
  raw.header.forEach((h, j) => {
    if (h === '') {
      raw.header[j] = `column_${j + 1}`;
      return;
    }
    const k = (count.get(h) ?? 0) + 1;
    count.set(h, k);
    if (k > 1) {
      let m = k;
      while (taken.has(`${h}_${m}`)) m++;
      raw.header[j] = `${h}_${m}`;
      taken.add(raw.header[j]!);
      warn(`${path.basename(file)}: the header has "${h}" more than once; column ${j + 1} is read as "${raw.header[j]}" (rename it with param columns: {new_name: ${raw.header[j]}})`);
    }
  });
  // renames
  const names = [...raw.header];
  for (const [to, from] of Object.entries(p.columns ?? {})) {
    const j = raw.header.indexOf(from);
    if (j < 0) {
      const near = closest(from, raw.header);
      throw new StepError(
        `${who}: param columns.${to} names column "${from}", which the file does not have${near.length ? ` (did you mean ${listCols(near)}?)` : ''}; its columns are: ${listCols(raw.header)}. Fix param columns.${to}.`,
      );
    }
    names[j] = to;
  }
  // a column named __proto__/constructor/prototype would be dropped or misread as an object key
  const kept = new Set(p.select ?? names);
  const reserved = names.findIndex((n) => isUnsafeKey(n) && kept.has(n));
  if (reserved >= 0) {
    throw new StepError(
      `${who}: column ${reserved + 1}: ${unsafeKeyMessage(names[reserved]!, 'column name')}. ` +
        `Rename it with param columns ({new_name: ${JSON.stringify(raw.header[reserved])}}), leave it out with param select, or rename it in the file.`,
    );
  }
  if (new Set(names).size !== names.length) throw new StepError(`${who}: after renaming, two columns share a name (${listCols(names)}). Fix param columns.`);
  const required = new Set([...(p.require ?? []), ...(p.key ?? []), ...Object.keys(p.types ?? {}), ...(p.select ?? [])]);
  const missing = [...required].filter((c) => !names.includes(c));
  if (missing.length > 0) {
    const hints = missing.map((c) => {
      const near = closest(c, names);
      return near.length ? ` "${c}": did you mean ${listCols(near)}?` : '';
    });
    throw new StepError(
      `${who}: required column${missing.length > 1 ? 's' : ''} ${listCols(missing)} ${missing.length > 1 ? 'are' : 'is'} missing (needed by params require/key/types/select); ` +
        `the file's columns are: ${listCols(names)}.${hints.join('')} ` +
        `Map a column of the file to it with param columns ({${missing[0]}: name_in_file}) or fix the file.` +
        (names.length === 1 ? delimiterHint(names[0]!) : ''),
    );
  }
  const na = new Set(p.na.map((s) => s.trim()));
  const cols: Record<string, Column> = {};
  const keep = p.select ?? names;
  for (const name of keep) {
    const j = names.indexOf(name);
    const type = p.types?.[name] ?? 'auto';
    const cells = raw.rows.map((r) => {
      const v = r[j] ?? null;
      if (v === null) return null;
      if (typeof v === 'number') return v;
      const t = v.trim();
      return na.has(t) ? null : t;
    });
    if (type === 'string') {
      cols[name] = cells.map((v) => (v === null ? null : String(v)));
      continue;
    }
    const out = new Float64Array(cells.length);
    const bad: number[] = [];
    let good = 0;
    // integer column: a typed file says so (raw.ints), or every text cell is written as a whole number
    let ints = raw.ints ? raw.ints[j] === true : true;
    cells.forEach((v, i) => {
      if (v === null) out[i] = NaN;
      else if (typeof v === 'number') {
        out[i] = v;
        good++;
        if (!raw.ints && !Number.isInteger(v)) ints = false;
      } else {
        const x = parseNumber(v);
        out[i] = x;
        if (Number.isNaN(x)) bad.push(i);
        else good++;
        if (!raw.ints && !INT_RE.test(v)) ints = false;
      }
    });
    if (bad.length === 0 && (good > 0 || type === 'number')) {
      cols[name] = ints && good > 0 ? intColumnOf(out) : out;
      continue;
    }
    if (type === 'number' || (good > bad.length && good > 0)) {
      const shown = bad
        .slice(0, 3)
        .map((i) => `${raw.cell(i, j)}: ${JSON.stringify(cells[i])}`)
        .join('; ');
      throw new StepError(
        `${who}: column "${name}" is numeric but has ${bad.length} non-numeric cell(s) (${shown}${bad.length > 3 ? '; …' : ''}). ` +
          `Add the marker to param na if it means missing, fix the cell, or declare types: {${name}: string}.`,
      );
    }
    if (good > 0) {
      // numbers mixed with a few repeated non-numeric markers: say so rather than silently read text
      const byValue = new Map<string, number[]>();
      for (const i of bad) {
        const v = String(cells[i]);
        const list = byValue.get(v) ?? [];
        list.push(i);
        byValue.set(v, list);
      }
      if (byValue.size <= 5) {
        const shown = [...byValue]
          .map(([v, is]) => `${JSON.stringify(v)} (${is.slice(0, 5).map((i) => raw.where(i)).join(', ')}${is.length > 5 ? `, … ${is.length} in all` : ''})`)
          .join(', ');
        warn(
          `${path.basename(file)}: column "${name}" is read as text: ${good} of its cells are numbers, the others are unknown marker(s) ${shown}. ` +
            `If they mean missing, add them to param na (na: ${JSON.stringify([...p.na, ...byValue.keys()])}); types: {${name}: number} makes them an error, types: {${name}: string} silences this.` +
            ([...byValue.keys()].some((v) => /^[+-]?\d+,\d+$/.test(v)) ? ' Decimal commas (1,5) are not read as numbers: export the file with decimal points.' : ''),
        );
      }
    }
    cols[name] = cells.map((v) => (v === null ? null : String(v)));
  }
  const table = makeTable(cols, keep);
  if (p.key && p.key.length > 0) {
    const first = new Map<string, number>();
    const dups: string[] = [];
    let ndup = 0;
    const keyCols = p.key.map((k) => table.columns[k]!);
    for (let i = 0; i < table.nrows; i++) {
      const parts = keyCols.map((c) => {
        const v = c[i];
        return v === null || (typeof v === 'number' && Number.isNaN(v)) ? '' : String(v);
      });
      if (parts.some((s) => s === '')) {
        throw new StepError(`${who}: key column(s) ${p.key.join(', ')} missing at ${raw.where(i)}. Every row needs a key; drop that row or fix the file.`);
      }
      const k = parts.join('\u0000');
      const f = first.get(k);
      if (f === undefined) first.set(k, i);
      else {
        ndup++;
        if (dups.length < 5) dups.push(`${p.key.map((c, m) => `${c}=${parts[m]}`).join(', ')} at ${raw.where(f)} and ${raw.where(i)}`);
      }
    }
    if (ndup > 0) {
      throw new StepError(`${who}: key [${p.key.join(', ')}] is not unique: ${ndup} duplicate row(s), e.g. ${dups.join('; ')}. Remove the duplicates or extend param key.`);
    }
  }
  return table;
}

/** What a non-regular file is, for messages. */
export function describeNonFile(st: import('node:fs').Stats): string {
  return st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a named pipe (FIFO)' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a regular file';
}

export default defineStep<IngestParams>({
  kind: 'ingest',
  doc: 'Read a CSV (UTF-8/BOM/GBK/GB18030), XLSX or Arrow IPC file into a table: rename, type, NA markers, unique key check.',
  params,
  pathParams: ['path'],
  inputs: {},
  // meta: a Stata file's variable labels, value labels and formats (JSON); only for .dta input
  outputs: { table: 'table', meta: 'json' },
  async run(ctx, _inputs, p) {
    const file = ctx.resolvePath(p.path);
    if (!existsSync(file)) {
      throw new StepError(`file not found: ${file} (param path "${p.path}", relative to ${ctx.baseDir}). Fix the path or override it with --set ${ctx.nodeId}.path=...`);
    }
    // only regular files: a FIFO would block forever, /dev/zero never ends, a directory gives a bare EISDIR
    const st = statSync(file);
    if (!st.isFile()) {
      throw new StepError(`${file} (param path "${p.path}") is ${describeNonFile(st)}, not a regular file; point path at a data file`);
    }
    if (st.size === 0) throw new StepError(`${file} is empty (0 bytes). Point path at a file with a header line and data rows.`);
    const head = new Uint8Array(4096);
    const fd = openSync(file, 'r');
    const got = readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    const fmt = formatOf(file, p.format, head.subarray(0, got));
    const info = (m: string) => ctx.info(m);
    const warn = (m: string) => ctx.warn(m);
    const raw =
      fmt === 'xlsx'
        ? await readXlsx(file, p, warn)
        : fmt === 'arrow'
          ? await readArrow(file)
          : fmt === 'parquet'
            ? await readParquet(file)
            : fmt === 'dta'
              ? await readStata(file, p, info)
              : await readCsv(file, p, info, warn);
    if (raw.rows.length === 0) throw new StepError(`${file} has a header but no data rows. Point path at a file with data.`);
    const table = typeRaw(raw, p, file, (m) => ctx.warn(m));
    ctx.info(`${table.nrows} rows × ${table.names.length} columns from ${path.basename(file)}`);
    // a column that says on every row that the data are simulated (the demo panel's source = simulated) is a warning, kept in the run history
    for (const n of table.names) {
      const c = table.columns[n]!;
      if (isNumeric(c) || table.nrows === 0) continue;
      const vals = new Set(c.filter((v): v is string => v !== null));
      if (vals.size > 0 && [...vals].every((v) => /\bsimulated\b/i.test(v))) {
        ctx.warn(`${path.basename(file)} says its data are SIMULATED (column ${n} = ${[...vals].map((v) => JSON.stringify(v)).join(', ')} on every row)`);
      }
    }
    // what was read as missing (empty or an na marker), so a user sees that "—" became NA
    const missing = table.names
      .map((n) => {
        const c = table.columns[n]!;
        let k = 0;
        for (let i = 0; i < table.nrows; i++) {
          const v = c[i];
          if (v === null || (typeof v === 'number' && Number.isNaN(v))) k++;
        }
        return [n, k] as const;
      })
      .filter(([, k]) => k > 0);
    if (missing.length) ctx.info(`missing cells (empty or one of na ${JSON.stringify(p.na)}): ${missing.map(([n, k]) => `${n} ${k}`).join(', ')}`);
    const out: Record<string, Artifact> = { table: { type: 'table', table } };
    if (raw.meta) out.meta = { type: 'json', value: raw.meta };
    return out;
  },
});
