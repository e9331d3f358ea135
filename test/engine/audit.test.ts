/**
 * Regression tests from an adversarial audit of the engine against DESIGN.md's invariants: each
 * test pins a bug that was found and fixed (stat cache, fingerprint, store recovery, failure
 * semantics, CLI contract).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BASE_YAML, makeRig, NUMS, statuses, type Rig } from './rig.js';

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
});

async function base(yaml = BASE_YAML): Promise<Rig> {
  const r = await makeRig();
  r.write('data/nums.txt', NUMS);
  r.setYaml(yaml);
  return r;
}

describe('stat cache', () => {
  it('sees a same-size rewrite whose mtime was set back (ctime is part of the key)', async () => {
    rig = await base();
    const data = path.join(rig.dir, 'data/nums.txt');
    const old = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000); // whole seconds: restorable exactly
    fs.utimesSync(data, old, old);
    await new Promise((r) => setTimeout(r, 2100)); // let ctime age past the racy window
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
});
