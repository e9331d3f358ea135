/**
 * A table laid out for publication, independent of the output format, and its renderers: Markdown
 * (GitHub pipe table), LaTeX (booktabs + threeparttable + dcolumn, scaled to \linewidth when wider),
 * CSV (data rows only; title and notes in a sidecar text), HTML (a fragment, or a standalone page),
 * and via office.ts Word (.docx) and Excel (.xlsx).
 *
 * describe and tabulate build a {@link TableLayout}; these functions only draw it.
 *
 * @example
 * const t: TableLayout = { title: 'T', stub: 'Variable', header: [[{ text: '(1)' }]],
 *   body: [{ label: 'DID', cells: ['-2.498***'] }, { label: '', cells: ['(0.272)'], kind: 'se' }], notes: [] };
 * renderMarkdown(t); renderTex(t, { counter: false }); renderCsv(t, { bom: true }); renderHtmlPage(t);
 */
import { csvField, escapeHtml, escapeMd, escapeTex } from './format.js';

/** A header cell spanning `span` data columns (default 1). */
export interface HeaderCell {
  text: string;
  span?: number;
}

/** One body row: a label in the stub column and one cell per data column. */
export interface BodyRow {
  label: string;
  cells: string[];
  /** What the row holds; `se` rows get no label and are styled as a second line of the coefficient. */
  kind?: 'coef' | 'se' | 'fe' | 'stat' | 'data';
  /** Draw a rule above this row (booktabs \midrule; a border in HTML; an empty line is not used in md/csv). */
  ruleAbove?: boolean;
}

export interface TableLayout {
  /** Caption, e.g. "Table 3: Baseline regression results". */
  title?: string;
  /** Header of the stub (label) column, e.g. "Variable". */
  stub: string;
  /** Header rows over the data columns; the spans of each row must add up to the number of data columns. */
  header: HeaderCell[][];
  body: BodyRow[];
  /** Lines printed under the table. */
  notes: string[];
  /** Optional anchor id for HTML. */
  id?: string;
}

/** Number of data columns (from the body, else from the first header row). */
export function ncols(t: TableLayout): number {
  const first = t.body[0];
  if (first) return first.cells.length;
  return (t.header[0] ?? []).reduce((s, c) => s + (c.span ?? 1), 0);
}

/** Check the layout is rectangular; throws naming the offending row. */
export function checkLayout(t: TableLayout): void {
  const n = ncols(t);
  t.header.forEach((row, i) => {
    const w = row.reduce((s, c) => s + (c.span ?? 1), 0);
    if (w !== n) throw new Error(`checkLayout: header row ${i + 1} spans ${w} columns, the body has ${n}`);
  });
  t.body.forEach((r, i) => {
    if (r.cells.length !== n) throw new Error(`checkLayout: body row ${i + 1} ("${r.label}") has ${r.cells.length} cells, expected ${n}`);
  });
}

/** Expand a header row to one string per data column (a spanning label in its first column, '' after). */
function expandHeader(row: HeaderCell[]): string[] {
  const out: string[] = [];
  for (const c of row) {
    out.push(c.text);
    for (let k = 1; k < (c.span ?? 1); k++) out.push('');
  }
  return out;
}

/** GitHub-flavoured Markdown: bold title line, a pipe table (first header row as the header), notes in italics. */
export function renderMarkdown(t: TableLayout): string {
  checkLayout(t);
  const lines: string[] = [];
  if (t.title) lines.push(`**${escapeMd(t.title)}**`, '');
  const heads = t.header.map(expandHeader);
  const n = ncols(t);
  const top = heads[0] ?? new Array<string>(n).fill('');
  lines.push(`| ${[t.stub, ...top].map(escapeMd).join(' | ')} |`);
  lines.push(`|${[':---', ...new Array<string>(n).fill(':---:')].map((s) => ` ${s} `).join('|')}|`);
  for (const h of heads.slice(1)) lines.push(`| ${['', ...h].map(escapeMd).join(' | ')} |`);
  for (const r of t.body) lines.push(`| ${[r.label, ...r.cells].map(escapeMd).join(' | ')} |`);
  if (t.notes.length) {
    lines.push('');
    for (const note of t.notes) lines.push(`*${escapeMd(note)}*`, '');
    if (lines[lines.length - 1] === '') lines.pop();
  }
  return lines.join('\n') + '\n';
}

/** Options of {@link renderTex}. */
export interface TexOptions {
  /**
   * Set the table counter from a "Table N:" title (`\setcounter{table}{N-1}`) so LaTeX prints the
   * paper's number. Default false: pasted into a paper, the table takes the paper's own numbering
   * (the "Table N:" prefix is dropped from the caption either way, LaTeX numbers captions itself).
   */
  counter?: boolean;
  /** 'resize' (default): scale the table down to \linewidth when it is wider (never up); 'none': natural width. */
  fit?: 'resize' | 'none';
  /** Set the table on its own landscape page (`sidewaystable`, package rotating). Default false. */
  landscape?: boolean;
  /** 'decimal' (default): data columns aligned on the decimal point (dcolumn `D{.}{.}{-1}`); 'center': centred `c` columns. */
  align?: 'decimal' | 'center';
}

/** The \usepackage line a table rendered with `o` needs. */
export function texPackages(o: TexOptions = {}): string {
  const p = ['booktabs', 'threeparttable'];
  if ((o.align ?? 'decimal') === 'decimal') p.push('dcolumn');
  if ((o.fit ?? 'resize') === 'resize') p.push('graphicx');
  if (o.landscape) p.push('rotating');
  return `\\usepackage{${p.join(',')}}`;
}

/** A cell that is a number as printed in tables: "-2.498***", "(0.272)", "4,551", "3.1e-10", "0.751". */
const NUMERIC_CELL = /^\(?-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?(e[-+]?\d+)?\)?(\*{1,3})?$/;

/** A numeric cell in math mode (a decimal-aligned column, or `$…$`): real minus, stars as superscript, {,} thousands. */
function texMathNumber(cell: string): string {
  const m = /^(.*?)(\*{1,3})?$/.exec(cell)!;
  return `${m[1]!.replace(/,/g, '{,}')}${m[2] ? `^{${m[2]}}` : ''}`;
}

/**
 * LaTeX with booktabs in a `threeparttable` (the notes are set in `tablenotes`, as wide as the
 * table), caption above, `\label{tab:ID}`. Data columns are aligned on the decimal point with
 * dcolumn (numbers in math mode, so '-' prints as a real minus sign and stars as $^{***}$; text
 * cells such as YES/NO and headers are centred with \multicolumn{1}{c}{…}). The table is scaled
 * down to \linewidth only when wider (graphicx's \resizebox with \width). \toprule, header rows
 * (spanning labels via \multicolumn with \cmidrule under them), \midrule, the body (\midrule before
 * rows marked ruleAbove), \bottomrule. The first line is a comment with the \usepackage line it needs.
 */
export function renderTex(t: TableLayout, o: TexOptions = {}): string {
  checkLayout(t);
  const n = ncols(t);
  const decimal = (o.align ?? 'decimal') === 'decimal';
  const fit = (o.fit ?? 'resize') === 'resize';
  const env = o.landscape ? 'sidewaystable' : 'table';
  const text = (s: string) => (decimal && s !== '' ? `\\multicolumn{1}{c}{${escapeTex(s)}}` : escapeTex(s));
  // counts (no decimal point, e.g. Observations 4,551) are centred, not hung left of an absent point
  const cell = (s: string) =>
    !NUMERIC_CELL.test(s) ? text(s) : !decimal ? `$${texMathNumber(s)}$` : s.includes('.') ? texMathNumber(s) : `\\multicolumn{1}{c}{$${texMathNumber(s)}$}`;
  const L: string[] = [];
  L.push(`% Requires ${texPackages(o)}`);
  L.push(`\\begin{${env}}[htbp]`);
  L.push('\\centering');
  if (t.title) {
    const m = /^Table\s+(\d+)\s*[:.]\s*/i.exec(t.title);
    if (m && o.counter) L.push(`\\setcounter{table}{${Number(m[1]) - 1}}`);
    L.push(`\\caption{${escapeTex(m ? t.title.slice(m[0].length) : t.title)}}`);
  }
  if (t.id) L.push(`\\label{tab:${t.id.replace(/[^A-Za-z0-9:_-]/g, '')}}`);
  if (fit) L.push('\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%');
  L.push('\\begin{threeparttable}');
  L.push(`\\begin{tabular}{l${(decimal ? 'D{.}{.}{-1}' : 'c').repeat(n)}}`);
  L.push('\\toprule');
  t.header.forEach((row, i) => {
    const cells: string[] = [i === 0 ? escapeTex(t.stub) : ''];
    const rules: string[] = [];
    let col = 2;
    for (const c of row) {
      const span = c.span ?? 1;
      if (span > 1) {
        cells.push(`\\multicolumn{${span}}{c}{${escapeTex(c.text)}}`);
        if (c.text) rules.push(`\\cmidrule(lr){${col}-${col + span - 1}}`);
      } else cells.push(text(c.text));
      col += span;
    }
    L.push(`${cells.join(' & ')} \\\\`);
    if (rules.length) L.push(rules.join(' '));
  });
  L.push('\\midrule');
  for (const r of t.body) {
    if (r.ruleAbove) L.push('\\midrule');
    L.push(`${[escapeTex(r.label), ...r.cells.map(cell)].join(' & ')} \\\\`);
  }
  L.push('\\bottomrule');
  L.push('\\end{tabular}');
  if (t.notes.length) {
    L.push('\\begin{tablenotes}[flushleft]');
    L.push('\\footnotesize');
    for (const note of t.notes) L.push(`\\item ${escapeTex(note)}`);
    L.push('\\end{tablenotes}');
  }
  L.push('\\end{threeparttable}');
  if (fit) L.push('}');
  L.push(`\\end{${env}}`);
  return L.join('\n') + '\n';
}

/** Options of {@link renderCsv}. */
export interface CsvOptions {
  /** Start with a UTF-8 byte order mark, so Excel on Windows reads "R²" as R² (not RÂ²). Default false (R's read.csv keeps a BOM in the first name). */
  bom?: boolean;
}

/** A count printed with thousands separators ("4,551") as a plain number, so CSV readers parse it. */
const csvCell = (s: string) => (/^-?\d{1,3}(,\d{3})+$/.test(s) ? s.replace(/,/g, '') : s);

/**
 * CSV: header rows (spans expanded), then the body rows; nothing else, so every record has the same
 * number of fields and pandas/R read it with their defaults. The title and notes are not data rows:
 * they go to the sidecar text of {@link renderCsvNotes}. Counts are written without thousands separators.
 */
export function renderCsv(t: TableLayout, o: CsvOptions = {}): string {
  checkLayout(t);
  const rows: string[][] = [];
  t.header.map(expandHeader).forEach((h, i) => rows.push([i === 0 ? t.stub : '', ...h]));
  for (const r of t.body) rows.push([r.label, ...r.cells.map(csvCell)]);
  return (o.bom ? '\uFEFF' : '') + rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** The CSV's sidecar: the title and the notes, one per line (plain UTF-8 text). */
export function renderCsvNotes(t: TableLayout): string {
  return [...(t.title ? [t.title, ''] : []), ...t.notes].join('\n') + '\n';
}

/** The CSS used by table fragments; the report inlines it once. */
export const TABLE_CSS = `
.repro-table { margin: 1.5em 0; overflow-x: auto; }
.repro-table table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 0.92em; }
.repro-table caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 0.4em; }
.repro-table th, .repro-table td { padding: 0.15em 0.8em; text-align: center; white-space: nowrap; }
.repro-table th:first-child, .repro-table td:first-child { text-align: left; }
.repro-table thead tr:first-child th { border-top: 2px solid #222; }
.repro-table thead tr:last-child th { border-bottom: 1px solid #222; }
.repro-table tbody tr:last-child td { border-bottom: 2px solid #222; }
.repro-table tr.rule-above td { border-top: 1px solid #222; }
.repro-table tr.se td { color: #444; padding-top: 0; }
/* a spanning header is underlined, trimmed at both ends like booktabs' \\cmidrule(lr) */
.repro-table th[colspan] { position: relative; }
.repro-table th[colspan]::after { content: ''; position: absolute; left: 0.5em; right: 0.5em; bottom: 0; border-bottom: 1px solid #222; }
.repro-table .notes { font-size: 0.85em; color: #333; margin: 0.4em 0 0 0; max-width: 60em; }
.repro-table .notes p { margin: 0.15em 0; }
`;

/** An HTML fragment: `<section class="repro-table">` with a `<table>` (caption, thead, tbody) and the notes. */
export function renderHtmlFragment(t: TableLayout): string {
  checkLayout(t);
  const L: string[] = [];
  L.push(`<section class="repro-table"${t.id ? ` id="${escapeHtml(t.id)}"` : ''}>`);
  L.push('<table>');
  if (t.title) L.push(`<caption>${escapeHtml(t.title)}</caption>`);
  L.push('<thead>');
  t.header.forEach((row, i) => {
    const cells = [`<th scope="col">${i === 0 ? escapeHtml(t.stub) : ''}</th>`];
    for (const c of row) {
      const span = c.span ?? 1;
      cells.push(`<th scope="col"${span > 1 ? ` colspan="${span}"` : ''}>${escapeHtml(c.text)}</th>`);
    }
    L.push(`<tr>${cells.join('')}</tr>`);
  });
  L.push('</thead>');
  L.push('<tbody>');
  for (const r of t.body) {
    const cls = [r.kind === 'se' ? 'se' : '', r.ruleAbove ? 'rule-above' : ''].filter(Boolean).join(' ');
    const cells = [`<td>${escapeHtml(r.label)}</td>`, ...r.cells.map((c) => `<td>${escapeHtml(c)}</td>`)];
    L.push(`<tr${cls ? ` class="${cls}"` : ''}>${cells.join('')}</tr>`);
  }
  L.push('</tbody>');
  L.push('</table>');
  if (t.notes.length) L.push(`<div class="notes">${t.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join('')}</div>`);
  L.push('</section>');
  return L.join('\n');
}

/** A standalone HTML page (inline CSS, no external requests) holding the fragment. */
export function renderHtmlPage(t: TableLayout): string {
  return htmlPage(t.title ?? 'Table', renderHtmlFragment(t));
}

/** Wrap a body fragment in a minimal standalone page with the table CSS. */
export function htmlPage(title: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; margin: 2em; }${TABLE_CSS}</style>`,
    '</head>',
    '<body>',
    body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The body of a standalone page made by {@link htmlPage} (or the text itself if it has no <body>). */
export function htmlBody(page: string): string {
  const m = /<body[^>]*>([\s\S]*)<\/body>/i.exec(page);
  return (m ? m[1]! : page).trim();
}

export type TableFormat = 'md' | 'tex' | 'csv' | 'html' | 'docx' | 'xlsx';
export const TABLE_FORMATS: readonly TableFormat[] = ['md', 'tex', 'csv', 'html', 'docx', 'xlsx'];

/** Options of {@link renderFormats}: per-format options. */
export interface RenderOptions {
  tex?: TexOptions;
  csv?: CsvOptions;
}

type FileOut = { type: 'file'; ext: string; bytes: Uint8Array };

/**
 * Render a layout to each requested format as file artifacts, keyed by the format name (text formats
 * in UTF-8). With csv, the title and notes go to the sidecar output `notes` (.txt).
 */
export async function renderFormats(t: TableLayout, formats: readonly TableFormat[], o: RenderOptions = {}): Promise<Record<string, FileOut>> {
  const enc = new TextEncoder();
  const out: Record<string, FileOut> = {};
  for (const f of formats) {
    if (f === 'docx' || f === 'xlsx') {
      const office = await import('./office.js');
      out[f] = { type: 'file', ext: f, bytes: f === 'docx' ? await office.renderDocx(t) : await office.renderXlsx(t) };
      continue;
    }
    const text = f === 'md' ? renderMarkdown(t) : f === 'tex' ? renderTex(t, o.tex) : f === 'csv' ? renderCsv(t, o.csv) : renderHtmlPage(t);
    out[f] = { type: 'file', ext: f, bytes: enc.encode(text) };
    if (f === 'csv' && (t.title || t.notes.length)) out.notes = { type: 'file', ext: 'txt', bytes: enc.encode(renderCsvNotes(t)) };
  }
  return out;
}
