/**
 * `pipeline.schema.json`: the JSON Schema of the pipeline YAML, for editors (e.g. the YAML language
 * server: `# yaml-language-server: $schema=./pipeline.schema.json`). Generated from the same zod
 * schema the loader uses ({@link pipelineSchema}), with each registered step kind's `with:` schema
 * (its zod params, input side: defaults make fields optional) attached by `if kind == K then ...`.
 * A step with `extends` may leave required params to its parent, so `required` is only enforced
 * for steps without `extends`.
 *
 * @example
 * const text = await pipelineSchemaText(registry); // deterministic, ends with a newline
 */
import { z } from 'zod';
import type { Registry } from './load.js';
import { pipelineSchema } from './schema.js';

/** The command that regenerates pipeline.schema.json (see write-schema.ts). */
export const WRITE_SCHEMA_COMMAND = 'npm run build && node dist/engine/config/write-schema.js';

/** Options that make zod schemas with transforms/defaults representable (input side). */
const OPTS = { io: 'input', unrepresentable: 'any' } as const;

/** Builds the JSON Schema object (throws if a registered step module cannot be loaded). */
export async function pipelineJsonSchema(registry: Registry): Promise<Record<string, unknown>> {
  const base = z.toJSONSchema(pipelineSchema, OPTS) as Record<string, any>;
  const step = base.properties.steps.additionalProperties as Record<string, any>;
  const kinds = Object.keys(registry).sort();
  step.properties.kind.enum = kinds;
  const allOf: unknown[] = [];
  const defs: Record<string, unknown> = {};
  for (const kind of kinds) {
    const entry = registry[kind]!;
    let def;
    try {
      def = await entry.load();
    } catch (e) {
      throw new Error(`pipeline.schema.json: cannot load step kind "${kind}" from ${entry.file}: ${(e as Error).message}`, { cause: e });
    }
    const params = z.toJSONSchema(def.params, OPTS) as Record<string, any>;
    delete params.$schema;
    hoistDefs(kind, params, defs);
    const required = params.required as string[] | undefined;
    delete params.required;
    if (def.doc) params.description = def.doc;
    const isKind = { properties: { kind: { const: kind } }, required: ['kind'] };
    allOf.push({ if: isKind, then: { properties: { with: params } } });
    if (required?.length) {
      allOf.push({ if: { ...isKind, not: { required: ['extends'] } }, then: { required: ['with'], properties: { with: { required } } } });
    }
  }
  step.allOf = allOf;
  return {
    $schema: base.$schema,
    $id: 'pipeline.schema.json',
    title: 'repro pipeline',
    ...Object.fromEntries(Object.entries(base).filter(([k]) => k !== '$schema')),
    ...(Object.keys(defs).length ? { $defs: defs } : {}),
  };
}

/**
 * A step's schema is nested under `then.properties.with`, so its own `$defs` (recursive or
 * registered zod schemas) move to the root as `<kind>__<name>` and its `$ref`s are rewritten.
 */
function hoistDefs(kind: string, schema: Record<string, any>, into: Record<string, unknown>): void {
  const local = schema.$defs as Record<string, unknown> | undefined;
  delete schema.$defs;
  const rewrite = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(rewrite);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.$ref === 'string') {
        if (o.$ref === '#') o.$ref = `#/$defs/${kind}__root`;
        else if (o.$ref.startsWith('#/$defs/')) o.$ref = `#/$defs/${kind}__${o.$ref.slice(8)}`;
      }
      for (const x of Object.values(o)) rewrite(x);
    }
  };
  rewrite(schema);
  if (local) {
    for (const [name, d] of Object.entries(local)) {
      rewrite(d);
      into[`${kind}__${name}`] = d;
    }
  }
  if (JSON.stringify(schema).includes(`"#/$defs/${kind}__root"`)) into[`${kind}__root`] = schema;
}

/** The file's text: pretty JSON with a trailing newline. */
export async function pipelineSchemaText(registry: Registry): Promise<string> {
  return `${JSON.stringify(await pipelineJsonSchema(registry), null, 2)}\n`;
}
