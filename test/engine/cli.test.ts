/**
 * The CLI contract through the compiled binary: exit codes (0 ok, 1 a step failed, 2 invalid
 * pipeline or usage), `run --json`, `status`, `why`, `dag`, `show`, `log`, `gc`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BASE_YAML, baseRig as base, cli, makeRig, NUMS, type Rig } from './rig.js';

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
    const dj = await cli(['dag', '--format', 'json', '--set', 'plus.k=2'], rig.dir);
    expect(dj.code, dj.stderr).toBe(0);
    const dag = JSON.parse(dj.stdout) as { pipeline: string; nodes: { id: string; kind: string; state: string; inputs: Record<string, unknown>; publish: string | null }[]; edges: { from: string; to: string }[] };
    expect(dag.pipeline).toBe('toy');
    const dn = Object.fromEntries(dag.nodes.map((n) => [n.id, n]));
    expect(Object.keys(dn).sort()).toEqual(['plus', 'r', 'rep', 'side', 'src', 'total']);
    expect(dn.plus).toMatchObject({ kind: 'add', state: 'stale', publish: null });
    expect(dn.r!.state).toBe('pending');
    expect(dn.side!.state).toBe('cached');
    expect(dn.rep!.publish).toBe('results/rep');
    expect(dn.total!.inputs).toEqual({ in: [{ node: 'plus', output: 'table' }, { node: 'r', output: 'table' }] });
    expect(dag.edges.filter((e) => e.to === 'total').map((e) => e.from).sort()).toEqual(['plus', 'r']);
    expect(dag.edges).toHaveLength(6); // src→plus, plus→r, plus→total, r→total, src→side, total→rep
    expect((await cli(['dag', '--format', 'svg'], rig.dir)).stderr).toContain('--format must be text, mermaid, dot or json');
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
    // a JSON artifact that is not a model, with the toy registry (no present hook): JSON, and --csv is refused
    const jcsv = await cli(['show', 'total.value', '--csv'], rig.dir);
    expect(jcsv.code).toBe(2);
    expect(jcsv.stderr).toContain('total.value is JSON (not a model)');
    // log N: run N's nodes
    const one = await cli(['log', '1'], rig.dir);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^run #1\s.*ok\s+6 ran, 0 cached, 0 failed, 0 skipped in/);
    expect(one.stdout).toMatch(/^node\s+kind\s+status\s+time\s+reason$/m);
    for (const [id, kind] of [['src', 'source'], ['plus', 'add'], ['rep', 'report']]) expect(one.stdout).toMatch(new RegExp(`^${id}\\s+${kind}\\s+ran\\s+\\d+ ms\\s+never run$`, 'm'));
    const two = await cli(['log', '#2', '--json'], rig.dir);
    const rec = JSON.parse(two.stdout) as { id: number; nodes: { id: string; status: string; ms: number; reason: string }[] };
    expect(rec.id).toBe(2);
    expect(rec.nodes.map((n) => n.status)).toEqual(Array(6).fill('cached'));
    for (const [cmd, text] of [['show', 'tidy coefficient table'], ['log', "run N's nodes"], ['dag', '--format json'], ['run', 'rate and ETA']]) {
      const h = await cli([cmd!, '--help'], rig.dir);
      expect(h.code).toBe(0);
      expect(h.stdout).toContain(text);
    }
    const none = await cli(['log', '99'], rig.dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no run #99 recorded \(runs #1–#\d+; `repro log` lists them\)/);
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
    // log N of a failed run: the node's error in its own column
    const lf = await cli(['log', '1', 'pipeline.yaml'], dir);
    expect(lf.code, lf.stderr).toBe(0);
    expect(lf.stdout).toMatch(/^run #1\s.*failed\s+0 ran, 0 cached, 1 failed/);
    expect(lf.stdout).toMatch(/^node\s+kind\s+status\s+time\s+reason\s+error$/m);
    expect(lf.stdout).toMatch(/^a\s+fail\s+failed\s+\d+ ms\s+toy failure: set fail: false to fix$/m);
  });
});

describe('CLI contract', () => {
  // a fresh rig per test (shadows the shared one above)
  let rig: Rig | undefined;
  afterEach(() => {
    rig?.cleanup();
    rig = undefined;
  });

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
