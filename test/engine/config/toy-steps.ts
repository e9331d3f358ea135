/**
 * Toy step kinds for the config tests (independent of the real steps/, which evolve separately).
 */
import { z } from 'zod';
import { defineStep, type StepDef } from '../../../engine/types.js';
import type { Registry } from '../../../engine/config/load.js';

const noop = async () => ({});

export const source = defineStep({
  kind: 'source',
  doc: 'Reads a table from a file.',
  params: z.strictObject({
    path: z.string().describe('file to read, relative to the YAML'),
    rows: z.int().min(1).default(10).describe('rows to read'),
  }),
  pathParams: ['path'],
  inputs: {},
  outputs: { table: 'table' },
  run: noop,
});

export const transform = defineStep({
  kind: 'transform',
  doc: 'Transforms a table.',
  params: z.strictObject({
    factor: z.number().default(1).describe('multiplier'),
    lookup: z.array(z.string()).optional().describe('extra files'),
    where: z.record(z.string(), z.unknown()).optional().describe('row filter'),
  }),
  pathParams: ['lookup'],
  inputs: { data: { type: 'table' }, extra: { type: 'table', optional: true } },
  outputs: { out: 'table', summary: 'json' },
  run: noop,
});

export const model = defineStep({
  kind: 'model',
  doc: 'Fits a model.',
  params: z.strictObject({
    y: z.string().describe('outcome column'),
    controls: z.array(z.string()).default([]).describe('control columns'),
    cluster: z.string().optional().describe('cluster column'),
    where: z.record(z.string(), z.unknown()).optional().describe('row filter'),
    level: z.number().min(0).max(1).default(0.95).describe('confidence level'),
    opts: z.strictObject({ tol: z.number().default(1e-8).describe('tolerance'), iter: z.int().default(100) }).default({ tol: 1e-8, iter: 100 }).describe('solver options'),
  }),
  inputs: { panel: { type: 'table' } },
  outputs: { model: 'json' },
  run: noop,
});

export const collect = defineStep({
  kind: 'collect',
  doc: 'Collects models into a table.',
  params: z.strictObject({ title: z.string().describe('table title') }),
  inputs: { models: { type: 'json', many: true }, extra: { type: 'table', optional: true } },
  outputs: { doc: 'file' },
  run: noop,
});

const defs: StepDef[] = [source, transform, model, collect];

/** A registry like steps/index.ts, with a load counter. */
export function toyRegistry(): Registry & { loads: Record<string, number> } {
  const loads: Record<string, number> = {};
  const reg: Record<string, { file: string; load(): Promise<StepDef> }> = {};
  for (const d of defs) {
    reg[d.kind] = {
      file: `steps/${d.kind}.ts`,
      load: async () => {
        loads[d.kind] = (loads[d.kind] ?? 0) + 1;
        return d;
      },
    };
  }
  // Not enumerable: the registry's keys must be exactly the step kinds.
  Object.defineProperty(reg, 'loads', { value: loads, enumerable: false });
  return reg as Registry & { loads: Record<string, number> };
}
