/**
 * The `script` step through the real runner (runPipeline with the study registry) and the CLI:
 * Python (standard library only), shell and R (skipped without Rscript) steps — caching, a script
 * edit reruns only that node, a declared output missing, a non-zero exit, a path with a space and
 * a quote (no injection), a timeout, the version / env parts of the fingerprint, a missing program.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { registry as studyRegistry } from '../../steps/index.js';
import type { Registry } from '../../engine/registry.js';
import { cli, makeRig, ROOT, statuses, type Rig } from './rig.js';
import { planPipeline } from '../../engine/plan.js';

const registry = studyRegistry as unknown as Registry;
const HAS_R = spawnSync('Rscript', ['--version']).status === 0;
const HAS_JSONLITE = HAS_R && spawnSync('Rscript', ['-e', 'library(jsonlite)']).status === 0;

let rig: Rig | undefined;
afterEach(() => {
  rig?.cleanup();
  rig = undefined;
});

const run = (r: Rig, o: Parameters<Rig['run']>[0] = {}) => r.run({ registry, codeRoot: ROOT, ...o });
const node = (res: Awaited<ReturnType<Rig['run']>>, id: string) => res.nodes.find((n) => n.id === id)!;

/** make.py writes a table; total.py sums its column x into JSON (and counts its runs). */
const MAKE_PY = `import csv, sys
with open(sys.argv[1], 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['city', 'x'])
    for i in range(1, 5):
        w.writerow(['c%d' % i, i * 1.5])
print('made 4 rows')
`;
const TOTAL_PY = `import csv, json, os, sys
rows = list(csv.DictReader(open(sys.argv[1])))
with open(sys.argv[2], 'w') as f:
    json.dump({'total': sum(float(r['x']) for r in rows), 'n': len(rows), 'seed': int(os.environ['REPRO_SEED'])}, f)
with open(os.environ['COUNTER'], 'a') as c:
    c.write('total\\n')
`;
const PY_YAML = `name: scripts
seed: 3
steps:
  make:
    kind: script
    with:
      run: python3 scripts/make.py {out.table}
      outputs: {table: csv}
  total:
    kind: script
    in: {t: make.table}
    with:
      run: python3 scripts/total.py {in.t} {out.summary}
      outputs: {summary: json}
      env: {COUNTER: COUNTER_FILE}
`;

async function pyRig(): Promise<Rig> {
  const r = await makeRig();
  r.write('scripts/make.py', MAKE_PY);
  r.write('scripts/total.py', TOTAL_PY);
  r.setYaml(PY_YAML.replace('COUNTER_FILE', r.counter));
  return r;
}

async function shown(r: Rig, ref: string): Promise<unknown> {
  const { session } = await planPipeline({ file: r.yaml, registry, codeRoot: ROOT });
  const l = await session.latest(ref.split('.')[0]!);
  const a = await session.store.get(l!.outputs[ref.split('.')[1]!]!);
  return a.type === 'json' ? a.value : a.type === 'file' ? new TextDecoder().decode(a.bytes) : a.table;
}

describe('script steps: Python', () => {
  it('runs, reads outputs back, caches the second run; a script edit reruns only that node', async () => {
    rig = await pyRig();
    const first = await run(rig);
    expect(first.ok, JSON.stringify(first.nodes.map((n) => n.error))).toBe(true);
    expect(statuses(first)).toEqual({ make: 'ran', total: 'ran' });
    expect(rig.executed()).toEqual(['total']);
    const summary = (await shown(rig, 'total.summary')) as { total: number; n: number; seed: number };
    expect(summary.total).toBe(1.5 + 3 + 4.5 + 6);
    expect(summary.n).toBe(4);
    expect(Number.isInteger(summary.seed) && summary.seed >= 0 && summary.seed < 2 ** 31).toBe(true);
    // the log keeps stdout, without the temp dir
    const log = (await shown(rig, 'make.log')) as string;
    expect(log).toContain('$ python3 scripts/make.py {out.table}');
    expect(log).toContain('made 4 rows');
    expect(log).toContain('--- exit 0 ---');
    expect(log).not.toMatch(/repro-script-/);

    const second = await run(rig);
    expect(statuses(second)).toEqual({ make: 'cached', total: 'cached' });
    expect(second.nodes.map((n) => n.key)).toEqual(first.nodes.map((n) => n.key));
    expect(rig.executed()).toEqual([]);

    // editing total.py reruns total only; editing make.py without changing its output: early cutoff
    rig.write('scripts/total.py', TOTAL_PY + '# edited\n');
    const third = await run(rig);
    expect(statuses(third)).toEqual({ make: 'cached', total: 'ran' });
    expect(node(third, 'total').reason).toBe('file scripts/total.py changed');
    rig.executed();
    rig.write('scripts/make.py', MAKE_PY + '# a comment\n');
    const fourth = await run(rig);
    expect(statuses(fourth)).toEqual({ make: 'ran', total: 'cached' });
    expect(rig.executed()).toEqual([]);
    // the same seed for the same node and pipeline seed: bit-identical reruns
    expect(((await shown(rig, 'total.summary')) as { seed: number }).seed).toBe(summary.seed);
  });

  it('a declared output the command did not write fails the node, naming it', async () => {
    rig = await pyRig();
    rig.setYaml(PY_YAML.replace('COUNTER_FILE', rig.counter).replace('outputs: {table: csv}', 'outputs: {table: csv, extra: json}'));
    const r = await run(rig);
    expect(r.ok).toBe(false);
    expect(statuses(r)).toEqual({ make: 'failed', total: 'skipped' });
    expect(node(r, 'make').error!.message).toMatch(/did not write the declared output extra \(extra\.json, \{out\.extra\}\)/);
    expect(node(r, 'make').error!.stepError).toBe(true);
  });

  it('a non-zero exit fails with the last lines of stderr, and is not cached', async () => {
    rig = await pyRig();
    rig.write('scripts/make.py', `import sys\nprint('step 1 ok')\nsys.stderr.write('reading the panel\\n')\nraise SystemExit('the panel has no column x')\n`);
    const r = await run(rig);
    expect(statuses(r)).toEqual({ make: 'failed', total: 'skipped' });
    const msg = node(r, 'make').error!.message;
    expect(msg).toMatch(/exited with code 1; last lines of its output:\nreading the panel\nthe panel has no column x/);
    rig.write('scripts/make.py', MAKE_PY);
    const again = await run(rig);
    expect(statuses(again)).toEqual({ make: 'ran', total: 'ran' });
  });

  it('stdout/stderr are kept in the run history (also of a failed node); cached nodes record none', async () => {
    rig = await pyRig();
    rig.write('scripts/make.py', `import sys\nprint('step 1 ok')\nsys.stderr.write('reading the panel\\n')\nraise SystemExit('the panel has no column x')\n`);
    const failed = await run(rig);
    expect(node(failed, 'make').transcript).toBe('$ python3 scripts/make.py {out.table}\n--- stdout ---\nstep 1 ok\n--- stderr ---\nreading the panel\nthe panel has no column x\n--- exit 1 ---\n');
    rig.write('scripts/make.py', MAKE_PY);
    await run(rig);
    await run(rig); // all cached
    const { readHistory } = await import('../../engine/history.js');
    const h = await readHistory(path.join(rig.dir, 'artifacts'));
    const rec = (run: number, id: string) => h.runs[run]!.nodes.find((n) => n.id === id)!;
    expect(rec(0, 'make').transcript).toContain('reading the panel\nthe panel has no column x');
    expect(rec(0, 'total').transcript).toBeUndefined(); // skipped: never ran
    expect(rec(1, 'make').transcript).toMatch(/--- stdout ---\nmade 4 rows\n/);
    expect(rec(1, 'total').transcript).toMatch(/--- exit 0 ---/);
    expect(h.runs[2]!.nodes.map((n) => [n.status, n.transcript])).toEqual([['cached', undefined], ['cached', undefined]]);
  });

  it('a table output that does not parse fails the node', async () => {
    rig = await pyRig();
    rig.write('scripts/make.py', `import sys\nopen(sys.argv[1], 'w').write('a,b\\n1,2\\n3\\n')\n`);
    const r = await run(rig);
    expect(node(r, 'make').error!.message).toBe('output table (table.csv): row 3 has 1 fields, the header has 2');
  });

  it('paths with a space and a quote are single arguments: no shell injection', async () => {
    rig = await makeRig();
    const dir = `scripts/it's a dir`;
    rig.write(`${dir}/argv.py`, `import json, sys\njson.dump(sys.argv[1:], open(sys.argv[-1], 'w'))\n`);
    // a YAML block scalar holds the command as is; the path is double-quoted for the word split
    rig.setYaml(`name: inj
steps:
  argv:
    kind: script
    with:
      run: >-
        python3 "${dir}/argv.py" "$(touch pwned)" "; touch pwned2" {out.args}
      outputs: {args: json}
`);
    const r = await run(rig);
    expect(r.ok, node(r, 'argv').error?.message).toBe(true);
    const args = (await shown(rig, 'argv.args')) as string[];
    expect(args.slice(0, 2)).toEqual(['$(touch pwned)', '; touch pwned2']);
    expect(args[2]).toMatch(/out\/args\.json$/);
    expect(fs.existsSync(path.join(rig.dir, 'pwned'))).toBe(false);
    expect(fs.existsSync(path.join(rig.dir, 'pwned2'))).toBe(false);
    // the script with a quote in its folder name is hashed into the fingerprint
    expect(Object.keys(node(r, 'argv').key ? (await planPipeline({ file: rig.yaml, registry, codeRoot: ROOT })).nodes[0]!.parts.files : {})).toEqual([`${dir}/argv.py`]);
    // an unquoted shell operator is a validation error (nothing runs)
    rig.setYaml(`name: inj
steps:
  argv:
    kind: script
    with:
      run: python3 x.py {out.args} > log.txt
      outputs: {args: json}
`);
    await expect(run(rig)).rejects.toThrow(/unquoted ">" in the command: it runs without a shell/);
  });

  it('a command running past its timeout is killed and fails the node', async () => {
    rig = await makeRig();
    rig.write('scripts/slow.py', `import time\nprint('starting', flush=True)\ntime.sleep(60)\n`);
    rig.setYaml(`name: slow
steps:
  slow:
    kind: script
    with:
      run: python3 scripts/slow.py {out.x}
      outputs: {x: json}
      timeout: 1
`);
    const t = Date.now();
    const r = await run(rig);
    expect(Date.now() - t).toBeLessThan(20_000);
    expect(statuses(r)).toEqual({ slow: 'failed' });
    expect(node(r, 'slow').error!.message).toMatch(/^the command timed out after 1 s \(timeout: 1\) and was killed; last lines of its output:\nstarting/);
  });

  it('the version output and fingerprint_env values enter the fingerprint', async () => {
    rig = await makeRig();
    const tool = path.join(rig.dir, 'tool');
    fs.writeFileSync(tool, '#!/bin/sh\necho "tool 1.0"\n', { mode: 0o755 });
    rig.write('scripts/v.py', `import json, sys\njson.dump(1, open(sys.argv[1], 'w'))\n`);
    rig.setYaml(`name: ver
steps:
  v:
    kind: script
    with:
      run: python3 scripts/v.py {out.x}
      outputs: {x: json}
      version: ./tool --version
      fingerprint_env: [REPRO_TEST_LEVEL]
`);
    process.env.REPRO_TEST_LEVEL = 'a';
    try {
      const first = await run(rig);
      expect(first.ok, node(first, 'v').error?.message).toBe(true);
      const plan = await planPipeline({ file: rig.yaml, registry, codeRoot: ROOT });
      expect(plan.nodes[0]!.parts.extra).toEqual({ 'env.REPRO_TEST_LEVEL': 'a', program: 'python3 found', version: 'tool 1.0' });
      expect(statuses(await run(rig))).toEqual({ v: 'cached' });
      // a new "interpreter" (a new binary: other stat) reruns the node, and why says so
      fs.writeFileSync(tool, '#!/bin/sh\necho "tool 2.0"\n', { mode: 0o755 });
      const second = await run(rig);
      expect(statuses(second)).toEqual({ v: 'ran' });
      expect(node(second, 'v').reason).toBe('version changed');
      const why = (await planPipeline({ file: rig.yaml, registry, codeRoot: ROOT })).nodes[0]!;
      expect(why.state).toBe('cached');
      process.env.REPRO_TEST_LEVEL = 'b';
      const third = await run(rig);
      expect(statuses(third)).toEqual({ v: 'ran' });
      expect(node(third, 'v').reasons).toEqual([{ kind: 'extra', name: 'env.REPRO_TEST_LEVEL', old: 'a', new: 'b' }]);
    } finally {
      delete process.env.REPRO_TEST_LEVEL;
    }
  });

  it('a missing program is a clear error with the install hint; if_missing: skip succeeds with a note', async () => {
    rig = await makeRig();
    rig.write('scripts/x.R', 'cat(1)\n');
    rig.setYaml(`name: missing
steps:
  fx:
    kind: script
    with:
      run: Rscript scripts/x.R {out.model}
      outputs: {model: json}
      env: {PATH: /nonexistent}
`);
    const r = await run(rig);
    expect(node(r, 'fx').error!.message).toMatch(/^Rscript \(first word of `run`\) is not installed or not on PATH: install R \(https:\/\/cloud\.r-project\.org/);
    rig.setYaml(`name: missing
steps:
  fx:
    kind: script
    with:
      run: Rscript scripts/x.R {out.model}
      outputs: {model: json}
      env: {PATH: /nonexistent}
      if_missing: skip
      when_skipped: {model: {engine: none}}
`);
    const s = await run(rig);
    expect(statuses(s)).toEqual({ fx: 'ran' });
    expect(node(s, 'fx').warnings[0]).toMatch(/^skipped: Rscript .* is not installed/);
    expect(await shown(rig, 'fx.model')).toEqual({ engine: 'none', skipped: expect.stringMatching(/^Rscript .*not on PATH/) });
    const plan = await planPipeline({ file: rig.yaml, registry, codeRoot: ROOT });
    expect(plan.nodes[0]!.parts.extra).toEqual({ program: 'Rscript not found' });
    // a missing script file is named before anything runs
    rig.setYaml(`name: missing
steps:
  fx:
    kind: script
    with:
      run: python3 scripts/nope.py {out.model}
      outputs: {model: json}
`);
    const m = await run(rig);
    expect(node(m, 'fx').error!.message).toMatch(/^script scripts\/nope\.py \(in `run`\) does not exist/);
  });

  it('validation: unnamed inputs, undeclared outputs and unknown placeholders are config errors', async () => {
    rig = await pyRig();
    rig.setYaml(PY_YAML.replace('in: {t: make.table}', 'in: make.table'));
    await expect(run(rig)).rejects.toThrow(/the inputs of step kind "script" need names/);
    rig.setYaml(PY_YAML.replace('in: {t: make.table}', 'in: {t: make.tabel}'));
    await expect(run(rig)).rejects.toThrow(/step "make" \(kind "script"\) has no output "tabel"/);
    rig.setYaml(PY_YAML.replace('{out.summary}', '{out.summary} {out.other}'));
    await expect(run(rig)).rejects.toThrow(/\{out\.other\} is not a declared output \(declared: summary\)/);
    rig.setYaml(PY_YAML.replace('outputs: {table: csv}', 'outputs: {table: parquet}'));
    await expect(run(rig)).rejects.toThrow(/parquet is not supported/);
    rig.setYaml(PY_YAML.replace('{in.t}', '{in.u}'));
    const r = await run(rig);
    expect(node(r, 'total').error!.message).toMatch(/\{in\.u\} in `run`: the node has no input "u" \(its inputs: t\)/);
  });
});

describe('script steps: tool and version in the report', () => {
  it('the tool output carries the version command output, and report lists it under Run', async () => {
    rig = await pyRig();
    rig.setYaml(
      PY_YAML.replace('COUNTER_FILE', rig.counter).replace('outputs: {table: csv}', 'outputs: {table: csv}\n      version: python3 --version') +
        `  report:
    kind: report
    in: {tools: [make.tool, total.tool]}
    with: {paper_notes: false, paper_file: ${JSON.stringify(path.join(ROOT, 'data/paper-tables.json'))}, git: false}
`,
    );
    const r = await run(rig);
    expect(r.ok, JSON.stringify(r.nodes.map((n) => n.error?.message))).toBe(true);
    const py = spawnSync('python3', ['--version'], { encoding: 'utf8' });
    const version = `${py.stdout}\n${py.stderr}`.trim();
    expect(version).toMatch(/^Python 3\./);
    expect(await shown(rig, 'make.tool')).toEqual({ node: 'make', program: 'python3', version_command: 'python3 --version', version });
    expect(await shown(rig, 'total.tool')).toEqual({ node: 'total', program: 'python3', version_command: null, version: null });
    const html = String(await shown(rig, 'report.html'));
    const section = html.slice(html.indexOf('<h3>External tools (script nodes)</h3>'));
    expect(section).toContain(`<tr><td>make</td><td class="mono">python3</td><td class="mono" style="white-space: pre-line">${version}</td></tr>`);
    expect(section).toContain('<tr><td>total</td><td class="mono">python3</td><td class="mono" style="white-space: pre-line">not recorded (the node has no `version` command)</td></tr>');
    // a skipped node (program missing, if_missing: skip) says why in place of the version
    const { parseOverride } = await import('../../engine/config/overrides.js');
    rig.setYaml(fs.readFileSync(rig.yaml, 'utf8').replace('outputs: {summary: json}', 'outputs: {summary: json}\n      if_missing: skip'));
    const skipped = await run(rig, { overrides: [parseOverride('total.env.PATH=/nonexistent')] });
    expect(skipped.ok).toBe(true);
    const h2 = String(await shown(rig, 'report.html'));
    expect(h2).toMatch(/<tr><td>total<\/td><td class="mono">python3<\/td><td class="mono" style="white-space: pre-line">not run: python3 \(first word of `run`\) is not installed or not on PATH/);
  });

  it('validation refuses a tools input that is not a script node\'s tool output', async () => {
    rig = await pyRig();
    rig.setYaml(
      PY_YAML.replace('COUNTER_FILE', rig.counter) +
        `  report:
    kind: report
    in: {tools: [total.summary]}
    with: {paper_notes: false, paper_file: ${JSON.stringify(path.join(ROOT, 'data/paper-tables.json'))}, git: false}
`,
    );
    await expect(run(rig)).rejects.toThrow(/input "tools" of kind "report" accepts "script-tool" artifacts, but total\.summary \(kind "script"\) is not declared as any of them/);
  });
});

describe('script steps: shell', () => {
  it('sh with a script file (cached, edit reruns) and shell: true with a pipe', async () => {
    rig = await makeRig();
    rig.write('scripts/count.sh', `#!/bin/sh\n# count data rows of a CSV\necho "counting $1" >&2\nn=$(tail -n +2 "$1" | wc -l)\necho "{\\"rows\\": $n}" > "$2"\n`);
    rig.write('scripts/make.py', MAKE_PY);
    rig.setYaml(`name: sh
steps:
  make:
    kind: script
    with:
      run: python3 scripts/make.py {out.table}
      outputs: {table: csv}
  count:
    kind: script
    in: {t: make.table}
    with:
      run: sh scripts/count.sh {in.t} {out.n}
      outputs: {n: json}
  piped:
    kind: script
    in: {t: make.table}
    with:
      run: cut -d, -f1 {in.t} | sort -r > {out.cities}
      shell: true
      outputs: {cities: txt}
`);
    const first = await run(rig);
    expect(first.ok, JSON.stringify(first.nodes.map((n) => n.error?.message))).toBe(true);
    expect(await shown(rig, 'count.n')).toEqual({ rows: 4 });
    expect(await shown(rig, 'piped.cities')).toBe('city\nc4\nc3\nc2\nc1\n');
    expect(statuses(await run(rig))).toEqual({ make: 'cached', count: 'cached', piped: 'cached' });
    rig.write('scripts/count.sh', fs.readFileSync(path.join(rig.dir, 'scripts/count.sh'), 'utf8') + '# edited\n');
    const r = await run(rig);
    expect(statuses(r)).toEqual({ make: 'cached', count: 'ran', piped: 'cached' });
  });
});

describe.skipIf(!HAS_JSONLITE)('script steps: R (needs Rscript with jsonlite)', () => {
  it('Rscript reads the CSV input, writes JSON; cached; an edit of the R script reruns it', async () => {
    rig = await makeRig();
    rig.write('scripts/make.py', MAKE_PY);
    const R = `args <- commandArgs(trailingOnly = TRUE)\nd <- read.csv(args[1])\nset.seed(as.integer(Sys.getenv("REPRO_SEED")))\njsonlite::write_json(list(mean = mean(d$x), n = nrow(d)), args[2], auto_unbox = TRUE, digits = NA)\n`;
    rig.write('scripts/mean.R', R);
    rig.setYaml(`name: r
steps:
  make:
    kind: script
    with:
      run: python3 scripts/make.py {out.table}
      outputs: {table: csv}
  m:
    kind: script
    in: {panel: make.table}
    with:
      run: Rscript scripts/mean.R {in.panel} {out.stats}
      outputs: {stats: json}
      version: Rscript --version
`);
    const first = await run(rig);
    expect(first.ok, node(first, 'm').error?.message).toBe(true);
    expect(await shown(rig, 'm.stats')).toEqual({ mean: 3.75, n: 4 });
    const plan = await planPipeline({ file: rig.yaml, registry, codeRoot: ROOT });
    expect(plan.nodes.find((n) => n.id === 'm')!.parts.extra!.version).toMatch(/R.*version \d+\.\d+/);
    expect(statuses(await run(rig))).toEqual({ make: 'cached', m: 'cached' });
    rig.write('scripts/mean.R', R + '# edited\n');
    const r = await run(rig);
    expect(statuses(r)).toEqual({ make: 'cached', m: 'ran' });
    expect(node(r, 'm').reason).toBe('file scripts/mean.R changed');
  });
});

describe.skipIf(!fs.existsSync(path.join(ROOT, 'dist/engine/cli/main.js')))('script steps through the CLI', () => {
  it('run, then `show ID.log` prints the kept stdout/stderr and `why` names the edited script', async () => {
    rig = await pyRig();
    const env = { REPRO_REGISTRY: path.join(ROOT, 'dist/steps/index.js') };
    const r = await cli(['run', '--json'], rig.dir, env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).nodes.map((n: { status: string }) => n.status)).toEqual(['ran', 'ran']);
    const log = await cli(['show', 'make.log'], rig.dir, env);
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout).toContain('made 4 rows');
    rig.write('scripts/total.py', TOTAL_PY + '# edited\n');
    const why = await cli(['why', 'total'], rig.dir, env);
    expect(why.stdout + why.stderr).toContain('file scripts/total.py changed');
    const st = await cli(['status', '--json'], rig.dir, env);
    expect(JSON.parse(st.stdout).nodes.map((n: { id: string; state: string }) => [n.id, n.state])).toEqual([['make', 'cached'], ['total', 'stale']]);
  });

  it('`repro log N --node ID` prints the stdout/stderr a node kept, also when it failed', async () => {
    rig = await pyRig();
    const env = { REPRO_REGISTRY: path.join(ROOT, 'dist/steps/index.js') };
    rig.write('scripts/make.py', `import sys\nprint('step 1 ok')\nsys.stderr.write('reading the panel\\n')\nraise SystemExit('the panel has no column x')\n`);
    expect((await cli(['run'], rig.dir, env)).code).toBe(1);
    rig.write('scripts/make.py', MAKE_PY);
    expect((await cli(['run'], rig.dir, env)).code).toBe(0);
    expect((await cli(['run'], rig.dir, env)).code).toBe(0); // all cached
    const one = await cli(['log', '1', '--node', 'make', '--no-color'], rig.dir, env);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^make \(script\) in run #1: failed in .*\nerror: the command exited with code 1/);
    expect(one.stdout).toContain('--- transcript ---\n$ python3 scripts/make.py {out.table}\n--- stdout ---\nstep 1 ok\n--- stderr ---\nreading the panel\nthe panel has no column x\n--- exit 1 ---\n');
    const run1 = await cli(['log', '1', '--no-color'], rig.dir, env);
    expect(run1.stdout).toContain('output kept (transcript) for: make — `repro log 1 --node ID`');
    const two = await cli(['log', '#2', '--node', 'total'], rig.dir, env);
    expect(two.stdout).toContain('--- stdout ---');
    expect(two.stdout).toContain('--- exit 0 ---');
    const json = await cli(['log', '2', '--node', 'make', '--json'], rig.dir, env);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: 'make', status: 'ran', transcript: expect.stringContaining('made 4 rows') });
    const cached = await cli(['log', '3', '--node', 'make'], rig.dir, env);
    expect(cached.code).toBe(0);
    expect(cached.stdout).toContain('no transcript: it was cached in this run (its step did not run)');
    const unknown = await cli(['log', '2', '--node', 'nope'], rig.dir, env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('run #2 has no node nope (its nodes: make, total)');
    const noRun = await cli(['log', '--node', 'make'], rig.dir, env);
    expect(noRun.code).toBe(2);
    expect(noRun.stderr).toContain('--node make needs a run number: `repro log N --node make`');
    const help = await cli(['log', '--help'], rig.dir, env);
    expect(help.stdout).toContain('repro log N --node ID');
  });

  it('`repro status` warns about a program that is not installed, with the install hint', async () => {
    rig = await pyRig();
    rig.setYaml(PY_YAML.replace('run: python3 scripts/total.py', 'run: Rscript scripts/total.py').replace('env: {COUNTER: COUNTER_FILE}', 'env: {PATH: /nonexistent}'));
    const env = { REPRO_REGISTRY: path.join(ROOT, 'dist/steps/index.js') };
    const st = await cli(['status'], rig.dir, env);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stderr).toContain('warning: total: Rscript is not installed or not on PATH: install R (https://cloud.r-project.org');
    const js = await cli(['status', '--json'], rig.dir, env);
    const total = JSON.parse(js.stdout).nodes.find((n: { id: string }) => n.id === 'total');
    expect(total.warnings).toEqual([expect.stringMatching(/^Rscript is not installed or not on PATH/)]);
    expect(JSON.parse(js.stdout).nodes.find((n: { id: string }) => n.id === 'make').warnings).toBeUndefined();
  });
});

describe('pipelines/script-example.yaml', () => {
  it('runs (Python + shell script + shell pipeline), and a second run is all cached', async () => {
    const store = fs.mkdtempSync(path.join(ROOT, '.repro-tmp', 'script-example-'));
    try {
      const { runPipeline } = await import('../../engine/executor.js');
      const file = path.join(ROOT, 'pipelines/script-example.yaml');
      const first = await runPipeline({ file, registry, codeRoot: ROOT, storeDir: store, jobs: 2 });
      expect(first.ok, JSON.stringify(first.nodes.map((n) => n.error?.message))).toBe(true);
      const { planPipeline: plan } = await import('../../engine/plan.js');
      const { session } = await plan({ file, registry, codeRoot: ROOT, storeDir: store });
      const top = await session.store.get((await session.latest('top'))!.outputs.top!);
      expect(top.type === 'table' && top.table.names).toEqual(['year', 'mean_so2', 'cities']);
      expect(top.type === 'table' && top.table.nrows).toBe(3);
      const second = await runPipeline({ file, registry, codeRoot: ROOT, storeDir: store, jobs: 2 });
      expect(second.nodes.every((n) => n.status === 'cached')).toBe(true);
    } finally {
      fs.rmSync(store, { recursive: true, force: true });
    }
  });
});

describe('pipeline.yaml: baseline_r (R re-estimate of the baseline) next to ours', () => {
  it('succeeds with or without R; with R its DID and controls agree with the estimate step', async () => {
    const store = fs.mkdtempSync(path.join(ROOT, '.repro-tmp', 'baseline-r-'));
    try {
      const { runPipeline } = await import('../../engine/executor.js');
      const file = path.join(ROOT, 'pipeline.yaml');
      // published tables go to results/ (git-ignored), as `repro run` does
      const r = await runPipeline({ file, registry, codeRoot: ROOT, storeDir: store, jobs: 2, targets: ['baseline_vs_r'], workers: false });
      expect(r.ok, JSON.stringify(r.nodes.filter((n) => n.error).map((n) => n.error?.message))).toBe(true);
      const { session } = await planPipeline({ file, registry, codeRoot: ROOT, storeDir: store });
      const get = async (id: string) => {
        const a = await session.store.get((await session.latest(id))!.outputs.model!);
        return a.type === 'json' ? (a.value as { engine?: string; skipped?: string; n: number; coefficients: { term: string; estimate: number | null; se: number | null }[] }) : undefined;
      };
      const ours = (await get('baseline'))!;
      const rm = (await get('baseline_r'))!;
      // the tool output the report lists (pipeline.yaml wires report.tools: [baseline_r.tool])
      const tool = await session.store.get((await session.latest('baseline_r'))!.outputs.tool!);
      const rVersion = spawnSync('Rscript', ['--version'], { encoding: 'utf8' });
      expect(tool.type === 'json' && tool.value).toEqual(
        HAS_R
          ? { node: 'baseline_r', program: 'Rscript', version_command: 'Rscript --version', version: `${rVersion.stdout}\n${rVersion.stderr}`.trim() }
          : { node: 'baseline_r', program: 'Rscript', version_command: 'Rscript --version', version: null, skipped: expect.stringMatching(/^Rscript \(first word of `run`\) is not installed/) },
      );
      if (!HAS_R) {
        expect(rm.skipped).toMatch(/Rscript .*not on PATH/);
        return;
      }
      expect(rm.engine).toMatch(/^(fixest .* feols|lm \+ sandwich)/);
      expect(rm.n).toBe(ours.n);
      // reghdfe/fixest convention on both sides (fixed effects nested in the cluster not in K):
      // measured: relative differences ~1e-14 (coefficients) and ~1e-13 (SEs) with lm + sandwich
      for (const c of rm.coefficients) {
        const o = ours.coefficients.find((x) => x.term === c.term)!;
        expect(Math.abs(c.estimate! - o.estimate!) / Math.abs(o.estimate!)).toBeLessThan(1e-8);
        expect(Math.abs(c.se! - o.se!) / o.se!).toBeLessThan(1e-6);
      }
      expect(rm.coefficients.map((c) => c.term)).toEqual(['did', 'pgdp', 'indus', 'urb', 'fin', 'fis']);
      // as on CI (no R): PATH without Rscript → skipped with a note; the table still builds
      const { parseOverride } = await import('../../engine/config/overrides.js');
      const noR = await runPipeline({ file, registry, codeRoot: ROOT, storeDir: store, jobs: 2, targets: ['baseline_vs_r'], workers: false, overrides: [parseOverride('baseline_r.env.PATH=/nonexistent')] });
      expect(noR.ok).toBe(true);
      expect(noR.nodes.find((n) => n.id === 'baseline_r')!.warnings[0]).toMatch(/^skipped: Rscript \(first word of `run`\) is not installed/);
      const md = noR.nodes.find((n) => n.id === 'baseline_vs_r')!.outputs!.md!;
      const text = await session.store.get(md);
      expect(text.type === 'file' && new TextDecoder().decode(text.bytes)).toMatch(/\| DID \| -?\d+\.\d+(\\\*)* \| \(omitted\) \|/);
    } finally {
      fs.rmSync(store, { recursive: true, force: true });
    }
  });
});
