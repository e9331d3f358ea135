/**
 * engine/table-diff.ts (row/cell diff of two tables) and its renderers in reasons.ts
 * (tableDiffLines, detailLines). Expected values are read off the hand-made tables below.
 */
import { describe, expect, it } from 'vitest';
import { diffTables, tableDiffEmpty } from '../../engine/table-diff.js';
import { detailLines, fmtKey, reasonLine, tableDiffLines, type Reason } from '../../engine/reasons.js';
import { intColumnOf, makeTable } from '../../engine/table.js';

const panel = (so2: number[], extra: Record<string, number[] | (string | null)[]> = {}, codes = [330100, 330100, 330200, 330200], years = [2014, 2015, 2014, 2015]) =>
  makeTable({
    city_code: intColumnOf(codes),
    year: intColumnOf(years),
    so2: Float64Array.from(so2),
    ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, typeof v[0] === 'number' ? Float64Array.from(v as number[]) : (v as (string | null)[])])),
  });

describe('diffTables', () => {
  it('keyed by the declared key: a one-cell change names the row by its key and counts per column', () => {
    const a = panel([1, 2, 3, 4]);
    const b = panel([1, 2, 3.5, 4]);
    const d = diffTables(a, b, { keys: [['city_code', 'year']] });
    expect(d.keyedBy).toEqual(['city_code', 'year']);
    expect([d.changed, d.added, d.removed]).toEqual([1, 0, 0]);
    expect(d.perColumn).toEqual({ so2: 1 });
    expect(d.cells).toEqual([{ key: { city_code: 330200, year: 2014 }, column: 'so2', a: 3, b: 3.5 }]);
    expect(tableDiffLines(d)).toEqual([
      '1 row changed, 0 added, 0 removed (4 rows; keyed by city_code, year)',
      '  city_code=330200, year=2014: so2 3 → 3.5',
      '  changed cells per column: so2 1',
    ]);
    expect(tableDiffEmpty(d)).toBe(false);
    expect(tableDiffEmpty(diffTables(a, a, { keys: [['city_code', 'year']] }))).toBe(true);
  });

  it('rows reordered, added and removed are matched by key, not position', () => {
    const a = panel([1, 2, 3, 4]);
    // b: rows in another order, 330100/2014 gone, 330300/2015 new, one so2 changed
    const b = panel([4, 9, 2, 7], {}, [330200, 330200, 330100, 330300], [2015, 2014, 2015, 2015]);
    const d = diffTables(a, b, { keys: [['city_code', 'year']] });
    expect([d.changed, d.added, d.removed]).toEqual([1, 1, 1]);
    expect(d.addedKeys).toEqual([{ city_code: 330300, year: 2015 }]);
    expect(d.removedKeys).toEqual([{ city_code: 330100, year: 2014 }]);
    expect(d.cells).toEqual([{ key: { city_code: 330200, year: 2014 }, column: 'so2', a: 3, b: 9 }]);
    const lines = tableDiffLines(d);
    expect(lines).toContain('  added: city_code=330300, year=2015');
    expect(lines).toContain('  removed: city_code=330100, year=2014');
  });

  it('falls back to position when the key is not unique or missing, and says why', () => {
    const a = panel([1, 2, 3, 4], {}, [1, 1, 2, 2], [2014, 2014, 2014, 2015]);
    const b = panel([1, 2, 3, 5], {}, [1, 1, 2, 2], [2014, 2014, 2014, 2015]);
    const d = diffTables(a, b, { keys: [['nope'], ['city_code', 'year']] });
    expect(d.keyedBy).toBeNull();
    expect(d.keyNote).toMatch(/key \[city_code, year\] not used: \[city_code, year\] is not unique/); // a key whose columns are absent is not this table's: no note
    expect(d.cells).toEqual([{ key: { row: 4 }, column: 'so2', a: 4, b: 5 }]);
    expect(fmtKey(d.cells[0]!.key)).toBe('row 4');
    const d2 = diffTables(a, b, { keys: [['city_code', 'year']] });
    expect(d2.keyNote).toMatch(/not unique in the old table \(city_code=1, year=2014 twice\)/);
    // more rows in b by position: the tail is added
    const c = panel([1, 2, 3, 4, 5], {}, [1, 1, 2, 2, 3], [2014, 2014, 2014, 2015, 2015]);
    const d3 = diffTables(a, c);
    expect([d3.changed, d3.added, d3.removed]).toEqual([0, 1, 0]);
    expect(d3.addedKeys).toEqual([{ row: 5 }]);
  });

  it('missing equals missing; text and numbers compare by value; columns added/removed are listed, not counted', () => {
    const a = panel([NaN, 2, 3, 4], { region: ['east', null, 'west', 'west'], old: [1, 1, 1, 1] });
    const b = panel([NaN, 2, NaN, 4], { region: ['east', 'north', 'west', 'west'], neu: [0, 0, 0, 0] });
    const d = diffTables(a, b, { keys: [['city_code', 'year']] });
    expect(d.perColumn).toEqual({ so2: 1, region: 1 });
    expect(d.changed).toBe(2);
    expect(d.columnsAdded).toEqual(['neu']);
    expect(d.columnsRemoved).toEqual(['old']);
    const lines = tableDiffLines(d);
    expect(lines).toContain('  city_code=330200, year=2014: so2 3 → NA');
    expect(lines).toContain('  city_code=330100, year=2015: region NA → north');
    expect(lines).toContain('  columns added: neu');
    // a key column stored as text in one version and as numbers in the other still matches
    const t = makeTable({ city_code: ['330100', '330100', '330200', '330200'], year: intColumnOf([2014, 2015, 2014, 2015]), so2: Float64Array.from([1, 2, 3, 4]) });
    expect(diffTables(panel([1, 2, 3, 4]), t, { keys: [['city_code', 'year']] }).changed).toBe(0);
  });

  it('keeps the first `limit` cells but counts them all', () => {
    const a = panel([1, 2, 3, 4]);
    const b = panel([5, 6, 7, 8]);
    const d = diffTables(a, b, { keys: [['city_code', 'year']], limit: 2 });
    expect(d.cells).toHaveLength(2);
    expect(d.perColumn.so2).toBe(4);
    expect(tableDiffLines(d)).toContain('  … 2 more changed cell(s)');
  });
});

describe('detail on reasons (rendered by reasons.ts only)', () => {
  it('an input reason with a table detail renders its line, then the rows and cells', () => {
    const d = diffTables(panel([1, 2, 3, 4]), panel([1, 2.25, 3, 4]), { keys: [['city_code', 'year']] });
    const r: Reason = { kind: 'input', name: 'panel', node: 'ingest', output: 'table', detail: [{ via: 'stored', what: 'ingest.table', table: d }] };
    expect(reasonLine(r)).toBe('input panel (ingest.table) changed');
    expect(detailLines(r, '  ')).toEqual([
      '  ingest.table: 1 row changed, 0 added, 0 removed (4 rows; keyed by city_code, year)',
      '    city_code=330100, year=2015: so2 2 → 2.25',
      '    changed cells per column: so2 1',
    ]);
    const f: Reason = { kind: 'file', path: 'data/p.csv', change: 'changed', detail: [{ via: 'reread', note: 'row-level detail after `repro run --target ingest`' }] };
    expect(detailLines(f, '')).toEqual(['row-level detail after `repro run --target ingest`']);
    expect(detailLines({ kind: 'forced' })).toEqual([]);
  });
});
