/**
 * The executor: runs what is stale, in parallel, and stores what it produces.
 *
 * For each node in dependency order (as soon as all its inputs are done): compute its fingerprint
 * (inputs = content hashes of the upstream outputs, so a recomputed but byte-identical input
 * changes nothing — early cutoff, invariant 3), look the fingerprint up in the store, and either
 * reuse the cached outputs (after checking the objects are intact) or run the step. Steps run
 * through a p-queue with `jobs` slots; `cpu: true` steps run in worker threads, others on the main
 * thread. Outputs are stored first, the cache entry last (invariant 2).
 *
 * Failure semantics: a failing node is reported (node, kind, cause), nothing is cached for it, and
 * its descendants are `skipped`. Without `keepGoing` the run stops starting new nodes after the
 * first failure (nodes already running finish and are cached; the rest are `skipped`, reason
 * "not started: …"); with `keepGoing` every node that does not depend on a failed one still runs.
 * Exit code 1 either way. Rerunning after a fix runs the failed node and what depends on it only.
 *
 * @example
 * const r = await runPipeline({ file: 'pipeline.yaml', jobs: 2 });
 * r.ok; r.nodes.map((n) => `${n.id} ${n.status} ${n.reason}`);
 */
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { nonFinitePaths, nonJsonAt } from './canonical.js';
import { ancestorsClosure, descendants, resolveIds } from './graph.js';
import type { FingerprintParts } from './fingerprint.js';
import type { Latest, NodeRecord, NodeStatus, RunRecord } from './history.js';
import { acquireRunLock } from './lock.js';
import { DIST_ROOT, PROJECT_ROOT, RUNNING_COMPILED } from './paths.js';
import { stepModuleUrl } from './registry.js';
import { rngFromKey, rngKeyOf } from './rng.js';
import { fingerprintKey, fullParts, inputHashes, missingOutput, openSession, staleReason, staticParts, type Session, type SessionOptions } from './session.js';
import type { NodeSpec } from './spec.js';
import { CorruptObjectError, type CacheEntry, type OutputRef } from './store.js';
import { asError, contractError } from './thrown.js';
import type { Artifact, ArtifactType, RunView, StepContext, StepDef } from './types.js';

export interface RunOptions extends SessionOptions {
  /** Only these nodes (ids or foreach base ids) and what they depend on. */
  targets?: string[];
  /** Rerun these nodes even if cached (descendants rerun only if the output changes). */
  force?: string[];
  /** Parallel step slots; default os.availableParallelism(). Steps see `ctx.threads = max(1, jobs)`. */
  jobs?: number;
  /** Keep running independent branches after a failure (default: stop starting new nodes). */
  keepGoing?: boolean;
  /** Run `cpu: true` steps in worker threads (default true). */
  workers?: boolean;
  /** Command line recorded in the history. */
  argv?: string[];
  /** Progress callback (the CLI prints from it). */
  onEvent?: (e: RunEvent) => void;
  /** Do not write the history (tests of the executor alone). Default false. */
  noHistory?: boolean;
}

export interface NodeError {
  message: string;
  /** True for StepError (a message meant for the user, printed without stack). */
  stepError: boolean;
  stack?: string;
}

export interface NodeResult {
  id: string;
  kind: string;
  status: NodeStatus;
  /** Fingerprint (empty when it could not be computed: skipped nodes). */
  key: string;
  ms: number;
  reason: string;
  warnings: string[];
  error?: NodeError;
  /** Output name → stored ref (ran / cached). */
  outputs?: Record<string, OutputRef>;
  /** Files written by publish in this run. */
  published?: string[];
}

export interface RunResult {
  ok: boolean;
  nodes: NodeResult[];
  /** History run id (undefined with noHistory). */
  runId?: number;
  ms: number;
  storeDir: string;
  pipeline: string;
  /** Store-level warnings (corrupt objects, …) also listed on their nodes. */
  warnings: string[];
}

export type RunEvent =
  | { type: 'start'; total: number; jobs: number }
  | { type: 'running'; id: string; kind: string; reason: string; worker: boolean }
  | { type: 'node'; node: NodeResult }
  | { type: 'progress'; id: string; done: number; total: number; label?: string }
  | { type: 'info' | 'warn'; id: string; msg: string }
  | { type: 'wait'; msg: string };

const now = (): number => performance.now();

/** Load the pipeline and run it. */
export async function runPipeline(opts: RunOptions = {}): Promise<RunResult> {
  const s = await openSession(opts);
  return runSession(s, opts);
}

/** Run an opened session (see {@link runPipeline}). */
export async function runSession(s: Session, opts: RunOptions = {}): Promise<RunResult> {
  const t0 = now();
  const started = new Date().toISOString();
  const emit = opts.onEvent ?? ((): void => {});
  const jobs = Math.max(1, Math.floor(opts.jobs ?? os.availableParallelism()));
  const g = s.graph;
  const selected = opts.targets?.length
    ? ancestorsClosure(g, opts.targets.flatMap((t) => resolveIds(g, t, '--target')))
    : new Set(g.nodes.map((n) => n.id));
  const forced = new Set((opts.force ?? []).flatMap((f) => resolveIds(g, f, '--force')));
  const nodes = g.nodes.filter((n) => selected.has(n.id));

  const lock = await acquireRunLock(s.store.locksDir, (pid) => emit({ type: 'wait', msg: `waiting for gc (pid ${pid}) to finish…` }));
  try {
    s.store.sweepTemp(nodes.filter((n) => n.publish).map((n) => path.dirname(path.resolve(s.spec.baseDir, n.publish!))));
    emit({ type: 'start', total: nodes.length, jobs });

    const results = new Map<string, NodeResult>();
    const outputs = new Map<string, Record<string, OutputRef>>();
    const latestOut: Record<string, Omit<Latest, 'run' | 'at'>> = {};
    const partsOf = new Map<string, FingerprintParts>();
    const storeWarnings: string[] = [];
    const remaining = new Map<string, number>();
    for (const n of nodes) remaining.set(n.id, (g.deps.get(n.id) ?? []).filter((d) => selected.has(d)).length);
    const ready: string[] = nodes.filter((n) => remaining.get(n.id) === 0).map((n) => n.id);
    let inflight = 0;
    let stoppedBy: string | null = null;
    let wake: (() => void) | null = null;
    let queue: { add<T>(fn: () => Promise<T>): Promise<T> } | null = null;

    const done = (r: NodeResult): void => {
      results.set(r.id, r);
      emit({ type: 'node', node: r });
      if (r.status === 'ran' || r.status === 'cached') {
        for (const c of g.children.get(r.id) ?? []) {
          if (!selected.has(c)) continue;
          const left = remaining.get(c)! - 1;
          remaining.set(c, left);
          if (left === 0) ready.push(c);
        }
      } else if (r.status === 'failed') {
        for (const d of descendants(g, r.id)) {
          if (!selected.has(d) || results.has(d)) continue;
          const dn = g.byId.get(d)!;
          const r2: NodeResult = { id: d, kind: dn.kind, status: 'skipped', key: '', ms: 0, reason: `upstream ${r.id} failed`, warnings: [] };
          results.set(d, r2);
          emit({ type: 'node', node: r2 });
        }
        if (!opts.keepGoing && stoppedBy === null) stoppedBy = r.id;
      }
    };

    const fail = (n: NodeSpec, key: string, ms: number, reason: string, err: unknown, warnings: string[]): void => {
      const e = asError(err);
      const stepError = e.name === 'StepError';
      const error: NodeError = { message: e.message, stepError };
      if (!stepError && e.stack) error.stack = e.stack;
      done({ id: n.id, kind: n.kind, status: 'failed', key, ms, reason, warnings, error });
    };

    /** What a step sees as ctx.run: the nodes of this run with their status so far. */
    const runView = (): RunView => ({
      pipeline: s.spec.name,
      file: path.relative(process.cwd(), s.spec.file) || s.spec.file,
      seed: s.spec.seed,
      started,
      ms: Math.round(now() - t0),
      jobs,
      versions: toolVersions(),
      nodes: nodes.map((n) => {
        const r = results.get(n.id);
        return {
          id: n.id,
          kind: n.kind,
          status: r?.status ?? 'pending',
          ...(r ? { ms: Math.round(r.ms), key: r.key, reason: r.reason } : {}),
          inputs: g.deps.get(n.id) ?? [],
          ...(n.publish ? { publish: n.publish } : {}),
        };
      }),
    });

    /** Decide cached vs run for a ready node; returns true if it completed synchronously. */
    const evaluate = async (n: NodeSpec): Promise<void> => {
      const t = now();
      let parts: FingerprintParts;
      let key: string;
      try {
        parts = fullParts(staticParts(s, n), inputHashes(n, outputs));
        key = fingerprintKey(parts);
      } catch (e) {
        fail(n, '', now() - t, 'could not fingerprint', e, []);
        return;
      }
      partsOf.set(n.id, parts);
      const warnings: string[] = [];
      let reason: string | null = null;
      if (forced.has(n.id)) reason = 'forced';
      else {
        const entry = s.store.readEntry(key);
        if (entry) {
          const bad = Object.entries(entry.outputs)
            .map(([name, ref]) => [name, ref, s.store.checkObject(ref.hash)] as const)
            .filter(([, , st]) => st !== 'ok');
          if (bad.length === 0) {
            outputs.set(n.id, entry.outputs);
            latestOut[n.id] = { key, kind: n.kind, parts, outputs: entry.outputs };
            const r: NodeResult = { id: n.id, kind: n.kind, status: 'cached', key, ms: now() - t, reason: 'up to date', warnings, outputs: entry.outputs };
            if (n.publish) {
              try {
                r.published = await publish(s, n, entry.outputs);
              } catch (e) {
                fail(n, key, now() - t, `publish to ${n.publish} failed`, e, warnings);
                return;
              }
            }
            done(r);
            return;
          }
          for (const [name, ref, state] of bad) {
            const msg = `store object ${ref.hash.slice(0, 12)}… (output ${name} of ${n.id}) is ${state}; recomputing`;
            warnings.push(msg);
            storeWarnings.push(msg);
            emit({ type: 'warn', id: n.id, msg });
            s.store.discardObject(ref.hash);
          }
          s.store.deleteEntry(key);
          reason = `output ${bad.map(([name]) => name).join(', ')} ${bad.length > 1 ? 'were' : 'was'} corrupt or missing in the store`;
        } else {
          reason = staleReason(await s.latest(n.id), parts);
        }
      }
      if (stoppedBy !== null) {
        done({ id: n.id, kind: n.kind, status: 'skipped', key, ms: 0, reason: `not started: ${stoppedBy} failed (use --keep-going to run independent nodes)`, warnings });
        return;
      }
      if (!queue) {
        const { default: PQueue } = await import('p-queue');
        queue = new PQueue({ concurrency: jobs });
      }
      inflight++;
      void queue
        .add(() => execute(n, key, parts, reason!, warnings))
        .finally(() => {
          inflight--;
          wake?.();
        });
    };

    const execute = async (n: NodeSpec, key: string, parts: FingerprintParts, reason: string, warnings: string[]): Promise<void> => {
      if (stoppedBy !== null) {
        done({ id: n.id, kind: n.kind, status: 'skipped', key, ms: 0, reason: `not started: ${stoppedBy} failed (use --keep-going to run independent nodes)`, warnings });
        return;
      }
      const t = now();
      let def: StepDef | undefined;
      try {
        def = await s.registry[n.kind]!.load();
        const useWorker = !!def.cpu && opts.workers !== false;
        if (RUNNING_COMPILED || useWorker) assertCompiledFresh(n, parts.code, s.codeRoot);
        emit({ type: 'running', id: n.id, kind: n.kind, reason, worker: useWorker });
        const inputs = await loadInputs(s, n, outputs);
        const ctxHooks = {
          info: (msg: string) => emit({ type: 'info', id: n.id, msg }),
          warn: (msg: string) => {
            warnings.push(msg);
            emit({ type: 'warn', id: n.id, msg });
          },
          progress: (d: number, total: number, label?: string) => emit({ type: 'progress', id: n.id, done: d, total, ...(label !== undefined ? { label } : {}) }),
        };
        const produced = useWorker
          ? await runInWorker(s, n, inputs, jobs, ctxHooks)
          : await def.run(makeContext(s, n, jobs, ctxHooks, runView), inputs, n.params);
        const refs = await storeOutputs(s, n, def, produced, ctxHooks.warn);
        const ms = now() - t;
        const entry: CacheEntry = { v: 1, key, node: n.id, kind: n.kind, outputs: refs, ms: Math.round(ms) };
        s.store.writeEntry(entry); // last: after every output object is in place
        outputs.set(n.id, refs);
        latestOut[n.id] = { key, kind: n.kind, parts, outputs: refs };
        const r: NodeResult = { id: n.id, kind: n.kind, status: 'ran', key, ms, reason, warnings, outputs: refs };
        if (n.publish) r.published = await publish(s, n, refs);
        done(r);
      } catch (e) {
        if (e instanceof CorruptObjectError) {
          // an input object went bad after it was checked: drop every cache entry that points at it
          const msg = `${e.message}; the entry that produced it was dropped, run again to recompute it`;
          for (const [up, refs] of outputs) {
            if (Object.values(refs).some((r) => r.hash === e.hash)) {
              const k = results.get(up)?.key;
              if (k) s.store.deleteEntry(k);
            }
          }
          storeWarnings.push(msg);
          fail(n, key, now() - t, reason, new Error(msg), warnings);
        } else fail(n, key, now() - t, reason, e, warnings);
      }
    };

    for (;;) {
      while (ready.length) {
        const id = ready.shift()!;
        await evaluate(g.byId.get(id)!);
      }
      if (inflight === 0) break;
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = null;
    }

    // nodes never reached (stopped run, or upstream of them skipped)
    for (const n of nodes) {
      if (results.has(n.id)) continue;
      const r: NodeResult = {
        id: n.id,
        kind: n.kind,
        status: 'skipped',
        key: '',
        ms: 0,
        reason: stoppedBy ? `not started: ${stoppedBy} failed (use --keep-going to run independent nodes)` : 'not started',
        warnings: [],
      };
      results.set(n.id, r);
      emit({ type: 'node', node: r });
    }

    const list = nodes.map((n) => results.get(n.id)!);
    const ok = list.every((r) => r.status === 'ran' || r.status === 'cached');
    const ms = now() - t0;
    const result: RunResult = { ok, nodes: list, ms, storeDir: s.storeDir, pipeline: s.spec.name, warnings: storeWarnings };

    // persist the stat cache and the history
    const { withMutex } = await import('./lock.js');
    if (s.stat.isDirty) withMutex(s.store.locksDir, 'statcache', () => s.stat.save());
    if (!opts.noHistory) {
      const { recordRun, digestParts } = await import('./history.js');
      const counts: Record<NodeStatus, number> = { ran: 0, cached: 0, failed: 0, skipped: 0 };
      const recs: NodeRecord[] = list.map((r) => {
        counts[r.status]++;
        const rec: NodeRecord = { id: r.id, kind: r.kind, status: r.status, ms: Math.round(r.ms), reason: r.reason, warnings: r.warnings };
        if (r.key) rec.key = r.key;
        const p = partsOf.get(r.id);
        if (p) rec.parts = digestParts(p);
        if (r.error) rec.error = r.error.message;
        if (r.outputs) rec.outputs = Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.hash]));
        return rec;
      });
      const run: Omit<RunRecord, 'id'> = {
        started,
        ms: Math.round(ms),
        ok,
        pipeline: s.spec.name,
        file: path.relative(path.dirname(s.storeDir), s.spec.file).split(path.sep).join('/'),
        jobs,
        argv: opts.argv ?? [],
        counts,
        nodes: recs,
      };
      result.runId = await recordRun(s.storeDir, run, latestOut);
    }
    return result;
  } finally {
    lock.release();
  }
}

async function publish(s: Session, n: NodeSpec, refs: Record<string, OutputRef>): Promise<string[]> {
  const { publishOutputs } = await import('./publish.js');
  return publishOutputs(s.store, s.stat, s.spec.baseDir, n.publish!, refs);
}

/**
 * The fingerprint hashes the TypeScript sources, but compiled JS (dist/) is what runs from the CLI
 * and in worker threads. If a source was edited and not rebuilt, the old code would run and its
 * result be cached under the new code's fingerprint — and still be served after the rebuild. So a
 * node whose code closure has a `.ts` file newer than its compiled `.js` (or without one) is not
 * run: it fails with the fix (`npm run build`). Stats only; cached nodes are not checked.
 */
export function assertCompiledFresh(n: NodeSpec, code: Record<string, string>, codeRoot: string): void {
  const stale: string[] = [];
  for (const rel of Object.keys(code)) {
    if (!/\.(m|c)?ts$/.test(rel) || rel.endsWith('.d.ts')) continue;
    const src = path.resolve(codeRoot, rel);
    const inProject = path.relative(PROJECT_ROOT, src);
    if (inProject.startsWith('..') || path.isAbsolute(inProject)) continue; // not compiled by this project
    const js = path.join(DIST_ROOT, inProject.replace(/\.(m|c)?ts$/, (m) => m.replace('ts', 'js')));
    let srcM: number;
    try {
      srcM = statSync(src).mtimeMs;
    } catch {
      continue; // a missing source is already in the fingerprint as "missing"
    }
    let jsM = -1;
    try {
      jsM = statSync(js).mtimeMs;
    } catch {
      /* not compiled */
    }
    if (jsM < srcM) stale.push(jsM < 0 ? `${inProject} (no ${path.relative(PROJECT_ROOT, js)})` : inProject);
  }
  if (stale.length) {
    throw contractError(
      `compiled code is out of date: ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ` (+${stale.length - 3} more)` : ''} changed since the last build; ` +
        `run \`npm run build\` and run again (not running ${n.id}, so that no result of the old code is cached under the new code's fingerprint)`,
    );
  }
}

/** Decode a node's inputs from the store (hashes verified on read). */
async function loadInputs(s: Session, n: NodeSpec, outputs: Map<string, Record<string, OutputRef>>): Promise<Record<string, Artifact | Artifact[] | undefined>> {
  const out: Record<string, Artifact | Artifact[] | undefined> = {};
  for (const [name, v] of Object.entries(n.inputs)) {
    const get = async (r: { node: string; output: string }): Promise<Artifact> => {
      const ref = outputs.get(r.node)?.[r.output];
      if (!ref) throw missingOutput(name, r, outputs.get(r.node));
      return s.store.get(ref);
    };
    out[name] = Array.isArray(v) ? await Promise.all(v.map(get)) : await get(v);
  }
  return out;
}

interface Hooks {
  info(msg: string): void;
  warn(msg: string): void;
  progress(done: number, total: number, label?: string): void;
}

let versionsMemo: Record<string, string> | undefined;
/** Versions recorded in ctx.run: Node.js and this package (read once, only when a step asks). */
function toolVersions(): Record<string, string> {
  if (!versionsMemo) {
    versionsMemo = { node: process.versions.node };
    try {
      const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { name?: string; version?: string };
      versionsMemo[pkg.name ?? 'repro'] = pkg.version ?? '?';
    } catch {
      /* no package.json: only the Node version */
    }
  }
  return versionsMemo;
}

/** The StepContext of a node run on the main thread. */
export function makeContext(s: Session, n: NodeSpec, jobs: number, hooks: Hooks, run?: () => RunView): StepContext {
  const seed = s.spec.seed;
  const baseDir = s.spec.baseDir;
  return {
    get run() {
      const v = run?.();
      const self = v?.nodes.find((x) => x.id === n.id);
      if (self) self.status = 'running';
      return v;
    },
    nodeId: n.id,
    seed,
    baseDir,
    threads: Math.max(1, jobs),
    resolvePath: (p) => path.resolve(baseDir, p),
    rng: (stream = '') => rngFromKey(rngKeyOf(seed, n.id, stream)),
    rngKey: (stream = '') => rngKeyOf(seed, n.id, stream),
    info: (m) => hooks.info(String(m)),
    warn: (m) => hooks.warn(String(m)),
    progress: (d, t, l) => hooks.progress(d, t, l),
  };
}

/** Run a step in a worker thread (compiled step module, see registry.stepModuleUrl). */
async function runInWorker(s: Session, n: NodeSpec, inputs: Record<string, Artifact | Artifact[] | undefined>, jobs: number, hooks: Hooks): Promise<Record<string, Artifact>> {
  const [{ Worker }, { compiledUrl }, { transferList }, fs] = await Promise.all([
    import('node:worker_threads'),
    import('./paths.js'),
    import('./worker.js'),
    import('node:fs'),
  ]);
  const workerUrl = compiledUrl('engine/worker.ts');
  const moduleUrl = stepModuleUrl(s.registry[n.kind]!.file, s.codeRoot);
  for (const u of [workerUrl, moduleUrl]) {
    if (!fs.existsSync(u)) throw new Error(`${n.kind} is a cpu step and runs in a worker thread, which needs compiled code: ${u.pathname} is missing (run \`npm run build\`)`);
  }
  const task = { moduleUrl: moduleUrl.href, nodeId: n.id, seed: s.spec.seed, baseDir: s.spec.baseDir, threads: Math.max(1, jobs), params: n.params, inputs };
  return new Promise((resolve, reject) => {
    const w = new Worker(workerUrl);
    let settled = false;
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      f();
      void w.terminate();
    };
    w.on('message', (m: import('./worker.js').WorkerMessage) => {
      if (m.t === 'info') hooks.info(m.msg);
      else if (m.t === 'warn') hooks.warn(m.msg);
      else if (m.t === 'progress') hooks.progress(m.done, m.total, m.label);
      else if (m.t === 'done') finish(() => resolve(m.outputs));
      else if (m.t === 'error') {
        const e = new Error(m.message);
        e.name = m.name;
        if (m.stack) e.stack = m.stack;
        else delete e.stack; // a non-Error thrown in the worker: no stack of ours either
        finish(() => reject(e));
      }
    });
    w.on('error', (e) => finish(() => reject(e)));
    w.on('exit', (code) => finish(() => reject(contractError(`worker thread exited with code ${code} before the step finished (did the step call process.exit?)`))));
    // inputs are fresh decodes owned by this call: transfer their buffers instead of copying
    w.postMessage(task, transferList(Object.values(inputs), true));
  });
}

const TYPES: ArtifactType[] = ['table', 'json', 'file'];

/** Check a step's returned outputs against its definition and store them. */
async function storeOutputs(s: Session, n: NodeSpec, def: StepDef, produced: Record<string, Artifact>, warn: (msg: string) => void): Promise<Record<string, OutputRef>> {
  if (!produced || typeof produced !== 'object') throw contractError(`step ${n.kind} returned ${String(produced)}, expected an object of named outputs`);
  // declared outputs may be left out (tabulate writes only the requested formats; a node that
  // needs a missing one gets a clear error), but none at all is a broken step, not a result
  if (Object.keys(produced).length === 0 && Object.keys(def.outputs).length > 0) {
    throw contractError(`step ${n.kind} returned no outputs (declared: ${Object.keys(def.outputs).join(', ')})`);
  }
  const refs: Record<string, OutputRef> = {};
  for (const name of Object.keys(produced).sort()) {
    const a = produced[name]!;
    const declared = def.outputs[name];
    if (!declared) throw contractError(`step ${n.kind} returned an undeclared output "${name}" (declared: ${Object.keys(def.outputs).join(', ')})`);
    if (!a || !TYPES.includes(a.type)) throw contractError(`step ${n.kind}: output "${name}" is not an artifact ({type: 'table'|'json'|'file', …})`);
    if (a.type !== declared) throw contractError(`step ${n.kind}: output "${name}" is declared ${declared} but a ${a.type} was returned`);
    if (a.type === 'json') {
      const bad = nonJsonAt(a.value);
      if (bad) throw contractError(`step ${n.kind}: output "${name}" is not JSON data at ${bad} (use plain objects, arrays, strings, numbers, booleans, null)`);
      // JSON has no NaN/Infinity: they are stored as null (see canonical.ts); say so rather than silently
      const nf = nonFinitePaths(a.value);
      if (nf.count) warn(`output ${name}: ${nf.count} non-finite number(s) stored as null in JSON (${nf.paths.join(', ')}${nf.count > nf.paths.length ? ', …' : ''})`);
    }
    try {
      refs[name] = await s.store.put(a);
    } catch (e) {
      // a malformed table or file (see arrow.ts, store.ts): say which output of which step
      throw contractError(`step ${n.kind}: output "${name}": ${(e as Error).message}`);
    }
  }
  // keep the declared order (publish and `show` list outputs that way)
  const ordered: Record<string, OutputRef> = {};
  for (const name of Object.keys(def.outputs)) if (refs[name]) ordered[name] = refs[name]!;
  return ordered;
}
