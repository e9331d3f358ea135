/**
 * The `spec-curve` step: every specification equals the `estimate` step run on it (estimate, SE,
 * p, CI, N), the grid, base and highlight bookkeeping, the summary recomputed from the table, the
 * same output whatever the chunking, R fixest goldens (test/golden/spec-curve/make.R), and the bad
 * inputs of issue 14 with their messages.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import specCurve from '../../steps/spec-curve.js';
import estimate from '../../steps/estimate.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { numCol, strCol, type Table } from '../../engine/table.js';
import { demoPanel } from './staggered-data.js';
import { makeCtx } from './ctx.js';
import { relClose } from './stats-helpers.js';

const BASE = { y: 'so2', treat: 'did', controls: ['pgdp', 'indus', 'urb', 'fin', 'fis'], fe: ['city_code', 'year'], cluster: 'city_code' };
const CHOICES = {
  y: ['so2', 'so2_int'],
  controls: [[], ['pgdp', 'indus'], ['pgdp', 'indus', 'urb', 'fin', 'fis']],
  fe: [['city_code', 'year'], ['province', 'year']],
  cluster: ['city_code', 'province'],
  sample: { all: {}, no_municipalities: { exclude: { municipality: [1] } }, to_2019: { where: { year: { le: 2019 } } } },
};

async function runCurve(params: Record<string, unknown>, table?: Table) {
  const f = makeCtx({ nodeId: 'spec_curve', def: specCurve });
  const out = await specCurve.run(f.ctx, { panel: { type: 'table', table: table ?? (await demoPanel()) } }, specCurve.params.parse(params));
  return { specs: (out.specs as { table: Table }).table, summary: (out.summary as { value: any }).value, f };
}

async function estimateOf(params: Record<string, unknown>) {
  const { ctx } = makeCtx();
  const out = await estimate.run(ctx, { panel: { type: 'table', table: await demoPanel() } }, estimate.params.parse(params));
  return (out.model as { value: any }).value;
}

describe('spec-curve', () => {
  it('gives every specification the estimate, SE, p, CI and N of the estimate step', async () => {
    const { specs, summary } = await runCurve({ base: BASE, choices: CHOICES });
    expect(specs.nrows).toBe(2 * 3 * 2 * 2 * 3);
    expect(summary.specs).toBe(72);
    // groups: 3 samples × 2 FE sets × 3 complete-case patterns (the control sets have different
    // missing values; so2 and so2_int are missing in the same rows)
    expect(summary.groups).toBe(18);
    const rows = [0, 7, 20, 33, 46, 59, 71];
    for (const i of rows) {
      const y = strCol(specs, 'y')[i]!;
      const ctrl = strCol(specs, 'controls')[i]!;
      const fe = strCol(specs, 'fe')[i]!.split(' + ');
      const cluster = strCol(specs, 'cluster')[i]!;
      const sample = strCol(specs, 'sample')[i]!;
      const filt = (CHOICES.sample as Record<string, object>)[sample]!;
      const m = await estimateOf({ y, treat: 'did', controls: ctrl === 'none' ? [] : ctrl.split(', '), fe, cluster, ...filt });
      const c = m.coefficients[0];
      expect(c.term).toBe('did');
      for (const [col, v, tol] of [['estimate', c.estimate, 1e-12], ['se', c.se, 1e-10], ['p', c.p, 1e-8], ['ci_low', c.ci_low, 1e-10], ['ci_high', c.ci_high, 1e-10], ['n', m.n, 0]] as const)
        expect(relClose(numCol(specs, col)[i]!, v, tol), `spec ${i + 1} ${col}: ${numCol(specs, col)[i]} vs estimate ${v}`).toBe(true);
    }
  });
});

const golden = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test/golden/spec-curve/golden.json'), 'utf8')) as { specs: Record<string, any>[] };

describe('spec-curve vs R', () => {
  it('matches fixest::feols in a loop over the 72 specifications (test/golden/spec-curve/make.R)', async () => {
    const { specs } = await runCurve({ base: BASE, choices: CHOICES });
    const key = (r: Record<string, unknown>) => ['y', 'controls', 'fe', 'cluster', 'sample'].map((k) => r[k]).join(' | ');
    const ours = new Map<string, number>();
    for (let i = 0; i < specs.nrows; i++) ours.set(key(Object.fromEntries(['y', 'controls', 'fe', 'cluster', 'sample'].map((k) => [k, strCol(specs, k)[i]]))), i);
    expect(golden.specs.length).toBe(72);
    for (const g of golden.specs) {
      const i = ours.get(key(g));
      expect(i, key(g)).toBeDefined();
      expect(numCol(specs, 'n')[i!]).toBe(g.n);
      for (const [col, tol] of [['estimate', 1e-8], ['se', 1e-7], ['ci_low', 1e-7], ['ci_high', 1e-7]] as const)
        expect(relClose(numCol(specs, col)[i!]!, g[col], tol), `${key(g)} ${col}: ${numCol(specs, col)[i!]} vs R ${g[col]}`).toBe(true);
      expect(relClose(numCol(specs, 'p')[i!]!, g.p, 1e-5, 1e-14), `${key(g)} p`).toBe(true);
    }
  });
});

describe('spec-curve bookkeeping', () => {
  it('marks the base row, highlights it by default, and recomputes the summary from the table', async () => {
    const { specs, summary } = await runCurve({ base: BASE, choices: CHOICES });
    const base = numCol(specs, 'base');
    const rows = Array.from(base).flatMap((b, i) => (b ? [i] : []));
    expect(rows.length).toBe(1);
    const i = rows[0]!;
    expect([strCol(specs, 'y')[i], strCol(specs, 'controls')[i], strCol(specs, 'fe')[i], strCol(specs, 'cluster')[i], strCol(specs, 'sample')[i]]).toEqual(['so2', 'pgdp, indus, urb, fin, fis', 'city_code + year', 'city_code', 'all']);
    expect(Array.from(numCol(specs, 'highlight'))).toEqual(Array.from(base));
    expect(summary.base.in_grid).toBe(true);
    expect(summary.base.spec).toBe(i + 1);
    expect(summary.highlight).toEqual([i + 1]);
    const m = await estimateOf(BASE);
    expect(relClose(summary.base.estimate, m.coefficients[0].estimate, 1e-12)).toBe(true);
    const est = Array.from(numCol(specs, 'estimate'));
    const p = Array.from(numCol(specs, 'p'));
    const sign = Math.sign(summary.base.estimate);
    expect(summary.valid).toBe(72);
    expect(summary.share_same_sign).toBe(est.filter((b) => Math.sign(b) === sign).length / 72);
    expect(summary.share_significant).toBe(p.filter((q) => q < 0.05).length / 72);
    expect(summary.share_significant_same_sign).toBe(est.filter((b, j) => Math.sign(b) === sign && p[j]! < 0.05).length / 72);
    const sorted = [...est].sort((a, b) => a - b);
    expect(summary.median).toBeCloseTo((sorted[35]! + sorted[36]!) / 2, 14);
    expect(summary.range).toEqual([sorted[0], sorted[71]]);
    expect(summary.choices.sample).toEqual(['all', 'no_municipalities', 'to_2019']);
  });

  it('highlights by choice values', async () => {
    const { specs, summary } = await runCurve({ base: BASE, choices: CHOICES, highlight: { sample: 'to_2019', fe: ['province', 'year'] } });
    const hl = numCol(specs, 'highlight');
    for (let i = 0; i < specs.nrows; i++) expect(hl[i]).toBe(strCol(specs, 'sample')[i] === 'to_2019' && strCol(specs, 'fe')[i] === 'province + year' ? 1 : 0);
    expect(summary.highlight.length).toBe(72 / 3 / 2);
  });

  it('shares demeaning without changing a number: each row equals a one-specification curve bit for bit', async () => {
    const { specs } = await runCurve({ base: BASE, choices: CHOICES });
    for (const i of [3, 40, 65]) {
      const ctrl = strCol(specs, 'controls')[i]!;
      const sample = strCol(specs, 'sample')[i]!;
      const one = await runCurve({
        base: BASE,
        choices: { y: [strCol(specs, 'y')[i]], controls: [ctrl === 'none' ? [] : ctrl.split(', ')], fe: [strCol(specs, 'fe')[i]!.split(' + ')], cluster: [strCol(specs, 'cluster')[i]], sample: { [sample]: (CHOICES.sample as Record<string, object>)[sample] } },
      });
      expect(one.specs.nrows).toBe(1);
      for (const col of ['estimate', 'se', 'p', 'ci_low', 'ci_high', 'n']) expect(numCol(one.specs, col)[0]).toBe(numCol(specs, col)[i]);
    }
  });

  it('estimates the base for the summary when it is not in the grid, and warns', async () => {
    const { specs, summary, f } = await runCurve({ base: BASE, choices: { controls: [[], ['pgdp']], estimator: ['twfe'] } });
    expect(specs.nrows).toBe(2);
    expect(specs.names).toEqual(['spec', 'controls', 'estimator', 'estimate', 'se', 'ci_low', 'ci_high', 'p', 'n', 'base', 'highlight']);
    expect(Array.from(numCol(specs, 'base'))).toEqual([0, 0]);
    expect(summary.base.in_grid).toBe(false);
    expect(summary.base.spec).toBeNull();
    const m = await estimateOf(BASE);
    expect(relClose(summary.base.estimate, m.coefficients[0].estimate, 1e-12)).toBe(true);
    expect(relClose(summary.base.se, m.coefficients[0].se, 1e-10)).toBe(true);
    expect(f.warnings.join('\n')).toMatch(/base specification \(controls pgdp, indus, urb, fin, fis\) is not among the combinations/);
  });

  it('a specification whose treatment is absorbed gets no estimate, is named in a warning and left out of the summary', async () => {
    const { specs, summary, f } = await runCurve({ base: BASE, choices: { sample: { all: {}, before_pilots: { where: { year: { le: 2014 } } } } } });
    const est = numCol(specs, 'estimate');
    expect(Number.isNaN(est[1]!)).toBe(true);
    expect(Number.isNaN(est[0]!)).toBe(false);
    expect(summary.valid).toBe(1);
    expect(f.warnings.join('\n')).toMatch(/1 of 2 specification\(s\) have no estimate .*spec 2: treatment "did" is constant/);
  });

  it('reports progress over the specifications', async () => {
    const { f } = await runCurve({ base: BASE, choices: CHOICES });
    expect(f.progress[0]).toEqual([0, 72, 'specifications']);
    expect(f.progress.at(-1)).toEqual([72, 72, 'specifications']);
  });
});

describe('spec-curve: params that name columns wrongly (in-process; YAML positions: spec-curve.bad-input.test.ts)', () => {
  it('rejects an outcome equal to the treatment, a control listed twice or equal to an outcome, and a duplicate choice value', async () => {
    await expect(runCurve({ base: BASE, choices: { y: ['so2', 'did'] } })).rejects.toThrow(/outcome "did" is also the treatment/);
    await expect(runCurve({ base: BASE, choices: { controls: [['pgdp', 'pgdp']] } })).rejects.toThrow(/control "pgdp" is listed twice in one control set/);
    await expect(runCurve({ base: BASE, choices: { y: ['so2', 'so2_int'], controls: [['so2_int']] } })).rejects.toThrow(/control "so2_int" is also the treatment or an outcome/);
    await expect(runCurve({ base: BASE, choices: { fe: [['city_code', 'year'], 'city_code', ['city_code', 'year']] } })).rejects.toThrow(/choices\.fe lists the same value twice \(city_code \+ year\)/);
  });

  it('rejects a non-numeric control and an unknown outcome, fixed effect or cluster column, naming the choice entry', async () => {
    await expect(runCurve({ base: BASE, choices: { controls: [['region']] } })).rejects.toThrow(/choices\.controls\[0\]: control "region" .*it must be numeric/);
    await expect(runCurve({ base: BASE, choices: { y: ['so2', 'so3'] } })).rejects.toThrow(/choices\.y\[1\] names outcome column "so3", which is not in the input table \(did you mean "so2"\?\)/);
    await expect(runCurve({ base: BASE, choices: { fe: [['city_code', 'yeer']] } })).rejects.toThrow(/choices\.fe\[0\] names fixed-effect column "yeer"/);
    await expect(runCurve({ base: BASE, choices: { cluster: ['provnce'] } })).rejects.toThrow(/choices\.cluster\[0\] names cluster column "provnce", which is not in the input table \(did you mean "province"\?\)/);
    await expect(runCurve({ base: BASE, highlight: { y: 'so2' } })).rejects.toThrow(/highlight\.y: y is not among the choices/);
  });

  it('takes two-way clustering as a choice value, equal to the estimate step', async () => {
    const { specs } = await runCurve({ base: BASE, choices: { cluster: ['city_code', ['city_code', 'year']] } });
    expect(Array.from(strCol(specs, 'cluster'))).toEqual(['city_code', 'city_code × year']);
    const m = await estimateOf({ ...BASE, cluster: ['city_code', 'year'] });
    expect(relClose(numCol(specs, 'se')[1]!, m.coefficients[0].se, 1e-10)).toBe(true);
    expect(relClose(numCol(specs, 'p')[1]!, m.coefficients[0].p, 1e-8)).toBe(true);
  });
});
