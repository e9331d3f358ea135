/**
 * `--set ID.PARAM=VALUE` overrides: parsing and applying them to params.
 *
 * - ID is a step id, a foreach expansion (`by_region[east]`), or a foreach base id (`by_region`,
 *   which applies to every expansion). With `--inherit` (`inherit: true`), like an edit of the
 *   step's `with`, it also reaches the steps that `extends` it and do not set that param
 *   themselves (normalize.ts, inheritedBy).
 * - PARAM is a dot path into the params (`where.year.le`; `controls.0` indexes a list); missing
 *   intermediate maps are created.
 * - VALUE is parsed as YAML (`5` → number, `[a, b]` → list, `{le: 2019}` → map, `x` → string).
 *   An empty VALUE or `null` removes the param, so the step's default applies.
 *
 * @example
 * parseOverride('ingest.path=/data/yearbook.xlsx') // {id: 'ingest', param: 'path', value: '/data/yearbook.xlsx'}
 * parseOverride('by_region[east].where.year.le=2019')
 */
import { createRequire } from 'node:module';
import type { ParamOverride } from '../spec.js';
import { overrideError } from './errors.js';
import { isUnsafeKey, unsafeKeyMessage } from '../safe-keys.js';

const LHS = /^([A-Za-z_][A-Za-z0-9_-]*(?:\[[^\]]*\])?)\.([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)$/;

/** Parses one `ID.PARAM=VALUE` argument (throws ConfigError naming the argument). */
export function parseOverride(arg: string): ParamOverride {
  const eq = arg.indexOf('=');
  if (eq < 0) {
    throw overrideError(arg, 'expected ID.PARAM=VALUE', 'e.g. --set baseline.cluster=city');
  }
  const lhs = arg.slice(0, eq).trim();
  const rhs = arg.slice(eq + 1);
  const m = LHS.exec(lhs);
  if (!m) {
    throw overrideError(
      arg,
      `"${lhs}" is not ID.PARAM`,
      'write the step id, a dot, then the param (a dot path for nested params), e.g. by_region[east].where.year',
    );
  }
  const badSeg = m[2]!.split('.').find(isUnsafeKey);
  if (badSeg !== undefined) throw overrideError(arg, unsafeKeyMessage(badSeg, 'param path segment'), 'set the param by its own name');
  let value: unknown;
  try {
    value = rhs.trim() === '' ? null : yamlParse()(rhs);
  } catch (e) {
    throw overrideError(arg, `VALUE is not valid YAML: ${(e as { reason?: string }).reason ?? (e as Error).message.split('\n')[0]}`, 'quote it, e.g. --set \'a.b="x: y"\'');
  }
  const badKey = unsafeKeyIn(value);
  if (badKey !== undefined) throw overrideError(arg, unsafeKeyMessage(badKey, 'key in VALUE'), 'rename the key');
  return { id: m[1]!, param: m[2]!, value: value === undefined ? null : value, arg };
}

/** The first reserved key anywhere in a parsed VALUE (iterative walk). */
function unsafeKeyIn(v: unknown): string | undefined {
  const stack = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (Array.isArray(x)) stack.push(...x);
    else if (isPlainObject(x)) {
      for (const k of Object.getOwnPropertyNames(x)) {
        if (isUnsafeKey(k)) return k;
        stack.push(x[k]);
      }
    }
  }
  return undefined;
}

/** js-yaml's load (core schema, as for the pipeline file), loaded on first use. */
function yamlParse(): (text: string) => unknown {
  const jsYaml = createRequire(import.meta.url)('js-yaml') as typeof import('js-yaml');
  return (text) => jsYaml.load(text);
}

/**
 * Sets (or, for null, deletes) `dotPath` in `params`, copying the maps and lists on the way (no
 * aliasing). A numeric segment indexes a list (`controls.0`); missing maps are created.
 */
export function applyOverride(params: Record<string, unknown>, dotPath: string, value: unknown): Record<string, unknown> {
  return setIn(params, dotPath.split('.'), 0, value) as Record<string, unknown>;
}

function setIn(cur: unknown, keys: string[], i: number, value: unknown): unknown {
  const k = keys[i]!;
  const last = i === keys.length - 1;
  if (Array.isArray(cur) && /^\d+$/.test(k)) {
    const copy = [...cur];
    const idx = Number(k);
    if (!last) copy[idx] = setIn(copy[idx], keys, i + 1, value);
    else if (value === null) copy.splice(idx, 1);
    else copy[idx] = value;
    return copy;
  }
  const obj: Record<string, unknown> = isPlainObject(cur) ? { ...cur } : {};
  if (!last) obj[k] = setIn(obj[k], keys, i + 1, value);
  else if (value === null) delete obj[k];
  else obj[k] = value;
  return obj;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Human form of an override for messages: the original argument, or `ID.PARAM=VALUE`. */
export function overrideLabel(o: ParamOverride): string {
  return o.arg ?? `${o.id}.${o.param}=${JSON.stringify(o.value)}`;
}
