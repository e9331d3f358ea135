/**
 * `foreach` over structured values (lists, maps, labelled values), `zip`, `name:` templates, and
 * their errors at pipeline.yaml:line:col (issue 14 part 1a).
 */
import { describe, expect, test } from 'vitest';
import { ConfigError, parseOverride, parsePipeline } from '../../../engine/config/load.js';
import type { NodeSpec, PipelineSpec } from '../../../engine/spec.js';
import { toyRegistry } from './toy-steps.js';

const FILE = '/proj/pipeline.yaml';
/** YAML from lines: line numbers are array indices + 1. */
const y = (...lines: string[]) => `${lines.join('\n')}\n`;
const load = (text: string, sets: string[] = []) => parsePipeline(text, FILE, { registry: toyRegistry(), overrides: sets.map(parseOverride) });
const node = (spec: PipelineSpec, id: string): NodeSpec => {
  const n = spec.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`no node ${id} in ${spec.nodes.map((x) => x.id).join(', ')}`);
  return n;
};
const ids = (spec: PipelineSpec, base: string) => spec.nodes.filter((n) => n.baseId === base).map((n) => n.id);
async function errorOf(text: string): Promise<ConfigError> {
  try {
    await load(text);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError, but the pipeline loaded');
}

// lines 1–4
const head = ['steps:', '  ingest:', '    kind: source', '    with: {path: data/x.csv}'];
/** A model step `m` (line 5) with the given foreach lines from line 8 on. */
const m = (...foreach: string[]) => y(...head, '  m:', '    kind: model', '    in: ingest', ...foreach);

describe('structured values', () => {
  test('lists as values: the issue example loads, ids are positions, the whole ${var} keeps the list', async () => {
    const spec = await load(m('    foreach: {controls: [[pgdp], [pgdp, indus], [pgdp, indus, urb, fin, fis]]}', '    with: {y: so2, controls: "${controls}"}'));
    expect(ids(spec, 'm')).toEqual(['m[0]', 'm[1]', 'm[2]']);
    expect(node(spec, 'm[1]').params.controls).toEqual(['pgdp', 'indus']);
    expect(node(spec, 'm[2]').bindings).toEqual({ controls: ['pgdp', 'indus', 'urb', 'fin', 'fis'] });
  });

  test('maps as values, mixed with scalars: a scalar is its own id part, a list or map its position', async () => {
    const spec = await load(m('    foreach: {where: [{year: {le: 2019}}, {year: {ge: 2012}}], level: [0.9, 0.99]}', '    with: {y: so2, where: "${where}", level: "${level}"}'));
    expect(ids(spec, 'm')).toEqual(['m[0,0.9]', 'm[0,0.99]', 'm[1,0.9]', 'm[1,0.99]']);
    expect(node(spec, 'm[1,0.9]').params).toMatchObject({ where: { year: { ge: 2012 } }, level: 0.9 });
    const spec2 = await load(m('    foreach: {controls: [none, [pgdp]]}', '    with: {y: so2}'));
    expect(ids(spec2, 'm')).toEqual(['m[none]', 'm[1]']);
  });

  test('labelled values {label: value} give their label as the id part', async () => {
    const spec = await load(m('    foreach: {controls: {short: [pgdp], full: [pgdp, indus, urb]}}', '    with: {y: so2, controls: "${controls}"}'));
    expect(ids(spec, 'm')).toEqual(['m[short]', 'm[full]']);
    expect(node(spec, 'm[full]').params.controls).toEqual(['pgdp', 'indus', 'urb']);
  });

  test('the scalar syntax is unchanged', async () => {
    const spec = await load(m('    foreach: {region: [east, west], level: [0.9]}', '    with: {y: so2, where: {region: "${region}"}, level: "${level}"}'));
    expect(ids(spec, 'm')).toEqual(['m[east,0.9]', 'm[west,0.9]']);
  });

  test('a foreach id in `in` stands for all expansions; --set reaches an expansion by its readable id', async () => {
    const spec = await load(
      y(
        ...head,
        '  m:',
        '    kind: model',
        '    in: ingest',
        '    foreach: {controls: {short: [pgdp], full: [pgdp, indus]}}',
        '    with: {y: so2, controls: "${controls}"}',
        '  t:',
        '    kind: collect',
        '    in: {models: m}',
        '    with: {title: T}',
      ),
      ['m[full].level=0.9'],
    );
    expect((node(spec, 't').inputs.models as { node: string }[]).map((r) => r.node)).toEqual(['m[short]', 'm[full]']);
    expect(node(spec, 'm[full]').params.level).toBe(0.9);
    expect(node(spec, 'm[short]').params.level).toBe(0.95);
  });
});

describe('zip and name', () => {
  test('zip pairs the i-th values; it is one dimension of the product with the other variables', async () => {
    const spec = await load(m('    foreach:', '      zip: {y: [so2, co2], tag: [s, c]}', '      level: [0.9, 0.99]', '    with: {y: "${y}", cluster: "k_${tag}", level: "${level}"}'));
    expect(ids(spec, 'm')).toEqual(['m[so2,s,0.9]', 'm[so2,s,0.99]', 'm[co2,c,0.9]', 'm[co2,c,0.99]']);
    expect(node(spec, 'm[co2,c,0.99]').params).toMatchObject({ y: 'co2', cluster: 'k_c', level: 0.99 });
  });

  test('name: template renders each variable`s id part', async () => {
    const spec = await load(
      m('    foreach:', '      zip: {controls: [[pgdp], [pgdp, indus]], tag: [few, more]}', '      level: {l90: 0.9, l99: 0.99}', '      name: "${tag}-${level}"', '    with: {y: so2, controls: "${controls}", level: "${level}"}'),
    );
    expect(ids(spec, 'm')).toEqual(['m[few-l90]', 'm[few-l99]', 'm[more-l90]', 'm[more-l99]']);
    expect(node(spec, 'm[more-l99]').params).toMatchObject({ controls: ['pgdp', 'indus'], level: 0.99 });
  });

  test('variables called zip or name with a list are plain variables (old pipelines keep working)', async () => {
    const spec = await load(m('    foreach: {name: [a, b], zip: [1, 2]}', '    with: {y: "${name}"}'));
    expect(ids(spec, 'm')).toEqual(['m[a,1]', 'm[a,2]', 'm[b,1]', 'm[b,2]']);
  });

  test('an inherited foreach (extends) keeps its zip and name', async () => {
    const spec = await load(y(...head, '  m:', '    kind: model', '    in: ingest', '    foreach: {zip: {y: [so2, co2], tag: [s, c]}, name: "${tag}"}', '    with: {y: "${y}"}', '  m2:', '    extends: m', '    with: {level: 0.9}'));
    expect(ids(spec, 'm2')).toEqual(['m2[s]', 'm2[c]']);
    expect(node(spec, 'm2[c]').params).toMatchObject({ y: 'co2', level: 0.9 });
  });
});

describe('errors at pipeline.yaml:line:col', () => {
  const cases: { name: string; yaml: string; line: number; col: number; message: string | RegExp; hint?: RegExp }[] = [
    {
      name: 'zip lists of unequal length',
      yaml: m('    foreach:', '      zip: {y: [so2, co2, pm], tag: [s, c]}', '    with: {y: "${y}"}'),
      line: 9,
      col: 12,
      message: 'step "m": zip lists of unequal length: y has 3 values, tag has 2 values',
    },
    {
      name: 'name template with an unknown variable',
      yaml: m('    foreach:', '      region: [east, west]', '      name: "r-${regoin}"', '    with: {y: so2}'),
      line: 10,
      col: 13,
      message: 'step "m": foreach name refers to an unknown variable ${regoin} (variables: ${region})',
    },
    {
      name: 'name template giving two expansions the same id',
      yaml: m('    foreach:', '      region: [east, west]', '      level: [0.9, 0.99]', '      name: "${region}"', '    with: {y: so2}'),
      line: 11,
      col: 13,
      message: 'foreach name "${region}" gives the id "m[east]" twice (region=east, level=0.9 and region=east, level=0.99)',
      hint: /\$\{level\}/,
    },
    {
      name: 'a repeated scalar value',
      yaml: m('    foreach: {region: [east, east]}', '    with: {y: so2}'),
      line: 8,
      col: 14,
      message: 'foreach gives the id "m[east]" twice',
    },
    {
      name: 'a scalar equal to the position of a list value',
      yaml: m('    foreach: {controls: [1, [pgdp]]}', '    with: {y: so2}'),
      line: 8,
      col: 14,
      message: 'foreach gives the id "m[1]" twice',
      hint: /labels \(\{label: value\}\)/,
    },
    {
      name: 'a label that cannot be part of an id',
      yaml: m('    foreach:', '      controls: {"a=b": [pgdp]}', '    with: {y: so2}'),
      line: 9,
      col: 25,
      message: 'step "m": foreach label "a=b" cannot be part of an id: use letters, digits, _ . + -',
    },
    {
      name: 'a list value inside a longer string',
      yaml: m('    foreach: {controls: [[pgdp], [indus]]}', '    with: {y: so2, cluster: "c_${controls}"}'),
      line: 9,
      col: 29,
      message: /^foreach variable \$\{controls\} is a list here, so it can only stand alone as a whole value/,
    },
    {
      name: 'zip that is not a map of lists',
      yaml: m('    foreach:', '      zip: {y: so2}', '    with: {y: so2}'),
      line: 9,
      col: 16,
      message: 'step "m": foreach over a non-list: give a list of values, e.g. region: [east, west]',
    },
    {
      name: 'name that is not a string',
      yaml: m('    foreach:', '      region: [east]', '      name: {a: 1}', '    with: {y: so2}'),
      line: 10,
      col: 13,
      message: 'step "m": foreach `name:` is the id template, a string such as "${region}-${level}"',
    },
    {
      name: 'a rendered name that is not id-safe',
      yaml: m('    foreach:', '      region: [north east, west]', '      name: "${region}"', '    with: {y: so2}'),
      line: 10,
      col: 13,
      message: 'foreach name "${region}" gives "north east", which cannot be part of an id (region=north east)',
    },
  ];
  test.each(cases)('$name', async (c) => {
    const e = await errorOf(c.yaml);
    expect(e.message).toEqual(c.message instanceof RegExp ? expect.stringMatching(c.message) : c.message);
    expect({ line: e.line, col: e.col }).toEqual({ line: c.line, col: c.col });
    if (c.hint) expect(e.hint).toMatch(c.hint);
    expect(e.format('/proj').split('\n')[0]).toBe(`pipeline.yaml:${c.line}:${c.col} error: ${e.message}`);
  });
});

describe('limits still hold', () => {
  test('the product of a zip and a variable counts against foreach_limit, at the foreach line', async () => {
    const l = Array.from({ length: 100 }, (_, i) => i).join(', ');
    const e = await errorOf(m(`    foreach: {zip: {a: [${l}], b: [${l}]}, c: [${l}], d: [${l}]}`, '    with: {y: so2}'));
    expect(e.message).toBe('foreach expands step "m" to 1,000,000 nodes (zip(a, b): 100 × c: 100 × d: 100); the limit is 10,000 nodes');
    expect([e.line, e.col]).toEqual([8, 5]);
  });

  test('structured values copied into many expansions are bounded like aliases, fast', async () => {
    // 100 lists of 1,000 items, times 100 levels: 10,000 nodes (within the limit) but 10^7 copied YAML nodes
    const big = `[${Array.from({ length: 1000 }, (_, i) => `c${i}`).join(', ')}]`;
    const lists = Array.from({ length: 100 }, () => big).join(', ');
    const levels = Array.from({ length: 100 }, (_, i) => (i + 1) / 1000).join(', ');
    const t = performance.now();
    const e = await errorOf(m(`    foreach: {controls: [${lists}], level: [${levels}]}`, '    with: {y: so2, controls: "${controls}"}'));
    expect(performance.now() - t).toBeLessThan(5000);
    expect(e.message).toBe('foreach expands step "m" to 10,000 nodes whose foreach values add more than 1,000,000 YAML nodes to their params');
    expect([e.line, e.col]).toEqual([8, 5]);
  });

  test('an alias bomb in a structured foreach value is still caught at the alias', async () => {
    const bomb = ['      a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `      ${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`)];
    const e = await errorOf(m('    foreach:', '      controls:', ...bomb.map((l) => `  ${l}`), '    with: {y: so2}'));
    expect(e.message).toMatch(/^YAML aliases expand the document/);
  });
});
