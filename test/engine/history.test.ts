/**
 * engine/history.ts: history.json of the wrong shape or truncated never breaks run, status, why or
 * log; readers never rewrite it.
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

describe('history recovery', () => {
  it('history.json that is valid JSON of the wrong shape, or truncated: run, status, why and log still work', async () => {
    rig = await base();
    await rig.run();
    const hist = path.join(rig.dir, 'artifacts/history.json');
    const { planPipeline } = await import('../../engine/plan.js');
    const { readHistory } = await import('../../engine/history.js');
    const opts = { file: rig.yaml, registry: rig.registry, codeRoot: rig.codeRoot };
    const bad = [
      '{"version":1,"runs":[]}', // no latest
      '{"version":1,"nextId":3,"runs":[{"id":1},{"id":"x","started":5}],"latest":{"toy":{"src":{},"plus":null}}}',
      '{"version":1,"runs":{},"latest":[]}',
      '[1,2,3]',
      '{"version":1,"nextId":2,"runs":[',
    ];
    const stderr = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write; // the warnings are expected
    try {
      for (const text of bad) {
        fs.writeFileSync(hist, text);
        const h = await readHistory(path.join(rig.dir, 'artifacts'));
        expect(Array.isArray(h.runs) && typeof h.latest === 'object').toBe(true);
        const { nodes } = await planPipeline(opts);
        expect(nodes.every((n) => n.state === 'cached')).toBe(true);
        expect(fs.readFileSync(hist, 'utf8')).toBe(text); // readers never rewrite or move it
        const r = await rig.run();
        expect(r.ok).toBe(true);
        expect(r.runId).toBeGreaterThan(0);
        const after = await readHistory(path.join(rig.dir, 'artifacts'));
        expect(after.runs.at(-1)!.id).toBe(r.runId);
        expect(Object.keys(after.latest.toy ?? {}).sort()).toEqual(['plus', 'r', 'rep', 'side', 'src', 'total']);
      }
    } finally {
      process.stderr.write = stderr;
    }
  });
});
