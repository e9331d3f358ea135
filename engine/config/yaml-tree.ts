/**
 * A YAML document with positions, from js-yaml's event stream: the plain JavaScript value (core
 * schema, as `js-yaml.load`) plus a light tree of nodes carrying source offsets, used to point
 * errors at the offending key or value. One parser for both, linear in the text: a 10,000-step
 * pipeline parses in about 0.1 s (the `yaml` package's document API took over 1 s).
 *
 * @example
 * const { value, root, lines } = parseYamlTree(text); // throws YamlSyntaxError
 */
import { UNSAFE_KEYS } from '../safe-keys.js';
import { EVENT_ID, SCALAR_STYLE, constructFromEvents, getScalarValue, parseEvents, type Event } from 'js-yaml';

export interface YBase {
  /** Source offsets [start, end) (end is approximate for collections). */
  range: [number, number];
}
export interface YScalar extends YBase {
  kind: 'scalar';
  /** The decoded text of a scalar in key position (values are not decoded: not needed). */
  key?: string;
}
export interface YPair {
  key: YNode;
  value: YNode;
}
export interface YMap extends YBase {
  kind: 'map';
  items: YPair[];
}
export interface YSeq extends YBase {
  kind: 'seq';
  items: YNode[];
}
export interface YAlias extends YBase {
  kind: 'alias';
  /** The anchored node it refers to. */
  target: YNode | undefined;
}
export type YNode = YScalar | YMap | YSeq | YAlias;

/** A YAML syntax error (or duplicate key found by the parser) at an offset. */
export class YamlSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(reason);
    this.name = 'YamlSyntaxError';
  }
}

/** Offsets → 1-based line and column. */
export class LineIndex {
  /** Offset of the start of each line. */
  readonly lineStarts: number[] = [0];
  constructor(text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.lineStarts.push(i + 1);
  }
  linePos(offset: number): { line: number; col: number } {
    const a = this.lineStarts;
    let lo = 0;
    let hi = a.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (a[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - a[lo]! + 1 };
  }
}

/** A YAML size limit exceeded (alias expansion, nesting depth) at an offset; not a syntax error. */
export class YamlLimitError extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number,
    readonly end: number,
    readonly hint: string,
  ) {
    super(reason);
    this.name = 'YamlLimitError';
  }
}

/**
 * Bound on the nodes that aliases add when expanded (the expanded document's node count minus the
 * written one). An alias is shared when loaded, but every later pass that copies or walks `with`
 * (extends' deep merge, foreach substitution, zod) expands it: a 700-byte "billion laughs" bomb
 * inside a foreach step grew to 4 GB. Written pipelines use a few aliases; 1,000,000 extra nodes
 * is far above that and still walks in well under a second.
 */
export const MAX_ALIAS_EXPANSION = 1_000_000;


export interface YamlTree {
  /** The document as plain JavaScript (undefined for an empty document, or when keys repeat). */
  value: unknown;
  /** Repeated keys (when any, `value` is not constructed). */
  duplicates: Duplicate[];
  /** The root node (undefined for an empty document). */
  root: YNode | undefined;
  lines: LineIndex;
  /** Keys named `__proto__`, `constructor` or `prototype`, or `<<` (when any, `value` is not constructed). */
  badKeys: YScalar[];
}

/** Parses one YAML document; throws {@link YamlSyntaxError} with the offset of the problem. */
export function parseYamlTree(text: string, lines: LineIndex = new LineIndex(text)): YamlTree {
  let events: Event[];
  try {
    events = parseEvents(text, {});
  } catch (e) {
    throw toSyntaxError(e);
  }
  const docs = events.filter((e) => e.type === EVENT_ID.DOCUMENT).length;
  if (docs > 1) {
    // offset of the second document's start: after the first document's root closes
    throw new YamlSyntaxError('several YAML documents in one file (remove the `---` separators)', secondDocOffset(text));
  }
  const root = buildTree(events, text);
  // Repeated keys are reported by the loader itself (with both positions), before construction.
  const dups = duplicates(root);
  const badKeys = guardTree(root, text);
  let value: unknown;
  if (dups.length === 0 && badKeys.length === 0) {
    try {
      value = constructFromEvents(events, { source: text })[0];
    } catch (e) {
      throw toSyntaxError(e);
    }
  }
  return { value, duplicates: dups, root, lines, badKeys };
}

/**
 * One iterative pass (no recursion: a deeply nested document cannot overflow the stack) over the
 * node DAG: the node count after alias expansion (memoized per node, so a bomb is measured without
 * being expanded), aliases that refer to a node they are inside of, and keys that may not become
 * object keys. Throws {@link YamlLimitError} at the alias when expansion exceeds
 * {@link MAX_ALIAS_EXPANSION}; returns the bad keys.
 */
export function guardTree(root: YNode | undefined, text: string, maxExtra = MAX_ALIAS_EXPANSION): YScalar[] {
  const bad: YScalar[] = [];
  if (!root) return bad;
  const size = new Map<YNode, number>();
  const open = new Set<YNode>();
  let written = 0;
  let worst: { alias: YAlias; size: number } | undefined;
  const children = (n: YNode): YNode[] => (n.kind === 'map' ? n.items.flatMap((it) => [it.key, it.value]) : n.kind === 'seq' ? n.items : []);
  // post-order with an explicit stack: [node, expanded?]
  const stack: [YNode, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [n, ready] = stack.pop()!;
    if (n.kind === 'alias') {
      written++;
      const t = n.target;
      if (t && open.has(t)) {
        throw new YamlLimitError(`the alias ${text.slice(n.range[0], n.range[1])} refers to a node it is inside of (a recursive structure)`, n.range[0], n.range[1], 'an alias may only repeat a node defined before it, outside it');
      }
      // the target was defined (and measured) before the alias: anchors precede their aliases
      const s = t ? (size.get(t) ?? 1) : 1;
      size.set(n, s);
      if (!worst || s > worst.size) worst = { alias: n, size: s };
      continue;
    }
    if (!ready) {
      written++;
      if (n.kind === 'map') for (const it of n.items) if (it.key.kind === 'scalar' && it.key.key !== undefined && (UNSAFE_KEYS.has(it.key.key) || it.key.key === '<<')) bad.push(it.key);
      const cs = children(n);
      if (cs.length === 0) {
        size.set(n, 1);
        continue;
      }
      open.add(n);
      stack.push([n, true]);
      for (let i = cs.length - 1; i >= 0; i--) stack.push([cs[i]!, false]);
      continue;
    }
    open.delete(n);
    let s = 1;
    for (const c of children(n)) s += size.get(c) ?? 1;
    size.set(n, s);
  }
  const total = size.get(root) ?? written;
  if (total - written > maxExtra && worst) {
    const name = text.slice(worst.alias.range[0], worst.alias.range[1]);
    const fmt = (x: number) => (x >= 1e15 ? x.toExponential(1) : Math.round(x).toLocaleString('en-US'));
    throw new YamlLimitError(
      `YAML aliases expand the document from ${fmt(written)} to ${fmt(total)} nodes (the alias ${name} alone to ${fmt(worst.size)}); the limit is ${fmt(maxExtra)} added nodes`,
      worst.alias.range[0],
      worst.alias.range[1],
      'aliases that repeat aliases multiply (a "billion laughs" document); write the values out, or use `extends:` to share params between steps',
    );
  }
  return bad;
}

function toSyntaxError(e: unknown): YamlSyntaxError {
  const err = e as { reason?: string; message?: string; mark?: { position?: number } };
  return new YamlSyntaxError(err.reason ?? String(err.message ?? e), err.mark?.position ?? 0);
}

function secondDocOffset(text: string): number {
  const m = /^---/m.exec(text);
  if (!m) return 0;
  const again = /^---/m.exec(text.slice(m.index + 3));
  return again && text.slice(0, m.index).trim() === '' ? m.index + 3 + again.index : m.index;
}

interface Frame {
  node: YMap | YSeq;
  pendingKey: YNode | undefined;
}

function buildTree(events: Event[], text: string): YNode | undefined {
  const stack: Frame[] = [];
  const anchors = new Map<string, YNode>();
  let root: YNode | undefined;
  let lastEnd = 0;
  const add = (n: YNode): void => {
    const top = stack[stack.length - 1];
    if (!top) {
      root ??= n;
      return;
    }
    if (top.node.kind === 'seq') top.node.items.push(n);
    else if (top.pendingKey === undefined) top.pendingKey = n;
    else {
      top.node.items.push({ key: top.pendingKey, value: n });
      top.pendingKey = undefined;
    }
  };
  const anchor = (e: { anchorStart: number; anchorEnd: number }, n: YNode): void => {
    if (e.anchorStart >= 0) anchors.set(text.slice(e.anchorStart, e.anchorEnd), n);
  };
  for (const e of events) {
    switch (e.type) {
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        const n: YMap | YSeq = e.type === EVENT_ID.MAPPING ? { kind: 'map', items: [], range: [e.start, e.start + 1] } : { kind: 'seq', items: [], range: [e.start, e.start + 1] };
        anchor(e, n);
        add(n);
        stack.push({ node: n, pendingKey: undefined });
        lastEnd = e.start + 1;
        break;
      }
      case EVENT_ID.SCALAR: {
        const top = stack[stack.length - 1];
        const isKey = top?.node.kind === 'map' && top.pendingKey === undefined;
        // An empty (null) scalar has no offsets: place it just after what precedes it.
        // Quoted scalars: include the quotes (the event's offsets are the content's).
        const q = e.valueStart >= 0 && (e.style === SCALAR_STYLE.SINGLE_QUOTED || e.style === SCALAR_STYLE.DOUBLE_QUOTED) ? 1 : 0;
        const start = e.valueStart >= 0 ? e.valueStart - q : lastEnd;
        const end = e.valueStart >= 0 ? e.valueEnd + q : lastEnd;
        const n: YScalar = { kind: 'scalar', range: [start, end] };
        if (isKey) n.key = e.valueStart < 0 ? '' : e.style === SCALAR_STYLE.PLAIN ? text.slice(e.valueStart, e.valueEnd) : getScalarValue(text, e);
        anchor(e, n);
        add(n);
        lastEnd = end;
        break;
      }
      case EVENT_ID.ALIAS: {
        const n: YAlias = { kind: 'alias', range: [e.anchorStart - 1, e.anchorEnd], target: anchors.get(text.slice(e.anchorStart, e.anchorEnd)) };
        add(n);
        lastEnd = e.anchorEnd;
        break;
      }
      case EVENT_ID.POP: {
        const f = stack.pop();
        if (f) f.node.range[1] = Math.max(f.node.range[1], lastEnd);
        break;
      }
      default:
        break;
    }
  }
  return root;
}

/** A key repeated in one map: the repeated key node and the first one. */
export interface Duplicate {
  key: YNode;
  first: YNode;
  name: string;
  /** Path of the map (keys from the root). */
  path: string[];
}

interface PathLink {
  key: string;
  up: PathLink | undefined;
}

function pathOf(l: PathLink | undefined): string[] {
  const out: string[] = [];
  for (let x = l; x; x = x.up) out.push(x.key);
  return out.reverse();
}

/** Every repeated key of every map, in document order (linear time). */
export function duplicates(root: YNode | undefined): Duplicate[] {
  const out: Duplicate[] = [];
  walkDuplicates(root, undefined, out);
  return out;
}

function walkDuplicates(n: YNode | undefined, path: PathLink | undefined, out: Duplicate[]): void {
  if (!n) return;
  if (n.kind === 'map') {
    const items = n.items;
    // Small maps: compare directly; large ones (the steps map): a hash map.
    const seen = items.length > 8 ? new Map<string, YNode>() : undefined;
    for (let i = 0; i < items.length; i++) {
      const { key, value } = items[i]!;
      const k = key.kind === 'scalar' ? key.key : undefined;
      if (k !== undefined) {
        let first: YNode | undefined;
        if (seen) {
          first = seen.get(k);
          if (!first) seen.set(k, key);
        } else {
          for (let j = 0; j < i && !first; j++) {
            const o = items[j]!.key;
            if (o.kind === 'scalar' && o.key === k) first = o;
          }
        }
        if (first) out.push({ key, first, name: k, path: pathOf(path) });
      }
      if (value.kind === 'map' || value.kind === 'seq') walkDuplicates(value, { key: k ?? '?', up: path }, out);
    }
  } else if (n.kind === 'seq') {
    for (let i = 0; i < n.items.length; i++) {
      const it = n.items[i]!;
      if (it.kind === 'map' || it.kind === 'seq') walkDuplicates(it, { key: String(i), up: path }, out);
    }
  }
}
