/**
 * `repro run --executor bullmq` with `repro worker` processes, against a REAL redis-server started
 * per test (free loopback port, no persistence) — skipped with a message when redis-server or the
 * compiled CLI is absent. Toy steps (test/fixtures/engine/toy) count their executions in
 * $TOY_COUNTER, so retries and duplicate runs are visible.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSession } from '../../engine/session.js';
import { runSession, type RunEvent } from '../../engine/executor.js';
import { bullmqExecutor } from '../../engine/distributed/coordinator.js';
import { rigPool, TOY_DIR, type Rig } from './rig.js';
import { jsonOutput, outputHashes, runCli, SKIP_REASON, startRedis, startWorker, type RedisServer, type WorkerProc } from './distributed-rig.js';

const YAML = `name: dist
seed: 7
steps:
  src:
    kind: source
    with: {path: data/nums.txt}
  a:
    kind: add
    in: src
    with: {k: 1, delay: 200}
  b:
    kind: add
    in: src
    with: {k: 2, delay: 200}
  total:
    kind: sum
    in: [a, b]
  ch:
    kind: chunky
    with: {chunks: 16, per: 2000}
  rep:
    kind: report
    in: [total, ch]
    publish: results/rep
`;

const SLOW = (delay: number): string => `name: slow
seed: 7
steps:
  src:
    kind: source
    with: {path: data/nums.txt}
  slow:
    kind: add
    in: src
    with: {k: 5, delay: ${delay}}
  total:
    kind: sum
    in: [slow]
`;

interface JsonRun {
  ok: boolean;
  nodes: { id: string; kind: string; status: string; key: string; reason: string; error?: string }[];
}

if (SKIP_REASON) console.warn(SKIP_REASON);

describe.skipIf(!!SKIP_REASON)('BullMQ executor with a real Redis', () => {
  const { rigWith, cleanupAll } = rigPool();
  let redis: RedisServer;
  const workers: WorkerProc[] = [];
  const counterOf = (r: Rig): Record<string, string> => ({ TOY_COUNTER: r.counter });
  const worker = async (r: Rig, args: string[] = [], env: Record<string, string> = {}): Promise<WorkerProc> => {
    const w = await startWorker(redis.url, r.dir, { ...counterOf(r), ...env }, args);
    workers.push(w);
    return w;
  };
  /** A local run of the same YAML in a fresh rig: the reference outputs. */
  const localRun = async (yaml: string): Promise<{ rig: Rig; run: JsonRun }> => {
    const rig = await rigWith(yaml);
    const r = await runCli(['run', '--json', '--jobs', '2'], rig.dir).done;
    expect(r.code, r.stderr).toBe(0);
    return { rig, run: JSON.parse(r.stdout) as JsonRun };
  };
  const dist = (r: Rig, extra: string[] = []): ReturnType<typeof runCli> =>
    runCli(['run', '--json', '--executor', 'bullmq', '--redis', redis.url, '--distribute', 'all', ...extra], r.dir, counterOf(r));

  beforeEach(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
    await redis.stop();
    cleanupAll();
  });

  it('two workers run the DAG; outputs identical to the local executor; progress reaches the coordinator; a rerun is all cached', async () => {
    const rig = await rigWith(YAML);
    const [w1, w2] = [await worker(rig), await worker(rig)];
    // the coordinator in this process (library API), to see its events
    process.env.TOY_COUNTER = rig.counter;
    const s = await openSession({ file: rig.yaml, registry: rig.registry, codeRoot: TOY_DIR });
    const executor = await bullmqExecutor(s, { redis: redis.url, distribute: 'all', mapJobs: 4 });
    const events: RunEvent[] = [];
    rig.executed();
    let r;
    try {
      r = await runSession(s, { jobs: 2, executor, onEvent: (e) => events.push(e) });
    } finally {
      await executor.close();
      delete process.env.TOY_COUNTER;
    }
    expect(r.ok, JSON.stringify(r.nodes.map((n) => n.error))).toBe(true);
    expect(r.nodes.map((n) => n.status)).toEqual(['ran', 'ran', 'ran', 'ran', 'ran', 'ran']);
    // every node ran once, on the workers (none in this process: the counter says so, per node)
    expect(rig.executed()).toEqual(['a', 'b', 'ch', 'rep', 'src', 'total']);
    const ran = (w: WorkerProc): string[] => [...w.log().matchAll(/\] (\w+): ran in/g)].map((m) => m[1]!);
    expect([...ran(w1), ...ran(w2)].sort()).toEqual(['a', 'b', 'ch', 'rep', 'src', 'total']);
    expect(/chunks/.test(w1.log()) && /chunks/.test(w2.log()), `both workers took chunk jobs:\n${w1.log()}\n${w2.log()}`).toBe(true);
    // per-node progress from the workers, ending at done == total
    const prog = events.filter((e): e is Extract<RunEvent, { type: 'progress' }> => e.type === 'progress' && e.id === 'ch');
    expect(prog.length).toBeGreaterThan(0);
    expect(prog.at(-1)!.done).toBe(prog.at(-1)!.total);
    // the warning of the report step, raised on a worker, is on the node and was emitted here
    expect(r.nodes.find((n) => n.id === 'rep')!.warnings).toContain('toy report warning');
    expect(events.some((e) => e.type === 'warn' && e.id === 'rep')).toBe(true);
    expect(events.some((e) => e.type === 'warn' && /no repro worker/.test(e.msg))).toBe(false); // two were connected
    // published here, by the coordinator
    expect(fs.readFileSync(path.join(rig.dir, 'results/rep.md'), 'utf8')).toMatch(/^# Report/);

    // same bytes as the local executor (the chunky value without its thread count)
    const local = await localRun(YAML);
    const dh = outputHashes(rig.dir, r);
    const lh = outputHashes(local.rig.dir, local.run);
    for (const id of ['src', 'a', 'b', 'total']) expect(dh[id], id).toEqual(lh[id]);
    const dv = jsonOutput(rig.dir, r, 'ch') as { sums: number[]; indexes: number[] };
    const lv = jsonOutput(local.rig.dir, local.run, 'ch') as { sums: number[]; indexes: number[] };
    expect(dv.indexes).toEqual(lv.indexes);
    expect(dv.sums).toEqual(lv.sums);

    // rerun: everything cached, no job
    const again = await dist(rig).done;
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as JsonRun).nodes.every((n) => n.status === 'cached')).toBe(true);
    expect(rig.executed()).toEqual([]);
  }, 90_000);

  it('ctx.map chunks as jobs: bit-identical to the local run for 1 and 2 workers and any grouping', async () => {
    const yaml = `name: ch\nseed: 11\nsteps:\n  ch:\n    kind: chunky\n    with: {chunks: 24, per: 3000}\n`;
    const local = await localRun(yaml);
    const want = jsonOutput(local.rig.dir, local.run, 'ch') as { sums: number[] };
    for (const [nw, mapJobs] of [
      [1, 5],
      [2, 23],
      [2, 3],
    ] as const) {
      const rig = await rigWith(yaml);
      for (let i = 0; i < nw; i++) await worker(rig);
      const r = await dist(rig, ['--map-jobs', String(mapJobs)]).done;
      expect(r.code, r.stderr).toBe(0);
      const got = jsonOutput(rig.dir, JSON.parse(r.stdout) as JsonRun, 'ch') as { sums: number[] };
      expect(got.sums, `${nw} worker(s), --map-jobs ${mapJobs}`).toEqual(want.sums);
      await Promise.all(workers.splice(0).map((w) => w.kill('SIGTERM')));
    }
  }, 120_000);

  it('a worker killed mid-job: the job is retried on another worker (stalled-job check), result identical', async () => {
    const yaml = SLOW(3000);
    const rig = await rigWith(yaml);
    const [w1, w2] = [await worker(rig), await worker(rig)];
    const run = dist(rig);
    // whichever worker takes `slow` is killed while it sleeps in the step (after the toy counted it)
    const t = Date.now();
    let victim: WorkerProc | null = null;
    const started = (): boolean => fs.existsSync(rig.counter) && fs.readFileSync(rig.counter, 'utf8').includes('slow');
    while (!victim && Date.now() - t < 20_000) {
      if (started()) victim = [w1, w2].find((w) => /slow: running/.test(w.log())) ?? null;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(victim, 'a worker started slow').not.toBeNull();
    await victim!.kill('SIGKILL');
    const survivor = victim === w1 ? w2 : w1;
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as JsonRun;
    expect(res.nodes.find((n) => n.id === 'slow')!.status).toBe('ran');
    expect(survivor.log()).toMatch(/slow: ran in/);
    expect(rig.executed().filter((x) => x === 'slow')).toEqual(['slow', 'slow']); // started twice, finished once
    const local = await localRun(yaml);
    expect(outputHashes(rig.dir, res)).toEqual(outputHashes(local.rig.dir, local.run));
  }, 90_000);

  it('a job failing every attempt fails the node with the step error message; descendants skipped', async () => {
    const yaml = `name: f\nseed: 1\nsteps:\n  bad:\n    kind: fail\n  after:\n    kind: add\n    in: bad\n`;
    const rig = await rigWith(yaml);
    await worker(rig);
    const r = await dist(rig, ['--retries', '1']).done;
    expect(r.code).toBe(1);
    const res = JSON.parse(r.stdout) as JsonRun;
    expect(res.ok).toBe(false);
    const bad = res.nodes.find((n) => n.id === 'bad')!;
    expect(bad.status).toBe('failed');
    expect(bad.error).toBe('toy failure: set fail: false to fix');
    expect(res.nodes.find((n) => n.id === 'after')!.status).toBe('skipped');
    expect(rig.executed()).toEqual(['bad', 'bad']); // 1 + --retries 1 attempts
    // without --json the CLI prints the node and the step's message
    const h = await runCli(['run', '--executor', 'bullmq', '--redis', redis.url, '--distribute', 'all', '--retries', '0'], rig.dir, counterOf(rig)).done;
    expect(h.code).toBe(1);
    expect(h.stderr).toContain('bad (fail) failed: toy failure: set fail: false to fix');
  }, 60_000);

  it('the coordinator killed mid-run: the rerun waits for the job still running (no second execution) and finishes', async () => {
    const rig = await rigWith(SLOW(2500));
    const w = await worker(rig);
    const first = dist(rig);
    await w.waitFor(/slow: running/);
    first.kill();
    await first.done;
    const r = await dist(rig).done;
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as JsonRun;
    expect(res.nodes.map((n) => `${n.id}:${n.status}`)).toEqual(['src:cached', 'slow:ran', 'total:ran']);
    expect(rig.executed().sort()).toEqual(['slow', 'src', 'total']);
  }, 60_000);

  it('Redis restarted mid-run (its jobs lost): the coordinator re-adds the job and the run completes', async () => {
    const rig = await rigWith(SLOW(2500));
    await worker(rig);
    const run = dist(rig);
    await workers[0]!.waitFor(/slow: running/);
    await redis.restart();
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as JsonRun;
    expect(res.nodes.find((n) => n.id === 'total')!.status).toBe('ran');
    const local = await localRun(SLOW(2500));
    expect(outputHashes(rig.dir, res)).toEqual(outputHashes(local.rig.dir, local.run));
  }, 90_000);

  it("a worker whose checkout differs (other step code) refuses the node at once, without retries, naming the fix", async () => {
    const rig = await rigWith(`name: m\nseed: 1\nsteps:\n  src:\n    kind: source\n    with: {path: data/nums.txt}\n  a:\n    kind: add\n    in: src\n`);
    const other = path.join(rig.dir, 'toy-changed');
    fs.cpSync(TOY_DIR, other, { recursive: true });
    fs.appendFileSync(path.join(other, 'add.js'), '\nexport const changed = 1;\n');
    const w = await worker(rig, [], { REPRO_REGISTRY: path.join(other, 'registry.js') });
    const r = await dist(rig, ['--retries', '2']).done;
    expect(r.code).toBe(1);
    const res = JSON.parse(r.stdout) as JsonRun;
    expect(res.nodes.find((n) => n.id === 'src')!.status).toBe('ran'); // same code there
    const a = res.nodes.find((n) => n.id === 'a')!;
    expect(a.status).toBe('failed');
    expect(a.error).toMatch(/^fingerprint mismatch for a: the coordinator computed [0-9a-f]{12}…, worker \S+ [0-9a-f]{12}… — its checkout \(.*\) differs in code, data files, packages or --set; update it \(git pull, npm ci, npm run build\)/);
    expect(w.log().match(/a: running/g)).toHaveLength(1); // not retried
    expect(rig.executed()).toEqual(['src']);
  }, 60_000);

  it('Redis gone mid-run: the run fails after --redis-timeout with a clear message; the rerun resumes from the cache', async () => {
    const rig = await rigWith(SLOW(2500));
    const w = await worker(rig);
    const run = dist(rig, ['--redis-timeout', '2']);
    await w.waitFor(/slow: running/);
    await redis.stop();
    const r = await run.done;
    expect(r.code).toBe(1);
    const res = JSON.parse(r.stdout) as JsonRun;
    const slow = res.nodes.find((n) => n.id === 'slow')!;
    expect(slow.status).toBe('failed');
    expect(slow.error).toMatch(new RegExp(`^lost the connection to Redis at ${redis.url.replace(/[/.]/g, '\\$&')}/?: no answer for [\\d.]+ s; rerun when it is back \\(finished nodes are cached\\)$`));
    expect(res.nodes.find((n) => n.id === 'total')!.status).toBe('skipped');
    // the worker finished the step meanwhile (into the shared store); Redis back: nothing runs twice
    await w.waitFor(/slow: ran in/);
    await redis.restart();
    const again = await dist(rig).done;
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as JsonRun).nodes.map((n) => `${n.id}:${n.status}`)).toEqual(['src:cached', 'slow:cached', 'total:ran']);
    expect(rig.executed().filter((x) => x === 'slow')).toEqual(['slow']);
  }, 60_000);

  it('Redis unreachable: run and worker fail at once with a clear message', async () => {
    const rig = await rigWith(YAML);
    const url = redis.url;
    await redis.stop();
    const r = await runCli(['run', '--executor', 'bullmq', '--redis', url], rig.dir).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`cannot reach Redis at ${url.replace(/[/.]/g, '\\$&')}.*Start it`));
    const w = await runCli(['worker', '--redis', url], rig.dir).done;
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(/cannot reach Redis/);
    // usage errors: exit 2, the fix in the message
    for (const [args, msg] of [
      [['run', '--executor', 'bullmq'], /--executor bullmq needs --redis redis:\/\/HOST:PORT/],
      [['run', '--redis', url], /--redis needs --executor bullmq/],
      [['run', '--executor', 'celery'], /--executor must be local or bullmq, got "celery"/],
      [['run', '--executor', 'bullmq', '--redis', url, '--distribute', 'some'], /--distribute must be cpu or all/],
      [['worker'], /repro worker: needs --redis/],
      [['worker', '--redis', url, 'pipeline.yaml'], /unexpected argument pipeline.yaml/],
    ] as const) {
      const u = await runCli([...args], rig.dir).done;
      expect(u.code, args.join(' ')).toBe(2);
      expect(u.stderr).toMatch(msg);
    }
    const h = await runCli(['worker', '--help'], rig.dir).done;
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('--idle-exit SEC');
  }, 30_000);

  it('no worker connected: the coordinator says so (and waits)', async () => {
    const rig = await rigWith(SLOW(10));
    const run = runCli(['run', '--executor', 'bullmq', '--redis', redis.url, '--distribute', 'all'], rig.dir);
    const t = Date.now();
    while (Date.now() - t < 20_000 && !/no repro worker is connected/.test(run.stderr())) await new Promise((r) => setTimeout(r, 100));
    run.kill();
    await run.done;
    expect(run.stderr()).toMatch(new RegExp(`no repro worker is connected to ${redis.url.replace(/[/.]/g, '\\$&')}: jobs wait until one starts`));
  }, 30_000);

  it('a worker with --idle-exit leaves by itself once idle (Slurm array tasks end)', async () => {
    const rig = await rigWith(SLOW(10));
    const run = dist(rig, ['--verbose']);
    const w = await worker(rig, ['--idle-exit', '1']);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    await w.waitFor(/idle for 1 s: exiting/, 10_000);
    await w.waitFor(/done: \d+ job\(s\)/, 10_000);
  }, 30_000);
});
