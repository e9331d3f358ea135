import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import def, { describeColumn } from '../../steps/describe.js';
import { quantile7 } from '../../stats/quantile.js';
import { fromRows, toRows } from '../../engine/table.js';
import type { Artifact } from '../../engine/types.js';
import { renderCtx, tableArtifact, text, ROOT } from './render-ctx.js';
import { needsSharedData, sharedData } from '../shared-data.js';

// R: test/golden/describe-mpdta.R (base R mean, sd, quantile type 7) on ../shared/data/mpdta/mpdta.csv
const golden = JSON.parse(readFileSync(path.join(ROOT, 'test', 'golden', 'describe-mpdta.json'), 'utf8'));
const mpdta = needsSharedData('mpdta/mpdta.csv');
const rows = mpdta.present
  ? (parse(readFileSync(sharedData('mpdta/mpdta.csv'), 'utf8'), {
      columns: true,
      cast: (v: string) => (v === '' || v === 'NA' ? null : Number.isNaN(Number(v)) ? v : Number(v)),
    }) as Record<string, unknown>[])
  : [];
const panel: Artifact = { type: 'table', table: fromRows(rows) };
const run = (params: Record<string, unknown>, input: Artifact = panel) => def.run(renderCtx('table2'), { panel: input }, def.params.parse(params));

describe('describe statistics', () => {
  mpdta.it('matches R (mean, sd n−1, min, quartiles type 7, max) on mpdta with a where filter', async () => {
    const out = await run({
      vars: { lemp: 'log employment', lpop: 'log population', treat: 'treated', 'first.treat': 'first treated' },
      stats: ['n', 'mean', 'sd', 'min', 'p25', 'median', 'p75', 'max'],
      where: { year: { le: 2005 } },
    });
    const t = (out.table as { type: 'table'; table: any }).table;
    expect(t.names).toEqual(['variable', 'label', 'n', 'mean', 'sd', 'min', 'p25', 'median', 'p75', 'max']);
    for (const r of toRows(t)) {
      const g = golden[r.variable as string];
      expect(r.n).toBe(g.n);
      for (const s of ['mean', 'sd', 'min', 'p25', 'median', 'p75', 'max']) expect(r[s] as number).toBeCloseTo(g[s], 10);
    }
  });
  it('skips missing values and reports them', () => {
    const s = describeColumn(Float64Array.from([4, NaN, 1, 3]));
    expect(s.n).toBe(3);
    expect(s.missing).toBe(1);
    expect(s.mean).toBeCloseTo(8 / 3, 14);
    expect(s.sd).toBeCloseTo(1.5275252316519468, 14); // R: sd(c(1, 3, 4))
    expect([s.p25, s.median, s.p75]).toEqual([2, 3, 3.5]); // R: quantile(c(1, 3, 4), c(.25, .5, .75))
    expect(Number.isNaN(describeColumn(Float64Array.from([NaN])).mean)).toBe(true);
    expect(quantile7([], 0.5)).toBeNaN();
  });
});

describe('describe step output', () => {
  mpdta.it('renders every format with labels and the paper headers, two decimals by default', async () => {
    const out = await run({ vars: { lemp: 'LEMP', treat: 'DID' }, title: 'Table 2: Descriptive statistics' });
    expect(Object.keys(out).sort()).toEqual(['csv', 'docx', 'html', 'md', 'notes', 'table', 'tex', 'xlsx']);
    const csv = text(out.csv).split('\r\n');
    expect(csv[0]).toBe('Variable,Observations,Mean,Std. Dev.,Min,Median,Max');
    expect(csv[2]).toBe('DID,2500,0.38,0.49,0.00,0.00,1.00'); // R: mean(d$treat) = 0.382, sd = 0.486
    expect(text(out.tex)).toContain(`\\begin{tabular}{l${'D{.}{.}{-1}'.repeat(6)}}`);
    expect(text(out.tex)).toContain('DID & \\multicolumn{1}{c}{$2500$} & 0.38 & 0.49 & 0.00 & 0.00 & 1.00 \\\\');
    expect(text(out.notes)).toBe('Table 2: Descriptive statistics\n\nN = 2500 rows; Std. Dev. with divisor n−1; quantiles by linear interpolation (type 7).\n');
    expect(text(out.html)).toContain('<caption>Table 2: Descriptive statistics</caption>');
    expect(text(out.md)).toContain('| LEMP | 2500 |');
  });
  mpdta.it('compares with the paper\'s Table 2 when asked', async () => {
    const out = await run({ vars: { lemp: 'LEMP', treat: 'DID' }, paper: { table: 'table2' }, where: { year: { le: 2005 } } });
    const cmp = (out.comparison as { value: any }).value;
    expect(cmp.kind).toBe('describe');
    expect(cmp.rows.map((r: any) => r.term)).toEqual(['so2', 'did', 'pgdp', 'indus', 'urb', 'fin', 'fis']);
    // the panel has no column named did: nothing to compare; so2 likewise
    expect(cmp.rows[1].values.n).toEqual({ paper: 5364, run: null, diff: null });
    const md = text(out.comparison_md);
    expect(md).toContain('| DID | 5364 | — |');
    expect(md).toContain('— : a variable of the paper that this run does not describe.');
    // variables are matched by column name: the fixture panel has so2, did and pgdp
    const small = await def.run(renderCtx('t2'), { panel: tableArtifact('panel.json') }, def.params.parse({ vars: ['so2', 'did', 'pgdp'], paper: { table: 'table2' } }));
    const rows = (small.comparison as { value: any }).value.rows;
    expect(rows[0].values.n).toEqual({ paper: 5001, run: 5, diff: -4996 });
    expect(rows[1].values.max).toEqual({ paper: 1, run: 1, diff: 0 });
    expect(rows[2].values.median.run).toBeCloseTo(3.2, 12); // pgdp 2.1, 2.4, 3.2, 3.5, 8.9
    expect(rows[3].run_label).toBeNull(); // indus not described
    await expect(run({ vars: ['lemp'], paper: { table: 'table3' } })).rejects.toThrow(/is a regression table; describe compares with a describe table/);
  });
  mpdta.it('names the bad column or param', async () => {
    await expect(run({ vars: ['nope'] })).rejects.toThrow(/param vars names column "nope"/);
    const withText: Artifact = { type: 'table', table: fromRows([{ a: 'x' }, { a: 'y' }]) };
    await expect(run({ vars: ['a'] }, withText)).rejects.toThrow(/column "a" is text/);
    await expect(run({ vars: ['lemp'], where: { nope: 1 } })).rejects.toThrow(/filter column "nope" does not exist/);
    expect(() => def.params.parse({ vars: ['a'], stats: ['kurtosis'] })).toThrow();
  });
});
