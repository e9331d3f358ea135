/**
 * engine/publish.ts: the publish layout (P.<ext> / P.<output>.<ext>).
 */
import { describe, expect, it } from 'vitest';
import { publishTargets } from '../../engine/publish.js';

describe('publish layout', () => {
  it('P.<ext> for an output named like its extension or a single output, P.<output>.<ext> otherwise', () => {
    const f = (type: 'table' | 'json' | 'file', ext?: string) => ({ hash: 'h', type, size: 1, ...(ext ? { ext } : {}) });
    expect(publishTargets('/p', 'results/table7', { md: f('file', 'md'), tex: f('file', 'tex'), comparison: f('json'), comparison_md: f('file', 'md') })).toEqual({
      md: '/p/results/table7.md',
      tex: '/p/results/table7.tex',
      comparison: '/p/results/table7.comparison.json',
      comparison_md: '/p/results/table7.comparison_md.md',
    });
    expect(publishTargets('/p', 'results/baseline', { model: f('json') })).toEqual({ model: '/p/results/baseline.json' });
    expect(publishTargets('/p', 'results/psm', { sample: f('table'), pairs: f('table') })).toEqual({
      sample: '/p/results/psm.sample.csv',
      pairs: '/p/results/psm.pairs.csv',
    });
  });
});
