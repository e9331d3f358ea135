/** boundTranscript (history.ts): what the run history keeps of a step's transcript. */
import { describe, expect, it } from 'vitest';
import { boundTranscript, TRANSCRIPT_MAX_BYTES, TRANSCRIPT_MAX_LINES } from '../../engine/history.js';

describe('boundTranscript', () => {
  it('keeps a short transcript as it is', () => {
    expect(boundTranscript('a\nb\n')).toBe('a\nb\n');
    expect(boundTranscript('')).toBe('');
    const lines = Array.from({ length: TRANSCRIPT_MAX_LINES }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
    expect(boundTranscript(lines)).toBe(lines);
  });

  it('keeps the last 200 lines, with a note saying what was left out', () => {
    const text = Array.from({ length: 500 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
    const out = boundTranscript(text);
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(TRANSCRIPT_MAX_LINES + 1);
    expect(lines[0]).toBe(`… (transcript cut: 300 of 500 lines (${Buffer.byteLength(text) - Buffer.byteLength(lines.slice(1).join('\n'))} bytes) left out; the history keeps the last 200 lines / 64 KB) …`);
    expect(lines[1]).toBe('line 301');
    expect(lines[200]).toBe('line 500');
  });

  it('keeps at most 64 KB of whole lines, never splitting a UTF-8 character', () => {
    const long = 'é'.repeat(1000); // 2000 bytes per line
    const text = Array.from({ length: 100 }, (_, i) => `${i}:${long}`).join('\n');
    const out = boundTranscript(text);
    const body = out.slice(out.indexOf('\n') + 1);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(TRANSCRIPT_MAX_BYTES + 1);
    expect(body).not.toContain('\uFFFD');
    const kept = body.trimEnd().split('\n');
    expect(kept[kept.length - 1]).toBe(`99:${long}`);
    expect(kept.every((l) => /^\d+:é{1000}$/.test(l))).toBe(true); // whole lines only
    expect(out).toMatch(new RegExp(`^… \\(transcript cut: ${100 - kept.length} of 100 lines`));
    // one line longer than the bound: its tail is kept
    const one = boundTranscript('x'.repeat(100_000));
    expect(one).toMatch(/^… \(transcript cut: the first 34464 bytes of a long line left out/);
    expect(one.slice(one.indexOf('\n') + 1)).toBe('x'.repeat(TRANSCRIPT_MAX_BYTES) + '\n');
  });
});
