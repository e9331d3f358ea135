/**
 * Artifact contracts checked at validation (exit 2, file:line:col), before anything runs: the
 * engine compares the opaque names producers declare and consumers accept (the study's steps).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parsePipeline } from '../../../engine/config/load.js';
import { registry } from '../../../steps/index.js';

const FILE = '/proj/pipeline.yaml';
const y = (...lines: string[]) => `${lines.join('\n')}\n`;
const head = [
  'steps:',
  '  panel:',
  '    kind: ingest',
  '    with: {path: data/demo/city-panel.csv}',
  '  model:',
  '    kind: estimate',
  '    in: panel',
  '    with: {y: so2, treat: did, fe: [city_code, year], cluster: city_code}',
  '  es:',
  '    kind: event-study',
  '    in: panel',
  '    with: {y: so2, unit: city_code, time: year, adopt: pilot_year}',
];

async function load(text: string) {
  return parsePipeline(text, FILE, { registry });
}
async function errorOf(text: string): Promise<ConfigError> {
  try {
    await load(text);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('artifact contracts', () => {
  it('figure type event-study fed a model is an error at the `in:` value', async () => {
    const e = await errorOf(y(...head, '  fig:', '    kind: figure', '    in: model', '    with: {type: event-study}'));
    expect(e.message).toContain('input "data" of kind "figure" accepts "event-study" artifacts, but model.model (kind "estimate") is a "model" artifact');
    expect(e.line).toBe(15);
    expect(e.col).toBe(9);
  });
  it('tabulate fed an event study is an error; the hint names what to connect', async () => {
    const e = await errorOf(y(...head, '  tab:', '    kind: tabulate', '    in: [model, es]', '    with: {title: T}'));
    expect(e.message).toContain('accepts "model" artifacts, but es.event (kind "event-study") is a "event-study" artifact');
    expect(e.line).toBe(15);
    expect(String(e.hint)).toContain('connect a step that produces "model"');
  });
  it('what a consumer accepts may depend on its params (figure type placebo takes the placebo summary)', async () => {
    const ok = y(
      ...head,
      '  pl:',
      '    kind: placebo',
      '    in: panel',
      '    with: {y: so2, treat: did, fe: [city_code, year], cluster: city_code, unit: city_code, time: year, adopt: pilot_year, reps: 10}',
      '  fig:',
      '    kind: figure',
      '    in: {data: pl.summary, replicates: pl.replicates}',
      '    with: {type: placebo}',
      '  fig2:',
      '    kind: figure',
      '    in: es',
      '    with: {type: event-study}',
    );
    await expect(load(ok)).resolves.toBeTruthy();
    const bad = ok.replace('with: {type: placebo}', 'with: {type: event-study}');
    const e = await errorOf(bad);
    expect(e.message).toContain('accepts "event-study" artifacts, but pl.summary (kind "placebo") is a "placebo" artifact');
  });
});
