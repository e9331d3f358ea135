/**
 * A small argv parser for `repro` (no dependency, nothing to load at start-up): positionals,
 * boolean flags, and value flags (`--jobs 4`, `--jobs=4`, repeatable ones collected in order).
 */
import { UsageError } from '../graph.js';

export interface FlagSpec {
  /** Flags that take a value; repeatable ones collect into arrays. */
  values?: string[];
  repeat?: string[];
  /** Boolean flags. */
  bools?: string[];
}

export interface Parsed {
  positionals: string[];
  values: Record<string, string>;
  lists: Record<string, string[]>;
  bools: Set<string>;
}

export function parseArgs(argv: string[], spec: FlagSpec, command: string): Parsed {
  const out: Parsed = { positionals: [], values: {}, lists: {}, bools: new Set() };
  const values = new Set(spec.values ?? []);
  const repeat = new Set(spec.repeat ?? []);
  const bools = new Set(spec.bools ?? []);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--') || a === '-') {
      if (a.startsWith('-') && a.length > 1) throw new UsageError(`repro ${command}: unknown option ${a}`);
      out.positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (bools.has(name)) {
      if (eq > 0) throw new UsageError(`repro ${command}: --${name} takes no value`);
      out.bools.add(name);
      continue;
    }
    if (values.has(name) || repeat.has(name)) {
      let v: string | undefined;
      if (eq > 0) v = a.slice(eq + 1);
      else {
        v = argv[i + 1];
        if (v === undefined || (v.startsWith('--') && v.length > 2)) throw new UsageError(`repro ${command}: --${name} needs a value`);
        i++;
      }
      if (repeat.has(name)) (out.lists[name] ??= []).push(v);
      else out.values[name] = v;
      continue;
    }
    const known = [...bools, ...values, ...repeat].map((f) => `--${f}`).join(', ');
    throw new UsageError(`repro ${command}: unknown option --${name} (options: ${known || 'none'})`);
  }
  return out;
}

/** A positive integer flag value. */
export function intFlag(p: Parsed, name: string, command: string, min = 1): number | undefined {
  const v = p.values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`repro ${command}: --${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}
