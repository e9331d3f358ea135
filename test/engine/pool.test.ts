/**
 * engine/pool.ts (and the worker side, engine/worker.ts): a worker thread that exits, throws from a
 * timer, or returns outputs that cannot be cloned fails its own node only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { baseRig as base, MIS, statuses, TOY_DIR, type Rig } from './rig.js';
import type { RunResult } from '../../engine/executor.js';
import { StatCache } from '../../engine/statcache.js';
import { Store } from '../../engine/store.js';

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

/** The toy chunky step's JSON output of each node of a run (by node id). */
async function chunkyValues(dir: string, r: RunResult): Promise<Record<string, { indexes: number[]; sums: number[]; threads: number }>> {
  const st = new Store(`${dir}/artifacts`, new StatCache(null));
  const out: Record<string, { indexes: number[]; sums: number[]; threads: number }> = {};
  for (const n of r.nodes) out[n.id] = ((await st.get(Object.values(n.outputs!)[0]!)) as { value: { indexes: number[]; sums: number[]; threads: number } }).value;
  return out;
}

describe('one thread budget: ctx.map', () => {
  const yaml = `name: t\nseed: 3\nsteps:\n  a:\n    kind: chunky\n  b:\n    kind: chunky\n    with: {per: 500}\n  c:\n    kind: chunky\n    with: {chunks: 1}\n`;
  it('gives results in chunk order, identical for --jobs 1, 2 and 4, and never more threads than --jobs', async () => {
    const outs: Record<string, unknown>[] = [];
    for (const jobs of [1, 2, 4]) {
      rig = await base(yaml);
      const r = await rig.run({ jobs });
      expect(r.ok).toBe(true);
      const vals = await chunkyValues(rig.dir, r);
      expect(vals.a.indexes).toEqual([...Array(12).keys()]);
      // a step holds one token and borrows only free ones: at most `jobs` threads ran its chunks
      expect(vals.a.threads).toBeLessThanOrEqual(jobs);
      if (jobs === 1) expect(vals.a.threads).toBe(1);
      outs.push(Object.fromEntries(Object.entries(vals).map(([k, v]) => [k, v.sums])));
      rig.cleanup();
      rig = undefined;
    }
    expect(outs[1]).toEqual(outs[0]);
    expect(outs[2]).toEqual(outs[0]);
  }, 60_000);

  it('a pool started ahead (run --force): used when its budget is the run\'s --jobs, closed at the end either way; same outputs', async () => {
    const { ThreadBudget, WorkerPool } = await import('../../engine/pool.js');
    const sums: unknown[] = [];
    for (const [jobs, budget] of [[2, 0], [2, 2], [2, 1]] as const) {
      rig = await base(yaml);
      const pool = budget ? new WorkerPool(new ThreadBudget(budget)) : undefined;
      pool?.prestart(budget);
      const r = await rig.run({ jobs, force: ['a', 'b', 'c'], ...(pool ? { pool } : {}) });
      expect(r.ok).toBe(true);
      if (pool) expect(pool.threads).toBe(0); // closed
      sums.push(Object.fromEntries(Object.entries(await chunkyValues(rig.dir, r)).map(([k, v]) => [k, v.sums])));
      rig.cleanup();
      rig = undefined;
    }
    expect(sums[1]).toEqual(sums[0]);
    expect(sums[2]).toEqual(sums[0]);
  }, 60_000);

  it('a short map stays on the step\'s thread; a long one borrows the free tokens (worker.ts MIN_LANE_MS)', async () => {
    const { MIN_LANE_MS, WARM_CHUNKS } = await import('../../engine/worker.js');
    rig = await base(`name: t\nseed: 3\nsteps:\n  short:\n    kind: chunky\n  long:\n    kind: chunky\n    with: {spin: ${Math.ceil((4 * MIN_LANE_MS) / (12 - WARM_CHUNKS))}}\n`);
    const threads = async (id: string): Promise<number> => (await chunkyValues(rig!.dir, await rig!.run({ jobs: 2, targets: [id] })))[id]!.threads;
    expect(await threads('short')).toBe(1); // 12 chunks of 1000 draws: well under MIN_LANE_MS left after the first ones
    expect(await threads('long')).toBe(2); // 8 chunks left of 150 ms each: 1.2 s ≥ MIN_LANE_MS, time enough for a second thread to start
  }, 60_000);

  it('preload: idle workers that have the module already count (a second preload starts no thread)', async () => {
    const { ThreadBudget, WorkerPool } = await import('../../engine/pool.js');
    const { pathToFileURL } = await import('node:url');
    const pool = new WorkerPool(new ThreadBudget(2));
    try {
      const url = pathToFileURL(`${TOY_DIR}/chunky.js`).href;
      pool.preload(url, 1);
      pool.preload(url, 1);
      for (let t = 0; t < 200 && pool.threads === 0; t++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 300));
      expect(pool.threads).toBe(1);
      pool.preload(url, 2); // two wanted: one more
      await new Promise((r) => setTimeout(r, 300));
      expect(pool.threads).toBe(2);
    } finally {
      await pool.close();
    }
  });

  it('ThreadBudget: acquire waits, tryAcquire takes only what is free, release wakes a waiter', async () => {
    const { ThreadBudget } = await import('../../engine/pool.js');
    const b = new ThreadBudget(2);
    await b.acquire();
    expect(b.tryAcquire(5)).toBe(1);
    expect(b.available).toBe(0);
    let got = false;
    const w = b.acquire().then(() => (got = true));
    await Promise.resolve();
    expect(got).toBe(false);
    b.release();
    await w;
    expect(got).toBe(true);
    expect(b.available).toBe(0);
    b.release(2);
    expect(b.available).toBe(2);
    expect(() => new ThreadBudget(0)).toThrow(/at least|>= 1/);
  });
});

describe('--jobs above the cores', () => {
  it('is capped at the machine parallelism with a warning, unless forced', async () => {
    const os = await import('node:os');
    rig = await base(`name: t\nseed: 3\nsteps:\n  a:\n    kind: chunky\n    with: {chunks: 40, per: 10}\n`);
    const events: { type: string; msg?: string }[] = [];
    const cores = os.availableParallelism();
    const r = await rig.run({ jobs: cores + 998, onEvent: (e) => events.push(e as never) });
    expect(r.ok).toBe(true);
    const warn = events.find((e) => e.type === 'warn' && /exceeds the/.test(e.msg ?? ''));
    expect(warn?.msg).toBe(`--jobs ${cores + 998} exceeds the ${cores} cores of this machine; using ${cores} (--force-jobs keeps ${cores + 998})`);
    expect(events.find((e) => e.type === 'start')).toMatchObject({ jobs: cores });
    const forced: { type: string; jobs?: number }[] = [];
    const r2 = await rig.run({ jobs: cores + 1, forceJobs: true, force: ['a'], onEvent: (e) => forced.push(e as never) });
    expect(r2.ok).toBe(true);
    expect(forced.find((e) => e.type === 'start')).toMatchObject({ jobs: cores + 1 });
  }, 60_000);
});
