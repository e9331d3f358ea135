/**
 * Which remote cache a command uses: `--remote-cache URL` (the CLI), else `REPRO_REMOTE_CACHE`,
 * else `cache: {remote: URL}` in the pipeline YAML; `off` (or an empty value) disables it.
 * Uploads: `--remote-upload=false`, else `cache: {upload: false}`, else on.
 * Credentials: `REPRO_REMOTE_CACHE_HEADER` (`Name: value`, several separated by newlines), or user
 * info in the URL; neither is ever printed or recorded (messages name {@link RemoteCache.display}).
 */
import { UsageError } from '../errors.js';
import type { PipelineSpec } from '../spec.js';
import { remoteHeaderText } from './credentials.js';
import { RemoteCache, redactUrl, type RemoteCacheOptions } from './http-cache.js';

export interface RemoteChoice {
  /** `--remote-cache` (`off` disables; undefined: env, then the YAML). */
  url?: string | undefined;
  /** `--remote-upload` (undefined: the YAML, then true). */
  upload?: boolean | undefined;
}

/** The remote cache URL in effect, or null. */
export function remoteUrl(spec: Pick<PipelineSpec, 'cache'>, choice: RemoteChoice = {}, env: NodeJS.ProcessEnv = process.env): string | null {
  const v = (choice.url ?? env.REPRO_REMOTE_CACHE ?? spec.cache?.remote ?? '').trim();
  if (!v || v === 'off' || v === 'none') return null;
  return v;
}

/** Headers from REPRO_REMOTE_CACHE_HEADER (values never echoed in errors). */
export function headersFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const text = remoteHeaderText(env);
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (!line.trim()) continue;
    const m = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*:\s*(.*?)\s*$/.exec(line);
    if (!m) throw new UsageError(`REPRO_REMOTE_CACHE_HEADER: line ${i + 1} is not \`Name: value\` (e.g. \`Authorization: Bearer TOKEN\`); the value is not shown`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

/** The remote cache of a command, or null when none is configured. Throws UsageError for a bad URL. */
export function openRemote(spec: Pick<PipelineSpec, 'cache'>, choice: RemoteChoice, onWarn: (msg: string) => void, extra: Partial<RemoteCacheOptions> = {}, env: NodeJS.ProcessEnv = process.env): RemoteCache | null {
  const url = remoteUrl(spec, choice, env);
  if (!url) return null;
  let ok = false;
  try {
    const u = new URL(url);
    ok = u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    ok = false;
  }
  const from = choice.url !== undefined ? '--remote-cache' : env.REPRO_REMOTE_CACHE !== undefined ? 'REPRO_REMOTE_CACHE' : 'cache.remote';
  if (!ok) throw new UsageError(`${from}: expected an http:// or https:// URL (e.g. https://cache.example.org/repro), got ${redactUrl(url)}; \`off\` disables the remote cache`);
  return new RemoteCache({ url, headers: headersFromEnv(env), upload: choice.upload ?? spec.cache?.upload ?? true, onWarn, ...extra });
}

/** `--remote-upload` value: true/false (also 1/0, yes/no). */
export function parseUploadFlag(v: string | undefined, command: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (/^(true|1|yes|on)$/i.test(v)) return true;
  if (/^(false|0|no|off)$/i.test(v)) return false;
  throw new UsageError(`repro ${command}: --remote-upload must be true or false, got "${v}"`);
}
