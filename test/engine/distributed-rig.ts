/**
 * Test rig for the BullMQ executor: a real `redis-server` per test (free loopback port, no
 * persistence: `--save '' --appendonly no`), `repro worker` processes of the compiled CLI, and
 * helpers to read a run's outputs. Tests skip with a message when redis-server or dist/ is absent.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Store } from '../../engine/store.js';
import { CLI, TOY_DIR } from './rig.js';
import { freePort } from '../../bench/nginx.js';

/** Path of redis-server, or null. */
export function findRedis(): string | null {
  for (const p of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) if (fs.existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}
export const REDIS_BIN = findRedis();
export const BUILT = fs.existsSync(CLI);
export const SKIP_REASON = !REDIS_BIN
  ? 'redis-server not installed (apt-get install redis-server; .ci/run installs it): BullMQ tests skipped'
  : !BUILT
    ? 'dist/ not built (npm run build; npm test builds first): BullMQ tests skipped'
    : '';

export { freePort };

async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('error', () => resolve(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Stop and start again on the same port (everything in it is lost: no persistence). */
  restart(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    child = spawn(REDIS_BIN!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (await ping(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not start on port ${port}`);
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((r) => {
      c.once('exit', () => r());
      c.kill('SIGKILL');
    });
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, restart: async () => (await stop(), await start()) };
}

export interface WorkerProc {
  pid: number;
  log(): string;
  /** Resolves when the log matches. */
  waitFor(re: RegExp, ms?: number): Promise<void>;
  kill(sig?: NodeJS.Signals): Promise<void>;
}

/** A `repro worker` process of the compiled CLI in `dir` (toy registry unless env says otherwise). */
export async function startWorker(url: string, dir: string, env: Record<string, string> = {}, args: string[] = [], toy = true): Promise<WorkerProc> {
  const child = spawn(process.execPath, [CLI, 'worker', '--redis', url, '--lock-ms', '1000', '--stalled-ms', '500', ...args], {
    cwd: dir,
    env: envOf(env, toy),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  const w: WorkerProc = {
    pid: child.pid!,
    log: () => log,
    async waitFor(re, ms = 20_000) {
      const t = Date.now();
      while (!re.test(log)) {
        if (child.exitCode !== null) throw new Error(`worker exited (${child.exitCode}): ${log}`);
        if (Date.now() - t > ms) throw new Error(`worker log did not match ${re} in ${ms} ms: ${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill(sig = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill(sig);
      });
    },
  };
  await w.waitFor(/ready/);
  return w;
}

function envOf(env: Record<string, string>, toy: boolean): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', ...env };
  if (env.REPRO_REGISTRY) e.REPRO_REGISTRY = env.REPRO_REGISTRY;
  else if (toy) e.REPRO_REGISTRY = path.join(TOY_DIR, 'registry.js');
  else delete e.REPRO_REGISTRY;
  return e;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The compiled CLI in `dir`; `kill()` of the handle sends SIGKILL. */
export function runCli(args: string[], dir: string, env: Record<string, string> = {}, toy = true): { done: Promise<CliResult>; kill(): void; stderr(): string } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: envOf(env, toy), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { done, kill: () => child.kill('SIGKILL'), stderr: () => stderr };
}

/** Node id → output name → hash, from the store's cache entries of a `run --json` result. */
export function outputHashes(dir: string, run: { nodes: { id: string; key: string }[] }): Record<string, Record<string, string>> {
  const store = new Store(path.join(dir, 'artifacts'));
  const out: Record<string, Record<string, string>> = {};
  for (const n of run.nodes) {
    const e = store.readEntry(n.key);
    if (e) out[n.id] = Object.fromEntries(Object.entries(e.outputs).map(([k, v]) => [k, v.hash]));
  }
  return out;
}

/** The stored JSON value of a node's output. */
export function jsonOutput(dir: string, run: { nodes: { id: string; key: string }[] }, id: string, output = 'value'): unknown {
  const store = new Store(path.join(dir, 'artifacts'));
  const key = run.nodes.find((n) => n.id === id)!.key;
  const ref = store.readEntry(key)!.outputs[output]!;
  return JSON.parse(Buffer.from(store.getBytes(ref.hash)).toString('utf8'));
}
