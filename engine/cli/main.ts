#!/usr/bin/env node
/**
 * `repro`: the command line of the engine (see DESIGN.md, "The CLI contract").
 *
 * ```
 * repro run [PIPELINE] [--target ID]... [--force ID]... [--set ID.PARAM=VALUE]... [--jobs N]
 *           [--dry-run] [--keep-going] [--json] [--verbose]
 * repro status [PIPELINE] [--target ID]... [--json]
 * repro why ID [PIPELINE] [--json]
 * repro dag [PIPELINE] [--format text|mermaid|dot|json]
 * repro show ID[.OUTPUT] [PIPELINE] [--json|--csv] [--rows N]
 * repro log [N] [PIPELINE] [--node ID] [--limit N] [--json]
 * repro gc [PIPELINE] [--dry-run] [--keep-runs N]
 * repro diff A B [NODE]... [PIPELINE] [--json] [--fail-if EXPR] [--html FILE]
 * repro push | pull [PIPELINE] [--remote-cache URL]
 * repro worker --redis URL [--dir DIR] [--concurrency N]   (jobs of run --executor bullmq)
 * ```
 *
 * Exit codes: 0 success; 1 a step failed; 2 invalid pipeline or usage (nothing ran).
 * PIPELINE defaults to ./pipeline.yaml. REPRO_REGISTRY=module.js swaps the step registry (see
 * engine/registry.ts). A thin wrapper over the library API in engine/executor.ts and friends.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { exitFlushed } from './ui.js';

const USAGE = `repro — declarative pipelines with content-hash caching

usage:
  repro run [PIPELINE] [--target ID]... [--force ID]... [--set ID.PARAM=VALUE]... [--jobs N]
            [--dry-run] [--keep-going] [--json] [--verbose]
  repro status [PIPELINE] [--target ID]... [--json]   what would run, and why (and what the remote cache has)
  repro why ID [PIPELINE] [--json]                    which fingerprint parts of ID changed
  repro dag [PIPELINE] [--format text|mermaid|dot|json]
  repro show ID[.OUTPUT] [PIPELINE] [--json|--csv]    an artifact of the latest successful run
  repro log [N] [PIPELINE] [--node ID] [--json]       run history; N: run N's nodes
  repro gc [PIPELINE] [--dry-run] [--keep-runs N]     delete artifacts nothing needs
  repro diff A B [NODE]... [PIPELINE] [--json] [--fail-if EXPR] [--html FILE]
                                                      how results moved between two runs
  repro push [PIPELINE] [--remote-cache URL]          upload locally cached nodes to the remote cache
  repro pull [PIPELINE] [--remote-cache URL]          download the nodes the remote cache has
  repro worker --redis URL [--dir DIR]                run jobs of \`run --executor bullmq\`

options of every command: --help (this command's help), --no-color (also NO_COLOR=1)
repro --version                                      the version of repro

PIPELINE defaults to ./pipeline.yaml. Exit codes: 0 ok, 1 a step failed, 2 invalid pipeline or usage.
REPRO_LOCK_TIMEOUT=SECONDS: how long run and gc wait for each other's lock (default 600).
REPRO_NOOP_MEMO=off: always check every node (a fully cached run is otherwise replayed from the
memo of the last identical one when no file it looked at has changed).`;

/** `repro CMD --help`. */
const HELP: Record<string, string> = {
  run: `repro run [PIPELINE] [options]     run what is stale, in dependency order

  --target ID       only ID (a node or foreach base id) and what it depends on; repeatable
  --force ID        rerun ID even if cached (descendants rerun only if its output changes); repeatable
  --set ID.PARAM=V  override a param for this run (V is YAML; PARAM may be a dot path); repeatable.
                    A --set run is a variant: without --variant it is named set-<hash of the --set>
  --inherit         --set also reaches the steps that \`extends\` ID (directly or not) and do not
                    set PARAM themselves, as editing ID's \`with\` in the YAML would
  --variant NAME    publish to results/variants/NAME/ (never over results/ of the main run);
                    recorded in the history as variant NAME (\`repro log\` shows it)
  --jobs N          thread budget: nodes and their own parallel work use at most N threads
                    (default: the machine's cores; more than the cores is capped, with a warning)
  --force-jobs      allow --jobs above the machine's cores
  --allow-outside   let publish: write outside the project folder (default: an error)
  --dry-run         show what would run, and why, without running or writing anything
  --keep-going      after a failure, still run every node that does not depend on it
  --json            print one JSON object {ok, nodes: [{id, kind, status, key, ms, reason, reasons}]}
                    (and no progress bars; without it, steps that report progress get a bar on
                    stderr with rate and ETA)
  --verbose         stack traces of unexpected errors; every node's start; whether a no-op run
                    was replayed from its memo (REPRO_NOOP_MEMO=off: never)
  --no-spec-cache   always re-validate the YAML
  --remote-cache URL  a remote cache (Bazel HTTP cache protocol: /cas/<sha256>, /ac/<key>): a local
                    miss is fetched from it (verified), nodes that ran are uploaded; \`off\` disables.
                    Default: REPRO_REMOTE_CACHE, then \`cache: {remote: URL}\` in the YAML.
                    Credentials: REPRO_REMOTE_CACHE_HEADER='Authorization: Bearer TOKEN' (never recorded)
  --remote-upload=false  read-only: fetch from the remote cache, upload nothing
  --executor bullmq run jobs on \`repro worker\` processes through Redis (default: local)
  --redis URL       redis://HOST:PORT[/DB] of the queue (or REPRO_REDIS)
  --distribute cpu|all  which nodes go to workers: cpu steps and ctx.map steps (default), or all
  --retries N       attempts after the first of a failing job (default 2)
  --map-jobs N      a ctx.map call becomes at most N jobs of consecutive chunks (default 20)
  --redis-timeout S fail the waiting nodes when Redis has not answered for S seconds (default 30);
                    a rerun resumes from the cache`,
  worker: `repro worker --redis URL [--dir DIR] [--remote-cache URL] [--concurrency N] [--nodes N] [--idle-exit SEC] [--quiet]

  Take jobs of \`repro run --executor bullmq\` from Redis and run them in this checkout (DIR,
  default the current directory; same code, data and build as the coordinator's, checked by
  fingerprint). Any number of workers, on any machines that share the checkout's store (or a
  remote cache: --remote-cache URL or REPRO_REMOTE_CACHE, verified downloads). A killed worker's jobs
  are retried elsewhere after --lock-ms.
  --concurrency N   chunk jobs (ctx.map) at once, one thread each (default 1)
  --nodes N         node jobs at once (default 1)
  --idle-exit SEC   exit after SEC seconds without a job (e.g. Slurm array tasks)
  --lock-ms MS      job lock (default 30000); --stalled-ms MS: stalled-job check (default 30000)
  --quiet           no log lines on stderr`,
  status: `repro status [PIPELINE] [--target ID]... [--force ID]... [--set ID.PARAM=V]... [--inherit] [--json] [--verbose]

  What would run, and why (nothing runs). --json: {pipeline, up_to_date, nodes: [{id, kind, state, reason, reasons, key}]}.
  With a remote cache (--remote-cache URL, REPRO_REMOTE_CACHE or \`cache: {remote: URL}\`): local misses
  it has are \`cached\` (reason "from the remote cache": a run fetches them), and a line says which
  nodes the remote has (--json: \`remote: true|false\` per node, null when its fingerprint is not
  known yet, and {remote: {url, available}}).`,
  why: `repro why ID [PIPELINE] [--set ID.PARAM=V]... [--inherit] [--json] [--no-reread]

  Which fingerprint parts of ID changed since its last successful run, one line each
  (params with old → new values, code files, packages, inputs, files, seed). A changed input
  table or data file is explained row by row: rows changed / added / removed (keyed by the
  nearest declared \`key\`, else by position), the first changed cells
  (city_code=330100, year=2015: so2 12.3 → 13.1) and changed cells per column. A data file its
  node has not read yet is read again by that node's own step, in memory (nothing is stored);
  --no-reread skips that. A node that waits for recomputed inputs shows where upstream the
  change starts.`,
  dag: `repro dag [PIPELINE] [--format text|mermaid|dot|json] [--set ID.PARAM=V]... [--inherit]

  The pipeline's graph, each node with its state (cached, stale, pending).
  --format json: {pipeline, nodes: [{id, kind, state, inputs, publish}], edges: [{from, to}]}.`,
  show: `repro show ID[.OUTPUT] [PIPELINE] [--json|--csv] [--rows N] [--variant NAME]

  An artifact of the latest successful run (--variant NAME: of that variant's runs); without .OUTPUT the node's first output
  (a tabulate table: its Markdown). Tables print aligned (CJK characters count two columns),
  the first --rows N rows (default 20). A model prints as its tidy coefficient table (term,
  estimate, std_error, statistic, p_value, conf_low, conf_high; then nobs, r2, r2_within, vcov,
  clusters); other JSON as JSON; files as they are.
  --csv   tables and models as CSV (a model: its tidy CSV)
  --json  tables as an array of row objects; JSON (models included) as stored`,
  log: `repro log [N] [PIPELINE] [--node ID] [--limit N] [--json] [--verbose]

  The run history, newest first (the last --limit runs, default 20; --verbose: nodes that ran).
  repro log N (or '#N'): run N's nodes with status, time, reason and error; --json the run record.
  repro log N --node ID: node ID in run N and the output its step kept (transcript), e.g. a
  script step's stdout/stderr, also when it failed: the last 200 lines / 64 KB, with a note
  when cut. Cached nodes keep none (their step did not run). --json: the node's record.`,
  diff: `repro diff A B [NODE]... [PIPELINE] [--json] [--fail-if EXPR] [--html FILE]

  How the results of two recorded runs differ. A, B: run numbers as in \`repro log\` (12 or '#12'),
  a variant name (the newest run of \`repro run --variant NAME\`), or latest (the newest run that is
  not a variant). A node's outputs as of run N are those of its newest successful record up to N.
  Models: per term the estimate and SE in A and B, Δ, Δ/SE_A, significance at 5% in each; N, R²,
  within R² and clusters when they change. Event studies: per period. Tables: rows changed / added /
  removed (keyed by the nearest declared \`key\`, else by position) and the changed cells. Other
  JSON: the values that differ. Unchanged nodes are listed on one line.
  --json         one JSON object {ok, pipeline, a, b, nodes, rows[, fail_if]}
  --fail-if EXPR exit 1 when any difference row matches EXPR, e.g. 'abs(delta_se) > 0.1',
                 'sig_changed == 1', "node == 'baseline' and abs(delta) > 0.05". Fields: node, output,
                 what (coef, stat, period, cell, row-added, row-removed, value, file), item, column,
                 a, b, delta, rel (Δ/|a|), se_a, se_b, delta_se (Δ/SE_A), p_a, p_b, sig_a, sig_b,
                 sig_changed, changed, a_text, b_text. Functions: abs, min, max, log, sqrt, …
  --html FILE    also write an HTML page with the changed cells highlighted`,
  gc: `repro gc [PIPELINE] [--dry-run] [--keep-runs N]

  Delete store objects that no recorded run (of the last N) and no current node needs.`,
  push: `repro push [PIPELINE] [--remote-cache URL] [--target ID]... [--json] [--verbose]

  Upload every node cached in the local store (its objects, then its entry) that the remote cache
  lacks. The remote: --remote-cache, else REPRO_REMOTE_CACHE, else \`cache: {remote: URL}\`;
  credentials from REPRO_REMOTE_CACHE_HEADER ('Name: value'). Exit 1 if the remote is unreachable.`,
  pull: `repro pull [PIPELINE] [--remote-cache URL] [--target ID]... [--json] [--verbose]

  Download every node the local store lacks and the remote cache has (each object's sha256 is
  verified; a bad one is rejected and reported, exit 1). Nothing runs; the next run finds them cached.`,
};

/** The package version (package.json next to dist/ or the sources). */
async function version(): Promise<string> {
  const [{ readFileSync }, path, { PROJECT_ROOT }] = await Promise.all([import('node:fs'), import('node:path'), import('../paths.js')]);
  const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/** `replay: false`: do not try the no-op replay (launch.ts already did). */
export async function main(argv: string[], opts: { replay?: boolean } = {}): Promise<number> {
  const [cmd, ...rest] = argv;
  // --no-color anywhere (as NO_COLOR=1): chalk is created uncoloured (see ui.ts)
  if (argv.includes('--no-color')) process.env.NO_COLOR = '1';
  // remote cache credentials: kept out of the environment that steps' child processes inherit
  if (process.env.REPRO_REMOTE_CACHE_HEADER !== undefined) (await import('../remote/credentials.js')).captureRemoteHeader();
  try {
    if (cmd !== undefined && cmd in HELP && (rest.includes('--help') || rest.includes('-h'))) {
      process.stdout.write(`${HELP[cmd]}\n`);
      return 0;
    }
    switch (cmd) {
      case 'run': {
        // a no-op like the last one: replayed from its memo without loading the pipeline (replay.ts)
        const replayed = opts.replay === false ? null : await (await import('./replay.js')).replayNoop(rest);
        return replayed ?? (await (await import('./run.js')).cmdRun(rest));
      }
      case 'push':
      case 'pull': {
        const m = await import('./remote.js');
        return await (cmd === 'push' ? m.cmdPush : m.cmdPull)(rest);
      }
      case 'worker':
        return await (await import('./worker.js')).cmdWorker(rest);
      case 'status':
      case 'why':
      case 'dag':
      case 'show':
      case 'log':
      case 'gc': {
        const m = await import('./commands.js');
        const f = { status: m.cmdStatus, why: m.cmdWhy, dag: m.cmdDag, show: m.cmdShow, log: m.cmdLog, gc: m.cmdGc }[cmd];
        return await f(rest);
      }
      case 'diff':
        return await (await import('./diff.js')).cmdDiff(rest);
      case undefined:
        process.stderr.write(`${USAGE}\n`); // usage error: exit 2, nothing on stdout
        return 2;
      case 'help':
      case '--help':
      case '-h':
        if (cmd === 'help' && rest[0] && rest[0] in HELP) process.stdout.write(`${HELP[rest[0]]}\n`);
        else process.stdout.write(`${USAGE}\n`);
        return 0;
      case '--version':
      case '-V':
      case 'version':
        process.stdout.write(`repro ${await version()}\n`);
        return 0;
      case '--no-color':
        return main(rest);
      default:
        throw new (await import('../errors.js')).UsageError(`unknown command "${cmd}"\n\n${USAGE}`);
    }
  } catch (e) {
    return reportError(e, argv.includes('--verbose'), argv.includes('--json'));
  }
}

/**
 * Print an error that escaped a command and return the exit code (2 usage or invalid pipeline,
 * 1 anything else). The human message always goes to stderr; with `json` stdout also gets exactly
 * one JSON object, `{"ok": false, "error": {"exit", "type": "usage"|"config"|"error", "message",
 * "errors"?: [{file, line, col, message, hint}]}}`, so a script reading stdout always has one.
 */
export function reportError(e: unknown, verbose: boolean, json = false): number {
  const err = e as Error & { format?: () => string; errors?: { file: string; line: number; col: number; message: string; hint?: string }[] };
  let code = 1;
  let type: 'usage' | 'config' | 'error' = 'error';
  let text: string;
  if (err && err.name === 'UsageError') {
    code = 2;
    type = 'usage';
    text = err.message.startsWith('repro ') ? err.message : `repro: ${err.message}`;
    process.stderr.write(`${text}\n`);
  } else if (err && (err.name === 'ConfigError' || err.name === 'ConfigErrors') && typeof err.format === 'function') {
    code = 2;
    type = 'config';
    text = err.format();
    process.stderr.write(`${text}\n`);
  } else {
    const m = err?.message ?? String(e);
    text = m.startsWith('repro ') ? m : `repro: ${m}`;
    process.stderr.write(`${text}\n`);
    if (verbose && err?.stack) process.stderr.write(`${err.stack}\n`);
  }
  if (json) {
    const error: Record<string, unknown> = { exit: code, type, message: type === 'config' ? err.message : text.replace(/^repro: /, '') };
    if (type === 'config') {
      type Pos = { file: string; line: number; col: number; message: string; hint?: string };
      const list: Pos[] = Array.isArray(err.errors) && err.errors.length ? err.errors : [err as unknown as Pos];
      error.errors = list.map((x) => ({ file: x.file, line: x.line, col: x.col, message: x.message, ...(x.hint ? { hint: x.hint } : {}) }));
    }
    process.stdout.write(`${JSON.stringify({ ok: false, error })}\n`);
  }
  return code;
}

function invokedDirectly(): boolean {
  const a = process.argv[1];
  if (!a) return false;
  try {
    return realpathSync(a) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

// run when executed directly (not when imported by tests); exit explicitly so that no stray
// handle keeps the process alive
if (invokedDirectly()) {
  main(process.argv.slice(2)).then(exitFlushed, (e) => exitFlushed(reportError(e, true, process.argv.includes('--json'))));
}
