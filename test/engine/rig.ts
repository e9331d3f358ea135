/**
 * Test rig for the engine: a temp project folder (under .repro-tmp/ in the repo, git-ignored, so
 * toy steps copied there still resolve `zod`), a pipeline YAML, data files, and the toy steps of
 * test/fixtures/engine/toy, which append their node id to $TOY_COUNTER on every execution.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runPipeline, type RunOptions, type RunResult } from '../../engine/executor.js';
import type { Registry } from '../../engine/registry.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TOY_DIR = path.join(ROOT, 'test/fixtures/engine/toy');
export const CLI = path.join(ROOT, 'dist/engine/cli/main.js');

export interface Rig {
  dir: string;
  yaml: string;
  counter: string;
  registry: Registry;
  codeRoot: string;
  write(rel: string, text: string): void;
  setYaml(text: string): void;
  run(opts?: Partial<RunOptions>): Promise<RunResult>;
  /** Node ids executed since the last call (sorted), and reset. */
  executed(): string[];
  cleanup(): void;
}

export async function makeRig(opts: { copyToy?: boolean } = {}): Promise<Rig> {
  const dir = path.join(ROOT, '.repro-tmp', `t-${process.pid}-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(dir, { recursive: true });
  let codeRoot = TOY_DIR;
  if (opts.copyToy) {
    codeRoot = path.join(dir, 'toy');
    fs.cpSync(TOY_DIR, codeRoot, { recursive: true });
  }
  const mod = (await import(pathToFileURL(path.join(codeRoot, 'registry.js')).href)) as { registry: Registry };
  const counter = path.join(dir, 'count.txt');
  const yaml = path.join(dir, 'pipeline.yaml');
  const rig: Rig = {
    dir,
    yaml,
    counter,
    registry: mod.registry,
    codeRoot,
    write(rel, text) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), text);
    },
    setYaml(text) {
      fs.writeFileSync(yaml, text);
    },
    async run(o = {}) {
      process.env.TOY_COUNTER = counter;
      return runPipeline({ file: yaml, registry: mod.registry, codeRoot, jobs: 2, ...o });
    },
    executed() {
      let lines: string[] = [];
      try {
        lines = fs.readFileSync(counter, 'utf8').split('\n').filter(Boolean);
      } catch {
        /* none yet */
      }
      fs.rmSync(counter, { force: true });
      return lines.sort();
    },
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return rig;
}

/** Status by node id. */
export function statuses(r: RunResult): Record<string, string> {
  return Object.fromEntries(r.nodes.map((n) => [n.id, n.status]));
}

/** Run the compiled CLI with the toy registry; resolves with exit code and output. */
export function cli(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  onSpawn?: (pid: number, kill: (sig: NodeJS.Signals) => void) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, REPRO_REGISTRY: path.join(TOY_DIR, 'registry.js'), FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    onSpawn?.(child.pid!, (sig) => child.kill(sig));
  });
}

/** The standard toy pipeline: src → plus → r → noise, plus → total ← r, report of total and noise. */
export const BASE_YAML = `name: toy
seed: 7
steps:
  src:
    kind: source
    with: {path: data/nums.txt}
  plus:
    kind: add
    in: src
    with: {k: 1}
  r:
    kind: round
    in: plus
  total:
    kind: sum
    in: [plus, r]
  side:
    kind: add
    in: src
    with: {k: 100}
  rep:
    kind: report
    in: [total]
    publish: results/rep
`;

export const NUMS = '1.2\n2.5\n3.7\n';

/**
 * Rigs for one test file: `rigWith(yaml)` makes a rig with data/nums.txt and the given YAML; call
 * `cleanupAll()` in afterEach.
 */
export function rigPool(): { rigWith(yaml: string): Promise<Rig>; cleanupAll(): void } {
  const rigs: Rig[] = [];
  return {
    async rigWith(yaml) {
      const r = await makeRig();
      rigs.push(r);
      r.write('data/nums.txt', NUMS);
      r.setYaml(yaml);
      return r;
    },
    cleanupAll() {
      for (const r of rigs.splice(0)) r.cleanup();
    },
  };
}

/** A rig with data/nums.txt and the given YAML (the standard toy pipeline by default); clean it up in afterEach. */
export async function baseRig(yaml = BASE_YAML): Promise<Rig> {
  const r = await makeRig();
  r.write('data/nums.txt', NUMS);
  r.setYaml(yaml);
  return r;
}

/** A YAML step `<kind>_<mode>` of a misbehaving toy step (test/fixtures/engine/toy/misbehave*.js). */
export const MIS = (mode: string, kind = 'misbehave'): string => `  ${kind.replace('-', '_')}_${mode.replace(/-/g, '_')}:\n    kind: ${kind}\n    with: {mode: ${mode}}\n`;
