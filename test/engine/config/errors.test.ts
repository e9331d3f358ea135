/**
 * Every validation error of the pipeline loader, table-driven: the message, the exact
 * line:col of the offending key or value, and the hint.
 */
import { describe, expect, test } from 'vitest';
import { ConfigError, ConfigErrors, parseOverride, parsePipeline } from '../../../engine/config/load.js';
import { toyRegistry } from './toy-steps.js';

const FILE = '/proj/pipeline.yaml';
/** YAML from lines, so a case's line numbers are its array indices + 1. */
const y = (...lines: string[]) => `${lines.join('\n')}\n`;

async function errorOf(text: string, sets: string[] = []): Promise<ConfigError> {
  try {
    await parsePipeline(text, FILE, { registry: toyRegistry(), overrides: sets.map(parseOverride) });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError, but the pipeline loaded');
}

interface Case {
  name: string;
  yaml: string;
  sets?: string[];
  line: number;
  col: number;
  message: string | RegExp;
  hint?: string | RegExp;
  /** Expected file of the error when not the YAML (e.g. `--set ...`). */
  file?: string;
}

const ingest = ['  ingest:', '    kind: source', '    with: {path: data/x.csv}'];

const cases: Case[] = [
  {
    name: 'YAML syntax error (bad indentation)',
    yaml: y('steps:', '  ingest:', '    kind: source', '   with: {path: x.csv}'),
    line: 4,
    col: 4,
    message: 'YAML syntax: bad indentation of a mapping entry',
  },
  {
    name: 'YAML syntax error (unclosed flow sequence)',
    yaml: y('steps:', '  baseline:', '    kind: model', '    with: {y: so2, controls: [a, b}', '  other:', '    kind: model'),
    line: 4,
    col: 35,
    message: 'YAML syntax: missed comma between flow collection entries',
  },
  {
    name: 'unknown top-level key',
    yaml: y('name: t', 'sed: 1', 'steps:', ...ingest),
    line: 2,
    col: 1,
    message: 'unknown top-level key "sed"',
    hint: 'did you mean "seed"?',
  },
  {
    name: 'seed not an integer',
    yaml: y('name: t', 'seed: 1.5', 'steps:', ...ingest),
    line: 2,
    col: 7,
    message: 'expected `seed` to be an integer',
  },
  {
    name: 'unknown key in a step',
    yaml: y('steps:', '  ingest:', '    kindd: source', '    with: {path: x}'),
    line: 3,
    col: 5,
    message: 'unknown key "kindd" in step "ingest"',
    hint: 'did you mean "kind"?',
  },
  {
    name: 'invalid step id',
    yaml: y('steps:', '  in.gest:', '    kind: source'),
    line: 2,
    col: 3,
    message: 'invalid step id "in.gest"',
  },
  {
    name: 'duplicate step id',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    in: ingest', '    with: {y: so2}', '  ingest:', '    kind: source'),
    line: 9,
    col: 3,
    message: 'duplicate step id "ingest" (first defined on line 2)',
  },
  {
    name: 'duplicate param key',
    yaml: y('steps:', '  ingest:', '    kind: source', '    with:', '      path: a.csv', '      path: b.csv'),
    line: 6,
    col: 7,
    message: 'duplicate key "path" (first on line 5)',
  },
  {
    name: 'unknown step kind',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: modl', '    in: ingest', '    with: {y: so2}'),
    line: 6,
    col: 11,
    message: 'unknown step kind "modl"',
    hint: 'did you mean "model"?',
  },
  {
    name: 'step without kind',
    yaml: y('steps:', ...ingest, '  baseline:', '    in: ingest', '    with: {y: so2}'),
    line: 5,
    col: 3,
    message: 'step "baseline" has no kind',
  },
  {
    name: 'unknown param',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    in: ingest', '    with: {y: so2, contrls: [a]}'),
    line: 8,
    col: 20,
    message: 'unknown param "contrls" for kind "model"',
    hint: 'did you mean "controls"?',
  },
  {
    name: 'mistyped param',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    in: ingest', '    with: {y: 3}'),
    line: 8,
    col: 15,
    message: 'param "y": expected string, received number',
    hint: 'y: outcome column',
  },
  {
    name: 'mistyped nested param',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    in: ingest', '    with:', '      y: so2', '      opts: {tol: fast}'),
    line: 10,
    col: 19,
    message: 'param "opts.tol": expected number, received string',
  },
  {
    name: 'unknown nested param',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    in: ingest', '    with:', '      y: so2', '      opts: {tol: 1, iters: 5}'),
    line: 10,
    col: 22,
    message: 'unknown param "opts.iters" for kind "model"',
    hint: 'did you mean "iter"?',
  },
  {
    name: 'param out of range',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    in: ingest', '    with: {y: so2, level: 2}'),
    line: 8,
    col: 27,
    message: /^param "level": too big/i,
  },
  {
    name: 'missing required param (points at `with:`)',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    in: ingest', '    with: {controls: [a]}'),
    line: 8,
    col: 5,
    message: 'missing required param "y" for kind "model" (expected string)',
  },
  {
    name: 'missing required param, no `with:` (points at the step id)',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    in: ingest'),
    line: 5,
    col: 3,
    message: 'missing required param "y" for kind "model" (expected string)',
  },
  {
    name: 'mistyped param inherited through extends is reported where it is written',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    in: ingest', '    with: {y: so2, cluster: 5}', '  child:', '    extends: baseline', '    with: {controls: [a]}'),
    line: 8,
    col: 29,
    message: 'param "cluster": expected string, received number',
  },
  {
    name: 'mistyped param in the child of extends',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    in: ingest', '    with: {y: so2}', '  child:', '    extends: baseline', '    with: {controls: pgdp}'),
    line: 11,
    col: 22,
    message: 'param "controls": expected array, received string',
  },
  {
    name: 'mistyped param set with --set',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    in: ingest', '    with: {y: so2}'),
    sets: ['baseline.level=high'],
    file: '--set baseline.level=high',
    line: 0,
    col: 0,
    message: 'param "level": expected number, received string',
  },
  {
    name: '--set on an unknown step id',
    yaml: y('steps:', ...ingest),
    sets: ['ingst.path=a.csv'],
    file: '--set ingst.path=a.csv',
    line: 0,
    col: 0,
    message: 'unknown step id "ingst"',
    hint: 'did you mean "ingest"?',
  },
  {
    name: 'unknown input id',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    in: ingst', '    with: {y: so2}'),
    line: 7,
    col: 9,
    message: 'unknown input id "ingst"',
    hint: 'did you mean "ingest"?',
  },
  {
    name: 'unknown input id in a list',
    yaml: y('steps:', ...ingest, '  m:', '    kind: model', '    in: ingest', '    with: {y: so2}', '  t:', '    kind: collect', '    in: [m, m2]', '    with: {title: T}'),
    line: 11,
    col: 13,
    message: 'unknown input id "m2"',
  },
  {
    name: 'unknown foreach expansion',
    yaml: y('steps:', ...ingest, '  m:', '    kind: model', '    in: ingest', '    foreach: {r: [east, west]}', '    with: {y: so2}', '  t:', '    kind: collect', '    in: "m[north]"', '    with: {title: T}'),
    line: 12,
    col: 9,
    message: 'unknown input id "m[north]"',
    hint: '"m" expands to: m[east], m[west]',
  },
  {
    name: 'unknown output name',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    in: ingest.tbl', '    with: {y: so2}'),
    line: 7,
    col: 9,
    message: 'step "ingest" (kind "source") has no output "tbl"',
    hint: 'did you mean "table"?',
  },
  {
    name: 'input name not declared by the step',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    in: {pnl: ingest}', '    with: {y: so2}'),
    line: 7,
    col: 10,
    message: 'step kind "model" has no input "pnl"',
    hint: 'did you mean "panel"?',
  },
  {
    name: 'input to a step that takes none',
    yaml: y('steps:', ...ingest, '  other:', '    kind: source', '    in: ingest', '    with: {path: y.csv}'),
    line: 7,
    col: 9,
    message: 'step kind "source" takes no inputs',
  },
  {
    name: 'artifact type mismatch',
    yaml: y('steps:', ...ingest, '  t:', '    kind: collect', '    in: ingest', '    with: {title: T}'),
    line: 7,
    col: 9,
    message: 'input "models" of kind "collect" takes json, but ingest.table is a table artifact',
  },
  {
    name: 'artifact type mismatch with a hint to the right output',
    yaml: y('steps:', ...ingest, '  tr:', '    kind: transform', '    in: ingest', '  t:', '    kind: collect', '    in: tr', '    with: {title: T}'),
    line: 10,
    col: 9,
    message: 'input "models" of kind "collect" takes json, but tr.out is a table artifact',
    hint: 'use tr.summary',
  },
  {
    name: 'several refs to a single input',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    in: [ingest, ingest]', '    with: {y: so2}'),
    line: 7,
    col: 9,
    message: 'input "panel" of kind "model" takes one artifact, but a list was given',
  },
  {
    name: 'a foreach id bound to a single input',
    yaml: y('steps:', '  src:', '    kind: source', '    foreach: {f: [a.csv, b.csv]}', '    with: {path: "${f}"}', '  m:', '    kind: model', '    in: src', '    with: {y: so2}'),
    line: 8,
    col: 9,
    message: 'input "panel" of kind "model" takes one artifact, but "src" stands for 2 foreach nodes',
  },
  {
    name: 'required input missing',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    with: {y: so2}'),
    line: 5,
    col: 3,
    message: 'step "baseline" (kind "model") is missing its input "panel"',
  },
  {
    name: 'cycle (printed)',
    yaml: y('steps:', '  a:', '    kind: transform', '    in: c', '  b:', '    kind: transform', '    in: a', '  c:', '    kind: transform', '    in: b'),
    line: 4,
    col: 9,
    message: 'cycle: a → b → c → a',
  },
  {
    name: 'cycle through a named input, after a valid prefix',
    yaml: y('steps:', ...ingest, '  a:', '    kind: transform', '    in: {data: ingest, extra: b}', '  b:', '    kind: transform', '    in: a'),
    line: 7,
    col: 31,
    message: 'cycle: a → b → a',
  },
  {
    name: 'self-cycle',
    yaml: y('steps:', '  a:', '    kind: transform', '    in: a'),
    line: 4,
    col: 9,
    message: 'cycle: a → a',
  },
  {
    name: 'extends of a missing node',
    yaml: y('steps:', ...ingest, '  baseline:', '    kind: model', '    in: ingest', '    with: {y: so2}', '  child:', '    extends: baselin'),
    line: 10,
    col: 14,
    message: 'extends a missing step "baselin"',
    hint: 'did you mean "baseline"?',
  },
  {
    name: 'extends cycle',
    yaml: y('steps:', '  a:', '    extends: b', '  b:', '    extends: a'),
    line: 5,
    col: 14,
    message: 'extends cycle: a → b → a',
  },
  {
    name: 'foreach over a non-list',
    yaml: y('steps:', ...ingest, '  m:', '    kind: model', '    in: ingest', '    foreach: {region: east}', '    with: {y: so2}'),
    line: 8,
    col: 23,
    message: 'step "m": foreach over a non-list: give a list of values, e.g. region: [east, west]',
  },
  {
    name: 'foreach over an empty list',
    yaml: y('steps:', ...ingest, '  m:', '    kind: model', '    in: ingest', '    foreach:', '      region: []', '    with: {y: so2}'),
    line: 9,
    col: 15,
    message: 'step "m": foreach over an empty list: give at least one value',
  },
  {
    name: 'foreach with a repeated value',
    yaml: y('steps:', ...ingest, '  m:', '    kind: model', '    in: ingest', '    foreach: {region: [east, east]}', '    with: {y: so2}'),
    line: 8,
    col: 14,
    message: 'foreach gives the id "m[east]" twice',
  },
  {
    name: 'unknown foreach variable',
    yaml: y('steps:', ...ingest, '  m:', '    kind: model', '    in: ingest', '    foreach: {region: [east]}', '    with: {y: so2, where: {region: "${regoin}"}}'),
    line: 9,
    col: 36,
    message: 'unknown foreach variable ${regoin}',
    hint: 'variables of this step: ${region}',
  },
  {
    name: 'absolute publish path',
    yaml: y('steps:', ...ingest, '    publish: /tmp/out'),
    line: 5,
    col: 14,
    message: 'publish path "/tmp/out" is absolute',
  },
  {
    name: 'publish path escaping the project',
    yaml: y('steps:', ...ingest, '    publish: results/../../out'),
    line: 5,
    col: 14,
    message: 'publish path "results/../../out" leaves the project',
  },
  {
    name: 'publish path inside the store',
    yaml: y('steps:', ...ingest, '    publish: artifacts/history'),
    line: 5,
    col: 14,
    message: 'publish path "artifacts/history" is inside the store (artifacts/)',
  },
  {
    name: 'empty publish path',
    yaml: y('steps:', ...ingest, '    publish: ""'),
    line: 5,
    col: 14,
    message: 'empty publish path',
  },
  {
    name: 'publish path shared by foreach expansions',
    yaml: y('steps:', '  src:', '    kind: source', '    foreach: {f: [a, b]}', '    with: {path: "${f}.csv"}', '    publish: results/src'),
    line: 6,
    col: 14,
    message: 'publish path "results/src" is also used by "src[a]"',
    hint: /\$\{region\}/,
  },
  {
    name: 'publish path inside results/variants/ (where variant runs publish)',
    yaml: y('steps:', '  src:', '    kind: source', '    with: {path: x.csv}', '    publish: results/variants/v/src'),
    line: 5,
    col: 14,
    message: 'publish path "results/variants/v/src" is inside results/variants/, where variant runs publish',
  },
];

describe('validation errors', () => {
  test.each(cases)('$name', async (c) => {
    const e = await errorOf(c.yaml, c.sets);
    expect(e.message).toEqual(c.message instanceof RegExp ? expect.stringMatching(c.message) : c.message);
    expect({ file: e.file, line: e.line, col: e.col }).toEqual({ file: c.file ?? FILE, line: c.line, col: c.col });
    if (c.hint !== undefined) expect(e.hint).toEqual(c.hint instanceof RegExp ? expect.stringMatching(c.hint) : c.hint);
    // The formatted report leads with file:line:col (or the --set argument) and the message.
    const where = c.line > 0 ? `pipeline.yaml:${c.line}:${c.col}` : c.file!;
    expect(e.format('/proj').split('\n')[0]).toBe(`${where} error: ${e.message}`);
  });
});

describe('error report', () => {
  test('format() shows the source line, a caret under the offending value and the hint', async () => {
    const e = await errorOf(y('steps:', ...ingest, '  baseline:', '    kind: modl', '    in: ingest', '    with: {y: so2}'));
    expect(e.format('/proj')).toBe(
      [
        'pipeline.yaml:6:11 error: unknown step kind "modl"',
        '  6 |     kind: modl',
        '    |           ^^^^',
        '  hint: did you mean "model"?',
      ].join('\n'),
    );
    // Outside cwd the absolute path is shown.
    expect(e.format('/elsewhere').split('\n')[0]).toBe('/proj/pipeline.yaml:6:11 error: unknown step kind "modl"');
  });

  test('several problems are all reported, in file order', async () => {
    const e = await errorOf(
      y('steps:', '  b:', '    kind: modl', '  a:', '    kind: sourse', '    with: {path: x}', '  c:', '    kind: source', '    with: {path: 5}'),
    );
    expect(e).toBeInstanceOf(ConfigErrors);
    expect(e.errors.map((x) => `${x.line}:${x.col} ${x.message}`)).toEqual([
      '3:11 unknown step kind "modl"',
      '5:11 unknown step kind "sourse"',
      '9:18 param "path": expected string, received number',
    ]);
    expect(e.format('/proj')).toMatch(/\n3 errors$/);
    // The aggregate describes the first problem.
    expect([e.line, e.col, e.message]).toEqual([3, 11, 'unknown step kind "modl"']);
  });

  test('an error in a foreach template is reported once, not per expansion', async () => {
    const e = await errorOf(y('steps:', '  src:', '    kind: source', '    foreach: {f: [a, b, c]}', '    with: {path: "${f}.csv", rows: 0}'));
    expect(e.errors).toHaveLength(1);
    expect([e.line, e.col]).toEqual([5, 36]);
    expect(e.message).toMatch(/^param "rows": too small/i);
  });
});

describe('YAML details', () => {
  test('several documents in one file are rejected', async () => {
    const e = await errorOf(y('steps:', ...ingest, '---', 'steps:', ...ingest));
    expect([e.line, e.col, e.message]).toEqual([5, 1, 'YAML syntax: several YAML documents in one file (remove the `---` separators)']);
  });

  test('a quoted value is pointed at from its opening quote', async () => {
    const e = await errorOf(y('steps:', '  ingest:', '    kind: "sourse"'));
    expect([e.line, e.col, e.length]).toEqual([3, 11, 8]);
  });

  test('anchors and aliases resolve (values and positions)', async () => {
    const e = await errorOf(y('steps:', '  ingest:', '    kind: source', '    with: &w {path: 5}', '  other:', '    kind: source', '    with: *w'));
    expect(e.errors.map((x) => `${x.line}:${x.col} ${x.message}`)).toEqual(['4:21 param "path": expected string, received number']);
  });
});

describe('errors from different passes are reported together', () => {
  test('a bad reference (normalize) and a bad param (rules), without a spurious "missing input"', async () => {
    const e = await errorOf(
      y('steps:', '  ingest:', '    kind: source', '    with: {path: d.csv, rowz: 3}', '  m:', '    kind: model', '    in: ingst', '    with: {y: so2}'),
    );
    expect(e.errors.map((x) => `${x.line}:${x.col} ${x.message}`)).toEqual([
      '4:25 unknown param "rowz" for kind "source"',
      '7:9 unknown input id "ingst"',
    ]);
  });
});
