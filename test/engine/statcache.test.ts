/**
 * engine/statcache.ts: a file is rehashed only when its stat (size, mtime, inode, ctime) changes,
 * racy timestamps are never cached, and a rewrite that restores the mtime or an atomic replace is
 * still seen.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { StatCache } from '../../engine/statcache.js';
import { baseRig as base, NUMS, statuses, type Rig } from './rig.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-statcache-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
});

describe('stat cache', () => {
  it('rehashes a file only when its stat changes (and never caches racy timestamps)', () => {
    const f = path.join(tmp, 'data.txt');
    fs.writeFileSync(f, 'abc');
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(f, old, old);
    const c = new StatCache(path.join(tmp, 'stat.json'));
    const h1 = c.fileHash(f);
    expect(h1.cached).toBe(false);
    expect(c.fileHash(f)).toEqual({ hash: h1.hash, cached: true });
    c.save();
    const c2 = new StatCache(path.join(tmp, 'stat.json'));
    expect(c2.fileHash(f).cached).toBe(true);
    expect(c2.reads).toBe(0);
    fs.writeFileSync(f, 'abd'); // fresh mtime: racy, not cached
    const h2 = c2.fileHash(f);
    expect(h2.hash).not.toBe(h1.hash);
    expect(c2.fileHash(f).cached).toBe(false);
  });

  it('sees a same-size rewrite whose mtime was set back (ctime is part of the key)', async () => {
    rig = await base();
    const data = path.join(rig.dir, 'data/nums.txt');
    const old = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000); // whole seconds: restorable exactly
    fs.utimesSync(data, old, old);
    expect((await rig.run()).ok).toBe(true);
    rig.executed();
    const mtime = fs.statSync(data).mtime;
    fs.writeFileSync(data, NUMS.replace('3.7', '4.7')); // same size, same inode
    fs.utimesSync(data, mtime, mtime); // like `touch -d` / `cp -p`: mtime restored
    const st = fs.statSync(data);
    expect(st.size).toBe(NUMS.length);
    expect(st.mtimeMs).toBe(mtime.getTime());
    const r = await rig.run();
    expect(statuses(r).src).toBe('ran');
    expect(rig.executed()).toContain('src');
  });

  it('an atomic replace (new inode) with the same size and mtime is rehashed', async () => {
    const { StatCache } = await import('../../engine/statcache.js');
    rig = await base();
    const f = path.join(rig.dir, 'data/nums.txt');
    const old = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000);
    fs.utimesSync(f, old, old);
    const c = new StatCache(null);
    const h1 = c.fileHash(f);
    expect(c.fileHash(f)).toEqual({ hash: h1.hash, cached: true });
    const tmp = path.join(rig.dir, 'data/.new');
    fs.writeFileSync(tmp, NUMS.replace('1.2', '1.3'));
    fs.utimesSync(tmp, old, old);
    fs.renameSync(tmp, f);
    const h2 = c.fileHash(f);
    expect(h2.cached).toBe(false);
    expect(h2.hash).not.toBe(h1.hash);
  });
});
