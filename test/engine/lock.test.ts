/**
 * engine/lock.ts: mutexes and run/gc locks; a lock left by a dead process is taken over; a lock
 * whose pid now belongs to another process is stale (issue 9, item 5); waiting is bounded.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { withMutex } from '../../engine/lock.js';
import { baseRig, cli, CLI } from './rig.js';

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

/** A live process that has nothing to do with repro (PID reuse), killed in afterEach. */
const sleepers: ChildProcess[] = [];
afterEach(() => {
  for (const c of sleepers.splice(0)) c.kill('SIGKILL');
  delete process.env.REPRO_LOCK_TIMEOUT;
});
function unrelatedLiveProcess(): number {
  const c = spawn('sleep', ['600'], { stdio: 'ignore' });
  sleepers.push(c);
  return c.pid!;
}

describe('issue 9 item 5: stale locks and PID reuse', () => {
  it('an old-format gc lock (a bare pid) naming a live unrelated process (`sleep 600`) does not make a run wait', async () => {
    const { acquireRunLock } = await import('../../engine/lock.js');
    const locks = path.join(tmp, 'reuse1');
    fs.mkdirSync(locks, { recursive: true });
    fs.writeFileSync(path.join(locks, 'gc'), `${unrelatedLiveProcess()}\n`);
    let waited = false;
    const t0 = Date.now();
    const held = await acquireRunLock(locks, () => (waited = true));
    held.release();
    expect(waited).toBe(false);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(fs.existsSync(path.join(locks, 'gc'))).toBe(false);
  }, 10_000);

  it('a lock records pid, start time (/proc/PID/stat field 22), a random token, host and time', async () => {
    const { acquireRunLock, processStart } = await import('../../engine/lock.js');
    const locks = path.join(tmp, 'fmt');
    const held = await acquireRunLock(locks);
    const [f] = fs.readdirSync(locks);
    const info = JSON.parse(fs.readFileSync(path.join(locks, f!), 'utf8')) as Record<string, unknown>;
    held.release();
    expect(info.pid).toBe(process.pid);
    expect(info.host).toBe(os.hostname());
    expect(info.token).toMatch(/^[0-9a-f]{16}$/);
    expect(Number.isNaN(Date.parse(String(info.since)))).toBe(false);
    // field 22 of /proc/self/stat, read independently: the comm field may hold spaces
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    expect(info.start).toBe(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    expect(processStart(process.pid)).toBe(info.start);
  });

  it('a new-format lock whose pid now belongs to another process (start time differs) is stale', async () => {
    const { acquireRunLock } = await import('../../engine/lock.js');
    const locks = path.join(tmp, 'reuse2');
    fs.mkdirSync(locks, { recursive: true });
    const pid = unrelatedLiveProcess();
    fs.writeFileSync(path.join(locks, 'gc'), JSON.stringify({ pid, start: '1', token: 'ab', host: os.hostname(), since: new Date().toISOString() }));
    const held = await acquireRunLock(locks);
    held.release();
    expect(fs.existsSync(path.join(locks, 'gc'))).toBe(false);
  }, 10_000);

  it('waiting for a live holder times out (REPRO_LOCK_TIMEOUT) with a message naming pid, host, since when and the way out', async () => {
    const { acquireRunLock, acquireGcLock } = await import('../../engine/lock.js');
    const locks = path.join(tmp, 'live');
    fs.mkdirSync(locks, { recursive: true });
    const gc = await acquireGcLock(locks); // held by this (live) process
    process.env.REPRO_LOCK_TIMEOUT = '0.3';
    const t0 = Date.now();
    const err = await acquireRunLock(locks).catch((e: Error) => e);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toMatch(new RegExp(`timed out after 0.3 s waiting for a \`repro gc\` to finish: .*live/gc is held by pid ${process.pid} on host ${os.hostname()} since \\d{4}-`));
    expect(msg).toContain(`delete ${path.join(locks, 'gc')}`);
    expect(msg).toContain('REPRO_LOCK_TIMEOUT');
    gc.release();
    // and gc waiting for a live run
    const run = await acquireRunLock(locks);
    const err2 = await acquireGcLock(locks).catch((e: Error) => e);
    expect((err2 as Error).message).toMatch(/waiting for 1 running `repro run`\(s\) to finish: .*run-.* is held by pid/);
    expect(fs.existsSync(path.join(locks, 'gc'))).toBe(false); // the gc that gave up released its lock
    run.release();
    process.env.REPRO_LOCK_TIMEOUT = 'soon';
    await expect(acquireRunLock(locks)).rejects.toThrow('REPRO_LOCK_TIMEOUT must be a positive number of seconds, got "soon"');
  }, 10_000);
});

describe.skipIf(!fs.existsSync(CLI))('issue 9 item 5 through the CLI', () => {
  it('`sleep 600 & echo $! > artifacts/locks/gc; repro run` does not hang', async () => {
    const rig = await baseRig();
    try {
      fs.mkdirSync(path.join(rig.dir, 'artifacts/locks'), { recursive: true });
      fs.writeFileSync(path.join(rig.dir, 'artifacts/locks/gc'), `${unrelatedLiveProcess()}\n`);
      const t0 = Date.now();
      const r = await cli(['run'], rig.dir, { REPRO_LOCK_TIMEOUT: '20', TOY_COUNTER: rig.counter });
      expect(r.code, r.stderr).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
      // a live gc lock of this host that is really held: the run gives up with the holder and the way out
      const pid = unrelatedLiveProcess();
      const start = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const st = start.slice(start.lastIndexOf(')') + 2).split(' ')[19];
      fs.writeFileSync(path.join(rig.dir, 'artifacts/locks/gc'), JSON.stringify({ pid, start: st, token: 'x', host: os.hostname(), since: '2026-01-01T00:00:00.000Z' }));
      const r2 = await cli(['run'], rig.dir, { REPRO_LOCK_TIMEOUT: '1', TOY_COUNTER: rig.counter });
      expect(r2.code).toBe(1);
      expect(r2.stderr).toContain(`is held by pid ${pid} on host ${os.hostname()} since 2026-01-01T00:00:00.000Z`);
      expect(r2.stderr).toContain('delete ');
    } finally {
      rig.cleanup();
    }
  }, 30_000);
});

describe('issue 9 item 5: a lock with our own pid that we did not write', () => {
  it('is stale (a restarted container gives the new process the old one\'s pid), old format or new', async () => {
    const { acquireRunLock } = await import('../../engine/lock.js');
    for (const text of [String(process.pid), JSON.stringify({ pid: process.pid, start: '1', token: '0123456789abcdef', host: os.hostname(), since: '2026-01-01T00:00:00.000Z' })]) {
      const locks = fs.mkdtempSync(path.join(tmp, 'own-'));
      fs.writeFileSync(path.join(locks, 'gc'), text);
      let waited = false;
      const held = await acquireRunLock(locks, () => (waited = true));
      held.release();
      expect(waited, text).toBe(false);
      expect(fs.existsSync(path.join(locks, 'gc'))).toBe(false);
    }
  }, 10_000);
});
