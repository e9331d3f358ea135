/**
 * The BullMQ executor (issue 15, part 2), measured with whole `repro` processes on the compiled
 * CLI against a real `redis-server` on loopback (skipped with a message when it is not installed):
 *
 * 1. the study's placebo, 10,000 random draws on the demo panel (200 ctx.map chunks of 50, sent as
 *    20 jobs of ~500 draws) on 2 local `repro worker` processes vs the local executor with
 *    `--jobs 2` — the node times and their ratio (the anchor: the local run in this same process
 *    tree, same machine, same load), with freshly started workers (cold: each loads the step
 *    module in its thread) and again (warm), and whether the outputs are byte-identical;
 * 2. the overhead per job: a toy ctx.map of 200 trivial chunks as 200 jobs on 1 worker (serial),
 *    (distributed node time − local node time) / 200; goal ≤ 10 ms per job on loopback.
 *
 * Timings on a shared 2-core machine vary with its load: the load average is printed.
 * Run: `node dist/bench/index.js distributed`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../engine/paths.js';
import { Store } from '../engine/store.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'engine', 'cli', 'main.js');
const TOY = path.join(PROJECT_ROOT, 'test', 'fixtures', 'engine', 'toy', 'registry.js');

interface NodeOut {
  id: string;
  status: string;
  ms: number;
  key: string;
}

function envFor(toy: boolean): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0' };
  if (toy) e.REPRO_REGISTRY = TOY;
  else delete e.REPRO_REGISTRY;
  return e;
}

function run(dir: string, args: string[], toy: boolean): { wall: number; nodes: NodeOut[] } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, 'run', '--json', ...args], { encoding: 'utf8', cwd: dir, env: envFor(toy), maxBuffer: 1 << 26 });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`repro run ${args.join(' ')} failed (exit ${r.status}): ${r.stdout.slice(0, 1000)} ${r.stderr.slice(0, 2000)}`);
  return { wall, nodes: (JSON.parse(r.stdout) as { nodes: NodeOut[] }).nodes };
}

function redisBin(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function waitFor(test: () => boolean, ms: number, what: string): Promise<void> {
  const t = Date.now();
  while (!test()) {
    if (Date.now() - t > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function startWorkers(n: number, url: string, dir: string, toy: boolean): { procs: ChildProcess[]; logs: string[] } {
  const procs: ChildProcess[] = [];
  const logs: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = spawn(process.execPath, [CLI, 'worker', '--redis', url], { cwd: dir, env: envFor(toy), stdio: ['ignore', 'ignore', 'pipe'] });
    logs.push('');
    c.stderr!.on('data', (d) => (logs[i] += d));
    procs.push(c);
  }
  return { procs, logs };
}

async function stopAll(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map(
      (c) =>
        new Promise<void>((r) => {
          if (c.exitCode !== null || c.signalCode !== null) return r();
          c.once('exit', () => r());
          c.kill('SIGTERM');
        }),
    ),
  );
}

const placeboYaml = (reps: number): string => `name: bench-dist
seed: 20240101
steps:
  ingest:
    kind: ingest
    with: {path: ${path.join(PROJECT_ROOT, 'data/demo/city-panel.csv')}, key: [city_code, year]}
  clean:
    kind: clean
    in: ingest
    with: {years: {from: 2005, to: 2022}}
  panel:
    kind: merge-roster
    in: {panel: clean.table}
    with: {roster: ${path.join(PROJECT_ROOT, 'data/pilot-zones.csv')}, register: ${path.join(PROJECT_ROOT, 'data/cities.csv')}, county_zones: ignore}
  placebo:
    kind: placebo
    in: panel.panel
    with: {y: so2, treat: did, controls: [pgdp, indus, urb, fin, fis], fe: [city_code, year], cluster: city_code,
           unit: city_code, time: year, adopt: adopt, reps: ${reps}, mode: random}
`;

export default async function main(): Promise<void> {
  const bin = redisBin();
  if (!bin) {
    console.log('distributed: skipped: redis-server is not installed (apt-get install redis-server; .ci/run installs it)');
    return;
  }
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const redis = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-bench-dist-'));
  const all: ChildProcess[] = [];
  try {
    await new Promise((r) => setTimeout(r, 300));
    console.log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} on ${os.availableParallelism()} cores (a shared machine: timings vary with its load)`);

    // 1. placebo, 10,000 draws
    const dir = path.join(scratch, 'placebo');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'pipeline.yaml'), placeboYaml(10_000));
    run(dir, ['--jobs', '2', '--target', 'panel'], false); // the inputs, cached for both runs
    const local = run(dir, ['--jobs', '2', '--force', 'placebo'], false);
    const lp = local.nodes.find((n) => n.id === 'placebo')!;
    const localHashes = new Store(path.join(dir, 'artifacts')).readEntry(lp.key);
    const w = startWorkers(2, url, dir, false);
    all.push(...w.procs);
    await waitFor(() => w.logs.every((l) => /ready/.test(l)), 20_000, 'workers');
    const dist = run(dir, ['--executor', 'bullmq', '--redis', url, '--map-jobs', '20', '--force', 'placebo'], false);
    const dp = dist.nodes.find((n) => n.id === 'placebo')!;
    // again, the workers warm (their chunk thread has the step module loaded)
    const warm = run(dir, ['--executor', 'bullmq', '--redis', url, '--map-jobs', '20', '--force', 'placebo'], false);
    const wp = warm.nodes.find((n) => n.id === 'placebo')!;
    const distHashes = new Store(path.join(dir, 'artifacts')).readEntry(dp.key);
    const same = !!localHashes && JSON.stringify(localHashes.outputs) === JSON.stringify(distHashes?.outputs);
    await stopAll(w.procs);
    const jobs = (w.logs.join('\n').match(/placebo: chunks/g)?.length ?? 0) / 2;
    if (process.env.BENCH_VERBOSE) console.log(w.logs.join('\n'));
    console.log('placebo, 10,000 random draws, demo panel 287×18, 5 controls, city+year FE, clustered SE');
    console.log(`  local executor, --jobs 2:                    node ${(lp.ms / 1000).toFixed(2)} s (wall ${local.wall.toFixed(2)} s)`);
    console.log(`  BullMQ, 2 local workers, ${jobs} chunk jobs, cold: node ${(dp.ms / 1000).toFixed(2)} s (wall ${dist.wall.toFixed(2)} s)`);
    console.log(`  the same again, workers warm:                node ${(wp.ms / 1000).toFixed(2)} s (wall ${warm.wall.toFixed(2)} s)`);
    console.log(`  ratio BullMQ / local: ${(dp.ms / lp.ms).toFixed(2)} cold, ${(wp.ms / lp.ms).toFixed(2)} warm (node times); outputs byte-identical: ${same ? 'yes' : 'NO'}`);

    // 2. overhead per job: 200 trivial chunks as 200 jobs, one worker (serial)
    const tdir = path.join(scratch, 'toy');
    fs.mkdirSync(tdir);
    const N = 200;
    fs.writeFileSync(path.join(tdir, 'pipeline.yaml'), `name: overhead\nseed: 1\nsteps:\n  ch:\n    kind: chunky\n    with: {chunks: ${N + 1}, per: 1}\n`);
    const tl = run(tdir, ['--jobs', '1'], true).nodes[0]!;
    const w1 = startWorkers(1, url, tdir, true);
    all.push(...w1.procs);
    await waitFor(() => /ready/.test(w1.logs[0]!), 20_000, 'worker');
    const td = run(tdir, ['--executor', 'bullmq', '--redis', url, '--map-jobs', String(N), '--force', 'ch'], true).nodes[0]!;
    await stopAll(w1.procs);
    const per = (td.ms - tl.ms) / N;
    console.log(`overhead per job: ${N} trivial ctx.map chunks as ${N} jobs on 1 worker, loopback Redis`);
    console.log(`  local node ${tl.ms} ms, BullMQ node ${td.ms} ms → ${per.toFixed(2)} ms per job (goal ≤ 10 ms: ${per <= 10 ? 'met' : 'NOT met'})`);
  } finally {
    await stopAll(all);
    redis.kill('SIGKILL');
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
