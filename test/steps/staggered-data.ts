/**
 * Data of the staggered-DID golden tests (sunab, did-imputation, bacon), as the R scripts of
 * test/golden/staggered-data.R build them: mpdta and castle from ../shared/data, and the demo panel
 * (data/demo/city-panel.csv) with the adoption year of the roster attached by the merge-roster step
 * (county-level zones ignored), as the pipeline does.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { makeTable, withColumn, type Column, type Table } from '../../engine/table.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import merge from '../../steps/merge-roster.js';
import { loadCsv, sharedData, fakeCtx } from './stats-helpers.js';
import { existsSync } from 'node:fs';

export const haveShared = existsSync(sharedData('mpdta/mpdta.csv')) && existsSync(sharedData('bacondecomp-castle-divorce/castle.csv'));

function csvText(text: string): Table {
  const rows = parse(text.replace(/^\uFEFF/, ''), { columns: false, skip_empty_lines: true, comment: '#' }) as string[][];
  const header = rows[0]!;
  const cols: Record<string, Column> = {};
  header.forEach((name, j) => {
    const cells = rows.slice(1).map((r) => r[j] ?? '');
    const numeric = cells.every((c) => c.trim() === '' || c === 'NA' || !Number.isNaN(Number(c)));
    cols[name] = numeric ? Float64Array.from(cells, (c) => (c.trim() === '' || c === 'NA' ? NaN : Number(c))) : cells.map((c) => (c === '' ? null : c));
  });
  return makeTable(cols, header);
}

let demoCache: Table | null = null;
/** The demo panel with adopt / did from the roster (merge-roster, county_zones: ignore). */
export async function demoPanel(): Promise<Table> {
  if (demoCache) return demoCache;
  const raw = csvText(readFileSync(path.join(PROJECT_ROOT, 'data/demo/city-panel.csv'), 'utf8'));
  const f = fakeCtx();
  const out = await merge.run(f.ctx, { panel: { type: 'table', table: raw } }, merge.params.parse({ county_zones: 'ignore' }));
  const t = out.panel;
  if (!t || t.type !== 'table') throw new Error('merge-roster gave no table');
  demoCache = t.table;
  return demoCache;
}

const cache: Record<string, Table> = {};
export async function dataset(name: string): Promise<Table> {
  if (name === 'demo') return demoPanel();
  if (!cache[name]) {
    if (name === 'mpdta') {
      // D = 1{first.treat > 0, year ≥ first.treat}, as load_mpdta() in test/golden/staggered-data.R
      const t = loadCsv(sharedData('mpdta/mpdta.csv'));
      const ft = t.columns['first.treat'] as Float64Array, yr = t.columns.year as Float64Array;
      cache[name] = withColumn(t, 'D', Float64Array.from(ft, (f, i) => (f > 0 && yr[i]! >= f ? 1 : 0)));
    }
    else if (name === 'castle') cache[name] = loadCsv(sharedData('bacondecomp-castle-divorce/castle.csv'));
    else throw new Error(`unknown dataset ${name}`);
  }
  return cache[name]!;
}

/**
 * A small synthetic staggered panel: `units` units × years 2000..2000+T−1, unit u adopting in
 * adopt[u % adopt.length] (0 = never), y deterministic (unit and year effects, a dynamic effect
 * after adoption, and an irregular term so that nothing is collinear).
 */
export function synthPanel(opts: { units?: number; T?: number; adopt?: number[] } = {}): Table {
  const U = opts.units ?? 30, T = opts.T ?? 8;
  const ad = opts.adopt ?? [0, 2003, 2005, 0, 2004];
  const unit: number[] = [], year: number[] = [], adopt: number[] = [], y: number[] = [], treat: number[] = [], x: number[] = [];
  for (let u = 0; u < U; u++)
    for (let t = 0; t < T; t++) {
      const a = ad[u % ad.length]!;
      const yr = 2000 + t;
      const d = a > 0 && yr >= a ? 1 : 0;
      unit.push(u + 1);
      year.push(yr);
      adopt.push(a);
      treat.push(d);
      x.push(Math.cos(1.3 * u + 0.7 * t * t));
      y.push(0.3 * u + 0.1 * t + Math.sin(7 * u + 3 * t) + d * (1 + 0.2 * (yr - a)) + 0.5 * x[x.length - 1]!);
    }
  return makeTable({ unit: Float64Array.from(unit), year: Float64Array.from(year), adopt: Float64Array.from(adopt), treat: Float64Array.from(treat), x: Float64Array.from(x), y: Float64Array.from(y) });
}
