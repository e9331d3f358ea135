/**
 * `repro show` with the study's registry (steps/index.ts): a model prints as its tidy coefficient
 * table through the registry's `present` hook (engine/registry.ts), `--csv` as tidy CSV, `--json`
 * as the raw model JSON; `show table3` prints tabulate's first declared output, the Markdown table;
 * tables are aligned by display width (CJK city names count two columns). Also: `match` reports
 * progress from its worker thread, and `run --json` draws no progress bar.
 *
 * A tiny made-up panel (8 cities × 6 years, generated below) in a temp folder under .repro-tmp/;
 * expected numbers come from the model JSON of the same run, not from constants.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { displayWidth } from '../../engine/text.js';
import { runPipeline, type RunEvent } from '../../engine/executor.js';
import { cli, ROOT } from './rig.js';

const NAMES = ['北京', '上海', '广州', '深圳', "Xi'an", '杭州', '成都', 'Wuhan'];
const YAML = `name: cli-show
steps:
  panel:
    kind: ingest
    with: {path: data/panel.csv}
  m:
    kind: estimate
    in: panel
    with: {y: so2, treat: did, fe: [city_code, year], cluster: city_code}
  table3:
    kind: tabulate
    in: [m]
    with: {title: "Table 3: test", columns: ["(1)"]}
  psm:
    kind: match
    in: panel
    with: {treat: did, covariates: [so2], replace: true}
`;

let dir: string;
/** The study's registry: REPRO_REGISTRY empty falls back to steps/index.ts. */
const real = (args: string[]) => cli(args, dir, { REPRO_REGISTRY: '' });

beforeAll(async () => {
  dir = path.join(ROOT, '.repro-tmp', `show-${process.pid}-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  const rows = ['city_code,city,year,did,so2'];
  for (let i = 0; i < 8; i++)
    for (let y = 2010; y < 2016; y++) {
      const did = i < 4 && y >= 2012 + (i % 3) ? 1 : 0;
      rows.push([i + 1, NAMES[i], y, did, (10 + i * 0.7 + (y - 2010) * 0.3 - 1.5 * did + Math.sin(i * 7 + y) * 0.4).toFixed(4)].join(','));
    }
  fs.writeFileSync(path.join(dir, 'data/panel.csv'), `${rows.join('\n')}\n`);
  fs.writeFileSync(path.join(dir, 'pipeline.yaml'), YAML);
  const r = await real(['run', '--json']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).not.toMatch(/ETA|█/); // --json: no progress bars
}, 180_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Coef { term: string; estimate: number; se: number; t: number; p: number; ci_low: number; ci_high: number }

describe('repro show with the study registry', () => {
  it('show MODEL prints the tidy table aligned, --csv the tidy CSV, --json the model JSON', async () => {
    const js = await real(['show', 'm', '--json']);
    expect(js.code, js.stderr).toBe(0);
    const model = JSON.parse(js.stdout) as { coefficients: Coef[]; n: number; r2: number; clusters: number };
    expect(model.coefficients.map((c) => c.term)).toEqual(['did', '_cons']);

    const txt = await real(['show', 'm']);
    expect(txt.code, txt.stderr).toBe(0);
    const lines = txt.stdout.split('\n');
    expect(lines[0]!.split(/\s+/)).toEqual(['term', 'estimate', 'std_error', 'statistic', 'p_value', 'conf_low', 'conf_high']);
    // right-aligned numeric columns: header and rows end at the same column
    const body = lines.slice(0, 4);
    expect(new Set(body.map(displayWidth)).size).toBe(1);
    const did = lines.find((l) => l.startsWith('did '))!.trim().split(/\s+/);
    const c = model.coefficients[0]!;
    expect(Number(did[1])).toBeCloseTo(c.estimate, 3);
    expect(Number(did[2])).toBeCloseTo(c.se, 3);
    expect(txt.stdout).toMatch(new RegExp(`^nobs\\s+${model.n}$`, 'm'));
    expect(txt.stdout).toMatch(new RegExp(`^clusters\\s+${model.clusters}$`, 'm'));
    expect(txt.stdout).toMatch(/^vcov\s+cluster: city_code$/m);
    expect(txt.stdout).toMatch(/^r2_within\s+\S+$/m);

    const csv = await real(['show', 'm', '--csv']);
    expect(csv.code, csv.stderr).toBe(0);
    const rec = csv.stdout.trim().split(/\r?\n/).map((l) => l.split(','));
    expect(rec[0]).toEqual(['term', 'estimate', 'std_error', 'statistic', 'p_value', 'conf_low', 'conf_high', 'nobs', 'r2', 'r2_within', 'vcov', 'clusters']);
    expect(rec).toHaveLength(3);
    for (const [i, co] of model.coefficients.entries()) {
      const r = rec[i + 1]!;
      expect(r[0]).toBe(co.term);
      expect([r[1], r[2], r[3], r[4], r[5], r[6]].map(Number)).toEqual([co.estimate, co.se, co.t, co.p, co.ci_low, co.ci_high]);
      expect(Number(r[7])).toBe(model.n);
      expect(Number(r[8])).toBe(model.r2);
    }
  });

  it('show table3 prints the Markdown table (the first declared output), not HTML', async () => {
    const t = await real(['show', 'table3']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^\*\*Table 3: test\*\*/);
    expect(t.stdout).toMatch(/^\| did \| -?\d/m);
    expect(t.stdout).not.toMatch(/<table|<html/i);
    const html = await real(['show', 'table3.html']);
    expect(html.stdout).toMatch(/<table/);
  });

  it('show of a table aligns CJK columns by display width', async () => {
    const t = await real(['show', 'panel', '--rows', '48']);
    expect(t.code, t.stderr).toBe(0);
    const lines = t.stdout.split('\n').filter((l) => /^\s*\d+\s/.test(l) || l.startsWith('city_code'));
    expect(lines).toHaveLength(49);
    expect(lines.some((l) => l.includes('北京'))).toBe(true);
    expect(lines.some((l) => l.includes('Wuhan'))).toBe(true);
    // every line ends at the same display column (so2 is right-aligned), though the JS lengths differ
    expect(new Set(lines.map(displayWidth)).size).toBe(1);
    expect(new Set(lines.map((l) => l.length)).size).toBeGreaterThan(1);
    // and the year column starts at the same display column on every row
    const yearAt = lines.slice(1).map((l) => displayWidth(l.slice(0, l.search(/20\d\d/))));
    expect(new Set(yearAt).size).toBe(1);
  });

  it('match reports progress from its worker thread (propensity score, then matching)', async () => {
    const events: Extract<RunEvent, { type: 'progress' }>[] = [];
    let inWorker: boolean | undefined;
    const r = await runPipeline({
      file: path.join(dir, 'pipeline.yaml'),
      targets: ['psm'],
      force: ['psm'],
      onEvent: (e) => {
        if (e.type === 'progress') events.push(e);
        if (e.type === 'running' && e.id === 'psm') inWorker = !!e.worker;
      },
    });
    expect(r.ok).toBe(true);
    expect(inWorker).toBe(true); // compiled by the build before the tests: progress crosses the thread boundary
    const psm = events.filter((e) => e.id === 'psm');
    expect(psm.some((e) => e.label === 'propensity score')).toBe(true);
    const matching = psm.filter((e) => e.label === 'matching');
    expect(matching.length).toBeGreaterThan(0);
    const last = matching[matching.length - 1]!;
    expect(last.done).toBe(last.total);
    expect(last.total).toBeGreaterThan(0);
  });
});
