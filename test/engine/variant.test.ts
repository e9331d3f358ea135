/**
 * Variants (issue 14 part 1c): `repro run --variant NAME --set …` publishes to
 * results/variants/NAME/, never touches the main run's results/ (byte-identical, mtimes too), is
 * recorded in the history with `variant: NAME`, and leaves the main pipeline's status, why and show
 * as they were. A `--set` run without `--variant` is a variant named `set-<hash>`. Through the
 * compiled CLI.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoVariantName, variantNameProblem, variantPublishPath, withVariant } from '../../engine/publish.js';
import { cli, makeRig, NUMS, type Rig } from './rig.js';

const YAML = `name: toy
seed: 7
steps:
  src:
    kind: source
    with: {path: data/nums.txt}
  plus:
    kind: add
    in: src
    with: {k: 1}
  plus2:
    extends: plus
    with: {delay: 0}
  total:
    kind: sum
    in: [plus, plus2]
  rep:
    kind: report
    in: [total]
    publish: results/rep
  page:
    kind: runpage
    in: [total]
    publish: results/report
`;

/** Every file under dir (relative path → bytes and mtime), skipping results/variants/. */
function snapshot(dir: string): Map<string, { bytes: string; mtime: number }> {
  const out = new Map<string, { bytes: string; mtime: number }>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (rel === 'variants') continue;
      if (e.isDirectory()) walk(p);
      else out.set(rel, { bytes: fs.readFileSync(p).toString('base64'), mtime: fs.statSync(p).mtimeMs });
    }
  };
  walk(dir);
  return out;
}

/** What `total` sums: plus (x + k) then plus2 (x + k2), in that order. */
function total(k: number, k2: number): number {
  const xs = NUMS.trim().split('\n').map(Number);
  return [...xs.map((x) => x + k), ...xs.map((x) => x + k2)].reduce((a, b) => a + b, 0);
}

let rig: Rig;
beforeAll(async () => {
  rig = await makeRig();
  rig.write('data/nums.txt', NUMS);
  rig.setYaml(YAML);
});
afterAll(() => rig.cleanup());

describe('variants through the CLI', () => {
  it('a named variant publishes to results/variants/NAME/, results/ stays byte-identical (report page too), history has variant', async () => {
    const main = await cli(['run'], rig.dir);
    expect(main.code, main.stderr).toBe(0);
    const results = path.join(rig.dir, 'results');
    const before = snapshot(results);
    expect([...before.keys()].sort()).toEqual(['rep.md', 'rep.summary.json', 'report.html']);
    await new Promise((r) => setTimeout(r, 20)); // a rewrite would show in the mtime

    const v = await cli(['run', '--variant', 'k5', '--inherit', '--set', 'plus.k=5'], rig.dir);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toContain('variant k5: publishing to results/variants/k5/');
    // plus, plus2 (--inherit: --set reaches it through extends), total, rep, page ran; src cached
    expect(v.stdout).toMatch(/toy \(variant k5\): 5 ran, 1 cached/);
    expect(v.stdout).toMatch(/ran\s+plus2\s+add\s+\d+ ms\s+params\.k changed/);
    const vdir = path.join(results, 'variants/k5');
    expect(fs.readdirSync(vdir).sort()).toEqual(['rep.md', 'rep.summary.json', 'report.html']);
    expect(snapshot(results)).toEqual(before);
    // the variant's numbers: plus and plus2 both +5 (plus2 extends plus and does not set k)
    const sum = (k: number, k2 = k) => total(k, k2);
    expect(fs.readFileSync(path.join(vdir, 'rep.md'), 'utf8')).toContain(`"sum":${sum(5)}`);
    expect(fs.readFileSync(path.join(results, 'rep.md'), 'utf8')).toContain(`"sum":${sum(1)}`);
    expect(fs.readFileSync(path.join(vdir, 'report.html'), 'utf8')).toContain(`"sum":${sum(5)}`);

    // the main pipeline is still up to date, shows its own result, and a main run rewrites nothing
    const st = await cli(['status'], rig.dir);
    expect(st.stdout, st.stderr).toMatch(/toy: up to date/);
    const show = await cli(['show', 'rep'], rig.dir);
    expect(show.stdout).toContain(`"sum":${sum(1)}`);
    // … and `show --variant` the variant's
    const vshow = await cli(['show', 'rep', '--variant', 'k5'], rig.dir);
    expect(vshow.stdout, vshow.stderr).toContain(`"sum":${sum(5)}`);
    const none = await cli(['show', 'rep', '--variant', 'nope'], rig.dir);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('repro show: no variant nope recorded (variants: k5)');
    const again = await cli(['run', '--json'], rig.dir);
    expect(JSON.parse(again.stdout).nodes.every((n: { status: string }) => n.status === 'cached')).toBe(true);
    expect(snapshot(results)).toEqual(before);

    // rerunning the variant: all cached (its own latest), nothing rewritten in its folder either
    const vBefore = snapshot(vdir);
    const v2 = await cli(['run', '--json', '--variant', 'k5', '--inherit', '--set', 'plus.k=5'], rig.dir);
    const j2 = JSON.parse(v2.stdout);
    expect(j2.variant).toBe('k5');
    expect(j2.nodes.map((n: { status: string; reason: string }) => `${n.status} ${n.reason}`)).toEqual(Array(6).fill('cached up to date'));
    expect(snapshot(vdir)).toEqual(vBefore);

    // history: the run record carries `variant`; `repro log` shows it
    const log = JSON.parse((await cli(['log', '--json'], rig.dir)).stdout) as { id: number; variant?: string }[];
    expect(log.map((r) => r.variant ?? null)).toEqual(['k5', null, 'k5', null]);
    const text = await cli(['log'], rig.dir);
    expect(text.stdout.split('\n').filter((l) => /variant k5/.test(l))).toHaveLength(2);
    const one = await cli(['log', String(log[1]!.id + 1)], rig.dir);
    expect(one.stdout.split('\n')[0]).toMatch(/^run #\d+ \(variant k5\)/);
  });

  it('a --set run without --variant is a variant named set-<hash>, said on stderr; the same --set reuses the name', async () => {
    const results = path.join(rig.dir, 'results');
    const before = snapshot(results);
    const name = autoVariantName([{ id: 'plus', param: 'k', value: 7 }]);
    expect(name).toMatch(/^set-[0-9a-f]{8}$/);
    const r = await cli(['run', '--set', 'plus.k=7'], rig.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`variant ${name}: publishing to results/variants/${name}/ (a --set run is a variant; name it with --variant NAME)`);
    // without --inherit the --set reaches plus only: plus2 (extends plus) keeps k: 1
    expect(fs.readFileSync(path.join(results, 'variants', name, 'report.html'), 'utf8')).toContain(`"sum":${total(7, 1)}`);
    expect(snapshot(results)).toEqual(before);
    const log = JSON.parse((await cli(['log', '--json', '--limit', '1'], rig.dir)).stdout) as { variant?: string }[];
    expect(log[0]!.variant).toBe(name);
    expect(autoVariantName([{ id: 'plus', param: 'k', value: 7 }])).toBe(name);
    expect(autoVariantName([{ id: 'plus', param: 'k', value: 8 }])).not.toBe(name);
  });

  it('status and why take --inherit as run does', async () => {
    const state = async (args: string[]) => {
      const r = await cli(['status', '--json', '--set', 'plus.k=3', ...args], rig.dir);
      expect(r.code, r.stderr).toBe(0);
      return Object.fromEntries((JSON.parse(r.stdout).nodes as { id: string; state: string }[]).map((n) => [n.id, n.state]));
    };
    expect(await state([])).toMatchObject({ plus: 'stale', plus2: 'cached' });
    expect(await state(['--inherit'])).toMatchObject({ plus: 'stale', plus2: 'stale' });
    const why = await cli(['why', 'plus2', '--inherit', '--set', 'plus.k=3'], rig.dir);
    expect(why.stdout).toContain('params.k: 1 → 3');
  });

  it.each([['../x'], ['a/b'], ['.hidden'], [''], ['x'.repeat(65)], ['a b'], ['ends.']])('variant name %j is refused with exit 2; nothing runs', async (bad) => {
    const runs = () => fs.readdirSync(path.join(rig.dir, 'artifacts/runs')).length;
    const n = runs();
    const r = await cli(['run', '--variant', bad, '--set', 'plus.k=9'], rig.dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`repro run: --variant "${bad}" is not a valid variant name: use 1–64 letters, digits, _ . -`);
    expect(runs()).toBe(n);
    expect(fs.existsSync(path.join(rig.dir, 'x'))).toBe(false);
  });
});

describe('variant paths', () => {
  it('results/X moves to results/variants/NAME/X, any other P under it; publish is not in any fingerprint', () => {
    expect(variantPublishPath('results/table3', 'prov')).toBe('results/variants/prov/table3');
    expect(variantPublishPath('results/real/table2', 'prov')).toBe('results/variants/prov/real/table2');
    expect(variantPublishPath('out/x', 'prov')).toBe('results/variants/prov/out/x');
    const spec = { nodes: [{ id: 'a', publish: 'results/a' }, { id: 'b' }] };
    expect(withVariant(spec, 'v').nodes).toEqual([{ id: 'a', publish: 'results/variants/v/a' }, { id: 'b' }]);
    expect(spec.nodes[0]!.publish).toBe('results/a'); // a copy
  });

  it('names are safe path components', () => {
    for (const ok of ['prov', 'cluster-province', 'v1.2', 'A_b', 'x'.repeat(64)]) expect(variantNameProblem(ok)).toBeUndefined();
    for (const bad of ['..', '.', 'a/b', 'a\\b', '-x', '', 'x'.repeat(65), 'é', 'a\nb']) expect(variantNameProblem(bad)).toMatch(/is not a valid variant name/);
  });
});
