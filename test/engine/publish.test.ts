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
      comparison_md: '/p/results/table7.comparison.md',
    });
    expect(publishTargets('/p', 'results/baseline', { model: f('json') })).toEqual({ model: '/p/results/baseline.json' });
    expect(publishTargets('/p', 'results/psm', { sample: f('table'), pairs: f('table') })).toEqual({
      sample: '/p/results/psm.sample.csv',
      pairs: '/p/results/psm.pairs.csv',
    });
    // `<stem>_<ext>` → P.<stem>.<ext>, unless another output already has that file
    expect(publishTargets('/p', 'r/t', { x: f('file', 'md'), x_md: f('file', 'md'), y_html: f('file', 'html'), z_md: f('file', 'html') })).toEqual({
      x: '/p/r/t.x.md',
      x_md: '/p/r/t.x_md.md',
      y_html: '/p/r/t.y.html',
      z_md: '/p/r/t.z_md.html',
    });
  });
});
