/**
 * The one "should this node run" decision, used by `run` (executor.ts), `status`, `run --dry-run`,
 * `dag` and `why` (plan.ts) alike — DVC's `Stage.changed()`, targets' `builder_should_run`.
 *
 * Given a node, the outputs of its upstream nodes (when known), whether it is forced, and its last
 * successful record, {@link decide} returns what to do and why, as data ({@link Reason}s; prose is
 * rendered by reasons.ts):
 * - `cached`: the fingerprint matches a cache entry whose objects are intact;
 * - `run`: never run, a fingerprint part changed, forced, or the cached outputs are corrupt/missing
 *   (`corrupt` lists them; the caller discards them before running);
 * - `wait` (planning only, when an upstream output is not known yet): `stale` if the node's own
 *   parts changed (it will run whatever its inputs), else `pending` (early cutoff may spare it).
 *
 * Nothing here writes to the store: side effects (discarding corrupt objects) are the executor's.
 * {@link decideWithRemote} is the same decision with a remote cache (engine/remote/): a local miss
 * that the remote has is `cached` with reason `remote` (the caller downloads and verifies it).
 *
 * @example
 * const d = decide(session, node, { outputs, forced: false, latest });
 * if (d.action === 'cached') use(d.entry.outputs); else run(d.key, d.reasons);
 */
import { fingerprintKey, type FingerprintParts } from './fingerprint.js';
import type { Graph } from './graph.js';
import { ancestorsClosure, resolveIds } from './graph.js';
import type { Latest } from './history.js';
import { diffParts, type PartName, type Reason } from './reasons.js';
import { inputHashes, staticParts, type Session } from './session.js';
import type { NodeSpec } from './spec.js';
import type { CacheEntry, ObjectState, OutputRef } from './store.js';

export type Decision =
  | {
      action: 'cached';
      key: string;
      parts: FingerprintParts;
      entry: CacheEntry;
      reasons: Reason[];
      changes: Reason[];
      /** Set when the entry is the remote cache's (reason `remote`): `local` is the decision without it, to fall back to when its objects do not verify. */
      remote?: { local: RunDecision };
    }
  | {
      action: 'run';
      key: string;
      parts: FingerprintParts;
      reasons: Reason[];
      changes: Reason[];
      /** Outputs of a cache entry that are corrupt or missing (to discard), when that is the reason. */
      corrupt?: { name: string; ref: OutputRef; state: ObjectState }[];
    }
  | {
      action: 'wait';
      /** `stale`: runs whatever its inputs turn out to be; `pending`: reruns only if they change. */
      state: 'stale' | 'pending';
      parts: Omit<FingerprintParts, 'inputs'>;
      reasons: Reason[];
      changes: Reason[];
      waitsFor: string[];
    };

export interface DecideInput {
  /** Outputs of upstream nodes known so far (cached or ran). */
  outputs: Map<string, Record<string, OutputRef>>;
  forced: boolean;
  /** The node's last successful record (history), if any. */
  latest: Latest | undefined;
  /** Upstream nodes whose outputs are not known yet (planning). Empty when running. */
  waitsFor?: string[];
}

export type RunDecision = Extract<Decision, { action: 'run' }>;

/** What the decision needs of a remote cache (engine/remote/http-cache.ts `RemoteCache`). */
export interface RemoteLookup {
  getEntry(key: string): Promise<CacheEntry | null>;
}

/**
 * {@link decide}, then, on a local miss (not forced), the remote cache: when it has an entry for the
 * fingerprint the node is `cached` with reason `remote` (its objects are downloaded and verified by
 * the caller, who falls back to `remote.local` when that fails). Reads the remote; writes nothing.
 */
export async function decideWithRemote(s: Session, n: NodeSpec, inp: DecideInput, remote: RemoteLookup | null | undefined): Promise<Decision> {
  const d = decide(s, n, inp);
  if (!remote || d.action !== 'run' || inp.forced) return d;
  const entry = await remote.getEntry(d.key);
  // the fingerprint covers the kind and the node id (its seed): an entry naming others is not this node's
  if (!entry || entry.kind !== n.kind || entry.node !== n.id) return d;
  return { action: 'cached', key: d.key, parts: d.parts, entry, reasons: [{ kind: 'remote' }], changes: d.changes, remote: { local: d } };
}

const OWN_PARTS: PartName[] = ['kind', 'code', 'packages', 'params', 'files', 'seed', 'extra'];

/** Names the upstream node/output of a node's input (for `input` reasons). */
export function inputRefOf(n: NodeSpec): (name: string, index: number) => { node: string; output: string } {
  return (name, index) => {
    const v = n.inputs[name];
    const r = Array.isArray(v) ? v[Math.min(index, v.length - 1)] : v;
    return r ? { node: r.node, output: r.output } : { node: '?', output: '' };
  };
}

/** Decide whether `n` runs. Throws only when an upstream output it needs does not exist (a pipeline error). */
export function decide(s: Session, n: NodeSpec, inp: DecideInput): Decision {
  const sp = staticParts(s, n);
  const ref = inputRefOf(n);
  if (inp.waitsFor?.length) {
    const changes = inp.latest ? diffParts(inp.latest.parts, sp, OWN_PARTS, ref) : [];
    const own: Reason[] = !inp.latest ? [{ kind: 'never-run' }] : changes;
    if (inp.forced) return { action: 'wait', state: 'stale', parts: sp, reasons: [{ kind: 'forced' }], changes, waitsFor: inp.waitsFor };
    if (own.length) return { action: 'wait', state: 'stale', parts: sp, reasons: own, changes, waitsFor: inp.waitsFor };
    return { action: 'wait', state: 'pending', parts: sp, reasons: [{ kind: 'waiting', nodes: inp.waitsFor }], changes, waitsFor: inp.waitsFor };
  }
  const parts: FingerprintParts = { ...sp, inputs: inputHashes(n, inp.outputs) };
  const key = fingerprintKey(parts);
  const changes = inp.latest ? diffParts(inp.latest.parts, parts, undefined, ref) : [];
  const stale = (): Reason[] => (!inp.latest ? [{ kind: 'never-run' }] : changes.length ? changes : [{ kind: 'not-in-cache' }]);
  if (inp.forced) return { action: 'run', key, parts, reasons: [{ kind: 'forced' }], changes };
  const entry = s.store.readEntry(key);
  if (!entry) return { action: 'run', key, parts, reasons: stale(), changes };
  const corrupt = Object.entries(entry.outputs)
    .map(([name, r]) => ({ name, ref: r, state: s.store.checkObject(r.hash) }))
    .filter((x) => x.state !== 'ok');
  if (corrupt.length === 0) return { action: 'cached', key, parts, entry, reasons: [{ kind: 'up-to-date' }], changes };
  return { action: 'run', key, parts, reasons: [{ kind: 'corrupt', outputs: corrupt.map((c) => c.name) }], changes, corrupt };
}

/** The nodes a command works on (`--target`: those and their ancestors; all by default) and the forced ones. */
export function selectNodes(g: Graph, targets: string[] | undefined, force: string[] | undefined): { selected: Set<string>; forced: Set<string>; nodes: NodeSpec[] } {
  const selected = targets?.length ? ancestorsClosure(g, targets.flatMap((t) => resolveIds(g, t, '--target'))) : new Set(g.nodes.map((n) => n.id));
  const forced = new Set((force ?? []).flatMap((f) => resolveIds(g, f, '--force')));
  return { selected, forced, nodes: g.nodes.filter((n) => selected.has(n.id)) };
}
