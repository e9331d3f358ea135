/**
 * Writes `pipeline.schema.json` at the project root from the step registry.
 * Run after adding or changing a step kind's params:
 *
 *     npm run build && node dist/engine/config/write-schema.js
 *
 * `--allow-missing` skips step kinds whose module cannot be loaded yet (the sync test will still
 * fail until every kind is in).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import { registry } from '../../steps/index.js';
import type { Registry } from './load.js';
import { pipelineSchemaText } from './json-schema.js';

async function main(): Promise<void> {
  let reg: Registry = registry;
  if (process.argv.includes('--allow-missing')) {
    reg = {};
    for (const [k, e] of Object.entries(registry)) {
      try {
        await e.load();
        reg[k] = e;
      } catch (err) {
        console.error(`skipping ${k}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }
  const out = path.join(PROJECT_ROOT, 'pipeline.schema.json');
  await writeFile(out, await pipelineSchemaText(reg));
  console.log(`wrote ${path.relative(process.cwd(), out) || out}`);
}

await main();
