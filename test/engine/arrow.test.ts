/**
 * engine/arrow.ts: table artifacts as Arrow IPC — round trip (NaN ↔ null, text nulls, column
 * order), deterministic bytes readable by apache-arrow, and malformed tables refused.
 */
import { describe, expect, it } from 'vitest';
import { tableFromIPC } from 'apache-arrow';
import { arrowToTable, tableToArrow } from '../../engine/arrow.js';
import { makeTable } from '../../engine/table.js';

describe('Arrow IPC tables', () => {
  const t = makeTable(
    { '2019': new Float64Array([1.5, NaN, -0, 1e300]), city: ['北京', null, 'a,b', ''], y: new Float64Array([1, 2, 3, 4]) },
    ['y', '2019', 'city'],
  );
  it('round-trips numbers (NaN ↔ null), text (null kept) and column order', () => {
    const back = arrowToTable(tableToArrow(t));
    expect(back.names).toEqual(['y', '2019', 'city']);
    expect(Array.from(back.columns['2019'] as Float64Array)).toEqual([1.5, NaN, -0, 1e300]);
    expect(back.columns.city).toEqual(['北京', null, 'a,b', '']);
    expect(back.nrows).toBe(4);
  });
  it('is deterministic and readable by apache-arrow as Float64/Utf8 with nulls', () => {
    const a = tableToArrow(t);
    const b = tableToArrow(makeTable({ ...t.columns }, [...t.names]));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const at = tableFromIPC(a);
    expect(at.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['y:Float64', '2019:Float64', 'city:Utf8']);
    expect(at.getChild('2019')!.get(1)).toBeNull();
    expect(at.getChild('city')!.get(1)).toBeNull();
  });
});

describe('table artifacts', () => {
  it('a malformed table is refused, never stored truncated or padded', async () => {
    const { tableToArrow, arrowToTable } = await import('../../engine/arrow.js');
    const T = (names: string[], columns: Record<string, unknown>, nrows: unknown) => ({ names, columns, nrows }) as unknown as Parameters<typeof tableToArrow>[0];
    expect(() => tableToArrow(T(['x'], { x: Float64Array.of(1, 2, 3) }, 2))).toThrow('table column "x" has 3 values but the table has nrows = 2');
    expect(() => tableToArrow(T(['x', 's'], { x: Float64Array.of(1, 2, 3), s: ['a'] }, 3))).toThrow('table column "s" has 1 values but the table has nrows = 3');
    expect(() => tableToArrow(T(['x', 'x'], { x: Float64Array.of(1) }, 1))).toThrow('table column "x" is listed twice in names');
    expect(() => tableToArrow(T(['x'], { x: Float64Array.of(1) }, undefined))).toThrow('table nrows must be a non-negative integer, got undefined');
    const ok = arrowToTable(tableToArrow(T(['x', 's'], { x: Float64Array.of(1, NaN), s: ['a', null] }, 2)));
    expect([ok.nrows, Array.from(ok.columns.x as Float64Array), ok.columns.s]).toEqual([2, [1, NaN], ['a', null]]);
  });
});

describe('table validation on store', () => {
  it('rejects numbers in a plain-array column with a message naming the column and the fix', () => {
    const t = { names: ['x'], columns: { x: [1, 2] as unknown as string[] }, nrows: 2 };
    expect(() => tableToArrow(t)).toThrow(/column "x" row 1 holds number 1: .*Float64Array/);
    const i = arrowToTable(tableToArrow({ names: ['n'], columns: { n: Int32Array.of(1, 2) as unknown as Float64Array }, nrows: 2 }));
    expect(Array.from(i.columns.n as Float64Array)).toEqual([1, 2]);
  });
});
