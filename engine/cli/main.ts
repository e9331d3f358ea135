#!/usr/bin/env node
/**
 * `repro`: the command line of the engine (see DESIGN.md, "The CLI contract").
 *
 * ```
 * repro run [PIPELINE] [--target ID]... [--force ID]... [--set ID.PARAM=VALUE]... [--jobs N]
 *           [--dry-run] [--keep-going] [--json] [--verbose]
 * repro status [PIPELINE] [--target ID]... [--json]
 * repro why ID [PIPELINE] [--json]
 * repro dag [PIPELINE] [--format text|mermaid|dot]
 * repro show ID[.OUTPUT] [PIPELINE] [--json|--csv]
 * repro log [PIPELINE] [--limit N] [--json]
 * repro gc [PIPELINE] [--dry-run] [--keep-runs N]
 * ```
 *
 * Exit codes: 0 success; 1 a step failed; 2 invalid pipeline or usage (nothing ran).
 * PIPELINE defaults to ./pipeline.yaml. REPRO_REGISTRY=module.js swaps the step registry (see
 * engine/registry.ts). A thin wrapper over the library API in engine/executor.ts and friends.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../graph.js';

const USAGE = `repro — declarative pipelines with content-hash caching

usage:
  repro run [PIPELINE] [--target ID]... [--force ID]... [--set ID.PARAM=VALUE]... [--jobs N]
            [--dry-run] [--keep-going] [--json] [--verbose]
  repro status [PIPELINE] [--target ID]... [--json]   what would run, and why
  repro why ID [PIPELINE] [--json]                    which fingerprint parts of ID changed
  repro dag [PIPELINE] [--format text|mermaid|dot]
  repro show ID[.OUTPUT] [PIPELINE] [--json|--csv]    an artifact of the latest successful run
  repro log [PIPELINE] [--limit N] [--json]           run history
  repro gc [PIPELINE] [--dry-run] [--keep-runs N]     delete artifacts nothing needs

PIPELINE defaults to ./pipeline.yaml. Exit codes: 0 ok, 1 a step failed, 2 invalid pipeline or usage.`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run':
        return await (await import('./run.js')).cmdRun(rest);
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
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${cmd}"\n\n${USAGE}`);
    }
  } catch (e) {
    return reportError(e, argv.includes('--verbose'));
  }
}

/** Print an error that escaped a command and return the exit code. */
export function reportError(e: unknown, verbose: boolean): number {
  const err = e as Error & { format?: () => string };
  if (err && err.name === 'UsageError') {
    process.stderr.write(`repro: ${err.message}\n`);
    return 2;
  }
  if (err && (err.name === 'ConfigError' || err.name === 'ConfigErrors') && typeof err.format === 'function') {
    process.stderr.write(`${err.format()}\n`);
    return 2;
  }
  process.stderr.write(`repro: ${err?.message ?? String(e)}\n`);
  if (verbose && err?.stack) process.stderr.write(`${err.stack}\n`);
  return 1;
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
  const exit = (code: number): void => {
    process.exitCode = code;
    // wait until stdout and stderr are flushed, then exit even if a stray handle remains
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  };
  main(process.argv.slice(2)).then(exit, (e) => exit(reportError(e, true)));
}
