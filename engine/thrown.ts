/**
 * Errors for the executor's messages: what a step threw, made printable, and the engine's own
 * contract errors (a step returned something it did not declare, an input that was not
 * produced), which carry no stack: the engine's stack would point at the engine, not at the step.
 *
 * @example
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
