/**
 * Regression tests from an adversarial audit of the engine against DESIGN.md's invariants: each
 * test pins a bug that was found and fixed (stat cache, fingerprint, store recovery, failure
 * semantics, CLI contract).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BASE_YAML, cli, makeRig, NUMS, ROOT, statuses, type Rig } from './rig.js';

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
});

async function base(yaml = BASE_YAML): Promise<Rig> {
  const r = await makeRig();
  r.write('data/nums.txt', NUMS);
  r.setYaml(yaml);
  return r;
}

describe('stat cache', () => {
  it('sees a same-size rewrite whose mtime was set back (ctime is part of the key)', async () => {
    rig = await base();
    const data = path.join(rig.dir, 'data/nums.txt');
    const old = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000); // whole seconds: restorable exactly
    fs.utimesSync(data, old, old);
    expect((await rig.run()).ok).toBe(true);
    rig.executed();
    const mtime = fs.statSync(data).mtime;
    fs.writeFileSync(data, NUMS.replace('3.7', '4.7')); // same size, same inode
    fs.utimesSync(data, mtime, mtime); // like `touch -d` / `cp -p`: mtime restored
    const st = fs.statSync(data);
    expect(st.size).toBe(NUMS.length);
    expect(st.mtimeMs).toBe(mtime.getTime());
    const r = await rig.run();
    expect(statuses(r).src).toBe('ran');
    expect(rig.executed()).toContain('src');
  });
});

describe('stat cache and early cutoff', () => {
  it('an atomic replace (new inode) with the same size and mtime is rehashed', async () => {
    const { StatCache } = await import('../../engine/statcache.js');
    rig = await base();
    const f = path.join(rig.dir, 'data/nums.txt');
    const old = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000);
    fs.utimesSync(f, old, old);
    const c = new StatCache(null);
    const h1 = c.fileHash(f);
    expect(c.fileHash(f)).toEqual({ hash: h1.hash, cached: true });
    const tmp = path.join(rig.dir, 'data/.new');
    fs.writeFileSync(tmp, NUMS.replace('1.2', '1.3'));
    fs.utimesSync(tmp, old, old);
    fs.renameSync(tmp, f);
    const h2 = c.fileHash(f);
    expect(h2.cached).toBe(false);
    expect(h2.hash).not.toBe(h1.hash);
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

describe('code closure', () => {
  it('includes modules loaded by URL (new URL(relative, import.meta.url)); compiledUrl is no longer special', async () => {
    const { codeClosure, importsOf, tokenize } = await import('../../engine/codehash.js');
    const src = `
      import { compiledUrl } from '../engine/paths.js';
      const a = compiledUrl('steps/x-worker.ts');
      const b = new Worker(new URL('./y-worker.js', import.meta.url));
      const c = new URL('https://example.org/');
    `;
    expect(importsOf(tokenize(src))).toEqual(['../engine/paths.js', './y-worker.js']);
    rig = await base();
    const root = path.join(rig.dir, 'proj');
    const w = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    };
    w('steps/s.ts', `export const u = new URL('./s-worker.js', import.meta.url);\n`);
    w('steps/s-worker.ts', `import { f } from '../stats/f.js';\nf();\n`);
    w('stats/f.ts', 'export function f() { return 1; }\n');
    expect(Object.keys(codeClosure('steps/s.ts', root, null))).toEqual(['stats/f.ts', 'steps/s-worker.ts', 'steps/s.ts']);
  });
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
    const parts = (v: unknown) => ({ kind: 'k', code: {}, params: { where: { x: { lt: v } } }, inputs: {}, files: {}, seed: { root: 1, node: 'n' } });
    const keys = [Infinity, -Infinity, NaN, null].map((v) => fingerprintKey(parts(v)));
    expect(new Set(keys).size).toBe(4);
    expect(canonicalJson({ a: NaN })).toBe('{"a":null}'); // artifacts: plain JSON
    expect(canonicalJson({ a: -Infinity }, true)).toBe('{"a":{"$number":"-Infinity"}}');
    // finite values are unchanged by `exact`, so existing fingerprints are unchanged
    expect(canonicalJson({ b: [1.5, 'x', null] }, true)).toBe(canonicalJson({ b: [1.5, 'x', null] }));
  });
});

describe('failure semantics', () => {
  const MIS = (mode: string, kind = 'misbehave') => `  ${kind.replace('-', '_')}_${mode.replace(/-/g, '_')}:\n    kind: ${kind}\n    with: {mode: ${mode}}\n`;

  it('a thrown non-Error (main thread or worker) is described, not "[object Object]", and has no engine stack', async () => {
    const modes = ['throw-string', 'throw-object', 'throw-undefined'];
    rig = await base(`name: t\nseed: 1\nsteps:\n${modes.map((m) => MIS(m) + MIS(m, 'misbehave-cpu')).join('')}`);
    const r = await rig.run({ keepGoing: true });
    const err = (id: string) => r.nodes.find((n) => n.id === id)!.error!;
    for (const k of ['misbehave', 'misbehave_cpu']) {
      expect(err(`${k}_throw_string`).message).toBe('threw a non-Error value: "a plain string"');
      expect(err(`${k}_throw_object`).message).toBe("threw a non-Error value: { code: 42, detail: 'an object' }");
      expect(err(`${k}_throw_undefined`).message).toBe('threw a non-Error value: undefined');
      for (const m of modes) expect(err(`${k}_${m.replace(/-/g, '_')}`).stack).toBeUndefined();
    }
  });

  it('a worker thread that exits, throws from a timer, or returns outputs that cannot be cloned fails its node only', async () => {
    rig = await base(`name: t\nseed: 1\nsteps:\n${['exit', 'throw-later', 'function', 'ok'].map((m) => MIS(m, 'misbehave-cpu')).join('')}`);
    const r = await rig.run({ keepGoing: true });
    expect(statuses(r)).toEqual({ misbehave_cpu_exit: 'failed', misbehave_cpu_throw_later: 'failed', misbehave_cpu_function: 'failed', misbehave_cpu_ok: 'ran' });
    const err = (id: string) => r.nodes.find((n) => n.id === id)!.error!;
    expect(err('misbehave_cpu_exit')).toEqual({ message: 'worker thread exited with code 3 before the step finished (did the step call process.exit?)', stepError: false });
    expect(err('misbehave_cpu_throw_later').message).toBe('thrown from a timer');
    expect(err('misbehave_cpu_function').message).toMatch(/^the step's outputs could not be sent back from its worker thread: .*could not be cloned/);
  });

  it('a JSON output holding something JSON cannot say (a Map, a function), or a ragged table, fails instead of being stored as {} / dropped / truncated', async () => {
    rig = await base(`name: t\nseed: 1\nsteps:\n${MIS('map')}${MIS('function')}${MIS('ragged')}${MIS('map', 'misbehave-cpu')}`);
    const r = await rig.run({ keepGoing: true });
    const err = (id: string) => r.nodes.find((n) => n.id === id)!.error?.message;
    expect(err('misbehave_map')).toBe('step misbehave: output "extra" is not JSON data at $.rows[0].m: a Map (use plain objects, arrays, strings, numbers, booleans, null)');
    expect(err('misbehave_cpu_map')).toBe('step misbehave-cpu: output "extra" is not JSON data at $.rows[0].m: a Map (use plain objects, arrays, strings, numbers, booleans, null)');
    expect(err('misbehave_ragged')).toBe('step misbehave: output "table": table column "x" has 3 values but the table has nrows = 2: every column must have one value per row');
    expect(err('misbehave_function')).toBe('step misbehave: output "extra" is not JSON data at $.f: a function (use plain objects, arrays, strings, numbers, booleans, null)');
  });

  it('contract breaks: undeclared or mistyped outputs fail the node; a declared output may be left out, and a node that needs it is told which exist', async () => {
    rig = await base(`name: t\nseed: 1\nsteps:\n${MIS('undeclared')}${MIS('wrong-type')}${MIS('none')}${MIS('not-object')}${MIS('subset')}  uses_table:\n    kind: sum\n    in: [misbehave_subset]\n  uses_extra:\n    kind: report\n    in: [misbehave_subset.extra]\n`);
    const r = await rig.run({ keepGoing: true });
    expect(statuses(r)).toEqual({ misbehave_undeclared: 'failed', misbehave_wrong_type: 'failed', misbehave_none: 'failed', misbehave_not_object: 'failed', misbehave_subset: 'ran', uses_table: 'ran', uses_extra: 'failed' });
    const err = (id: string) => r.nodes.find((n) => n.id === id)!.error!;
    expect(err('misbehave_undeclared').message).toBe('step misbehave returned an undeclared output "bogus" (declared: table, extra)');
    expect(err('misbehave_wrong_type').message).toBe('step misbehave: output "table" is declared table but a json was returned');
    expect(err('misbehave_none').message).toBe('step misbehave returned no outputs (declared: table, extra)');
    expect(err('misbehave_not_object').message).toBe('step misbehave returned 42, expected an object of named outputs');
    expect(err('uses_extra').message).toMatch(/^input in: misbehave_subset produced no output "extra" \(its outputs this run: table\); change the input/);
    expect(err('uses_extra').stack).toBeUndefined();
    // nothing was cached for the failed nodes
    const { Store } = await import('../../engine/store.js');
    const store = new Store(path.join(rig.dir, 'artifacts'));
    expect(store.readEntry(r.nodes.find((n) => n.id === 'misbehave_undeclared')!.key)).toBeNull();
  });

  it('NaN / Infinity in a JSON output: stored as null (what JSON readers see), with a warning naming where', async () => {
    rig = await base(`name: t\nseed: 1\nsteps:\n${MIS('nan')}${MIS('nan-null')}${MIS('nan', 'misbehave-cpu')}`);
    const r = await rig.run();
    expect(r.ok).toBe(true);
    const node = (id: string) => r.nodes.find((n) => n.id === id)!;
    for (const id of ['misbehave_nan', 'misbehave_cpu_nan']) {
      expect(node(id).warnings).toEqual(['output extra: 2 non-finite number(s) stored as null in JSON ($.a (NaN), $.b[1] (Infinity))']);
    }
    expect(node('misbehave_nan_null').warnings).toEqual([]);
    // the stored bytes are the same as for explicit nulls: identical for every reader downstream
    expect(node('misbehave_nan').outputs!.extra!.hash).toBe(node('misbehave_nan_null').outputs!.extra!.hash);
  });
});

describe('table artifacts', () => {
  it('a malformed table is refused, never stored truncated or padded', async () => {
    const { tableToArrow, arrowToTable } = await import('../../engine/arrow.js');
    const T = (names: string[], columns: Record<string, unknown>, nrows: unknown) => ({ names, columns, nrows }) as unknown as Parameters<typeof tableToArrow>[0];
    expect(() => tableToArrow(T(['x'], { x: Float64Array.of(1, 2, 3) }, 2))).toThrow('table column "x" has 3 values but the table has nrows = 2');
    expect(() => tableToArrow(T(['x', 's'], { x: Float64Array.of(1, 2, 3), s: ['a'] }, 3))).toThrow('table column "s" has 1 values but the table has nrows = 3');
    expect(() => tableToArrow(T(['x', 'x'], { x: Float64Array.of(1) }, 1))).toThrow('table column "x" is listed twice in names');
    expect(() => tableToArrow(T(['x'], { x: Float64Array.of(1) }, undefined))).toThrow('table nrows must be a non-negative integer, got undefined');
    const ok = arrowToTable(tableToArrow(T(['x', 's'], { x: Float64Array.of(1, NaN), s: ['a', null] }, 2)));
    expect([ok.nrows, Array.from(ok.columns.x as Float64Array), ok.columns.s]).toEqual([2, [1, NaN], ['a', null]]);
  });

  it('a file artifact extension cannot leave the publish folder', async () => {
    const { encodeArtifact } = await import('../../engine/store.js');
    const bytes = new Uint8Array([1]);
    await expect(encodeArtifact({ type: 'file', ext: '../../x', bytes })).rejects.toThrow('file artifact extension must be letters/digits');
    await expect(encodeArtifact({ type: 'file', ext: '', bytes })).rejects.toThrow('file artifact extension');
    expect((await encodeArtifact({ type: 'file', ext: 'png', bytes })).ext).toBe('png');
  });
});

describe('store and history recovery', () => {
  it('a malformed cache entry (valid JSON, bad refs) is a miss, never a crash or a path outside the store', async () => {
    rig = await base();
    const first = await rig.run();
    rig.executed();
    const { Store } = await import('../../engine/store.js');
    const store = new Store(path.join(rig.dir, 'artifacts'));
    const plus = first.nodes.find((n) => n.id === 'plus')!;
    fs.writeFileSync(store.entryPath(plus.key), JSON.stringify({ v: 1, key: plus.key, node: 'plus', kind: 'add', ms: 1, outputs: { table: { hash: '../../../../etc/passwd', type: 'table' } } }));
    const src = first.nodes.find((n) => n.id === 'src')!;
    fs.writeFileSync(store.entryPath(src.key), JSON.stringify({ v: 1, key: src.key, outputs: { table: { type: 'table' } } }));
    expect(store.readEntry(plus.key)).toBeNull();
    const r = await rig.run();
    expect(r.ok).toBe(true);
    expect(statuses(r)).toMatchObject({ src: 'ran', plus: 'ran' });
    expect(rig.executed()).toEqual(['plus', 'src']); // outputs came out identical: early cutoff downstream
    expect(store.readEntry(plus.key)!.outputs.table!.hash).toBe(plus.outputs!.table!.hash);
  });

  it('history.json that is valid JSON of the wrong shape, or truncated: run, status, why and log still work', async () => {
    rig = await base();
    await rig.run();
    const hist = path.join(rig.dir, 'artifacts/history.json');
    const { planPipeline } = await import('../../engine/plan.js');
    const { readHistory } = await import('../../engine/history.js');
    const opts = { file: rig.yaml, registry: rig.registry, codeRoot: rig.codeRoot };
    const bad = [
      '{"version":1,"runs":[]}', // no latest
      '{"version":1,"nextId":3,"runs":[{"id":1},{"id":"x","started":5}],"latest":{"toy":{"src":{},"plus":null}}}',
      '{"version":1,"runs":{},"latest":[]}',
      '[1,2,3]',
      '{"version":1,"nextId":2,"runs":[',
    ];
    const stderr = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write; // the warnings are expected
    try {
      for (const text of bad) {
        fs.writeFileSync(hist, text);
        const h = await readHistory(path.join(rig.dir, 'artifacts'));
        expect(Array.isArray(h.runs) && typeof h.latest === 'object').toBe(true);
        const { nodes } = await planPipeline(opts);
        expect(nodes.every((n) => n.state === 'cached')).toBe(true);
        expect(fs.readFileSync(hist, 'utf8')).toBe(text); // readers never rewrite or move it
        const r = await rig.run();
        expect(r.ok).toBe(true);
        expect(r.runId).toBeGreaterThan(0);
        const after = await readHistory(path.join(rig.dir, 'artifacts'));
        expect(after.runs.at(-1)!.id).toBe(r.runId);
        expect(Object.keys(after.latest.toy ?? {}).sort()).toEqual(['plus', 'r', 'rep', 'side', 'src', 'total']);
      }
    } finally {
      process.stderr.write = stderr;
    }
  });

  it('a truncated stat cache or validated-spec cache costs rehashing only', async () => {
    rig = await base();
    const first = await rig.run();
    rig.executed();
    const art = path.join(rig.dir, 'artifacts');
    const cut = (f: string) => fs.writeFileSync(f, fs.readFileSync(f, 'utf8').slice(0, 40));
    cut(path.join(art, 'statcache.json'));
    for (const f of fs.readdirSync(path.join(art, 'specs'))) cut(path.join(art, 'specs', f));
    const { runPipeline } = await import('../../engine/executor.js');
    const r = await runPipeline({ file: rig.yaml, registry: rig.registry, codeRoot: rig.codeRoot }); // spec cache on, as the CLI
    expect(r.nodes.map((n) => [n.id, n.status, n.key])).toEqual(first.nodes.map((n) => [n.id, 'cached', n.key]));
    expect(rig.executed()).toEqual([]);
  });

  it('gc prunes stat-cache entries of files that are gone', async () => {
    rig = await base();
    await rig.run();
    const file = path.join(rig.dir, 'artifacts/statcache.json');
    const read = () => Object.keys((JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: Record<string, unknown> }).entries);
    const gone = path.join(rig.dir, 'data/gone.txt');
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: Record<string, unknown> };
    data.entries[`f:${gone}`] = { size: 1, mtime: 1, ino: 1, ctime: 1, h: 'x' };
    data.entries[`c:${path.join(rig.dir, 'pipeline.yaml')}`] = { size: 1, mtime: 1, ino: 1, h: 'x' }; // an old namespace
    fs.writeFileSync(file, JSON.stringify(data));
    const before = read();
    const { openSession } = await import('../../engine/session.js');
    const { gcStore } = await import('../../engine/gc.js');
    await gcStore(await openSession({ file: rig.yaml, registry: rig.registry, codeRoot: rig.codeRoot }));
    const after = read();
    expect(before.filter((k) => !after.includes(k)).sort()).toEqual([`c:${path.join(rig.dir, 'pipeline.yaml')}`, `f:${gone}`]);
    expect(after.length).toBeGreaterThan(5);
    expect((await rig.run()).nodes.every((n) => n.status === 'cached')).toBe(true);
  });

  it('gc keeps only the most recently used validated specs, and the current one survives', async () => {
    rig = await base();
    const { openSession } = await import('../../engine/session.js');
    const { gcStore } = await import('../../engine/gc.js');
    const specs = path.join(rig.dir, 'artifacts/specs');
    const opts = { file: rig.yaml, registry: rig.registry, codeRoot: rig.codeRoot };
    await rig.run();
    const current = fs.readdirSync(specs);
    expect(current.length).toBe(1);
    // five stale specs of other --set combinations, older than the current one
    for (let i = 0; i < 5; i++) {
      const f = path.join(specs, `old${i}.json`);
      fs.writeFileSync(f, '{}');
      fs.utimesSync(f, new Date(Date.now() - (10 + i) * 86_400_000), new Date(Date.now() - (10 + i) * 86_400_000));
    }
    fs.utimesSync(path.join(specs, current[0]!), new Date(Date.now() - 30 * 86_400_000), new Date(Date.now() - 30 * 86_400_000));
    await rig.run(); // a cache hit marks the current spec as used
    const dry = await gcStore(await openSession(opts), { dryRun: true, keepSpecs: 2 });
    expect(dry.specsRemoved).toBe(4);
    expect(fs.readdirSync(specs).length).toBe(6);
    const r = await gcStore(await openSession(opts), { keepSpecs: 2 });
    expect(r.specsRemoved).toBe(4);
    expect(fs.readdirSync(specs).sort()).toEqual([current[0]!, 'old0.json'].sort());
    const again = await rig.run();
    expect(again.nodes.map((n) => `${n.id}:${n.status}:${n.reason}`).filter((s) => !s.includes(':cached:'))).toEqual([]);
  });

  it('a run sweeps temp files left in publish folders by a killed run', async () => {
    rig = await base();
    await rig.run();
    const stray = path.join(rig.dir, 'results/.tmp-999999999-abcdef');
    const live = path.join(rig.dir, `results/.tmp-${process.pid}-abcdef`);
    fs.writeFileSync(stray, 'partial');
    fs.writeFileSync(live, 'being written by a live process');
    await rig.run();
    expect(fs.existsSync(stray)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
    expect(fs.readdirSync(path.join(rig.dir, 'results')).filter((f) => !f.startsWith('.tmp-')).sort()).toEqual(['rep.md', 'rep.summary.json']);
  });
});

describe('CLI contract', () => {
  it('with --json, stdout holds exactly one JSON object also for usage, config and command errors; exit codes 2 / 1', async () => {
    rig = await base();
    const one = (stdout: string) => {
      expect(stdout.trim().split('\n')).toHaveLength(1);
      return JSON.parse(stdout) as { ok: boolean; error: { exit: number; type: string; message: string; errors?: { line: number; col: number; message: string }[] } };
    };
    const usage = await cli(['run', '--json', '--bogus'], rig.dir);
    expect(usage.code).toBe(2);
    expect(one(usage.stdout)).toMatchObject({ ok: false, error: { exit: 2, type: 'usage' } });
    expect(usage.stderr).toMatch(/^repro run: unknown option --bogus/); // one "repro" prefix, not two

    rig.write('bad.yaml', 'name: x\nsteps:\n  a:\n    kind: nosuchkind\n');
    const config = await cli(['run', 'bad.yaml', '--json'], rig.dir);
    expect(config.code).toBe(2);
    const cj = one(config.stdout);
    expect(cj.error.type).toBe('config');
    expect(cj.error.errors![0]).toMatchObject({ line: 4, col: 11, message: 'unknown step kind "nosuchkind"' });
    expect(config.stderr).toContain('bad.yaml:4:11');

    const why = await cli(['why', 'nope', '--json'], rig.dir);
    expect([why.code, one(why.stdout).error.type]).toEqual([2, 'usage']);
    const show = await cli(['show', 'plus', '--json'], rig.dir); // exists, never ran
    expect(show.code).toBe(1);
    expect(one(show.stdout).error).toMatchObject({ exit: 1, type: 'error', message: expect.stringContaining('plus has no successful run') });
    const status = await cli(['status', '--json'], rig.dir);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).up_to_date).toBe(false);
  });

  it('usage errors print on stderr only: no command, log --limit 0, show of a missing output', async () => {
    rig = await base();
    const none = await cli([], rig.dir);
    expect([none.code, none.stdout]).toEqual([2, '']);
    expect(none.stderr).toContain('usage:');
    expect((await cli(['help'], rig.dir)).code).toBe(0);
    const lim = await cli(['log', '--limit', '0'], rig.dir);
    expect([lim.code, lim.stdout]).toEqual([2, '']);
    expect(lim.stderr).toContain('--limit must be an integer >= 1');
    expect((await cli(['run'], rig.dir, { TOY_COUNTER: rig.counter })).code).toBe(0);
    const out = await cli(['show', 'plus.nope'], rig.dir);
    expect([out.code, out.stdout]).toEqual([2, '']);
    expect(out.stderr).toContain('plus has no output "nope"; outputs: table');
  });

  it('show of an object removed from the store: exit 1 and how to recompute it; --target with a foreach base id', async () => {
    rig = await base(`${BASE_YAML}  fe:\n    kind: add\n    in: src\n    foreach: {k: [1, 2]}\n    with: {k: "\${k}"}\n`);
    const env = { TOY_COUNTER: rig.counter };
    const t = await cli(['run', '--target', 'fe', '--json'], rig.dir, env);
    expect(t.code).toBe(0);
    expect(JSON.parse(t.stdout).nodes.map((n: { id: string }) => n.id)).toEqual(['src', 'fe[1]', 'fe[2]']);
    const { readHistory } = await import('../../engine/history.js');
    const h = await readHistory(path.join(rig.dir, 'artifacts'));
    const hash = h.latest.toy!['fe[2]']!.outputs.table!.hash;
    fs.rmSync(path.join(rig.dir, 'artifacts/objects', hash.slice(0, 2), hash));
    const show = await cli(['show', 'fe[2]'], rig.dir);
    expect(show.code).toBe(1);
    expect(show.stderr).toContain('repro show: fe[2].table: store object');
    expect(show.stderr).toContain('`repro run --target fe[2]` recomputes it');
    const again = await cli(['run', '--target', 'fe[2]'], rig.dir, env);
    expect(again.code).toBe(0);
    expect((await cli(['show', 'fe[2]', '--json'], rig.dir)).stdout).toBe('[{"x":3.2},{"x":4.5},{"x":5.7}]\n');
  });

  it('run --dry-run writes nothing, not even the validated-spec cache', async () => {
    rig = await base();
    const r = await cli(['run', '--dry-run', '--json'], rig.dir);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).nodes.map((n: { status: string }) => n.status)).toEqual(Array(6).fill('stale')); // never run
    expect(fs.existsSync(path.join(rig.dir, 'artifacts'))).toBe(false);
    expect(fs.existsSync(path.join(rig.dir, 'results'))).toBe(false);
  });
});

describe('compiled code', () => {
  it('a node whose TypeScript source is newer than its compiled JS is not run (its old code would be cached under the new fingerprint)', async () => {
    const { assertCompiledFresh } = await import('../../engine/executor.js');
    const rel = `.repro-tmp/compiled-${process.pid}`;
    const src = path.join(ROOT, rel, 'step.ts');
    const js = path.join(ROOT, 'dist', rel, 'step.js');
    fs.mkdirSync(path.dirname(src), { recursive: true });
    try {
      fs.writeFileSync(src, 'export default 1;\n');
      const node = { id: 'n' } as Parameters<typeof assertCompiledFresh>[0];
      const code = { [`${rel}/step.ts`]: 'h', 'lib/plain.js': 'h', '../outside/x.ts': 'h' };
      expect(() => assertCompiledFresh(node, code, ROOT)).toThrow(`compiled code is out of date: ${rel}/step.ts (no dist/${rel}/step.js) changed since the last build; run \`npm run build\``);
      fs.mkdirSync(path.dirname(js), { recursive: true });
      fs.writeFileSync(js, 'export default 1;\n');
      const t = Date.now() / 1000;
      fs.utimesSync(src, t - 10, t - 10);
      fs.utimesSync(js, t - 5, t - 5);
      expect(() => assertCompiledFresh(node, code, ROOT)).not.toThrow();
      fs.utimesSync(src, t, t); // edited after the build
      expect(() => assertCompiledFresh(node, code, ROOT)).toThrow(/out of date: .*step\.ts changed since the last build.*not running n/);
    } finally {
      fs.rmSync(path.join(ROOT, rel), { recursive: true, force: true });
      fs.rmSync(path.join(ROOT, 'dist', rel), { recursive: true, force: true });
    }
  });
});
