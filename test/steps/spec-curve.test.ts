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
