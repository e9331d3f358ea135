/**
 * Remote cache (issue 15): the bundled pipeline (pipeline.yaml) in an empty clone served entirely
 * from a remote cache on a real nginx (loopback, WebDAV PUT), whole process `repro run --json
 * --remote-cache URL`, against the anchor measured in the same run: a local no-op rerun (every
 * node cached in the local store). Also the cold run that filled the remote, for scale.
 * Skipped, with a message, when nginx is not installed.
 *
 * Run: `npm run bench` (all benches) or `node dist/bench/index.js remote`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../engine/paths.js';
import { NGINX, NO_NGINX, startNginx } from './nginx.js';

interface NodeOut {
  id: string;
  status: string;
  reason: string;
}

const CLI = path.join(PROJECT_ROOT, 'dist', 'engine', 'cli', 'main.js');

function clone(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-bench-remote-'));
  fs.copyFileSync(path.join(PROJECT_ROOT, 'pipeline.yaml'), path.join(dir, 'pipeline.yaml'));
  fs.symlinkSync(path.join(PROJECT_ROOT, 'data'), path.join(dir, 'data'));
  fs.symlinkSync(path.join(PROJECT_ROOT, 'scripts'), path.join(dir, 'scripts'));
  return dir;
}

function run(dir: string, args: string[]): { wall: number; nodes: NodeOut[] } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, 'run', path.join(dir, 'pipeline.yaml'), '--json', ...args], { encoding: 'utf8', cwd: dir, env: { ...process.env, REPRO_REMOTE_CACHE: '' } });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`repro run failed (exit ${r.status}): ${r.stderr.slice(0, 2000)}`);
  return { wall, nodes: (JSON.parse(r.stdout) as { nodes: NodeOut[] }).nodes };
}

/** `repro status` in a fresh clone, no remote: the fixed cost of an empty clone (YAML validation, hashing sources and data). */
function statusWall(dir: string): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, 'status', path.join(dir, 'pipeline.yaml'), '--json', '--remote-cache', 'off'], { encoding: 'utf8', cwd: dir });
  if (r.status !== 0) throw new Error(`repro status failed (exit ${r.status}): ${r.stderr.slice(0, 2000)}`);
  return (performance.now() - t0) / 1000;
}

function dirBytes(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  return (fs.readdirSync(dir, { recursive: true }) as string[]).reduce((s, f) => {
    const st = fs.statSync(path.join(dir, f));
    return s + (st.isFile() ? st.size : 0);
  }, 0);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function main(): Promise<void> {
  if (!NGINX) {
    console.log(`remote-cache bench skipped: ${NO_NGINX}`);
    return;
  }
  const ng = await startNginx();
  const dirs: string[] = [];
  try {
    const a = clone();
    dirs.push(a);
    const cold = run(a, ['--remote-cache', ng.url]);
    const n = cold.nodes.length;
    const REPS = 5;
    const noop: number[] = [];
    const hit: number[] = [];
    const fresh: number[] = [];
    let bytes = 0;
    for (let i = 0; i < REPS; i++) {
      // anchor: local no-op rerun (no remote configured)
      const w = run(a, ['--remote-cache', 'off']);
      if (w.nodes.some((x) => x.status !== 'cached')) throw new Error('local no-op rerun ran nodes');
      noop.push(w.wall);
      // an empty clone, every node from the remote
      const f = clone();
      dirs.push(f);
      fresh.push(statusWall(f));
      fs.rmSync(f, { recursive: true, force: true });
      const b = clone();
      dirs.push(b);
      const r = run(b, ['--remote-cache', ng.url, '--remote-upload=false']);
      const ran = r.nodes.filter((x) => x.status !== 'cached' || x.reason !== 'from the remote cache');
      if (ran.length) throw new Error(`empty clone: ${ran.length} node(s) not served from the remote: ${ran.map((x) => x.id).join(', ')}`);
      hit.push(r.wall);
      bytes = dirBytes(path.join(b, 'artifacts', 'objects'));
      fs.rmSync(b, { recursive: true, force: true });
    }
    const mNoop = median(noop);
    const mHit = median(hit);
    console.log(`Remote cache (nginx ${ng.url}, loopback), pipeline.yaml: ${n} nodes, ${(bytes / 1024 / 1024).toFixed(2)} MiB of objects; whole process, median of ${REPS}`);
    console.log(`  cold run, uploading to the remote      ${cold.wall.toFixed(2)} s`);
    console.log(`  local no-op rerun (anchor)             ${(mNoop * 1000).toFixed(0)} ms`);
    console.log(`  empty clone, all ${n} from the remote    ${(mHit * 1000).toFixed(0)} ms   = ${(mHit / mNoop).toFixed(2)}× the local no-op, ${(cold.wall / mHit).toFixed(1)}× faster than the cold run`);
    console.log(`  of which a fresh clone's fixed cost     ${(median(fresh) * 1000).toFixed(0)} ms   (\`repro status\` in an empty clone, no remote: YAML validation, hashing sources and data)`);
    console.log(`  (2 cores shared with other jobs, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')}: absolute times vary; the ratios are measured in this run)`);
  } finally {
    await ng.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}
