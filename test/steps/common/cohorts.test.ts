/**
 * steps/common/cohorts.ts: unit cohorts and relative time, shared by event-study and placebo.
 */
import { describe, expect, it } from 'vitest';
import { makeTable } from '../../../engine/table.js';
import { unitCohorts } from '../../../steps/common/cohorts.js';
import eventStudy from '../../../steps/event-study.js';
import { fakeCtx } from '../stats-helpers.js';

const t = makeTable({
  city: ['a', 'a', 'b', 'b', 'c', 'c', null],
  year: Float64Array.from([2015, 2016, 2015, 2016, 2015, 2016, 2016]),
  adopt: Float64Array.from([2016, 2016, 0, 0, NaN, NaN, 2016]),
  y: Float64Array.from([1, 2, 3, 4, 5, 6, 7]),
});

describe('unitCohorts', () => {
  it('gives units in order of appearance, their adoption times, and relative time (NaN for never treated)', () => {
    const c = unitCohorts(t, { unit: 'city', time: 'year', adopt: 'adopt' });
    expect(Array.from(c.unit)).toEqual([0, 0, 1, 1, 2, 2, -1]);
    expect(Array.from(c.adopt)).toEqual([2016, 0, 0]); // missing adoption = never treated
    expect(Array.from(c.rel)).toEqual([-1, 0, NaN, NaN, NaN, NaN, 0]);
    expect(c.units).toBe(3);
    expect(c.treated).toBe(1);
  });
  it('works on a subset of rows', () => {
    const c = unitCohorts(t, { unit: 'city', time: 'year', adopt: 'adopt' }, Int32Array.from([2, 0]));
    expect(Array.from(c.unit)).toEqual([0, 1]);
    expect(Array.from(c.adopt)).toEqual([0, 2016]);
  });
  it('rejects an adoption time that varies within a unit, naming both rows', () => {
    const bad = makeTable({ city: ['a', 'a'], year: Float64Array.from([2015, 2016]), adopt: Float64Array.from([2016, 2017]) });
    expect(() => unitCohorts(bad, { unit: 'city', time: 'year', adopt: 'adopt' })).toThrow(/not constant within unit "city": row 1 has 2016, row 2 has 2017/);
  });
  it('rejects a missing or text column', () => {
    expect(() => unitCohorts(t, { unit: 'city', time: 'yr', adopt: 'adopt' })).toThrow(/column "yr" not found/);
    expect(() => unitCohorts(t, { unit: 'city', time: 'city', adopt: 'adopt' })).toThrow(/column "city" must be numeric/);
  });
  it('event-study now checks constancy too (it did not before the shared function)', async () => {
    const bad = makeTable({
      city: ['a', 'a', 'b', 'b', 'c', 'c'],
      year: Float64Array.from([2015, 2016, 2015, 2016, 2015, 2016]),
      adopt: Float64Array.from([2016, 2015, 0, 0, 0, 0]),
      y: Float64Array.from([1, 2, 3, 4, 5, 6]),
    });
    const f = fakeCtx();
    await expect(eventStudy.run(f.ctx, { panel: { type: 'table', table: bad } }, eventStudy.params.parse({ y: 'y', unit: 'city', time: 'year', adopt: 'adopt' }))).rejects.toThrow(/not constant within unit/);
  });
});
