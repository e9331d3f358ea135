/**
 * engine/gc.ts: gc prunes stat-cache entries of files that are gone and keeps only the most
 * recently used validated specs (the current one survives).
 */
import fs from 'node:fs';
import path from 'node:path';
import { sealJson } from '../../engine/fsutil.js';
import { afterEach, describe, expect, it } from 'vitest';
import { baseRig as base, type Rig } from './rig.js';

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
});

describe('gc', () => {
  it('gc prunes stat-cache entries of files that are gone', async () => {
    rig = await base();
    await rig.run();
    const file = path.join(rig.dir, 'artifacts/statcache.json');
    const read = () => Object.keys((JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: Record<string, unknown> }).entries);
    const gone = path.join(rig.dir, 'data/gone.txt');
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: Record<string, unknown> };
    data.entries[`f:${gone}`] = { size: 1, mtime: 1, ino: 1, ctime: 1, h: 'x' };
    data.entries[`c:${path.join(rig.dir, 'pipeline.yaml')}`] = { size: 1, mtime: 1, ino: 1, h: 'x' }; // an old namespace
    delete (data as { sum?: string }).sum;
    fs.writeFileSync(file, sealJson(data)); // the stat cache carries a checksum (issue 9)
    const before = read();
    const { openSession } = await import('../../engine/session.js');
    const { gcStore } = await import('../../engine/gc.js');
    await gcStore(await openSession({ file: rig.yaml, registry: rig.registry, codeRoot: rig.codeRoot }));
    const after = read();
    expect(before.filter((k) => !after.includes(k)).sort()).toEqual([`c:${path.join(rig.dir, 'pipeline.yaml')}`, `f:${gone}`]);
    expect(after.length).toBeGreaterThan(5);
    expect((await rig.run()).nodes.every((n) => n.status === 'cached')).toBe(true);
  });

  it('gc keeps only the most recently used validated specs, and the current one survives', async () => {
    rig = await base();
    const { openSession } = await import('../../engine/session.js');
    const { gcStore } = await import('../../engine/gc.js');
    const specs = path.join(rig.dir, 'artifacts/specs');
    const opts = { file: rig.yaml, registry: rig.registry, codeRoot: rig.codeRoot };
    await rig.run();
    const current = fs.readdirSync(specs);
    expect(current.length).toBe(1);
    // five stale specs of other --set combinations, older than the current one
    for (let i = 0; i < 5; i++) {
      const f = path.join(specs, `old${i}.json`);
      fs.writeFileSync(f, '{}');
      fs.utimesSync(f, new Date(Date.now() - (10 + i) * 86_400_000), new Date(Date.now() - (10 + i) * 86_400_000));
    }
    fs.utimesSync(path.join(specs, current[0]!), new Date(Date.now() - 30 * 86_400_000), new Date(Date.now() - 30 * 86_400_000));
    await rig.run(); // a cache hit marks the current spec as used
    const dry = await gcStore(await openSession(opts), { dryRun: true, keepSpecs: 2 });
    expect(dry.specsRemoved).toBe(4);
    expect(fs.readdirSync(specs).length).toBe(6);
    const r = await gcStore(await openSession(opts), { keepSpecs: 2 });
    expect(r.specsRemoved).toBe(4);
    expect(fs.readdirSync(specs).sort()).toEqual([current[0]!, 'old0.json'].sort());
    const again = await rig.run();
    expect(again.nodes.map((n) => `${n.id}:${n.status}:${n.reason}`).filter((s) => !s.includes(':cached:'))).toEqual([]);
  });
});
