/**
 * Incremental behaviour of the engine on toy steps that count their executions:
 * (1) a second run executes nothing; (2) a param change reruns exactly that node and its
 * descendants; (3) data files: touch → nothing, change → ingest and descendants, byte-identical
 * downstream output → early cutoff; (4) adding a node runs only that node; publish.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BASE_YAML, makeRig, NUMS, statuses, type Rig } from './rig.js';

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
});

async function base(): Promise<Rig> {
  const r = await makeRig();
  r.write('data/nums.txt', NUMS);
  r.setYaml(BASE_YAML);
  return r;
}

describe('incremental runs', () => {
  it('(1) a second run executes nothing', async () => {
    rig = await base();
    const first = await rig.run();
    expect(first.ok).toBe(true);
    expect(rig.executed()).toEqual(['plus', 'r', 'rep', 'side', 'src', 'total']);
    expect(first.nodes.every((n) => n.status === 'ran' && n.reason === 'never run')).toBe(true);
    const second = await rig.run();
    expect(second.ok).toBe(true);
    expect(rig.executed()).toEqual([]);
    expect(second.nodes.every((n) => n.status === 'cached')).toBe(true);
    // the same fingerprints both times
    expect(second.nodes.map((n) => n.key)).toEqual(first.nodes.map((n) => n.key));
  });

  it('(2) changing one param reruns exactly that node and its descendants', async () => {
    rig = await base();
    await rig.run();
    rig.executed();
    rig.setYaml(BASE_YAML.replace('with: {k: 1}', 'with: {k: 2}'));
    const r = await rig.run();
    expect(rig.executed()).toEqual(['plus', 'r', 'rep', 'total']);
    expect(statuses(r)).toMatchObject({ src: 'cached', side: 'cached', plus: 'ran', r: 'ran', total: 'ran', rep: 'ran' });
    expect(r.nodes.find((n) => n.id === 'plus')!.reason).toBe('params.k changed');
    expect(r.nodes.find((n) => n.id === 'r')!.reason).toBe('input in changed');
    // --set does the same without editing the YAML, and is part of the fingerprint
    const { parseOverride } = await import('../../engine/config/load.js');
    const r2 = await rig.run({ overrides: [parseOverride('side.k=5')] });
    expect(rig.executed()).toEqual(['side']);
    expect(r2.nodes.find((n) => n.id === 'side')!.reason).toBe('params.k changed');
  });

  it('(3) data files: touch reruns nothing, a change reruns ingest and descendants, early cutoff stops identical outputs', async () => {
    rig = await base();
    await rig.run();
    rig.executed();
    const data = path.join(rig.dir, 'data/nums.txt');
    // touch: new mtime, same bytes
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(data, later, later);
    const t = await rig.run();
    expect(rig.executed()).toEqual([]);
    expect(t.nodes.every((n) => n.status === 'cached')).toBe(true);
    // a real change whose rounded values stay the same: src, plus, side, r rerun; r's output is
    // byte-identical, but total also reads plus (changed) so it reruns, rep reads only total
    fs.writeFileSync(data, '1.2\n2.5\n3.6\n');
    const c = await rig.run();
    expect(rig.executed()).toEqual(['plus', 'r', 'rep', 'side', 'src', 'total']);
    expect(c.nodes.find((n) => n.id === 'src')!.reason).toBe('file data/nums.txt changed');
    // early cutoff: r's recomputed output is identical, so a node reading only r is not rerun
    rig.setYaml(`${BASE_YAML}  r_only:\n    kind: add\n    in: r\n`);
    await rig.run();
    expect(rig.executed()).toEqual(['r_only']);
    fs.writeFileSync(data, '1.2\n2.5\n3.65\n'); // 3.65 + 1 rounds to 5 like 3.6 + 1
    const e = await rig.run();
    expect(rig.executed()).toEqual(['plus', 'r', 'rep', 'side', 'src', 'total']);
    expect(statuses(e).r_only).toBe('cached');
    expect(statuses(e).r).toBe('ran');
  });

  it('an all-cached run reads no file: data, code and store objects are known by their stat', async () => {
    rig = await base();
    const old = new Date(Date.now() - 60_000); // older than the stat cache's racy window
    for (const f of ['data/nums.txt', 'pipeline.yaml']) fs.utimesSync(path.join(rig.dir, f), old, old);
    await rig.run();
    const { openSession } = await import('../../engine/session.js');
    const { runSession } = await import('../../engine/executor.js');
    const s = await openSession({ file: rig.yaml, registry: rig.registry, codeRoot: rig.codeRoot });
    const r = await runSession(s, { jobs: 2 });
    expect(r.nodes.every((n) => n.status === 'cached')).toBe(true);
    expect(s.stat.reads).toBe(0);
    // a changed data file is read again
    fs.writeFileSync(path.join(rig.dir, 'data/nums.txt'), NUMS);
    const s2 = await openSession({ file: rig.yaml, registry: rig.registry, codeRoot: rig.codeRoot });
    await runSession(s2, { jobs: 2 });
    expect(s2.stat.reads).toBe(1);
  });

  it('(4) adding a node runs only that node', async () => {
    rig = await base();
    await rig.run();
    rig.executed();
    rig.setYaml(`${BASE_YAML}  extra:\n    kind: add\n    in: plus\n    with: {k: 3}\n`);
    const r = await rig.run();
    expect(rig.executed()).toEqual(['extra']);
    expect(statuses(r).extra).toBe('ran');
    expect(r.nodes.filter((n) => n.status === 'cached').length).toBe(6);
  });

  it('publishes outputs after a run and restores them when a cached node finds them missing', async () => {
    rig = await base();
    await rig.run();
    const md = path.join(rig.dir, 'results/rep.md');
    const js = path.join(rig.dir, 'results/rep.summary.json');
    expect(fs.readFileSync(md, 'utf8')).toContain('# Report');
    expect(JSON.parse(fs.readFileSync(js, 'utf8'))).toEqual({ n: 1 });
    fs.rmSync(md);
    fs.writeFileSync(js, '{"n": 2}\n');
    const r = await rig.run();
    expect(statuses(r).rep).toBe('cached');
    expect(r.nodes.find((n) => n.id === 'rep')!.published!.map((f) => path.basename(f)).sort()).toEqual(['rep.md', 'rep.summary.json']);
    expect(fs.readFileSync(md, 'utf8')).toContain('# Report');
    expect(JSON.parse(fs.readFileSync(js, 'utf8'))).toEqual({ n: 1 });
    const again = await rig.run();
    expect(again.nodes.find((n) => n.id === 'rep')!.published).toEqual([]);
  });

  it('--target runs only the target and its ancestors; --force reruns a node, early cutoff protects its descendants', async () => {
    rig = await base();
    const t = await rig.run({ targets: ['r'] });
    expect(t.nodes.map((n) => n.id)).toEqual(['src', 'plus', 'r']);
    expect(rig.executed()).toEqual(['plus', 'r', 'src']);
    await rig.run();
    rig.executed();
    const f = await rig.run({ force: ['plus'] });
    expect(rig.executed()).toEqual(['plus']);
    expect(f.nodes.find((n) => n.id === 'plus')!.reason).toBe('forced');
  });
});
