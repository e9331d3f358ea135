/** steps/common/suggest.ts: edit distance and "did you mean" candidates. */
import { describe, expect, it } from 'vitest';
import { editDistance, nearest } from '../../steps/common/suggest.js';

describe('suggest', () => {
  it('computes the Levenshtein distance', () => {
    // classic examples: kitten → sitting = 3, flaw → lawn = 2
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('flaw', 'lawn')).toBe(2);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('杭州市', '杭洲市')).toBe(1);
  });
  it('suggests the nearest names within a third of the length', () => {
    expect(nearest('urbanpop', ['year', 'urban_pop', 'urb'])).toEqual(['urban_pop']);
    expect(nearest('SO2', ['so2', 'co2'], 2)).toEqual(['so2', 'co2']);
    expect(nearest('completely_else', ['so2', 'year'])).toEqual([]);
  });
});
