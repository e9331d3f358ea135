/**
 * engine/history.ts: history.json of the wrong shape or truncated never breaks run, status, why or
 * log; readers never rewrite it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { baseRig as base, type Rig } from './rig.js';

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
});

describe('history recovery', () => {
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
});

describe('run records (runs/<id>.json)', () => {
  const record = (pipeline: string) => ({
    started: new Date(0).toISOString(), ms: 1, ok: true, pipeline, file: 'pipeline.yaml', jobs: 1, argv: [],
    counts: { ran: 0, cached: 0, failed: 0, skipped: 0 }, nodes: [{ id: 'a', kind: 'k', status: 'cached' as const, ms: 0, reason: 'up to date', warnings: [] }],
  });

  it('each run is its own sealed file; history.json holds latest and nextId and does not grow with the runs', async () => {
    const { recordRun, readHistory, readLatest } = await import('../../engine/history.js');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-hist-'));
    try {
      await recordRun(dir, record('p'), {});
      const size1 = fs.statSync(path.join(dir, 'history.json')).size;
      for (let i = 0; i < 4; i++) await recordRun(dir, record('p'), {});
      expect(fs.statSync(path.join(dir, 'history.json')).size).toBe(size1);
      expect(fs.readdirSync(path.join(dir, 'runs'))).toEqual(['00000001.json', '00000002.json', '00000003.json', '00000004.json', '00000005.json']);
      expect((await readHistory(dir)).runs.map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
      expect((await readLatest(dir)).runs).toEqual([]);
      expect((await readLatest(dir)).nextId).toBe(6);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`keeps the last MAX_RUNS records, deleting the oldest file as a new one is written`, async () => {
    const { recordRun, readHistory, MAX_RUNS } = await import('../../engine/history.js');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-hist-'));
    try {
      for (let i = 0; i < MAX_RUNS + 3; i++) await recordRun(dir, record('p'), {});
      const h = await readHistory(dir);
      expect(h.runs.length).toBe(MAX_RUNS);
      expect(h.runs[0]!.id).toBe(4);
      expect(fs.readdirSync(path.join(dir, 'runs')).length).toBe(MAX_RUNS);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an older history.json with its runs inline is read, and migrated to runs/ at the next write', async () => {
    const { recordRun, readHistory } = await import('../../engine/history.js');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-hist-'));
    try {
      const old = { version: 1, nextId: 3, runs: [{ id: 1, ...record('p') }, { id: 2, ...record('q') }], latest: {} };
      fs.writeFileSync(path.join(dir, 'history.json'), JSON.stringify(old)); // unsealed: an older version
      expect((await readHistory(dir)).runs.map((r) => [r.id, r.pipeline])).toEqual([[1, 'p'], [2, 'q']]);
      expect(await recordRun(dir, record('r'), {})).toBe(3);
      expect((JSON.parse(fs.readFileSync(path.join(dir, 'history.json'), 'utf8')) as { runs: unknown[] }).runs).toEqual([]);
      expect(fs.readdirSync(path.join(dir, 'runs'))).toEqual(['00000001.json', '00000002.json', '00000003.json']);
      expect((await readHistory(dir)).runs.map((r) => [r.id, r.pipeline])).toEqual([[1, 'p'], [2, 'q'], [3, 'r']]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a damaged or truncated run record is left out with a warning naming the file; the others stay', async () => {
    const { recordRun, readHistory } = await import('../../engine/history.js');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-hist-'));
    const stderr = process.stderr.write;
    const said: string[] = [];
    process.stderr.write = ((s: string) => (said.push(String(s)), true)) as typeof process.stderr.write;
    try {
      for (let i = 0; i < 3; i++) await recordRun(dir, record('p'), {});
      const f2 = path.join(dir, 'runs/00000002.json');
      fs.writeFileSync(f2, fs.readFileSync(f2, 'utf8').replace('"ok":true', '"ok":fals'));
      const f3 = path.join(dir, 'runs/00000003.json');
      fs.writeFileSync(f3, fs.readFileSync(f3, 'utf8').slice(0, 40));
      expect((await readHistory(dir)).runs.map((r) => r.id)).toEqual([1]);
      expect(said.join('')).toContain(`${f2} failed its checksum (edited or damaged on disk); run #2 is left out of the history`);
      expect(said.join('')).toContain(`${f3} could not be read`);
      expect(await recordRun(dir, record('p'), {})).toBe(4); // the next run is recorded as usual
    } finally {
      process.stderr.write = stderr;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
