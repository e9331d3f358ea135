/**
 * Whole-process tests through the compiled CLI (`npm test` builds first): (8) a run killed with
 * SIGKILL at random moments, then rerun, ends with the artifacts of an uninterrupted run; (9) two
 * concurrent runs on one store both succeed and leave it consistent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../engine/store.js';
import { cli, CLI, rigPool } from './rig.js';

const SLOW_YAML = `name: slow
seed: 3
steps:
  src:
    kind: source
    with: {path: data/nums.txt, delay: 120}
  a:
    kind: add
    in: src
    with: {k: 1, delay: 150}
  b:
    kind: add
    in: src
    with: {k: 2, delay: 150}
  ra:
    kind: round
    in: a
  noise:
    kind: noisy
    in: b
    with: {draws: 500}
  c:
    kind: add
    in: ra
    with: {k: 3, delay: 150}
  total:
    kind: sum
    in: [a, b, c]
  rep:
    kind: report
    in: [total, noise]
    publish: results/rep
`;

const { rigWith, cleanupAll } = rigPool();
afterEach(cleanupAll);

interface JsonRun {
  ok: boolean;
  nodes: { id: string; kind: string; status: string; key: string; ms: number; reason: string }[];
}

/** Every object's bytes hash to its name; every cache entry's outputs exist; no stray temp files. */
function checkStore(dir: string): { objects: number; entries: number } {
  const store = new Store(path.join(dir, 'artifacts'));
  const objs = store.listObjects();
  for (const o of objs) expect(createHash('sha256').update(fs.readFileSync(o.file)).digest('hex')).toBe(o.hash);
  const keys = store.listEntries();
  for (const k of keys) {
    const e = store.readEntry(k);
    expect(e, `cache entry ${k} readable`).not.toBeNull();
    for (const r of Object.values(e!.outputs)) expect(fs.existsSync(store.objectPath(r.hash)), `object of ${e!.node}`).toBe(true);
  }
  return { objects: objs.length, entries: keys.length };
}

/** Node id → output hashes of a finished run, from the store's cache entries. */
function outputsOf(dir: string, run: JsonRun): Record<string, Record<string, string>> {
  const store = new Store(path.join(dir, 'artifacts'));
  const out: Record<string, Record<string, string>> = {};
  for (const n of run.nodes) out[n.id] = Object.fromEntries(Object.entries(store.readEntry(n.key)!.outputs).map(([k, v]) => [k, v.hash]));
  return out;
}

describe('process level', () => {
  it('exists: the CLI has been built (npm test runs npm run build first)', () => {
    expect(fs.existsSync(CLI)).toBe(true);
  });

  it('(8) a run killed with SIGKILL at a random moment, then rerun, gives the artifacts of an uninterrupted run', async () => {
    const ref = await rigWith(SLOW_YAML);
    const full = await cli(['run', '--json', '--jobs', '2'], ref.dir);
    expect(full.code, full.stderr).toBe(0);
    const refRun = JSON.parse(full.stdout) as JsonRun;
    const refOut = outputsOf(ref.dir, refRun);

    const rig = await rigWith(SLOW_YAML);
    const moments: number[] = [];
    for (let i = 0; i < 3; i++) {
      const at = 80 + Math.floor(Math.random() * 900);
      moments.push(at);
      const r = await cli(['run', '--jobs', '2'], rig.dir, {}, (_pid, kill) => setTimeout(() => kill('SIGKILL'), at));
      // killed, or finished before the moment came
      expect(r.signal === 'SIGKILL' || r.code === 0, `moments ${moments}`).toBe(true);
      checkStore(rig.dir);
    }
    const fin = await cli(['run', '--json', '--jobs', '2'], rig.dir);
    expect(fin.code, `moments ${moments}: ${fin.stderr}`).toBe(0);
    const finRun = JSON.parse(fin.stdout) as JsonRun;
    expect(finRun.nodes.map((n) => [n.id, n.key]), `moments ${moments}`).toEqual(refRun.nodes.map((n) => [n.id, n.key]));
    expect(outputsOf(rig.dir, finRun)).toEqual(refOut);
    for (const f of ['results/rep.md', 'results/rep.summary.json']) expect(fs.readFileSync(path.join(rig.dir, f))).toEqual(fs.readFileSync(path.join(ref.dir, f)));
    checkStore(rig.dir);
    expect(fs.readdirSync(path.join(rig.dir, 'artifacts/tmp')).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    // and now everything is cached
    const again = JSON.parse((await cli(['run', '--json'], rig.dir)).stdout) as JsonRun;
    expect(again.nodes.every((n) => n.status === 'cached')).toBe(true);
  });

  it('(9) two concurrent runs on one store both end well and leave it consistent', async () => {
    const rig = await rigWith(SLOW_YAML);
    const [r1, r2] = await Promise.all([cli(['run', '--json', '--jobs', '2'], rig.dir), cli(['run', '--json', '--jobs', '2'], rig.dir)]);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r2.code, r2.stderr).toBe(0);
    const j1 = JSON.parse(r1.stdout) as JsonRun;
    const j2 = JSON.parse(r2.stdout) as JsonRun;
    expect(j1.nodes.map((n) => n.key)).toEqual(j2.nodes.map((n) => n.key));
    const { entries } = checkStore(rig.dir);
    expect(entries).toBe(8);
    const third = JSON.parse((await cli(['run', '--json'], rig.dir)).stdout) as JsonRun;
    expect(third.nodes.every((n) => n.status === 'cached')).toBe(true);
    const log = JSON.parse((await cli(['log', '--json'], rig.dir)).stdout) as { id: number; ok: boolean }[];
    expect(log.map((r) => r.ok)).toEqual([true, true, true]);
    expect(log.map((r) => r.id).sort()).toEqual([1, 2, 3]);
    expect(fs.readdirSync(path.join(rig.dir, 'artifacts/locks'))).toEqual([]);
  });

  it('concurrent runs with different --set values, a gc in the middle and a gc killed with SIGKILL: all end well, the store stays consistent', async () => {
    const rig = await rigWith(SLOW_YAML);
    const sets = ['a.k=1', 'a.k=5', 'b.k=7'];
    const runs = sets.map((v) => cli(['run', '--json', '--jobs', '2', '--set', v], rig.dir));
    await new Promise((r) => setTimeout(r, 150));
    const gc = await cli(['gc'], rig.dir); // waits for the running runs, then collects
    const done = await Promise.all(runs);
    for (const d of done) expect(d.code, d.stderr).toBe(0);
    expect(gc.code, gc.stderr).toBe(0);
    checkStore(rig.dir);
    // every --set variant is still complete in the store: rerunning each executes nothing
    for (const v of sets) {
      const again = JSON.parse((await cli(['run', '--json', '--set', v], rig.dir)).stdout) as JsonRun;
      expect(again.nodes.every((n) => n.status === 'cached'), v).toBe(true);
    }
    // a gc killed at a random moment leaves a store the next run completes
    const at = 5 + Math.floor(Math.random() * 60);
    const killed = await cli(['gc', '--keep-runs', '0'], rig.dir, {}, (_pid, kill) => setTimeout(() => kill('SIGKILL'), at));
    expect(killed.signal === 'SIGKILL' || killed.code === 0, `kill at ${at} ms`).toBe(true);
    checkStore(rig.dir);
    const fin = await cli(['run', '--json', '--set', 'b.k=7'], rig.dir);
    expect(fin.code, fin.stderr).toBe(0);
    checkStore(rig.dir);
    expect(fs.readdirSync(path.join(rig.dir, 'artifacts/locks'))).toEqual([]);
  });
});
