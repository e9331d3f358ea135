/**
 * engine/pool.ts (and the worker side, engine/worker.ts): a worker thread that exits, throws from a
 * timer, or returns outputs that cannot be cloned fails its own node only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { baseRig as base, MIS, statuses, type Rig } from './rig.js';

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
});

describe('worker pool failures', () => {
  it('a worker thread that exits, throws from a timer, or returns outputs that cannot be cloned fails its node only', async () => {
    rig = await base(`name: t\nseed: 1\nsteps:\n${['exit', 'throw-later', 'function', 'ok'].map((m) => MIS(m, 'misbehave-cpu')).join('')}`);
    const r = await rig.run({ keepGoing: true });
    expect(statuses(r)).toEqual({ misbehave_cpu_exit: 'failed', misbehave_cpu_throw_later: 'failed', misbehave_cpu_function: 'failed', misbehave_cpu_ok: 'ran' });
    const err = (id: string) => r.nodes.find((n) => n.id === id)!.error!;
    expect(err('misbehave_cpu_exit')).toEqual({ message: 'worker thread exited with code 3 before the step finished (did the step call process.exit?)', stepError: false });
    expect(err('misbehave_cpu_throw_later').message).toBe('thrown from a timer');
    expect(err('misbehave_cpu_function').message).toMatch(/^the step's outputs could not be sent back from its worker thread: .*could not be cloned/);
  });
});
