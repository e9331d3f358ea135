/**
 * engine/data-detail.ts (the row/cell detail `why` attaches to input and file reasons) and
 * engine/run-diff.ts without a study hook, on the toy steps: a changed data file is read again by
 * its node's own step in memory (nothing stored), or explained from the two stored tables once the
 * node reran; a node that cannot be read again says when the detail comes; a file that no longer
 * reads says the next run fails. `diffRuns` compares tables by position (no key declared) and
 * JSON leaf by leaf, and an output that came out identical (early cutoff) is unchanged.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { explainData } from '../../engine/data-detail.js';
import { planSession } from '../../engine/plan.js';
import { detailLines, type DataDetail, type Reason } from '../../engine/reasons.js';
import { diffRuns } from '../../engine/run-diff.js';
import { openSession } from '../../engine/session.js';
import { BASE_YAML, baseRig, makeRig, NUMS, type Rig } from './rig.js';

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
});

const session = async (r: Rig, overrides: { id: string; param: string; value: unknown }[] = []) => openSession({ file: r.yaml, registry: r.registry, codeRoot: r.codeRoot, overrides });
const explain = async (r: Rig, id: string, reread = true, overrides: { id: string; param: string; value: unknown }[] = []) => {
  const s = await session(r, overrides);
  return explainData(s, await planSession(s, { targets: [id] }), id, { reread });
};
const detailOf = (rs: Reason[]): DataDetail[] => rs.flatMap((r) => (r.kind === 'input' || r.kind === 'file' || r.kind === 'param' ? (r.detail ?? []) : []));
const objects = (r: Rig) => fs.readdirSync(path.join(r.dir, 'artifacts/objects')).flatMap((d) => fs.readdirSync(path.join(r.dir, 'artifacts/objects', d))).length;

describe('why: row/cell detail', () => {
  it('a changed data file: read again in memory by the node\'s step (nothing stored); waiting nodes show it upstream', async () => {
    rig = await baseRig();
    await rig.run();
    rig.write('data/nums.txt', '1.2\n2.6\n3.7\n');
    const n0 = objects(rig);
    const e = await explain(rig, 'src');
    const [d] = detailOf(e.changes);
    expect(d).toMatchObject({ via: 'reread', what: 'src.table', table: { keyedBy: null, changed: 1, added: 0, removed: 0, perColumn: { x: 1 } } });
    expect(d!.table!.cells).toEqual([{ key: { row: 2 }, column: 'x', a: 2.5, b: 2.6 }]);
    expect(detailLines(e.changes[0]!)).toContain('      row 2: x 2.5 → 2.6');
    expect(objects(rig)).toBe(n0);
    const up = await explain(rig, 'total');
    expect(up.upstream.map((u) => u.node)).toEqual(['src']);
    expect(detailOf(up.upstream[0]!.changes)[0]!.table!.cells[0]).toMatchObject({ a: 2.5, b: 2.6 });
    // --no-reread: the detail waits for the node's next run
    const no = await explain(rig, 'src', false);
    expect(detailOf(no.changes)).toEqual([]);
  });

  it('a file that no longer reads: says the next run will fail; file and params changed: one rerun, on the file reason', async () => {
    rig = await baseRig();
    await rig.run();
    rig.write('data/nums.txt', '1.2\nabc\n');
    const bad = detailOf((await explain(rig, 'src')).changes);
    expect(bad[0]!.note).toMatch(/^reading it again fails, so the next run of src will fail: data\/nums.txt: not a number/);
    rig.write('data/nums.txt', '1.2\n2.6\n3.7\n');
    const both = await explain(rig, 'src', true, [{ id: 'src', param: 'delay', value: 1 }]);
    expect(both.changes.map((c) => [c.kind, detailOf([c]).length])).toEqual([
      ['param', 0],
      ['file', 1],
    ]);
    expect(detailOf(both.changes)[0]!.table!.cells).toEqual([{ key: { row: 2 }, column: 'x', a: 2.5, b: 2.6 }]);
  });

  it('params of a data step changed: the rerun in memory shows what they change in its table', async () => {
    rig = await baseRig();
    await rig.run();
    const e = await explain(rig, 'plus', true, [{ id: 'plus', param: 'k', value: 2 }]);
    expect(e.changes[0]).toMatchObject({ kind: 'param', path: 'k', old: 1, new: 2 });
    expect(detailOf(e.changes)[0]!.note).toBeUndefined();
    const t = detailOf(e.changes)[0]!.table!;
    expect([t.changed, t.perColumn]).toEqual([3, { x: 3 }]);
    expect(t.cells[0]).toMatchObject({ key: { row: 1 }, column: 'x', a: 1.2 + 1, b: 1.2 + 2 });
    expect(detailLines(e.changes[0]!)[0]).toMatch(/recomputed by the node's own step with the new params/);
  });

  it('an earlier computation matches (cached) but differs from the last run: both stored tables are compared', async () => {
    rig = await baseRig();
    await rig.run();
    rig.write('data/nums.txt', '1.2\n2.6\n3.7\n');
    await rig.run();
    rig.write('data/nums.txt', NUMS); // back to the first version: cached, but not what the last run used
    const e = await explain(rig, 'src');
    const [d] = detailOf(e.changes);
    expect(d).toMatchObject({ via: 'stored', what: 'src.table' });
    expect(d!.table!.cells).toEqual([{ key: { row: 2 }, column: 'x', a: 2.6, b: 2.5 }]);
  });

  it('code changed: not run outside `repro run`, the detail comes after the run', async () => {
    rig = await makeRig({ copyToy: true });
    rig.write('data/nums.txt', NUMS);
    rig.setYaml(BASE_YAML);
    await rig.run();
    const src = path.join(rig.codeRoot, 'source.js');
    fs.writeFileSync(src, fs.readFileSync(src, 'utf8').replace('count(ctx.nodeId);', 'count(ctx.nodeId); const changed = 1; void changed;'));
    rig.write('data/nums.txt', '1.2\n2.6\n3.7\n');
    const d = detailOf((await explain(rig, 'src')).changes);
    expect(d[0]!.note).toBe('row-level detail after `repro run --target src` (not read again now: its code, kind or seed changed)');
  });

  it('after the upstream reran: the changed input is explained from the two stored tables', async () => {
    rig = await baseRig();
    await rig.run();
    rig.write('data/nums.txt', '1.2\n2.5\n3.7\n4\n');
    await rig.run({ targets: ['src'] });
    const e = await explain(rig, 'plus');
    const [d] = detailOf(e.changes);
    expect(e.changes[0]).toMatchObject({ kind: 'input', node: 'src', output: 'table' });
    expect(d).toMatchObject({ via: 'stored', what: 'src.table', table: { changed: 0, added: 1, removed: 0, rowsA: 3, rowsB: 4, addedKeys: [{ row: 4 }] } });
  });
});

describe('diffRuns without a study hook', () => {
  it('tables by position, JSON leaf by leaf, files by bytes; an output that came out identical is unchanged', async () => {
    rig = await baseRig();
    await rig.run();
    rig.write('data/nums.txt', '1.2\n2.6\n3.7\n'); // r rounds 3.6 like 3.5: byte-identical (early cutoff)
    await rig.run();
    const d = await diffRuns(await session(rig), '1', 'latest', { differ: null });
    const st = Object.fromEntries(d.nodes.map((n) => [n.id, n.status]));
    expect(st).toMatchObject({ src: 'changed', plus: 'changed', r: 'same', total: 'changed', side: 'changed', rep: 'changed' });
    const sum = d.rows.find((x) => x.node === 'total' && x.item === 'sum')!;
    expect(sum.what).toBe('value');
    expect(sum.delta).toBeCloseTo(sum.b! - sum.a!, 14);
    expect(sum.b! - sum.a!).toBeCloseTo(0.1, 12);
    expect(d.rows.filter((x) => x.node === 'r')).toEqual([]);
    const cell = d.rows.find((x) => x.node === 'src')!;
    expect([cell.what, cell.item, cell.column, cell.a, cell.b]).toEqual(['cell', 'row 2', 'x', 2.5, 2.6]);
    expect(d.nodes.find((n) => n.id === 'rep')!.outputs.find((o) => o.name === 'md')).toMatchObject({ type: 'file', status: 'changed' });
    expect(d.missing).toEqual([]);
  });

  it('an old version removed by gc: the output is unreadable, with the reason; nothing crashes', async () => {
    rig = await baseRig();
    await rig.run();
    rig.write('data/nums.txt', '1.2\n2.6\n3.7\n');
    await rig.run();
    const { gcStore } = await import('../../engine/gc.js');
    await gcStore(await session(rig), { keepRuns: 1 });
    const d = await diffRuns(await session(rig), '1', '2', { nodes: ['src'], differ: null });
    expect(d.nodes[0]!.outputs[0]).toMatchObject({ name: 'table', status: 'unreadable', note: 'the run #1 version is no longer in the store (removed by `repro gc`)' });
  });

  it('a node asked for by name with no record up to either run is listed as missing; one run only is only-a / only-b', async () => {
    rig = await baseRig();
    await rig.run({ targets: ['total'] }); // run 1: no rep, no side
    await rig.run(); // run 2: everything
    const d = await diffRuns(await session(rig), '1', '1', { nodes: ['rep'], differ: null });
    expect([d.nodes, d.missing]).toEqual([[], ['rep']]);
    const e = await diffRuns(await session(rig), '1', '2', { nodes: ['side', 'src'], differ: null });
    expect(e.nodes.map((n) => [n.id, n.status])).toEqual([
      ['side', 'only-b'],
      ['src', 'same'],
    ]);
  });
});
