/**
 * Units of the store layer: canonical JSON, Arrow IPC round trip and determinism, verified reads,
 * fingerprint diffs as `why` prints them, the publish layout, stale-lock recovery, the stat cache.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tableFromIPC } from 'apache-arrow';
import { canonicalJson } from '../../engine/canonical.js';
import { arrowToTable, tableToArrow } from '../../engine/arrow.js';
import { fingerprintKey, type FingerprintParts } from '../../engine/fingerprint.js';
import { publishTargets } from '../../engine/publish.js';
import { withMutex } from '../../engine/lock.js';
import { StatCache } from '../../engine/statcache.js';
import { CorruptObjectError, Store, encodeArtifact } from '../../engine/store.js';
import { makeTable } from '../../engine/table.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-store-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('canonical JSON', () => {
  it('sorts keys at every level and writes typed arrays as arrays', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: new Float64Array([0.5, 2]) } })).toBe('{"a":{"c":[0.5,2],"d":[1,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({ a: undefined, b: NaN })).toBe('{"b":null}');
  });
});

describe('Arrow IPC tables', () => {
  const t = makeTable(
    { '2019': new Float64Array([1.5, NaN, -0, 1e300]), city: ['北京', null, 'a,b', ''], y: new Float64Array([1, 2, 3, 4]) },
    ['y', '2019', 'city'],
  );
  it('round-trips numbers (NaN ↔ null), text (null kept) and column order', () => {
    const back = arrowToTable(tableToArrow(t));
    expect(back.names).toEqual(['y', '2019', 'city']);
    expect(Array.from(back.columns['2019'] as Float64Array)).toEqual([1.5, NaN, -0, 1e300]);
    expect(back.columns.city).toEqual(['北京', null, 'a,b', '']);
    expect(back.nrows).toBe(4);
  });
  it('is deterministic and readable by apache-arrow as Float64/Utf8 with nulls', () => {
    const a = tableToArrow(t);
    const b = tableToArrow(makeTable({ ...t.columns }, [...t.names]));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const at = tableFromIPC(a);
    expect(at.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['y:Float64', '2019:Float64', 'city:Utf8']);
    expect(at.getChild('2019')!.get(1)).toBeNull();
    expect(at.getChild('city')!.get(1)).toBeNull();
  });
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

  it('encodes file artifacts as raw bytes with their extension', async () => {
    const e = await encodeArtifact({ type: 'file', ext: 'md', bytes: new TextEncoder().encode('# x\n') });
    expect(e.ext).toBe('md');
    expect(new TextDecoder().decode(e.bytes)).toBe('# x\n');
  });
});

describe('fingerprint parts and why lines', () => {
  const before: FingerprintParts = {
    kind: 'estimate',
    code: { 'steps/estimate.ts': 'a1', 'stats/ols.ts': 'b1' },
    params: { y: 'so2', controls: ['pgdp'], where: { year: { le: 2019 } } },
    inputs: { panel: '3f2a00112233' },
    files: { 'data/pilot-zones.csv': 'c1' },
    seed: { root: 1, node: 'baseline' },
    packages: {},
  };
  it('ignores param key order', () => {
    const reordered = { ...before, params: { where: { year: { le: 2019 } }, controls: ['pgdp'], y: 'so2' } };
    expect(fingerprintKey(reordered)).toBe(fingerprintKey(before));
  });
});

describe('publish layout', () => {
  it('P.<ext> for an output named like its extension or a single output, P.<output>.<ext> otherwise', () => {
    const f = (type: 'table' | 'json' | 'file', ext?: string) => ({ hash: 'h', type, size: 1, ...(ext ? { ext } : {}) });
    expect(publishTargets('/p', 'results/table7', { md: f('file', 'md'), tex: f('file', 'tex'), comparison: f('json'), comparison_md: f('file', 'md') })).toEqual({
      md: '/p/results/table7.md',
      tex: '/p/results/table7.tex',
      comparison: '/p/results/table7.comparison.json',
      comparison_md: '/p/results/table7.comparison.md',
    });
    expect(publishTargets('/p', 'results/baseline', { model: f('json') })).toEqual({ model: '/p/results/baseline.json' });
    expect(publishTargets('/p', 'results/psm', { sample: f('table'), pairs: f('table') })).toEqual({
      sample: '/p/results/psm.sample.csv',
      pairs: '/p/results/psm.pairs.csv',
    });
    // `<stem>_<ext>` → P.<stem>.<ext>, unless another output already has that file
    expect(publishTargets('/p', 'r/t', { x: f('file', 'md'), x_md: f('file', 'md'), y_html: f('file', 'html'), z_md: f('file', 'html') })).toEqual({
      x: '/p/r/t.x.md',
      x_md: '/p/r/t.x_md.md',
      y_html: '/p/r/t.y.html',
      z_md: '/p/r/t.z_md.html',
    });
  });
});

describe('locks and the stat cache', () => {
  it('a mutex left by a dead process is taken over', () => {
    const locks = path.join(tmp, 'locks');
    fs.mkdirSync(locks, { recursive: true });
    fs.writeFileSync(path.join(locks, 'x.mutex'), '999999999'); // no such pid
    expect(withMutex(locks, 'x', () => 42)).toBe(42);
    expect(fs.existsSync(path.join(locks, 'x.mutex'))).toBe(false);
  });

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

describe('table validation on store', () => {
  it('rejects numbers in a plain-array column with a message naming the column and the fix', () => {
    const t = { names: ['x'], columns: { x: [1, 2] as unknown as string[] }, nrows: 2 };
    expect(() => tableToArrow(t)).toThrow(/column "x" row 1 holds number 1: .*Float64Array/);
    const i = arrowToTable(tableToArrow({ names: ['n'], columns: { n: Int32Array.of(1, 2) as unknown as Float64Array }, nrows: 2 }));
    expect(Array.from(i.columns.n as Float64Array)).toEqual([1, 2]);
  });
});
