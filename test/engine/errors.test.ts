/**
 * engine/errors.ts: a step that throws something other than an Error gets a described message
 * (never "[object Object]") and no engine stack, on the main thread and in a worker.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { baseRig as base, MIS, type Rig } from './rig.js';

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
});

describe('non-Error throws', () => {
  it('a thrown non-Error (main thread or worker) is described, not "[object Object]", and has no engine stack', async () => {
    const modes = ['throw-string', 'throw-object', 'throw-undefined'];
    rig = await base(`name: t\nseed: 1\nsteps:\n${modes.map((m) => MIS(m) + MIS(m, 'misbehave-cpu')).join('')}`);
    const r = await rig.run({ keepGoing: true });
    const err = (id: string) => r.nodes.find((n) => n.id === id)!.error!;
    for (const k of ['misbehave', 'misbehave_cpu']) {
      expect(err(`${k}_throw_string`).message).toBe('threw a non-Error value: "a plain string"');
      expect(err(`${k}_throw_object`).message).toBe("threw a non-Error value: { code: 42, detail: 'an object' }");
      expect(err(`${k}_throw_undefined`).message).toBe('threw a non-Error value: undefined');
      for (const m of modes) expect(err(`${k}_${m.replace(/-/g, '_')}`).stack).toBeUndefined();
    }
  });
});
