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
        process.stderr.write(`${USAGE}\n`); // usage error: exit 2, nothing on stdout
        return 2;
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command "${cmd}"\n\n${USAGE}`);
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
  const exit = (code: number): void => {
    process.exitCode = code;
    // wait until stdout and stderr are flushed, then exit even if a stray handle remains
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  };
  main(process.argv.slice(2)).then(exit, (e) => exit(reportError(e, true, process.argv.includes('--json'))));
}
