/**
 * Fault injection (issue 9, "Done when"): random byte flips in every kind of store file (objects,
 * cache entries, validated specs, the stat cache, history, lock files) and random SIGKILLs of
 * `repro run`. After each fault the pipeline runs again, and every run must either succeed with
 * results byte-identical to a clean run's (every node's output hashes and the published files) or
 * fail with a clear message (a known, worded store problem — never a stack trace or a bare errno);
 * never a silently different result. At the end the store is consistent and a last run is clean.
 *
 * Bounded for CI: FLIPS flips (in-process runs) and KILLS kills (CLI processes). The random
 * choices come from one seed, printed with any failure; rerun one with REPRO_FAULT_SEED=N.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Store } from '../../engine/store.js';
import type { RunResult } from '../../engine/executor.js';
import { cli, CLI, rigPool, type Rig } from './rig.js';

const FLIPS = 100;
/** Besides the flips: files truncated, or replaced by a directory (a damaged file system). */
const OTHER = 24;
const KILLS = 40;
const SEED = Number(process.env.REPRO_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: a small seeded PRNG (the test's own choices; not the pipeline's randomness). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;

const yamlWith = (delay: number): string => `name: faults
seed: 5
steps:
  src:
    kind: source
    with: {path: data/nums.txt, delay: ${delay}}
  a:
    kind: add
    in: src
    with: {k: 1, delay: ${delay}}
  b:
    kind: add
    in: src
    with: {k: 2, delay: ${delay}}
  ra:
    kind: round
    in: a
  noise:
    kind: noisy
    in: b
    with: {draws: 300}
  c:
    kind: add
    in: ra
    with: {k: 3, delay: ${delay}}
  total:
    kind: sum
    in: [a, b, c]
  rep:
    kind: report
    in: [total, noise]
    publish: results/rep
`;
const PUBLISHED = ['results/rep.md', 'results/rep.summary.json'];

/**
 * What a failure may say: a store problem in the engine's words. Anything else (a TypeError, a
 * bare ENOENT/EISDIR, a JSON parse error) is a bug the suite must surface.
 */
const CLEAR = [/store object [0-9a-f]{12}… .*is (corrupt|missing)/, /timed out after .* waiting for .* is held by /];
const clear = (msg: string): boolean => CLEAR.some((re) => re.test(msg));

const { rigWith, cleanupAll } = rigPool();
afterAll(cleanupAll);

type Outputs = Record<string, Record<string, string>>;
const outputsOfRun = (r: RunResult): Outputs =>
  Object.fromEntries(r.nodes.filter((n) => n.outputs).map((n) => [n.id, Object.fromEntries(Object.entries(n.outputs!).map(([k, v]) => [k, v.hash]))]));
const published = (dir: string): Record<string, string> => Object.fromEntries(PUBLISHED.map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));

/** Every object hashes to its name; every entry's outputs exist. */
function checkStore(dir: string): void {
  const store = new Store(path.join(dir, 'artifacts'));
  store.onWarn = () => {};
  for (const o of store.listObjects()) expect(createHash('sha256').update(fs.readFileSync(o.file)).digest('hex'), `object ${o.file}`).toBe(o.hash);
  for (const k of store.listEntries()) {
    const e = store.readEntry(k);
    if (e) for (const r of Object.values(e.outputs)) expect(fs.existsSync(store.objectPath(r.hash)), `object of ${e.node}`).toBe(true);
  }
}

/** The files of one kind in a store. */
function filesOf(dir: string, kind: string): string[] {
  const a = path.join(dir, 'artifacts');
  const walk = (d: string): string[] => {
    let out: string[] = [];
    let names: fs.Dirent[];
    try {
      names = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return out;
    }
    for (const n of names) {
      const p = path.join(d, n.name);
      if (n.isDirectory()) out = out.concat(walk(p));
      else if (n.isFile()) out.push(p);
    }
    return out;
  };
  switch (kind) {
    case 'object':
      return walk(path.join(a, 'objects'));
    case 'entry':
      return walk(path.join(a, 'cache'));
    case 'spec':
      return walk(path.join(a, 'specs'));
    case 'statcache':
      return [path.join(a, 'statcache.json')].filter((f) => fs.existsSync(f));
    case 'history':
      return [path.join(a, 'history.json'), ...walk(path.join(a, 'runs'))].filter((f) => fs.existsSync(f));
    default:
      return [];
  }
}

/** A lock left behind by a killed process (pid gone), backdated like a real leftover. */
function plantLock(dir: string): string {
  const locks = path.join(dir, 'artifacts/locks');
  fs.mkdirSync(locks, { recursive: true });
  const dead = spawnSync('true').pid!; // exited: its pid is free
  const name = pick(['gc', 'history.mutex', 'statcache.mutex', `run-${dead}-0a1b2c3d`]);
  const file = path.join(locks, name);
  const text = rand() < 0.25 ? String(dead) : JSON.stringify({ pid: dead, start: String(100000 + Math.floor(rand() * 1e6)), token: 'deadbeef00112233', host: os.hostname(), since: '2026-01-01T00:00:00.000Z' });
  fs.writeFileSync(file, text);
  return file;
}

/** Backdate a file by a minute (a lock left by a killed process is old). */
function age(file: string): void {
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(file, old, old);
}

/**
 * A lock that cannot be checked (its host field was flipped: "another machine's" lock) makes runs
 * time out; the message names the file to delete if its holder is not a running repro. Do that, as
 * a user would.
 */
function followWayOut(msg: string, ctx: string): void {
  const m = /delete (\S+) and try again/.exec(msg);
  if (!m) return;
  expect(m[1]!, ctx).toMatch(/artifacts\/locks\/[^/]+$/);
  fs.rmSync(m[1]!, { force: true });
}

/** Cut `file` at a random length. */
function truncate(file: string): string {
  const n = fs.statSync(file).size;
  const at = Math.floor(rand() * n);
  fs.truncateSync(file, at);
  return `${path.relative(path.dirname(path.dirname(file)), file)} truncated to ${at} of ${n} bytes`;
}

/** Replace `file` by a directory of the same name. */
function toDirectory(file: string): string {
  fs.rmSync(file);
  fs.mkdirSync(path.join(file, 'x'), { recursive: true });
  return `${path.relative(path.dirname(path.dirname(file)), file)} replaced by a directory`;
}

/** Flip one random byte of `file` (XOR with 1..255), keeping its size. */
function flip(file: string): string {
  const b = fs.readFileSync(file);
  if (b.length === 0) return `${file}: empty`;
  const i = Math.floor(rand() * b.length);
  const x = 1 + Math.floor(rand() * 255);
  const before = b[i]!;
  b[i] = before ^ x;
  fs.writeFileSync(file, b);
  return `${path.relative(path.dirname(path.dirname(file)), file)}[${i}] ${before}→${b[i]}`;
}

describe('fault injection (issue 9)', () => {
  let errs: string[] = [];
  beforeAll(() => {
    process.env.REPRO_LOCK_TIMEOUT = '2'; // a flipped lock of "another host" is waited for 2 s, then a clear error
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(() => {
    delete process.env.REPRO_LOCK_TIMEOUT;
  });

  it(`${FLIPS} random byte flips (and ${OTHER} truncations / directories) in every kind of store file: each run is identical to a clean run or fails clearly`, async () => {
    const ref = await rigWith(yamlWith(0));
    const clean = await ref.run({ workers: false });
    expect(clean.ok).toBe(true);
    const refOut = outputsOfRun(clean);
    const refPub = published(ref.dir);

    const rig: Rig = await rigWith(yamlWith(0));
    expect((await rig.run({ workers: false })).ok).toBe(true);
    vi.spyOn(process.stderr, 'write').mockImplementation(((s: string | Uint8Array) => {
      errs.push(String(s));
      return true;
    }) as typeof process.stderr.write);
    const kinds = ['object', 'entry', 'spec', 'statcache', 'history', 'lock'];
    const log: string[] = [];
    const counts: Record<string, number> = {};
    let failedRuns = 0;
    let warned = 0;
    for (let i = 0; i < FLIPS + OTHER; i++) {
      const kind = kinds[i % kinds.length]!;
      const fault = i < FLIPS ? flip : i % 2 ? truncate : toDirectory;
      let what: string;
      if (kind === 'lock') {
        const lock = plantLock(rig.dir);
        what = fault(lock);
        age(lock);
      } else {
        const files = filesOf(rig.dir, kind);
        if (files.length === 0) {
          log.push(`${i}: no ${kind} file`);
          continue;
        }
        what = fault(pick(files));
      }
      counts[kind] = (counts[kind] ?? 0) + 1;
      errs = [];
      const ctx = `seed ${SEED}, flip ${i} (${kind}: ${what}); earlier: ${log.slice(-3).join(' | ')}`;
      log.push(`${i}: ${what}`);
      let r: RunResult;
      try {
        r = await rig.run({ workers: false });
      } catch (e) {
        // the whole run refused: only with a clear message
        const msg = (e as Error).message;
        expect(clear(msg), `${ctx}: ${msg}`).toBe(true);
        failedRuns++;
        followWayOut(msg, ctx);
        continue;
      }
      if (errs.some((e) => /warning/.test(e))) warned++;
      for (const n of r.nodes) {
        if (n.status === 'ran' || n.status === 'cached') expect(outputsOfRun({ ...r, nodes: [n] })[n.id], `${ctx}: outputs of ${n.id}`).toEqual(refOut[n.id]);
        if (n.status === 'failed') expect(clear(n.error!.message), `${ctx}: ${n.id} failed: ${n.error!.message}`).toBe(true);
      }
      if (r.ok) expect(published(rig.dir), ctx).toEqual(refPub);
      else failedRuns++;
    }
    vi.mocked(process.stderr.write).mockRestore();
    // every kind was hit, and the store recovers: a last run is complete and identical
    for (const k of kinds) expect(counts[k] ?? 0, `seed ${SEED}: faults of ${k}`).toBeGreaterThan(14);
    let last = await rig.run({ workers: false });
    if (!last.ok) last = await rig.run({ workers: false }); // a corrupt input found by the previous run is recomputed now
    expect(last.ok, `seed ${SEED}`).toBe(true);
    expect(outputsOfRun(last)).toEqual(refOut);
    expect(published(rig.dir)).toEqual(refPub);
    checkStore(rig.dir);
    console.log(`faults: seed ${SEED}: ${FLIPS} flips + ${OTHER} other faults (${JSON.stringify(counts)}), ${warned} runs warned, ${failedRuns} failed with a clear message`);
  });

  it.skipIf(!fs.existsSync(CLI))(`${KILLS} random SIGKILLs of \`repro run\` (and of \`repro gc\`): every completed run is identical to a clean run`, async () => {
    const ref = await rigWith(yamlWith(40));
    const t0 = performance.now();
    const full = await cli(['run', '--json', '--jobs', '2'], ref.dir, { TOY_COUNTER: ref.counter });
    // kill moments within the time a run takes here (a run recomputes about half the nodes), so
    // that most kills land mid-run on a fast machine as on a slow one
    const span = Math.max(150, Math.round(0.8 * (performance.now() - t0)));
    expect(full.code, full.stderr).toBe(0);
    const refOut = entriesOutputs(ref.dir, JSON.parse(full.stdout) as JsonRun);
    const refPub = published(ref.dir);

    const rig = await rigWith(yamlWith(40));
    const env = { TOY_COUNTER: rig.counter };
    let killed = 0;
    const moments: number[] = [];
    for (let i = 0; i < KILLS; i++) {
      // work to do: forget some cache entries (objects stay), so the run recomputes those nodes
      const store = new Store(path.join(rig.dir, 'artifacts'));
      for (const k of store.listEntries()) if (rand() < 0.5) store.deleteEntry(k);
      // every 8th kill hits a `gc` (which deletes objects) instead of a run
      const gc = i % 8 === 5;
      const at = gc ? 5 + Math.floor(rand() * 150) : 30 + Math.floor(rand() * span);
      moments.push(at);
      const r = await cli(gc ? ['gc', '--keep-runs', '0'] : ['run', '--jobs', '2'], rig.dir, env, (_pid, kill) => setTimeout(() => kill('SIGKILL'), at));
      const ctx = `seed ${SEED}, kill ${i}${gc ? ' (gc)' : ''} at ${at} ms; moments ${moments.join(',')}`;
      if (r.signal === 'SIGKILL') killed++;
      else if (gc) expect(r.code, `${ctx}: ${r.stderr}`).toBe(0);
      else {
        // finished before the kill: then it is complete and identical
        expect(r.code, `${ctx}: ${r.stderr}`).toBe(0);
        expect(published(rig.dir), ctx).toEqual(refPub);
      }
      if (i % 4 === 3) {
        const fin = await cli(['run', '--json', '--jobs', '2'], rig.dir, env);
        expect(fin.code, `${ctx}: ${fin.stderr}`).toBe(0);
        expect(entriesOutputs(rig.dir, JSON.parse(fin.stdout) as JsonRun), ctx).toEqual(refOut);
        expect(published(rig.dir), ctx).toEqual(refPub);
        checkStore(rig.dir);
        const log = await cli(['log', '--json'], rig.dir, env);
        expect(log.code, `${ctx}: ${log.stderr}`).toBe(0);
        expect(Array.isArray(JSON.parse(log.stdout))).toBe(true);
      }
    }
    const fin = await cli(['run', '--json'], rig.dir, env);
    expect(fin.code, fin.stderr).toBe(0);
    expect(entriesOutputs(rig.dir, JSON.parse(fin.stdout) as JsonRun)).toEqual(refOut);
    checkStore(rig.dir);
    expect(fs.readdirSync(path.join(rig.dir, 'artifacts/locks'))).toEqual([]);
    expect(killed, `seed ${SEED}: most runs are killed mid-way`).toBeGreaterThan(KILLS / 2);
    console.log(`faults: seed ${SEED}: ${KILLS} kill attempts within ${30 + span} ms, ${killed} killed mid-run`);
  });
});

interface JsonRun {
  ok: boolean;
  nodes: { id: string; key: string; status: string }[];
}

/** Node id → output hashes of a finished CLI run, from the store's cache entries. */
function entriesOutputs(dir: string, run: JsonRun): Outputs {
  const store = new Store(path.join(dir, 'artifacts'));
  return Object.fromEntries(run.nodes.map((n) => [n.id, Object.fromEntries(Object.entries(store.readEntry(n.key)!.outputs).map(([k, v]) => [k, v.hash]))]));
}
