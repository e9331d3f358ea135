/**
 * Helpers for data tests: read project CSVs and the independent lists in ../shared/data (gate the
 * tests that read them with needsSharedData of test/shared-data.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { SHARED_DATA } from '../shared-data.js';

export const SHARED = SHARED_DATA;

/** Rows of a CSV file (header line, BOM stripped). */
export function readCsv(file: string): Record<string, string>[] {
  return parse(readFileSync(file), { columns: true, bom: true, skip_empty_lines: true, comment: '#' }) as Record<string, string>[];
}
export const projectCsv = (rel: string) => readCsv(path.join(PROJECT_ROOT, rel));
export const sharedCsv = (rel: string) => readCsv(path.join(SHARED, rel));
