/**
 * Explicit sync with a remote cache (`repro push`, `repro pull`) and the remote's view of a plan
 * (`repro status`): library functions over a Session and a {@link RemoteCache}.
 *
 * - {@link pushPipeline}: every node of the pipeline cached in the local store (fingerprint
 *   matches, objects intact) whose entry the remote lacks: objects, then the entry.
 * - {@link pullPipeline}: every node the local store lacks and the remote has (planned in
 *   dependency order, so a node whose inputs come from the remote is found too): objects
 *   (verified), then the local entry. Nothing runs.
 * - {@link remoteHas}: which fingerprints the remote has an entry for (HEAD /ac/<key>).
 */
import { planSession, type PlanNode } from '../plan.js';
import type { Session } from '../session.js';
import type { RemoteCache } from './http-cache.js';

export interface SyncNode {
  id: string;
  key: string;
  /** pushed / pulled; `present`: already there; `absent`: pull: the remote lacks it; `bad`: an object failed verification; `failed`: the transfer failed. */
  result: 'pushed' | 'pulled' | 'present' | 'absent' | 'bad' | 'failed';
  message?: string;
}

export interface SyncSummary {
  url: string;
  nodes: SyncNode[];
  objects: number;
  bytes: number;
  /** Why the remote went down during the sync (null: it did not). */
  down: string | null;
}

/** Which of `keys` the remote has an entry for (bounded concurrency). */
export async function remoteHas(remote: RemoteCache, keys: string[], concurrency = 8): Promise<Set<string>> {
  const out = new Set<string>();
  let i = 0;
  const worker = async (): Promise<void> => {
    while (i < keys.length && remote.available) {
      const k = keys[i++]!;
      if (await remote.hasEntry(k)) out.add(k);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
  return out;
}

/** Upload the locally cached nodes the remote lacks. */
export async function pushPipeline(s: Session, remote: RemoteCache, opts: { targets?: string[] } = {}): Promise<SyncSummary> {
  const plan = await planSession(s, opts.targets ? { targets: opts.targets } : {});
  const cached = plan.filter((n): n is PlanNode & { key: string } => n.state === 'cached' && !!n.key);
  const there = await remoteHas(remote, cached.map((n) => n.key));
  const before = { ...remote.stats };
  const nodes: SyncNode[] = [];
  await Promise.all(
    cached.map(async (n) => {
      if (there.has(n.key)) return void nodes.push({ id: n.id, key: n.key, result: 'present' });
      const entry = s.store.readEntry(n.key);
      const ok = entry !== null && (await remote.pushNode(s.store, entry));
      nodes.push({ id: n.id, key: n.key, result: ok ? 'pushed' : 'failed' });
    }),
  );
  const order = new Map(plan.map((n, i) => [n.id, i]));
  nodes.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  return { url: remote.display, nodes, objects: remote.stats.objectsUp - before.objectsUp, bytes: remote.stats.bytesUp - before.bytesUp, down: remote.downReason };
}

/** Download the nodes the local store lacks and the remote has (nothing runs). */
export async function pullPipeline(s: Session, remote: RemoteCache, opts: { targets?: string[] } = {}): Promise<SyncSummary> {
  const plan = await planSession(s, { ...(opts.targets ? { targets: opts.targets } : {}), remote });
  const before = { ...remote.stats };
  const nodes: SyncNode[] = [];
  for (const n of plan) {
    if (n.state === 'cached' && !n.fromRemote) continue; // already local
    if (!n.fromRemote || !n.key) {
      nodes.push({ id: n.id, key: n.key ?? '', result: 'absent' });
      continue;
    }
    const entry = await remote.getEntry(n.key);
    const got = entry ? await remote.pullNode(s.store, entry) : null;
    if (got?.ok) nodes.push({ id: n.id, key: n.key, result: 'pulled' });
    else if (got && got.bad.length) nodes.push({ id: n.id, key: n.key, result: 'bad', message: got.bad.map((b) => `${b.error.message} (output ${b.name})`).join('; ') });
    else nodes.push({ id: n.id, key: n.key, result: 'failed' });
  }
  return { url: remote.display, nodes, objects: remote.stats.objectsDown - before.objectsDown, bytes: remote.stats.bytesDown - before.bytesDown, down: remote.downReason };
}
