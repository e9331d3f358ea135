/**
 * Issue 9 item 10: very deep `derive` expressions end with an ExprError at a position instead of
 * overflowing the stack ("Maximum call stack size exceeded" for 100,000 nested parentheses).
 */
import { describe, expect, it } from 'vitest';
import { ExprError, MAX_NESTING, MAX_TREE_DEPTH, evaluate, parseExpr } from '../../engine/expr.js';
import { makeTable } from '../../engine/table.js';

const t = makeTable({ x: new Float64Array([1, 2, 3]) });
const errOf = (src: string): ExprError => {
  try {
    parseExpr(src);
  } catch (e) {
    if (e instanceof ExprError) return e;
    throw e;
  }
  throw new Error('expected an ExprError');
};

describe('expression depth limits', () => {
  it('100,000 nested parentheses: an error at the first parenthesis past the limit, fast', () => {
    const t0 = Date.now();
    const e = errOf(`${'('.repeat(100_000)}x${')'.repeat(100_000)}`);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(e.message).toBe(`the expression is nested too deeply (more than ${MAX_NESTING} levels of parentheses, function calls, prefix operators or ^)`);
    expect(e.pos).toBe(MAX_NESTING); // 0-based: the 201st "("
    expect(e.pretty()).toMatch(/at position 201:/);
  });
  it('deep prefix operators, function calls and exponents are bounded the same way', () => {
    expect(errOf(`${'-'.repeat(100_000)}x`).pos).toBe(MAX_NESTING);
    expect(errOf(`${'abs('.repeat(50_000)}x${')'.repeat(50_000)}`).pos).toBe(4 * MAX_NESTING);
    expect(errOf(Array(50_000).fill('x').join('^')).message).toMatch(/nested too deeply/);
  });
  it('a long left-to-right chain is bounded by the tree depth (the evaluator recurses per level)', () => {
    const e = errOf(Array(100_000).fill('x').join(' + '));
    expect(e.message).toBe(`the expression is too deep (more than ${MAX_TREE_DEPTH} operators chained); split it over several derive columns`);
    expect(e.pos).toBe(4 * MAX_TREE_DEPTH - 2); // the "+" that makes level 2001
  });
  it('within the limits, deep expressions still parse and evaluate exactly', () => {
    const n = MAX_NESTING - 1;
    expect(Array.from(evaluate(parseExpr(`${'('.repeat(n)}x + 1${')'.repeat(n)}`), t))).toEqual([2, 3, 4]);
    expect(Array.from(evaluate(parseExpr(Array(1500).fill('x').join(' + ')), t))).toEqual([1500, 3000, 4500]);
    expect(Array.from(evaluate(parseExpr(`${'-'.repeat(100)}x`), t))).toEqual([1, 2, 3]);
  });
});

// issue 9 item 13 at the step level (the YAML loader rejects these keys first; a prebuilt spec or a
// library call reaches the steps directly)
describe('reserved names reaching steps directly', () => {
  it('clean derive and where filters reject them', async () => {
    const clean = (await import('../../steps/clean.js')).default;
    const { applyFilters } = await import('../../steps/common/filter.js');
    const { makeCtx } = await import('../steps/ctx.js');
    const derive = Object.defineProperty({}, '__proto__', { value: 'x + 1', enumerable: true });
    const params = clean.params.parse({});
    await expect(clean.run(makeCtx().ctx, { table: { type: 'table', table: t } }, { ...params, derive } as never)).rejects.toThrow(/param derive: "__proto__" cannot be used as a column name/);
    expect(() => applyFilters(t, { constructor: 1 } as never, undefined)).toThrow(/filter: "constructor" cannot be used as a column name/);
  });
});
