/**
 * Per-node handling of a run, apart from the scheduler (executor.ts) — as wireit separates its
 * per-script execution from the scheduling:
 *
 * - {@link NodeRunner.evaluate}: ask the decision module (decide.ts) whether the node is fresh; a
 *   cache hit is resolved here (outputs checked, published); corrupt cached outputs are discarded;
 *   otherwise it returns a {@link Job} for the scheduler to queue.
 * - {@link NodeRunner.execute}: run the step (on the main thread, or in a worker of the run's pool
 *   for `cpu: true` steps), check and store its outputs, write the cache entry last (invariant 2),
 *   publish.
 *
 * Both return a {@link NodeResult}; nothing here decides order or concurrency.
 */
import { lstatSync, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { nonFinitePaths, nonJsonAt } from './canonical.js';
import { decideWithRemote, type Decision, type RunDecision } from './decide.js';
import type { FingerprintParts } from './fingerprint.js';
import { boundTranscript, type Latest, type NodeStatus } from './history.js';
import { DIST_ROOT, PROJECT_ROOT, RUNNING_COMPILED } from './paths.js';
import type { StepHooks, WorkerPool } from './pool.js';
import { reasonPhrase, type Reason } from './reasons.js';
import { stepModuleUrl } from './registry.js';
import { rngFromKey, rngKeyOf } from './rng.js';
import { missingOutput, type Session } from './session.js';
import { notRegularFile } from './statcache.js';
import type { NodeSpec } from './spec.js';
import type { CacheEntry, OutputRef } from './store.js';
import type { RemoteCache } from './remote/http-cache.js';
import { asError, contractError, CorruptObjectError, StepError } from './errors.js';
import { outputsOf, outputType, taskOf, type Artifact, type ArtifactType, type OutputSpec, type RunView, type StepContext, type StepDef } from './types.js';

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
  /** One-line reason, rendered from `reasons`. */
  reason: string;
  /** Why, as data (reasons.ts). */
  reasons: Reason[];
  warnings: string[];
  error?: NodeError;
  /** Output name → stored ref (ran / cached). */
  outputs?: Record<string, OutputRef>;
  /** Files written by publish in this run. */
  published?: string[];
  /** What the step kept with ctx.transcript, bounded (ran / failed nodes only). */
  transcript?: string;
}

/** A node that must run: what the scheduler queues. */
export interface Job {
  n: NodeSpec;
  key: string;
  parts: FingerprintParts;
  reasons: Reason[];
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

/** Build a NodeResult with its rendered reason. */
export function nodeResult(n: { id: string; kind: string }, status: NodeStatus, key: string, ms: number, reasons: Reason[], warnings: string[], extra: Partial<NodeResult> = {}): NodeResult {
  return { id: n.id, kind: n.kind, status, key, ms, reason: reasonPhrase(reasons), reasons, warnings, ...extra };
}

/** The error of a failed node, from what the step threw. */
export function nodeError(err: unknown): NodeError {
  const e = asError(err);
  const stepError = e.name === 'StepError';
  const error: NodeError = { message: e.message, stepError };
  if (!stepError && e.stack) error.stack = e.stack;
  return error;
}

export interface RunnerOptions {
  jobs: number;
  /** Run `cpu: true` steps in worker threads (default true). */
  workers: boolean;
  pool: WorkerPool | null;
  emit: (e: RunEvent) => void;
  /** ctx.run of the steps. */
  runView: () => RunView;
  /** The remote cache (engine/remote/): read-through on a local miss, write-through after a node ran. */
  remote?: RemoteCache | null;
  /** Publish outside the project folder (`run --allow-outside`); default: an error. */
  allowOutside?: boolean;
}

/** Per-node decisions and execution for one run. */
export class NodeRunner {
  /** Outputs of nodes that ran or were cached in this run. */
  readonly outputs = new Map<string, Record<string, OutputRef>>();
  /** `latest` history entries of the successful nodes. */
  readonly latestOut: Record<string, Omit<Latest, 'run' | 'at'>> = {};
  /** Full fingerprint parts of every node that got that far. */
  readonly partsOf = new Map<string, FingerprintParts>();
  /** Store-level warnings (corrupt objects, …), also listed on their nodes. */
  readonly storeWarnings: string[] = [];

  constructor(
    private readonly s: Session,
    private readonly opts: RunnerOptions,
  ) {}

  /** Use the run's worker pool from now on (created when the first job is queued). */
  usePool(pool: WorkerPool): void {
    this.opts.pool = pool;
  }

  /**
   * Nodes certain to run (`--force`): the pool's workers start importing the step modules of the
   * `cpu` ones now, while this thread decides the nodes upstream of them and reads their inputs
   * (a worker's start and a step's imports are ~0.1 s of a short node). One worker per node, at
   * most the pool's budget; nothing for steps that run on this thread.
   */
  warm(nodes: NodeSpec[]): void {
    const pool = this.opts.workers ? this.opts.pool : null;
    if (!pool) return;
    const perModule = new Map<string, number>();
    for (const n of nodes) {
      const e = this.s.registry[n.kind];
      if (!e?.cpu) continue;
      const url = stepModuleUrl(e.file, this.s.codeRoot).href;
      perModule.set(url, (perModule.get(url) ?? 0) + 1);
    }
    for (const [url, k] of perModule) pool.preload(url, k);
  }

  /** Fresh, cache hit or needs a run: a finished NodeResult, or the Job to queue. */
  async evaluate(n: NodeSpec, forced: boolean): Promise<NodeResult | Job> {
    const t = now();
    const warnings: string[] = [];
    let d: Decision;
    try {
      d = await decideWithRemote(this.s, n, { outputs: this.outputs, forced, latest: await this.s.latest(n.id) }, this.opts.remote);
    } catch (e) {
      return nodeResult(n, 'failed', '', now() - t, [{ kind: 'not-in-cache' }], warnings, { error: nodeError(e), reason: 'could not fingerprint' });
    }
    if (d.action === 'wait') throw new Error('decide: wait without waitsFor'); // not reachable while running
    this.partsOf.set(n.id, d.parts);
    if (d.action === 'cached' && d.remote) d = await this.fromRemote(n, d, warnings);
    if (d.action === 'cached') {
      const refs = d.entry.outputs;
      this.succeeded(n, d.key, d.parts, refs);
      const r = nodeResult(n, 'cached', d.key, now() - t, d.reasons, warnings, { outputs: refs });
      if (n.publish) {
        try {
          r.published = await this.publish(n, refs);
        } catch (e) {
          this.outputs.delete(n.id);
          delete this.latestOut[n.id];
          return nodeResult(n, 'failed', d.key, now() - t, d.reasons, warnings, { error: nodeError(e), reason: `publish to ${n.publish} failed` });
        }
      }
      return r;
    }
    for (const c of d.corrupt ?? []) {
      const msg = `store object ${c.ref.hash.slice(0, 12)}… (output ${c.name} of ${n.id}) is ${c.state}; recomputing`;
      warnings.push(msg);
      this.storeWarnings.push(msg);
      this.opts.emit({ type: 'warn', id: n.id, msg });
      this.s.store.discardObject(c.ref.hash);
    }
    if (d.corrupt?.length) this.s.store.deleteEntry(d.key);
    return { n, key: d.key, parts: d.parts, reasons: d.reasons, warnings };
  }

  /** Pending write-through uploads (awaited by {@link flushRemote} before the run ends). */
  private readonly uploads: Promise<boolean>[] = [];

  /**
   * A remote hit: discard corrupt local copies, download the node's objects (each verified) and its
   * entry into the local store. An object that fails verification is rejected and reported, and the
   * node falls back to the local decision (it runs; its upload then overwrites the bad object).
   */
  private async fromRemote(n: NodeSpec, d: Extract<Decision, { action: 'cached' }>, warnings: string[]): Promise<Extract<Decision, { action: 'cached' }> | RunDecision> {
    const local = d.remote!.local;
    for (const c of local.corrupt ?? []) this.s.store.discardObject(c.ref.hash);
    const got = await this.opts.remote!.pullNode(this.s.store, d.entry);
    if (got.ok) return d;
    for (const b of got.bad) {
      const msg = `${b.error.message}: output ${b.name} of ${n.id} rejected; recomputing`;
      warnings.push(msg);
      this.storeWarnings.push(msg);
      this.opts.emit({ type: 'warn', id: n.id, msg });
    }
    return local;
  }

  /** Upload a node that ran (objects, then its entry) in the background, unless uploads are off. */
  private writeThrough(entry: CacheEntry): void {
    const r = this.opts.remote;
    if (!r || !r.upload || !r.available) return;
    this.uploads.push(r.pushNode(this.s.store, entry));
  }

  /** Wait for the write-through uploads of this run. */
  async flushRemote(): Promise<void> {
    await Promise.all(this.uploads.splice(0));
  }

  private succeeded(n: NodeSpec, key: string, parts: FingerprintParts, refs: Record<string, OutputRef>): void {
    this.outputs.set(n.id, refs);
    this.latestOut[n.id] = { key, kind: n.kind, parts, outputs: refs };
  }

  /** Run a job's step, store its outputs and the cache entry, publish. */
  async execute(job: Job): Promise<NodeResult> {
    const { n, key, parts, reasons, warnings } = job;
    const s = this.s;
    const t = now();
    let transcript: string | undefined;
    const withTranscript = (r: NodeResult): NodeResult => (transcript === undefined ? r : { ...r, transcript });
    try {
      // a path param naming a FIFO, device or socket: never opened (a FIFO blocks, /dev/zero never ends)
      for (const [f, h] of Object.entries(parts.files)) {
        if (h !== 'not-a-file') continue;
        const abs = path.resolve(s.spec.baseDir, f);
        let st;
        try {
          st = statSync(abs);
        } catch {
          continue; // gone since: the step reports a missing file
        }
        throw new StepError(`${notRegularFile(abs, st).message} (path param "${f}"); only regular files are read: point it at a data file`);
      }
      // a worker starts importing the step while this thread imports it and loads the inputs (wasted
      // only for a step that turns out not to be cpu)
      const entry = s.registry[n.kind]!;
      const pool = this.opts.workers ? this.opts.pool : null;
      if (pool) pool.preload(stepModuleUrl(entry.file, s.codeRoot).href);
      // a cpu step the registry says is one goes to a worker without being imported here (the worker
      // sends its declared outputs back): this thread stays free while the worker starts
      const def = pool && entry.cpu ? null : await entry.load();
      const useWorker = def ? !!def.cpu && pool !== null : true;
      const tasksModule = def ? def.tasksModule : entry.tasksModule;
      // a step that splits its work (ctx.map): its tasks module, for the pool workers that join a long
      // map (worker.ts MIN_LANE_MS; not imported ahead: on 2 cores a thread importing beside the
      // step's own slowed it, and a short map stays on the step's thread)
      const tasksUrl = tasksModule ? stepModuleUrl(tasksModule, s.codeRoot).href : undefined;
      if (RUNNING_COMPILED || useWorker || (def?.tasks && this.opts.pool)) assertCompiledFresh(n, parts.code, s.codeRoot);
      this.opts.emit({ type: 'running', id: n.id, kind: n.kind, reason: reasonPhrase(reasons), worker: useWorker });
      // a worker reads and decodes its inputs itself (in parallel with other workers); else this thread
      const inputRefs = useWorker ? inputRefsOf(n, this.outputs) : null;
      const inputs = inputRefs ? {} : await loadInputs(s, n, this.outputs);
      const hooks: StepHooks = {
        info: (msg) => this.opts.emit({ type: 'info', id: n.id, msg }),
        warn: (msg) => {
          warnings.push(msg);
          this.opts.emit({ type: 'warn', id: n.id, msg });
        },
        progress: (d, total, label) => this.opts.emit({ type: 'progress', id: n.id, done: d, total, ...(label !== undefined ? { label } : {}) }),
        transcript: (text) => {
          transcript = boundTranscript(text);
        },
      };
      let produced: Record<string, Artifact>;
      let declared: Record<string, ArtifactType | OutputSpec>;
      if (useWorker) {
        const { transferList } = await import('./worker.js');
        const moduleUrl = stepModuleUrl(entry.file, s.codeRoot);
        checkCompiled(n, moduleUrl);
        // the input objects are read here, asynchronously, while the worker thread starts (it decodes them)
        const inputBytes = inputRefs ? await readVerified(s, inputRefs) : {};
        const task = { moduleUrl: moduleUrl.href, nodeId: n.id, seed: s.spec.seed, baseDir: s.spec.baseDir, threads: this.opts.jobs, params: n.params, inputs, ...(inputRefs ? { inputRefs, storeDir: s.store.dir, inputBytes } : {}), ...(tasksUrl ? { tasksUrl } : {}), localMap: pool!.claims };
        // inputs are fresh decodes (or reads) owned by this call: transfer their buffers instead of copying
        ({ outputs: produced, declared } = await pool!.runStep(task, hooks, transferList(Object.values(inputs), true, Object.values(inputBytes))));
      } else {
        produced = await def!.run(makeContext(s, n, this.opts.jobs, hooks, this.opts.runView, def!, this.opts.pool), inputs, n.params);
        declared = outputsOf(def!, n.params);
      }
      const refs = await storeOutputs(s, n, declared, produced, hooks.warn);
      const ms = now() - t;
      const cached: CacheEntry = { v: 1, key, node: n.id, kind: n.kind, outputs: refs, ms: Math.round(ms) };
      s.store.writeEntry(cached); // last: after every output object is in place
      this.writeThrough(cached); // failed nodes never get here: never uploaded
      this.succeeded(n, key, parts, refs);
      const r = withTranscript(nodeResult(n, 'ran', key, ms, reasons, warnings, { outputs: refs }));
      if (n.publish) r.published = await this.publish(n, refs);
      return r;
    } catch (e) {
      if (e instanceof CorruptObjectError) {
        // an input object went bad after it was checked: drop every cache entry that points at it
        const msg = `${e.message}; the entry that produced it was dropped, run again to recompute it`;
        for (const [up, refs] of this.outputs) {
          if (Object.values(refs).some((r) => r.hash === e.hash)) {
            const k = this.latestOut[up]?.key;
            if (k) s.store.deleteEntry(k);
          }
        }
        this.storeWarnings.push(msg);
        return withTranscript(nodeResult(n, 'failed', key, now() - t, reasons, warnings, { error: nodeError(contractError(msg)) }));
      }
      return withTranscript(nodeResult(n, 'failed', key, now() - t, reasons, warnings, { error: nodeError(e) }));
    }
  }

  private async publish(n: NodeSpec, refs: Record<string, OutputRef>): Promise<string[]> {
    const { publishOutputs } = await import('./publish.js');
    return publishOutputs(this.s.store, this.s.stat, this.s.spec.baseDir, n.publish!, refs, { allowOutside: !!this.opts.allowOutside });
  }
}

function checkCompiled(n: NodeSpec, moduleUrl: URL): void {
  try {
    statSync(moduleUrl);
  } catch {
    throw contractError(`${n.kind} is a cpu step and runs in a worker thread, which needs compiled code: ${moduleUrl.pathname} is missing (run \`npm run build\`)`);
  }
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

/** The store refs of a node's inputs (what {@link loadInputs} reads), for a worker that reads them itself. */
function inputRefsOf(n: NodeSpec, outputs: Map<string, Record<string, OutputRef>>): Record<string, OutputRef | OutputRef[]> {
  const out: Record<string, OutputRef | OutputRef[]> = {};
  for (const [name, v] of Object.entries(n.inputs)) {
    const get = (r: { node: string; output: string }): OutputRef => {
      const ref = outputs.get(r.node)?.[r.output];
      if (!ref) throw missingOutput(name, r, outputs.get(r.node));
      return ref;
    };
    out[name] = Array.isArray(v) ? v.map(get) : get(v);
  }
  return out;
}

/**
 * The input objects whose (size, mtime, inode, ctime) match their stat-cache record (verified when
 * last hashed), read asynchronously: hash → bytes (WorkerTask.inputBytes). Others are left to the
 * worker, which reads and verifies them itself.
 */
async function readVerified(s: Session, refs: Record<string, OutputRef | OutputRef[]>): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  await Promise.all(
    [...new Set(Object.values(refs).flat().map((r) => r.hash))].map(async (hash) => {
      const p = s.store.objectPath(hash);
      try {
        const st = lstatSync(p);
        if (!st.isFile() || s.stat.get('o', p, st)?.h !== hash) return;
        const bytes = await readWhole(p, st.size);
        if (bytes) out[hash] = bytes;
      } catch {
        /* gone or unreadable: the worker reads it and reports it */
      }
    }),
  );
  return out;
}

/**
 * The `size` bytes of a file in as few reads as the kernel allows, into a buffer of its own (it is
 * transferred to a worker): `readFile` reads 512 KiB at a time, ~25% slower for an 80 MB input.
 * Undefined when the file is not `size` bytes long any more.
 */
async function readWhole(p: string, size: number): Promise<Uint8Array | undefined> {
  const fh = await open(p, 'r');
  try {
    const buf = new Uint8Array(new ArrayBuffer(size));
    let off = 0;
    while (off < size) {
      const { bytesRead } = await fh.read(buf, off, size - off, off);
      if (bytesRead === 0) return undefined;
      off += bytesRead;
    }
    const { bytesRead: more } = await fh.read(new Uint8Array(1), 0, 1, size);
    return more === 0 ? buf : undefined;
  } finally {
    await fh.close();
  }
}

/** Decode a node's inputs from the store (hashes verified on read, through the stat cache). */
async function loadInputs(s: Session, n: NodeSpec, outputs: Map<string, Record<string, OutputRef>>): Promise<Record<string, Artifact | Artifact[] | undefined>> {
  const out: Record<string, Artifact | Artifact[] | undefined> = {};
  for (const [name, r] of Object.entries(inputRefsOf(n, outputs))) out[name] = Array.isArray(r) ? await Promise.all(r.map((x) => s.store.get(x))) : await s.store.get(r);
  return out;
}

let versionsMemo: Record<string, string> | undefined;
/** Versions recorded in ctx.run: Node.js and this package (read once, only when a step asks). */
export function toolVersions(): Record<string, string> {
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

/**
 * `ctx.map` of a step running on this thread: chunks go to the run's worker pool (the step's own
 * token plus free ones) when the step's compiled module exists, else run here in order.
 */
function mapper(s: Session, n: NodeSpec, def: StepDef, pool: WorkerPool | null, hooks: StepHooks): StepContext['map'] {
  return async <C, R>(fn: string, chunks: C[], shared?: unknown, opts?: { progress?: string }): Promise<R[]> => {
    const f = taskOf(def, fn);
    const url = stepModuleUrl(def.tasksModule ?? s.registry[n.kind]!.file, s.codeRoot);
    let compiled = false;
    try {
      compiled = pool !== null && statSync(url).isFile();
    } catch {
      compiled = false;
    }
    if (compiled && chunks.length > 1) {
      const onChunk = opts?.progress ? (d: number, t: number) => hooks.progress(d, t, opts.progress) : undefined;
      return (await pool!.map({ moduleUrl: url.href, fn, shared, chunks, ...(onChunk ? { onChunk } : {}) }, 1)) as R[];
    }
    const out: R[] = [];
    for (let i = 0; i < chunks.length; i++) {
      out.push((await f(chunks[i], shared)) as R);
      if (opts?.progress) hooks.progress(i + 1, chunks.length, opts.progress);
    }
    return out;
  };
}

/** The StepContext of a node run on the main thread. */
export function makeContext(s: Session, n: NodeSpec, jobs: number, hooks: StepHooks, run: (() => RunView) | undefined, def: StepDef, pool: WorkerPool | null = null): StepContext {
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
    transcript: (text) => hooks.transcript?.(String(text)),
    map: mapper(s, n, def, pool, hooks),
  };
}

const TYPES: ArtifactType[] = ['table', 'json', 'file'];

/** Check a step's returned outputs against its definition and store them. */
/** Check `produced` against the outputs the step declares for the node's params, and store them. */
async function storeOutputs(s: Session, n: NodeSpec, declaredOutputs: Record<string, ArtifactType | OutputSpec>, produced: Record<string, Artifact>, warn: (msg: string) => void): Promise<Record<string, OutputRef>> {
  if (!produced || typeof produced !== 'object') throw contractError(`step ${n.kind} returned ${String(produced)}, expected an object of named outputs`);
  // declared outputs may be left out (tabulate writes only the requested formats; a node that
  // needs a missing one gets a clear error), but none at all is a broken step, not a result
  if (Object.keys(produced).length === 0 && Object.keys(declaredOutputs).length > 0) {
    throw contractError(`step ${n.kind} returned no outputs (declared: ${Object.keys(declaredOutputs).join(', ')})`);
  }
  const refs: Record<string, OutputRef> = {};
  for (const name of Object.keys(produced).sort()) {
    const a = produced[name]!;
    const spec = declaredOutputs[name];
    if (!spec) throw contractError(`step ${n.kind} returned an undeclared output "${name}" (declared: ${Object.keys(declaredOutputs).join(', ')})`);
    const declared = outputType(spec);
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
  for (const name of Object.keys(declaredOutputs)) if (refs[name]) ordered[name] = refs[name]!;
  return ordered;
}
