/**
 * Step `join` on small hand-checked tables: left / inner / outer row sets and order, the match
 * report, suffixes, coalesce (first non-missing source, disagreements listed), Stata-merge-style
 * validation (1:1, m:1, 1:m) and every error path of the issue (missing key column, key type
 * mismatch, many-to-many under 1:1, all rows unmatched), plus the clean step's `fixes`.
 * Expected rows are worked out by hand in the comments (as Stata `merge` / R `merge(all.x = TRUE)`
 * would give them); the end-to-end check against R is test/pipeline-real-vs-r.test.ts.
 */
import { describe, expect, it } from 'vitest';
import join from '../../steps/join.js';
import clean, { applyFixes } from '../../steps/clean.js';
import { StepError, type Artifact } from '../../engine/types.js';
import { makeTable, toRows, type Table } from '../../engine/table.js';
import { jsonOf, makeCtx, runStep, tableOf } from './ctx.js';

const T = (t: Table): Artifact => ({ type: 'table', table: t });
const num = (...xs: number[]) => Float64Array.from(xs);

// left: cities 1, 2, 3 in 2015; right: cities 2, 3, 4 in 2015 (and city 1 in 2016: no match)
const left = makeTable({ code: num(1, 2, 3), year: num(2015, 2015, 2015), so2: num(10, 20, NaN), name: ['a', 'b', 'c'] });
const right = makeTable({ code: num(2, 3, 4, 1), year: num(2015, 2015, 2015, 2016), gdp: num(200, 300, 400, 116), so2: num(20.5, 31, 41, 11) });

const run = (params: Record<string, unknown>, tables: Table[]) => runStep(join, params, { tables: tables.map(T) });

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(StepError);
    return (e as Error).message;
  }
  throw new Error('expected a StepError');
}

describe('join: row sets, order and the match report', () => {
  it('left keeps every left row in order; unmatched right columns are missing', async () => {
    const out = await run({ on: ['code', 'year'], suffixes: ['', '_r'] }, [left, right]);
    const rows = toRows(tableOf(out.table));
    // 1 has no 2015 row on the right; 2 and 3 match
    expect(rows).toEqual([
      { code: 1, year: 2015, so2: 10, name: 'a', gdp: null, so2_r: null },
      { code: 2, year: 2015, so2: 20, name: 'b', gdp: 200, so2_r: 20.5 },
      { code: 3, year: 2015, so2: null, name: 'c', gdp: 300, so2_r: 31 },
    ]);
    const rep = jsonOf(out.report);
    expect(rep.matches).toEqual([{ input: 1, rows_left: 3, rows_right: 4, matched_left: 2, matched_right: 2, only_left: 1, only_right: 2, rows_out: 3 }]);
    expect(rep.inputs[1].renamed).toEqual({ so2: 'so2_r' });
  });
  it('inner keeps matched rows only; outer appends the unmatched right rows with their keys', async () => {
    const inner = toRows(tableOf((await run({ on: ['code', 'year'], how: 'inner', suffixes: ['', '_r'] }, [left, right])).table));
    expect(inner.map((r) => r.code)).toEqual([2, 3]);
    const outer = toRows(tableOf((await run({ on: ['code', 'year'], how: 'outer', suffixes: ['', '_r'] }, [left, right])).table));
    expect(outer.map((r) => [r.code, r.year, r.name, r.gdp])).toEqual([
      [1, 2015, 'a', null],
      [2, 2015, 'b', 200],
      [3, 2015, 'c', 300],
      [4, 2015, null, 400],
      [1, 2016, null, 116],
    ]);
  });
  it('three tables join left-deep, one report row per right table', async () => {
    const third = makeTable({ code: num(3, 1), year: num(2015, 2015), pop: num(30, 10) });
    const out = await run({ on: ['code', 'year'], suffixes: ['', '_r', ''] }, [left, right, third]);
    expect(toRows(tableOf(out.table)).map((r) => r.pop)).toEqual([10, null, 30]);
    expect(jsonOf(out.report).matches.map((m: { input: number; matched_left: number }) => [m.input, m.matched_left])).toEqual([[1, 2], [2, 2]]);
  });
  it('m:1 allows repeated left keys (a city-year panel to a city table) and copies the right row', async () => {
    const panel = makeTable({ code: num(1, 1, 2), year: num(2015, 2016, 2015) });
    const cities = makeTable({ code: num(1, 2), region: ['east', 'west'] });
    const out = await run({ on: ['code'], validate: 'm:1' }, [panel, cities]);
    expect(toRows(tableOf(out.table)).map((r) => r.region)).toEqual(['east', 'east', 'west']);
    // the same under 1:m (left unique required) fails: code 1 repeats on the left
    expect(await errorOf(run({ on: ['code'], validate: '1:m' }, [panel, cities]))).toMatch(/validate "1:m" fails: in\[0\] \(the left table\) has 1 duplicated key\(s\) \[code\]: \(code=1\) ×2 at data rows 1, 2/);
  });
  it('1:m repeats a left row for each of its right matches', async () => {
    const cities = makeTable({ code: num(1, 2), region: ['east', 'west'] });
    const panel = makeTable({ code: num(2, 1, 1), year: num(2015, 2015, 2016) });
    const out = await run({ on: ['code'], validate: '1:m' }, [cities, panel]);
    expect(toRows(tableOf(out.table)).map((r) => [r.code, r.region, r.year])).toEqual([
      [1, 'east', 2015],
      [1, 'east', 2016],
      [2, 'west', 2015],
    ]);
  });
});

describe('join: coalesce', () => {
  it('takes the first non-missing source, counts cells per source and lists disagreements, largest first', async () => {
    const a = makeTable({ code: num(1, 2, 3, 4), x: num(100, NaN, 50, NaN) });
    const b = makeTable({ code: num(1, 2, 3, 4), x: num(100.5, 7, 500, NaN) });
    const out = await run({ on: ['code'], suffixes: ['_a', '_b'], coalesce: { x: ['x_a', 'x_b'] } }, [a, b]);
    const t = tableOf(out.table);
    expect(Array.from(t.columns.x as Float64Array)).toEqual([100, 7, 50, NaN]);
    const c = jsonOf(out.report).coalesce[0];
    expect(c.filled_from).toEqual({ x_a: 2, x_b: 1 });
    expect(c.missing).toBe(1);
    // code 1: |100 − 100.5| / 100.5 = 0.5% (a disagreement, not over 1%); code 3: 450 / 500 = 90%
    expect([c.disagreements, c.disagreements_over_1pct]).toEqual([2, 1]);
    expect(c.listed.map((d: { key: { code: number } }) => d.key.code)).toEqual([3, 1]);
    expect(c.listed[0]).toMatchObject({ values: { x_a: 50, x_b: 500 }, taken: 'x_a', rel_diff: 0.9 });
  });
  it('names an unknown source column and refuses to mix number and text sources', async () => {
    const a = makeTable({ code: num(1), x: num(1) });
    const b = makeTable({ code: num(1), x: ['1'] });
    expect(await errorOf(run({ on: ['code'], suffixes: ['_a', '_b'], coalesce: { x: ['x_a', 'x_c'] } }, [a, b]))).toMatch(/param coalesce\.x names "x_c".*did you mean "x_a"/);
    expect(await errorOf(run({ on: ['code'], suffixes: ['_a', '_b'], coalesce: { x: ['x_a', 'x_b'] } }, [a, b]))).toMatch(/mixes number and text sources \(x_a: number, x_b: text\)/);
  });
});

describe('join: bad input (each a StepError naming the table, the keys and the fix)', () => {
  it('a key column missing on one side', async () => {
    const r = makeTable({ city_code: num(2), year: num(2015), gdp: num(1) });
    const msg = await errorOf(run({ on: ['code', 'year'] }, [left, r]));
    expect(msg).toMatch(/key column "code" \(param on\) is missing in in\[1\]/);
    expect(msg).toMatch(/Its columns are: city_code, year, gdp/);
    expect(msg).toMatch(/ingest columns: \{code: name_in_file\}/);
  });
  it('key types differ (text codes vs number codes)', async () => {
    const r = makeTable({ code: ['2', '3'], year: num(2015, 2015), gdp: num(1, 2) });
    const msg = await errorOf(run({ on: ['code', 'year'] }, [left, r]));
    expect(msg).toMatch(/key column "code" is a number in in\[0\] \(the left table\) but text in in\[1\]/);
    expect(msg).toMatch(/ingest types: \{code: number\}/);
  });
  it('many-to-many under validate 1:1 names the duplicated keys on both sides', async () => {
    const l = makeTable({ code: num(1, 1, 2), year: num(2015, 2015, 2015) });
    const r = makeTable({ code: num(1, 1), year: num(2015, 2015), gdp: num(1, 2) });
    const msg = await errorOf(run({ on: ['code', 'year'] }, [l, r]));
    expect(msg).toMatch(/validate "1:1" fails: in\[0\] \(the left table\) has 1 duplicated key\(s\) \[code, year\]: \(code=1, year=2015\) ×2 at data rows 1, 2/);
    expect(msg).toMatch(/many-to-many/);
  });
  it('a duplicated right key under 1:1 (only one side): names it, suggests m:1', async () => {
    const r = makeTable({ code: num(2, 2), year: num(2015, 2015), gdp: num(1, 2) });
    const msg = await errorOf(run({ on: ['code', 'year'] }, [left, r]));
    expect(msg).toMatch(/in\[1\] has 1 duplicated key\(s\) \[code, year\]: \(code=2, year=2015\) ×2 at data rows 1, 2/);
    expect(msg).not.toMatch(/many-to-many/);
  });
  it('all rows unmatched: shows what the keys look like on both sides', async () => {
    const r = makeTable({ code: num(110000, 120000), year: num(2015, 2015), gdp: num(1, 2) });
    const msg = await errorOf(run({ on: ['code', 'year'] }, [left, r]));
    expect(msg).toMatch(/no row of in\[1\] \(2 rows\) matches the rows joined so far on \[code, year\]/);
    expect(msg).toMatch(/\(code=1, year=2015\).*\(code=110000, year=2015\)/);
  });
  it('colliding columns without suffixes; a missing key value; fewer than two tables', async () => {
    expect(await errorOf(run({ on: ['code', 'year'] }, [left, right]))).toMatch(/column\(s\) present in more than one table: "so2" \(in in\[0\], in\[1\]\)\. Set param suffixes/);
    const r = makeTable({ code: num(2, NaN), year: num(2015, 2015), gdp: num(1, 2) });
    expect(await errorOf(run({ on: ['code', 'year'] }, [left, r]))).toMatch(/key column "code" is missing in data row 2 of in\[1\]/);
    expect(await errorOf(run({ on: ['code'] }, [left]))).toMatch(/needs at least two tables/);
  });
});

describe('clean: fixes', () => {
  const panel = makeTable({ city_code: num(450300, 450300, 450100), year: num(2015, 2016, 2016), so2: num(32204, 6146, NaN), name: ['桂林', '桂林', '南宁'] });
  const fix = (o: Record<string, unknown> = {}) => ({ key: { city_code: 450300, year: 2016 }, column: 'so2', from: 6146, to: 16146, why: 'digit slip', ...o });

  it('applies a fix before derive, records it (node, row, reason) in the fixes output and the report', async () => {
    const fake = makeCtx({ nodeId: 'qin' });
    const out = await runStep(clean, { fixes: [fix(), fix({ key: { city_code: 450100, year: 2016 }, from: null, to: 9381, why: 'fill' })], derive: { so2_10k: 'so2 / 10000' } }, { table: T(panel) }, fake);
    const t = tableOf(out.table);
    expect(Array.from(t.columns.so2 as Float64Array)).toEqual([32204, 16146, 9381]);
    expect(Array.from(t.columns.so2_10k as Float64Array)).toEqual([3.2204, 1.6146, 0.9381]);
    expect(jsonOf(out.fixes)).toEqual([
      { key: { city_code: 450300, year: 2016 }, column: 'so2', from: 6146, to: 16146, why: 'digit slip', node: 'qin', row: 2 },
      { key: { city_code: 450100, year: 2016 }, column: 'so2', from: null, to: 9381, why: 'fill', node: 'qin', row: 3 },
    ]);
    expect(jsonOf(out.report).fixes).toEqual(jsonOf(out.fixes));
    expect(Array.from(panel.columns.so2 as Float64Array)).toEqual([32204, 6146, NaN]); // the input is not modified
    expect(fake.infos.some((m) => /fix \{"city_code":450300,"year":2016\} so2: 6146 → 16146 \(digit slip\)/.test(m))).toBe(true);
  });
  it('no fixes: an empty list', async () => {
    expect(jsonOf((await runStep(clean, {}, { table: T(panel) })).fixes)).toEqual([]);
  });
  it.each([
    ['stale from', [fix({ from: 16146 })], /param fixes\[0\].*stale fix: the cell holds 6146, the fix expects from = 16146.*update or remove the fix/],
    ['unknown key', [fix({ key: { city_code: 450300, year: 2019 } })], /param fixes\[0\].*unknown key: no row has city_code = 450300 and year = 2019/],
    ['unknown column', [fix({ column: 'so_2' })], /param fixes\[0\].*unknown column "so_2" \(did you mean "so2"\?\)/],
    ['unknown key column', [fix({ key: { code: 450300, year: 2016 } })], /unknown column "code"/],
    ['two fixes of one cell', [fix(), fix({ from: 16146, to: 6146 })], /param fixes\[1\].*already corrected by fixes\[0\]; two fixes of one cell/],
    ['a key matching several rows', [fix({ key: { year: 2016 } })], /the key matches 2 rows \(data rows 2, 3\); add key columns/],
    ['a text value for a numeric column', [fix({ to: 'x' })], /column "so2" is numeric but to is "x"/],
  ])('%s is an error', (_name, fixes, re) => {
    expect(() => applyFixes(panel, fixes as never, 'n')).toThrow(StepError);
    expect(() => applyFixes(panel, fixes as never, 'n')).toThrow(re);
  });
});
