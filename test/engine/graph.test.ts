/**
 * engine/graph.ts: topological order (Kahn, ties broken by index = YAML order), the cycle it
 * reports (data-flow order, starting at its lowest index), and the DAG queries of a built graph
 * (deps, children, descendants, ancestors, target names).
 */
import { describe, expect, it } from 'vitest';
import { ancestorsClosure, buildGraph, descendants, resolveIds, topoSort } from '../../engine/graph.js';
import type { NodeSpec, PipelineSpec } from '../../engine/spec.js';

describe('topoSort', () => {
  it('puts dependencies first and breaks ties by index, not by discovery order', () => {
    // 0 needs 2, 3 needs 1: 1 and 2 are ready first; after 1, both 3 (new) and 2 are ready → 2 (lower index)
    expect(topoSort([[2], [], [], [1]])).toEqual({ order: [1, 2, 0, 3], cycle: null });
    // already in order: unchanged
    expect(topoSort([[], [0], [0, 1], [2]])).toEqual({ order: [0, 1, 2, 3], cycle: null });
    // repeated dependencies count once
    expect(topoSort([[], [0, 0, 0]])).toEqual({ order: [0, 1], cycle: null });
    expect(topoSort([])).toEqual({ order: [], cycle: null });
  });

  it('reports one cycle in data-flow order starting at its lowest index; order holds the nodes outside it', () => {
    // 1 ← 3, 2 ← 1, 3 ← 2: 1 → 2 → 3 → 1; 0 and 4 (← 0) are outside it
    expect(topoSort([[], [3], [1], [2], [0]])).toEqual({ order: [0, 4], cycle: [1, 2, 3] });
    // a node downstream of a cycle is neither ordered nor part of the cycle
    expect(topoSort([[1], [0], [1]])).toEqual({ order: [], cycle: [0, 1] });
    // a self-loop
    expect(topoSort([[], [1]])).toEqual({ order: [0], cycle: [1] });
  });

  it('is iterative: a 100 000-node chain does not overflow the stack', () => {
    const n = 100_000;
    // node i needs node i+1: the order is the chain reversed
    const r = topoSort(Array.from({ length: n }, (_, i) => (i === n - 1 ? [] : [i + 1])));
    expect(r.cycle).toBeNull();
    expect(r.order[0]).toBe(n - 1);
    expect(r.order[n - 1]).toBe(0);
    expect(r.order.length).toBe(n);
  });
});

describe('buildGraph and its queries', () => {
  const node = (id: string, ins: Record<string, string | string[]> = {}, baseId = id): NodeSpec => ({
    id,
    baseId,
    kind: 'k',
    params: {},
    inputs: Object.fromEntries(Object.entries(ins).map(([k, v]) => [k, Array.isArray(v) ? v.map((n) => ({ node: n, output: 'table' })) : { node: v, output: 'table' }])),
    files: [],
    pos: { line: 1, col: 1 },
  });
  const spec = (nodes: NodeSpec[]): PipelineSpec => ({ file: '/p/pipeline.yaml', baseDir: '/p', name: 't', seed: 1, nodes });
  const g = buildGraph(
    spec([
      node('src'),
      node('a', { in: 'src' }),
      node('b', { x: 'a', y: 'src', z: ['a', 'src'] }),
      node('fe[1]', { in: 'a' }, 'fe'),
      node('fe[2]', { in: 'a' }, 'fe'),
      node('side'),
    ]),
  );

  it('deps are distinct, in input order; children list the users', () => {
    expect(g.deps.get('b')).toEqual(['a', 'src']);
    expect(g.children.get('a')).toEqual(['b', 'fe[1]', 'fe[2]']);
    expect(g.children.get('side')).toEqual([]);
  });

  it('descendants exclude the node; ancestorsClosure includes the targets', () => {
    expect([...descendants(g, 'src')].sort()).toEqual(['a', 'b', 'fe[1]', 'fe[2]']);
    expect([...ancestorsClosure(g, ['b', 'side'])].sort()).toEqual(['a', 'b', 'side', 'src']);
  });

  it('resolveIds: an id, or every expansion of a foreach base id; an unknown name is a usage error with suggestions', () => {
    expect(resolveIds(g, 'fe[2]', '--target')).toEqual(['fe[2]']);
    expect(resolveIds(g, 'fe', '--target')).toEqual(['fe[1]', 'fe[2]']);
    expect(() => resolveIds(g, 'sid', '--force')).toThrow('--force sid: no such node (did you mean side?); nodes are listed by `repro dag`');
  });

  it('a reference to an unknown node is refused', () => {
    expect(() => buildGraph(spec([node('a', { in: 'ghost' })]))).toThrow('graph: node "a" uses unknown node "ghost"');
  });
});
