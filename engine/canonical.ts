/**
 * Canonical JSON and hashing helpers shared by the fingerprint, the store and the history.
 *
 * Canonical JSON: object keys sorted (by UTF-16 code units), no whitespace, typed arrays written as
 * plain arrays, `undefined` members dropped, non-finite numbers written as `null` (as JSON.stringify
 * does). Two values that are equal as JSON give the same bytes whatever their key order.
 *
 * Non-finite numbers: JSON has none. JSON *artifacts* store NaN/±Infinity as `null` (what R's
 * jsonlite and pandas read as NA); a step or `show` reads exactly those bytes, so two results that
 * differ only there are the same artifact to everything downstream (early cutoff stays sound), and
 * the executor warns when a step's JSON output had non-finite numbers. *Fingerprints* must not
 * conflate them (`{lt: .inf}` and `{lt: -.inf}` are different params), so `exact: true` writes
 * them as `{"$number":"NaN"|"Infinity"|"-Infinity"}`.
 *
 * @example
 * canonicalJson({ b: 1, a: [1, 2] }); // '{"a":[1,2],"b":1}'
 */
import { createHash } from 'node:crypto';

function normalize(v: unknown, exact = false): unknown {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isFinite(v)) return exact ? { $number: String(v) } : null;
    if (typeof v === 'bigint') return v.toString();
    return v;
  }
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>, (x) => normalize(x, exact));
  if (Array.isArray(v)) return v.map((x) => (x === undefined || typeof x === 'function' ? null : normalize(x, exact)));
  const toJSON = (v as { toJSON?: () => unknown }).toJSON;
  if (typeof toJSON === 'function') return normalize(toJSON.call(v), exact);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v as object).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (x === undefined || typeof x === 'function') continue;
    out[k] = normalize(x, exact);
  }
  return out;
}

/**
 * The canonical JSON text of a value (sorted keys, no whitespace). `exact`: non-finite numbers as
 * `{"$number": "NaN"}` etc. instead of `null` (for fingerprints, see above).
 */
export function canonicalJson(v: unknown, exact = false): string {
  return JSON.stringify(normalize(v, exact)) ?? 'null';
}

/** JSON paths (`$.a[0].b`) of non-finite numbers in a value, at most `max` of them. */
export function nonFinitePaths(v: unknown, max = 3): { paths: string[]; count: number } {
  const paths: string[] = [];
  let count = 0;
  const walk = (x: unknown, at: string): void => {
    if (typeof x === 'number') {
      if (!Number.isFinite(x)) {
        count++;
        if (paths.length < max) paths.push(`${at} (${x})`);
      }
      return;
    }
    if (x === null || typeof x !== 'object') return;
    if (ArrayBuffer.isView(x) || Array.isArray(x)) {
      const a = x as unknown as ArrayLike<unknown>;
      for (let i = 0; i < a.length; i++) walk(a[i], `${at}[${i}]`);
      return;
    }
    for (const k of Object.keys(x)) walk((x as Record<string, unknown>)[k], /^[A-Za-z_$][\w$]*$/.test(k) ? `${at}.${k}` : `${at}[${JSON.stringify(k)}]`);
  };
  walk(v, '$');
  return { paths, count };
}

/** Hex sha256 of a string or bytes. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A short form of a hash for messages: the first 8 hex digits and an ellipsis. */
export function short(hash: string | undefined | null): string {
  return hash ? `${hash.slice(0, 8)}…` : '∅';
}

/**
 * The first place (`$.a[0].b`) where a value is not JSON data, with what is there, or null.
 * JSON data: null, booleans, strings, numbers, arrays, typed arrays, plain objects, and objects
 * with a toJSON method (Date). `undefined` members are allowed (dropped, as JSON.stringify does).
 * A function, symbol, bigint, Map, Set or class instance would be dropped or turned into `{}` by
 * the canonical JSON without a word: a JSON artifact holding one is refused instead.
 */
export function nonJsonAt(v: unknown): string | null {
  const walk = (x: unknown, at: string, depth: number): string | null => {
    if (depth > 200) return `${at}: nested more than 200 levels (a cycle?)`;
    if (x === null || x === undefined || typeof x === 'boolean' || typeof x === 'string' || typeof x === 'number') return null;
    if (typeof x === 'function' || typeof x === 'symbol' || typeof x === 'bigint') return `${at}: a ${typeof x}`;
    if (ArrayBuffer.isView(x)) return null;
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) {
        const p = walk(x[i], `${at}[${i}]`, depth + 1);
        if (p) return p;
      }
      return null;
    }
    if (typeof (x as { toJSON?: unknown }).toJSON === 'function') return null;
    const proto = Object.getPrototypeOf(x);
    if (proto !== Object.prototype && proto !== null) return `${at}: a ${(proto as { constructor?: { name?: string } }).constructor?.name ?? 'non-plain object'}`;
    for (const k of Object.keys(x)) {
      const p = walk((x as Record<string, unknown>)[k], /^[A-Za-z_$][\w$]*$/.test(k) ? `${at}.${k}` : `${at}[${JSON.stringify(k)}]`, depth + 1);
      if (p) return p;
    }
    return null;
  };
  return walk(v, '$', 0);
}
