/**
 * What changed inside the data, for `why NODE` (issue 14 part 4): the row- and cell-level detail
 * of a node's changed input tables and input files, attached as data (`detail`) to its `input` /
 * `file` reasons (reasons.ts renders it). The decision itself stays in decide.ts; this only reads.
 *
 * - **A changed input artifact** (an upstream node reran): both versions are in the store (the old
 *   hash from the node's last successful run, the new one from the upstream's current output):
 *   tables are compared with engine/table-diff.ts.
 * - **A changed input file not yet read again** (e.g. a data fix in the CSV that `ingest` reads):
 *   the store holds only the old artifact. The node's own step is run again *in memory* on the
 *   current file (the same reader with the same params; nothing is stored, cached or published, no
 *   history is written) and its table outputs are compared with the stored ones of its last run.
 *   That is exactly what the next `repro run` will compute (steps are deterministic). It is done
 *   only when that is cheap and side-effect free: the node's inputs are cached, only files (or
 *   params) changed, not its code, and the step runs no external program and no worker threads (no
 *   `extraFingerprint` hook, not `cpu`); otherwise the detail says it becomes available after
 *   `repro run --target NODE`.
 * - **Changed params of a data step** (a step that writes a table, e.g. a `clean` fix): the same
 *   in-memory rerun shows what the new params change in its table, attached to the first `param`
 *   reason.
 * - **A node that waits** for recomputed inputs: the detail of the nearest upstream nodes where the
 *   change starts (stale nodes whose own inputs are known) is shown as `upstream` changes.
 *
 * Keys: a node declares the key of its table with a `key: [col, …]` param (ingest does); a table
 * downstream uses the nearest declaration upstream of it whose columns exist in both versions and
 * identify one row in each, else rows are matched by position.
 */
import type { PlanNode } from './plan.js';
import type { DataDetail, Reason } from './reasons.js';
import type { Session } from './session.js';
import type { OutputRef } from './store.js';
import { diffTables } from './table-diff.js';
import { outputsOf, outputType, type Artifact, type ArtifactType } from './types.js';

/** Key candidates for a table produced by `nodeId`: its own `key` param, then the nearest ancestors' (breadth first). */
export function keyCandidates(s: Session, nodeId: string): string[][] {
  const out: string[][] = [];
  const seen = new Set<string>();
  const queue = [nodeId];
  while (queue.length) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const n = s.graph.byId.get(id);
    if (!n) continue;
    const k = n.params.key;
    if (Array.isArray(k) && k.length && k.every((x) => typeof x === 'string') && !out.some((o) => o.join('\0') === k.join('\0'))) out.push(k as string[]);
    queue.push(...(s.graph.deps.get(id) ?? []));
  }
  return out;
}

/** The artifact type of output `output` of node `nodeId` in the current spec, if the node and output exist. */
export async function outputTypeOf(s: Session, nodeId: string, output: string): Promise<ArtifactType | undefined> {
  const n = s.graph.byId.get(nodeId);
  if (!n) return undefined;
  try {
    const def = await s.registry[n.kind]!.load();
    const o = outputsOf(def, n.params)[output];
    return o ? outputType(o) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Read a stored object as an artifact. `type` when known (a cache entry, the step definition);
 * otherwise sniffed: Arrow IPC (its `ARROW1` magic) is a table, parseable JSON is json, else a file.
 * Returns null when the object is gone (gc) or damaged.
 */
export async function readObject(s: Session, hash: string, type?: ArtifactType, ext?: string): Promise<Artifact | null> {
  let bytes: Uint8Array;
  try {
    bytes = s.store.getBytes(hash);
  } catch {
    return null;
  }
  const { decodeArtifact } = await import('./store.js');
  let t = type;
  if (!t) {
    const head = Buffer.from(bytes.subarray(0, 6)).toString('latin1');
    if (head === 'ARROW1') t = 'table';
    else {
      try {
        JSON.parse(Buffer.from(bytes).toString('utf8'));
        t = 'json';
      } catch {
        t = 'file';
      }
    }
  }
  const ref: OutputRef = { hash, type: t, size: bytes.length, ...(ext ? { ext } : {}) };
  try {
    return await decodeArtifact(ref, bytes);
  } catch {
    return null;
  }
}

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The detail of one changed input (both hashes known). */
async function inputDetail(s: Session, n: PlanNode, r: Extract<Reason, { kind: 'input' }>): Promise<DataDetail[]> {
  const spec = s.graph.byId.get(n.id)!;
  const oldH = asList(n.latest?.parts.inputs[r.name]);
  const newH = 'inputs' in n.parts ? asList(n.parts.inputs[r.name]) : [];
  if (!newH.length) return [];
  const refs = spec.inputs[r.name];
  const refList = refs === undefined ? [] : Array.isArray(refs) ? refs : [refs];
  const out: DataDetail[] = [];
  for (let i = 0; i < Math.max(oldH.length, newH.length); i++) {
    if (oldH[i] === newH[i]) continue;
    const ref = refList[Math.min(i, refList.length - 1)];
    const what = ref ? `${ref.node}.${ref.output}` : r.name;
    if (oldH[i] === undefined || newH[i] === undefined) {
      out.push({ via: 'stored', what, note: oldH[i] === undefined ? 'a new element of the input list' : 'no longer in the input list' });
      continue;
    }
    const type = ref ? await outputTypeOf(s, ref.node, ref.output) : undefined;
    if (type && type !== 'table') {
      out.push({ via: 'stored', what, note: `a ${type} artifact (row-level detail is for tables; \`repro diff\` compares results)` });
      continue;
    }
    const [a, b] = await Promise.all([readObject(s, oldH[i]!, type), readObject(s, newH[i]!, type)]);
    if (!a || !b) {
      out.push({ via: 'stored', what, note: `the ${!a ? 'old' : 'new'} version is no longer in the store (removed by \`repro gc\`)` });
      continue;
    }
    if (a.type !== 'table' || b.type !== 'table') {
      out.push({ via: 'stored', what, note: `a ${b.type} artifact (row-level detail is for tables)` });
      continue;
    }
    out.push({ via: 'stored', what, table: diffTables(a.table, b.table, { keys: ref ? keyCandidates(s, ref.node) : [] }) });
  }
  return out;
}

/** Can the node's step be run again in memory to read its changed files (see the module header)? Why not, if not. */
async function rereadBlocker(s: Session, n: PlanNode): Promise<string | null> {
  if (n.state !== 'stale' || !('inputs' in n.parts)) return 'its inputs are recomputed first';
  if (!n.latest) return 'it has no earlier run to compare with';
  if (n.changes.some((c) => c.kind !== 'file' && c.kind !== 'param')) return 'its code, kind or seed changed';
  if (n.changes.some((c) => c.kind === 'file' && (c.change === 'missing' || c.change === 'directory'))) return 'a file is missing';
  const def = await s.registry[n.kind]!.load();
  if (def.cpu || def.extraFingerprint || def.anyInputs) return `${n.kind} steps are not run outside \`repro run\``;
  if (!Object.values(outputsOf(def, s.graph.byId.get(n.id)!.params)).some((o) => outputType(o) === 'table')) return 'it writes no table';
  return null;
}

/** The node's table outputs of its last run against those of the cached computation that now matches. */
async function storedOutputsDetail(s: Session, n: PlanNode, before: Record<string, OutputRef>, now: Record<string, OutputRef>): Promise<DataDetail[]> {
  const out: DataDetail[] = [];
  for (const [name, ref] of Object.entries(before)) {
    if (ref.type !== 'table') continue;
    const what = `${n.id}.${name}`;
    const cur = now[name];
    if (!cur) {
      out.push({ via: 'stored', what, note: 'no longer written' });
      continue;
    }
    const [a, b] = await Promise.all([readObject(s, ref.hash, 'table'), readObject(s, cur.hash, 'table')]);
    if (!a || !b || a.type !== 'table' || b.type !== 'table') out.push({ via: 'stored', what, note: `the ${!a ? 'old' : 'new'} version is no longer in the store (removed by \`repro gc\`)` });
    else out.push({ via: 'stored', what, table: diffTables(a.table, b.table, { keys: keyCandidates(s, n.id) }) });
  }
  return out;
}

/** Run the node's step in memory on its current files and compare its table outputs with its last run's. */
async function rereadDetail(s: Session, n: PlanNode, outputs: Map<string, Record<string, OutputRef>>): Promise<DataDetail[]> {
  // an earlier computation with these files and params is cached: both versions are stored
  if (n.state === 'cached' && n.outputs && n.latest) return storedOutputsDetail(s, n, n.latest.outputs, n.outputs);
  const blocker = await rereadBlocker(s, n);
  if (blocker) return [{ via: 'reread', note: `row-level detail after \`repro run --target ${n.id}\` (not read again now: ${blocker})` }];
  const spec = s.graph.byId.get(n.id)!;
  const def = await s.registry[n.kind]!.load();
  const { makeContext } = await import('./node-runner.js');
  const inputs: Record<string, Artifact | Artifact[] | undefined> = {};
  for (const [name, v] of Object.entries(spec.inputs)) {
    const get = async (r: { node: string; output: string }): Promise<Artifact> => s.store.get(outputs.get(r.node)![r.output]!);
    inputs[name] = Array.isArray(v) ? await Promise.all(v.map(get)) : await get(v);
  }
  const quiet = { info: () => {}, warn: () => {}, progress: () => {}, transcript: () => {} };
  let produced: Record<string, Artifact>;
  try {
    produced = await def.run(makeContext(s, spec, 1, quiet, undefined, def, null), inputs, spec.params);
  } catch (e) {
    return [{ via: 'reread', note: `reading it again fails, so the next run of ${n.id} will fail: ${(e as Error).message}` }];
  }
  const out: DataDetail[] = [];
  for (const [name, ref] of Object.entries(n.latest!.outputs)) {
    if (ref.type !== 'table') continue;
    const now = produced[name];
    const old = await readObject(s, ref.hash, 'table');
    const what = `${n.id}.${name}`;
    if (!now || now.type !== 'table') out.push({ via: 'reread', what, note: 'no longer written' });
    else if (!old || old.type !== 'table') out.push({ via: 'reread', what, note: 'the old version is no longer in the store (removed by `repro gc`)' });
    else out.push({ via: 'reread', what, table: diffTables(old.table, now.table, { keys: keyCandidates(s, n.id) }) });
  }
  return out;
}

/** Does the node's step write a table output (with its current params)? */
async function writesTable(s: Session, id: string): Promise<boolean> {
  const n = s.graph.byId.get(id)!;
  try {
    const def = await s.registry[n.kind]!.load();
    return Object.values(outputsOf(def, n.params)).some((o) => outputType(o) === 'table');
  } catch {
    return false;
  }
}

/** `changes` of a plan node with the row/cell detail attached to its `input` and `file` reasons. */
async function detailed(s: Session, n: PlanNode, outputs: Map<string, Record<string, OutputRef>>, reread: boolean): Promise<Reason[]> {
  const out: Reason[] = [];
  // one re-read covers every changed file and param of the node: attached to the first changed
  // file, else to the first param when the step writes a table (a data step, e.g. a `clean` fix)
  const file = n.changes.find((r) => r.kind === 'file' && (r.change === 'changed' || r.change === 'added'));
  let target: Reason | undefined = file;
  if (!target && reread && n.changes.some((r) => r.kind === 'param') && (await writesTable(s, n.id))) target = n.changes.find((r) => r.kind === 'param');
  for (const r of n.changes) {
    if (r.kind === 'input') {
      const detail = await inputDetail(s, n, r);
      out.push(detail.length ? { ...r, detail } : r);
    } else if (r === target && reread && (r.kind === 'file' || r.kind === 'param')) {
      const detail = await rereadDetail(s, n, outputs);
      out.push(detail.length ? { ...r, detail } : r);
    } else out.push(r);
  }
  return out;
}

export interface DataExplanation {
  /** The node's changes, `input` / `file` reasons with `detail`. */
  changes: Reason[];
  /** For a node that waits for recomputed inputs: where the change starts upstream, with detail. */
  upstream: { node: string; kind: string; changes: Reason[] }[];
}

/**
 * The row/cell-level explanation of node `id` in a plan (see the module header). `reread: false`
 * never runs a step (the detail of a changed file then waits for its node's next run).
 */
export async function explainData(s: Session, plan: PlanNode[], id: string, opts: { reread?: boolean } = {}): Promise<DataExplanation> {
  const reread = opts.reread ?? true;
  const byId = new Map(plan.map((p) => [p.id, p]));
  const outputs = new Map<string, Record<string, OutputRef>>();
  for (const p of plan) if (p.outputs) outputs.set(p.id, p.outputs);
  const n = byId.get(id)!;
  const changes = await detailed(s, n, outputs, reread);
  const upstream: DataExplanation['upstream'] = [];
  if (n.waitsFor.length) {
    // the nearest upstream nodes where the change starts: stale, with every input known
    const seen = new Set<string>();
    const stack = [...n.waitsFor];
    const roots: PlanNode[] = [];
    while (stack.length) {
      const u = stack.pop()!;
      if (seen.has(u)) continue;
      seen.add(u);
      const p = byId.get(u);
      if (!p) continue;
      if (p.state === 'stale' && p.waitsFor.length === 0) roots.push(p);
      else stack.push(...p.waitsFor);
    }
    const order = new Map(plan.map((p, i) => [p.id, i]));
    roots.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
    for (const r of roots) upstream.push({ node: r.id, kind: r.kind, changes: r.changes.length ? await detailed(s, r, outputs, reread) : r.reasons });
  }
  return { changes, upstream };
}
