/**
 * Issue 14 parts 3 and 4 on the bundled pipeline (pipeline.yaml, the SIMULATED demo panel) and on
 * the real-data pipeline (pipelines/real-2006-2018.yaml, read in place from ../shared/data; skipped
 * when absent), in a temp store, in process with the study registry:
 * - bundled: a one-cell fix (Hangzhou 2021 SO2, in a temp copy of the demo panel given with
 *   `--set ingest.path=…`) → `why baseline` names the cell; the diff of the two runs moves the
 *   baseline's coefficients (Δ = the two runs' model values), while `no_covid` (years ≤ 2019)
 *   shows no change;
 * - real data: the documented `clean` fix (桂林 2016 SO2 in the HaofeiQin panel) on and off → `why`
 *   names the cell, and the diff shows the tables that carry it changed while the models did not
 *   move (the prefectures' SO2 comes from the pollution file, which the fix agrees with).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { explainData } from '../engine/data-detail.js';
import { runSession } from '../engine/executor.js';
import { PROJECT_ROOT } from '../engine/paths.js';
import { planSession } from '../engine/plan.js';
import type { DataDetail, Reason } from '../engine/reasons.js';
import { loadDiffer } from '../engine/registry.js';
import { diffRuns } from '../engine/run-diff.js';
import { openSession } from '../engine/session.js';
import { needsSharedData } from './shared-data.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const tmp = (tag: string): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `repro-diff-${tag}-`));
  dirs.push(d);
  return d;
};
type Override = { id: string; param: string; value: unknown; arg: string };
const open = (file: string, storeDir: string, overrides: Override[] = []) => openSession({ file: path.join(PROJECT_ROOT, file), storeDir, noSpecCache: true, overrides });
async function run(file: string, storeDir: string, targets: string[], overrides: Override[] = []): Promise<void> {
  const r = await runSession(await open(file, storeDir, overrides), { targets, workers: false, jobs: 2 });
  expect(r.nodes.filter((n) => n.status === 'failed').map((n) => `${n.id}: ${n.error?.message}`)).toEqual([]);
}
const details = (rs: Reason[]): DataDetail[] => rs.flatMap((r) => (r.kind === 'input' || r.kind === 'file' || r.kind === 'param' ? (r.detail ?? []) : []));

describe('bundled pipeline (SIMULATED demo panel): a one-cell fix', () => {
  it('why names the cell; diff moves the baseline only, no_covid shows no change', async () => {
    const store = tmp('bundled');
    const targets = ['baseline', 'no_covid'];
    await run('pipeline.yaml', store, targets); // run #1
    const lines = fs.readFileSync(path.join(PROJECT_ROOT, 'data/demo/city-panel.csv'), 'utf8').split('\n');
    const at = lines.findIndex((l) => /^330100,[^,]*,[^,]*,[^,]*,2021,/.test(l));
    const cells = lines[at]!.split(',');
    const old = Number(cells[5]);
    cells[5] = String(old + 1);
    lines[at] = cells.join(',');
    const fixed = path.join(store, 'city-panel-fixed.csv');
    fs.writeFileSync(fixed, lines.join('\n'));
    const set: Override[] = [{ id: 'ingest', param: 'path', value: fixed, arg: `ingest.path=${fixed}` }];

    const s = await open('pipeline.yaml', store, set);
    const why = await explainData(s, await planSession(s, { targets: ['baseline'] }), 'baseline');
    expect(why.upstream.map((u) => u.node)).toEqual(['ingest']);
    const t = details(why.upstream[0]!.changes).find((d) => d.table)!.table!;
    expect(t.keyedBy).toEqual(['city_code', 'year']);
    expect([t.changed, t.added, t.removed, t.perColumn]).toEqual([1, 0, 0, { so2: 1 }]);
    expect(t.cells).toEqual([{ key: { city_code: 330100, year: 2021 }, column: 'so2', a: old, b: old + 1 }]);

    await run('pipeline.yaml', store, targets, set); // run #2
    const s2 = await open('pipeline.yaml', store, set);
    const d = await diffRuns(s2, '1', 'latest', { differ: await loadDiffer() });
    const st = Object.fromEntries(d.nodes.map((n) => [n.id, n.status]));
    expect(st).toMatchObject({ ingest: 'changed', clean: 'changed', panel: 'changed', baseline: 'changed', no_covid: 'same' });
    expect(d.rows.filter((r) => r.node === 'no_covid')).toEqual([]);
    const models = async (run: number) => {
      const h = await s2.history();
      const rec = h.runs.find((r) => r.id === run)!.nodes.find((n) => n.id === 'baseline')!;
      const a = await s2.store.get({ hash: rec.outputs!.model!, type: 'json', size: 0 });
      return (a as { value: { coefficients: { term: string; estimate: number; se: number }[] } }).value.coefficients;
    };
    const [A, B] = [await models(1), await models(2)];
    for (const c of B) {
      const a = A.find((x) => x.term === c.term)!;
      const row = d.rows.find((r) => r.node === 'baseline' && r.what === 'coef' && r.item === c.term)!;
      expect([row.a, row.b, row.se_a, row.se_b]).toEqual([a.estimate, c.estimate, a.se, c.se]);
      expect(row.delta_se).toBeCloseTo((c.estimate - a.estimate) / a.se, 12);
    }
    expect(d.rows.find((r) => r.node === 'baseline' && r.item === 'did')!.delta).not.toBe(0);
  }, 240_000);
});

const sources = needsSharedData('china-city-pollution-2006-2018', 'china-city-loans-gdp-2000-2023', 'china-city-so2-2011-2019');
sources.describe('real-data pipeline (pipelines/real-2006-2018.yaml): the documented 桂林 fix on and off', () => {
  it('why names the fixed cell; diff: the tables that carry it changed, the models did not move', async () => {
    const store = tmp('real');
    const file = 'pipelines/real-2006-2018.yaml';
    const targets = ['baseline', 'no_municipalities'];
    const off: Override[] = [{ id: 'qin', param: 'fixes', value: [], arg: 'qin.fixes=[]' }];
    await run(file, store, targets, off); // run #1: without the fix
    const s = await open(file, store);
    const why = await explainData(s, await planSession(s, { targets: ['baseline'] }), 'baseline');
    const q = why.upstream.find((u) => u.node === 'qin')!;
    expect(q.changes[0]).toMatchObject({ kind: 'param', path: 'fixes' });
    const t = details(q.changes)[0]!.table!;
    expect(t.cells).toEqual([{ key: { city_code: 450300, year: 2016 }, column: 'so2_t_qin', a: 6146, b: 16146 }]);
    await run(file, store, targets); // run #2: with the fix
    const d = await diffRuns(await open(file, store), '1', 'latest', { differ: await loadDiffer() });
    const st = Object.fromEntries(d.nodes.map((n) => [n.id, n.status]));
    expect(st).toMatchObject({ qin: 'changed', joined: 'changed', clean: 'changed', panel: 'changed', baseline: 'same', no_municipalities: 'same', pollution: 'same' });
    const cell = d.rows.find((r) => r.node === 'panel' && r.what === 'cell')!;
    expect([cell.item, cell.column, cell.a, cell.b]).toEqual(['city_code=450300, year=2016', 'so2_t_qin', 6146, 16146]);
  }, 240_000);
});
