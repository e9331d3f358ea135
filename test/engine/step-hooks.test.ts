/**
 * The engine hooks for steps whose inputs, outputs and fingerprint depend on their params (the
 * `script` step uses them), on the toy step `dyn`: user-named inputs (anyInputs), outputs listed in
 * params (outputsFor: validation of `in:` references and of what the step returns), files named by
 * a pathParams function, and the `extra` fingerprint part (extraFingerprint) with its reasons.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeRig, statuses, type Rig } from './rig.js';
import { planPipeline } from '../../engine/plan.js';
import { reasonLine } from '../../engine/reasons.js';

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
  delete process.env.DYN_TAG;
});

const YAML = `name: hooks
steps:
  a:
    kind: dyn
    with: {outs: [first, second], file: data/f.txt}
  b:
    kind: dyn
    in: {x: a.second, y: a}
    with: {outs: [only]}
`;

describe('step hooks: anyInputs, outputsFor, pathParams function, extraFingerprint', () => {
  it('binds user-named inputs to per-node outputs; the extra part caches and explains reruns', async () => {
    rig = await makeRig();
    rig.write('data/f.txt', 'one');
    rig.setYaml(YAML);
    process.env.DYN_TAG = 'v1';
    const first = await rig.run();
    expect(first.ok, JSON.stringify(first.nodes.map((n) => n.error))).toBe(true);
    expect(Object.keys(first.nodes.find((n) => n.id === 'a')!.outputs!)).toEqual(['first', 'second']);
    const plan = await planPipeline({ file: rig.yaml, registry: rig.registry, codeRoot: rig.codeRoot });
    const b = plan.nodes.find((n) => n.id === 'b')!;
    expect(b.parts.extra).toEqual({ tag: 'v1' });
    expect(plan.nodes.find((n) => n.id === 'a')!.parts.files).toEqual({ 'data/f.txt': expect.stringMatching(/^[0-9a-f]{64}$/) });
    const bOut = await plan.session.store.get(b.outputs!.only!);
    expect(bOut).toEqual({ type: 'json', value: { name: 'only', inputs: ['x', 'y'], tag: 'v1' } });
    expect(rig.executed()).toEqual(['a', 'b']);
    expect(statuses(await rig.run())).toEqual({ a: 'cached', b: 'cached' });

    process.env.DYN_TAG = 'v2';
    const second = await rig.run();
    expect(statuses(second)).toEqual({ a: 'ran', b: 'ran' });
    const ra = second.nodes.find((n) => n.id === 'a')!;
    expect(ra.reason).toBe('tag changed');
    expect(ra.reasons.map(reasonLine)).toEqual(['tag: v1 → v2']);
    // the file named by the pathParams function is in the fingerprint
    rig.write('data/f.txt', 'two');
    const third = await rig.run();
    expect(third.nodes.find((n) => n.id === 'a')!.reason).toBe('file data/f.txt changed');
  });

  it('validates references against the per-node outputs, and unnamed inputs', async () => {
    rig = await makeRig();
    rig.write('data/f.txt', 'one');
    rig.setYaml(YAML.replace('a.second', 'a.third'));
    await expect(rig.run()).rejects.toThrow(/step "a" \(kind "dyn"\) has no output "third"/);
    rig.setYaml(YAML.replace('in: {x: a.second, y: a}', 'in: a.second'));
    await expect(rig.run()).rejects.toThrow(/the inputs of step kind "dyn" need names/);
  });

  it('an output not in outputsFor fails the node', async () => {
    rig = await makeRig();
    rig.write('data/f.txt', 'one');
    rig.setYaml(YAML.replace('with: {outs: [only]}', 'with: {outs: [only], extra_out: surprise}'));
    const r = await rig.run();
    expect(r.nodes.find((n) => n.id === 'b')!.error!.message).toBe('step dyn returned an undeclared output "surprise" (declared: only)');
  });
});
