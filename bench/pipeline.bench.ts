/**
 * The full replication (pipeline.yaml, with the 1000-draw placebo) as a user runs it: whole process
 * `repro run --json`, cold (empty store) and then a no-op rerun, in a scratch copy so the
 * repository's artifacts/ and results/ are not touched. Prints the wall time and the time per node.
 * Target (issue 5): cold run under 20 s on this 2-core machine.
 *
 * Run: `npm run bench` (all benches) or `node dist/bench/index.js pipeline`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../engine/paths.js';

interface NodeOut {
  id: string;
  kind: string;
  status: string;
  ms: number;
}

function runOnce(dir: string): { wall: number; nodes: NodeOut[]; ok: boolean } {
  const cli = path.join(PROJECT_ROOT, 'dist', 'engine', 'cli', 'main.js');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, 'run', path.join(dir, 'pipeline.yaml'), '--json'], { encoding: 'utf8', cwd: dir });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`repro run failed (exit ${r.status}): ${r.stderr.slice(0, 2000)}`);
  const out = JSON.parse(r.stdout) as { ok: boolean; nodes: NodeOut[] };
  return { wall, nodes: out.nodes, ok: out.ok };
}

export default async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-bench-pipeline-'));
  try {
    fs.copyFileSync(path.join(PROJECT_ROOT, 'pipeline.yaml'), path.join(dir, 'pipeline.yaml'));
    fs.symlinkSync(path.join(PROJECT_ROOT, 'data'), path.join(dir, 'data'));
    fs.symlinkSync(path.join(PROJECT_ROOT, 'scripts'), path.join(dir, 'scripts'));
    const cold = runOnce(dir);
    const warm = runOnce(dir);
    console.log(`Full replication (pipeline.yaml, ${cold.nodes.length} nodes, 1000-draw placebo), whole process, ${os.availableParallelism()} cores`);
    console.log(`  cold run   ${cold.wall.toFixed(2)} s   (target < 20 s)   ${cold.nodes.filter((n) => n.status === 'ran').length} ran`);
    console.log(`  no-op rerun ${(warm.wall * 1000).toFixed(0)} ms   ${warm.nodes.filter((n) => n.status === 'cached').length} cached, ${warm.nodes.filter((n) => n.status === 'ran').length} ran`);
    console.log('\n  time per node (cold run, slowest first):');
    const sorted = [...cold.nodes].sort((a, b) => b.ms - a.ms);
    for (const n of sorted) console.log(`    ${n.id.padEnd(24)} ${n.kind.padEnd(14)} ${n.ms.toFixed(0).padStart(6)} ms`);
    const sum = cold.nodes.reduce((s, n) => s + n.ms, 0);
    console.log(`    ${'sum of node times'.padEnd(39)} ${sum.toFixed(0).padStart(6)} ms (nodes overlap: --jobs ${os.availableParallelism()})`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
