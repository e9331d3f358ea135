/**
 * Test helpers for the regression steps (estimate, event-study, placebo): a CSV loader giving an
 * engine Table (a column is numeric when every non-empty cell parses as a number) and a minimal
 * fake StepContext.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { makeTable, type Column, type Table } from '../../engine/table.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import type { StepDef } from '../../engine/types.js';
import { makeCtx } from './ctx.js';

/** Path of a shared data file (../shared/data, see test/shared-data.ts). */
export { sharedData } from '../shared-data.js';

export function loadCsv(file: string): Table {
  const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  const rows = parse(text, { columns: false, skip_empty_lines: true }) as string[][];
  const header = rows[0]!;
  const cols: Record<string, Column> = {};
  header.forEach((name, j) => {
    const cells = rows.slice(1).map((r) => r[j] ?? '');
    const numeric = cells.every((c) => c.trim() === '' || c === 'NA' || !Number.isNaN(Number(c)));
    cols[name] = numeric
      ? Float64Array.from(cells, (c) => (c.trim() === '' || c === 'NA' ? NaN : Number(c)))
      : cells.map((c) => (c === '' || c === 'NA' ? null : c));
  });
  return makeTable(cols, header);
}

/** makeCtx of ./ctx.ts with the project root as base (progress as [done, total]). */
export function fakeCtx(opts: { threads?: number; nodeId?: string; seed?: number; def?: Pick<StepDef, 'kind' | 'tasks'> } = {}) {
  const f = makeCtx({ ...opts, baseDir: PROJECT_ROOT });
  return { ctx: f.ctx, warnings: f.warnings, infos: f.infos, progress: f.progress };
}

/** |a − b| ≤ rel·max(|b|, floor): relative agreement with an absolute floor for values near 0. */
export function relClose(a: number, b: number, rel: number, floor = 1e-12): boolean {
  return Math.abs(a - b) <= rel * Math.max(Math.abs(b), floor);
}
