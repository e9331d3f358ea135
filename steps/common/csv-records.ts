/**
 * Read one of the project's own small CSV files (roster, register) as records keyed by header,
 * with csv-parse: a UTF-8 BOM is dropped, lines starting with `#` and blank lines are skipped,
 * cells are trimmed.
 *
 * @example
 * readCsvRecords('data/pilot-zones.csv')[0]; // { year: '2015', name_en: 'Hangzhou', code: '330100', … }
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';

export function readCsvRecords(file: string): Record<string, string>[] {
  return parse(readFileSync(file, 'utf8'), {
    bom: true,
    columns: (header: string[]) => header.map((h) => h.trim()),
    comment: '#',
    comment_no_infix: true,
    skip_empty_lines: true,
    trim: true,
    relax_column_count: true,
  }) as Record<string, string>[];
}
