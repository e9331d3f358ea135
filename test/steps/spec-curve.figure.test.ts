/**
 * `figure` with `type: spec-curve`: the chart of a spec-curve node's specs table (and summary) as SVG
 * and PNG — one curve block per outcome, every choice value as an indicator row, the base in red,
 * the summary in the subtitle — and its bad inputs.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import figure from '../../steps/figure.js';
import specCurve from '../../steps/spec-curve.js';
import { makeTable, type Table } from '../../engine/table.js';
import type { Artifact } from '../../engine/types.js';
import { demoPanel } from './staggered-data.js';
import { makeCtx } from './ctx.js';
import { renderCtx, text, ROOT } from './render-ctx.js';

const BASE = { y: 'so2', treat: 'did', controls: ['pgdp', 'indus', 'urb', 'fin', 'fis'], fe: ['city_code', 'year'], cluster: 'city_code' };
const CHOICES = {
  y: ['so2', 'so2_int'],
  controls: [[], ['pgdp', 'indus', 'urb', 'fin', 'fis']],
  fe: [['city_code', 'year'], ['province', 'year']],
  cluster: ['city_code', 'province'],
  sample: { all: {}, no_municipalities: { exclude: { municipality: [1] } } },
};

async function curve(): Promise<Record<string, Artifact>> {
  const f = makeCtx({ nodeId: 'spec_curve', def: specCurve });
  return specCurve.run(f.ctx, { panel: { type: 'table', table: await demoPanel() } }, specCurve.params.parse({ base: BASE, choices: CHOICES }));
}

describe('figure: spec-curve', () => {
  it('draws the sorted estimates per outcome, the indicator rows and the base, with the summary as subtitle', async () => {
    const c = await curve();
    const out = await figure.run(renderCtx('figure6'), { data: c.specs, summary: c.summary }, figure.params.parse({ type: 'spec-curve', title: 'Figure 6: Specification curve', var_labels: { so2: 'SO2', so2_int: 'SO2 intensity' }, choice_labels: { fe: 'Fixed effects' } }));
    const svg = text(out.svg);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Figure 6: Specification curve');
    expect(svg).toContain('y: SO2 intensity'); // one block per outcome
    for (const row of ['controls: none', 'controls: pgdp, indus, urb, fin, fis', 'Fixed effects: province + year', 'cluster: province', 'sample: no_municipalities']) expect(svg).toContain(row);
    expect(svg).toContain('Base specification');
    expect(svg).toMatch(/32 specifications: \d+% with the base's sign, \d+% significant at 5%/);
    const png = (out.png as { bytes: Uint8Array }).bytes;
    expect(Array.from(png.slice(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    mkdirSync(path.join(ROOT, 'test-output'), { recursive: true });
    writeFileSync(path.join(ROOT, 'test-output', 'figure6-spec-curve.png'), png);
  });

  it('works without the summary (values in order of appearance, no subtitle)', async () => {
    const c = await curve();
    const out = await figure.run(renderCtx('figure6b'), { data: c.specs }, figure.params.parse({ type: 'spec-curve' }));
    expect(text(out.svg)).toContain('fe: city_code + year');
  });

  it('rejects a table that is not a specs table, and inputs of other figure types', async () => {
    const bad: Artifact = { type: 'table', table: makeTable({ estimate: Float64Array.of(1, 2) }) as Table };
    await expect(figure.run(renderCtx('f'), { data: bad }, figure.params.parse({ type: 'spec-curve' }))).rejects.toThrow(/no numeric column "spec"; wire the specs output of a spec-curve node/);
    const c = await curve();
    await expect(figure.run(renderCtx('f'), { data: c.specs, pairs: c.specs }, figure.params.parse({ type: 'spec-curve' }))).rejects.toThrow(/input pairs is not used by type: spec-curve/);
  });
});
