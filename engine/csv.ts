/**
 * Table → CSV text (RFC 4180): a header of column names, numbers written with JavaScript's
 * shortest round-trip form (`String(x)`), missing values (NaN / null) as empty fields, text quoted
 * when it contains a comma, quote, CR or LF. Used by `repro show --csv` and by `publish`.
 *
 * @example
 * tableToCsv(makeTable({ a: new Float64Array([1, NaN]), b: ['x,y', null] })); // 'a,b\n1,"x,y"\n,\n'
 */
import { isNumeric, type Table } from './table.js';

const quote = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function tableToCsv(t: Table): string {
  const lines: string[] = [t.names.map(quote).join(',')];
  const cols = t.names.map((n) => t.columns[n]!);
  for (let i = 0; i < t.nrows; i++) {
    const cells: string[] = new Array(cols.length);
    for (let j = 0; j < cols.length; j++) {
      const c = cols[j]!;
      if (isNumeric(c)) {
        const v = c[i]!;
        cells[j] = Number.isNaN(v) ? '' : String(v);
      } else {
        const v = c[i];
        cells[j] = v === null || v === undefined ? '' : quote(v);
      }
    }
    lines.push(cells.join(','));
  }
  return lines.join('\n') + '\n';
}
