/**
 * The fingerprint hook of the `script` step (steps/script.ts), in a module of its own without zod
 * or the step's run code: sessions load it whenever a pipeline has script nodes (see
 * RegistryEntry.fingerprintHook), so a no-op run stays fast.
 *
 * @example
 * extraFingerprint(params, { baseDir, stat }); // { program: 'Rscript found', version: 'Rscript (R) version 4.2.2 …' }
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StatCache } from '../../engine/statcache.js';
import { installHint, splitCommand, whichProgram } from './command.js';

/** The params the hook reads (a subset of the script step's). */
export interface FingerprintParams {
  run: string;
  shell: boolean;
  env: Record<string, string>;
  fingerprint_env: string[];
  version?: string | undefined;
  if_missing?: 'fail' | 'skip';
}

const expandHome = (v: string): string => (v === '~' || v.startsWith('~/') ? path.join(os.homedir(), v.slice(1)) : v);

/** The environment of the command (before REPRO_* are added). */
export function commandEnv(p: Pick<FingerprintParams, 'env'>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(p.env)) env[k] = expandHome(v);
  return env;
}

/** The program a command runs: its first word (`sh` with shell: true). */
export function programOf(p: Pick<FingerprintParams, 'run' | 'shell'>): string {
  return p.shell ? 'sh' : splitCommand(p.run, true)[0]!.text;
}

const versionMemo = new Map<string, string>();

/**
 * The output of the `version` command (stdout + stderr, trimmed; `Rscript --version` prints on
 * stderr), or `not found: PROGRAM`. Run at most once per process and command; across processes it
 * is kept in the stat cache keyed by the stat of the program's binary (namespace `v`), so an
 * upgrade of the interpreter (a new binary) runs it again, and a no-op `repro run` does not start R.
 * A package upgrade that does not replace the binary is not seen this way: list a file of the
 * package in `files`, or use `--force`.
 */
export function versionOutput(cmd: string, env: NodeJS.ProcessEnv, baseDir: string, stat: StatCache | null): string {
  const words = splitCommand(cmd, true).map((w) => w.text);
  const bin = whichProgram(words[0]!, env.PATH, baseDir);
  if (!bin) return `not found: ${words[0]}`;
  let real = bin;
  try {
    real = fs.realpathSync(bin);
  } catch {
    /* keep bin */
  }
  const st = fs.statSync(real);
  const memoKey = `${real}\0${st.size}\0${st.mtimeMs}\0${st.ino}\0${st.ctimeMs}\0${cmd}`;
  const hit = versionMemo.get(memoKey);
  if (hit !== undefined) return hit;
  const cached = stat?.get('v', real, st);
  if (cached && Array.isArray(cached.x) && cached.x[0] === cmd && typeof cached.x[1] === 'string') {
    versionMemo.set(memoKey, cached.x[1]);
    return cached.x[1];
  }
  const r = spawnSync(bin, words.slice(1), { cwd: baseDir, env, encoding: 'utf8', timeout: 60_000 });
  let out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.replace(/\r/g, '').trim().replace(/\n{2,}/g, '\n');
  if (out.length > 500) out = out.slice(0, 500) + '…';
  if (r.error || r.status !== 0) out = `${out || 'no output'} (exit ${r.status ?? r.signal ?? (r.error as Error)?.message})`;
  versionMemo.set(memoKey, out);
  stat?.set('v', real, st, 'version', [cmd, out]);
  return out;
}

/**
 * The `extra` fingerprint part: `version` (output of the version command), `program` (whether the
 * program is on PATH: installing a missing interpreter reruns a skipped node) and `env.NAME` for
 * each name of `fingerprint_env` (values as the command will see them; `(unset)` when unset).
 * A program not found is also reported through `warn` (printed by `repro status`).
 */
export function extraFingerprint(p: FingerprintParams, { baseDir, stat, warn }: { baseDir: string; stat: StatCache | null; warn?: (msg: string) => void }): Record<string, string> {
  const env = commandEnv(p);
  const out: Record<string, string> = {};
  const prog = programOf(p);
  if (!prog.includes('/') && !prog.includes('{')) {
    const found = whichProgram(prog, env.PATH, baseDir) !== null;
    out.program = found ? `${prog} found` : `${prog} not found`;
    // `repro status` prints this: the node would fail (or be skipped) when it runs
    if (!found) warn?.(`${prog} is not installed or not on PATH: ${installHint(prog)}${p.if_missing === 'skip' ? ' (the node will be skipped: if_missing: skip)' : ''}`);
  }
  if (p.version) out.version = versionOutput(p.version, env, baseDir, stat);
  for (const name of p.fingerprint_env) out[`env.${name}`] = env[name] ?? '(unset)';
  return out;
}

