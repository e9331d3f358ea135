/**
 * Issue 14 parts 3 and 4 end to end, through the compiled CLI with the study's registry
 * (steps/index.ts: its `diff` hook compares models per term):
 * - a one-cell data fix → `why` names the cell (before the data is read again: by re-reading the
 *   file with ingest's own step in memory; after ingest reran: from the two stored tables);
 * - `diff` between the runs before and after the fix → Δ of the affected model only, the
 *   unaffected node (a sample that excludes the fixed year) shows no change;
 * - `--fail-if` exit codes, `--json`, `--html`;
 * - variants resolved through the run record's optional `variant` field (a `run --variant` run);
 * - bad input (unknown run number, variant, node; bad expression or field) → exit 2, clear message.
 *
 * A tiny made-up panel (8 cities × 6 years) in a temp folder; expected numbers come from the
 * model JSON of the runs (`show --json`), not from constants.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ROOT } from './rig.js';

const YAML = `name: diff-why
steps:
  ingest:
    kind: ingest
    with: {path: data/panel.csv, key: [city_code, year]}
  m:
    kind: estimate
    in: ingest
    with: {y: so2, treat: did, controls: [x], fe: [city_code, year], cluster: city_code}
  early:                  # excludes 2014, the year of the fixed cell: must not change
    extends: m
    with: {where: {year: {le: 2012}}}
`;

let dir: string;
const real = (args: string[]) => cli(args, dir, { REPRO_REGISTRY: '' });
interface Coef { term: string; estimate: number; se: number; p: number }
interface Model { coefficients: Coef[]; n: number; r2: number }
const model = async (id: string): Promise<Model> => {
  const r = await real(['show', id, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Model;
};
let before: Model;
let earlyBefore: Model;
let oldCell: string;

beforeAll(async () => {
  dir = path.join(ROOT, '.repro-tmp', `diffwhy-${process.pid}-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  const rows = ['city_code,year,did,so2,x'];
  for (let i = 0; i < 8; i++)
    for (let y = 2010; y < 2016; y++) {
      const did = i < 4 && y >= 2012 + (i % 3) ? 1 : 0;
      rows.push([330100 + i * 100, y, did, (10 + i * 0.7 + (y - 2010) * 0.3 - 1.5 * did + Math.sin(i * 7 + y) * 0.4).toFixed(4), Math.cos(i + y).toFixed(3)].join(','));
    }
  fs.writeFileSync(path.join(dir, 'data/panel.csv'), `${rows.join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'pipeline.yaml'), YAML);
  const r = await real(['run', '--json']);
  expect(r.code, r.stderr).toBe(0); // run #1
  before = await model('m');
  earlyBefore = await model('early');
  // the data fix: one cell, so2 of city 330300 in 2014
  const csv = fs.readFileSync(path.join(dir, 'data/panel.csv'), 'utf8').split('\n');
  const at = csv.findIndex((l) => l.startsWith('330300,2014,'));
  const cells = csv[at]!.split(',');
  oldCell = cells[3]!;
  cells[3] = '13.1';
  csv[at] = cells.join(',');
  fs.writeFileSync(path.join(dir, 'data/panel.csv'), csv.join('\n'));
}, 180_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cellLine = () => `city_code=330300, year=2014: so2 ${Number(oldCell)} → 13.1`;

describe('why: a one-cell data fix', () => {
  it('before ingest reran: why ingest and why m name the cell (the file read again in memory, nothing stored)', async () => {
    const objects = () => fs.readdirSync(path.join(dir, 'artifacts/objects')).flatMap((d) => fs.readdirSync(path.join(dir, 'artifacts/objects', d))).length;
    const n0 = objects();
    const w = await real(['why', 'ingest']);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toContain('file data/panel.csv changed');
    expect(w.stdout).toContain('1 row changed, 0 added, 0 removed (48 rows; keyed by city_code, year)');
    expect(w.stdout).toContain(cellLine());
    expect(w.stdout).toContain('changed cells per column: so2 1');
    expect(objects()).toBe(n0); // nothing stored
    const m = await real(['why', 'm']);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/upstream ingest \(ingest\) runs first/);
    expect(m.stdout).toContain(cellLine());
    const js = JSON.parse((await real(['why', 'm', '--json'])).stdout) as { upstream: { node: string; changes: { kind: string; detail?: { via: string; table?: { cells: unknown[]; perColumn: Record<string, number> } }[] }[] }[] };
    const det = js.upstream[0]!.changes[0]!.detail![0]!;
    expect(js.upstream[0]!.node).toBe('ingest');
    expect(det.via).toBe('reread');
    expect(det.table!.cells).toEqual([{ key: { city_code: 330300, year: 2014 }, column: 'so2', a: Number(oldCell), b: 13.1 }]);
    expect(det.table!.perColumn).toEqual({ so2: 1 });
    const no = await real(['why', 'ingest', '--no-reread']);
    expect(no.stdout).not.toContain(cellLine());
  }, 60_000);

  it('after ingest reran: why m names the cell from the two stored tables', async () => {
    const r = await real(['run', '--target', 'ingest']); // run #2
    expect(r.code, r.stderr).toBe(0);
    const w = await real(['why', 'm']);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toContain('input panel (ingest.table) changed');
    expect(w.stdout).toContain(cellLine());
    expect(w.stdout).not.toContain('read again');
  }, 60_000);
});

describe('repro diff after the fix', () => {
  let after: Model;
  beforeAll(async () => {
    const r = await real(['run']); // run #3: m reruns, early reruns and comes out byte-identical
    expect(r.code, r.stderr).toBe(0);
    after = await model('m');
  }, 60_000);

  it('Δ of the affected coefficients only; the unaffected node shows no change', async () => {
    expect(await model('early')).toEqual(earlyBefore);
    const r = await real(['diff', '1', 'latest', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as { a: { run: number }; b: { run: number }; nodes: { id: string; status: string; outputs: { rows: Record<string, number | string | null>[] }[] }[]; rows: Record<string, number | string | null>[] };
    expect([d.a.run, d.b.run]).toEqual([1, 3]);
    const st = Object.fromEntries(d.nodes.map((n) => [n.id, n.status]));
    expect(st).toEqual({ ingest: 'changed', m: 'changed', early: 'same' });
    expect(d.rows.filter((x) => x.node === 'early')).toEqual([]);
    for (const c of after.coefficients) {
      const a = before.coefficients.find((x) => x.term === c.term)!;
      const row = d.rows.find((x) => x.node === 'm' && x.what === 'coef' && x.item === c.term)!;
      expect([row.a, row.b, row.se_a, row.se_b]).toEqual([a.estimate, c.estimate, a.se, c.se]);
      expect(row.delta).toBeCloseTo(c.estimate - a.estimate, 14);
      expect(row.delta_se).toBeCloseTo((c.estimate - a.estimate) / a.se, 12);
      expect(row.sig_a).toBe(a.p < 0.05 ? 1 : 0);
    }
    const cell = d.rows.find((x) => x.node === 'ingest')!;
    expect([cell.what, cell.item, cell.column, cell.a, cell.b]).toEqual(['cell', 'city_code=330300, year=2014', 'so2', Number(oldCell), 13.1]);
    const txt = await real(['diff', '1', 'latest']);
    expect(txt.code, txt.stderr).toBe(0);
    expect(txt.stdout).toContain('= unchanged (1): early');
    expect(txt.stdout).toContain(cellLine());
    expect(txt.stdout).toMatch(/^\s+did\s+/m);
    // only the named node
    const one = JSON.parse((await real(['diff', '1', '3', 'm', '--json'])).stdout) as { nodes: { id: string }[] };
    expect(one.nodes.map((n) => n.id)).toEqual(['m']);
    // run 2 (--target ingest): m as of run 2 is its record of run 1, so only ingest differs from run 1
    const two = JSON.parse((await real(['diff', '1', '2', '--json'])).stdout) as { nodes: { id: string; status: string; from: { b: number } }[] };
    expect(two.nodes.find((n) => n.id === 'm')).toMatchObject({ status: 'same', from: { b: 1 } });
  }, 60_000);

  it('--fail-if: exit 1 when a row matches, 0 otherwise; --json reports the matches', async () => {
    const moved = Math.max(...after.coefficients.map((c) => Math.abs((c.estimate - before.coefficients.find((x) => x.term === c.term)!.estimate) / before.coefficients.find((x) => x.term === c.term)!.se)));
    expect(moved).toBeGreaterThan(0.1);
    const hit = await real(['diff', '1', 'latest', '--fail-if', 'abs(delta_se) > 0.1']);
    expect(hit.code).toBe(1);
    expect(hit.stderr).toMatch(/--fail-if abs\(delta_se\) > 0\.1: \d+ row\(s\) match, e\.g\. m\.model coef/);
    expect((await real(['diff', '1', 'latest', '--fail-if', `abs(delta_se) > ${moved * 2}`])).code).toBe(0);
    expect((await real(['diff', '1', 'latest', '--fail-if', "node == 'early'"])).code).toBe(0);
    expect((await real(['diff', '3', '3', '--fail-if', 'changed == 1'])).code).toBe(0);
    const js = await real(['diff', '1', 'latest', '--json', '--fail-if', "what == 'cell' and column == 'so2'"]);
    expect(js.code).toBe(1);
    const o = JSON.parse(js.stdout) as { fail_if: { matched: number; rows: { node: string }[] } };
    expect(o.fail_if.matched).toBe(1);
    expect(o.fail_if.rows[0]!.node).toBe('ingest');
  }, 60_000);

  it('--html writes a page with the changed cells highlighted', async () => {
    const out = path.join(dir, 'diff.html');
    const r = await real(['diff', '1', 'latest', '--html', out]);
    expect(r.code, r.stderr).toBe(0);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toMatch(/<td>did<\/td>.*<td class="chg">/);
    expect(html).toContain(`<td class="chg">${Number(oldCell)} → 13.1</td>`);
    expect(html).toContain('Unchanged (1): early');
  }, 60_000);

  it('variants: the newest run recorded with variant NAME; `latest` skips variant runs', async () => {
    // a real variant run (the history is checksummed: a hand-edited record would be set aside)
    const v = await real(['run', '--variant', 'prov']);
    expect(v.code, v.stderr).toBe(0);
    const vid = Math.max(...(JSON.parse((await real(['log', '--json'])).stdout) as { id: number }[]).map((r) => r.id));
    const d = JSON.parse((await real(['diff', '1', 'prov', '--json'])).stdout) as { b: { run: number; variant: string }; nodes: { id: string; status: string }[] };
    expect(d.b).toMatchObject({ run: vid, variant: 'prov' });
    expect(d.nodes.find((n) => n.id === 'm')!.status).toBe('changed');
    const l = JSON.parse((await real(['diff', 'latest', 'prov', '--json'])).stdout) as { a: { run: number }; nodes: { status: string }[] };
    expect(l.a.run).toBe(3); // not the newer variant run
    expect(l.nodes.every((n) => n.status === 'same')).toBe(true);
    const bad = await real(['diff', '1', 'nosuch']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('(variants: prov)');
  }, 60_000);

  it('bad input: unknown run number, variant, node; bad expression or field → exit 2 with a clear message', async () => {
    const cases: [string[], RegExp][] = [
      [['diff', '99', 'latest'], /no run #99 recorded \(runs of diff-why: #1–#\d+; `repro log` lists them\)/],
      [['diff', '1', 'nosuch'], /"nosuch" is not a run number, `latest` or a recorded variant/],
      [['diff', '1', 'latest', 'mm'], /repro diff: mm: no such node \(did you mean m\?\)/],
      [['diff', '1', 'latest', '--fail-if', 'abs(delta_se) >'], /--fail-if: expected a number, column, function or "\(", but the expression ended at position 16/],
      [['diff', '1', 'latest', '--fail-if', 'abs(delta_sd) > 1'], /--fail-if: unknown field "delta_sd" at position 5[\s\S]*fields: node, output, what/],
      [['diff', '1', 'latest', '--fail-if', "delta + 'x' > 1"], /--fail-if: operator "\+" needs numbers; text can only be compared with == or != at position 7/],
      [['diff', '1'], /which runs\? usage: repro diff A B/],
    ];
    for (const [args, re] of cases) {
      const r = await real(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stdout).toBe('');
    }
    const js = await real(['diff', '1', '99', '--json']);
    expect(js.code).toBe(2);
    expect(JSON.parse(js.stdout)).toMatchObject({ ok: false, error: { exit: 2, type: 'usage' } });
  }, 120_000);
});
