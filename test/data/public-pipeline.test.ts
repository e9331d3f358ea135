/**
 * pipelines/public-2011-2019.yaml on the real 2011–2019 city panel (../shared/data, when present):
 * its params validate against the step schemas, and ingest → clean → merge-roster → estimate run
 * in-process with paths resolved against the YAML's folder.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { registry } from '../../steps/index.js';
import ingest from '../../steps/ingest.js';
import clean from '../../steps/clean.js';
import merge from '../../steps/merge-roster.js';
import estimate from '../../steps/estimate.js';
import { jsonOf, makeCtx, runStep, tableOf } from '../steps/ctx.js';
import { needsSharedData } from '../shared-data.js';

const YAML = path.join(PROJECT_ROOT, 'pipelines/public-2011-2019.yaml');
const spec = parse(readFileSync(YAML, 'utf8')) as { steps: Record<string, { kind: string; with: Record<string, unknown> }> };
const baseDir = path.dirname(YAML);

describe('pipelines/public-2011-2019.yaml', () => {
  it('every node\'s params validate against its step schema', async () => {
    for (const [id, node] of Object.entries(spec.steps)) {
      const def = await registry[node.kind]!.load();
      const r = def.params.safeParse(node.with);
      expect(r.success, `${id}: ${r.success ? '' : r.error.message}`).toBe(true);
    }
  });

  needsSharedData('china-city-so2-2011-2019/panel_data_so2_new.csv').it('runs ingest → clean → merge-roster → baseline on the real panel', async () => {
    const fake = makeCtx({ baseDir });
    const raw = tableOf((await runStep(ingest, spec.steps.ingest!.with, {}, fake)).table);
    expect(raw.nrows).toBe(2620);
    expect(new Set(raw.columns.city_code as Float64Array).size).toBe(296);
    expect(fake.infos.join('\n')).toMatch(/utf8 \(BOM\)/);
    const cleaned = await runStep(clean, spec.steps.clean!.with, { table: { type: 'table', table: raw } }, fake);
    const rep = jsonOf(cleaned.report);
    expect(rep.stages.find((s: { stage: string }) => s.stage === 'require').dropped).toBe(194); // OfficialSO2 missing
    const merged = await runStep(merge, spec.steps.panel!.with, { panel: cleaned.table }, fake);
    const mrep = jsonOf(merged.report);
    expect(mrep.dropped_unknown_codes).toEqual([]);
    expect(mrep.treated_units).toBe(126);
    expect(mrep.not_in_panel.sort()).toEqual([
      'Dehong (Dehong Dai and Jingpo Autonomous Prefecture) (533100)',
      'Honghe Hani and Yi Autonomous Prefecture (532500)',
      'Kashgar Prefecture (653100)',
    ]);
    const model = jsonOf((await runStep(estimate, spec.steps.baseline!.with, { panel: merged.panel }, fake)).model);
    const did = model.coefficients[0];
    expect(did.term).toBe('did');
    expect(model.n).toBeGreaterThan(2300);
    expect(Number.isFinite(did.estimate) && did.se > 0).toBe(true);
  });
});
