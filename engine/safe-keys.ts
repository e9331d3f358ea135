/**
 * Names that may not become object keys: `__proto__` (assigning it replaces an object's prototype,
 * or is silently ignored), `constructor` and `prototype` (present on every object through its
 * prototype, so `name in obj` and `obj[name]` find them although the user never wrote them). The
 * pipeline loader rejects them as YAML keys (step ids, params, derive names, where/with keys,
 * foreach variables) and in `--set` paths; ingest rejects them as column names.
 *
 * @example
 * if (isUnsafeKey(name)) throw new StepError(unsafeKeyMessage(name, 'column name'));
 */
export const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export const isUnsafeKey = (k: string): boolean => UNSAFE_KEYS.has(k);

/** `"__proto__" cannot be used as a <what>: …` */
export function unsafeKeyMessage(k: string, what: string): string {
  return `"${k}" cannot be used as a ${what}: it is special in JavaScript objects (${[...UNSAFE_KEYS].join(', ')} are reserved)`;
}
