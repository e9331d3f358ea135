/**
 * Planning without running: for `status`, `run --dry-run`, `dag`, `why` and `gc`.
 *
 * Walks the DAG in order and asks the one decision module (decide.ts) about each node, with the
 * outputs of the upstream nodes that are cached:
 * - `cached`: its fingerprint is computable (all inputs cached) and the store holds intact outputs;
 * - `stale`: it will run — never run, a part of its fingerprint changed, forced, or its outputs are
 *   missing/corrupt in the store;
 * - `pending`: an input will be recomputed first; it reruns only if that input comes out different
 *   (early cutoff), unless its own params/code/files changed (then it is `stale`).
 */
import { decideWithRemote, selectNodes, type RemoteLookup } from './decide.js';
import type { FingerprintParts } from './fingerprint.js';
import type { Latest } from './history.js';
import { reasonPhrase, type Reason } from './reasons.js';
import { openSession, type Session, type SessionOptions } from './session.js';
import type { OutputRef } from './store.js';

export type PlanState = 'cached' | 'stale' | 'pending';

export interface PlanNode {
  id: string;
  kind: string;
  state: PlanState;
  /** One-line reason (rendered from `reasons`). */
  reason: string;
  /** Why, as data (see reasons.ts). */
  reasons: Reason[];
  /** Fingerprint when computable. */
  key?: string;
  /** Full parts when computable; otherwise the parts other than inputs. */
  parts: FingerprintParts | Omit<FingerprintParts, 'inputs'>;
  /** Changes since the last successful run (empty when never run). */
  changes: Reason[];
  latest?: Latest;
  outputs?: Record<string, OutputRef>;
  /** Upstream nodes that are stale or pending. */
  waitsFor: string[];
  /** Planned with a remote cache: not in the local store, but the remote has its entry (a run fetches it; state `cached`, reason `remote`). */
  fromRemote?: boolean;
}

export interface PlanOptions extends SessionOptions {
  targets?: string[];
  force?: string[];
  /** Ask this remote cache about local misses (`status`, `pull`): its hits count as cached. */
  remote?: RemoteLookup | null;
}

export async function planPipeline(opts: PlanOptions = {}): Promise<{ session: Session; nodes: PlanNode[] }> {
  const s = await openSession(opts);
  return { session: s, nodes: await planSession(s, opts) };
}

export async function planSession(s: Session, opts: { targets?: string[]; force?: string[]; remote?: RemoteLookup | null } = {}): Promise<PlanNode[]> {
  const g = s.graph;
  const { nodes, forced } = selectNodes(g, opts.targets, opts.force);
  const hist = await s.history();
  const latestMap = hist.latest[s.spec.name] ?? {};
  const outputs = new Map<string, Record<string, OutputRef>>();
  const state = new Map<string, PlanState>();
  const planned = new Map<string, PlanNode>();
  const planOne = async (n: (typeof nodes)[number]): Promise<void> => {
    const latest = latestMap[n.id];
    const waitsFor = (g.deps.get(n.id) ?? []).filter((d) => state.get(d) !== 'cached');
    const d = await decideWithRemote(s, n, { outputs, forced: forced.has(n.id), latest, waitsFor }, waitsFor.length ? null : opts.remote);
    const base = { id: n.id, kind: n.kind, reasons: d.reasons, reason: reasonPhrase(d.reasons), changes: d.changes, parts: d.parts, waitsFor, ...(latest ? { latest } : {}) };
    if (d.action === 'wait') {
      state.set(n.id, d.state);
      planned.set(n.id, { ...base, state: d.state });
    } else if (d.action === 'cached') {
      state.set(n.id, 'cached');
      outputs.set(n.id, d.entry.outputs);
      planned.set(n.id, { ...base, state: 'cached', key: d.key, outputs: d.entry.outputs, ...(d.remote ? { fromRemote: true } : {}) });
    } else {
      state.set(n.id, 'stale');
      planned.set(n.id, { ...base, state: 'stale', key: d.key });
    }
  };
  if (!opts.remote) {
    for (const n of nodes) await planOne(n);
  } else {
    // remote lookups wait on the network: plan up to 16 nodes whose upstream nodes are planned at once
    let rest = nodes;
    while (rest.length) {
      const wave: typeof nodes = [];
      const later: typeof nodes = [];
      for (const n of rest) ((g.deps.get(n.id) ?? []).every((d) => state.has(d)) && wave.length < 16 ? wave : later).push(n);
      if (wave.length === 0) throw new Error('plan: no node is ready (an upstream node is not selected)'); // selectNodes includes ancestors
      await Promise.all(wave.map(planOne));
      rest = later;
    }
  }
  return nodes.map((n) => planned.get(n.id)!);
}
