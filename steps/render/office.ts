/**
 * Word (.docx, via the `docx` package) and Excel (.xlsx, via `exceljs`) renderers of a
 * {@link TableLayout}, in the layout of the other formats: title, header rows (spanning group labels
 * merged), coefficient rows with the standard error on the line below, significance stars (as
 * superscript in Word), fixed-effect and statistics blocks under a rule, and the notes under the table.
 * Rules as booktabs draws them: thick above the header and under the last row, thin under the
 * header and above rows marked `ruleAbove`.
 *
 * Both libraries stamp the current time into the package; the bytes are made deterministic by
 * fixing docProps/core.xml and rewriting the ZIP with fixed entry times ({@link rezip}).
 *
 * @example
 * const docx = await renderDocx(layout); // Uint8Array, a .docx file
 * const xlsx = await renderXlsx(layout); // Uint8Array, a .xlsx file
 */
import {
  AlignmentType,
  BorderStyle,
  Document,
  Packer,
  Paragraph,
  Table,
  TableBorders,
  TableCell,
  TableRow,
  TextRun,
  WidthType,
  type IBorderOptions,
} from 'docx';
import ExcelJS from 'exceljs';
import { checkLayout, ncols, type HeaderCell, type TableLayout } from './layout.js';
import { fixCoreDates, rezip } from './zip.js';

const FONT = 'Times New Roman';
/** Half-points: 10 pt body, 9 pt notes (docx sizes are in half-points). */
const SIZE = 20;
const NOTE_SIZE = 18;
const THICK: IBorderOptions = { style: BorderStyle.SINGLE, size: 12, color: '000000' };
const THIN: IBorderOptions = { style: BorderStyle.SINGLE, size: 4, color: '000000' };
const NONE: IBorderOptions = { style: BorderStyle.NONE, size: 0, color: 'FFFFFF' };

/** Text runs of a cell: trailing stars of a coefficient as superscript. */
function runs(text: string, star: boolean, bold = false): TextRun[] {
  const m = star ? /^(.*?)(\*{1,3})$/.exec(text) : null;
  if (!m) return [new TextRun({ text, font: FONT, size: SIZE, bold })];
  return [new TextRun({ text: m[1]!, font: FONT, size: SIZE, bold }), new TextRun({ text: m[2]!, font: FONT, size: SIZE, superScript: true })];
}

/** The table as a Word document (A4 portrait page, the table centred, 10 pt Times New Roman). */
export async function renderDocx(t: TableLayout): Promise<Uint8Array> {
  checkLayout(t);
  const n = ncols(t);
  const rows: TableRow[] = [];
  const nHead = t.header.length + (t.header.length === 0 ? 1 : 0);
  const headRows: HeaderCell[][] = t.header.length ? t.header : [Array.from({ length: n }, () => ({ text: '' }))];
  headRows.forEach((row, i) => {
    const top = i === 0 ? THICK : NONE;
    const bottom = i === nHead - 1 ? THIN : NONE;
    const cells = [
      new TableCell({
        borders: { top, bottom, left: NONE, right: NONE },
        children: [new Paragraph({ children: runs(i === 0 ? t.stub : '', false) })],
      }),
      ...row.map(
        (c) =>
          new TableCell({
            columnSpan: c.span ?? 1,
            borders: { top, bottom, left: NONE, right: NONE },
            children: [new Paragraph({ alignment: AlignmentType.CENTER, children: runs(c.text, false) })],
          }),
      ),
    ];
    rows.push(new TableRow({ children: cells, tableHeader: true }));
  });
  t.body.forEach((r, i) => {
    const last = i === t.body.length - 1;
    const borders = { top: r.ruleAbove ? THIN : NONE, bottom: last ? THICK : NONE, left: NONE, right: NONE };
    rows.push(
      new TableRow({
        cantSplit: true,
        children: [
          new TableCell({ borders, children: [new Paragraph({ children: runs(r.label, false) })] }),
          ...r.cells.map(
            (c) => new TableCell({ borders, children: [new Paragraph({ alignment: AlignmentType.CENTER, children: runs(c, r.kind === 'coef') })] }),
          ),
        ],
      }),
    );
  });
  const children: (Paragraph | Table)[] = [];
  if (t.title) children.push(new Paragraph({ spacing: { after: 120 }, children: [new TextRun({ text: t.title, bold: true, font: FONT, size: 22 })] }));
  children.push(new Table({ rows, alignment: AlignmentType.CENTER, width: { size: 0, type: WidthType.AUTO }, borders: TableBorders.NONE }));
  for (const note of t.notes) children.push(new Paragraph({ spacing: { before: 60 }, children: [new TextRun({ text: note, font: FONT, size: NOTE_SIZE })] }));
  const doc = new Document({
    creator: 'repro',
    title: t.title ?? 'Table',
    sections: [{ properties: { page: { size: { width: 11906, height: 16838 } } }, children }],
  });
  return rezip(new Uint8Array(await Packer.toBuffer(doc)), fixCoreDates);
}

/** A cell value for Excel: a plain number (also "4,551") as a number, anything else (stars, parentheses) as text. */
export function excelValue(s: string): { value: string | number; numFmt?: string } {
  if (/^-?\d{1,3}(,\d{3})+$/.test(s)) return { value: Number(s.replace(/,/g, '')), numFmt: '#,##0' };
  if (/^-?\d+$/.test(s)) return { value: Number(s), numFmt: '0' };
  const m = /^-?\d+\.(\d+)$/.exec(s);
  if (m) return { value: Number(s), numFmt: `0.${'0'.repeat(m[1]!.length)}` };
  return { value: s };
}

/** The table as an Excel workbook (one sheet "Table"): numbers stay numbers with their printed decimals. */
export async function renderXlsx(t: TableLayout): Promise<Uint8Array> {
  checkLayout(t);
  const n = ncols(t);
  const wb = new ExcelJS.Workbook();
  // the package records when it was made; ours must not (same table, same bytes)
  wb.creator = 'repro';
  wb.created = new Date(Date.UTC(2000, 0, 1));
  wb.modified = new Date(Date.UTC(2000, 0, 1));
  const ws = wb.addWorksheet('Table', { views: [{ showGridLines: false }] });
  const font = { name: FONT, size: 11 };
  let r = 1;
  if (t.title) {
    ws.getCell(r, 1).value = t.title;
    ws.getCell(r, 1).font = { ...font, bold: true };
    r += 2;
  }
  const thick = { style: 'medium' as const };
  const thin = { style: 'thin' as const };
  t.header.forEach((row, i) => {
    ws.getCell(r, 1).value = i === 0 ? t.stub : '';
    let c = 2;
    for (const h of row) {
      const span = h.span ?? 1;
      ws.getCell(r, c).value = h.text;
      if (span > 1) ws.mergeCells(r, c, r, c + span - 1);
      c += span;
    }
    for (let k = 1; k <= n + 1; k++) {
      const cell = ws.getCell(r, k);
      cell.font = font;
      cell.alignment = { horizontal: k === 1 ? 'left' : 'center', wrapText: true };
      cell.border = { ...(i === 0 ? { top: thick } : {}), ...(i === t.header.length - 1 ? { bottom: thin } : {}) };
    }
    r++;
  });
  t.body.forEach((row, i) => {
    ws.getCell(r, 1).value = row.label;
    row.cells.forEach((s, j) => {
      const cell = ws.getCell(r, j + 2);
      const v = excelValue(s);
      cell.value = v.value;
      if (v.numFmt) cell.numFmt = v.numFmt;
    });
    for (let k = 1; k <= n + 1; k++) {
      const cell = ws.getCell(r, k);
      cell.font = row.kind === 'se' ? { ...font, color: { argb: 'FF444444' } } : font;
      cell.alignment = { horizontal: k === 1 ? 'left' : 'center' };
      cell.border = { ...(row.ruleAbove ? { top: thin } : {}), ...(i === t.body.length - 1 ? { bottom: thick } : {}) };
    }
    r++;
  });
  for (const note of t.notes) {
    r++;
    ws.getCell(r, 1).value = note;
    ws.getCell(r, 1).font = { ...font, size: 9, italic: true };
  }
  ws.getColumn(1).width = Math.min(40, Math.max(12, ...t.body.map((b) => b.label.length + 2), t.stub.length + 2));
  for (let k = 2; k <= n + 1; k++) ws.getColumn(k).width = 16;
  const buf = await wb.xlsx.writeBuffer();
  return rezip(new Uint8Array(buf as ArrayBuffer), fixCoreDates);
}
