/**
 * engine/decide.ts and engine/reasons.ts: one decision for run, status and why, with structured
 * reasons rendered once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FingerprintParts } from '../../engine/fingerprint.js';
import { diffParts, reasonLine, reasonPhrase, type Reason } from '../../engine/reasons.js';
import { planPipeline } from '../../engine/plan.js';
import { BASE_YAML, baseRig as base, cli, NUMS, rigPool, statuses, type Rig } from './rig.js';

const pool = rigPool();
afterEach(() => pool.cleanupAll());

const before: FingerprintParts = {
  kind: 'estimate',
  code: { 'steps/estimate.ts': 'a1', 'stats/ols.ts': 'b1' },
  params: { y: 'so2', controls: ['pgdp'], where: { year: { le: 2019 } } },
  inputs: { panel: '3f2a00112233' },
  files: { 'data/pilot-zones.csv': 'c1' },
  seed: { root: 1, node: 'baseline' },
  packages: { jstat: '1.9.6' },
};

describe('reasons', () => {
  it('diffParts gives tagged reasons, rendered as lines and one phrase', () => {
    const after: FingerprintParts = {
      ...before,
      code: { 'steps/estimate.ts': 'a1', 'stats/ols.ts': 'b2', 'stats/new.ts': 'n' },
      params: { y: 'so2', controls: ['pgdp', 'indus'], where: { year: { le: 2018 } } },
      inputs: { panel: '9c1d44556677' },
      files: { 'data/pilot-zones.csv': 'c2' },
      packages: { jstat: '1.9.7' },
    };
    const rs = diffParts(before, after, undefined, () => ({ node: 'panel', output: 'panel' }));
    expect(rs).toEqual<Reason[]>([
      { kind: 'code', file: 'stats/new.ts', change: 'added' },
      { kind: 'code', file: 'stats/ols.ts', change: 'changed' },
      { kind: 'package', name: 'jstat', old: '1.9.6', new: '1.9.7' },
      { kind: 'param', path: 'controls', old: ['pgdp'], new: ['pgdp', 'indus'] },
      { kind: 'param', path: 'where.year.le', old: 2019, new: 2018 },
      { kind: 'input', name: 'panel', node: 'panel', output: 'panel' },
      { kind: 'file', path: 'data/pilot-zones.csv', change: 'changed' },
    ]);
    expect(rs.map(reasonLine)).toEqual([
      'code: stats/new.ts (now imported)',
      'code: stats/ols.ts',
      'package jstat: 1.9.6 → 1.9.7',
      'params.controls: [pgdp] → [pgdp, indus]',
      'params.where.year.le: 2019 → 2018',
      'input panel (panel.panel) changed',
      'file data/pilot-zones.csv changed',
    ]);
    expect(reasonPhrase(rs)).toBe('code of stats/new.ts changed, code of stats/ols.ts changed (+5 more)');
    expect(reasonPhrase(diffParts(before, { ...before, params: { ...before.params, controls: ['x'] } }))).toBe('params.controls changed');
  });

  it('a history without package versions (older version) is not a change', () => {
    const old = { ...before } as Partial<FingerprintParts>;
    delete old.packages;
    expect(diffParts(old, before)).toEqual([]);
  });
});

describe('decide: run, status and why agree', () => {
  it('a param change: status (stale) and run (ran) carry the same structured reason; descendants are pending then ran', async () => {
    const rig = await pool.rigWith(BASE_YAML);
    expect((await rig.run()).ok).toBe(true);
    rig.setYaml(BASE_YAML.replace('with: {k: 1}', 'with: {k: 2}'));
    const plan = await planPipeline({ file: rig.yaml, registry: rig.registry, codeRoot: rig.codeRoot });
    const p = Object.fromEntries(plan.nodes.map((n) => [n.id, n]));
    expect(p.plus!.state).toBe('stale');
    expect(p.plus!.reasons).toEqual([{ kind: 'param', path: 'k', old: 1, new: 2 }]);
    expect(p.plus!.reason).toBe('params.k changed');
    expect(p.r!.state).toBe('pending');
    expect(p.r!.reasons).toEqual([{ kind: 'waiting', nodes: ['plus'] }]);
    expect(p.src!.reasons).toEqual([{ kind: 'up-to-date' }]);
    const r = await rig.run();
    const n = Object.fromEntries(r.nodes.map((x) => [x.id, x]));
    expect(n.plus!.status).toBe('ran');
    expect(n.plus!.reasons).toEqual(p.plus!.reasons);
    expect(n.r!.status).toBe('ran');
    expect(n.r!.reasons).toEqual([{ kind: 'input', name: 'in', node: 'plus', output: 'table' }]);
  });

  it('forced, never run and corrupt outputs', async () => {
    const rig = await pool.rigWith(BASE_YAML);
    const first = await rig.run();
    expect(first.nodes.every((x) => x.reasons.length === 1 && x.reasons[0]!.kind === 'never-run')).toBe(true);
    const forced = await rig.run({ force: ['plus'] });
    expect(forced.nodes.find((x) => x.id === 'plus')!.reasons).toEqual([{ kind: 'forced' }]);
    // corrupt the object of src's output
    const ref = first.nodes.find((x) => x.id === 'src')!.outputs!;
    const hash = Object.values(ref)[0]!.hash;
    const obj = path.join(rig.dir, 'artifacts', 'objects', hash.slice(0, 2), hash);
    fs.chmodSync(obj, 0o644);
    fs.writeFileSync(obj, 'garbage');
    const plan = await planPipeline({ file: rig.yaml, registry: rig.registry, codeRoot: rig.codeRoot });
    const out = Object.keys(ref)[0]!;
    expect(plan.nodes.find((x) => x.id === 'src')!.reasons).toEqual([{ kind: 'corrupt', outputs: [out] }]);
    const again = await rig.run();
    expect(again.nodes.find((x) => x.id === 'src')!.reasons).toEqual([{ kind: 'corrupt', outputs: [out] }]);
    expect(again.nodes.find((x) => x.id === 'src')!.status).toBe('ran');
  });

  it('--json of run, status and why carry `reasons` next to `reason`', async () => {
    const rig = await pool.rigWith(BASE_YAML);
    expect((await cli(['run', '--json'], rig.dir, { TOY_COUNTER: rig.counter })).code).toBe(0);
    rig.setYaml(BASE_YAML.replace('with: {k: 1}', 'with: {k: 3}'));
    const st = JSON.parse((await cli(['status', '--json'], rig.dir, { TOY_COUNTER: rig.counter })).stdout);
    expect(st.nodes.find((x: any) => x.id === 'plus')).toMatchObject({ state: 'stale', reason: 'params.k changed', reasons: [{ kind: 'param', path: 'k', old: 1, new: 3 }] });
    const why = JSON.parse((await cli(['why', 'plus', '--json'], rig.dir, { TOY_COUNTER: rig.counter })).stdout);
    expect(why.reasons).toEqual([{ kind: 'param', path: 'k', old: 1, new: 3 }]);
    const run = JSON.parse((await cli(['run', '--json'], rig.dir, { TOY_COUNTER: rig.counter })).stdout);
    expect(run.nodes.find((x: any) => x.id === 'plus')).toMatchObject({ status: 'ran', reason: 'params.k changed', reasons: [{ kind: 'param', path: 'k', old: 1, new: 3 }] });
    expect(run.nodes.find((x: any) => x.id === 'src')).toMatchObject({ status: 'cached', reasons: [{ kind: 'up-to-date' }] });
  });
});

describe('early cutoff', () => {
  let rig: Rig | undefined;
  afterEach(() => {
    rig?.cleanup();
    rig = undefined;
  });

  it('early cutoff holds across several levels: a byte-identical output stops the cascade for everything below', async () => {
    rig = await base(`name: t\nseed: 1\nsteps:\n  src:\n    kind: source\n    with: {path: data/nums.txt}\n  a:\n    kind: add\n    in: src\n  r:\n    kind: round\n    in: a\n  b:\n    kind: add\n    in: r\n    with: {k: 1}\n  c:\n    kind: add\n    in: b\n  d:\n    kind: sum\n    in: [c, b]\n`);
    await rig.run();
    rig.executed();
    rig.write('data/nums.txt', NUMS.replace('1.2', '1.3')); // rounds to the same integers
    const r = await rig.run();
    expect(statuses(r)).toEqual({ src: 'ran', a: 'ran', r: 'ran', b: 'cached', c: 'cached', d: 'cached' });
    expect(rig.executed()).toEqual(['a', 'r', 'src']);
  });
});
