/**
 * `script`: run existing analysis code (R, Python, Stata, shell, …) as a node of the cached DAG.
 *
 * The command runs in a fresh temporary directory: inputs are written to `in/` there (tables as CSV
 * or Arrow IPC, JSON as `.json`, files with their extension), the placeholders `{in.NAME}` and
 * `{out.NAME}` become the absolute paths of those files and of the declared outputs (in `out/`),
 * `{project}` the pipeline's folder. Without `shell: true` the command is split into words like a
 * shell would and run directly: a placeholder (or a path with spaces or quotes) is always exactly
 * one argument, so nothing in a path can inject a command. Project files the command runs
 * (`Rscript scripts/fit.R` → `scripts/fit.R`, found by extension) are resolved against the pipeline
 * folder and, with the files listed in `files`, hashed into the fingerprint: editing the script
 * reruns the node. The output of the `version` command and the values of the `fingerprint_env`
 * variables are part of the fingerprint too (the `extra` part, see {@link extraFingerprint}).
 *
 * After the command exits 0, each declared output is read back and checked (a missing output fails
 * naming it; `csv`/`arrow` must parse as a table, `json` as JSON). Exit ≠ 0, a signal or the
 * timeout fail the node with the last lines of stderr. stdout and stderr are passed through as
 * info lines, kept as the node's `log` output (`repro show ID.log`) and, also when the node fails,
 * in the run history (ctx.transcript: `repro log N --node ID`). The `tool` output names the program
 * and what the `version` command printed (the report lists it: input `tools`). `REPRO_SEED` is the
 * node's seed: an integer in [0, 2^31 − 1) drawn from the node's random stream (pipeline seed, node id).
 *
 * @example
 *   fixest_check:
 *     kind: script
 *     in: {panel: panel.panel}
 *     with:
 *       run: Rscript scripts/fixest_check.R {in.panel} {out.model}
 *       outputs: {model: {as: json, contract: model}}
 *       version: Rscript --version
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { defineStep, StepError, type Artifact, type ArtifactType, type OutputSpec, type StepContext } from '../engine/types.js';
import { makeTable, type Column, type Table } from '../engine/table.js';
import { installHint, placeholders, scriptFiles, splitCommand, substitute, whichProgram } from './common/command.js';
import { commandEnv, extraFingerprint, programOf, versionOutput } from './common/script-fingerprint.js';
import { CONTRACT, type ScriptToolArtifact } from './common/contracts.js';

export { extraFingerprint, versionOutput } from './common/script-fingerprint.js';

/** Output formats: how an output file is read back. */
const TABLE_FORMATS = ['csv', 'arrow'] as const;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const EXT = /^[A-Za-z0-9]+$/;

const formatSchema = z
  .string()
  .regex(EXT, 'a format is a file extension of letters/digits: json, csv, arrow, md, tex, png, svg, txt, …')
  .refine((f) => f !== 'parquet', 'parquet is not supported: repro has no Parquet reader/writer (it would add a heavy dependency); use `arrow` (Arrow IPC: arrow::read_ipc_file in R, pyarrow.ipc in Python) or `csv`');

const outputSchema = z.union([
  formatSchema,
  z.strictObject({
    as: formatSchema.describe('format of the file'),
    contract: z.string().optional().describe('artifact contract its content follows (e.g. `model`, so `tabulate` takes it)'),
  }),
]);

const paramsSchema = z
  .strictObject({
    run: z.string().min(1).describe('the command: {in.NAME} / {out.NAME} are the paths of inputs / declared outputs, {project} the pipeline folder'),
    shell: z.boolean().default(false).describe('run the command with `sh -c` (pipes, redirections, variables); placeholders are single-quoted'),
    inputs_as: z
      .enum(['csv', 'arrow', 'parquet'])
      .default('csv')
      .refine((f) => f !== 'parquet', 'parquet is not supported: repro has no Parquet writer (it would add a heavy dependency); use `arrow` (Arrow IPC) or `csv`')
      .describe('how table inputs are written: csv (missing values empty) or arrow (Arrow IPC file)'),
    outputs: z
      .record(z.string().regex(NAME, 'output names are letters, digits and _, not starting with a digit'), outputSchema)
      .refine((o) => Object.keys(o).length > 0, 'declare at least one output, e.g. `outputs: {model: json}`')
      .refine((o) => !('log' in o), '`log` is the output that keeps stdout/stderr: name yours differently')
      .refine((o) => !('tool' in o), '`tool` is the output that names the program and its version: name yours differently')
      .describe('declared outputs: name → format (json; csv or arrow → table; any other extension → file), or {as, contract}'),
    files: z.array(z.string().min(1)).default([]).describe('more files whose content enters the fingerprint (sourced helpers, data the script reads)'),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string()).default({}).describe('environment variables set for the command (a leading ~/ is the home folder)'),
    fingerprint_env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).default([]).describe('environment variables whose values enter the fingerprint'),
    version: z.string().min(1).optional().describe('a command printing the tool version (e.g. `Rscript --version`); its output enters the fingerprint'),
    timeout: z.number().positive().optional().describe('seconds before the command is killed (default: no limit)'),
    if_missing: z.enum(['fail', 'skip']).default('fail').describe('program not found: fail (default), or skip: succeed with outputs saying it was skipped'),
    when_skipped: z.record(z.string(), z.record(z.string(), z.unknown())).default({}).describe('per json output: fields of the object written when skipped (besides `skipped`)'),
  })
  .superRefine((p, ctx) => {
    let words;
    try {
      words = splitCommand(p.run, !p.shell);
    } catch (e) {
      ctx.addIssue({ code: 'custom', path: ['run'], message: (e as Error).message });
      return;
    }
    if (words.length === 0) ctx.addIssue({ code: 'custom', path: ['run'], message: 'the command is empty' });
    else if (!p.shell && /[{}]/.test(words[0]!.text) && !words[0]!.text.startsWith('{project}/')) {
      ctx.addIssue({ code: 'custom', path: ['run'], message: 'the program (first word) cannot be a placeholder' });
    }
    const ph = placeholders(p.run);
    for (const u of ph.unknown) ctx.addIssue({ code: 'custom', path: ['run'], message: `unknown placeholder ${u}: use {in.NAME}, {out.NAME} or {project}` });
    for (const o of ph.out) if (!(o in p.outputs)) ctx.addIssue({ code: 'custom', path: ['run'], message: `{out.${o}} is not a declared output (declared: ${Object.keys(p.outputs).join(', ')})`, });
    if (p.if_missing === 'skip') {
      for (const [name, o] of Object.entries(p.outputs)) {
        const f = typeof o === 'string' ? o : o.as;
        if (!['json', 'md', 'txt'].includes(f)) ctx.addIssue({ code: 'custom', path: ['if_missing'], message: `if_missing: skip writes a note in place of each output, which needs json, md or txt outputs; output "${name}" is ${f}` });
      }
    }
    for (const k of Object.keys(p.when_skipped)) if (!(k in p.outputs)) ctx.addIssue({ code: 'custom', path: ['when_skipped', k], message: `"${k}" is not a declared output` });
    if (p.version) {
      try {
        if (splitCommand(p.version, true).length === 0) throw new Error('the version command is empty');
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['version'], message: (e as Error).message });
      }
    }
  });

export type ScriptParams = z.infer<typeof paramsSchema>;

const formatOf = (o: ScriptParams['outputs'][string]): string => (typeof o === 'string' ? o : o.as);
const typeOf = (f: string): ArtifactType => (f === 'json' ? 'json' : (TABLE_FORMATS as readonly string[]).includes(f) ? 'table' : 'file');

/** The declared outputs of a node, plus `log` and `tool`. */
export function scriptOutputs(p: ScriptParams): Record<string, ArtifactType | OutputSpec> {
  const out: Record<string, ArtifactType | OutputSpec> = {};
  for (const [name, o] of Object.entries(p.outputs ?? {})) {
    const type = typeOf(formatOf(o));
    out[name] = typeof o !== 'string' && o.contract ? { type, contract: o.contract } : type;
  }
  out.log = 'file';
  out.tool = { type: 'json', contract: CONTRACT.scriptTool };
  return out;
}

/**
 * The `tool` output: the node, its program and the output of its `version` command (null without
 * one), e.g. for `report` (input `tools`). Deterministic: the version is part of the fingerprint.
 */
function toolInfo(node: string, p: ScriptParams, program: string, version: string | null, skipped?: string): ScriptToolArtifact {
  return { node, program, version_command: p.version ?? null, version: skipped ? null : version, ...(skipped ? { skipped } : {}) };
}

/** Parse CSV text into a table: numeric columns where every non-empty cell is a number (NA/NaN/empty → missing). */
export async function csvToTable(text: string, what: string): Promise<Table> {
  const { parse } = await import('csv-parse/sync');
  let rows: string[][];
  try {
    rows = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: true }) as string[][];
  } catch (e) {
    throw new StepError(`${what} is not valid CSV: ${(e as Error).message}`);
  }
  if (rows.length === 0) throw new StepError(`${what} is empty: a CSV table needs a header line`);
  const names = rows[0]!;
  const seen = new Set<string>();
  names.forEach((n, j) => {
    if (n === '') throw new StepError(`${what}: column ${j + 1} of the header has no name`);
    if (seen.has(n)) throw new StepError(`${what}: column "${n}" appears twice in the header`);
    seen.add(n);
  });
  const body = rows.slice(1);
  body.forEach((r, i) => {
    if (r.length !== names.length) throw new StepError(`${what}: row ${i + 2} has ${r.length} fields, the header has ${names.length}`);
  });
  const missing = (s: string): boolean => s === '' || s === 'NA' || s === 'NaN' || s === 'nan';
  const cols: Record<string, Column> = {};
  names.forEach((n, j) => {
    const cells = body.map((r) => r[j]!);
    const numeric = cells.every((c) => missing(c.trim()) || (c.trim() !== '' && Number.isFinite(Number(c.trim())))) && cells.some((c) => !missing(c.trim()));
    cols[n] = numeric ? Float64Array.from(cells, (c) => (missing(c.trim()) ? NaN : Number(c.trim()))) : cells.map((c) => (c === '' || c === 'NA' ? null : c));
  });
  return makeTable(cols, names);
}

/** The last `n` non-empty lines of a text. */
const lastLines = (s: string, n: number): string => s.replace(/\s+$/, '').split('\n').slice(-n).join('\n');

/** Keep at most `max` characters of a stream (head and tail). */
function capped(s: string, max = 1 << 20): string {
  return s.length <= max ? s : `${s.slice(0, max / 2)}\n… (${s.length - max} characters left out) …\n${s.slice(-max / 2)}`;
}

interface Proc {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  spawnError?: NodeJS.ErrnoException;
}

/** Run a program without a shell (own process group, so a timeout kills its children too). */
function runProcess(file: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeout?: number; onLine: (line: string) => void }): Promise<Proc> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const lines = (chunk: string, buf: { rest: string }) => {
      const parts = (buf.rest + chunk).split(/\r?\n/);
      buf.rest = parts.pop()!;
      for (const l of parts) if (l.trim() !== '') opts.onLine(l);
    };
    const bo = { rest: '' };
    const be = { rest: '' };
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      lines(c, bo);
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      lines(c, be);
    });
    const timer = opts.timeout
      ? setTimeout(() => {
          timedOut = true;
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            child.kill('SIGKILL');
          }
        }, opts.timeout * 1000)
      : undefined;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr, timedOut, spawnError: e as NodeJS.ErrnoException });
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      for (const b of [bo, be]) if (b.rest.trim() !== '') opts.onLine(b.rest);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

async function writeInput(dir: string, name: string, a: Artifact, inputsAs: 'csv' | 'arrow' | 'parquet'): Promise<string> {
  if (a.type === 'table') {
    if (inputsAs === 'arrow') {
      const { tableToArrow } = await import('../engine/arrow.js');
      const f = path.join(dir, `${name}.arrow`);
      fs.writeFileSync(f, tableToArrow(a.table));
      return f;
    }
    const { tableToCsv } = await import('../engine/csv.js');
    const f = path.join(dir, `${name}.csv`);
    fs.writeFileSync(f, tableToCsv(a.table));
    return f;
  }
  if (a.type === 'json') {
    const f = path.join(dir, `${name}.json`);
    fs.writeFileSync(f, JSON.stringify(a.value, null, 2) + '\n');
    return f;
  }
  const f = path.join(dir, `${name}.${a.ext}`);
  fs.writeFileSync(f, a.bytes);
  return f;
}

async function readOutput(file: string, name: string, format: string): Promise<Artifact> {
  const what = `output ${name} (${path.basename(file)})`;
  const bytes = fs.readFileSync(file);
  if (format === 'json') {
    try {
      return { type: 'json', value: JSON.parse(bytes.toString('utf8')) };
    } catch (e) {
      throw new StepError(`${what} is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (format === 'csv') return { type: 'table', table: await csvToTable(bytes.toString('utf8'), what) };
  if (format === 'arrow') {
    const { arrowToTable } = await import('../engine/arrow.js');
    try {
      return { type: 'table', table: arrowToTable(bytes) };
    } catch (e) {
      throw new StepError(`${what} is not an Arrow IPC file: ${(e as Error).message}`);
    }
  }
  return { type: 'file', ext: format, bytes: new Uint8Array(bytes) };
}

/** The outputs of a skipped node (if_missing: skip): a note in place of each output. */
function skippedOutputs(p: ScriptParams, reason: string, log: string): Record<string, Artifact> {
  const out: Record<string, Artifact> = {};
  for (const [name, o] of Object.entries(p.outputs)) {
    const f = formatOf(o);
    if (f === 'json') out[name] = { type: 'json', value: { ...(p.when_skipped[name] ?? {}), skipped: reason } };
    else out[name] = { type: 'file', ext: f, bytes: new TextEncoder().encode(`Skipped: ${reason}\n`) };
  }
  out.log = { type: 'file', ext: 'txt', bytes: new TextEncoder().encode(log) };
  return out;
}

async function run(ctx: StepContext, inputs: Record<string, Artifact | Artifact[] | undefined>, p: ScriptParams): Promise<Record<string, Artifact>> {
  const env = commandEnv(p);
  const program = programOf(p);
  // 1. the program and the project files the command runs, before anything is written
  const bin = p.shell ? whichProgram('sh', env.PATH, ctx.baseDir) : whichProgram(program.startsWith('{project}/') ? program.slice(10) : program, env.PATH, ctx.baseDir);
  if (!bin) {
    const msg = program.includes('/')
      ? `program ${program} (first word of \`run\`) does not exist or is not executable (relative to the pipeline folder ${ctx.baseDir})`
      : `${program} (first word of \`run\`) is not installed or not on PATH: ${installHint(program)}`;
    if (p.if_missing === 'skip') {
      ctx.warn(`skipped: ${msg}`);
      const log = `$ ${p.run}\nskipped: ${msg}\n`;
      ctx.transcript?.(log);
      return { ...skippedOutputs(p, msg, log), tool: { type: 'json', value: toolInfo(ctx.nodeId, p, program, null, msg) } };
    }
    throw new StepError(msg);
  }
  const scripts = scriptFiles(p.run, p.shell);
  for (const s of [...scripts, ...p.files]) {
    if (!fs.existsSync(ctx.resolvePath(s))) throw new StepError(`${scripts.includes(s) ? 'script' : 'file'} ${s} (in \`${scripts.includes(s) ? 'run' : 'files'}\`) does not exist (paths are relative to the pipeline folder ${ctx.baseDir})`);
  }
  // 2. a fresh directory with the inputs
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-script-'));
  try {
    const inDir = path.join(tmp, 'in');
    const outDir = path.join(tmp, 'out');
    fs.mkdirSync(inDir);
    fs.mkdirSync(outDir);
    const inPaths: Record<string, string> = {};
    for (const [name, a] of Object.entries(inputs)) {
      if (a === undefined) continue;
      // the name becomes a file name in the temp dir: no path separators, no `..`
      if (!NAME.test(name)) throw new StepError(`input name "${name}": use letters, digits and _ (not starting with a digit), e.g. \`in: {panel: …}\`; it names the file in/NAME.csv and the placeholder {in.NAME}`);
      if (Array.isArray(a)) throw new StepError(`input ${name}: a list of artifacts cannot be passed to a script; bind one artifact per input name`);
      inPaths[name] = await writeInput(inDir, name, a, p.inputs_as);
    }
    const outPaths: Record<string, string> = {};
    for (const [name, o] of Object.entries(p.outputs)) outPaths[name] = path.join(outDir, `${name}.${formatOf(o)}`);
    const paths = { in: inPaths, out: outPaths, project: ctx.baseDir };
    for (const name of placeholders(p.run).in) {
      if (!(name in inPaths)) throw new StepError(`{in.${name}} in \`run\`: the node has no input "${name}" (its inputs: ${Object.keys(inPaths).join(', ') || 'none'}); bind it with \`in: {${name}: ID}\``);
    }
    // 3. the command: words with placeholders substituted (one argument each), project scripts resolved
    let file: string;
    let args: string[];
    let shown: string;
    if (p.shell) {
      file = bin;
      args = ['-c', substitute(p.run, paths, true)];
      shown = p.run;
    } else {
      const words = splitCommand(p.run, true).map((w) => w.text);
      const scriptSet = new Set(scripts);
      const resolved = words.map((w, i) => (i > 0 && scriptSet.has(w) ? ctx.resolvePath(w) : substitute(w, paths)));
      file = bin;
      args = resolved.slice(1);
      shown = p.run;
    }
    env.REPRO_SEED = String(ctx.rng('script').int(2147483647));
    env.REPRO_NODE = ctx.nodeId;
    env.REPRO_PROJECT_DIR = ctx.baseDir;
    env.REPRO_IN_DIR = inDir;
    env.REPRO_OUT_DIR = outDir;
    ctx.info(`$ ${shown}`);
    const t0 = Date.now();
    const r = await runProcess(file, args, { cwd: tmp, env, ...(p.timeout ? { timeout: p.timeout } : {}), onLine: (l) => ctx.info(l) });
    // the log: the command as written, temp paths replaced by $TMP, so it reads the same on every run
    const clean = (s: string) => s.split(tmp).join('$TMP');
    const log =
      `$ ${shown}\n` +
      `--- stdout ---\n${capped(clean(r.stdout))}${r.stdout.endsWith('\n') || r.stdout === '' ? '' : '\n'}` +
      `--- stderr ---\n${capped(clean(r.stderr))}${r.stderr.endsWith('\n') || r.stderr === '' ? '' : '\n'}` +
      `--- exit ${r.timedOut ? 'timeout' : r.signal ?? r.code} ---\n`;
    ctx.transcript?.(log); // kept in the run history, also when the node fails below (`repro log N --node ID`)
    const tail = () => {
      const t = lastLines(clean(r.stderr), 20) || lastLines(clean(r.stdout), 20);
      return t ? `; last lines of its output:\n${t}` : ' (it printed nothing)';
    };
    if (r.spawnError) throw new StepError(`could not start ${program}: ${r.spawnError.message}${r.spawnError.code === 'ENOENT' ? ` (${installHint(program)})` : ''}`);
    if (r.timedOut) throw new StepError(`the command timed out after ${p.timeout} s (timeout: ${p.timeout}) and was killed${tail()}`);
    if (r.signal) throw new StepError(`the command was killed by ${r.signal}${tail()}`);
    if (r.code !== 0) throw new StepError(`the command exited with code ${r.code}${tail()}`);
    ctx.info(`finished in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // 4. declared outputs, read back and checked
    const missing = Object.keys(p.outputs).filter((n) => !fs.existsSync(outPaths[n]!));
    if (missing.length) {
      throw new StepError(
        `the command exited 0 but did not write the declared output${missing.length > 1 ? 's' : ''} ${missing.map((n) => `${n} (${path.basename(outPaths[n]!)}, {out.${n}})`).join(', ')}` +
          (placeholders(p.run).out.length < Object.keys(p.outputs).length ? '; pass each output path to the command with {out.NAME}, or write it into $REPRO_OUT_DIR' : ''),
      );
    }
    const out: Record<string, Artifact> = {};
    for (const [name, o] of Object.entries(p.outputs)) out[name] = await readOutput(outPaths[name]!, name, formatOf(o));
    out.log = { type: 'file', ext: 'txt', bytes: new TextEncoder().encode(log) };
    // the version as it entered the fingerprint (memoized per process and binary, so R is not started again)
    out.tool = { type: 'json', value: toolInfo(ctx.nodeId, p, program, p.version ? versionOutput(p.version, commandEnv(p), ctx.baseDir, null) : null) };
    return out;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export default defineStep<ScriptParams>({
  kind: 'script',
  doc: 'Run an R, Python, Stata or shell command on the inputs (written as CSV/Arrow/JSON files in a fresh temp dir) and read its declared output files back; the script files, `files`, the `version` output and `fingerprint_env` enter the fingerprint.',
  params: paramsSchema as unknown as z.ZodType<ScriptParams>,
  pathParams: (p) => [...scriptFiles(p.run, p.shell), ...p.files],
  inputs: {},
  anyInputs: { type: ['table', 'json', 'file'], doc: 'any named input: written to in/NAME.csv|arrow|json|EXT, path {in.NAME}' },
  outputs: { log: 'file', tool: { type: 'json', contract: CONTRACT.scriptTool } },
  outputsFor: scriptOutputs,
  extraFingerprint,
  run,
});
