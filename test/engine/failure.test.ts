/**
 * (6) Failure semantics, (7) corrupted store objects, (10) --jobs 1 vs --jobs 4, worker-thread
 * steps and the history records `why` reads.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readHistory } from '../../engine/history.js';
import { Store } from '../../engine/store.js';
import { BASE_YAML, rigPool, statuses } from './rig.js';

const { rigWith, cleanupAll } = rigPool();
afterEach(cleanupAll);

const FAIL_YAML = `name: failing
seed: 1
steps:
  bad:
    kind: fail
    with: {fail: true}
  after_bad:
    kind: add
    in: bad
  after_after:
    kind: add
    in: after_bad
  src:
    kind: source
    with: {path: data/nums.txt}
  other:
    kind: add
    in: src
`;

describe('failures', () => {
  it('(6) a failing node: error names node, kind and cause; descendants skipped; independent nodes stop unless --keep-going', async () => {
    const rig = await rigWith(FAIL_YAML);
    // jobs 1, bad first in order: the run stops before starting src/other
    const stop = await rig.run({ jobs: 1 });
    expect(stop.ok).toBe(false);
    const bad = stop.nodes.find((n) => n.id === 'bad')!;
    expect(bad.status).toBe('failed');
    expect(bad.kind).toBe('fail');
    expect(bad.error).toEqual({ message: 'toy failure: set fail: false to fix', stepError: true });
    expect(statuses(stop)).toMatchObject({ after_bad: 'skipped', after_after: 'skipped', src: 'skipped', other: 'skipped' });
    expect(stop.nodes.find((n) => n.id === 'after_bad')!.reason).toBe('upstream bad failed');
    expect(stop.nodes.find((n) => n.id === 'src')!.reason).toMatch(/^not started: bad failed/);
    expect(rig.executed()).toEqual(['bad']);
    // nothing is cached for the failed node
    const store = new Store(path.join(rig.dir, 'artifacts'));
    expect(store.readEntry(bad.key)).toBeNull();

    const kg = await rig.run({ jobs: 1, keepGoing: true });
    expect(kg.ok).toBe(false);
    expect(statuses(kg)).toEqual({ bad: 'failed', after_bad: 'skipped', after_after: 'skipped', src: 'ran', other: 'ran' });
    expect(rig.executed()).toEqual(['bad', 'other', 'src']);

    // after the fix only the failed node and its descendants run
    rig.setYaml(FAIL_YAML.replace('with: {fail: true}', 'with: {fail: false}'));
    const fixed = await rig.run();
    expect(fixed.ok).toBe(true);
    expect(rig.executed()).toEqual(['after_after', 'after_bad', 'bad']);
    expect(statuses(fixed)).toEqual({ bad: 'ran', after_bad: 'ran', after_after: 'ran', src: 'cached', other: 'cached' });
  });

  it('(6) a non-StepError keeps its stack; the history records the failure', async () => {
    const rig = await rigWith(FAIL_YAML.replace('with: {fail: true}', 'with: {fail: true, plain: true}'));
    const r = await rig.run({ keepGoing: true });
    const bad = r.nodes.find((n) => n.id === 'bad')!;
    expect(bad.error!.stepError).toBe(false);
    expect(bad.error!.stack).toContain('fail.js');
    const h = await readHistory(path.join(rig.dir, 'artifacts'));
    const rec = h.runs.at(-1)!.nodes.find((n) => n.id === 'bad')!;
    expect(rec.status).toBe('failed');
    expect(rec.error).toBe('toy failure (plain error)');
    expect(h.runs.at(-1)!.ok).toBe(false);
    expect(h.latest.failing!.bad).toBeUndefined();
    expect(h.latest.failing!.other!.parts.params).toEqual({ k: 0, delay: 0 });
  });
});

describe('store integrity', () => {
  it('(7) a corrupted object is detected, recomputed and warned about', async () => {
    const rig = await rigWith(BASE_YAML);
    const first = await rig.run();
    rig.executed();
    const store = new Store(path.join(rig.dir, 'artifacts'));
    const ref = first.nodes.find((n) => n.id === 'plus')!.outputs!.table!;
    const file = store.objectPath(ref.hash);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length >> 1] ^= 0xff; // flip one byte, same size
    fs.writeFileSync(file, bytes);
    const r = await rig.run();
    expect(r.ok).toBe(true);
    expect(rig.executed()).toEqual(['plus']); // recomputed; its output is identical, so nothing downstream reruns
    const plus = r.nodes.find((n) => n.id === 'plus')!;
    expect(plus.status).toBe('ran');
    expect(plus.reason).toMatch(/corrupt or missing/);
    expect(plus.warnings.join('\n')).toMatch(/is corrupt; recomputing/);
    expect(r.warnings.length).toBe(1);
    expect(store.checkObject(ref.hash)).toBe('ok');
    // a missing object too
    fs.rmSync(file);
    const m = await rig.run();
    expect(rig.executed()).toEqual(['plus']);
    expect(m.nodes.find((n) => n.id === 'plus')!.warnings.join('\n')).toMatch(/is missing; recomputing/);
  });

  it('(10) --jobs 1 and --jobs 4 give identical artifacts (worker-thread steps included)', async () => {
    const yaml = `${BASE_YAML}  noise:\n    kind: noisy\n    in: r\n    with: {draws: 300}\n  noise2:\n    kind: noisy\n    in: plus\n`;
    const a = await rigWith(yaml);
    const b = await rigWith(yaml);
    const events: string[] = [];
    const ra = await a.run({
      jobs: 1,
      onEvent: (e) => {
        if ((e.type === 'progress' || e.type === 'info') && e.id === 'noise') events.push(e.type === 'info' ? `info ${e.msg}` : `progress ${e.done}/${e.total} ${e.label}`);
        if (e.type === 'running' && e.id === 'noise') events.push(`running worker=${e.worker}`);
      },
    });
    const rb = await b.run({ jobs: 4 });
    expect(ra.ok && rb.ok).toBe(true);
    const view = (r: typeof ra) => r.nodes.map((n) => [n.id, n.key, Object.fromEntries(Object.entries(n.outputs!).map(([k, v]) => [k, v.hash]))]).sort();
    expect(view(ra)).toEqual(view(rb));
    // the cpu step ran in a worker thread, its ctx.progress / ctx.info came back as events
    expect(events[0]).toBe('running worker=true');
    expect(events).toContain('progress 275/300 draws');
    expect(events.at(-1)).toBe('info drew 300');
    // the worker step really ran off the main thread with ctx.rng: its draws are reproducible
    const noise = ra.nodes.find((n) => n.id === 'noise')!;
    const store = new Store(path.join(a.dir, 'artifacts'));
    const v = (await store.get(noise.outputs!.value!)) as { type: 'json'; value: { first: number; mean: number } };
    expect(Number.isFinite(v.value.first)).toBe(true);
    expect(v.value.first).not.toBe(v.value.mean);
    // running again in the same store with another --jobs reuses everything
    const again = await a.run({ jobs: 3 });
    expect(again.nodes.every((n) => n.status === 'cached')).toBe(true);
  });
});
