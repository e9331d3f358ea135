/**
 * Workers on "other machines": the coordinator and the worker each have their own checkout and
 * store, and artifacts travel only through a remote cache — a REAL nginx (WebDAV PUT) and a REAL
 * redis-server, both on loopback (skipped with a message when either or the compiled CLI is absent).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rigPool } from './rig.js';
import { outputHashes, runCli, SKIP_REASON, startRedis, startWorker, type RedisServer, type WorkerProc } from './distributed-rig.js';
import { NO_NGINX, startNginx, type Nginx } from '../../bench/nginx.js';

const YAML = `name: dist
seed: 7
steps:
  src:
    kind: source
    with: {path: data/nums.txt}
  a:
    kind: add
    in: src
    with: {k: 1}
  ch:
    kind: chunky
    with: {chunks: 8, per: 500}
  total:
    kind: sum
    in: [a]
  rep:
    kind: report
    in: [total, ch]
    publish: results/rep
`;

const SKIP = SKIP_REASON || NO_NGINX;
if (SKIP) console.warn(SKIP);

describe.skipIf(!!SKIP)('BullMQ workers with their own store, artifacts through a remote cache (nginx)', () => {
  const { rigWith, cleanupAll } = rigPool();
  let redis: RedisServer | undefined;
  let nginx: Nginx | undefined;
  const workers: WorkerProc[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    await redis?.stop();
    await nginx?.stop();
    cleanupAll();
  });

  it('a worker in another checkout runs every node; the coordinator gets the outputs from the remote, identical to a local run', async () => {
    [redis, nginx] = await Promise.all([startRedis(), startNginx()]);
    const here = await rigWith(YAML); // the coordinator's checkout
    const there = await rigWith(YAML); // the worker's: same code and data, its own artifacts/
    workers.push(await startWorker(redis.url, there.dir, { TOY_COUNTER: there.counter }, ['--remote-cache', nginx.url]));
    const r = await runCli(['run', '--json', '--executor', 'bullmq', '--redis', redis.url, '--distribute', 'all', '--remote-cache', nginx.url], here.dir, { TOY_COUNTER: here.counter }).done;
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout) as { ok: boolean; nodes: { id: string; status: string; key: string }[] };
    expect(run.nodes.map((n) => `${n.id}:${n.status}`)).toEqual(['src:ran', 'a:ran', 'ch:ran', 'total:ran', 'rep:ran']);
    // nothing ran in the coordinator's checkout; everything in the worker's
    expect(here.executed()).toEqual([]);
    expect(there.executed().sort()).toEqual(['a', 'ch', 'rep', 'src', 'total']);
    // the coordinator's store has every output (downloaded, verified) and published the report
    expect(fs.readFileSync(path.join(here.dir, 'results/rep.md'), 'utf8')).toMatch(/^# Report/);
    const local = await rigWith(YAML);
    const l = await runCli(['run', '--json', '--jobs', '2'], local.dir, { TOY_COUNTER: local.counter }).done;
    expect(l.code, l.stderr).toBe(0);
    const lh = outputHashes(local.dir, JSON.parse(l.stdout) as typeof run);
    const dh = outputHashes(here.dir, run);
    for (const id of ['src', 'a', 'total']) expect(dh[id], id).toEqual(lh[id]);
    // a second coordinator checkout with an empty store: all from the remote, nothing runs anywhere
    const third = await rigWith(YAML);
    const again = await runCli(['run', '--json', '--remote-cache', nginx.url], third.dir, { TOY_COUNTER: third.counter }).done;
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as typeof run).nodes.every((n) => n.status === 'cached')).toBe(true);
    expect(third.executed()).toEqual([]);
  }, 120_000);
});
