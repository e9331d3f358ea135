/**
 * Issue 9, items 1–4 and 15: nothing read back from the store is trusted without a check, and
 * neither publishing nor the store writes outside the project through a symlink.
 *
 * 1. a saved validated spec edited on disk is discarded (checksum) and re-validated from the YAML;
 * 2. a cache entry, the stat cache and the history edited on disk are discarded with a warning;
 * 3. an object path that is a directory (or a symlink, FIFO…) is corrupt: moved aside, recomputed;
 * 4. history of the wrong shape is moved aside with a warning; a history write that fails
 *    (ENOSPC) says that the run was not recorded;
 * 15. `results` (or a store folder) that is a symlink out of the project is an error unless opted in.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Store } from '../../engine/store.js';
import { baseRig, cli, CLI, statuses, type Rig } from './rig.js';

let rig: Rig | undefined;
let errs: string[] = [];
let outside: string | undefined;
beforeEach(() => {
  errs = [];
  vi.spyOn(process.stderr, 'write').mockImplementation(((s: string | Uint8Array) => {
    errs.push(String(s));
    return true;
  }) as typeof process.stderr.write);
});
afterEach(() => {
  vi.restoreAllMocks();
  rig?.cleanup();
  rig = undefined;
  if (outside) fs.rmSync(outside, { recursive: true, force: true });
  outside = undefined;
});

const storeOf = (r: Rig): Store => new Store(path.join(r.dir, 'artifacts'));
const specFile = (r: Rig): string => {
  const d = path.join(r.dir, 'artifacts/specs');
  const files = fs.readdirSync(d).filter((f) => f.endsWith('.json'));
  expect(files).toHaveLength(1);
  return path.join(d, files[0]!);
};
/** Replace the first occurrence of `from` in a file by `to` (a hand edit that keeps valid JSON). */
const edit = (file: string, from: string, to: string): void => {
  const t = fs.readFileSync(file, 'utf8');
  expect(t.includes(from), `${from} in ${file}`).toBe(true);
  fs.writeFileSync(file, t.replace(from, to));
};
const outputsOf = (r: { nodes: { id: string; outputs?: Record<string, { hash: string }> }[] }): Record<string, string[]> =>
  Object.fromEntries(r.nodes.map((n) => [n.id, Object.values(n.outputs ?? {}).map((o) => o.hash)]));

describe('issue 9 item 1: saved validated specs carry a checksum', () => {
  it('a spec edited on disk ("k":1 → "k":5) is discarded with one warning and re-validated from the YAML', async () => {
    rig = await baseRig();
    const first = await rig.run();
    expect(first.ok).toBe(true);
    rig.executed();
    edit(specFile(rig), '"k":1', '"k":5');
    const second = await rig.run();
    expect(second.ok).toBe(true);
    // the YAML says k: 1: nothing changed, nothing runs, same results
    expect(rig.executed()).toEqual([]);
    expect(outputsOf(second)).toEqual(outputsOf(first));
    expect(errs.join('').match(/saved validated spec .* failed its checksum/g)).toHaveLength(1);
    // re-saved: the next run reads it without a warning
    errs = [];
    await rig.run();
    expect(errs.join('')).not.toMatch(/checksum/);
  });
});

describe('issue 9 item 2: cache entries, stat cache and history carry a checksum', () => {
  it('a cache entry with an edited "ext" is discarded with a warning and the node recomputed (no results/rep.htmx)', async () => {
    rig = await baseRig();
    const first = await rig.run();
    rig.executed();
    const rep = first.nodes.find((n) => n.id === 'rep')!;
    edit(storeOf(rig).entryPath(rep.key), '"ext":"md"', '"ext":"htmx"');
    const second = await rig.run();
    expect(second.ok).toBe(true);
    expect(rig.executed()).toEqual(['rep']);
    expect(fs.existsSync(path.join(rig.dir, 'results/rep.htmx'))).toBe(false);
    expect(outputsOf(second)).toEqual(outputsOf(first));
    expect(errs.join('')).toMatch(/cache entry .* failed its checksum; discarded/);
  });

  it('a cache entry with an edited "type" does not break later runs: discarded, recomputed', async () => {
    rig = await baseRig();
    const first = await rig.run();
    rig.executed();
    const plus = first.nodes.find((n) => n.id === 'plus')!;
    edit(storeOf(rig).entryPath(plus.key), '"type":"table"', '"type":"json"');
    const second = await rig.run();
    expect(second.ok, JSON.stringify(second.nodes.map((n) => n.error?.message))).toBe(true);
    expect(rig.executed()).toEqual(['plus']);
    expect(outputsOf(second)).toEqual(outputsOf(first));
    expect((await rig.run()).ok).toBe(true);
  });

  it('a stat-cache record edited to claim an old hash of a changed data file is not believed', async () => {
    rig = await baseRig();
    const statFile = path.join(rig.dir, 'artifacts/statcache.json');
    const data = path.join(rig.dir, 'data/nums.txt');
    const aged = new Date(Date.now() - 20_000);
    fs.utimesSync(data, aged, aged); // old enough to be kept in the stat cache
    const first = await rig.run();
    const src = first.nodes.find((n) => n.id === 'src')!;
    // the data file changes (same size); the stat cache is then edited to give its old hash
    const old = JSON.parse(fs.readFileSync(statFile, 'utf8').replace(/,"sum":"[0-9a-f]{64}"\}\s*$/, '}')) as { entries: Record<string, { h: string }> };
    const oldHash = old.entries[`f:${data}`]?.h;
    expect(oldHash, 'the data file is in the stat cache (its mtime is old enough)').toBeDefined();
    rig.write('data/nums.txt', '1.2\n2.5\n3.9\n');
    const t = new Date(Date.now() - 10_000);
    fs.utimesSync(data, t, t);
    await rig.run(); // records the new hash
    rig.executed();
    const text = fs.readFileSync(statFile, 'utf8');
    const now = JSON.parse(text.replace(/,"sum":"[0-9a-f]{64}"\}\s*$/, '}')) as { entries: Record<string, { h: string }> };
    const newHash = now.entries[`f:${data}`]!.h;
    expect(newHash).not.toBe(oldHash);
    fs.writeFileSync(statFile, text.replace(newHash, oldHash!));
    const r = await rig.run();
    // not the old results: the file's real content is used
    expect(r.nodes.find((n) => n.id === 'src')!.key).not.toBe(src.key);
    expect(errs.join('')).toMatch(/statcache\.json failed its checksum/);
  });

  it('history edited on disk (a node\'s latest key changed) is moved aside with a warning', async () => {
    rig = await baseRig();
    const first = await rig.run();
    const hist = path.join(rig.dir, 'artifacts/history.json');
    const plus = first.nodes.find((n) => n.id === 'plus')!;
    edit(hist, plus.key, plus.key.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')));
    const r = await rig.run();
    expect(r.ok).toBe(true);
    expect(errs.join('')).toMatch(/history\.json failed its checksum.*moved to .*history\.json\.unreadable-/);
    expect(fs.readdirSync(path.join(rig.dir, 'artifacts')).some((f) => f.startsWith('history.json.unreadable-'))).toBe(true);
  });
});

describe('issue 9 item 3: an object path that is not a regular file', () => {
  it('a directory at an object path: run, status and gc do not fail with EISDIR; it is moved aside and recomputed', async () => {
    rig = await baseRig();
    const first = await rig.run();
    rig.executed();
    const store = storeOf(rig);
    const h = first.nodes.find((n) => n.id === 'total')!.outputs!.value!.hash;
    const p = store.objectPath(h);
    fs.rmSync(p);
    fs.mkdirSync(path.join(p, 'sub'), { recursive: true });
    const { planPipeline } = await import('../../engine/plan.js');
    const opts = { file: rig.yaml, registry: rig.registry, codeRoot: rig.codeRoot };
    const plan = await planPipeline(opts);
    expect(plan.nodes.find((n) => n.id === 'total')!.state).toBe('stale');
    const r = await rig.run();
    expect(r.ok, JSON.stringify(r.nodes.map((n) => n.error?.message))).toBe(true);
    expect(rig.executed()).toEqual(['total']);
    expect(outputsOf(r)).toEqual(outputsOf(first));
    expect(fs.statSync(p).isFile()).toBe(true);
    expect(fs.readdirSync(path.join(rig.dir, 'artifacts/corrupt')).length).toBe(1);
    // gc with a directory at an object path
    fs.rmSync(p);
    fs.mkdirSync(p);
    const { openSession } = await import('../../engine/session.js');
    const { gcStore } = await import('../../engine/gc.js');
    const s = await openSession(opts);
    const g = await gcStore(s, {});
    expect(g.corruptRemoved).toBe(1); // gc removes what runs moved aside
    expect(fs.readdirSync(path.join(rig.dir, 'artifacts/corrupt'))).toEqual([]);
    expect((await rig.run()).ok).toBe(true);
  });

  it('a file where a store folder should be (objects/ab) is moved aside and the folder created', async () => {
    rig = await baseRig();
    const first = await rig.run();
    rig.executed();
    const store = storeOf(rig);
    const h = first.nodes.find((n) => n.id === 'total')!.outputs!.value!.hash;
    const shard = path.dirname(store.objectPath(h));
    fs.rmSync(shard, { recursive: true });
    fs.writeFileSync(shard, 'not a folder');
    const r = await rig.run();
    expect(r.ok, JSON.stringify(r.nodes.map((n) => n.error?.message))).toBe(true);
    expect(rig.executed()).toEqual(['total']);
    expect(outputsOf(r)).toEqual(outputsOf(first));
    expect(errs.join('')).toMatch(/store folder .* was a file; moved to .*corrupt/);
  });

  it('a symlink at an object path (to a file with the right bytes elsewhere) is not trusted', async () => {
    rig = await baseRig();
    const first = await rig.run();
    rig.executed();
    const store = storeOf(rig);
    const h = first.nodes.find((n) => n.id === 'total')!.outputs!.value!.hash;
    const p = store.objectPath(h);
    const elsewhere = path.join(rig.dir, 'elsewhere.json');
    fs.renameSync(p, elsewhere);
    fs.symlinkSync(elsewhere, p);
    expect(store.checkObject(h)).toBe('corrupt');
  });
});

describe('issue 9 item 4: history of the wrong shape; a failed history write', () => {
  it('valid JSON of the wrong shape is moved aside with a warning, not silently overwritten', async () => {
    rig = await baseRig();
    await rig.run();
    const hist = path.join(rig.dir, 'artifacts/history.json');
    fs.writeFileSync(hist, '{"version":1,"runs":{},"latest":[]}');
    const r = await rig.run();
    expect(r.ok).toBe(true);
    const aside = fs.readdirSync(path.join(rig.dir, 'artifacts')).filter((f) => /^history\.json\.(unreadable|malformed)-/.test(f));
    expect(aside).toHaveLength(1);
    expect(fs.readFileSync(path.join(rig.dir, 'artifacts', aside[0]!), 'utf8')).toBe('{"version":1,"runs":{},"latest":[]}');
    expect(errs.join('')).toMatch(/history\.json.*moved to/);
  });

  it('ENOSPC while writing history: the run says clearly that it was not recorded; history is intact', async () => {
    rig = await baseRig();
    const first = await rig.run();
    const hist = path.join(rig.dir, 'artifacts/history.json');
    const before = fs.readFileSync(hist, 'utf8');
    const real = fs.writeFileSync;
    vi.spyOn(fs, 'writeFileSync').mockImplementation(((file: fs.PathOrFileDescriptor, data: string | NodeJS.ArrayBufferView, o?: fs.WriteFileOptions) => {
      if (typeof data === 'string' && data.includes('"nextId"')) {
        const e = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
        e.code = 'ENOSPC';
        throw e;
      }
      return real(file, data, o);
    }) as typeof fs.writeFileSync);
    const r = await rig.run();
    vi.mocked(fs.writeFileSync).mockRestore();
    expect(r.ok).toBe(true);
    expect(r.runId).toBeUndefined();
    expect(errs.join('')).toMatch(/this run was NOT recorded in the history.*ENOSPC/);
    expect(fs.readFileSync(hist, 'utf8')).toBe(before);
    expect(fs.readdirSync(path.join(rig.dir, 'artifacts')).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    const again = await rig.run();
    expect(again.runId).toBe(first.runId! + 1);
  });
});

describe('issue 9 item 15: no writes outside the project through symlinks', () => {
  it('`results` a symlink to a folder outside the project: publishing fails naming the path and --allow-outside', async () => {
    rig = await baseRig();
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-outside-'));
    fs.symlinkSync(outside, path.join(rig.dir, 'results'));
    const r = await rig.run();
    expect(r.ok).toBe(false);
    expect(fs.readdirSync(outside)).toEqual([]);
    const rep = r.nodes.find((n) => n.id === 'rep')!;
    expect(rep.status).toBe('failed');
    expect(rep.error!.message).toContain(fs.realpathSync(outside));
    expect(rep.error!.message).toContain('--allow-outside');
    // opted in: published there
    const ok = await rig.run({ allowOutside: true });
    expect(ok.ok).toBe(true);
    expect(fs.readdirSync(outside).sort()).toEqual(['rep.md', 'rep.summary.json']);
  });

  it('`results` a symlink into the store: an error even with --allow-outside', async () => {
    rig = await baseRig();
    fs.mkdirSync(path.join(rig.dir, 'artifacts/x'), { recursive: true });
    fs.symlinkSync(path.join(rig.dir, 'artifacts/x'), path.join(rig.dir, 'results'));
    const r = await rig.run({ allowOutside: true });
    expect(r.nodes.find((n) => n.id === 'rep')!.error!.message).toMatch(/would write .*artifacts\/x\/rep\.md, inside the store/);
    expect(fs.readdirSync(path.join(rig.dir, 'artifacts/x'))).toEqual([]);
  });

  it('a store folder that is a symlink out of the store is an error naming it', async () => {
    rig = await baseRig();
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-outside-'));
    fs.mkdirSync(path.join(rig.dir, 'artifacts'), { recursive: true });
    fs.symlinkSync(outside, path.join(rig.dir, 'artifacts/objects'));
    const r = await rig.run().catch((e: Error) => e);
    const msg = r instanceof Error ? r.message : r.nodes.map((n) => n.error?.message ?? '').join('\n');
    expect(msg).toMatch(/artifacts\/objects.*outside the store/);
    expect(fs.readdirSync(outside)).toEqual([]);
  });
});

void statuses;

describe('issue 9: other store paths that are not what they should be', () => {
  it('a directory as a lock file, a file as the locks folder, a directory as statcache.json / history.json / a saved spec: the run works', async () => {
    rig = await baseRig();
    const first = await rig.run();
    const a = (p: string): string => path.join(rig!.dir, 'artifacts', p);
    fs.mkdirSync(a('locks/gc/x'), { recursive: true });
    fs.mkdirSync(a('locks/history.mutex'));
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(a('locks/gc'), old, old);
    fs.utimesSync(a('locks/history.mutex'), old, old);
    process.env.REPRO_LOCK_TIMEOUT = '5';
    try {
      const r1 = await rig.run();
      expect(r1.ok).toBe(true);
      fs.rmSync(a('locks'), { recursive: true });
      fs.writeFileSync(a('locks'), 'not a folder');
      fs.rmSync(a('statcache.json'));
      fs.mkdirSync(a('statcache.json'));
      fs.rmSync(a('history.json'));
      fs.mkdirSync(a('history.json'));
      const spec = specFile(rig);
      fs.rmSync(spec);
      fs.mkdirSync(spec);
      const r2 = await rig.run();
      expect(r2.ok).toBe(true);
      expect(outputsOf(r2)).toEqual(outputsOf(first));
      expect(fs.statSync(a('locks')).isDirectory()).toBe(true);
      expect(fs.statSync(a('statcache.json')).isFile()).toBe(true);
      expect(fs.statSync(a('history.json')).isFile()).toBe(true);
      expect(fs.statSync(spec).isFile()).toBe(true);
      expect(errs.join('')).toMatch(/locks was not a folder; moved to/);
    } finally {
      delete process.env.REPRO_LOCK_TIMEOUT;
    }
  }, 30_000);
});

describe.skipIf(!fs.existsSync(CLI))('issue 9 item 15 through the CLI', () => {
  it('`repro run` with `results` a symlink outside: exit 1 naming the path; `--allow-outside` publishes there', async () => {
    vi.restoreAllMocks(); // the CLI's stderr is a child's
    rig = await baseRig();
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-outside-'));
    fs.symlinkSync(outside, path.join(rig.dir, 'results'));
    const env = { TOY_COUNTER: rig.counter };
    const r = await cli(['run'], rig.dir, env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`would write ${fs.realpathSync(outside)}/rep.md, outside the project folder`);
    expect(r.stderr).toContain('--allow-outside');
    expect(fs.readdirSync(outside)).toEqual([]);
    const ok = await cli(['run', '--allow-outside'], rig.dir, env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(fs.readdirSync(outside).sort()).toEqual(['rep.md', 'rep.summary.json']);
  });
});
