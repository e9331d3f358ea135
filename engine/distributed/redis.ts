/**
 * Redis connection settings for the BullMQ executor: `redis://[user:pass@]host:port[/db]` (or
 * `rediss://` for TLS) → ioredis options, and a reachability check with a short timeout so that
 * `repro run --executor bullmq` and `repro worker` fail at once with a clear message when Redis
 * is down, instead of ioredis retrying forever.
 *
 * @example
 * const conn = redisOptions('redis://127.0.0.1:6379/0');
 * await checkRedis('redis://127.0.0.1:6379'); // throws a UsageError-like message when unreachable
 */
import type { RedisOptions } from 'ioredis';

/** Queue names and key prefix (one Redis may serve several projects with distinct prefixes). */
export const DEFAULT_PREFIX = 'repro';
export const NODE_QUEUE = 'nodes';
export const CHUNK_QUEUE = 'chunks';

/** An error about the Redis connection (the CLI prints its message; exit 1). */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

/** ioredis options of a `redis://` URL. */
export function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisUnavailableError(`--redis "${url}" is not a URL; expected redis://host:port (e.g. redis://127.0.0.1:6379)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new RedisUnavailableError(`--redis "${url}": expected a redis:// or rediss:// URL`);
  const db = u.pathname.replace(/^\//, '');
  if (db && !/^\d+$/.test(db)) throw new RedisUnavailableError(`--redis "${url}": the path must be a database number (redis://host:port/0)`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ needs this for blocking connections; harmless for the others
    maxRetriesPerRequest: null,
  };
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** Command-line arguments with the passwords of redis:// URLs masked (the history records argv). */
export function redactArgv(argv: string[]): string[] {
  return argv.map((a) => a.replace(/(rediss?:\/\/[^:@/\s]*:)[^@/\s]+@/g, '$1***@'));
}

/** PING Redis once (timeout `ms`); throws RedisUnavailableError naming the URL and the fix. */
export async function checkRedis(url: string, ms = 3000): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis({ ...redisOptions(url), lazyConnect: true, connectTimeout: ms, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  client.on('error', () => {}); // reported below
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, rej) => setTimeout(() => rej(new Error(`no answer within ${ms} ms`)), ms).unref()),
    ]);
  } catch (e) {
    throw new RedisUnavailableError(
      `cannot reach Redis at ${redactUrl(url)}: ${(e as Error).message}. Start it (e.g. \`redis-server --port 6379\`) or fix --redis`,
    );
  } finally {
    client.disconnect();
  }
}
