/**
 * pipeline.schema.json: generated from the zod schemas, and kept in sync with the committed file.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { pipelineJsonSchema, pipelineSchemaText, WRITE_SCHEMA_COMMAND } from '../../../engine/config/json-schema.js';
import { PROJECT_ROOT } from '../../../engine/paths.js';
import { registry } from '../../../steps/index.js';
import { toyRegistry } from './toy-steps.js';

describe('pipeline.schema.json', () => {
  test('per-kind `with` schemas are attached with if/then on `kind`', async () => {
    const s = (await pipelineJsonSchema(toyRegistry())) as any;
    expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(s.required).toEqual(['steps']);
    expect(s.additionalProperties).toBe(false);
    const step = s.properties.steps.additionalProperties;
    expect(Object.keys(step.properties)).toEqual(['kind', 'in', 'with', 'extends', 'foreach', 'publish']);
    expect(step.additionalProperties).toBe(false);
    expect(step.properties.kind.enum).toEqual(['collect', 'model', 'source', 'transform']);
    const model = step.allOf.filter((x: any) => x.if.properties.kind.const === 'model');
    expect(model).toHaveLength(2);
    // params: documented, unknown keys rejected, defaults shown, `required` only without `extends`
    const withSchema = model[0].then.properties.with;
    expect(withSchema.additionalProperties).toBe(false);
    expect(withSchema.properties.y).toEqual({ type: 'string', description: 'outcome column' });
    expect(withSchema.properties.level).toMatchObject({ type: 'number', default: 0.95, minimum: 0, maximum: 1 });
    expect(withSchema.required).toBeUndefined();
    expect(model[1]).toEqual({
      if: { properties: { kind: { const: 'model' } }, required: ['kind'], not: { required: ['extends'] } },
      then: { required: ['with'], properties: { with: { required: ['y'] } } },
    });
  });

  test('a step schema with its own $defs (recursive) is hoisted to the root, refs rewritten', async () => {
    const Node: z.ZodType<unknown> = z.lazy(() => z.strictObject({ name: z.string(), children: z.array(Node).optional() }));
    const tree = { kind: 'tree', doc: 'A tree.', params: z.strictObject({ root: Node }), inputs: {}, outputs: { t: 'json' as const }, run: async () => ({}) };
    const s = (await pipelineJsonSchema({ tree: { file: 'tree.ts', load: async () => tree } })) as any;
    const text = JSON.stringify(s);
    const refs = [...text.matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const r of refs) {
      expect(r).toMatch(/^#\/\$defs\/tree__/);
      expect(s.$defs[r.slice('#/$defs/'.length)]).toBeDefined();
    }
  });

  test('the committed file matches the step registry', async () => {
    const committed = await readFile(path.join(PROJECT_ROOT, 'pipeline.schema.json'), 'utf8').catch(() => '');
    let fresh: string;
    try {
      fresh = await pipelineSchemaText(registry);
    } catch (e) {
      throw new Error(`cannot regenerate pipeline.schema.json (${(e as Error).message}); once every step module loads, run: ${WRITE_SCHEMA_COMMAND}`);
    }
    expect(committed === fresh, `pipeline.schema.json is out of date; regenerate it with: ${WRITE_SCHEMA_COMMAND}`).toBe(true);
  });
});
