/**
 * engine/speccache.ts: the validated-spec cache (artifacts/specs/) lets a no-op run skip
 * validation; a damaged entry costs a revalidation only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { baseRig as base, type Rig } from './rig.js';

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
});

describe('spec cache recovery', () => {
  it('a truncated stat cache or validated-spec cache costs rehashing only', async () => {
    rig = await base();
    const first = await rig.run();
    rig.executed();
    const art = path.join(rig.dir, 'artifacts');
    const cut = (f: string) => fs.writeFileSync(f, fs.readFileSync(f, 'utf8').slice(0, 40));
    cut(path.join(art, 'statcache.json'));
    for (const f of fs.readdirSync(path.join(art, 'specs'))) cut(path.join(art, 'specs', f));
    const { runPipeline } = await import('../../engine/executor.js');
    const r = await runPipeline({ file: rig.yaml, registry: rig.registry, codeRoot: rig.codeRoot }); // spec cache on, as the CLI
    expect(r.nodes.map((n) => [n.id, n.status, n.key])).toEqual(first.nodes.map((n) => [n.id, 'cached', n.key]));
    expect(rig.executed()).toEqual([]);
  });
});
