/**
 * `repro run`: run the pipeline (or `--dry-run`: show what would run), printing one line per node
 * as it finishes, a progress bar for steps that report progress, and a summary; `--json` prints
 * only the contract's JSON object on stdout.
 */
import { intFlag, parseArgs, variantFlag, type Parsed } from './args.js';
import { DIST_VALUES, RUN_FLAGS } from './flags.js';
import { UsageError } from '../errors.js';
import type { NodeResult, RunEvent } from '../executor.js';
import type { ParamOverride } from '../spec.js';
import type { Session } from '../session.js';

/**
 * A run whose result a no-op memo may stand for (engine/noop-memo.ts): one that neither forces,
 * overrides nor names a variant, runs here, and has no remote cache to consult.
 */
function memoizable(p: Parsed): boolean {
  if (process.env.REPRO_NOOP_MEMO === 'off' || process.env.REPRO_REMOTE_CACHE) return false;
  if (p.lists.force?.length || p.lists.set?.length) return false;
  if (['dry-run', 'no-spec-cache', 'inherit'].some((b) => p.bools.has(b))) return false;
  return !['variant', 'remote-cache', 'remote-upload', ...DIST_VALUES].some((v) => p.values[v] !== undefined);
}

export async function cmdRun(argv: string[]): Promise<number> {
  const p = parseArgs(argv, RUN_FLAGS, 'run');
  if (p.positionals.length > 1) throw new UsageError(`repro run: expected at most one PIPELINE, got ${p.positionals.join(' ')}`);
  const file = p.positionals[0] ?? 'pipeline.yaml';
  const jobs = intFlag(p, 'jobs', 'run');
  const json = p.bools.has('json');
  const verbose = p.bools.has('verbose');
  let overrides: ParamOverride[] = [];
  if (p.lists.set?.length) {
    const { parseOverride } = await import('../config/load.js');
    const inherit = p.bools.has('inherit'); // --set also reaches the steps that extends ID
    overrides = p.lists.set.map((a) => ({ ...parseOverride(a), ...(inherit ? { inherit } : {}) }));
  }
  // a run with --set is a variant: it never publishes over the main run's results/ (--variant names it)
  let variant = await variantFlag(p, 'run');
  let autoNamed = false;
  if (variant === undefined && overrides.length > 0) {
    variant = (await import('../publish.js')).autoVariantName(overrides);
    autoNamed = true;
  }
  const common = {
    file,
    overrides,
    ...(variant !== undefined ? { variant } : {}),
    targets: p.lists.target ?? [],
    force: p.lists.force ?? [],
    noSpecCache: p.bools.has('no-spec-cache'),
  };
  const remoteOpts = await remoteFlags(p.values);

  if (p.bools.has('dry-run')) return dryRun(common, json, p.values);

  const [{ runSession }, { openSession }, { makeUi, nodeLine, ProgressBar, columnWidths, runSummary }] = await Promise.all([import('../executor.js'), import('../session.js'), import('./ui.js')]);
  const ui = await makeUi();
  const c = ui.c;
  const bar = json ? null : new ProgressBar(c);
  let w = { idw: 12, kindw: 10 };
  const say = (f: () => void): void => {
    bar?.clear();
    f();
    bar?.redraw();
  };
  const onEvent = (e: RunEvent): void => {
    // anything but quiet cached nodes: this run is no no-op to memoize
    if (recorder && (e.type === 'node' ? e.node.status !== 'cached' : e.type !== 'start')) recorder.spoil(e.type);
    if (e.type === 'node') order.push(e.node.id);
    if (json) return;
    switch (e.type) {
      case 'node': {
        const n = e.node;
        bar?.finish(n.id);
        say(() => {
          ui.out(nodeLine(c, n.status, n.id, n.kind, n.status === 'skipped' ? null : n.ms, n.reason, w.idw, w.kindw));
          if (n.published?.length) ui.out(c.dim(`      published ${n.published.map((f) => rel(f)).join(', ')}`));
          if (n.error) {
            ui.err(c.red(`      ${n.id} (${n.kind}) failed: ${n.error.message}`));
            if (!n.error.stepError && n.error.stack) {
              if (verbose) ui.err(c.dim(indent(n.error.stack, 8)));
              else ui.err(c.dim('      (--verbose shows the stack trace)'));
            }
          }
        });
        break;
      }
      case 'warn':
        say(() => ui.err(c.yellow(`  ! ${e.id ? `${e.id}: ` : ''}${e.msg}`)));
        break;
      case 'info':
        say(() => ui.err(c.dim(`    ${e.id}: ${e.msg}`)));
        break;
      case 'progress':
        bar?.update(e.id, e.done, e.total, e.label);
        break;
      case 'wait':
        say(() => ui.err(c.dim(e.msg)));
        break;
      case 'start':
        break;
      case 'running':
        if (verbose) say(() => ui.err(c.dim(`  … ${e.id} (${e.kind}) started${e.worker ? ' in a worker thread' : ''}: ${e.reason}`)));
        break;
    }
  };
  // a no-op run leaves a memo for the next one (noop-memo.ts): record what it looks at
  const memo = memoizable(p) ? await import('../noop-memo.js') : null;
  const recorder = memo ? (await import('../noop-recorder.js')).startRecording() : null;
  const order: string[] = [];
  const request = memo?.requestKey(argv);
  // --force of a cpu step is certain to need worker threads: start them now, while the session
  // loads (the executor has them import the forced steps' modules once it knows their kinds)
  const pool = common.force.length && (p.values.executor ?? 'local') === 'local' ? await prestartPool(jobs, p.bools.has('force-jobs'), common.force.length) : undefined;
  // width of the id / kind columns, known once the spec is loaded
  let session: Session;
  try {
    session = await openSession(common);
  } catch (e) {
    recorder?.spoil('error');
    await pool?.close();
    throw e;
  }
  if (variant !== undefined && !json) {
    const { VARIANTS_DIR } = await import('../publish.js');
    ui.err(c.dim(`variant ${variant}: publishing to ${VARIANTS_DIR}/${variant}/${autoNamed ? ' (a --set run is a variant; name it with --variant NAME)' : ''}`));
  }
  w = columnWidths(session.graph.nodes);
  // --executor bullmq: jobs go to `repro worker` processes through Redis (engine/distributed)
  const executor = await distributedExecutor(p, session);
  let r;
  try {
    r = await runSession(session, { ...common, ...(jobs !== undefined ? { jobs } : {}), forceJobs: p.bools.has('force-jobs'), allowOutside: p.bools.has('allow-outside'), keepGoing: p.bools.has('keep-going'), argv: ['run', ...(await redactArgv(argv))], onEvent, ...remoteOpts, ...(executor ? { executor } : {}), ...(pool ? { pool } : {}) });
  } catch (e) {
    recorder?.spoil('error');
    throw e;
  } finally {
    await executor?.close();
  }
  if (memo && recorder && request !== undefined) {
    const deps = recorder.stop(session.storeDir);
    if (deps && r.record && memo.isPureNoop(r) && variant === undefined) {
      const { specCachePath } = await import('../speccache.js');
      const { started: _s, ms: _m, ...record } = r.record;
      memo.saveMemo(session.storeDir, { request, deps, specFile: specCachePath(session.storeDir, session.spec.file, []), color: c.level > 0, order, record });
    }
  }
  bar?.clear();
  if (json) {
    const obj = {
      ok: r.ok,
      ...(variant !== undefined ? { variant } : {}),
      nodes: r.nodes.map((n: NodeResult) => ({ id: n.id, kind: n.kind, status: n.status, key: n.key, ms: Math.round(n.ms), reason: n.reason, reasons: n.reasons, ...(n.error ? { error: n.error.message } : {}), ...(n.warnings.length ? { warnings: n.warnings } : {}) })),
    };
    process.stdout.write(`${JSON.stringify(obj)}\n`);
  } else {
    const count = (s: string): number => r.nodes.filter((n) => n.status === s).length;
    const fromRemote = r.nodes.filter((n) => n.status === 'cached' && n.reasons.some((x) => x.kind === 'remote')).length;
    const counts = { ran: count('ran'), cached: count('cached'), failed: count('failed'), skipped: count('skipped') };
    const line = runSummary(c, { pipeline: r.pipeline, ...(variant !== undefined ? { variant } : {}), counts, fromRemote, ms: r.ms, ...(r.runId !== undefined ? { runId: r.runId } : {}) });
    ui.out(r.ok ? c.green(line) : c.red(line));
  }
  return r.ok ? 0 : 1;
}

async function dryRun(common: { file: string; overrides: ParamOverride[]; variant?: string; targets: string[]; force: string[]; noSpecCache: boolean }, json: boolean, values: Record<string, string>): Promise<number> {
  const [{ planSession }, { openSession }, { makeUi, nodeLine, columnWidths }] = await Promise.all([import('../plan.js'), import('../session.js'), import('./ui.js')]);
  const session = await openSession({ ...common, readOnly: true }); // a dry run writes nothing
  // with a remote cache, local misses it has are shown as cached (a run fetches them)
  const remote =
    values['remote-cache'] !== undefined || process.env.REPRO_REMOTE_CACHE || session.spec.cache?.remote
      ? await (await import('./remote.js')).remoteOf(session.spec, values, 'run', (m) => process.stderr.write(`warning: ${m}\n`))
      : null;
  const nodes = await planSession(session, { ...common, remote });
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ ok: true, dry_run: true, nodes: nodes.map((n) => ({ id: n.id, kind: n.kind, status: n.state === 'cached' ? 'cached' : n.state, key: n.key ?? '', ms: 0, reason: n.reason, reasons: n.reasons })) })}\n`,
    );
    return 0;
  }
  const ui = await makeUi();
  const { idw, kindw } = columnWidths(nodes);
  for (const n of nodes) ui.out(nodeLine(ui.c, n.state, n.id, n.kind, null, n.reason, idw, kindw));
  const stale = nodes.filter((n) => n.state === 'stale').length;
  const pending = nodes.filter((n) => n.state === 'pending').length;
  ui.out(`${session.spec.name}: dry run — ${stale} would run, ${pending} wait for recomputed inputs (run only if those change), ${nodes.length - stale - pending} cached`);
  return 0;
}

/** `--remote-cache URL` and `--remote-upload true|false` as RunOptions (nothing when absent). */
export async function remoteFlags(values: Record<string, string>, command = 'run'): Promise<{ remoteCache?: string; remoteUpload?: boolean }> {
  const out: { remoteCache?: string; remoteUpload?: boolean } = {};
  if (values['remote-cache'] !== undefined) out.remoteCache = values['remote-cache'];
  if (values['remote-upload'] !== undefined) {
    const { parseUploadFlag } = await import('../remote/config.js');
    out.remoteUpload = parseUploadFlag(values['remote-upload'], command)!;
  }
  return out;
}

/** The command line as recorded in the history: URL user info (credentials) redacted. */
async function redactArgv(argv: string[]): Promise<string[]> {
  if (!argv.some((a) => a.includes('@'))) return argv;
  if (argv.some((a) => a.startsWith('redis'))) argv = (await import('../distributed/redis.js')).redactArgv(argv); // redis:// passwords
  const { redactUrl } = await import('../remote/http-cache.js');
  return argv.map((a) => (a.startsWith('--remote-cache=') ? `--remote-cache=${redactUrl(a.slice('--remote-cache='.length))}` : redactUrl(a)));
}

async function distributedExecutor(p: Parsed, session: Session): Promise<import('../distributed/coordinator.js').BullmqExecutor | null> {
  const executor = p.values.executor ?? 'local';
  if (executor !== 'local' && executor !== 'bullmq') throw new UsageError(`repro run: --executor must be local or bullmq, got "${executor}"`);
  if (executor === 'local') {
    for (const f of DIST_VALUES.slice(1)) if (p.values[f] !== undefined) throw new UsageError(`repro run: --${f} needs --executor bullmq`);
    return null;
  }
  const redis = p.values.redis ?? process.env.REPRO_REDIS;
  if (!redis) throw new UsageError('repro run: --executor bullmq needs --redis redis://HOST:PORT (or REPRO_REDIS)');
  const distribute = p.values.distribute ?? 'cpu';
  if (distribute !== 'cpu' && distribute !== 'all') throw new UsageError(`repro run: --distribute must be cpu or all, got "${distribute}"`);
  const retries = intFlag(p, 'retries', 'run', 0);
  const mapJobs = intFlag(p, 'map-jobs', 'run');
  const timeout = intFlag(p, 'redis-timeout', 'run');
  const [{ bullmqExecutor }, { remoteCacheTransport }, { remoteOf }] = await Promise.all([import('../distributed/coordinator.js'), import('../distributed/transport.js'), import('./remote.js')]);
  // with a remote cache, artifacts travel through it (workers on other machines); else the shared store
  const rc = await remoteOf(session.spec, p.values, 'run', (m) => process.stderr.write(`warning: ${m}\n`));
  return bullmqExecutor(session, { ...(rc ? { transport: remoteCacheTransport(rc) } : {}), redis, set: p.lists.set ?? [], distribute, ...(retries !== undefined ? { retries } : {}), ...(mapJobs !== undefined ? { mapJobs } : {}), ...(timeout !== undefined ? { downMs: timeout * 1000 } : {}) });
}

/**
 * A worker pool for `--jobs` (capped at the cores as the executor caps it) with one worker starting
 * per forced node, at most the budget (an idle thread starting beside the ones at work slows them
 * on 2 cores); from compiled code only.
 */
async function prestartPool(jobs: number | undefined, forceJobs: boolean, forced: number): Promise<import('../pool.js').WorkerPool | undefined> {
  const [{ RUNNING_COMPILED }, os, { WorkerPool, ThreadBudget }] = await Promise.all([import('../paths.js'), import('node:os'), import('../pool.js')]);
  if (!RUNNING_COMPILED) return undefined;
  const cores = os.availableParallelism();
  const n = Math.max(1, Math.floor(jobs ?? cores));
  const pool = new WorkerPool(new ThreadBudget(forceJobs ? n : Math.min(n, cores)));
  pool.prestart(Math.min(forced, pool.budget.total));
  return pool;
}

function rel(f: string): string {
  const path = process.cwd();
  return f.startsWith(path + '/') ? f.slice(path.length + 1) : f;
}

function indent(s: string, n: number): string {
  return s
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}
