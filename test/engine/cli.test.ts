/**
 * The CLI contract through the compiled binary: exit codes (0 ok, 1 a step failed, 2 invalid
 * pipeline or usage), `run --json`, `status`, `why`, `dag`, `show`, `log`, `gc`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_YAML, cli, makeRig, NUMS, type Rig } from './rig.js';

let rig: Rig;
beforeAll(async () => {
  rig = await makeRig();
  rig.write('data/nums.txt', NUMS);
  rig.setYaml(BASE_YAML);
});
afterAll(() => rig.cleanup());

describe('repro CLI', () => {
  it('run --json prints one JSON object with the contract fields; exit 0', async () => {
    const r = await cli(['run', '--json'], rig.dir);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.ok).toBe(true);
    expect(j.nodes.map((n: { id: string }) => n.id).sort()).toEqual(['plus', 'r', 'rep', 'side', 'src', 'total']);
    for (const n of j.nodes) {
      expect(Object.keys(n).slice(0, 6)).toEqual(['id', 'kind', 'status', 'key', 'ms', 'reason']);
      expect(n.status).toBe('ran');
      expect(n.key).toMatch(/^[0-9a-f]{64}$/);
      expect(n.reason).toBe('never run');
    }
    const text = await cli(['run'], rig.dir);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/· cached\s+plus\s+add\s+\d+ ms\s+up to date/);
    expect(text.stdout).toMatch(/toy: 0 ran, 6 cached, 0 failed, 0 skipped in/);
  });

  it('status and why explain a param change part by part; dag colours by state', async () => {
    const st0 = await cli(['status'], rig.dir);
    expect(st0.stdout).toMatch(/toy: up to date \(6 nodes cached\)/);
    const st = await cli(['status', '--set', 'plus.k=2', '--json'], rig.dir);
    const j = JSON.parse(st.stdout);
    const by = Object.fromEntries(j.nodes.map((n: { id: string; state: string; reason: string }) => [n.id, n]));
    expect(by.plus.state).toBe('stale');
    expect(by.plus.reason).toBe('params.k changed');
    expect(by.r.state).toBe('pending');
    expect(by.side.state).toBe('cached');
    const why = await cli(['why', 'plus', '--set', 'plus.k=2'], rig.dir);
    expect(why.code).toBe(0);
    expect(why.stdout).toContain('plus (add) will run: params.k changed');
    expect(why.stdout).toContain('params.k: 1 → 2');
    const why2 = await cli(['why', 'r', '--set', 'plus.k=2'], rig.dir);
    expect(why2.stdout).toContain('waits for plus');
    const dot = await cli(['dag', '--format', 'dot', '--set', 'plus.k=2'], rig.dir);
    expect(dot.stdout).toMatch(/^digraph pipeline \{/);
    expect(dot.stdout).toMatch(/label="plus\\nadd", fillcolor="#ffe0b2"/);
    const mer = await cli(['dag', '--format', 'mermaid'], rig.dir);
    expect(mer.stdout).toContain('graph TD');
    expect(mer.stdout).toContain(':::cached');
    const txt = await cli(['dag'], rig.dir);
    expect(txt.stdout).toMatch(/cached\s+total \(sum\)\s+in←\[plus, r\]/);
  });

  it('show prints artifacts; log lists runs', async () => {
    const csv = await cli(['show', 'plus', '--csv'], rig.dir);
    expect(csv.stdout, csv.stderr).toBe('x\n2.2\n3.5\n4.7\n');
    const js = await cli(['show', 'total.value'], rig.dir);
    expect(JSON.parse(js.stdout)).toEqual({ label: 'sum', n: 6, sum: 2.2 + 3.5 + 4.7 + 2 + 4 + 5 });
    const md = await cli(['show', 'rep.md'], rig.dir);
    expect(md.stdout).toContain('# Report');
    const bad = await cli(['show', 'rep.nope'], rig.dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('outputs: md, summary');
    const log = await cli(['log', '--limit', '1', '--json'], rig.dir);
    const runs = JSON.parse(log.stdout);
    expect(runs.length).toBe(1);
    expect(runs[0].counts).toEqual({ ran: 0, cached: 6, failed: 0, skipped: 0 });
    const logText = await cli(['log'], rig.dir);
    expect(logText.stdout).toMatch(/#2\s.*ok\s+0 ran, 6 cached/);
  });

  it('gc deletes what neither the pipeline nor recent runs need, and says how much it freed', async () => {
    const r = await cli(['run', '--set', 'side.k=-5'], rig.dir);
    expect(r.code, r.stderr).toBe(0);
    expect((await cli(['run'], rig.dir)).code).toBe(0); // back to the pipeline as written
    const dry = await cli(['gc', '--dry-run', '--keep-runs', '0', '--json'], rig.dir);
    const d = JSON.parse(dry.stdout);
    expect(d.objectsRemoved, dry.stdout + dry.stderr).toBe(1);
    // the pipeline as written (k: 100) is cached; the side.k=-5 output is only in older runs: keep-runs 0 drops it
    expect(d.objectsRemoved).toBe(1);
    expect(d.bytesFreed).toBeGreaterThan(0);
    expect(d.dryRun).toBe(true);
    const kept = JSON.parse((await cli(['gc', '--json'], rig.dir)).stdout);
    expect(kept.objectsRemoved).toBe(0); // the last 5 runs are kept by default
    const real = await cli(['gc', '--keep-runs', '0'], rig.dir);
    expect(real.stdout).toMatch(/^gc: removed 1 objects and 1 cache entries, freed [\d.]+ (B|KiB)/);
    const after = JSON.parse((await cli(['run', '--json'], rig.dir)).stdout);
    expect(after.nodes.every((n: { status: string }) => n.status === 'cached')).toBe(true);
  });

  it('exit 2 for an invalid pipeline (positioned error, nothing runs) or bad usage; exit 1 when a step fails', async () => {
    const dir = path.join(rig.dir, 'bad');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'pipeline.yaml'), 'name: x\nseed: 1\nsteps:\n  a:\n    kind: nosuchkind\n');
    const r = await cli(['run'], dir);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/pipeline\.yaml:5:\d+/);
    expect(fs.existsSync(path.join(dir, 'artifacts/history.json'))).toBe(false);
    expect((await cli(['run', '--jobs', '0'], rig.dir)).code).toBe(2);
    expect((await cli(['run', '--bogus'], rig.dir)).code).toBe(2);
    expect((await cli(['frobnicate'], rig.dir)).code).toBe(2);
    expect((await cli(['run', '--target', 'nope'], rig.dir)).stderr).toContain('--target nope: no such node');
    fs.writeFileSync(path.join(dir, 'pipeline.yaml'), 'name: x\nseed: 1\nsteps:\n  a:\n    kind: fail\n');
    const f = await cli(['run', '--json'], dir);
    expect(f.code).toBe(1);
    const j = JSON.parse(f.stdout);
    expect(j.ok).toBe(false);
    expect(j.nodes[0]).toMatchObject({ id: 'a', kind: 'fail', status: 'failed', error: 'toy failure: set fail: false to fix' });
    const t = await cli(['run'], dir);
    expect(t.stderr).toContain('a (fail) failed: toy failure: set fail: false to fix');
  });
});
