/**
 * engine/cli/ui.ts ProgressBar: rate and ETA from an injected clock, redrawn in place on a TTY,
 * throttled lines on a pipe, a new phase (label or total) restarts the rate; engine/text.ts
 * formatTextTable aligns by display width.
 */
import { describe, expect, it } from 'vitest';
import { Chalk } from 'chalk';
import { fmtEta, ProgressBar } from '../../engine/cli/ui.js';
import { displayWidth, formatTextTable } from '../../engine/text.js';

const c = new Chalk({ level: 0 });

function fake(tty: boolean) {
  const out: string[] = [];
  let t = 1_000_000;
  const stream = { isTTY: tty, columns: 200, write: (s: string) => void out.push(s) };
  return { out, stream, now: () => t, tick: (ms: number) => void (t += ms) };
}

describe('ProgressBar', () => {
  it('on a TTY draws label, percent, count, rate and ETA in place', () => {
    const f = fake(true);
    const bar = new ProgressBar(c, f);
    bar.update('psm', 0, 1000, 'matching');
    expect(f.out.at(-1)).toBe(`\r\x1b[Kpsm ${'░'.repeat(20)} matching 0% 0/1.0k`); // no rate before 0.5 s
    f.tick(2000);
    bar.update('psm', 400, 1000, 'matching');
    // 400 in 2 s = 200/s; 600 left → 3 s
    expect(f.out.at(-1)).toBe(`\r\x1b[Kpsm ${'█'.repeat(8)}${'░'.repeat(12)} matching 40% 400/1.0k 200/s ETA 3 s`);
    f.tick(50);
    const n = f.out.length;
    bar.update('psm', 410, 1000, 'matching'); // within 80 ms of the last draw: not redrawn
    expect(f.out.length).toBe(n);
    f.tick(100);
    bar.clear();
    expect(f.out.at(-1)).toBe('\r\x1b[K');
    bar.finish('psm');
  });

  it('a new phase restarts the rate; a long ETA reads in minutes', () => {
    const f = fake(true);
    const bar = new ProgressBar(c, f);
    bar.update('m', 0, 1, 'propensity score');
    f.tick(10_000);
    bar.update('m', 1, 1, 'propensity score');
    expect(f.out.at(-1)).toContain('propensity score 100% 1/1 0.1/s');
    expect(f.out.at(-1)).not.toContain('ETA');
    f.tick(100);
    bar.update('m', 0, 100_000, 'matching');
    f.tick(1000);
    bar.update('m', 500, 100_000, 'matching');
    // 500/s since the matching phase began; 99,500 left → 199 s
    expect(f.out.at(-1)).toContain('matching 0% 500/100k 500/s ETA 3 m 19 s');
  });

  it('on a pipe prints a line at most every 2 s, the first after 2 s', () => {
    const f = fake(false);
    const bar = new ProgressBar(c, f);
    bar.update('placebo', 0, 500, 'draws');
    f.tick(1000);
    bar.update('placebo', 100, 500, 'draws');
    expect(f.out).toEqual([]);
    f.tick(1000);
    bar.update('placebo', 200, 500, 'draws');
    expect(f.out).toEqual(['  … placebo: draws 40% 200/500 100/s ETA 3 s\n']);
    f.tick(500);
    bar.update('placebo', 250, 500, 'draws');
    expect(f.out).toHaveLength(1);
    bar.clear(); // nothing to clear on a pipe
    expect(f.out).toHaveLength(1);
  });

  it('fmtEta', () => {
    expect(fmtEta(0.4)).toBe('0 s');
    expect(fmtEta(59)).toBe('59 s');
    expect(fmtEta(65)).toBe('1 m 05 s');
    expect(fmtEta(3725)).toBe('1 h 02 m');
  });
});

describe('formatTextTable (engine/text.ts)', () => {
  it('pads by display width: CJK counts two columns, numeric columns right-aligned', () => {
    const t = formatTextTable(['city', 'so2'], [['北京', '1.5'], ["Xi'an", '12'], ['哈尔滨市', '0.25']], new Set([1]));
    const lines = t.trimEnd().split('\n');
    // 哈尔滨市 is 4 characters but 8 columns wide; 北京 pads with 6 spaces, Xi'an with 3
    expect(lines).toEqual(['city       so2', '--------  ----', '北京       1.5', "Xi'an       12", '哈尔滨市  0.25']);
    expect(new Set([lines[0], ...lines.slice(2)].map(displayWidth)).size).toBe(1);
  });
});
