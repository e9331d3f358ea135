/**
 * Canonical JSON and hashing helpers shared by the fingerprint, the store and the history.
 *
 * Canonical JSON: object keys sorted (by UTF-16 code units), no whitespace, typed arrays written as
 * plain arrays, `undefined` members dropped, non-finite numbers written as `null` (as JSON.stringify
 * does). Two values that are equal as JSON give the same bytes whatever their key order.
 *
 * @example
 * canonicalJson({ b: 1, a: [1, 2] }); // '{"a":[1,2],"b":1}'
 */
import { createHash } from 'node:crypto';

function normalize(v: unknown): unknown {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isFinite(v)) return null;
    if (typeof v === 'bigint') return v.toString();
    return v;
  }
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>, (x) => normalize(x));
  if (Array.isArray(v)) return v.map((x) => (x === undefined || typeof x === 'function' ? null : normalize(x)));
  const toJSON = (v as { toJSON?: () => unknown }).toJSON;
  if (typeof toJSON === 'function') return normalize(toJSON.call(v));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v as object).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (x === undefined || typeof x === 'function') continue;
    out[k] = normalize(x);
  }
  return out;
}

/** The canonical JSON text of a value (sorted keys, no whitespace). */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(normalize(v)) ?? 'null';
}

/** Hex sha256 of a string or bytes. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A short form of a hash for messages: the first 8 hex digits and an ellipsis. */
export function short(hash: string | undefined | null): string {
  return hash ? `${hash.slice(0, 8)}…` : '∅';
}
