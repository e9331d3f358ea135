/**
 * A tiny StepContext for the describe / tabulate / figure / report tests: paths resolve against the
 * project root (or a given base), messages are collected, randomness is the real Philox stream.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Artifact, StepContext, StepDef } from '../../engine/types.js';
import { makeCtx } from './ctx.js';
import { fromRows } from '../../engine/table.js';
import { parse } from 'csv-parse/sync';
import { sharedData } from '../shared-data.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'render');

export interface FakeCtx extends StepContext {
  infos: string[];
  warnings: string[];
}

export function renderCtx(nodeId = 'node', baseDir = ROOT, seed = 1, def?: Pick<StepDef, 'kind' | 'tasks'>): FakeCtx {
  const f = makeCtx({ nodeId, baseDir, seed, ...(def ? { def } : {}) });
  return Object.assign(f.ctx, { infos: f.infos, warnings: f.warnings });
}

/** A fixture JSON file under test/fixtures/render/. */
/**
 * The real mpdta panel from ../shared/data (read in place), with a `did` column, as a table
 * artifact. Tests that call it gate on `needsSharedData(MPDTA)` (test/shared-data.ts).
 */
export const MPDTA = 'mpdta/mpdta.csv';
export function mpdtaPanel(): Artifact & { type: 'table' } {
  const rows = parse(readFileSync(sharedData(MPDTA), 'utf8'), {
    columns: (h: string[]) => h.map((c) => c.replace('.', '_')),
    cast: (v: string, c: { header: boolean }) => (c.header ? v : v === '' ? null : Number(v)),
  }) as Record<string, unknown>[];
  for (const r of rows) r.did = (r.first_treat as number) > 0 && (r.year as number) >= (r.first_treat as number) ? 1 : 0;
  return { type: 'table', table: fromRows(rows) };
}

export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));
}

/** A fixture as a json artifact. */
export function jsonArtifact(name: string): Artifact {
  return { type: 'json', value: fixture(name) };
}

/** A fixture holding an array of row objects, as a table artifact. */
export function tableArtifact(name: string): Artifact {
  return { type: 'table', table: fromRows(fixture(name) as Record<string, unknown>[]) };
}

/** The UTF-8 text of a file artifact. */
export function text(a: Artifact | undefined): string {
  if (!a || a.type !== 'file') throw new Error(`expected a file artifact, got ${a ? a.type : 'nothing'}`);
  return new TextDecoder().decode(a.bytes);
}

/**
 * The report built from fixtures through the real steps: describe (Table 2 style) on panel.json,
 * tabulate (Table 3 style, with the paper comparison) on two hand-made models, both figures, and the
 * report with run.json. Returns the HTML and the pieces' titles.
 */
export async function buildFixtureReport(): Promise<{ html: string; tableTitles: string[]; figureTitles: string[] }> {
  const [describeDef, tabulateDef, figureDef, reportDef] = await Promise.all([
    import('../../steps/describe.js').then((m) => m.default),
    import('../../steps/tabulate.js').then((m) => m.default),
    import('../../steps/figure.js').then((m) => m.default),
    import('../../steps/report.js').then((m) => m.default),
  ]);
  const t2 = await describeDef.run(renderCtx('table2'), { panel: tableArtifact('panel.json') }, describeDef.params.parse({
    vars: { so2: 'SO₂', did: 'DID', pgdp: 'PGDP' },
    title: 'Table 2: Descriptive statistics of main variables',
    paper: { table: 'table2' },
  }));
  const t3 = await tabulateDef.run(renderCtx('table3'), { models: [jsonArtifact('model-did-only.json'), jsonArtifact('model-controls.json')] }, tabulateDef.params.parse({
    title: 'Table 3: Baseline regression results',
    labels: { did: 'DID', pgdp: 'PGDP', indus: 'INDUS', urb: 'URB', fin: 'FIN', fis: 'FIS' },
    fe_labels: { city: 'City FE', year: 'Year FE' },
    paper: { table: 'table3' },
  }));
  const f1 = await figureDef.run(renderCtx('figure1'), { data: jsonArtifact('event-study.json') }, figureDef.params.parse({
    type: 'event-study',
    title: 'Figure 1: Parallel trend test',
    period_labels: { '-10': '≤−10', '5': '≥5' },
  }));
  const f2 = await figureDef.run(renderCtx('figure2'), { data: jsonArtifact('placebo-summary.json'), replicates: tableArtifact('placebo-replicates.json') }, figureDef.params.parse({
    type: 'placebo',
    title: 'Figure 2: Placebo test',
  }));
  const rep = await reportDef.run(
    renderCtx('report'),
    { tables: [t2.html!, t3.html!], figures: [f1.svg!, f2.svg!], comparisons: [t2.comparison!, t3.comparison!], run: jsonArtifact('run.json') },
    reportDef.params.parse({
      title: 'Replication report (fixtures)',
      simulated: true,
      provenance: ['test/fixtures/render/panel.json', 'data/paper-tables.json'],
      provenance_notes: { 'test/fixtures/render/panel.json': 'hand-made six-row panel' },
      notes: ['Main specification: city and year fixed effects, as in equation (1).'],
    }),
  );
  return {
    html: text(rep.html),
    tableTitles: ['Table 2: Descriptive statistics of main variables', 'Table 3: Baseline regression results'],
    figureTitles: ['Figure 1: Parallel trend test', 'Figure 2: Placebo test'],
  };
}
