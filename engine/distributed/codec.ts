/**
 * Values that cross Redis (ctx.map chunks, their shared data and results) are encoded with
 * Node's structured-clone serializer (`v8.serialize`): typed arrays, NaN, -0 and ±Infinity survive
 * bit for bit, which JSON would not. Job data and return values are JSON, so the bytes travel
 * as base64 there; large shared data is stored once under its own Redis key (binary).
 *
 * All workers must run the same Node major version (the serializer's format is versioned; an
 * older Node reading a newer format throws, it never misreads).
 */
import { createHash } from 'node:crypto';
import v8 from 'node:v8';

/** Structured-clone bytes of a value. */
export function encode(v: unknown): Buffer {
  return v8.serialize(v);
}

/** The value of {@link encode}'s bytes. */
export function decode<T = unknown>(b: Uint8Array): T {
  return v8.deserialize(b) as T;
}

export const toB64 = (v: unknown): string => encode(v).toString('base64');
export const fromB64 = <T = unknown>(s: string): T => decode<T>(Buffer.from(s, 'base64'));

/** sha256 hex of bytes or strings, in order. */
export function sha256(...parts: (string | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(p);
    h.update('\0');
  }
  return h.digest('hex');
}
