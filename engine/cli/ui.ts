/**
 * Terminal output helpers: status colours (chalk), aligned node lines, durations, and progress
 * bars with rate and ETA on stderr (redrawn in place on a TTY; on a pipe, one line at most every
 * 2 s per node).
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

/** Widths of the id (≥ 12, at most 40) and kind (≥ 10) columns of {@link nodeLine}s for these nodes. */
export function columnWidths(nodes: readonly { id: string; kind: string }[]): { idw: number; kindw: number } {
  let idw = 12;
  let kindw = 10;
  for (const n of nodes) {
    idw = Math.max(idw, Math.min(40, n.id.length));
    kindw = Math.max(kindw, n.kind.length);
  }
  return { idw, kindw };
}

/** `pipeline (variant V): 2 ran, 57 cached (3 from the remote), 0 failed, 0 skipped in 1.20 s (run #17)`, the run number dim. */
export function runSummary(
  c: Pick<ChalkInstance, 'dim'>,
  r: { pipeline: string; variant?: string; counts: Record<'ran' | 'cached' | 'failed' | 'skipped', number>; fromRemote?: number; ms: number; runId?: number },
): string {
  const { ran, cached, failed, skipped } = r.counts;
  const parts = [`${ran} ran`, `${cached} cached${r.fromRemote ? ` (${r.fromRemote} from the remote)` : ''}`, `${failed} failed`, `${skipped} skipped`];
  return `${r.pipeline}${r.variant !== undefined ? ` (variant ${r.variant})` : ''}: ${parts.join(', ')} in ${fmtMs(r.ms)}${r.runId !== undefined ? c.dim(` (run #${r.runId})`) : ''}`;
}

/** Exit with `code` once stdout and stderr are flushed, even if a stray handle remains (the CLI's entries). */
export function exitFlushed(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
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

/** Where a {@link ProgressBar} draws, and its clock (tests inject both). */
export interface BarOptions {
  stream?: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  now?: () => number;
}

/** `1234` → `1.2k`, for counts and rates in a bar. */
function fmtCount(n: number): string {
  if (n < 1000) return Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 1 : 0);
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)}k`;
  return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)}M`;
}

/** Seconds as `12 s`, `3 m 05 s`, `1 h 02 m`. */
export function fmtEta(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} m`;
}

/**
 * Progress bars for running steps, drawn on stderr: per node its label, a bar, percent, done/total,
 * the rate (units per second since the phase began) and the ETA (remaining / rate). A new phase
 * (label or total changes, e.g. match's "propensity score" then "matching") restarts the rate.
 * On a TTY the bars are redrawn in place (at most every 80 ms); on a pipe a node prints one line
 * at most every 2 s, the first after 2 s (quick steps print nothing).
 */
export class ProgressBar {
  private state = new Map<string, { done: number; total: number; label?: string; lastPrint: number; t0: number; done0: number; now: number }>();
  private lastDraw = 0;
  private drawn = false;
  private readonly stream: NonNullable<BarOptions['stream']>;
  private readonly tty: boolean;
  private readonly now: () => number;

  constructor(
    private readonly c: ChalkInstance,
    o: BarOptions = {},
  ) {
    this.stream = o.stream ?? process.stderr;
    this.tty = !!this.stream.isTTY;
    this.now = o.now ?? Date.now;
  }

  update(id: string, done: number, total: number, label?: string): void {
    const now = this.now();
    const prev = this.state.get(id);
    const samePhase = prev !== undefined && prev.total === total && prev.label === label && done >= prev.done;
    const s = {
      done,
      total,
      lastPrint: prev?.lastPrint ?? now,
      t0: samePhase ? prev.t0 : now,
      done0: samePhase ? prev.done0 : done,
      now,
      ...(label !== undefined ? { label } : {}),
    };
    this.state.set(id, s);
    if (this.tty) {
      if (now - this.lastDraw >= 80 || done >= total) this.draw();
    } else if (now - s.lastPrint >= 2000) {
      s.lastPrint = now;
      this.stream.write(`  … ${id}: ${this.text(s)}\n`);
    }
  }

  /** A node finished: drop its bar. */
  finish(id: string): void {
    if (this.state.delete(id) && this.tty) this.draw();
  }

  /** Remove the bar before printing a line on stdout/stderr. */
  clear(): void {
    if (this.tty && this.drawn) {
      this.stream.write('\r\x1b[K');
      this.drawn = false;
    }
  }

  /** Redraw after printing. */
  redraw(): void {
    if (this.tty && this.state.size) this.draw();
  }

  /** `label 42% 420/1.0k 210/s ETA 3 s` (percent, count and rate only when they mean something). */
  private text(s: { done: number; total: number; label?: string; t0: number; done0: number; now: number }): string {
    const parts: string[] = [];
    if (s.label) parts.push(s.label);
    if (s.total > 0) parts.push(`${Math.min(100, Math.floor((100 * s.done) / s.total))}%`, `${fmtCount(s.done)}/${fmtCount(s.total)}`);
    else parts.push(fmtCount(s.done));
    const sec = (s.now - s.t0) / 1000;
    const rate = sec >= 0.5 ? (s.done - s.done0) / sec : 0;
    if (rate > 0) {
      parts.push(`${fmtCount(rate)}/s`);
      if (s.total > s.done) parts.push(`ETA ${fmtEta((s.total - s.done) / rate)}`);
    }
    return parts.join(' ');
  }

  private draw(): void {
    this.lastDraw = this.now();
    const parts: string[] = [];
    for (const [id, s] of this.state) {
      const w = 20;
      const f = s.total > 0 ? Math.min(w, Math.round((w * s.done) / s.total)) : 0;
      parts.push(`${id} ${this.c.cyan('█'.repeat(f))}${this.c.dim('░'.repeat(w - f))} ${this.text(s)}`);
    }
    const cols = this.stream.columns || 100;
    let line = parts.join('  ');
    // eslint-disable-next-line no-control-regex
    if (line.replace(/\x1b\[[0-9;]*m/g, '').length > cols - 1) line = parts[0] ?? '';
    this.stream.write(`\r\x1b[K${line}`);
    this.drawn = true;
  }
}
