/**
 * Terminal output helpers: status colours (chalk), aligned node lines, durations, and a progress
 * bar on stderr (redrawn in place on a TTY; on a pipe, one line at most every 2 s per node).
 */
import type { ChalkInstance } from 'chalk';

export interface Ui {
  c: ChalkInstance;
  out(line: string): void;
  err(line: string): void;
}

/** Colour unless NO_COLOR is set (non-empty; `--no-color` sets it) — https://no-color.org — or chalk finds no colour support. */
export async function makeUi(): Promise<Ui> {
  const { default: chalk, Chalk } = await import('chalk');
  const c = process.env.NO_COLOR ? new Chalk({ level: 0 }) : chalk;
  return {
    c,
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
  };
}

export type Status = 'ran' | 'cached' | 'failed' | 'skipped' | 'stale' | 'pending';

export function paintStatus(c: ChalkInstance, s: Status, text: string): string {
  switch (s) {
    case 'ran':
      return c.blue(text);
    case 'cached':
      return c.green(text);
    case 'failed':
      return c.red.bold(text);
    case 'skipped':
      return c.gray(text);
    case 'stale':
      return c.yellow(text);
    case 'pending':
      return c.yellow.dim(text);
  }
}

const MARK: Record<Status, string> = { ran: '✓', cached: '·', failed: '✗', skipped: '-', stale: '●', pending: '○' };

/** `  ✓ ran      ingest   ingest   123 ms  never run` */
export function nodeLine(c: ChalkInstance, s: Status, id: string, kind: string, ms: number | null, reason: string, idw: number, kindw: number): string {
  const head = paintStatus(c, s, `${MARK[s]} ${s.padEnd(7)}`);
  const dur = ms === null ? ''.padStart(9) : fmtMs(ms).padStart(9);
  return `  ${head} ${c.bold(id.padEnd(idw))}  ${c.dim(kind.padEnd(kindw))} ${c.dim(dur)}  ${reason}`;
}

export function fmtMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.floor(ms / 60000)} m ${Math.round((ms % 60000) / 1000)} s`;
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** Progress bars for running steps, drawn on stderr. */
export class ProgressBar {
  private state = new Map<string, { done: number; total: number; label?: string; lastPrint: number }>();
  private lastDraw = 0;
  private drawn = false;
  private readonly tty = !!process.stderr.isTTY;

  constructor(private readonly c: ChalkInstance) {}

  update(id: string, done: number, total: number, label?: string): void {
    const now = Date.now();
    const prev = this.state.get(id);
    // on a pipe, the first line comes after 2 s of progress (quick steps print nothing)
    const s = { done, total, lastPrint: prev?.lastPrint ?? now, ...(label !== undefined ? { label } : {}) };
    this.state.set(id, s);
    if (this.tty) {
      if (now - this.lastDraw >= 80 || done >= total) this.draw();
    } else if (now - s.lastPrint >= 2000) {
      s.lastPrint = now;
      process.stderr.write(`  … ${id}: ${this.pct(done, total)}${label ? ` ${label}` : ''}\n`);
    }
  }

  /** A node finished: drop its bar. */
  finish(id: string): void {
    if (this.state.delete(id) && this.tty) this.draw();
  }

  /** Remove the bar before printing a line on stdout/stderr. */
  clear(): void {
    if (this.tty && this.drawn) {
      process.stderr.write('\r\x1b[K');
      this.drawn = false;
    }
  }

  /** Redraw after printing. */
  redraw(): void {
    if (this.tty && this.state.size) this.draw();
  }

  private pct(done: number, total: number): string {
    return total > 0 ? `${Math.min(100, Math.floor((100 * done) / total))}%` : `${done}`;
  }

  private draw(): void {
    this.lastDraw = Date.now();
    const parts: string[] = [];
    for (const [id, s] of this.state) {
      const w = 20;
      const f = s.total > 0 ? Math.min(w, Math.round((w * s.done) / s.total)) : 0;
      parts.push(`${id} ${this.c.cyan('█'.repeat(f))}${this.c.dim('░'.repeat(w - f))} ${this.pct(s.done, s.total)}${s.label ? ` ${s.label}` : ''}`);
    }
    const cols = process.stderr.columns || 100;
    let line = parts.join('  ');
    // eslint-disable-next-line no-control-regex
    if (line.replace(/\x1b\[[0-9;]*m/g, '').length > cols - 1) line = parts[0] ?? '';
    process.stderr.write(`\r\x1b[K${line}`);
    this.drawn = true;
  }
}
