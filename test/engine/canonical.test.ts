/**
 * engine/canonical.ts: canonical JSON (sorted keys, typed arrays as arrays, undefined dropped),
 * non-finite numbers as null for artifacts but distinct in exact mode (fingerprints), and the
 * JSON-data check of JSON artifacts.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, nonFinitePaths, nonJsonAt, sha256, short } from '../../engine/canonical.js';

describe('canonical JSON', () => {
  it('sorts keys at every level and writes typed arrays as arrays', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: new Float64Array([0.5, 2]) } })).toBe('{"a":{"c":[0.5,2],"d":[1,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({ a: undefined, b: NaN })).toBe('{"b":null}');
  });

  it('key order is irrelevant: values equal as JSON give the same bytes (and hash)', () => {
    const x = { y: 'so2', controls: ['pgdp', 'indus'], where: { year: { le: 2019, ge: 2011 } } };
    const y = { where: { year: { ge: 2011, le: 2019 } }, controls: ['pgdp', 'indus'], y: 'so2' };
    expect(canonicalJson(y)).toBe(canonicalJson(x));
    expect(sha256(canonicalJson(y))).toBe(sha256(canonicalJson(x)));
    // array order is data: it matters
    expect(canonicalJson({ ...x, controls: ['indus', 'pgdp'] })).not.toBe(canonicalJson(x));
  });

  it('exact mode keeps NaN and ±Infinity distinct from null and from each other; plain mode writes null as JSON does', () => {
    const vals = [NaN, Infinity, -Infinity, null];
    expect(new Set(vals.map((v) => canonicalJson({ v }, true))).size).toBe(4);
    expect(canonicalJson({ v: NaN }, true)).toBe('{"v":{"$number":"NaN"}}');
    expect(canonicalJson([Infinity], true)).toBe('[{"$number":"Infinity"}]');
    expect(canonicalJson(Float64Array.of(1, NaN), true)).toBe('[1,{"$number":"NaN"}]');
    expect(new Set(vals.map((v) => canonicalJson({ v })))).toEqual(new Set(['{"v":null}']));
    expect(canonicalJson({ v: NaN })).toBe(JSON.stringify({ v: NaN }));
  });
});

describe('checks and helpers', () => {
  it('nonFinitePaths names where the non-finite numbers are, at most max of them, with the count', () => {
    expect(nonFinitePaths({ a: NaN, b: [1, Infinity], 'c d': { e: -Infinity } })).toEqual({ paths: ['$.a (NaN)', '$.b[1] (Infinity)', '$["c d"].e (-Infinity)'], count: 3 });
    expect(nonFinitePaths({ a: [NaN, NaN, NaN] }, 2)).toEqual({ paths: ['$.a[0] (NaN)', '$.a[1] (NaN)'], count: 3 });
    expect(nonFinitePaths({ a: 1 })).toEqual({ paths: [], count: 0 });
  });

  it('nonJsonAt finds the first value JSON cannot say; plain data, typed arrays and Dates pass', () => {
    expect(nonJsonAt({ a: [1, 'x', null, true, { b: Float64Array.of(1) }], d: new Date(0), u: undefined })).toBeNull();
    expect(nonJsonAt({ rows: [{ m: new Map() }] })).toBe('$.rows[0].m: a Map');
    expect(nonJsonAt({ f: () => 1 })).toBe('$.f: a function');
    expect(nonJsonAt({ n: 1n })).toBe('$.n: a bigint');
  });

  it('short shows the first 8 hex digits', () => {
    expect(short('0123456789abcdef')).toBe('01234567…');
    expect(short(null)).toBe('∅');
  });
});
