/**
 * `repro worker --redis URL`: take jobs of `repro run --executor bullmq` until SIGINT/SIGTERM
 * (the jobs in progress finish first; a second signal exits at once) or `--idle-exit SEC`
 * without work. See engine/distributed/worker.ts.
 */
import { intFlag, parseArgs } from './args.js';
import { UsageError } from '../errors.js';

export async function cmdWorker(argv: string[]): Promise<number> {
  const p = parseArgs(argv, { values: ['redis', 'dir', 'concurrency', 'nodes', 'idle-exit', 'lock-ms', 'stalled-ms', 'remote-cache'], bools: ['quiet'] }, 'worker');
  if (p.positionals.length) throw new UsageError(`repro worker: unexpected argument ${p.positionals[0]} (the pipeline comes with each job)`);
  const redis = p.values.redis ?? process.env.REPRO_REDIS;
  if (!redis) throw new UsageError('repro worker: needs --redis redis://HOST:PORT (or REPRO_REDIS)');
  const concurrency = intFlag(p, 'concurrency', 'worker');
  const nodes = intFlag(p, 'nodes', 'worker');
  const idle = intFlag(p, 'idle-exit', 'worker');
  const lockMs = intFlag(p, 'lock-ms', 'worker', 100);
  const stalledMs = intFlag(p, 'stalled-ms', 'worker', 100);
  const quiet = p.bools.has('quiet');
  const log = quiet ? undefined : (line: string): void => void process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const { startWorker } = await import('../distributed/worker.js');
  // workers on machines with their own store exchange artifacts through a remote cache
  // (--remote-cache URL or REPRO_REMOTE_CACHE; the pipeline's own `cache.remote` is read per job by the coordinator's choice)
  const { openRemote } = await import('../remote/config.js');
  const rc = openRemote({}, { url: p.values['remote-cache'] }, (m) => process.stderr.write(`warning: ${m}\n`));
  const transport = rc ? (await import('../distributed/transport.js')).remoteCacheTransport(rc) : undefined;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((r) => (stop = r));
  const w = await startWorker({
    redis,
    ...(transport ? { transport } : {}),
    ...(p.values.dir ? { dir: p.values.dir } : {}),
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(nodes !== undefined ? { nodes } : {}),
    ...(lockMs !== undefined ? { lockMs } : {}),
    ...(stalledMs !== undefined ? { stalledMs } : {}),
    ...(log ? { log } : {}),
    ...(idle !== undefined ? { idle: { ms: idle * 1000, onIdle: () => (log?.(`idle for ${idle} s: exiting`), stop()) } } : {}),
  });
  let signals = 0;
  const onSignal = (sig: string): void => {
    if (++signals > 1) process.exit(130);
    log?.(`${sig}: finishing the jobs in progress (again to exit now)`);
    stop();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  await stopped;
  await w.close();
  log?.(`worker ${w.id} done: ${w.done} job(s)`);
  return 0;
}
