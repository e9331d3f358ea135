/**
 * The engine's error classes and helpers, in one place:
 * - {@link StepError}: a step's failure in words meant for the user (no stack printed). The engine
 *   names the node in front of it (`baseline (estimate) failed: …`), so messages do not.
 * - {@link UsageError}: a bad command line or target (exit 2, nothing runs).
 * - {@link CorruptObjectError}: a store object whose bytes do not match its name, or that vanished.
 * - {@link contractError}: the engine's own words about a broken contract (no stack).
 * - {@link asError}: any thrown value as a printable Error.
 * Pipeline validation errors with file:line:col are config/errors.ts's ConfigError.
 *
 * @example
 * throw new StepError(`column "so2" not found; columns are: ${names.join(', ')}`);
 * asError({ code: 42 }).message; // 'threw a non-Error value: { code: 42 }'
 */
import { inspect } from 'node:util';

/** An Error for any thrown value: Errors as they are; anything else described, without a stack. */
export function asError(v: unknown): Error {
  if (v instanceof Error) return v;
  // an Error from another realm (vm, worker) or a duck-typed one keeps its name and message
  if (v !== null && typeof v === 'object' && typeof (v as Error).message === 'string' && typeof (v as Error).name === 'string' && typeof (v as Error).stack === 'string') {
    const e = new Error((v as Error).message);
    e.name = (v as Error).name;
    e.stack = (v as Error).stack;
    return e;
  }
  const e = new Error(`threw a non-Error value: ${typeof v === 'string' ? JSON.stringify(v) : inspect(v, { depth: 2, breakLength: Infinity })}`);
  delete e.stack;
  return e;
}

/** An error in the engine's words about a broken contract: printed without a stack. */
export function contractError(message: string): Error {
  const e = new Error(message);
  delete e.stack;
  return e;
}

/**
 * A step's failure with a message meant for the user: it should name the file, row/column or
 * param at fault and say how to fix it. The engine prints it as is after the node's name, without
 * a stack trace.
 */
export class StepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepError';
  }
}

/** A usage error (unknown target id, bad flag…): exit code 2, nothing runs. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A store object whose bytes do not match its name (or that vanished). */
export class CorruptObjectError extends Error {
  constructor(
    readonly hash: string,
    readonly reason: 'missing' | 'corrupt',
  ) {
    super(`store object ${hash.slice(0, 12)}… is ${reason}`);
    this.name = 'CorruptObjectError';
  }
}

/** A remote cache object whose bytes do not hash to its name (poisoned or truncated): rejected, never used. */
export class RemoteObjectError extends Error {
  constructor(
    readonly hash: string,
    readonly got: string,
    readonly size: number,
  ) {
    super(`remote cache object ${hash.slice(0, 12)}… failed verification (its ${size} bytes hash to ${got.slice(0, 12)}…)`);
    this.name = 'RemoteObjectError';
  }
}
