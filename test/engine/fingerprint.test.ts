/**
 * engine/fingerprint.ts: the fingerprint key of a node's parts (key order irrelevant, exact for
 * non-finite params), path params by the form they were written in, and the packages part
 * (package-lock versions of a step's bare imports).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Fingerprinter, fingerprintKey, type FingerprintParts } from '../../engine/fingerprint.js';
import { BASE_YAML, baseRig as base, statuses, type Rig } from './rig.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-fingerprint-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
});

describe('fingerprint', () => {
  it('does not depend on where the project folder is: path params keep the form they were written in', async () => {
    rig = await base();
    // a data file outside the project, named by an absolute path (as `--set ingest.path=/data/x.xlsx` would)
    const outside = path.join(path.dirname(rig.dir), `outside-${path.basename(rig.dir)}.txt`);
    fs.writeFileSync(outside, '12345');
    try {
      rig.setYaml(`${BASE_YAML}  size:\n    kind: filesize\n    with: {path: ${outside}}\n`);
      const first = await rig.run();
      expect(first.ok).toBe(true);
      // move the whole project folder: every fingerprint stays, nothing reruns
      // one level deeper, so a path relative to the project to the outside file would change too
      const moved = path.join(`${rig.dir}-moved`, 'inner');
      fs.mkdirSync(path.dirname(moved), { recursive: true });
      fs.renameSync(rig.dir, moved);
      const oldDir = rig.dir;
      const movedRig = { ...rig, cleanup: () => fs.rmSync(path.dirname(moved), { recursive: true, force: true }) };
      rig = movedRig;
      const { runPipeline } = await import('../../engine/executor.js');
      const again = await runPipeline({ file: path.join(moved, 'pipeline.yaml'), registry: rig.registry, codeRoot: rig.codeRoot, jobs: 2 });
      expect(again.nodes.map((n) => [n.id, n.status])).toEqual(first.nodes.map((n) => [n.id, 'cached']));
      expect(again.nodes.map((n) => n.key)).toEqual(first.nodes.map((n) => n.key));
      const { openSession, staticParts } = await import('../../engine/session.js');
      const s = await openSession({ file: path.join(moved, 'pipeline.yaml'), registry: rig.registry, codeRoot: rig.codeRoot });
      expect(Object.keys(staticParts(s, s.graph.byId.get('src')!).files)).toEqual(['data/nums.txt']);
      expect(Object.keys(staticParts(s, s.graph.byId.get('size')!).files)).toEqual([outside]);
      expect(JSON.stringify(staticParts(s, s.graph.byId.get('src')!))).not.toContain(moved);
      expect(oldDir).not.toBe(moved);
    } finally {
      fs.rmSync(outside, { force: true });
    }
  });

  it('a path param naming a directory or a missing file: the fingerprint says so, the step reports it', async () => {
    rig = await base(`name: t\nseed: 1\nsteps:\n  d:\n    kind: source\n    with: {path: data}\n  m:\n    kind: source\n    with: {path: nope.txt}\n`);
    const r = await rig.run({ keepGoing: true });
    expect(statuses(r)).toEqual({ d: 'failed', m: 'failed' });
    expect(r.nodes.every((n) => n.key !== '' && n.error !== undefined)).toBe(true); // fingerprinted, then failed in the step
    const { openSession, staticParts } = await import('../../engine/session.js');
    const s = await openSession({ file: rig.yaml, registry: rig.registry, codeRoot: rig.codeRoot });
    expect(staticParts(s, s.graph.byId.get('d')!).files).toEqual({ data: 'directory' });
    expect(staticParts(s, s.graph.byId.get('m')!).files).toEqual({ 'nope.txt': 'missing' });
  });

  it('NaN and ±Infinity in params stay distinct (canonical JSON of fingerprints is exact)', async () => {
    const { fingerprintKey } = await import('../../engine/fingerprint.js');
    const { canonicalJson } = await import('../../engine/canonical.js');
    const parts = (v: unknown) => ({ kind: 'k', code: {}, params: { where: { x: { lt: v } } }, inputs: {}, files: {}, seed: { root: 1, node: 'n' }, packages: {} });
    const keys = [Infinity, -Infinity, NaN, null].map((v) => fingerprintKey(parts(v)));
    expect(new Set(keys).size).toBe(4);
    expect(canonicalJson({ a: NaN })).toBe('{"a":null}'); // artifacts: plain JSON
    expect(canonicalJson({ a: -Infinity }, true)).toBe('{"a":{"$number":"-Infinity"}}');
    // finite values are unchanged by `exact`, so existing fingerprints are unchanged
    expect(canonicalJson({ b: [1.5, 'x', null] }, true)).toBe(canonicalJson({ b: [1.5, 'x', null] }));
  });
});

describe('fingerprint key', () => {
  const before: FingerprintParts = {
    kind: 'estimate',
    code: { 'steps/estimate.ts': 'a1', 'stats/ols.ts': 'b1' },
    params: { y: 'so2', controls: ['pgdp'], where: { year: { le: 2019 } } },
    inputs: { panel: '3f2a00112233' },
    files: { 'data/pilot-zones.csv': 'c1' },
    seed: { root: 1, node: 'baseline' },
    packages: {},
  };
  it('ignores param key order', () => {
    const reordered = { ...before, params: { where: { year: { le: 2019 } }, controls: ['pgdp'], y: 'so2' } };
    expect(fingerprintKey(reordered)).toBe(fingerprintKey(before));
  });
});

describe('packages part', () => {
  /** A project root with one step file importing `jstat`, `zod/lib/x` and node built-ins, and a package-lock. */
  const project = (name: string, versions: Record<string, string>): string => {
    const root = path.join(tmp, name);
    fs.mkdirSync(path.join(root, 'steps'), { recursive: true });
    fs.writeFileSync(
      path.join(root, 'steps/s.ts'),
      "import { jStat } from 'jstat';\nimport { x } from 'zod/lib/x';\nimport fs from 'node:fs';\nimport path from 'path';\nimport { h } from './h.js';\nexport default () => [jStat, x, fs, path, h];\n",
    );
    fs.writeFileSync(path.join(root, 'steps/h.ts'), "import { csv } from 'csv-parse/sync';\nexport const h = csv;\n");
    const packages: Record<string, { version: string }> = { '': { version: '0.0.0' } };
    for (const [n, v] of Object.entries(versions)) packages[`node_modules/${n}`] = { version: v };
    packages['node_modules/jstat/node_modules/nested'] = { version: '9.9.9' }; // not top level: ignored
    fs.writeFileSync(path.join(root, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages }));
    return root;
  };
  const partsOf = (root: string): FingerprintParts => {
    const fp = new Fingerprinter(root, null);
    return { kind: 's', code: fp.code('s', 'steps/s.ts'), params: {}, inputs: {}, files: {}, seed: { root: 1, node: 'n' }, packages: fp.packages('s', 'steps/s.ts') };
  };

  it("gives the package-lock versions of the bare imports of a step's code closure (built-ins and relative imports excluded)", () => {
    const p = partsOf(project('a', { jstat: '1.9.6', zod: '3.23.8', 'csv-parse': '5.5.6', unused: '1.0.0' }));
    expect(p.packages).toEqual({ 'csv-parse': '5.5.6', jstat: '1.9.6', zod: '3.23.8' });
    expect(Object.keys(p.code)).toEqual(['steps/h.ts', 'steps/s.ts']);
  });

  it('a version change changes the fingerprint key; the same versions give the same key', () => {
    const base = partsOf(project('b1', { jstat: '1.9.6', zod: '3.23.8', 'csv-parse': '5.5.6' }));
    const same = partsOf(project('b2', { zod: '3.23.8', 'csv-parse': '5.5.6', jstat: '1.9.6' }));
    const bumped = partsOf(project('b3', { jstat: '1.9.7', zod: '3.23.8', 'csv-parse': '5.5.6' }));
    expect(same.code).toEqual(base.code); // same sources in another folder: only the packages can differ
    expect(fingerprintKey(same)).toBe(fingerprintKey(base));
    expect(bumped.packages.jstat).toBe('1.9.7');
    expect(fingerprintKey(bumped)).not.toBe(fingerprintKey(base));
  });

  it('a package missing from the lock and from node_modules is "unknown"', () => {
    const p = partsOf(project('c', { jstat: '1.9.6' }));
    expect(p.packages).toEqual({ 'csv-parse': 'unknown', jstat: '1.9.6', zod: 'unknown' });
  });
});
