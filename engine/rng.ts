/**
 * Counter-based random numbers: Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers:
 * as easy as 1, 2, 3"), keyed by sha256(pipeline seed, node id, stream). The n-th block of a
 * stream depends only on (key, n), so results are bit-identical whatever the thread count or
 * the order in which streams are consumed.
 *
 * @example
 * const r = rngFromKey(rngKeyOf(20250217, 'placebo', 17));
 * r.uniform(); // same value on every machine
 */
import { createHash } from 'node:crypto';
import type { Rng } from './types.js';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32. */
function mulhi(a: number, b: number): number {
  const aH = a >>> 16, aL = a & 0xffff, bH = b >>> 16, bL = b & 0xffff;
  const lo = aL * bL;
  const mid1 = aH * bL;
  const mid2 = aL * bH;
  const carry = ((lo >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
  return (aH * bH + (mid1 >>> 16) + (mid2 >>> 16) + carry) >>> 0;
}

/** One Philox4x32-10 block: 4 uint32 outputs for counter (c0..c3) and key (k0, k1). */
export function philox4x32(c: Uint32Array, k0: number, k1: number, out: Uint32Array): void {
  let x0 = c[0]!, x1 = c[1]!, x2 = c[2]!, x3 = c[3]!;
  let ka = k0 >>> 0, kb = k1 >>> 0;
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi(M0, x0), lo0 = Math.imul(M0, x0) >>> 0;
    const hi1 = mulhi(M1, x2), lo1 = Math.imul(M1, x2) >>> 0;
    const y0 = (hi1 ^ x1 ^ ka) >>> 0;
    const y1 = lo1;
    const y2 = (hi0 ^ x3 ^ kb) >>> 0;
    const y3 = lo0;
    x0 = y0; x1 = y1; x2 = y2; x3 = y3;
    ka = (ka + W0) >>> 0;
    kb = (kb + W1) >>> 0;
  }
  out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3;
}

/** The key string of a stream: hex sha256 of seed, node id and stream, NUL-separated. */
export function rngKeyOf(seed: number, nodeId: string, stream: string | number = ''): string {
  return createHash('sha256').update(`${seed}\u0000${nodeId}\u0000${stream}`).digest('hex');
}

/** A generator for a key made by {@link rngKeyOf}. */
export function rngFromKey(key: string): Rng {
  const k0 = parseInt(key.slice(0, 8), 16) >>> 0;
  const k1 = parseInt(key.slice(8, 16), 16) >>> 0;
  // the upper two counter words come from the key too, so distinct keys never share blocks
  const counter = new Uint32Array([0, 0, parseInt(key.slice(16, 24), 16) >>> 0, parseInt(key.slice(24, 32), 16) >>> 0]);
  const block = new Uint32Array(4);
  let pos = 4;
  let spareNormal: number | null = null;
  const next32 = (): number => {
    if (pos === 4) {
      philox4x32(counter, k0, k1, block);
      counter[0] = (counter[0]! + 1) >>> 0;
      if (counter[0] === 0) counter[1] = (counter[1]! + 1) >>> 0;
      pos = 0;
    }
    return block[pos++]!;
  };
  const uniform = (): number => {
    const a = next32() >>> 5; // 27 bits
    const b = next32() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  };
  const int = (n: number): number => {
    if (!(n >= 1) || !Number.isFinite(n)) throw new Error(`rng.int: n must be a positive integer, got ${n}`);
    // rejection sampling on 53-bit uniforms: unbiased for any n < 2^53
    const lim = Math.floor(9007199254740992 / n) * n;
    for (;;) {
      const u = uniform() * 9007199254740992;
      if (u < lim) return u % n;
    }
  };
  const normal = (): number => {
    if (spareNormal !== null) {
      const s = spareNormal;
      spareNormal = null;
      return s;
    }
    // Marsaglia polar method
    for (;;) {
      const u = 2 * uniform() - 1;
      const v = 2 * uniform() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        spareNormal = v * f;
        return u * f;
      }
    }
  };
  const shuffle = <T>(xs: T[]): T[] => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = int(i + 1);
      const t = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = t;
    }
    return xs;
  };
  return { uniform, int, normal, shuffle };
}
