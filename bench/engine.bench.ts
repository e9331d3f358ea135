/**
 * Engine benchmarks (run: `npm run bench`, or `node dist/bench/index.js engine`):
 *
 * 1. No-op run (everything cached) of a generated 25-node pipeline, whole process
 *    (`node dist/engine/cli/main.js run`), median of 10 — side by side with the equivalent
 *    Snakemake workflow (a generated Snakefile, `snakemake -j1` with nothing to do) and the ratio.
 *    Targets: < 150 ms, ≥ 5× faster than Snakemake.
 * 2. `repro status` on a generated 10,000-node DAG: first call (YAML validated) and second call
 *    (validated spec reused). Target < 1 s.
 * 3. No-op run with a 1 GB input file vs a 1 KB one (the stat cache: the big file is not reread).
 *
 * The pipelines use the engine's toy steps (test/fixtures/engine/toy, plain JS), selected with
 * REPRO_REGISTRY — the bench measures the engine, not the study's step kinds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../engine/paths.js';

const CLI = path.join(PROJECT_ROOT, 'dist/engine/cli/main.js');
const REGISTRY = path.join(PROJECT_ROOT, 'test/fixtures/engine/toy/registry.js');

interface Row {
  name: string;
  median: number;
  min: number;
  max: number;
  runs: number;
  note: string;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Wall time (ms) of a command, run `n` times after `warm` untimed runs. */
function time(cmd: string, args: string[], cwd: string, n: number, warm = 2, env: NodeJS.ProcessEnv = {}): number[] {
  const run = (): number => {
    const t = performance.now();
    const r = spawnSync(cmd, args, { cwd, env: { ...process.env, REPRO_REGISTRY: REGISTRY, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const ms = performance.now() - t;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}: ${r.stderr?.toString() ?? ''}${r.stdout?.toString() ?? ''}`);
    return ms;
  };
  for (let i = 0; i < warm; i++) run();
  return Array.from({ length: n }, run);
}

const row = (name: string, xs: number[], note = ''): Row => ({ name, median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs.length, note });

/** A layered DAG of `n` nodes: node 0 reads the data file, each later node adds to an earlier one, every 5th sums two. */
function pipelineYaml(n: number, source: { kind: string; path: string }): string {
  const lines = ['name: bench', 'seed: 1', 'steps:', '  n0:', `    kind: ${source.kind}`, `    with: {path: ${source.path}}`];
  let s = 12345;
  const rnd = (k: number): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % k;
  };
  // sum nodes (every 5th) output json; only table nodes feed others
  const tableNode = (x: number): number => {
    while (x % 5 === 0 && x > 0) x--;
    return x;
  };
  for (let i = 1; i < n; i++) {
    const a = tableNode(Math.max(0, i - 1 - rnd(Math.min(i, 8))));
    if (i % 5 === 0) {
      const b = tableNode(Math.max(0, i - 1 - rnd(Math.min(i, 8))));
      lines.push(`  n${i}:`, '    kind: sum', `    in: [n${a}, n${b}]`);
      continue;
    }
    lines.push(`  n${i}:`, '    kind: add', `    in: n${a}`, `    with: {k: ${i}}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The same 25-node graph as a Snakefile: every rule concatenates its inputs into its output. */
function snakefile(yaml: string): string {
  const rules: string[] = [];
  const ids: string[] = [];
  let cur: { id: string; ins: string[] } | null = null;
  const flush = (): void => {
    if (!cur) return;
    ids.push(cur.id);
    const input = cur.ins.length ? `    input: ${cur.ins.map((i) => `"out/${i}.txt"`).join(', ')}\n` : '    input: "data.txt"\n';
    rules.push(`rule ${cur.id}:\n${input}    output: "out/${cur.id}.txt"\n    shell: "cat {input} > {output}"\n`);
  };
  for (const l of yaml.split('\n')) {
    const m = /^ {2}(n\d+):$/.exec(l);
    if (m) {
      flush();
      cur = { id: m[1]!, ins: [] };
      continue;
    }
    const inm = /^ {4}in: \[?([^\]]+)\]?$/.exec(l);
    if (inm && cur) cur.ins = inm[1]!.split(',').map((x) => x.trim());
  }
  flush();
  return `rule all:\n    input: ${ids.map((i) => `"out/${i}.txt"`).join(', ')}\n\n${rules.join('\n')}`;
}

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function setup(dir: string, yaml: string, data: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'pipeline.yaml'), yaml);
  fs.writeFileSync(path.join(dir, 'data.txt'), data);
  const old = new Date(Date.now() - 60_000); // not "racy" for the stat cache
  fs.utimesSync(path.join(dir, 'data.txt'), old, old);
  fs.utimesSync(path.join(dir, 'pipeline.yaml'), old, old);
}

export default async function main(): Promise<void> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-bench-'));
  const rows: Row[] = [];
  const notes: string[] = [];
  console.log(`machine: ${os.availableParallelism()} cores, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; node ${process.version}`);
  try {
    // 1. no-op run of 25 nodes vs Snakemake
    const d25 = path.join(tmp, 'p25');
    const y25 = pipelineYaml(25, { kind: 'source', path: 'data.txt' });
    setup(d25, y25, '1\n2\n3\n');
    time(process.execPath, [CLI, 'run'], d25, 0, 1); // first run computes everything
    const noop = time(process.execPath, [CLI, 'run'], d25, 10, 2);
    rows.push(row('no-op run, 25 nodes (repro)', noop, `target < 150 ms: ${median(noop) < 150 ? 'OK' : 'MISSED'}`));
    const sm = which('snakemake');
    if (sm) {
      const ds = path.join(tmp, 'snake');
      fs.mkdirSync(ds, { recursive: true });
      fs.writeFileSync(path.join(ds, 'Snakefile'), snakefile(y25));
      fs.writeFileSync(path.join(ds, 'data.txt'), '1\n2\n3\n');
      const snArgs = ['-j1', '--quiet', '--nolock'];
      time(sm, snArgs, ds, 0, 1);
      const snake = time(sm, snArgs, ds, 5, 1);
      const ratio = median(snake) / median(noop);
      const v = spawnSync(sm, ['--version'], { encoding: 'utf8' }).stdout.trim();
      rows.push(row(`no-op run, 25 rules (snakemake ${v})`, snake, `repro is ${ratio.toFixed(1)}× faster (target ≥ 5×: ${ratio >= 5 ? 'OK' : 'MISSED'})`));
    } else notes.push('snakemake is not installed (apt-get install snakemake): the Snakemake comparison was skipped');

    // 2. status on 10,000 nodes
    const d10k = path.join(tmp, 'p10k');
    setup(d10k, pipelineYaml(10_000, { kind: 'source', path: 'data.txt' }), '1\n2\n3\n');
    const cold = time(process.execPath, [CLI, 'status'], d10k, 1, 0);
    const warm = time(process.execPath, [CLI, 'status'], d10k, 5, 1);
    rows.push(row('status, 10,000 nodes, first call (validates YAML)', cold, `target < 1 s: ${median(cold) < 1000 ? 'OK' : 'MISSED'}`));
    rows.push(row('status, 10,000 nodes, again (validated spec reused)', warm, `target < 1 s: ${median(warm) < 1000 ? 'OK' : 'MISSED'}`));

    // 3. 1 GB vs 1 KB input
    const small = path.join(tmp, 'small');
    const big = path.join(tmp, 'big');
    const y = pipelineYaml(25, { kind: 'filesize', path: 'data.txt' });
    setup(small, y, 'x'.repeat(1024));
    setup(big, y, '');
    const bigFile = path.join(big, 'data.txt');
    const fd = fs.openSync(bigFile, 'r+');
    fs.writeSync(fd, 'a non-trivial head so the hash is not that of zeros\n', 0);
    fs.ftruncateSync(fd, 1024 ** 3); // sparse 1 GiB: reads return zeros, the hash is of all the bytes
    fs.closeSync(fd);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(bigFile, old, old);
    const t0 = performance.now();
    time(process.execPath, [CLI, 'run'], big, 0, 1);
    const firstBig = performance.now() - t0;
    time(process.execPath, [CLI, 'run'], small, 0, 1);
    const s1k = time(process.execPath, [CLI, 'run'], small, 10, 1);
    const s1g = time(process.execPath, [CLI, 'run'], big, 10, 1);
    rows.push(row('no-op run, 1 KB input', s1k));
    rows.push(row('no-op run, 1 GB input', s1g, `${(median(s1g) / median(s1k)).toFixed(2)}× the 1 KB time (first run, hashing 1 GB: ${(firstBig / 1000).toFixed(1)} s)`));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const w = Math.max(...rows.map((r) => r.name.length));
  const f = (x: number): string => `${x.toFixed(0)} ms`.padStart(8);
  console.log(`\n${'benchmark'.padEnd(w)}  ${'median'.padStart(8)}  ${'min'.padStart(8)}  ${'max'.padStart(8)}  runs  note`);
  console.log(`${'─'.repeat(w)}  ${'─'.repeat(8)}  ${'─'.repeat(8)}  ${'─'.repeat(8)}  ────  ${'─'.repeat(30)}`);
  for (const r of rows) console.log(`${r.name.padEnd(w)}  ${f(r.median)}  ${f(r.min)}  ${f(r.max)}  ${String(r.runs).padStart(4)}  ${r.note}`);
  for (const n of notes) console.log(`note: ${n}`);
  console.log('(whole-process wall times: `node dist/engine/cli/main.js …`; toy steps via REPRO_REGISTRY)');
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
