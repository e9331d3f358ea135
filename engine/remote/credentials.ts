/**
 * The remote cache's credentials (`REPRO_REMOTE_CACHE_HEADER`), moved out of `process.env` by the
 * CLI at startup so that no step's child process (a `script` step's R, Python, shell …) or worker
 * thread inherits them; {@link remoteHeaderText} still returns them. No imports: the CLI loads this
 * only when the variable is set.
 */
let captured: string | undefined;

/** Move REPRO_REMOTE_CACHE_HEADER from process.env into this module. */
export function captureRemoteHeader(): void {
  const v = process.env.REPRO_REMOTE_CACHE_HEADER;
  if (v === undefined) return;
  captured = v;
  delete process.env.REPRO_REMOTE_CACHE_HEADER;
}

/** The header text: from `env` (process.env by default), else what {@link captureRemoteHeader} took. */
export function remoteHeaderText(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.REPRO_REMOTE_CACHE_HEADER ?? (env === process.env ? captured : undefined);
}
