/**
 * Positions in the YAML text: turning YAML nodes into positioned {@link ConfigError}s, and finding
 * the node at a path (a key path through maps and sequences).
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { ConfigError } from './errors.js';

/** A YAML key or value node, or a raw offset range. */
export type Where = Node | { range: [number, number] } | null | undefined;

/** The YAML text of one pipeline file, able to turn nodes and offsets into positioned errors. */
export class Source {
  constructor(
    readonly file: string,
    readonly text: string,
    readonly lc: LineCounter,
  ) {}

  /** An error at `where` (a YAML node or offset range); falls back to line 1 col 1. */
  error(where: Where, message: string, hint?: string): ConfigError {
    const range = where && (where as { range?: unknown }).range;
    const start = Array.isArray(range) ? (range[0] as number) : 0;
    const end = Array.isArray(range) ? (range[1] as number) : start + 1;
    return this.errorAt(start, end, message, hint);
  }

  /** An error at an offset range of the text. */
  errorAt(start: number, end: number, message: string, hint?: string): ConfigError {
    const { line, col } = this.lc.linePos(start);
    const ls = this.lc.lineStarts[line - 1] ?? 0;
    let le = this.text.indexOf('\n', ls);
    if (le < 0) le = this.text.length;
    let sourceLine = this.text.slice(ls, le);
    if (sourceLine.endsWith('\r')) sourceLine = sourceLine.slice(0, -1);
    const length = Math.max(1, Math.min(end, ls + sourceLine.length) - start);
    return new ConfigError({
      file: this.file,
      line,
      col,
      message,
      ...(hint !== undefined ? { hint } : {}),
      sourceLine,
      length,
    });
  }
}

/**
 * Walks `path` from `root` through maps and sequences and returns the deepest node reached:
 * `key` is the key node of the last map entry matched (undefined for sequence items / the root),
 * `value` its value node, `depth` how many path segments matched.
 */
export function locate(
  doc: Document | null,
  root: Node | null | undefined,
  p: readonly PropertyKey[],
): { key?: Node; value?: Node; depth: number } {
  let cur: Node | null | undefined = root;
  let key: Node | undefined;
  let depth = 0;
  for (const seg of p) {
    if (cur && isAlias(cur) && doc) cur = cur.resolve(doc) as Node | undefined;
    if (isMap(cur)) {
      const pair = cur.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(seg));
      if (!pair) break;
      key = pair.key as Node;
      cur = (pair.value as Node | null) ?? undefined;
      depth++;
      if (!cur) return { key, depth };
    } else if (isSeq(cur) && typeof seg === 'number') {
      const item = cur.items[seg] as Node | undefined;
      if (!item) break;
      key = undefined;
      cur = item;
      depth++;
    } else break;
  }
  return { ...(key ? { key } : {}), ...(cur ? { value: cur } : {}), depth };
}

