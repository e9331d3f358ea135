/**
 * The no-op memo (engine/noop-memo.ts, noop-recorder.ts) and its replay (engine/cli/replay.ts,
 * run by the `repro` entry dist/engine/cli/repro.cjs): a replayed run prints what the full path
 * prints and records the same history; anything the full no-op looked at that changes — data,
 * YAML, code, a store object, a published file, a file appearing where one was absent, the
 * environment, the command line — takes the full path again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { depsUnchanged, isPureNoop, MAX_MEMOS, memoFile, observe, readMemo, requestKey, saveMemo, type Dep, type Memo } from '../../engine/noop-memo.js';
import { startRecording } from '../../engine/noop-recorder.js';
import { recordRun, recordReplay, readHistory } from '../../engine/history.js';
import { baseRig, makeRig, NUMS, ROOT, TOY_DIR, type Rig } from './rig.js';

const ENTRY = path.join(ROOT, 'dist/engine/cli/repro.cjs');

/** `repro ARGS` as bin/repro runs it (the bundled entry), with the toy registry. */
function repro(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ENTRY, ...args], { cwd, env: { ...process.env, REPRO_REGISTRY: path.join(TOY_DIR, 'registry.js'), FORCE_COLOR: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const REPLAYED = /no-op: every one of the \d+ files the last identical run looked at is unchanged/;
/** Output with the per-node and total durations and the run number blanked. */
const norm = (s: string): string => s.replace(/\d+ ms/g, 'N ms').replace(/run #\d+/g, 'run #N');

let rig: Rig | null = null;
afterEach(() => {
  rig?.cleanup();
  rig = null;
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The full no-op of `args` that writes the memo: 2 s after the last change of anything it looks
 * at (a memo is never written over files changed within RACY_MS, see noop-recorder.ts).
 */
async function fullNoop(args: string[], dir: string, env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  await sleep(2100);
  const full = await repro(args, dir, env);
  expect(full.code, full.stderr).toBe(0);
  expect(full.stderr).not.toMatch(REPLAYED);
  expect(full.stdout).not.toMatch(/✓ ran/);
  return full;
}

/** A rig run once (everything ran) and once more (the full no-op, which writes the memo). */
async function primed(env: Record<string, string> = {}, args: string[] = ['run', '--verbose'], r0?: Rig): Promise<{ rig: Rig; full: { stdout: string; stderr: string } }> {
  const r = r0 ?? (await baseRig());
  rig = r;
  expect((await repro(args, r.dir, env)).code).toBe(0);
  const full = await fullNoop(args, r.dir, env);
  return { rig: r, full };
}

describe('no-op replay', () => {
  it('prints what the full no-op printed (text and --json), and records a run like it', async () => {
    const { rig: r, full } = await primed();
    const fast = await repro(['run', '--verbose'], r.dir);
    expect(fast.code).toBe(0);
    expect(fast.stderr).toMatch(REPLAYED);
    expect(norm(fast.stdout)).toBe(norm(full.stdout));
    expect(fast.stdout).toMatch(/toy: 0 ran, 6 cached, 0 failed, 0 skipped in \d+ ms \(run #3\)/);

    // --json is another request: its own full no-op, then replays
    const fj = await fullNoop(['run', '--json'], r.dir);
    const rj = await repro(['run', '--json'], r.dir);
    const zero = (s: string): unknown => JSON.parse(s.replace(/"ms":\d+/g, '"ms":0'));
    expect(zero(rj.stdout)).toEqual(zero(fj.stdout));
    expect(JSON.parse(rj.stdout).nodes.every((n: { status: string; reasons: unknown[] }) => n.status === 'cached' && JSON.stringify(n.reasons) === '[{"kind":"up-to-date"}]')).toBe(true);

    // the history: consecutive ids, the replayed runs as the full ones, `latest` moved to the last run
    const h = await readHistory(path.join(r.dir, 'artifacts'));
    expect(h.runs.map((x) => x.id)).toEqual([1, 2, 3, 4, 5]);
    const strip = (x: (typeof h.runs)[number]): unknown => ({ ...x, id: 0, started: '', ms: 0, argv: [], nodes: x.nodes.map((n) => ({ ...n, ms: 0 })) });
    expect(strip(h.runs[2]!)).toEqual(strip(h.runs[1]!));
    expect(strip(h.runs[4]!)).toEqual(strip(h.runs[3]!));
    expect(Object.values(h.latest.toy!).every((l) => l.run === 5)).toBe(true);
    expect(h.runs[4]!.argv).toEqual(['run', '--json']);
  });

  it('with colour (FORCE_COLOR=1): the same escape codes as chalk', async () => {
    const { rig: r, full } = await primed({ FORCE_COLOR: '1' });
    expect(full.stdout).toContain('\u001b[32m');
    const fast = await repro(['run', '--verbose'], r.dir, { FORCE_COLOR: '1' });
    expect(fast.stderr).toMatch(REPLAYED);
    expect(norm(fast.stdout)).toBe(norm(full.stdout));
  });

  it('a changed data file, YAML, store object or published file takes the full path, which sees the change', async () => {
    const { rig: r } = await primed();
    // data: src reruns
    r.write('data/nums.txt', `${NUMS}4.5\n`);
    let o = await repro(['run', '--verbose'], r.dir);
    expect(o.stderr).not.toMatch(REPLAYED);
    expect(o.stdout).toMatch(/✓ ran\s+src/);
    await fullNoop(['run', '--verbose'], r.dir); // a fresh memo
    expect((await repro(['run', '--verbose'], r.dir)).stderr).toMatch(REPLAYED);

    // the YAML
    r.setYaml(fs.readFileSync(r.yaml, 'utf8').replace('with: {k: 1}', 'with: {k: 2}'));
    o = await repro(['run', '--verbose'], r.dir);
    expect(o.stderr).not.toMatch(REPLAYED);
    expect(o.stdout).toMatch(/✓ ran\s+plus/);
    await fullNoop(['run', '--verbose'], r.dir);

    // a store object deleted (as by hand): the full path finds it missing and reruns its node
    const objects = path.join(r.dir, 'artifacts', 'objects');
    const some = fs.readdirSync(objects, { recursive: true, withFileTypes: true }).find((e) => e.isFile())!;
    fs.rmSync(path.join(some.parentPath, some.name));
    o = await repro(['run', '--verbose'], r.dir);
    expect(o.stderr).not.toMatch(REPLAYED);
    expect(o.stdout).toMatch(/✓ ran/);
    await fullNoop(['run', '--verbose'], r.dir);

    // a published file removed: published again
    const pub = path.join(r.dir, 'results');
    const file = path.join(pub, fs.readdirSync(pub)[0]!);
    fs.rmSync(file);
    o = await repro(['run', '--verbose'], r.dir);
    expect(o.stderr).not.toMatch(REPLAYED);
    expect(fs.existsSync(file)).toBe(true);
  });

  it('a touched step file (same content) takes the full path once: still all cached, and a fresh memo', async () => {
    const r = await makeRig({ copyToy: true });
    r.write('data/nums.txt', NUMS);
    r.setYaml(fs.readFileSync(path.join(ROOT, 'test/engine/rig.ts'), 'utf8').match(/export const BASE_YAML = `([^`]*)`/)![1]!);
    const env = { REPRO_REGISTRY: path.join(r.codeRoot, 'registry.js') };
    await primed(env, ['run', '--verbose'], r);
    const t = new Date(Date.now() - 60_000);
    fs.utimesSync(path.join(r.codeRoot, 'add.js'), t, t);
    const o = await repro(['run', '--verbose'], r.dir, env);
    expect(o.stderr).not.toMatch(REPLAYED);
    expect(o.stdout).toMatch(/0 ran, 6 cached/);
    await fullNoop(['run', '--verbose'], r.dir, env); // the touch changed the file's ctime just now
    expect((await repro(['run', '--verbose'], r.dir, env)).stderr).toMatch(REPLAYED);
  });

  it('another request — other arguments, another environment, REPRO_NOOP_MEMO=off — is not replayed', async () => {
    const { rig: r } = await primed();
    expect((await repro(['run', '--verbose', '--target', 'plus'], r.dir)).stderr).not.toMatch(REPLAYED);
    expect((await repro(['run', '--verbose'], r.dir, { SOME_SETTING: '1' })).stderr).not.toMatch(REPLAYED);
    expect((await repro(['run', '--verbose'], r.dir, { REPRO_NOOP_MEMO: 'off' })).stderr).not.toMatch(REPLAYED);
    expect((await repro(['run', '--verbose'], r.dir)).stderr).toMatch(REPLAYED);
    // --force never uses a memo (nor writes one), and after it the state is the same: still replayed
    expect((await repro(['run', '--verbose', '--force', 'plus'], r.dir)).stdout).toMatch(/✓ ran\s+plus/);
    const dry = await repro(['run', '--dry-run'], r.dir);
    expect(dry.stdout).toMatch(/dry run/);
  });

  it('a gc holding the store: the full path, which waits for it', async () => {
    const env = { REPRO_LOCK_TIMEOUT: '1' };
    const { rig: r } = await primed(env);
    const gc = path.join(r.dir, 'artifacts', 'locks', 'gc');
    fs.writeFileSync(gc, String(process.pid)); // a live holder (this test)
    const o = await repro(['run', '--verbose'], r.dir, env);
    expect(o.stderr).not.toMatch(REPLAYED);
    expect(o.stderr).toMatch(/waiting for gc|timed out after 1 s waiting for a `repro gc`/);
    expect(o.code).toBe(1);
    fs.rmSync(gc);
    expect((await repro(['run', '--verbose'], r.dir, env)).stderr).toMatch(REPLAYED);
  });

  it('a run in which a node ran or that warned leaves no memo', async () => {
    rig = await baseRig();
    await repro(['run'], rig.dir);
    const memoDir = path.join(rig.dir, 'artifacts', 'noop');
    expect(fs.existsSync(memoDir) ? fs.readdirSync(memoDir) : []).toEqual([]);
    // --jobs above the cores warns: that request is never memoized
    await repro(['run', '--jobs', '64'], rig.dir);
    expect((await repro(['run', '--jobs', '64', '--verbose'], rig.dir)).stderr).not.toMatch(REPLAYED);
  });
});

describe('recorder', () => {
  it('records what each call saw — an absent file too — and nothing after stop()', () => {
    rig = null;
    const dir = fs.mkdtempSync(path.join(ROOT, '.repro-tmp', 'rec-'));
    try {
      const store = path.join(dir, 'artifacts');
      fs.mkdirSync(store);
      const a = path.join(dir, 'a.txt');
      fs.writeFileSync(a, 'x');
      const rec = startRecording();
      fs.readFileSync(a);
      expect(() => fs.statSync(path.join(dir, 'absent'))).toThrow();
      fs.existsSync(path.join(dir, 'absent2'));
      fs.writeFileSync(path.join(store, 'history.json'), '{}'); // bookkeeping: allowed
      // a.txt was written just now (see the next test): as if 3 s later
      const deps = rec.stop(store, Date.now() + 3000)!;
      fs.statSync(path.join(dir, 'after'), { throwIfNoEntry: false });
      const files = deps.map((d) => d[1]);
      expect(files).toContain(a);
      expect(deps.find((d) => d[1] === path.join(dir, 'absent'))![2]).toBe('!ENOENT');
      expect(deps.find((d) => d[1] === path.join(dir, 'absent2'))![2]).toBe('!ENOENT');
      expect(files).not.toContain(path.join(dir, 'after'));
      expect(files).not.toContain(path.join(store, 'history.json'));
      expect(depsUnchanged(deps)).toBe(true);
      fs.writeFileSync(path.join(dir, 'absent'), 'now here');
      expect(depsUnchanged(deps)).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a write outside the store bookkeeping, a file changed within 2 s, or spoil() gives no memo', () => {
    const dir = fs.mkdtempSync(path.join(ROOT, '.repro-tmp', 'rec-'));
    try {
      const store = path.join(dir, 'artifacts');
      const a = path.join(dir, 'a.txt');
      fs.writeFileSync(a, 'x');
      let rec = startRecording();
      fs.writeFileSync(path.join(dir, 'out.txt'), 'y');
      expect(rec.stop(store)).toBeNull();
      expect(rec.reasonSpoiled).toContain('out.txt');
      rec = startRecording();
      fs.readFileSync(a);
      fs.appendFileSync(a, 'more'); // a write: spoils too
      expect(rec.stop(store)).toBeNull();
      rec = startRecording();
      fs.statSync(a); // written just now: a memo is never written over files changed within 2 s
      expect(rec.stop(store)).toBeNull();
      expect(rec.reasonSpoiled).toMatch(/a\.txt changed less than 2 s ago/);
      rec = startRecording();
      fs.statSync(a);
      rec.spoil('a node ran');
      expect(rec.stop(store)).toBeNull();
      expect(rec.reasonSpoiled).toBe('a node ran');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('observe: a stat as type:size:mtime:ino:ctime, a realpath, a listing', () => {
    const d: Dep = ['s', path.join(ROOT, 'package.json'), ''];
    expect(observe('s', d[1])).toMatch(/^f:\d+:[\d.]+:\d+:[\d.]+$/);
    expect(observe('r', ROOT)).toBe(`=${fs.realpathSync(ROOT)}`);
    expect(observe('d', path.join(ROOT, 'bin'))).toMatch(/^#[0-9a-f]{32}$/);
    expect(observe('l', path.join(ROOT, 'no such file'))).toBe('!ENOENT');
  });
});

describe('memo and history', () => {
  it('readMemo ignores a memo of another request, a damaged one, or none', () => {
    const dir = fs.mkdtempSync(path.join(ROOT, '.repro-tmp', 'memo-'));
    try {
      expect(readMemo(dir, requestKey(['x']))).toBeNull();
      const file = path.join(dir, 'noop');
      fs.mkdirSync(file);
      const req = requestKey(['run']);
      saveMemo(dir, { request: req, deps: [], color: false, order: ['a'], record: { ok: true, pipeline: 'p', file: 'p.yaml', jobs: 1, argv: ['run'], counts: { ran: 0, cached: 1, failed: 0, skipped: 0 }, nodes: [{ id: 'a', kind: 'k', status: 'cached', key: 'k1', ms: 0, reason: 'up to date', warnings: [] }] } });
      expect(readMemo(dir, req)?.order).toEqual(['a']);
      expect(readMemo(dir, requestKey(['run', '--json']))).toBeNull();
      const f = memoFile(dir, req);
      fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('"k1"', '"k2"')); // fails its checksum
      expect(readMemo(dir, req)).toBeNull();
      // at most MAX_MEMOS are kept (the most recent by mtime)
      const memo = JSON.parse(fs.readFileSync(f, 'utf8').replace(/,"sum":"[0-9a-f]+"\}\s*$/, '}')) as Memo;
      for (let i = 0; i < MAX_MEMOS + 2; i++) saveMemo(dir, { ...memo, request: requestKey(['run', `--target=n${i}`]) });
      expect(fs.readdirSync(file)).toHaveLength(MAX_MEMOS);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('recordReplay writes nothing when `latest` no longer holds the memo\'s keys', async () => {
    const dir = fs.mkdtempSync(path.join(ROOT, '.repro-tmp', 'hist-'));
    try {
      const run = { started: new Date().toISOString(), ms: 1, ok: true, pipeline: 'p', file: 'p.yaml', jobs: 1, argv: ['run'], counts: { ran: 1, cached: 0, failed: 0, skipped: 0 }, nodes: [] };
      const latest = { key: 'k1', kind: 'k', parts: { kind: 'k', code: {}, params: {}, inputs: {}, files: {}, seed: { root: 1, node: 'a' } }, outputs: {} };
      expect(await recordRun(dir, run, { a: latest })).toBe(1);
      expect(await recordReplay(dir, run, { a: 'other' })).toBeNull();
      expect((await readHistory(dir)).runs.map((x) => x.id)).toEqual([1]);
      expect(await recordReplay(dir, run, { a: 'k1' })).toBe(2);
      const h = await readHistory(dir);
      expect(h.runs.map((x) => x.id)).toEqual([1, 2]);
      expect(h.latest.p!.a!.run).toBe(2);
      expect(h.latest.p!.a!.key).toBe('k1');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('isPureNoop: only all-cached, up-to-date, quiet, recorded runs', () => {
    const n = { status: 'cached', reasons: [{ kind: 'up-to-date' }], warnings: [] as string[] };
    expect(isPureNoop({ ok: true, runId: 3, warnings: [], nodes: [n] })).toBe(true);
    expect(isPureNoop({ ok: true, warnings: [], nodes: [n] })).toBe(false);
    expect(isPureNoop({ ok: true, runId: 3, warnings: [], nodes: [{ ...n, status: 'ran' }] })).toBe(false);
    expect(isPureNoop({ ok: true, runId: 3, warnings: [], nodes: [{ ...n, reasons: [{ kind: 'remote' }] }] })).toBe(false);
    expect(isPureNoop({ ok: true, runId: 3, warnings: [], nodes: [{ ...n, published: ['x'] }] })).toBe(false);
    expect(isPureNoop({ ok: true, runId: 3, warnings: ['w'], nodes: [n] })).toBe(false);
    expect(isPureNoop({ ok: true, runId: 3, warnings: [], remote: {}, nodes: [n] })).toBe(false);
  });
});
