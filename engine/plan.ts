/**
 * Planning without running: for `status`, `run --dry-run`, `dag`, `why` and `gc`.
 *
 * Walks the DAG in order and classifies each node:
 * - `cached`: its fingerprint is computable (all inputs cached) and the store holds intact outputs;
 * - `stale`: it will run — never run, a part of its fingerprint changed (the reason says which),
 *   forced, or its outputs are missing/corrupt in the store;
 * - `pending`: an input will be recomputed first; it reruns only if that input comes out different
 *   (early cutoff), unless its own params/code/files changed (then it is `stale`).
 */
import { diffParts, type FingerprintParts, type PartChange } from './fingerprint.js';
import { ancestorsClosure, resolveIds } from './graph.js';
import type { Latest } from './history.js';
import { fingerprintKey, fullParts, inputHashes, openSession, staleReason, staticParts, type Session, type SessionOptions } from './session.js';
import type { OutputRef } from './store.js';

export type PlanState = 'cached' | 'stale' | 'pending';

export interface PlanNode {
  id: string;
  kind: string;
  state: PlanState;
  reason: string;
  /** Fingerprint when computable. */
  key?: string;
  /** Full parts when computable; otherwise the parts other than inputs. */
  parts: FingerprintParts | Omit<FingerprintParts, 'inputs'>;
  /** Changes since the last successful run (empty when never run). */
  changes: PartChange[];
  latest?: Latest;
  outputs?: Record<string, OutputRef>;
  /** Upstream nodes that are stale or pending. */
  waitsFor: string[];
}

export interface PlanOptions extends SessionOptions {
  targets?: string[];
  force?: string[];
}

export async function planPipeline(opts: PlanOptions = {}): Promise<{ session: Session; nodes: PlanNode[] }> {
  const s = await openSession(opts);
  return { session: s, nodes: await planSession(s, opts) };
}

export async function planSession(s: Session, opts: { targets?: string[]; force?: string[] } = {}): Promise<PlanNode[]> {
  const g = s.graph;
  const selected = opts.targets?.length ? ancestorsClosure(g, opts.targets.flatMap((t) => resolveIds(g, t, '--target'))) : null;
  const forced = new Set((opts.force ?? []).flatMap((f) => resolveIds(g, f, '--force')));
  const hist = await s.history();
  const latestMap = hist.latest[s.spec.name] ?? {};
  const outputs = new Map<string, Record<string, OutputRef>>();
  const state = new Map<string, PlanState>();
  const out: PlanNode[] = [];
  for (const n of g.nodes) {
    if (selected && !selected.has(n.id)) continue;
    const latest = latestMap[n.id];
    const sp = staticParts(s, n);
    const waitsFor = (g.deps.get(n.id) ?? []).filter((d) => state.get(d) !== 'cached');
    const base = { id: n.id, kind: n.kind, waitsFor, ...(latest ? { latest } : {}) };
    if (waitsFor.length) {
      const changes = latest ? diffParts(latest.parts, sp as FingerprintParts, ['kind', 'code', 'params', 'files', 'seed']) : [];
      const own = !latest ? 'never run' : changes.length ? staleReason(latest, sp) : null;
      const st: PlanState = own || forced.has(n.id) ? 'stale' : 'pending';
      const reason = forced.has(n.id) ? 'forced' : own ?? `input ${waitsFor.join(', ')} will be recomputed (reruns only if it changes)`;
      state.set(n.id, st);
      out.push({ ...base, state: st, reason, parts: sp, changes });
      continue;
    }
    const parts = fullParts(sp, inputHashes(n, outputs));
    const key = fingerprintKey(parts);
    const changes = latest ? diffParts(latest.parts, parts) : [];
    let st: PlanState = 'stale';
    let reason: string;
    const entry = s.store.readEntry(key);
    if (forced.has(n.id)) reason = 'forced';
    else if (entry) {
      const bad = Object.entries(entry.outputs).filter(([, r]) => s.store.checkObject(r.hash) !== 'ok');
      if (bad.length === 0) {
        st = 'cached';
        reason = 'up to date';
        outputs.set(n.id, entry.outputs);
      } else reason = `output ${bad.map(([k]) => k).join(', ')} missing or corrupt in the store`;
    } else reason = staleReason(latest, parts);
    state.set(n.id, st);
    const pn: PlanNode = { ...base, state: st, reason, key, parts, changes };
    if (entry && st === 'cached') pn.outputs = entry.outputs;
    out.push(pn);
  }
  return out;
}
