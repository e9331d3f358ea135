/**
 * engine/lock.ts: mutexes and run/gc locks; a lock left by a dead process is taken over.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withMutex } from '../../engine/lock.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-lock-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('mutex', () => {
  it('a mutex left by a dead process is taken over', () => {
    const locks = path.join(tmp, 'locks');
    fs.mkdirSync(locks, { recursive: true });
    fs.writeFileSync(path.join(locks, 'x.mutex'), '999999999'); // no such pid
    expect(withMutex(locks, 'x', () => 42)).toBe(42);
    expect(fs.existsSync(path.join(locks, 'x.mutex'))).toBe(false);
  });
});

describe('run and gc locks', () => {
  it('gc waits for a live run; a run waits for a live gc; dead holders are ignored', async () => {
    const { acquireGcLock, acquireRunLock } = await import('../../engine/lock.js');
    const locks = path.join(tmp, 'locks2');
    fs.mkdirSync(locks, { recursive: true });
    fs.writeFileSync(path.join(locks, 'run-999999999-dead'), '999999999'); // stale: removed
    const run = await acquireRunLock(locks);
    const order: string[] = [];
    let waitedFor: number[] = [];
    const gc = acquireGcLock(locks, (pids) => (waitedFor = pids)).then((h) => {
      order.push('gc');
      return h;
    });
    await new Promise((r) => setTimeout(r, 250));
    order.push('run released');
    run.release();
    const gcHeld = await gc;
    expect(order).toEqual(['run released', 'gc']);
    expect(waitedFor).toEqual([process.pid]);
    expect(fs.existsSync(path.join(locks, 'run-999999999-dead'))).toBe(false);
    let runWaited = false;
    const run2 = acquireRunLock(locks, () => (runWaited = true));
    await new Promise((r) => setTimeout(r, 250));
    gcHeld.release();
    (await run2).release();
    expect(runWaited).toBe(true);
    expect(fs.readdirSync(locks)).toEqual([]);
  });
});
