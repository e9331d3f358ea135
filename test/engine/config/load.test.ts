/**
 * What a valid pipeline becomes: extends, foreach, `in` forms, defaults, --set, files, order.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ConfigError, loadPipeline, parseOverride, parsePipeline } from '../../../engine/config/load.js';
import type { NodeSpec, PipelineSpec } from '../../../engine/spec.js';
import { toyRegistry } from './toy-steps.js';

const FILE = '/proj/sub/pipeline.yaml';
const y = (...lines: string[]) => `${lines.join('\n')}\n`;
const load = (text: string, sets: string[] = []) =>
  parsePipeline(text, FILE, { registry: toyRegistry(), overrides: sets.map(parseOverride) });
/** As `repro run --inherit --set …`. */
const loadInherit = (text: string, sets: string[]) =>
  parsePipeline(text, FILE, { registry: toyRegistry(), overrides: sets.map((a) => ({ ...parseOverride(a), inherit: true })) });
const node = (spec: PipelineSpec, id: string): NodeSpec => {
  const n = spec.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`no node ${id} in ${spec.nodes.map((x) => x.id).join(', ')}`);
  return n;
};

const ingest = ['  ingest:', '    kind: source', '    with: {path: data/x.csv}'];

describe('top level', () => {
  test('name and seed, defaults applied to params, file paths kept as written (relative to the YAML dir)', async () => {
    const spec = await load(y('name: demo', 'seed: 20250217', 'steps:', ...ingest));
    expect(spec).toEqual({
      file: FILE,
      baseDir: '/proj/sub',
      name: 'demo',
      seed: 20250217,
      nodes: [
        {
          id: 'ingest',
          baseId: 'ingest',
          kind: 'source',
          params: { path: 'data/x.csv', rows: 10 },
          inputs: {},
          files: ['data/x.csv'], // as written: relative to the YAML dir
          pos: { line: 4, col: 3 },
        },
      ],
    });
  });

  test('name defaults to the file name, seed to 0', async () => {
    const spec = await load(y('steps:', ...ingest));
    expect([spec.name, spec.seed]).toEqual(['pipeline', 0]);
  });

  test('nested defaults and list path params', async () => {
    const spec = await load(y('steps:', ...ingest, '  t:', '    kind: transform', '    in: ingest', '    with: {lookup: [a.csv, /abs/b.csv]}', '  m:', '    kind: model', '    in: t', '    with: {y: so2}'));
    expect(node(spec, 't').params).toEqual({ factor: 1, lookup: ['a.csv', '/abs/b.csv'] });
    expect(node(spec, 't').files).toEqual(['a.csv', '/abs/b.csv']); // as written
    expect(node(spec, 'm').params).toEqual({ y: 'so2', controls: [], level: 0.95, opts: { tol: 1e-8, iter: 100 } });
  });

  test('only the step kinds the pipeline uses are loaded', async () => {
    const registry = toyRegistry();
    await parsePipeline(y('steps:', ...ingest, '  m:', '    kind: model', '    in: ingest', '    with: {y: so2}'), FILE, { registry });
    expect(registry.loads).toEqual({ source: 1, model: 1 });
  });
});

describe('extends', () => {
  test('the child deep-merges `with` over the parent; kind, in and publish are inherited', async () => {
    const spec = await load(
      y(
        'steps:',
        ...ingest,
        '  baseline:',
        '    kind: model',
        '    in: ingest',
        '    with: {y: so2, controls: [a, b], cluster: city, where: {year: {ge: 2010}, region: east}}',
        '    publish: results/baseline',
        '  no_covid:',
        '    extends: baseline',
        '    with: {controls: [a], where: {year: {le: 2019}}, cluster: null}',
        '    publish: results/no_covid',
        '  grandchild:',
        '    extends: no_covid',
        '    with: {opts: {iter: 5}}',
        '    publish: results/grandchild',
      ),
    );
    const b = node(spec, 'baseline');
    const c = node(spec, 'no_covid');
    expect(c.kind).toBe('model');
    expect(c.inputs).toEqual({ panel: { node: 'ingest', output: 'table' } });
    // maps merge key by key, lists replace, null removes the inherited param
    expect(c.params).toEqual({
      y: 'so2',
      controls: ['a'],
      where: { year: { ge: 2010, le: 2019 }, region: 'east' },
      level: 0.95,
      opts: { tol: 1e-8, iter: 100 },
    });
    expect(b.params.controls).toEqual(['a', 'b']);
    expect(b.params.cluster).toBe('city');
    expect(b.params.where).toEqual({ year: { ge: 2010 }, region: 'east' });
    const g = node(spec, 'grandchild');
    expect(g.params).toEqual({ ...c.params, opts: { tol: 1e-8, iter: 5 } });
    expect(g.publish).toBe('results/grandchild');
    expect(g.pos).toEqual({ line: 14, col: 3 });
  });

  test('publish is inherited, so two nodes sharing it is reported at the parent', async () => {
    await expect(
      load(y('steps:', ...ingest, '    publish: out/ingest', '  copy:', '    extends: ingest')),
    ).rejects.toMatchObject({ line: 5, col: 14, message: 'publish path "out/ingest" is also used by "ingest"' });
  });

  test('a child can override the kind and the inputs', async () => {
    const spec = await load(
      y('steps:', ...ingest, '  t:', '    kind: transform', '    in: ingest', '    with: {factor: 2}', '  t2:', '    extends: t', '    in: {data: t, extra: ingest}'),
    );
    expect(node(spec, 't2')).toMatchObject({
      kind: 'transform',
      params: { factor: 2 },
      inputs: { data: { node: 't', output: 'out' }, extra: { node: 'ingest', output: 'table' } },
    });
  });
});

describe('foreach', () => {
  const base = [
    'steps:',
    ...ingest,
    '  baseline:',
    '    kind: model',
    '    in: ingest',
    '    with: {y: so2, controls: [a]}',
  ];

  test('one node per value, ids base[v], ${var} substituted (whole strings keep their type)', async () => {
    const spec = await load(
      y(...base, '  by_region:', '    extends: baseline', '    foreach: {region: [east, central], level: [0.9, 0.99]}', '    with: {cluster: "c_${region}", where: {region: "${region}"}, level: "${level}"}'),
    );
    const ids = spec.nodes.map((n) => n.id);
    expect(ids).toEqual(['ingest', 'baseline', 'by_region[east,0.9]', 'by_region[east,0.99]', 'by_region[central,0.9]', 'by_region[central,0.99]']);
    const n = node(spec, 'by_region[central,0.99]');
    expect(n.baseId).toBe('by_region');
    expect(n.bindings).toEqual({ region: 'central', level: 0.99 });
    expect(n.params).toMatchObject({ cluster: 'c_central', where: { region: 'central' }, level: 0.99 });
    expect(typeof n.params.level).toBe('number');
  });

  test('a foreach id in `in` stands for all expansions, in order; `in` and publish are substituted', async () => {
    const spec = await load(
      y(
        'steps:',
        '  src:',
        '    kind: source',
        '    foreach: {region: [east, west]}',
        '    with: {path: "data/${region}.csv"}',
        '  m:',
        '    kind: model',
        '    foreach: {region: [east, west]}',
        '    in: "src[${region}]"',
        '    with: {y: so2}',
        '    publish: results/m/${region}',
        '  t:',
        '    kind: collect',
        '    in: {models: m, extra: "src[west]"}',
        '    with: {title: T}',
      ),
    );
    expect(node(spec, 'm[west]').inputs).toEqual({ panel: { node: 'src[west]', output: 'table' } });
    expect(node(spec, 'm[west]').publish).toBe('results/m/west');
    expect(node(spec, 'src[east]').files).toEqual(['data/east.csv']);
    expect(node(spec, 't').inputs).toEqual({
      models: [
        { node: 'm[east]', output: 'model' },
        { node: 'm[west]', output: 'model' },
      ],
      extra: { node: 'src[west]', output: 'table' },
    });
  });

  test('a child of a foreach step is a foreach step too', async () => {
    const spec = await load(
      y(...base, '  by_region:', '    extends: baseline', '    foreach: {region: [east, west]}', '    with: {where: {region: "${region}"}}', '  by_region_nc:', '    extends: by_region', '    with: {controls: []}'),
    );
    expect(node(spec, 'by_region_nc[west]').params).toMatchObject({ controls: [], where: { region: 'west' } });
  });
});

describe('in forms', () => {
  const steps = [
    'steps:',
    ...ingest,
    '  m1:',
    '    kind: model',
    '    in: ingest',
    '    with: {y: so2}',
    '  m2:',
    '    kind: model',
    '    in: {panel: ingest.table}',
    '    with: {y: so2}',
  ];
  test.each([
    ['in: X on a many input', '    in: m1', { models: [{ node: 'm1', output: 'model' }] }],
    ['in: [X, Y]', '    in: [m2, m1]', { models: [{ node: 'm2', output: 'model' }, { node: 'm1', output: 'model' }] }],
    ['in: {name: X}', '    in: {models: m1.model, extra: ingest}', { models: [{ node: 'm1', output: 'model' }], extra: { node: 'ingest', output: 'table' } }],
    ['in: {name: [X, Y]}', '    in: {models: [m1, m2]}', { models: [{ node: 'm1', output: 'model' }, { node: 'm2', output: 'model' }] }],
    ['block list', '    in:\n      - m1\n      - m2', { models: [{ node: 'm1', output: 'model' }, { node: 'm2', output: 'model' }] }],
  ])('%s', async (_name, inLine, expected) => {
    const spec = await load(y(...steps, '  t:', '    kind: collect', inLine, '    with: {title: T}'));
    expect(node(spec, 't').inputs).toEqual(expected);
    expect(node(spec, 'm2').inputs).toEqual({ panel: { node: 'ingest', output: 'table' } });
  });

  test('ID.OUTPUT picks a named output', async () => {
    const spec = await load(y('steps:', ...ingest, '  tr:', '    kind: transform', '    in: ingest', '  t:', '    kind: collect', '    in: tr.summary', '    with: {title: T}'));
    expect(node(spec, 't').inputs).toEqual({ models: [{ node: 'tr', output: 'summary' }] });
  });
});

describe('order', () => {
  test('nodes come in a topological order, ties broken by YAML order', async () => {
    const spec = await load(
      y(
        'steps:',
        '  report:',
        '    kind: collect',
        '    in: [m_b, m_a]',
        '    with: {title: T}',
        '  m_a:',
        '    kind: model',
        '    in: src_a',
        '    with: {y: so2}',
        '  src_b:',
        '    kind: source',
        '    with: {path: b.csv}',
        '  m_b:',
        '    kind: model',
        '    in: src_b',
        '    with: {y: so2}',
        '  src_a:',
        '    kind: source',
        '    with: {path: a.csv}',
      ),
    );
    expect(spec.nodes.map((n) => n.id)).toEqual(['src_b', 'm_b', 'src_a', 'm_a', 'report']);
  });
});

describe('--set overrides', () => {
  test.each([
    ['ingest.path=/data/yearbook.xlsx', { id: 'ingest', param: 'path', value: '/data/yearbook.xlsx' }],
    ['baseline.controls=[pgdp, indus]', { id: 'baseline', param: 'controls', value: ['pgdp', 'indus'] }],
    ['baseline.where.year.le=2019', { id: 'baseline', param: 'where.year.le', value: 2019 }],
    ['by_region[east].level=0.9', { id: 'by_region[east]', param: 'level', value: 0.9 }],
    ['grid[a,1.5].where={year: {le: 2019}}', { id: 'grid[a,1.5]', param: 'where', value: { year: { le: 2019 } } }],
    ['m.cluster="a=b"', { id: 'm', param: 'cluster', value: 'a=b' }],
    ['m.flag=true', { id: 'm', param: 'flag', value: true }],
    ['m.cluster=', { id: 'm', param: 'cluster', value: null }],
  ])('parseOverride(%j)', (arg, expected) => {
    expect(parseOverride(arg)).toEqual({ ...expected, arg });
  });

  test.each([
    ['baseline', 'expected ID.PARAM=VALUE'],
    ['baseline=3', '"baseline" is not ID.PARAM'],
    ['.y=3', '".y" is not ID.PARAM'],
    ['a.b..c=3', '"a.b..c" is not ID.PARAM'],
    ['a.b=[1, 2', /^VALUE is not valid YAML/],
  ])('parseOverride(%j) is an error', (arg, message) => {
    let err: unknown;
    try {
      parseOverride(arg);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toEqual(message instanceof RegExp ? expect.stringMatching(message) : message);
    expect((err as ConfigError).format()).toMatch(new RegExp(`^--set ${arg.replace(/[[\]().*+?^$|\\{}]/g, '\\$&')} error: `));
  });

  const steps = y(
    'steps:',
    ...ingest,
    '  baseline:',
    '    kind: model',
    '    in: ingest',
    '    with: {y: so2, cluster: city, where: {year: {ge: 2010}}}',
    '  by_region:',
    '    extends: baseline',
    '    foreach: {region: [east, west]}',
    '    with: {where: {region: "${region}"}}',
  );

  test('applied after extends and foreach, deep paths merge, null restores the default', async () => {
    const spec = await load(steps, ['baseline.where.year.le=2019', 'baseline.level=0.9', 'baseline.cluster=', 'ingest.path=/data/yearbook.xlsx']);
    expect(node(spec, 'baseline').params).toMatchObject({ where: { year: { ge: 2010, le: 2019 } }, level: 0.9 });
    expect(node(spec, 'baseline').params).not.toHaveProperty('cluster');
    // an override on a parent does not change its children (it applies to that node only) …
    expect(node(spec, 'by_region[east]').params).toMatchObject({ cluster: 'city', where: { year: { ge: 2010 }, region: 'east' }, level: 0.95 });
    // … unless --inherit: as an edit of baseline's `with` would, its children get what they do not
    // set themselves (by_region's own `where` is a map, so where.year.le merges into it)
    const inh = await loadInherit(steps, ['baseline.where.year.le=2019', 'baseline.level=0.9', 'baseline.cluster=']);
    expect(node(inh, 'by_region[east]').params).toMatchObject({ where: { year: { ge: 2010, le: 2019 }, region: 'east' }, level: 0.9 });
    expect(node(inh, 'by_region[east]').params).not.toHaveProperty('cluster');
    expect(node(spec, 'ingest').files).toEqual(['/data/yearbook.xlsx']);
  });

  test('on a foreach base id it applies to every expansion; on an expansion, to that one', async () => {
    const spec = await load(steps, ['by_region.level=0.9', 'by_region[west].level=0.8']);
    expect(node(spec, 'by_region[east]').params.level).toBe(0.9);
    expect(node(spec, 'by_region[west]').params.level).toBe(0.8);
    expect(node(spec, 'baseline').params.level).toBe(0.95);
  });

  test('with --inherit it reaches nodes that extend the set node (also through others), unless one on the way sets the param', async () => {
    const chain = y(
      'steps:',
      ...ingest,
      '  baseline:',
      '    kind: model',
      '    in: ingest',
      '    with: {y: so2, cluster: city, controls: [a, b], where: {year: {ge: 2010}}}',
      '  own:',
      '    extends: baseline',
      '    with: {cluster: province, where: {year: 2015}}',
      '  mid:',
      '    extends: baseline',
      '    with: {level: 0.9}',
      '  grand:',
      '    extends: mid',
      '  grand_own:',
      '    extends: own',
      '  other:',
      '    kind: model',
      '    in: ingest',
      '    with: {y: so2}',
    );
    const spec = await loadInherit(chain, ['baseline.cluster=year', 'baseline.controls.0=x', 'baseline.where.year.le=2019']);
    expect(node(spec, 'baseline').params).toMatchObject({ cluster: 'year', controls: ['x', 'b'], where: { year: { ge: 2010, le: 2019 } } });
    for (const id of ['mid', 'grand']) {
      expect(node(spec, id).params).toMatchObject({ cluster: 'year', controls: ['x', 'b'], where: { year: { ge: 2010, le: 2019 } } });
    }
    // `own` sets cluster and where.year (a scalar replaces the map): neither it nor its child is reached there
    for (const id of ['own', 'grand_own']) {
      expect(node(spec, id).params).toMatchObject({ cluster: 'province', controls: ['x', 'b'], where: { year: 2015 } });
    }
    expect(node(spec, 'other').params).not.toHaveProperty('cluster');
    // the node's own override wins over its parent's, whatever the order on the command line
    const spec2 = await loadInherit(chain, ['grand.cluster=g', 'mid.cluster=m', 'baseline.cluster=b']);
    expect(['baseline', 'mid', 'grand', 'own'].map((id) => node(spec2, id).params.cluster)).toEqual(['b', 'm', 'g', 'province']);
    // without --inherit, the set node only
    const plain = await load(chain, ['baseline.cluster=year']);
    expect(['baseline', 'mid', 'grand'].map((id) => node(plain, id).params.cluster)).toEqual(['year', 'city', 'city']);
    // an override of one foreach expansion reaches only that node
    const spec3 = await loadInherit(steps, ['by_region[east].level=0.8']);
    expect([node(spec3, 'by_region[east]').params.level, node(spec3, 'by_region[west]').params.level]).toEqual([0.8, 0.95]);
  });

  test('a numeric segment indexes a list', async () => {
    const spec = await load(y('steps:', ...ingest, '  m:', '    kind: model', '    in: ingest', '    with: {y: so2, controls: [a, b, c]}'), ['m.controls.1=x', 'm.controls.2=']);
    expect(node(spec, 'm').params.controls).toEqual(['a', 'x']);
  });

  test('an override is validated by the step schema', async () => {
    await expect(load(steps, ['by_region.level=2'])).rejects.toMatchObject({ file: '--set by_region.level=2', line: 0 });
  });
});

describe('loadPipeline (from disk)', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('reads the file; a missing data file is not a config error', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'repro-config-'));
    const file = path.join(dir, 'p.yaml');
    await writeFile(file, y('steps:', '  ingest:', '    kind: source', '    with: {path: missing.csv}'));
    const spec = await loadPipeline(file, { registry: toyRegistry() });
    expect(spec.file).toBe(file);
    expect(spec.name).toBe('p');
    expect(spec.nodes[0]!.files).toEqual(['missing.csv']);
  });

  test('a missing pipeline file is a ConfigError', async () => {
    await expect(loadPipeline('/nonexistent/pipeline.yaml', { registry: toyRegistry() })).rejects.toMatchObject({
      name: 'ConfigError',
      file: '/nonexistent/pipeline.yaml',
      message: 'pipeline file not found',
    });
  });
});

describe('YAML features', () => {
  test('anchors and aliases, comments, quoted keys and block scalars', async () => {
    const spec = await load(
      y(
        '# a comment',
        'steps:',
        '  "ingest":           # quoted id',
        '    kind: source',
        '    with: &src {path: data/x.csv}',
        '  copy: &step',
        '    kind: source',
        '    with: *src',
        '  copy2: *step',
        '  m:',
        '    kind: model',
        '    in: ingest',
        '    with:',
        '      y: |-',
        '        so2',
      ),
    );
    expect(spec.nodes.map((n) => [n.id, n.params])).toEqual([
      ['ingest', { path: 'data/x.csv', rows: 10 }],
      ['copy', { path: 'data/x.csv', rows: 10 }],
      ['copy2', { path: 'data/x.csv', rows: 10 }],
      ['m', { y: 'so2', controls: [], level: 0.95, opts: { tol: 1e-8, iter: 100 } }],
    ]);
    expect(node(spec, 'ingest').pos).toEqual({ line: 3, col: 3 });
  });

  test('YAML merge keys are rejected with a pointer to extends', async () => {
    await expect(load(y('steps:', '  a: &a', '    kind: source', '    with: {path: x}', '  b:', '    <<: *a'))).rejects.toMatchObject({
      line: 6,
      col: 5,
      message: 'YAML merge keys (`<<`) are not supported',
    });
  });
});
