/**
 * Positions in the YAML text: turning YAML nodes into positioned {@link ConfigError}s, and finding
 * the node at a path (a key path through maps and sequences).
 */
import { ConfigError } from './errors.js';
import type { LineIndex, YNode } from './yaml-tree.js';

/** A YAML key or value node, or a raw offset range. */
export type Where = { range: [number, number] } | null | undefined;

/** The YAML text of one pipeline file, able to turn nodes and offsets into positioned errors. */
export class Source {
  constructor(
    readonly file: string,
    readonly text: string,
    readonly lines: LineIndex,
  ) {}

  /** An error at `where` (a YAML node or offset range); falls back to line 1 col 1. */
  error(where: Where, message: string, hint?: string): ConfigError {
    const start = where ? where.range[0] : 0;
    const end = where ? where.range[1] : start + 1;
    return this.errorAt(start, end, message, hint);
  }

  /** An error at an offset range of the text. */
  errorAt(start: number, end: number, message: string, hint?: string): ConfigError {
    const { line, col } = this.lines.linePos(start);
    const ls = this.lines.lineStarts[line - 1] ?? 0;
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

  /** 1-based line and column of a node's start. */
  pos(n: YNode): { line: number; col: number } {
    return this.lines.linePos(n.range[0]);
  }
}

/**
 * Walks `path` from `root` through maps and sequences and returns the deepest node reached:
 * `key` is the key node of the last map entry matched (undefined for sequence items / the root),
 * `value` its value node, `depth` how many path segments matched.
 */
export function locate(root: YNode | null | undefined, p: readonly PropertyKey[]): { key?: YNode; value?: YNode; depth: number } {
  let cur: YNode | undefined = root ?? undefined;
  let key: YNode | undefined;
  let depth = 0;
  for (const seg of p) {
    if (cur?.kind === 'alias') cur = cur.target;
    if (cur?.kind === 'map') {
      const s = String(seg);
      let pair;
      for (const it of cur.items) if (it.key.kind === 'scalar' && it.key.key === s) pair = it;
      if (!pair) break;
      key = pair.key;
      cur = pair.value;
      depth++;
    } else if (cur?.kind === 'seq' && typeof seg === 'number') {
      const item = cur.items[seg];
      if (!item) break;
      key = undefined;
      cur = item;
      depth++;
    } else break;
  }
  return { ...(key ? { key } : {}), ...(cur ? { value: cur } : {}), depth };
}
