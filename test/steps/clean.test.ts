import { describe, expect, it } from 'vitest';
import clean from '../../steps/clean.js';
import { quantile7 } from '../../stats/quantile.js';
import { evaluate, ExprError, parseExpr } from '../../engine/expr.js';
import { StepError } from '../../engine/types.js';
import { makeTable, toRows } from '../../engine/table.js';
import { jsonOf, runStep, tableOf } from './ctx.js';

const panel = makeTable({
  city_code: Float64Array.from([1, 1, 1, 2, 2, 2]),
  year: Float64Array.from([2004, 2005, 2006, 2004, 2005, 2006]),
  so2: Float64Array.from([0, 2, NaN, 4, 100, 6]),
  urban_pop: Float64Array.from([50, 120, 130, 90, 95, 101]),
  region: ['east', 'east', 'east', 'west', 'west', 'west'],
});
const input = { table: { type: 'table' as const, table: panel } };
const ev = (src: string) => Array.from(evaluate(parseExpr(src), panel, src));

describe('expression language', () => {
  it('does arithmetic with precedence, unary minus, powers and Unicode operators', () => {
    expect(ev('1 + 2 * 3')).toEqual(Array(6).fill(7));
    expect(ev('(1 + 2) * 3 - -1')).toEqual(Array(6).fill(10));
    expect(ev('2 ^ 3 ^ 2')).toEqual(Array(6).fill(512));
    expect(ev('6 ÷ 3 × 2 − 1')).toEqual(Array(6).fill(3));
    expect(ev('so2 / 2')).toEqual([0, 1, NaN, 2, 50, 3]);
  });
  it('has log/exp/ifelse/min/max/is_missing, and logs of non-positive values are missing', () => {
    expect(ev('log(so2)')).toEqual([NaN, Math.log(2), NaN, Math.log(4), Math.log(100), Math.log(6)]);
    expect(ev('exp(log(urban_pop))').map((x) => Math.round(x * 1e9) / 1e9)).toEqual([50, 120, 130, 90, 95, 101]);
    expect(ev('ifelse(so2 > 3, 1, 0)')).toEqual([0, 0, NaN, 1, 1, 1]);
    expect(ev('max(so2, 3)')).toEqual([3, 3, NaN, 4, 100, 6]);
    expect(ev('is_missing(so2)')).toEqual([0, 0, 1, 0, 0, 0]);
  });
  it('compares numbers and text, combines with and/or/not', () => {
    expect(ev('urban_pop >= 100')).toEqual([0, 1, 1, 0, 0, 1]);
    expect(ev("region == 'east' and urban_pop >= 100")).toEqual([0, 1, 1, 0, 0, 0]);
    expect(ev("region != 'east' or year == 2004")).toEqual([1, 0, 0, 1, 1, 1]);
    expect(ev('not (year > 2004)')).toEqual([1, 0, 0, 1, 0, 0]);
  });
  it('reports syntax errors with the position', () => {
    const at = (src: string) => {
      try {
        parseExpr(src);
      } catch (e) {
        expect(e).toBeInstanceOf(ExprError);
        return [(e as ExprError).pos, (e as ExprError).message];
      }
      throw new Error(`no error for ${src}`);
    };
    expect(at('log(so2 + )')[0]).toBe(10);
    expect(at('so2 +* 2')[0]).toBe(5);
    expect(at('(so2 + 1')[1]).toMatch(/expected "\)", but the expression ended/);
    expect(at('so2 $ 2')[1]).toMatch(/unexpected character "\$"/);
    expect(at('foo(so2)')[1]).toMatch(/unknown function "foo"/);
    expect(at('1 < 2 < 3')[1]).toMatch(/cannot be chained/);
    expect(at("'abc")[1]).toMatch(/unterminated string/);
  });
  it('refuses arithmetic on text', () => {
    expect(() => ev('region + 1')).toThrow(/operator "\+" needs numbers/);
    expect(() => ev('log(region)')).toThrow(/text value cannot be used/);
  });
});

describe('clean step', () => {
  it('derives, restricts years, filters, requires and winsorizes, reporting each stage', async () => {
    const out = await runStep(clean, {
      derive: { ln_so2: 'log(so2 + 1)', large: 'urban_pop >= 100' },
      years: { from: 2005, to: 2006 },
      where: { region: ['east', 'west'] },
      exclude: { city_code: [3] },
      require: ['so2'],
      winsorize: { columns: ['so2'], quantiles: [0, 0.5] },
    }, input);
    const t = tableOf(out.table);
    expect(toRows(t).map((r) => [r.city_code, r.year, r.so2, r.large])).toEqual([
      [1, 2005, 2, 1],
      [2, 2005, 6, 0],
      [2, 2006, 6, 1],
    ]);
    expect(t.columns.ln_so2).toEqual(Float64Array.from([Math.log(3), Math.log(101), Math.log(7)]));
    const rep = jsonOf(out.report);
    expect(rep.rows_in).toBe(6);
    expect(rep.rows_out).toBe(3);
    expect(rep.stages.map((s: { stage: string; dropped: number }) => [s.stage, s.dropped])).toEqual([
      ['years', 2],
      ['where', 0],
      ['exclude', 0],
      ['require', 1],
    ]);
    expect(rep.stages[3].detail).toEqual({ missing_by_column: { so2: 1 } });
    // R: quantile(c(2, 100, 6), c(0, 0.5), type = 7) = 2, 6
    expect(rep.winsorized).toEqual([{ column: 'so2', low: 2, high: 6, clamped_low: 0, clamped_high: 1 }]);
    expect(rep.derived[0]).toEqual({ column: 'ln_so2', expression: 'log(so2 + 1)', missing: 1 });
  });

  it('accepts years as a pair', async () => {
    const t = tableOf((await runStep(clean, { years: [2004, 2004] }, input)).table);
    expect(Array.from(t.columns.year as Float64Array)).toEqual([2004, 2004]);
  });

  it('quantile7 matches R type 7', () => {
    // R: quantile(c(1, 2, 3, 4, 10), c(0.01, 0.99), type = 7) = 1.04, 9.76
    const s = Float64Array.from([1, 2, 3, 4, 10]);
    expect(quantile7(s, 0.01)).toBeCloseTo(1.04, 12);
    expect(quantile7(s, 0.99)).toBeCloseTo(9.76, 12);
  });

  it('derive errors name the param, show the position and list the columns', async () => {
    const err = (await runStep(clean, { derive: { x: 'log(so3 + 1)' } }, input).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(StepError);
    expect(err.message).toMatch(/derive\.x: unknown column "so3" \(did you mean "so2"\?/);
    expect(err.message).toMatch(/position 5/);
    expect(err.message).toMatch(/columns: city_code, year, so2/);
    expect(err.message).toContain('log(so3 + 1)\n        ^');
    const syn = (await runStep(clean, { derive: { y: 'so2 * (2 + ' } }, input).catch((e: unknown) => e)) as Error;
    expect(syn).toBeInstanceOf(StepError);
    expect(syn.message).toMatch(/derive\.y: expected a number, column, function or "\(", but the expression ended at position 12/);
  });

  it('require / winsorize of unknown columns fail clearly', async () => {
    await expect(runStep(clean, { require: ['pgdp'] }, input)).rejects.toThrow(/require names column\(s\) pgdp.*columns are: city_code/);
    await expect(runStep(clean, { winsorize: { columns: ['region'] } }, input)).rejects.toThrow(/"region" is text/);
  });
});
