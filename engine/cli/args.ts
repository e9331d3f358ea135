/**
 * Argument parsing for `repro` commands: node:util `parseArgs` (strict: unknown options and
 * missing values are usage errors, exit 2), with repeatable flags collected in order, and the
 * options every command has: `--help`/`-h` (prints the command's help on stdout) and `--no-color`.
 *
 * @example
 * const p = parseArgs(argv, { values: ['jobs'], repeat: ['set'], bools: ['json'] }, 'run');
 * p.values.jobs; p.lists.set; p.bools.has('json'); p.positionals;
 */
import { parseArgs as utilParseArgs } from 'node:util';
import { UsageError } from '../errors.js';

export interface FlagSpec {
  /** Flags that take one value (`--jobs 4`, `--jobs=4`). */
  values?: string[];
  /** Flags that take a value and may repeat (`--set a=1 --set b=2`), collected in order. */
  repeat?: string[];
  /** Boolean flags. */
  bools?: string[];
}

export interface Parsed {
  positionals: string[];
  values: Record<string, string>;
  lists: Record<string, string[]>;
  /** Boolean flags given, including `help` and `no-color`. */
  bools: Set<string>;
}

/** Options every command takes. */
const COMMON = ['help', 'no-color'];

export function parseArgs(argv: string[], spec: FlagSpec, command: string): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const v of spec.values ?? []) options[v] = { type: 'string' };
  for (const r of spec.repeat ?? []) options[r] = { type: 'string', multiple: true };
  for (const b of [...(spec.bools ?? []), ...COMMON]) options[b] = { type: 'boolean' };
  options.help = { type: 'boolean', short: 'h' };
  const known = Object.keys(options).map((f) => `--${f}`);
  let parsed: ReturnType<typeof utilParseArgs>;
  try {
    parsed = utilParseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    const flag = /'(-[^' ]+)/.exec(err.message)?.[1] ?? '';
    const name = flag.replace(/^-+/, '');
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`repro ${command}: unknown option ${flag} (options: ${known.join(', ')})`);
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      if (options[name]?.type === 'boolean') throw new UsageError(`repro ${command}: --${name} takes no value`);
      throw new UsageError(`repro ${command}: --${name} needs a value`);
    }
    throw new UsageError(`repro ${command}: ${err.message}`);
  }
  const out: Parsed = { positionals: parsed.positionals, values: {}, lists: {}, bools: new Set() };
  for (const [k, v] of Object.entries(parsed.values)) {
    if (v === undefined) continue;
    if (typeof v === 'boolean') {
      if (v) out.bools.add(k);
    } else if (Array.isArray(v)) {
      const vals = v.filter((x): x is string => typeof x === 'string');
      for (const x of vals) if (x.startsWith('--') && x.length > 2) throw new UsageError(`repro ${command}: --${k} needs a value`);
      out.lists[k] = vals;
    } else {
      if (v.startsWith('--') && v.length > 2) throw new UsageError(`repro ${command}: --${k} needs a value`);
      out.values[k] = v;
    }
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

/**
 * `--variant NAME` of `repro run`, validated (a safe path component: it names `results/variants/NAME/`).
 * Undefined when not given.
 */
export async function variantFlag(p: Parsed, command: string): Promise<string | undefined> {
  const v = p.values.variant;
  if (v === undefined) return undefined;
  const { variantNameProblem } = await import('../publish.js');
  const problem = variantNameProblem(v);
  if (problem !== undefined) throw new UsageError(`repro ${command}: --variant ${problem}`);
  return v;
}
