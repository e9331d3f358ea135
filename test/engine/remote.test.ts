/**
 * The remote cache (engine/remote/) against a real nginx with WebDAV PUT (bench/nginx.ts):
 * an empty clone served entirely from the remote, poisoned/truncated objects, a server that dies
 * mid-run or never answers, failed nodes, read-only users, credentials, status/push/pull.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../../engine/canonical.js';
import type { RunEvent } from '../../engine/executor.js';
import { RemoteCache } from '../../engine/remote/http-cache.js';
import { BASE_YAML, cli, rigPool, statuses, type Rig } from './rig.js';
import { NGINX, NO_NGINX, startNginx, type Nginx } from '../../bench/nginx.js';

if (!NGINX) console.warn(NO_NGINX);

/** Every file under a directory (relative paths). */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile());
}

/** Block the thread for `ms` (so that a killed server is really gone before the run continues). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Warnings about the remote cache (the toy report step warns on its own). */
const warnsOf = (events: RunEvent[]): string[] => events.filter((e): e is Extract<RunEvent, { type: 'warn' }> => e.type === 'warn').map((e) => e.msg).filter((m) => m.includes('remote cache'));

describe.skipIf(!NGINX)('remote cache against a real nginx', () => {
  const pool = rigPool();
  let ng: Nginx;
  beforeEach(async () => {
    ng = await startNginx();
  });
  afterEach(async () => {
    await ng.stop();
    pool.cleanupAll();
  });

  it('a second clone with an empty local store gets every node from the remote (0 ran)', async () => {
    const a = await pool.rigWith(BASE_YAML);
    const ra = await a.run({ remoteCache: ng.url });
    expect(ra.ok).toBe(true);
    expect(Object.values(statuses(ra)).every((s) => s === 'ran')).toBe(true);
    // every output object and every node entry is on the server, under the protocol's paths
    const cas = filesUnder(path.join(ng.root, 'cas'));
    const ac = filesUnder(path.join(ng.root, 'ac'));
    expect(ac.sort()).toEqual(ra.nodes.map((n) => n.key).sort());
    for (const n of ra.nodes) for (const r of Object.values(n.outputs!)) expect(cas).toContain(r.hash);
    for (const f of cas) expect(sha256(fs.readFileSync(path.join(ng.root, 'cas', f)))).toBe(f);
    expect(ra.remote).toMatchObject({ url: ng.url, down: null, entriesUp: 6 });
    a.executed();

    const b = await pool.rigWith(BASE_YAML);
    const events: RunEvent[] = [];
    const rb = await b.run({ remoteCache: ng.url, onEvent: (e) => events.push(e) });
    expect(rb.ok).toBe(true);
    expect(b.executed()).toEqual([]); // 0 ran
    for (const n of rb.nodes) {
      expect(n.status).toBe('cached');
      expect(n.reasons).toEqual([{ kind: 'remote' }]);
      expect(n.reason).toBe('from the remote cache');
      expect(n.key).toBe(ra.nodes.find((x) => x.id === n.id)!.key);
    }
    expect(warnsOf(events)).toEqual([]);
    // the published report is restored from the downloaded objects, identical to the first clone's
    expect(fs.readFileSync(path.join(b.dir, 'results/rep.md'), 'utf8')).toBe(fs.readFileSync(path.join(a.dir, 'results/rep.md'), 'utf8'));
    // now local: the next run is a local no-op that asks the remote nothing
    const before = ng.accessLog().split('\n').length;
    const rb2 = await b.run({ remoteCache: ng.url });
    expect(rb2.nodes.every((n) => n.status === 'cached' && n.reason === 'up to date')).toBe(true);
    expect(ng.accessLog().split('\n').length).toBe(before);
  });

  it('a poisoned or truncated remote object is rejected, reported and recomputed; the upload heals it', async () => {
    const a = await pool.rigWith(BASE_YAML);
    const ra = await a.run({ remoteCache: ng.url });
    const plus = ra.nodes.find((n) => n.id === 'plus')!.outputs!.table!.hash;
    const rep = ra.nodes.find((n) => n.id === 'rep')!.outputs!;
    const repHash = Object.values(rep)[0]!.hash;
    const good = fs.readFileSync(path.join(ng.root, 'cas', plus));
    fs.writeFileSync(path.join(ng.root, 'cas', plus), good.subarray(0, good.length >> 1)); // truncated
    const goodRep = fs.readFileSync(path.join(ng.root, 'cas', repHash));
    fs.writeFileSync(path.join(ng.root, 'cas', repHash), Buffer.from(goodRep.toString('utf8').replace(/\d/, '9'))); // poisoned
    a.executed();

    const b = await pool.rigWith(BASE_YAML);
    const events: RunEvent[] = [];
    const rb = await b.run({ remoteCache: ng.url, onEvent: (e) => events.push(e) });
    expect(rb.ok).toBe(true);
    expect(b.executed()).toEqual(['plus', 'rep']);
    const st = statuses(rb);
    expect(st).toMatchObject({ src: 'cached', plus: 'ran', r: 'cached', total: 'cached', side: 'cached', rep: 'ran' });
    const w = warnsOf(events);
    expect(w).toHaveLength(2);
    expect(w[0]).toMatch(new RegExp(`^remote cache object ${plus.slice(0, 12)}… failed verification \\(its ${good.length >> 1} bytes hash to [0-9a-f]{12}…\\): output table of plus rejected; recomputing$`));
    expect(w[1]).toMatch(/failed verification .*: output md of rep rejected; recomputing$/);
    expect(rb.nodes.find((n) => n.id === 'plus')!.warnings).toEqual([w[0]]);
    // the recomputed outputs are identical, and the write-through replaced the bad copies
    expect(rb.nodes.find((n) => n.id === 'plus')!.outputs!.table!.hash).toBe(plus);
    expect(fs.readFileSync(path.join(ng.root, 'cas', plus))).toEqual(good);
    expect(fs.readFileSync(path.join(ng.root, 'cas', repHash))).toEqual(goodRep);
    // the local store never kept a bad object
    for (const o of filesUnder(path.join(b.dir, 'artifacts/objects'))) expect(sha256(fs.readFileSync(path.join(b.dir, 'artifacts/objects', o)))).toBe(path.basename(o));
  });

  it('the server going down mid-run: one warning, the rest runs locally, the run succeeds', async () => {
    const a = await pool.rigWith(BASE_YAML);
    expect((await a.run({ remoteCache: ng.url })).ok).toBe(true);
    const b = await pool.rigWith(BASE_YAML);
    const events: RunEvent[] = [];
    const rb = await b.run({
      remoteCache: ng.url,
      jobs: 1,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'node' && e.node.id === 'src') {
          ng.kill();
          sleepSync(200);
        }
      },
    });
    expect(rb.ok).toBe(true);
    expect(statuses(rb).src).toBe('cached');
    expect(rb.nodes.find((n) => n.id === 'src')!.reason).toBe('from the remote cache');
    expect(rb.nodes.filter((n) => n.id !== 'src').every((n) => n.status === 'ran')).toBe(true);
    const w = warnsOf(events);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(new RegExp(`^remote cache http://127\\.0\\.0\\.1:${ng.port} is unavailable \\(.+\\); continuing with the local cache only$`));
    expect(rb.warnings).toEqual(w);
    expect(rb.remote!.down).toBeTruthy();
  });

  it('a server that is not there, or never answers: one warning within the short timeout, never a failed run', async () => {
    // a port nothing listens on
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const a = await pool.rigWith(BASE_YAML);
    const events: RunEvent[] = [];
    const ra = await a.run({ remoteCache: `http://127.0.0.1:${closed}/x`, onEvent: (e) => events.push(e) });
    expect(ra.ok).toBe(true);
    expect(Object.values(statuses(ra)).every((s) => s === 'ran')).toBe(true);
    expect(warnsOf(events)).toEqual([`remote cache http://127.0.0.1:${closed}/x is unavailable (connection refused); continuing with the local cache only`]);

    // a server that accepts connections and never answers
    const sockets: net.Socket[] = [];
    const mute = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', () => r()));
    try {
      const warned: string[] = [];
      const remote = new RemoteCache({ url: `http://127.0.0.1:${(mute.address() as net.AddressInfo).port}`, timeoutMs: 300, onWarn: (m) => warned.push(m) });
      const b = await pool.rigWith(BASE_YAML);
      const t0 = performance.now();
      const rb = await b.run({ remote });
      expect(rb.ok).toBe(true);
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(warned).toEqual([`remote cache http://127.0.0.1:${(mute.address() as net.AddressInfo).port} is unavailable (no answer within 300 ms); continuing with the local cache only`]);
    } finally {
      for (const s of sockets) s.destroy();
      mute.close();
    }
  });

  it('a server that refuses uploads (nginx without create_full_put_path): one warning with the fix, the run succeeds', async () => {
    const bad = await startNginx({ createFullPutPath: false });
    try {
      const a = await pool.rigWith(BASE_YAML);
      const events: RunEvent[] = [];
      const ra = await a.run({ remoteCache: bad.url, onEvent: (e) => events.push(e) });
      expect(ra.ok).toBe(true);
      expect(warnsOf(events)).toEqual([`remote cache ${bad.url} is unavailable (HTTP 500 for PUT cas: the server could not store it (nginx: create_full_put_path on, and a root its workers may write)); continuing with the local cache only`]);
      expect(filesUnder(path.join(bad.root, 'ac'))).toEqual([]);
    } finally {
      await bad.stop();
    }
  });

  it('a failing node is never uploaded; the nodes that succeeded are', async () => {
    const yaml = `${BASE_YAML}  bad:\n    kind: fail\n    in: src\n    with: {fail: true}\n  after_bad:\n    kind: add\n    in: bad\n`;
    const a = await pool.rigWith(yaml);
    const ra = await a.run({ remoteCache: ng.url, keepGoing: true });
    expect(ra.ok).toBe(false);
    const bad = ra.nodes.find((n) => n.id === 'bad')!;
    expect(bad.status).toBe('failed');
    expect(bad.key).toMatch(/^[0-9a-f]{64}$/);
    const ac = filesUnder(path.join(ng.root, 'ac'));
    expect(ac).not.toContain(bad.key);
    expect(ac.sort()).toEqual(ra.nodes.filter((n) => n.status === 'ran').map((n) => n.key).sort());
    expect(ac).toHaveLength(6);
  });

  it('--remote-upload=false (read-only): fetches, uploads nothing', async () => {
    const a = await pool.rigWith(BASE_YAML);
    const ra = await a.run({ remoteCache: ng.url, remoteUpload: false });
    expect(ra.ok).toBe(true);
    expect(filesUnder(ng.root)).toEqual([]);
    expect(ng.accessLog()).not.toMatch(/"PUT /);
  });

  it('cache: {remote: URL} in the YAML; --remote-cache off disables it; a bad URL is a usage error', async () => {
    const a = await pool.rigWith(`cache: {remote: "${ng.url}"}\n${BASE_YAML}`);
    expect((await a.run()).ok).toBe(true);
    expect(filesUnder(path.join(ng.root, 'ac'))).toHaveLength(6);
    const b = await pool.rigWith(`cache: {remote: "${ng.url}", upload: false}\n${BASE_YAML}`);
    const rb = await b.run();
    expect(rb.nodes.every((n) => n.reason === 'from the remote cache')).toBe(true);
    const c = await pool.rigWith(`cache: {remote: "${ng.url}"}\n${BASE_YAML}`);
    const rc = await c.run({ remoteCache: 'off' });
    expect(rc.nodes.every((n) => n.status === 'ran')).toBe(true);
    expect(rc.remote).toBeUndefined();
    await expect(c.run({ remoteCache: 'ftp://x/y' })).rejects.toThrow(/--remote-cache: expected an http:\/\/ or https:\/\/ URL/);
    const d = await pool.rigWith(`cache: {remote: "ftp://host/x"}\n${BASE_YAML}`);
    await expect(d.run()).rejects.toThrow(/cache\.remote.*http:\/\/ or https:\/\/ URL/);
  });
});

/** The compiled CLI in a rig's folder (the toy steps count into that rig's counter). */
const rcli = (args: string[], r: Rig, env: Record<string, string> = {}): ReturnType<typeof cli> => cli(args, r.dir, { TOY_COUNTER: r.counter, ...env });

describe.skipIf(!NGINX || !fs.existsSync(path.resolve('dist/engine/cli/main.js')))('remote cache from the command line (compiled CLI, real nginx)', () => {
  const pool = rigPool();
  let ng: Nginx;
  const SECRET = 's3cret-token-7f3a';
  beforeEach(async () => {
    ng = await startNginx({ requireHeader: `Bearer ${SECRET}` });
  });
  afterEach(async () => {
    await ng.stop();
    pool.cleanupAll();
  });

  it('REPRO_REMOTE_CACHE_HEADER is sent (the server demands it) and never recorded; without it: one 401 warning', async () => {
    const env = { REPRO_REMOTE_CACHE: ng.url, REPRO_REMOTE_CACHE_HEADER: `Authorization: Bearer ${SECRET}` };
    const a = await pool.rigWith(BASE_YAML);
    const r1 = await rcli(['run', '--json'], a, env);
    expect(r1.code).toBe(0);
    expect(filesUnder(path.join(ng.root, 'ac'))).toHaveLength(6); // accepted: the header was sent
    const b = await pool.rigWith(BASE_YAML);
    const r2 = await rcli(['run', '--verbose'], b, env);
    expect(r2.code).toBe(0);
    expect(r2.stdout).toMatch(/0 ran, 6 cached \(6 from the remote\)/);
    expect(b.executed()).toEqual([]);
    // nowhere on disk (history, stat cache, specs, published report) nor in the output
    for (const dir of [a.dir, b.dir]) {
      for (const f of filesUnder(dir)) expect(fs.readFileSync(path.join(dir, f), 'utf8').includes(SECRET), f).toBe(false);
    }
    for (const out of [r1.stdout, r1.stderr, r2.stdout, r2.stderr]) expect(out).not.toContain(SECRET);
    expect(ng.accessLog()).not.toContain(SECRET);

    // a wrong credential: the server refuses, one warning naming the env var (not its value), local run
    const c = await pool.rigWith(BASE_YAML);
    const r3 = await rcli(['run'], c, { ...env, REPRO_REMOTE_CACHE_HEADER: 'Authorization: Bearer wrong-one' });
    expect(r3.code).toBe(0);
    expect(r3.stdout).toMatch(/6 ran/);
    const warn = r3.stderr.split('\n').filter((l) => l.includes('remote cache'));
    expect(warn).toEqual([`  ! remote cache ${ng.url} is unavailable (HTTP 401 for GET ac: check the credentials in REPRO_REMOTE_CACHE_HEADER); continuing with the local cache only`]);
    expect(r3.stderr).not.toContain('wrong-one');
    // credentials in the URL: sent as basic auth (refused here), redacted in the warning and the history's argv
    const withPw = ng.url.replace('http://', 'http://alice:pw-9d2e@');
    const d = await pool.rigWith(BASE_YAML);
    const r5 = await rcli(['run', '--remote-cache', withPw], d, { REPRO_REMOTE_CACHE_HEADER: '' });
    expect(r5.code).toBe(0);
    expect(r5.stderr).toContain(`remote cache ${ng.url.replace('http://', 'http://***@')} is unavailable (HTTP 401`);
    const runsDir = path.join(d.dir, 'artifacts/runs');
    expect(fs.readdirSync(runsDir).map((f) => fs.readFileSync(path.join(runsDir, f), 'utf8')).join('')).toContain('http://***@127.0.0.1');
    for (const f of filesUnder(d.dir)) expect(fs.readFileSync(path.join(d.dir, f), 'utf8').includes('pw-9d2e'), f).toBe(false);
    expect(r5.stdout + r5.stderr).not.toContain('pw-9d2e');
    // a malformed header variable: usage error that does not echo it
    const r4 = await rcli(['run'], c, { ...env, REPRO_REMOTE_CACHE_HEADER: 'Bearer-only-no-colon' });
    expect(r4.code).toBe(2);
    expect(r4.stderr).toMatch(/REPRO_REMOTE_CACHE_HEADER: line 1 is not `Name: value`/);
    expect(r4.stderr).not.toContain('Bearer-only');
  });

  it('repro push, repro status (which nodes the remote has), repro pull, then a run with 0 ran', async () => {
    const env = { REPRO_REMOTE_CACHE_HEADER: `Authorization: Bearer ${SECRET}` };
    const a = await pool.rigWith(BASE_YAML);
    const r0 = await rcli(['run', '--remote-cache', ng.url, '--remote-upload=false'], a, env);
    expect(r0.code).toBe(0);
    expect(filesUnder(ng.root)).toEqual([]);
    const st0 = JSON.parse((await rcli(['status', '--json', '--remote-cache', ng.url], a, env)).stdout);
    expect(st0.nodes.map((n: { remote: boolean }) => n.remote)).toEqual([false, false, false, false, false, false]);
    const push = await rcli(['push', '--remote-cache', ng.url], a, env);
    expect(push.code).toBe(0);
    expect(push.stdout).toMatch(/pushed 6 node\(s\) \(\d+ objects, [\d.]+ \w+\) to http/);
    expect(filesUnder(path.join(ng.root, 'ac'))).toHaveLength(6);
    const push2 = await rcli(['push', '--remote-cache', ng.url, '--json'], a, env);
    expect(JSON.parse(push2.stdout)).toMatchObject({ ok: true, objects: 0 });

    const b = await pool.rigWith(BASE_YAML);
    const st = await rcli(['status', '--json', '--remote-cache', ng.url], b, env);
    const sj = JSON.parse(st.stdout);
    expect(sj.remote).toEqual({ url: ng.url, available: true });
    for (const n of sj.nodes) expect(n).toMatchObject({ state: 'cached', remote: true, reason: 'from the remote cache' });
    const sh = await rcli(['status', '--remote-cache', ng.url], b, env);
    expect(sh.stdout).toMatch(/remote http:\/\/127\.0\.0\.1:\d+: has 6 of 6 nodes \(6 not in the local store: a run fetches them\)/);

    const pull = await rcli(['pull', '--remote-cache', ng.url], b, env);
    expect(pull.code).toBe(0);
    expect(pull.stdout).toMatch(/pulled 6 node\(s\)/);
    const run = await rcli(['run', '--json', '--remote-cache', 'off'], b);
    const rj = JSON.parse(run.stdout);
    expect(rj.nodes.every((n: { status: string; reason: string }) => n.status === 'cached' && n.reason === 'up to date')).toBe(true);
    expect(b.executed()).toEqual([]);

    // push/pull without any remote: usage error
    const none = await rcli(['pull'], b);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no remote cache: give --remote-cache URL/);
  });
});
