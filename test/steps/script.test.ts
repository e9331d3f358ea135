import { spawnSync } from 'node:child_process';
/**
 * The `script` step's pieces: word splitting without a shell, placeholders, the script files a
 * command runs, CSV read-back, params validation, and run() on a step context (Python, standard
 * library only; shell). The engine-level behaviour (caching, edits, failures, timeout, CLI) is in
 * test/engine/script.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import step, { csvToTable, extraFingerprint, scriptOutputs } from '../../steps/script.js';
import { installHint, placeholders, scriptFiles, splitCommand, substitute, whichProgram } from '../../steps/common/command.js';
import { makeTable, toRows } from '../../engine/table.js';
import { makeCtx } from './ctx.js';

const words = (c: string, noShell = true) => splitCommand(c, noShell).map((w) => w.text);

describe('splitCommand: like sh, without expansion', () => {
  it('splits on whitespace, removes quotes, keeps quoted spaces and quotes in one word', () => {
    expect(words(`Rscript  "my dir/fit.R" 'it''s' a\\ b "say \\"hi\\"" --x='1 2'`)).toEqual(['Rscript', 'my dir/fit.R', 'its', 'a b', 'say "hi"', '--x=1 2']);
    expect(words(`python3 "it's here/x.py"`)).toEqual(['python3', "it's here/x.py"]);
    expect(words(`a "" b`)).toEqual(['a', '', 'b']);
  });
  it('refuses unquoted shell operators unless a shell is asked for, and unterminated quotes', () => {
    for (const op of ['|', '>', '<', ';', '&', '$', '`', '(']) expect(() => splitCommand(`a ${op} b`)).toThrow(`unquoted "${op}"`);
    expect(words('a "x|y" \'$HOME\'')).toEqual(['a', 'x|y', '$HOME']);
    expect(words('a | b', false)).toEqual(['a', '|', 'b']);
    expect(() => splitCommand('a "b')).toThrow('unterminated " quote at character 3');
    expect(() => splitCommand("a 'b")).toThrow("unterminated ' quote at character 3");
  });
});

describe('placeholders and substitution', () => {
  it('finds {in.X}, {out.X}, {project} and reports unknown ones', () => {
    expect(placeholders('Rscript x.R {in.panel} {out.model} {project}/a {outs.x} {in}')).toEqual({ in: ['panel'], out: ['model'], unknown: ['{outs.x}', '{in}'] });
  });
  it('substitutes paths as they are (one argument) or single-quoted for a shell', () => {
    const paths = { in: { p: "/t/in/it's.csv" }, out: { m: '/t/out/m.json' }, project: '/pr oj' };
    expect(substitute('--in={in.p}', paths)).toBe("--in=/t/in/it's.csv");
    expect(substitute('cat {in.p} > {out.m}; ls {project}', paths, true)).toBe(`cat '/t/in/it'\\''s.csv' > '/t/out/m.json'; ls '/pr oj'`);
    expect(() => substitute('{in.q}', paths)).toThrow('{in.q}: no input "q"');
  });
});

describe('scriptFiles: the project files a command runs', () => {
  it('finds scripts by extension and a relative program, not options, placeholders or absolute paths', () => {
    expect(scriptFiles('Rscript scripts/fit.R {in.panel} {out.m}', false)).toEqual(['scripts/fit.R']);
    expect(scriptFiles('./bin/run.sh --flag=x.R -u x.py /abs/y.py {in.a}.R https://x.org/a.R {project}/helpers/h.R', false)).toEqual(['./bin/run.sh', 'x.py', 'helpers/h.R']);
    expect(scriptFiles('stata-mp -b do "analysis/main file.do"', false)).toEqual(['analysis/main file.do']);
    expect(scriptFiles('python3 -c "print(1)"', false)).toEqual([]);
    // with a shell the command runs in the temp dir: only {project}/ paths name project files
    expect(scriptFiles('sh scripts/a.sh | sh {project}/scripts/b.sh', true)).toEqual(['scripts/b.sh']);
  });
});

describe('CSV read-back', () => {
  it('numeric columns where every non-missing cell is a number (NA, NaN, empty → missing), text otherwise', async () => {
    const t = await csvToTable('city,x,y,z\n"a, b",1.5,NA,\nc,-2e3,3,\n', 'output t');
    expect(t.names).toEqual(['city', 'x', 'y', 'z']);
    expect(toRows(t)).toEqual([
      { city: 'a, b', x: 1.5, y: null, z: null },
      { city: 'c', x: -2000, y: 3, z: null },
    ]);
    expect(t.columns.x).toBeInstanceOf(Float64Array);
    expect(t.columns.z).not.toBeInstanceOf(Float64Array); // no value at all: text column of nulls
  });
  it('rejects a duplicate or empty header name, ragged rows and an empty file, naming the output', async () => {
    await expect(csvToTable('a,a\n1,2\n', 'output t (t.csv)')).rejects.toThrow('output t (t.csv): column "a" appears twice in the header');
    await expect(csvToTable('a,\n1,2\n', 'output t')).rejects.toThrow('output t: column 2 of the header has no name');
    await expect(csvToTable('a,b\n1\n', 'output t')).rejects.toThrow('output t: row 2 has 1 fields, the header has 2');
    await expect(csvToTable('', 'output t')).rejects.toThrow('output t is empty');
  });
});

describe('params', () => {
  const parse = (w: Record<string, unknown>) => step.params.safeParse(w);
  const msgs = (w: Record<string, unknown>) => {
    const r = parse(w);
    return r.success ? [] : r.error.issues.map((i) => i.message);
  };
  it('declares outputs by format, with log and tool added; contracts pass through', () => {
    const p = step.params.parse({ run: 'Rscript x.R {out.m} {out.c}', outputs: { m: { as: 'json', contract: 'model' }, c: 'csv', fig: 'png', a: 'arrow' } });
    expect(scriptOutputs(p)).toEqual({ m: { type: 'json', contract: 'model' }, c: 'table', fig: 'file', a: 'table', log: 'file', tool: { type: 'json', contract: 'script-tool' } });
    expect(p.shell).toBe(false);
    expect(p.inputs_as).toBe('csv');
    expect(typeof step.pathParams === 'function' && step.pathParams(p)).toEqual(['x.R']);
  });
  it('explains what is wrong', () => {
    expect(msgs({ run: 'x {out.y}', outputs: { m: 'json' } })).toEqual(['{out.y} is not a declared output (declared: m)']);
    expect(msgs({ run: 'x', outputs: {} })[0]).toMatch(/declare at least one output/);
    expect(msgs({ run: 'x', outputs: { log: 'txt' } })[0]).toMatch(/`log` is the output that keeps stdout\/stderr/);
    expect(msgs({ run: 'x', outputs: { tool: 'json' } })[0]).toMatch(/`tool` is the output that names the program and its version/);
    expect(msgs({ run: 'x', outputs: { m: 'parquet' } })[0]).toMatch(/^parquet is not supported/);
    expect(msgs({ run: 'x', outputs: { m: 'json' }, inputs_as: 'parquet' })[0]).toMatch(/^parquet is not supported/);
    expect(msgs({ run: 'x {inn.a}', outputs: { m: 'json' } })).toEqual(['unknown placeholder {inn.a}: use {in.NAME}, {out.NAME} or {project}']);
    expect(msgs({ run: '{in.a} x', outputs: { m: 'json' } })).toEqual(['the program (first word) cannot be a placeholder']);
    expect(msgs({ run: 'x', outputs: { t: 'csv' }, if_missing: 'skip' })[0]).toMatch(/needs json, md or txt outputs; output "t" is csv/);
    expect(msgs({ run: 'x', outputs: { m: 'json' }, when_skipped: { n: {} } })).toEqual(['"n" is not a declared output']);
  });
});

describe('run() on a step context', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'script-step-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'double.py'), `import csv, json, os, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print('rows:', len(rows), flush=True)
with open(sys.argv[2], 'w', newline='') as f:
    w = csv.writer(f); w.writerow(['city', 'x2'])
    for r in rows: w.writerow([r['city'], 2 * float(r['x']) if r['x'] else 'NA'])
json.dump({'meta': json.load(open(sys.argv[3])), 'seed': os.environ['REPRO_SEED'], 'node': os.environ['REPRO_NODE'], 'level': os.environ['LEVEL']}, open(sys.argv[4], 'w'))
open(sys.argv[5], 'w').write('# done\\n')
`);
  const table = makeTable({ city: ['a', 'b', null], x: new Float64Array([1, NaN, 2.5]) });

  it('writes table/json inputs, passes placeholders, env and REPRO_SEED, reads every declared output back', async () => {
    const { ctx, infos, transcripts } = makeCtx({ baseDir: dir, nodeId: 'dbl', seed: 5 });
    const p = step.params.parse({
      run: 'python3 double.py {in.t} {out.t2} {in.meta} {out.info} {out.note}',
      outputs: { t2: 'csv', info: 'json', note: 'md' },
      env: { LEVEL: 'high' },
      version: 'python3 --version',
    });
    const out = await step.run(ctx, { t: { type: 'table', table }, meta: { type: 'json', value: { k: [1, 2] } } }, p);
    expect(Object.keys(out)).toEqual(['t2', 'info', 'note', 'log', 'tool']);
    // the tool output: the version command's output, the same text that entered the fingerprint
    const python = spawnSync('python3', ['--version'], { encoding: 'utf8' });
    const pyVersion = `${python.stdout}\n${python.stderr}`.trim();
    expect(out.tool).toEqual({ type: 'json', value: { node: 'dbl', program: 'python3', version_command: 'python3 --version', version: pyVersion } });
    expect(extraFingerprint(p, { baseDir: dir, stat: null }).version).toBe(pyVersion);
    // stdout/stderr kept for the run history: the same text as the log output
    expect(transcripts).toEqual([new TextDecoder().decode((out.log as { bytes: Uint8Array }).bytes)]);
    expect(transcripts[0]).toMatch(/--- stdout ---\nrows: 3\n--- stderr ---\n--- exit 0 ---/);
    const t2 = out.t2!;
    expect(t2.type === 'table' && toRows(t2.table)).toEqual([
      { city: 'a', x2: 2 },
      { city: 'b', x2: null },
      { city: null, x2: 5 },
    ]);
    const info = out.info!.type === 'json' ? (out.info!.value as Record<string, unknown>) : {};
    expect(info).toEqual({ meta: { k: [1, 2] }, seed: String(ctx.rng('script').int(2147483647)), node: 'dbl', level: 'high' });
    expect(out.note).toEqual({ type: 'file', ext: 'md', bytes: new TextEncoder().encode('# done\n') });
    expect(infos).toContain('rows: 3');
    expect(infos[0]).toBe('$ python3 double.py {in.t} {out.t2} {in.meta} {out.info} {out.note}');
  });

  it('an input name that is not a plain name is refused (it becomes a file name)', async () => {
    const { ctx } = makeCtx({ baseDir: dir });
    const p = step.params.parse({ run: 'sh -c true {out.t}', outputs: { t: 'json' } });
    await expect(step.run(ctx, { '../../escape': { type: 'json', value: 1 } }, p)).rejects.toThrow('input name "../../escape": use letters, digits and _');
  });

  it('arrow inputs and outputs round-trip', async () => {
    fs.writeFileSync(path.join(dir, 'copy.sh'), 'cp "$1" "$2"\n');
    const { ctx } = makeCtx({ baseDir: dir });
    const p = step.params.parse({ run: 'sh copy.sh {in.t} {out.t}', inputs_as: 'arrow', outputs: { t: 'arrow' } });
    const out = await step.run(ctx, { t: { type: 'table', table } }, p);
    expect(out.t!.type === 'table' && toRows(out.t!.table)).toEqual(toRows(table));
  });

  it('extraFingerprint: program found or not, env values', () => {
    const p = step.params.parse({ run: 'python3 x.py {out.m}', outputs: { m: 'json' }, fingerprint_env: ['REPRO_UNSET_VAR_X'], env: { A: '1' } });
    expect(extraFingerprint(p, { baseDir: dir, stat: null })).toEqual({ program: 'python3 found', 'env.REPRO_UNSET_VAR_X': '(unset)' });
    const q = step.params.parse({ run: 'no-such-program-zz x.py {out.m}', outputs: { m: 'json' }, fingerprint_env: ['A'], env: { A: '1' } });
    expect(extraFingerprint(q, { baseDir: dir, stat: null })).toEqual({ program: 'no-such-program-zz not found', 'env.A': '1' });
  });

  it('whichProgram and install hints', () => {
    expect(whichProgram('sh', process.env.PATH, dir)).toMatch(/\/sh$/);
    expect(whichProgram('no-such-program-zz', process.env.PATH, dir)).toBeNull();
    expect(installHint('Rscript')).toMatch(/apt-get install r-base-core/);
    expect(installHint('python3')).toMatch(/python\.org/);
    expect(installHint('stata-mp')).toMatch(/licensed/);
    expect(installHint('foo')).toMatch(/install foo or put the folder that holds it on PATH/);
  });
});
