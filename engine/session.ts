/**
 * A session: one pipeline loaded against one store — what every command (run, status, why, dag,
 * show, gc) starts from. Loads the spec (or takes a prebuilt one), opens the stat cache and the
 * store under `artifacts/` next to the YAML, and computes fingerprint parts of nodes.
 */
import path from 'node:path';
import { buildGraph, type Graph } from './graph.js';
import { Fingerprinter, fingerprintKey, type FingerprintParts } from './fingerprint.js';
import type { HistoryData, Latest } from './history.js';
import { loadRegistry, type Registry } from './registry.js';
import type { InputRef, NodeSpec, ParamOverride, PipelineSpec } from './spec.js';
import { StatCache } from './statcache.js';
import { Store, type OutputRef } from './store.js';
import { contractError } from './errors.js';
import type { StepDef } from './types.js';

export interface SessionOptions {
  /** Pipeline YAML (default `./pipeline.yaml`). Ignored when `spec` is given. */
  file?: string;
  /** A prebuilt, validated spec (tests); skips loading the YAML. */
  spec?: PipelineSpec;
  /** Step registry; default: REPRO_REGISTRY or steps/index.ts (see registry.ts). */
  registry?: Registry;
  /** Directory registry `file` paths are relative to (default: the project root, or the REPRO_REGISTRY module's `codeRoot`). */
  codeRoot?: string;
  /** `--set` overrides. */
  overrides?: ParamOverride[];
  /** Store directory (default: `artifacts/` next to the YAML). */
  storeDir?: string;
  /** Always validate the YAML (skip the validated-spec cache, see speccache.ts). */
  noSpecCache?: boolean;
  /** Write nothing (`run --dry-run`): the validated-spec cache is read but not saved. */
  readOnly?: boolean;
  /** A named variant (`run --variant NAME`): publishes under results/variants/NAME/, recorded under that name. */
  variant?: string;
}

export interface Session {
  spec: PipelineSpec;
  graph: Graph;
  registry: Registry;
  codeRoot: string;
  storeDir: string;
  store: Store;
  stat: StatCache;
  fp: Fingerprinter;
  /** Lazily read history. */
  history(): Promise<HistoryData>;
  /** Last successful record of a node in this pipeline. */
  latest(id: string): Promise<Latest | undefined>;
  /** `extraFingerprint` hooks of the step kinds this pipeline uses (registry entries with `fingerprintHook`). */
  hooks?: Map<string, NonNullable<StepDef['extraFingerprint']>>;
  /** Problems the fingerprint hooks found (node id → messages), e.g. a missing interpreter; `status` prints them. */
  preflight?: Map<string, string[]>;
  /** The variant this session runs (publish paths already moved under results/variants/NAME/). */
  variant?: string;
}

export async function openSession(opts: SessionOptions): Promise<Session> {
  let registry = opts.registry;
  let codeRoot = opts.codeRoot;
  if (!registry) {
    const loaded = await loadRegistry();
    registry = loaded.registry;
    codeRoot ??= loaded.codeRoot;
  }
  if (!codeRoot) codeRoot = (await import('./paths.js')).PROJECT_ROOT;
  let spec: PipelineSpec | null | undefined = opts.spec;
  const abs = spec ? spec.file : path.resolve(opts.file ?? 'pipeline.yaml');
  const storeDir = opts.storeDir ?? path.join(spec ? spec.baseDir : path.dirname(abs), 'artifacts');
  const stat = new StatCache(path.join(storeDir, 'statcache.json'));
  const store = new Store(storeDir, stat);
  const fp = new Fingerprinter(codeRoot, stat);
  if (!spec) {
    const overrides = opts.overrides ?? [];
    const sc = await import('./speccache.js');
    spec = opts.noSpecCache ? null : sc.cachedSpec(storeDir, abs, overrides, registry, stat, fp);
    if (!spec) {
      const { loadPipeline } = await import('./config/load.js');
      spec = await loadPipeline(abs, { registry, overrides });
      if (!opts.noSpecCache && !opts.readOnly) sc.saveSpec(storeDir, abs, overrides, registry, stat, fp, spec);
    }
  }
  if (opts.variant !== undefined) spec = (await import('./publish.js')).withVariant(spec, opts.variant);
  let hist: Promise<HistoryData> | undefined;
  const history = (): Promise<HistoryData> => (hist ??= import('./history.js').then((h) => h.readHistory(storeDir)));
  // `latest` alone (history.json, not the run records): what a run compares against
  let latestOnly: Promise<HistoryData> | undefined;
  const latestData = (): Promise<HistoryData> => hist ?? (latestOnly ??= import('./history.js').then((h) => h.readLatest(storeDir)));
  // steps whose fingerprint has an `extra` part: load their module (only those) to call the hook
  const hooks = new Map<string, NonNullable<StepDef['extraFingerprint']>>();
  for (const kind of new Set(spec.nodes.map((n) => n.kind))) {
    const e = registry[kind];
    if (!e?.fingerprintHook) continue;
    const hook = e.fingerprintHook === true ? (await e.load()).extraFingerprint : await e.fingerprintHook();
    if (hook) hooks.set(kind, hook);
  }
  const s: Session = {
    hooks,
    preflight: new Map(),
    spec,
    graph: buildGraph(spec),
    registry,
    codeRoot,
    storeDir,
    store,
    stat,
    fp,
    history,
    async latest(id) {
      const h = await latestData();
      // a variant compares with its own last run, else with the main pipeline's
      if (opts.variant !== undefined) {
        const { variantLatestKey } = await import('./history.js');
        const v = h.latest[variantLatestKey(spec!.name, opts.variant)]?.[id];
        if (v) return v;
      }
      return h.latest[spec!.name]?.[id];
    },
    ...(opts.variant !== undefined ? { variant: opts.variant } : {}),
  };
  return s;
}

/** Fingerprint parts other than the inputs (computable before the inputs exist). */
export function staticParts(s: Session, n: NodeSpec): Omit<FingerprintParts, 'inputs'> {
  const entry = s.registry[n.kind];
  if (!entry) throw new Error(`unknown step kind "${n.kind}" (node ${n.id})`);
  const parts: Omit<FingerprintParts, 'inputs'> = {
    kind: n.kind,
    code: s.fp.code(n.kind, entry.file),
    params: n.params,
    files: s.fp.files(s.spec.baseDir, n.files),
    seed: { root: s.spec.seed, node: n.id },
    packages: s.fp.packages(n.kind, entry.file),
  };
  const hook = s.hooks?.get(n.kind);
  if (hook) {
    const warn = (msg: string): void => {
      const list = s.preflight?.get(n.id) ?? [];
      if (!list.includes(msg)) list.push(msg);
      s.preflight?.set(n.id, list);
    };
    parts.extra = sortedRecord(hook(n.params, { baseDir: s.spec.baseDir, stat: s.stat, warn }));
  }
  return parts;
}

const sortedRecord = (r: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.keys(r).sort().map((k) => [k, String(r[k])]));

/**
 * The `inputs` part from the outputs of upstream nodes; throws a readable error if an upstream
 * node did not produce the referenced output.
 */
export function inputHashes(n: NodeSpec, outputs: Map<string, Record<string, OutputRef>>): Record<string, string | string[]> {
  const one = (name: string, r: InputRef): string => {
    const o = outputs.get(r.node)?.[r.output];
    if (!o) throw missingOutput(name, r, outputs.get(r.node));
    return o.hash;
  };
  const out: Record<string, string | string[]> = {};
  for (const name of Object.keys(n.inputs).sort()) {
    const v = n.inputs[name]!;
    out[name] = Array.isArray(v) ? v.map((r) => one(name, r)) : one(name, v);
  }
  return out;
}

/**
 * The error for an input whose upstream output does not exist: a step may leave declared outputs
 * out (e.g. tabulate writes only the requested formats), so a node that asks for one is told which
 * outputs there are. No stack: it is a pipeline problem, not an engine bug.
 */
export function missingOutput(name: string, r: InputRef, produced: Record<string, OutputRef> | undefined): Error {
  const have = produced ? Object.keys(produced) : [];
  return contractError(
    `input ${name}: ${r.node} produced no output "${r.output}" (its outputs this run: ${have.join(', ') || 'none'}); ` +
      `change the input to one of those, or the params of ${r.node} so that it writes "${r.output}"`,
  );
}

export { fingerprintKey };
