/**
 * The staggered-DID outputs are accepted by their consumers: `tabulate` takes the `att` models of
 * sunab and did-imputation (one column each, term ATT) and `figure` draws their `event` studies
 * (did-imputation has no base period: `base` is null).
 */
import { describe, expect, it } from 'vitest';
import sunab from '../../steps/sunab.js';
import imputation from '../../steps/did-imputation.js';
import tabulate from '../../steps/tabulate.js';
import figure from '../../steps/figure.js';
import { renderCtx } from './render-ctx.js';
import { fakeCtx } from './stats-helpers.js';
import { demoPanel } from './staggered-data.js';

describe('sunab / did-imputation outputs in tabulate and figure', () => {
  it('tabulates the ATTs and draws the event studies', async () => {
    const panel = { type: 'table' as const, table: await demoPanel() };
    const p = { y: 'so2', unit: 'city_code', time: 'year', adopt: 'adopt' };
    const s = await sunab.run(fakeCtx().ctx, { panel }, sunab.params.parse(p));
    const m = await imputation.run(fakeCtx().ctx, { panel }, imputation.params.parse({ ...p, pretrends: 4 }));
    const tab = await tabulate.run(renderCtx('t9'), { models: [s.att!, m.att!] }, tabulate.params.parse({ title: 'ATT', formats: ['md'] }));
    const md = Buffer.from((tab.md as any).bytes).toString('utf8');
    expect(md).toMatch(/\| ATT +\|/);
    expect(md.split('\n').find((l) => l.startsWith('| ATT'))!.split('|').filter((c) => /\d/.test(c))).toHaveLength(2);
    for (const ev of [s.event!, m.event!]) {
      const fig = await figure.run(renderCtx('f3'), { data: ev }, figure.params.parse({ type: 'event-study', title: 'event' }));
      expect(Object.keys(fig)).toContain('svg');
    }
  }, 60_000);
});
