/**
 * Issue 9, items 6, 7, 13 and 14 (config part): resource bombs in the pipeline YAML end fast with a
 * positioned error; reserved object keys are rejected wherever a user key becomes an object key;
 * misleading messages (merge key, an unknown foreach variable reported once per expansion).
 */
import { describe, expect, test } from 'vitest';
import { ConfigError, ConfigErrors, parseOverride, parsePipeline } from '../../../engine/config/load.js';
import { applyOverride } from '../../../engine/config/overrides.js';
import { toyRegistry } from './toy-steps.js';

const FILE = '/proj/pipeline.yaml';
const y = (...l: string[]) => `${l.join('\n')}\n`;
const load = (text: string, sets: string[] = []) => parsePipeline(text, FILE, { registry: toyRegistry(), overrides: sets.map(parseOverride) });
async function errorOf(text: string, sets: string[] = []): Promise<ConfigError> {
  try {
    await load(text, sets);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError, but the pipeline loaded');
}
const src = ['steps:', '  a:', '    kind: source', '    with: {path: x}'];

// nine levels of ten: 10^9 nodes when expanded, 700 bytes written
const bomb = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map((k, i, ks) =>
  i === 0 ? `        a: &a [x, x, x, x, x, x, x, x, x, x]` : `        ${k}: &${k} [${Array(10).fill(`*${ks[i - 1]}`).join(', ')}]`,
);

describe('item 6: YAML alias bombs', () => {
  test('inside a foreach step: an error at the alias, in well under a second', async () => {
    const t0 = Date.now();
    const e = await errorOf(y(...src, '  b:', '    kind: transform', '    in: a', '    foreach: {v: [1, 2]}', '    with:', '      where:', ...bomb));
    expect(Date.now() - t0).toBeLessThan(2000);
    // written: 135 nodes; expanded: the sequences a..i hold 11, 111, …, 1,111,111,111 nodes
    expect(e.message).toBe('YAML aliases expand the document from 135 to 1,234,567,935 nodes (the alias *h alone to 111,111,111); the limit is 1,000,000 added nodes');
    expect([e.line, e.col]).toEqual([19, 16]); // the first *h, on the i: line
    expect(e.hint).toMatch(/billion laughs/);
  });
  test('inside an extends parent and in a plain step alike', async () => {
    const e1 = await errorOf(y(...src, '  b:', '    kind: transform', '    in: a', '    with:', '      where:', ...bomb, '  c:', '    extends: b', '    foreach: {v: [1, 2]}'));
    expect(e1.message).toMatch(/^YAML aliases expand/);
  });
  test('an alias inside the node it names is an error, not a recursive structure', async () => {
    const e = await errorOf(y('steps:', '  a: &r', '    kind: source', '    with: {path: x, rows: *r}'));
    expect(e.message).toBe('the alias *r refers to a node it is inside of (a recursive structure)');
    expect([e.line, e.col]).toEqual([4, 27]);
  });
  test('ordinary aliases still load', async () => {
    const s = await load(y('steps:', '  a:', '    kind: source', '    with: {path: &p x}', '  b:', '    kind: source', '    with: {path: *p}'));
    expect(s.nodes.map((n) => n.params.path)).toEqual(['x', 'x']);
  });
});

describe('item 7: foreach products are bounded', () => {
  const l = Array.from({ length: 100 }, (_, i) => i).join(', ');
  test('100 × 100 × 100: an error at the foreach line naming the product and the limit, fast', async () => {
    const t0 = Date.now();
    const e = await errorOf(y(...src, '  b:', '    kind: transform', '    in: a', `    foreach: {u: [${l}], v: [${l}], w: [${l}]}`));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(e.message).toBe('foreach expands step "b" to 1,000,000 nodes (u: 100 × v: 100 × w: 100); the limit is 10,000 nodes');
    expect([e.line, e.col]).toEqual([8, 5]);
    expect(e.hint).toMatch(/foreach_limit: N/);
  });
  test('the limit counts all foreach steps together, and inherited foreach points at extends', async () => {
    const e = await errorOf(y('foreach_limit: 150', ...src, '  b:', '    kind: transform', '    in: a', `    foreach: {u: [${l}]}`, '  c:', '    extends: b'));
    expect(e.message).toBe('foreach (inherited through extends) expands step "c" to 100 nodes (u: 100), after 100 from earlier foreach steps; the limit is 150 nodes');
    expect(e.line).toBe(11);
  });
  test('top-level foreach_limit raises it', async () => {
    const s = await load(y('foreach_limit: 20000', ...src, '  b:', '    kind: transform', '    in: a', `    foreach: {u: [${l}], v: [${l}]}`));
    expect(s.nodes.length).toBe(10001);
  });
});

describe('item 13: __proto__, constructor, prototype are rejected where keys become object keys', () => {
  for (const k of ['__proto__', 'constructor', 'prototype']) {
    test(`${k} as a step id, a where key, a derive-like param key, a foreach variable`, async () => {
      const e1 = await errorOf(y('steps:', `  ${k}:`, '    kind: source', '    with: {path: x}'));
      expect(e1.message).toBe(`"${k}" cannot be used as a name (step id, param, derive/where key, foreach variable): it is special in JavaScript objects (__proto__, constructor, prototype are reserved)`);
      expect([e1.line, e1.col]).toEqual([2, 3]);
      const e2 = await errorOf(y(...src, '  b:', '    kind: transform', '    in: a', `    with: {where: {${k}: 1}}`));
      expect([e2.line, e2.col, e2.message.slice(0, k.length + 2)]).toEqual([8, 20, `"${k}"`]);
      const e3 = await errorOf(y('steps:', '  a:', '    kind: source', '    with: {path: x}', `    foreach: {${k}: [1]}`));
      expect(e3.line).toBe(5);
    });
  }
  test('${constructor} in a foreach step is an unknown variable, not Object', async () => {
    const e = await errorOf(y('steps:', '  a:', '    kind: source', '    with: {path: "${constructor}"}', '    foreach: {v: [1]}'));
    expect(e.message).toBe('unknown foreach variable ${constructor}');
  });
  test('--set paths and values', async () => {
    expect(() => parseOverride('a.__proto__.x=1')).toThrow(/"__proto__" cannot be used as a param path segment/);
    expect(() => parseOverride('a.where={constructor: 1}')).toThrow(/"constructor" cannot be used as a key in VALUE/);
    expect(() => parseOverride('a.where={__proto__: {x: 1}}')).toThrow(/"__proto__" cannot be used as a key in VALUE/);
    expect(() => parseOverride('a.where.prototype=1')).toThrow(ConfigError);
    // applyOverride itself never reaches a prototype
    expect(Object.getPrototypeOf(applyOverride({}, 'x', 1))).toBe(Object.prototype);
  });
});

describe('item 14: messages that pointed at the wrong thing', () => {
  test('a YAML merge key inside `with` is named as such (was: missing required param path)', async () => {
    const e = await errorOf(y('steps:', '  a:', '    kind: source', '    with: &d {path: x}', '  b:', '    kind: source', '    with:', '      <<: *d'));
    expect(e).not.toBeInstanceOf(ConfigErrors);
    expect(e.message).toBe('YAML merge keys (`<<`) are not supported');
    expect([e.line, e.col]).toEqual([8, 7]);
  });
  test('an unknown foreach variable is reported once, not once per expansion (nor again as a bad reference)', async () => {
    const e = await errorOf(y('steps:', '  a:', '    kind: source', '    with: {path: "${nope}"}', '    foreach: {v: [1, 2, 3]}'));
    expect(e).not.toBeInstanceOf(ConfigErrors);
    expect(e.message).toBe('unknown foreach variable ${nope}');
    const e2 = await errorOf(y(...src, '  b:', '    kind: transform', '    in: "${nope}"', '    foreach: {v: [1, 2]}'));
    expect(e2).not.toBeInstanceOf(ConfigErrors);
    expect(e2.message).toBe('unknown foreach variable ${nope}');
  });
});
