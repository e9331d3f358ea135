/**
 * engine/store.ts: content-named objects verified on read, file artifacts, malformed cache entries
 * read as misses, and the sweep of temp files left by a killed run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { StatCache } from '../../engine/statcache.js';
import { CorruptObjectError, Store, encodeArtifact } from '../../engine/store.js';
import { baseRig as base, statuses, type Rig } from './rig.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-store-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
});

describe('store', () => {
  it('names objects by sha256, verifies on read, and reports corruption', async () => {
    const stat = new StatCache(null);
    const s = new Store(path.join(tmp, 'a'), stat);
    const ref = await s.put({ type: 'json', value: { b: 2, a: [1, 2] } });
    expect(fs.readFileSync(s.objectPath(ref.hash), 'utf8')).toBe('{"a":[1,2],"b":2}');
    expect(await s.get(ref)).toEqual({ type: 'json', value: { a: [1, 2], b: 2 } });
    // same content, same object
    const ref2 = await s.put({ type: 'json', value: { a: [1, 2], b: 2 } });
    expect(ref2.hash).toBe(ref.hash);
    fs.writeFileSync(s.objectPath(ref.hash), '{"a":[1,2],"b":3}');
    expect(s.checkObject(ref.hash)).toBe('corrupt');
    expect(() => s.getBytes(ref.hash)).toThrow(CorruptObjectError);
    expect(fs.existsSync(s.objectPath(ref.hash))).toBe(false); // discarded
    expect(s.checkObject(ref.hash)).toBe('missing');
  });

  it('getBytes hashes an object only when its stat differs from the one recorded when it was last hashed', async () => {
    const s = new Store(path.join(tmp, 'g'), new StatCache(null));
    const ref = await s.put({ type: 'json', value: { x: 1 } });
    const p = s.objectPath(ref.hash);
    // a rewrite (new mtime / ctime) is hashed again and caught, also with a record from before
    fs.writeFileSync(p, '{"x":2}');
    expect(() => s.getBytes(ref.hash)).toThrow(CorruptObjectError);
    // an unchanged stat is trusted, as checkObject trusts it: a record that matches the file's
    // stat means "verified already"
    const ref2 = await s.put({ type: 'json', value: { y: 1 } });
    const p2 = s.objectPath(ref2.hash);
    fs.writeFileSync(p2, '{"y":9}'); // corrupted while its record says it is fine: stat-based trust
    const st = fs.statSync(p2);
    const other = new StatCache(null);
    other.set('o', p2, st, ref2.hash, undefined, Number.POSITIVE_INFINITY);
    expect(Buffer.from(new Store(path.join(tmp, 'g'), other).getBytes(ref2.hash)).toString()).toBe('{"y":9}');
    // without such a record it is hashed and refused
    expect(() => new Store(path.join(tmp, 'g'), new StatCache(null)).getBytes(ref2.hash)).toThrow(CorruptObjectError);
  });

  it('encodes file artifacts as raw bytes with their extension', async () => {
    const e = await encodeArtifact({ type: 'file', ext: 'md', bytes: new TextEncoder().encode('# x\n') });
    expect(e.ext).toBe('md');
    expect(new TextDecoder().decode(e.bytes)).toBe('# x\n');
  });

  it('a file artifact extension cannot leave the publish folder', async () => {
    const { encodeArtifact } = await import('../../engine/store.js');
    const bytes = new Uint8Array([1]);
    await expect(encodeArtifact({ type: 'file', ext: '../../x', bytes })).rejects.toThrow('file artifact extension must be letters/digits');
    await expect(encodeArtifact({ type: 'file', ext: '', bytes })).rejects.toThrow('file artifact extension');
    expect((await encodeArtifact({ type: 'file', ext: 'png', bytes })).ext).toBe('png');
  });

  it('a malformed cache entry (valid JSON, bad refs) is a miss, never a crash or a path outside the store', async () => {
    rig = await base();
    const first = await rig.run();
    rig.executed();
    const { Store } = await import('../../engine/store.js');
    const store = new Store(path.join(rig.dir, 'artifacts'));
    const plus = first.nodes.find((n) => n.id === 'plus')!;
    fs.writeFileSync(store.entryPath(plus.key), JSON.stringify({ v: 1, key: plus.key, node: 'plus', kind: 'add', ms: 1, outputs: { table: { hash: '../../../../etc/passwd', type: 'table' } } }));
    const src = first.nodes.find((n) => n.id === 'src')!;
    fs.writeFileSync(store.entryPath(src.key), JSON.stringify({ v: 1, key: src.key, outputs: { table: { type: 'table' } } }));
    expect(store.readEntry(plus.key)).toBeNull();
    const r = await rig.run();
    expect(r.ok).toBe(true);
    expect(statuses(r)).toMatchObject({ src: 'ran', plus: 'ran' });
    expect(rig.executed()).toEqual(['plus', 'src']); // outputs came out identical: early cutoff downstream
    expect(store.readEntry(plus.key)!.outputs.table!.hash).toBe(plus.outputs!.table!.hash);
  });

  it('a run sweeps temp files left in publish folders by a killed run', async () => {
    rig = await base();
    await rig.run();
    const stray = path.join(rig.dir, 'results/.tmp-999999999-abcdef');
    const live = path.join(rig.dir, `results/.tmp-${process.pid}-abcdef`);
    fs.writeFileSync(stray, 'partial');
    fs.writeFileSync(live, 'being written by a live process');
    await rig.run();
    expect(fs.existsSync(stray)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
    expect(fs.readdirSync(path.join(rig.dir, 'results')).filter((f) => !f.startsWith('.tmp-')).sort()).toEqual(['rep.md', 'rep.summary.json']);
  });
});
