/**
 * The study's `placebo` step (10 chunks of 50 draws on the demo panel) on BullMQ workers with a
 * REAL redis-server: the replicates table and the summary are byte-identical to the local
 * executor's, with 1 and 2 workers and different groupings of chunks into jobs. Skipped with a
 * message when redis-server or dist/ is absent.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, rigPool } from './rig.js';
import { outputHashes, runCli, SKIP_REASON, startRedis, startWorker, type RedisServer, type WorkerProc } from './distributed-rig.js';

const YAML = `name: plac
seed: 20240101
steps:
  ingest:
    kind: ingest
    with:
      path: ${path.join(ROOT, 'data/demo/city-panel.csv')}
      key: [city_code, year]
  clean:
    kind: clean
    in: ingest
    with: {years: {from: 2005, to: 2022}}
  panel:
    kind: merge-roster
    in: {panel: clean.table}
    with: {roster: ${path.join(ROOT, 'data/pilot-zones.csv')}, register: ${path.join(ROOT, 'data/cities.csv')}, county_zones: ignore}
  placebo:
    kind: placebo
    in: panel.panel
    with: {y: so2, treat: did, controls: [pgdp, indus, urb, fin, fis], fe: [city_code, year], cluster: city_code,
           unit: city_code, time: year, adopt: adopt, reps: 500, mode: random}
`;

interface JsonRun {
  ok: boolean;
  nodes: { id: string; status: string; key: string }[];
}

if (SKIP_REASON) console.warn(SKIP_REASON);

describe.skipIf(!!SKIP_REASON)('placebo on BullMQ workers (real Redis)', () => {
  const { rigWith, cleanupAll } = rigPool();
  let redis: RedisServer | null = null;
  const workers: WorkerProc[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    await redis?.stop();
    cleanupAll();
  });

  it('chunked placebo: replicates and summary identical to the local run, for 1 and 2 workers', async () => {
    redis = await startRedis();
    const local = await rigWith(YAML);
    const l = await runCli(['run', '--json', '--jobs', '2'], local.dir, {}, false).done;
    expect(l.code, l.stderr).toBe(0);
    const want = outputHashes(local.dir, JSON.parse(l.stdout) as JsonRun).placebo!;
    expect(Object.keys(want).sort()).toEqual(['replicates', 'summary']);
    for (const [nw, mapJobs] of [
      [1, 4],
      [2, 9],
    ] as const) {
      const rig = await rigWith(YAML);
      for (let i = 0; i < nw; i++) workers.push(await startWorker(redis.url, rig.dir, {}, [], false));
      const r = await runCli(['run', '--json', '--executor', 'bullmq', '--redis', redis.url, '--map-jobs', String(mapJobs)], rig.dir, {}, false).done;
      expect(r.code, r.stderr).toBe(0);
      const run = JSON.parse(r.stdout) as JsonRun;
      expect(run.nodes.find((n) => n.id === 'placebo')!.status).toBe('ran');
      expect(outputHashes(rig.dir, run).placebo, `${nw} worker(s), --map-jobs ${mapJobs}`).toEqual(want);
      // --distribute cpu (default): the light nodes ran here, only placebo went to a worker
      expect(workers.map((w) => w.log()).join('\n')).not.toMatch(/ingest: running/);
      expect(workers.map((w) => w.log()).join('\n')).toMatch(/placebo: ran in/);
      await Promise.all(workers.splice(0).map((w) => w.kill('SIGTERM')));
    }
  }, 180_000);
});
