/**
 * The DAG of a validated pipeline: dependencies and dependants of each node, target selection,
 * descendants, and rendering as text, Mermaid or Graphviz dot (coloured by status).
 */
import { UsageError } from './errors.js';
import type { NodeSpec, PipelineSpec } from './spec.js';

export interface Graph {
  spec: PipelineSpec;
  /** Nodes in topological order (as the spec lists them). */
  nodes: NodeSpec[];
  byId: Map<string, NodeSpec>;
  /** Distinct upstream node ids, in first-use order. */
  deps: Map<string, string[]>;
  /** Distinct downstream node ids. */
  children: Map<string, string[]>;
}


/** Upstream node ids of a node, deduplicated, in input order. */
export function depsOf(n: NodeSpec): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const v of Object.values(n.inputs)) {
    for (const r of Array.isArray(v) ? v : [v]) {
      if (!seen.has(r.node)) {
        seen.add(r.node);
        out.push(r.node);
      }
    }
  }
  return out;
}

export function buildGraph(spec: PipelineSpec): Graph {
  const byId = new Map<string, NodeSpec>();
  const deps = new Map<string, string[]>();
  const children = new Map<string, string[]>();
  for (const n of spec.nodes) {
    byId.set(n.id, n);
    children.set(n.id, []);
  }
  for (const n of spec.nodes) {
    const d = depsOf(n);
    deps.set(n.id, d);
    for (const p of d) {
      const c = children.get(p);
      if (!c) throw new Error(`graph: node "${n.id}" uses unknown node "${p}"`);
      c.push(n.id);
    }
  }
  return { spec, nodes: spec.nodes, byId, deps, children };
}

/**
 * Topological order of nodes 0..n−1 given each node's dependencies (Kahn's algorithm, ties broken
 * by index — the YAML order — with a min-heap; iterative, so deep graphs cannot overflow the stack).
 * When there is a cycle, `order` holds the nodes outside it and `cycle` one cycle in data-flow
 * order, starting at its lowest index.
 */
export function topoSort(deps: readonly (readonly number[])[]): { order: number[]; cycle: number[] | null } {
  const n = deps.length;
  const users: number[][] = Array.from({ length: n }, () => []);
  const indeg = new Int32Array(n);
  const uniq: number[][] = deps.map((ds) => [...new Set(ds)]);
  uniq.forEach((ds, i) => {
    indeg[i] = ds.length;
    for (const d of ds) users[d]!.push(i);
  });
  const heap = new MinHeap();
  for (let i = 0; i < n; i++) if (indeg[i] === 0) heap.push(i);
  const order: number[] = [];
  while (heap.size > 0) {
    const i = heap.pop();
    order.push(i);
    for (const u of users[i]!) if (--indeg[u]! === 0) heap.push(u);
  }
  if (order.length === n) return { order, cycle: null };
  // walk predecessors among the remaining nodes from the first one until one repeats
  let start = 0;
  while (indeg[start] === 0) start++;
  const seenAt = new Map<number, number>();
  const walk: number[] = [];
  let cur = start;
  while (!seenAt.has(cur)) {
    seenAt.set(cur, walk.length);
    walk.push(cur);
    cur = uniq[cur]!.find((d) => indeg[d]! > 0)!;
  }
  const cyc = walk.slice(seenAt.get(cur)!).reverse(); // data-flow order
  const first = Math.min(...cyc);
  const k = cyc.indexOf(first);
  return { order, cycle: [...cyc.slice(k), ...cyc.slice(0, k)] };
}

class MinHeap {
  private a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  push(x: number): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= x) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = x;
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && a[r]! < a[l]! ? r : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

/** Node ids a `--target`/`--force`/`why` argument names: an id, or a foreach base id (all expansions). */
export function resolveIds(g: Graph, arg: string, flag: string): string[] {
  if (g.byId.has(arg)) return [arg];
  const exp = g.nodes.filter((n) => n.baseId === arg).map((n) => n.id);
  if (exp.length) return exp;
  const ids = g.nodes.map((n) => n.id);
  const near = ids.filter((i) => i.includes(arg) || arg.includes(i)).slice(0, 5);
  throw new UsageError(`${flag} ${arg}: no such node${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}; nodes are listed by \`repro dag\``);
}

/** The targets and everything they depend on. */
export function ancestorsClosure(g: Graph, ids: Iterable<string>): Set<string> {
  const out = new Set<string>();
  const stack = [...ids];
  while (stack.length) {
    const id = stack.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    for (const d of g.deps.get(id) ?? []) stack.push(d);
  }
  return out;
}

/** Every node downstream of `id` (excluding it). */
export function descendants(g: Graph, id: string): Set<string> {
  const out = new Set<string>();
  const stack = [...(g.children.get(id) ?? [])];
  while (stack.length) {
    const x = stack.pop()!;
    if (out.has(x)) continue;
    out.add(x);
    for (const c of g.children.get(x) ?? []) stack.push(c);
  }
  return out;
}

/** Node states shown by `dag`. */
export type DagState = 'cached' | 'stale' | 'pending' | 'ran' | 'failed' | 'skipped';

export type DagFormat = 'text' | 'mermaid' | 'dot';

const DOT_FILL: Record<DagState, string> = {
  cached: '#c8e6c9',
  ran: '#bbdefb',
  stale: '#ffe0b2',
  pending: '#fff9c4',
  failed: '#ffcdd2',
  skipped: '#e0e0e0',
};

/** Render the DAG. `paint(state, text)` colours text-format lines (identity for no colour). */
export function renderDag(
  g: Graph,
  state: Map<string, DagState>,
  format: DagFormat,
  paint: (s: DagState, text: string) => string = (_s, t) => t,
): string {
  const lines: string[] = [];
  if (format === 'text') {
    for (const n of g.nodes) {
      const s = state.get(n.id) ?? 'stale';
      const ins = Object.entries(n.inputs)
        .map(([name, v]) => {
          const refs = (Array.isArray(v) ? v : [v]).map((r) => r.node);
          return `${name}←${refs.length === 1 ? refs[0] : `[${refs.join(', ')}]`}`;
        })
        .join(' ');
      lines.push(`${paint(s, `${s.padEnd(7)} ${n.id}`)} (${n.kind})${ins ? `  ${ins}` : ''}${n.publish ? `  → ${n.publish}` : ''}`);
    }
    return lines.join('\n');
  }
  // stable synthetic ids: node ids may contain [ ] , which neither format accepts bare
  const sid = new Map<string, string>();
  g.nodes.forEach((n, i) => sid.set(n.id, `n${i}`));
  if (format === 'mermaid') {
    lines.push('graph TD');
    for (const n of g.nodes) lines.push(`  ${sid.get(n.id)}["${n.id.replace(/"/g, '#quot;')}<br/><i>${n.kind}</i>"]:::${state.get(n.id) ?? 'stale'}`);
    for (const n of g.nodes) for (const d of g.deps.get(n.id) ?? []) lines.push(`  ${sid.get(d)} --> ${sid.get(n.id)}`);
    for (const [s, fill] of Object.entries(DOT_FILL)) lines.push(`  classDef ${s} fill:${fill},stroke:#555`);
    return lines.join('\n');
  }
  lines.push('digraph pipeline {', '  rankdir=TB;', '  node [shape=box, style="rounded,filled", fontname="Helvetica"];');
  for (const n of g.nodes) {
    const s = state.get(n.id) ?? 'stale';
    lines.push(`  ${sid.get(n.id)} [label=${JSON.stringify(`${n.id}\n${n.kind}`)}, fillcolor="${DOT_FILL[s]}", tooltip="${s}"];`);
  }
  for (const n of g.nodes) for (const d of g.deps.get(n.id) ?? []) lines.push(`  ${sid.get(d)} -> ${sid.get(n.id)};`);
  lines.push('}');
  return lines.join('\n');
}
