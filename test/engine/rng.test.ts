/**
 * engine/rng.ts: Philox4x32-10 counter-based streams keyed by sha256(seed, node id, stream).
 * Known answers from Random123 (Salmon et al. 2011), tests/kat_vectors, the three
 * "philox4x32 10" lines (counter[4] key[2] → output[4], hex uint32).
 */
import { describe, expect, it } from 'vitest';
import { philox4x32, rngFromKey, rngKeyOf } from '../../engine/rng.js';

describe('philox4x32', () => {
  // Random123 tests/kat_vectors: philox4x32 10 CTR(4) KEY(2) → OUT(4)
  const KAT: [number[], [number, number], number[]][] = [
    [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
    [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
    [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
  ];
  it.each(KAT)('matches the Random123 known answer for counter %j, key %j', (ctr, key, want) => {
    const out = new Uint32Array(4);
    philox4x32(Uint32Array.from(ctr), key[0], key[1], out);
    expect(Array.from(out)).toEqual(want);
  });
});

describe('streams', () => {
  it('the same key gives the same stream; the seed, node id and stream name each change it', () => {
    const draw = (key: string) => {
      const r = rngFromKey(key);
      return [r.uniform(), r.uniform(), r.int(1000), r.normal(), r.normal(), r.normal()];
    };
    const k = rngKeyOf(20250217, 'placebo', 17);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(rngKeyOf(20250217, 'placebo', 17)).toBe(k);
    expect(draw(k)).toEqual(draw(k));
    const others = [rngKeyOf(20250218, 'placebo', 17), rngKeyOf(20250217, 'placebo2', 17), rngKeyOf(20250217, 'placebo', 18), rngKeyOf(20250217, 'placebo')];
    expect(new Set([k, ...others]).size).toBe(5);
    for (const o of others) expect(draw(o)[0]).not.toBe(draw(k)[0]);
    // the separator is unambiguous: ("a", "b\0c") and ("a\0b", "c") are different streams
    expect(rngKeyOf(1, 'a', 'b\u0000c')).not.toBe(rngKeyOf(1, 'a\u0000b', ''));
  });

  it('uniform is in [0, 1) with the mean and variance of U(0, 1); int(n) is in 0..n−1 and rejects a bad n', () => {
    const r = rngFromKey(rngKeyOf(1, 'u'));
    const n = 20_000;
    let s = 0;
    let s2 = 0;
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      s += u;
      s2 += u * u;
      counts[r.int(7)]!++;
    }
    const mean = s / n;
    // mean of U(0,1) is 1/2 with sd √(1/12/n) ≈ 0.002: 5 sd
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.0102);
    expect(Math.abs(s2 / n - mean * mean - 1 / 12)).toBeLessThan(0.005);
    for (const c of counts) expect(Math.abs(c - n / 7)).toBeLessThan(5 * Math.sqrt((n * (1 / 7) * (6 / 7)))); // binomial sd
    expect(() => r.int(0)).toThrow('rng.int: n must be a positive integer, got 0');
    expect(() => r.int(Infinity)).toThrow('rng.int: n must be a positive integer');
  });

  it('shuffle permutes in place, reproducibly for a key', () => {
    const xs = Array.from({ length: 50 }, (_, i) => i);
    const a = rngFromKey(rngKeyOf(3, 's')).shuffle([...xs]);
    const b = rngFromKey(rngKeyOf(3, 's')).shuffle([...xs]);
    expect(a).toEqual(b);
    expect([...a].sort((p, q) => p - q)).toEqual(xs);
    expect(a).not.toEqual(xs);
    const inPlace = [...xs];
    expect(rngFromKey(rngKeyOf(3, 's')).shuffle(inPlace)).toBe(inPlace);
  });
});
