/**
 * Bad input of the staggered-DID step kinds (sunab, did-imputation, bacon): each failure path of
 * issue 10 gives a StepError naming the step, the parameter and the unit/row, and no result.
 */
import { describe, expect, it } from 'vitest';
import sunab from '../../steps/sunab.js';
import imputation from '../../steps/did-imputation.js';
import bacon from '../../steps/bacon.js';
import { StepError, type StepDef } from '../../engine/types.js';
import { takeRows, withColumn, type Table } from '../../engine/table.js';
import { fakeCtx } from './stats-helpers.js';
import { synthPanel } from './staggered-data.js';

const steps: [string, StepDef<any>][] = [['sunab', sunab], ['did-imputation', imputation], ['bacon', bacon]];
const base = { y: 'y', unit: 'unit', time: 'year', adopt: 'adopt' };

async function run(def: StepDef<any>, table: Table, params: Record<string, unknown> = {}) {
  const f = fakeCtx();
  return def.run(f.ctx, { panel: { type: 'table', table } }, def.params.parse({ ...base, ...params }));
}
const setCol = (t: Table, name: string, f: (i: number, v: number) => number): Table => {
  const c = t.columns[name] as Float64Array;
  return withColumn(t, name, Float64Array.from(c, (v, i) => f(i, v)));
};
const unitCol = (t: Table) => t.columns.unit as Float64Array;
const yearCol = (t: Table) => t.columns.year as Float64Array;

describe.each(steps)('%s bad input', (kind, def) => {
  it('runs on the valid synthetic panel', async () => {
    const out = await run(def, synthPanel());
    expect(Object.keys(out).length).toBeGreaterThan(0);
  });
  it('a cohort treated in the first period (no pre-period)', async () => {
    const t = setCol(synthPanel(), 'adopt', (i, v) => (unitCol(synthPanel())[i] === 2 ? 2000 : v));
    const p = run(def, t);
    await expect(p).rejects.toThrow(StepError);
    await expect(p).rejects.toThrow(new RegExp(`^params.adopt .*cohort 2000 .*first observed period 2000.*no pre-period`));
  });
  it('treatment that switches off', async () => {
    const t0 = synthPanel();
    // unit 2 adopts in 2003; its treat goes back to 0 in 2006
    const t = setCol(t0, 'treat', (i, v) => (unitCol(t0)[i] === 2 && yearCol(t0)[i] === 2006 ? 0 : v));
    const p = run(def, t, { treat: 'treat' });
    await expect(p).rejects.toThrow(/params\.treat .*switches off: unit 2 is treated from year 2003 .*treat = 0 at year 2006/);
  });
  it('a unit whose adopt varies over time', async () => {
    const t0 = synthPanel();
    const t = setCol(t0, 'adopt', (i, v) => (unitCol(t0)[i] === 3 && yearCol(t0)[i] === 2004 ? 2004 : v));
    await expect(run(def, t)).rejects.toThrow(/params\.adopt .*unit 3 has adopt = 2005 at row 17 but 2004 at row 21; adopt must be .*same on every row/);
  });
  it('adopt that is not an observed period', async () => {
    const t0 = synthPanel();
    const t = setCol(t0, 'adopt', (i, v) => (unitCol(t0)[i] === 3 ? 2012 : v));
    await expect(run(def, t)).rejects.toThrow(/params\.adopt .*adopt = 2012 \(unit 3\) is not an observed period of year \(observed: 2000\.\.2007.*coded 0/);
  });
  it('too few units in a cohort', async () => {
    await expect(run(def, synthPanel(), { min_cohort_size: 7 })).rejects.toThrow(/params\.min_cohort_size .*cohort 2003 has 6 unit\(s\).*fewer than min_cohort_size = 7/);
    const out = await run(def, synthPanel(), { min_cohort_size: 6 });
    expect(Object.keys(out).length).toBeGreaterThan(0);
  });
  it('missing columns are named', async () => {
    await expect(run(def, synthPanel(), { y: 'outcome' })).rejects.toThrow(/column "outcome" not found/);
  });
});

describe('bacon: unbalanced panel', () => {
  it('is an error that says so, naming a unit', async () => {
    const t0 = synthPanel();
    const keep = Array.from({ length: t0.nrows }, (_, i) => i).filter((i) => !(unitCol(t0)[i] === 4 && yearCol(t0)[i] === 2001));
    await expect(run(bacon, takeRows(t0, keep))).rejects.toThrow(/unbalanced: unit 4 has 7 of the 8 periods 2000\.\.2007 .*balanced panel\. Set params\.balance: drop_units/);
    // a missing outcome makes it unbalanced too
    const t1 = setCol(t0, 'y', (i, v) => (unitCol(t0)[i] === 5 && yearCol(t0)[i] === 2002 ? NaN : v));
    await expect(run(bacon, t1)).rejects.toThrow(/unbalanced: unit 5 has 7 of the 8 periods/);
  });
  it('takes treat instead of adopt, with the same result', async () => {
    const a = await run(bacon, synthPanel());
    const b = await run(bacon, synthPanel(), { adopt: undefined, treat: 'treat' });
    expect((b.summary as any).value.types).toEqual((a.summary as any).value.types);
  });
});

describe('did-imputation: horizons and pretrends', () => {
  it('rejects a horizon without treated observations and pre-periods no unit has', async () => {
    await expect(run(imputation, synthPanel(), { horizons: [0, 9] })).rejects.toThrow(/params\.horizons: horizon 9 has no treated observation \(observed horizons: 0\.\.4\)/);
    await expect(run(imputation, synthPanel(), { pretrends: 6 })).rejects.toThrow(/params\.pretrends = 6 asks for pre-period\(s\) -6, which no treated unit has \(observed pre-periods: -5\.\.-1\)/);
  });
});

describe('sunab: a single cohort and no never-treated unit', () => {
  it('has no control group', async () => {
    await expect(run(sunab, synthPanel({ adopt: [2004] }))).rejects.toThrow(/no control group/);
  });
});
