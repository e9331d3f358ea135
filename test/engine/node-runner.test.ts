/**
 * engine/node-runner.ts: a step's outputs are checked against its declaration (undeclared,
 * mistyped, missing, not JSON data, ragged tables) before anything is stored; non-finite numbers in
 * JSON outputs are stored as null with a warning; a node whose compiled code is older than its
 * TypeScript source is not run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { baseRig as base, MIS, ROOT, statuses, type Rig } from './rig.js';

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
});

describe('output contract', () => {
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

describe('transcripts (ctx.transcript)', () => {
  it('the last text a step keeps is recorded in the history, bounded, also when it fails and in a worker thread', async () => {
    rig = await base(`name: t\nseed: 1\nsteps:\n${MIS('transcript')}${MIS('transcript', 'misbehave-cpu')}${MIS('ok')}`);
    const inWorker: string[] = [];
    const r = await rig.run({ keepGoing: true, onEvent: (e) => void (e.type === 'running' && e.worker && inWorker.push(e.id)) });
    expect(statuses(r)).toEqual({ misbehave_transcript: 'failed', misbehave_cpu_transcript: 'failed', misbehave_ok: 'ran' });
    // in a worker thread when the compiled worker exists (npm run build), else in this thread
    expect(inWorker).toEqual(fs.existsSync(path.join(ROOT, 'dist/engine/worker.js')) ? ['misbehave_cpu_transcript'] : []);
    const { readHistory, TRANSCRIPT_MAX_LINES } = await import('../../engine/history.js');
    const h = await readHistory(path.join(rig.dir, 'artifacts'));
    const rec = (id: string) => h.runs[0]!.nodes.find((n) => n.id === id)!;
    for (const id of ['misbehave_transcript', 'misbehave_cpu_transcript']) {
      const lines = rec(id).transcript!.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^… \(transcript cut: 50 of 250 lines/);
      expect(lines.slice(1)).toEqual(Array.from({ length: TRANSCRIPT_MAX_LINES }, (_, i) => `out ${i + 51}`));
      expect(rec(id).error).toBe('failed after keeping a transcript');
    }
    expect(rec('misbehave_ok').transcript).toBeUndefined();
    expect('transcript' in rec('misbehave_ok')).toBe(false);
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
