/**
 * Configuration errors with positions, and the helpers that find a YAML node's position.
 *
 * Every invalid pipeline is reported as a {@link ConfigError} (or a {@link ConfigErrors} aggregate,
 * which is itself a ConfigError describing the first problem) carrying `file:line:col`, the
 * offending source line and a hint of the fix. `format()` prints it wireit-style:
 *
 * ```
 * pipeline.yaml:12:5 error: unknown step kind "estimat"
 *    12 |     kind: estimat
 *       |           ^^^^^^^
 *   hint: did you mean "estimate"?
 * ```
 *
 * This module does not import `yaml` or `zod` (see source.ts for positions), so that code which
 * only needs ConfigError or parseOverride stays light.
 */
import path from 'node:path';

export interface ConfigErrorInit {
  /** Absolute path of the YAML, or a pseudo-file such as `--set a.b=1` (then line = col = 0). */
  file: string;
  /** 1-based line; 0 when the error has no position in a file. */
  line: number;
  /** 1-based column; 0 when the error has no position in a file. */
  col: number;
  message: string;
  /** How to fix it (one line). */
  hint?: string;
  /** The text of the offending line (without newline). */
  sourceLine?: string;
  /** Width of the caret underline (>= 1). */
  length?: number;
}

/** An invalid pipeline (or `--set` argument): exit code 2, nothing runs. */
export class ConfigError extends Error {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly hint?: string;
  readonly sourceLine?: string;
  readonly length: number;
  /** All problems found (just this one for a single error). */
  readonly errors: ConfigError[];

  constructor(init: ConfigErrorInit) {
    super(init.message);
    this.name = 'ConfigError';
    this.file = init.file;
    this.line = init.line;
    this.col = init.col;
    if (init.hint !== undefined) this.hint = init.hint;
    if (init.sourceLine !== undefined) this.sourceLine = init.sourceLine;
    this.length = Math.max(1, init.length ?? 1);
    this.errors = [this];
  }

  /** `pipeline.yaml:12:5` (file relative to `cwd` when inside it). */
  where(cwd: string = process.cwd()): string {
    const rel = path.isAbsolute(this.file) ? path.relative(cwd, this.file) : this.file;
    const shown = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : this.file;
    return this.line > 0 ? `${shown}:${this.line}:${this.col}` : shown;
  }

  /** Human-readable report: position, message, the source line with a caret, and the hint. */
  format(cwd?: string): string {
    const out = [`${this.where(cwd)} error: ${this.message}`];
    if (this.line > 0 && this.sourceLine !== undefined) {
      const num = String(this.line);
      const pad = ' '.repeat(num.length);
      const text = this.sourceLine.replace(/\t/g, ' ');
      const width = Math.max(1, Math.min(this.length, text.length - (this.col - 1)));
      out.push(`  ${num} | ${text}`);
      out.push(`  ${pad} | ${' '.repeat(Math.max(0, this.col - 1))}${'^'.repeat(width)}`);
    }
    if (this.hint) out.push(`  hint: ${this.hint}`);
    return out.join('\n');
  }
}

/** Several problems at once; behaves as the first one, `errors` lists all (sorted by position). */
export class ConfigErrors extends ConfigError {
  override readonly errors: ConfigError[];
  constructor(errors: ConfigError[]) {
    const first = errors[0];
    if (!first) throw new Error('ConfigErrors: needs at least one error');
    super({
      file: first.file,
      line: first.line,
      col: first.col,
      message: first.message,
      ...(first.hint !== undefined ? { hint: first.hint } : {}),
      ...(first.sourceLine !== undefined ? { sourceLine: first.sourceLine } : {}),
      length: first.length,
    });
    this.name = 'ConfigErrors';
    this.errors = errors;
  }

  override format(cwd?: string): string {
    const body = this.errors.map((e) => e.format(cwd)).join('\n\n');
    return this.errors.length > 1 ? `${body}\n\n${this.errors.length} errors` : body;
  }
}

/** Throws the collected errors (sorted by file position, stable) if there are any. */
export function throwIfAny(errors: ConfigError[]): void {
  if (errors.length === 0) return;
  // one error per location and message: foreach expansions share their YAML (a `${typo}` in a
  // step with 3 expansions is one mistake, reported once)
  const seen = new Set<string>();
  const unique = errors.filter((e) => {
    const k = `${e.file}\0${e.line}\0${e.col}\0${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const sorted = unique
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.line - b.e.line || a.e.col - b.e.col || a.i - b.i)
    .map((x) => x.e);
  throw sorted.length === 1 ? sorted[0]! : new ConfigErrors(sorted);
}

/** An error raised by a `--set` argument (no file position). */
export function overrideError(arg: string, message: string, hint?: string): ConfigError {
  return new ConfigError({ file: `--set ${arg}`, line: 0, col: 0, message, ...(hint !== undefined ? { hint } : {}) });
}

/** Closest candidates to `name` (Levenshtein distance <= max(1, len/3)), best first. */
export function suggest(name: string, candidates: Iterable<string>): string[] {
  const limit = name.length <= 2 ? 1 : Math.max(2, Math.floor(name.length / 3));
  const scored: { c: string; d: number }[] = [];
  for (const c of candidates) {
    const d = distance(name.toLowerCase(), c.toLowerCase());
    if (d <= limit && d < name.length) scored.push({ c, d });
  }
  return scored.sort((a, b) => a.d - b.d).slice(0, 3).map((s) => s.c);
}

/** "did you mean "x"?" or a list of the allowed names. */
export function didYouMean(name: string, candidates: readonly string[], what: string): string {
  const s = suggest(name, candidates);
  if (s.length > 0) return `did you mean ${s.map((x) => `"${x}"`).join(' or ')}?`;
  const shown = candidates.slice(0, 12).join(', ') + (candidates.length > 12 ? ', …' : '');
  return candidates.length ? `${what}: ${shown}` : `there are no ${what}`;
}

function distance(a: string, b: string): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > 3) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
