/**
 * `repro push` / `repro pull`: explicit sync of the local store with the remote cache
 * (engine/remote/sync.ts), and the remote cache of a command from its flags.
 *
 * Exit codes: 0 done; 1 the remote was unreachable or an object failed verification (pull) or an
 * upload failed (push); 2 usage (also: no remote cache configured).
 */
import { parseArgs } from './args.js';
import { UsageError } from '../errors.js';
import type { RemoteCache } from '../remote/http-cache.js';
import type { PipelineSpec } from '../spec.js';

/** The remote cache of a command (`--remote-cache`, REPRO_REMOTE_CACHE, the YAML), warnings to stderr. */
export async function remoteOf(spec: PipelineSpec, values: Record<string, string>, command: string, warn: (msg: string) => void): Promise<RemoteCache | null> {
  const { openRemote, parseUploadFlag } = await import('../remote/config.js');
  return openRemote(spec, { url: values['remote-cache'], upload: parseUploadFlag(values['remote-upload'], command) }, warn);
}

async function sync(argv: string[], command: 'push' | 'pull'): Promise<number> {
  const p = parseArgs(argv, { values: ['remote-cache'], repeat: ['target', 'set'], bools: ['json', 'verbose'] }, command);
  if (p.positionals.length > 1) throw new UsageError(`repro ${command}: unexpected argument ${p.positionals.slice(1).join(' ')}`);
  const file = p.positionals[0] ?? 'pipeline.yaml';
  const json = p.bools.has('json');
  const [{ openSession }, { makeUi, fmtBytes }, sync] = await Promise.all([import('../session.js'), import('./ui.js'), import('../remote/sync.js')]);
  let overrides: import('../spec.js').ParamOverride[] = [];
  if (p.lists.set?.length) {
    const { parseOverride } = await import('../config/load.js');
    overrides = p.lists.set.map((a) => parseOverride(a));
  }
  const s = await openSession({ file, overrides });
  const ui = await makeUi();
  const remote = await remoteOf(s.spec, p.values, command, (msg) => ui.err(ui.c.yellow(`warning: ${msg}`)));
  if (!remote) throw new UsageError(`repro ${command}: no remote cache: give --remote-cache URL, set REPRO_REMOTE_CACHE, or add \`cache: {remote: URL}\` to ${file}`);
  const targets = p.lists.target?.length ? { targets: p.lists.target } : {};
  const r = command === 'push' ? await sync.pushPipeline(s, remote, targets) : await sync.pullPipeline(s, remote, targets);
  const count = (k: string): number => r.nodes.filter((n) => n.result === k).length;
  const bad = r.nodes.filter((n) => n.result === 'bad' || n.result === 'failed');
  const ok = r.down === null && bad.length === 0;
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok, remote: r.url, down: r.down, objects: r.objects, bytes: r.bytes, nodes: r.nodes })}\n`);
    return ok ? 0 : 1;
  }
  for (const n of r.nodes) {
    if (n.result === 'present' && !p.bools.has('verbose')) continue;
    if (n.result === 'failed' && r.down !== null) continue; // the one warning says why
    ui.out(`  ${n.result.padEnd(8)} ${n.id}${n.message ? ui.c.dim(`  ${n.message}`) : ''}`);
  }
  const line =
    command === 'push'
      ? `${s.spec.name}: pushed ${count('pushed')} node(s) (${r.objects} objects, ${fmtBytes(r.bytes)}) to ${r.url}; ${count('present')} already there${bad.length ? `; ${bad.length} failed` : ''}`
      : `${s.spec.name}: pulled ${count('pulled')} node(s) (${r.objects} objects, ${fmtBytes(r.bytes)}) from ${r.url}; ${count('absent')} not in the remote (would run)${bad.length ? `; ${bad.length} rejected or failed` : ''}`;
  ui.out(ok ? ui.c.green(line) : ui.c.red(r.down !== null ? `${line} (the remote is unavailable: ${r.down})` : line));
  return ok ? 0 : 1;
}

export const cmdPush = (argv: string[]): Promise<number> => sync(argv, 'push');
export const cmdPull = (argv: string[]): Promise<number> => sync(argv, 'pull');
