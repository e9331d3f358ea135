/**
 * A client of a remote cache that speaks the Bazel HTTP cache protocol — plain GET / PUT / HEAD of
 *
 * ```
 * <url>/cas/<sha256>   an object: artifact bytes, named by their sha256 (as artifacts/objects/)
 * <url>/ac/<key>       a node entry: fingerprint key → output hashes, types, sizes (a CacheEntry, JSON)
 * ```
 *
 * so any server that speaks it serves: nginx with WebDAV (`dav_methods PUT; create_full_put_path
 * on;`), bazel-remote (with `--disable_http_ac_validation`: our AC values are JSON, not Bazel's
 * ActionResult protobuf), an S3 bucket behind a gateway.
 *
 * Guarantees (the caller may rely on them):
 * - every downloaded object is verified (sha256 of the bytes == its name) before it is returned or
 *   stored; a mismatch (poisoned or truncated object) throws {@link RemoteObjectError} and the hash
 *   is remembered as bad, so the next upload of those bytes overwrites it (the remote heals);
 * - an entry is uploaded only after all its objects are on the remote (as the local store writes
 *   its entry last), and a downloaded entry is written to the local store only after its objects;
 * - an unreachable or refusing server (network error, timeout, HTTP 5xx / 401 / 403, …) makes the
 *   client go "down": one warning through `onWarn`, then every call is a miss / no-op — a run
 *   degrades to the local cache and never fails because of the remote;
 * - header values (credentials) and URL user info never appear in a message: {@link RemoteCache.display}
 *   is the URL with user info replaced by `***`.
 *
 * Transfers use Node's built-in fetch (undici; keep-alive connections by default). Object requests
 * (GET, PUT, HEAD of `/cas/…`) of one client share a bound of `concurrency` requests in flight.
 *
 * @example
 * const rc = new RemoteCache({ url: 'http://127.0.0.1:8080/repro', headers: { Authorization: 'Bearer x' } });
 * const e = await rc.getEntry(key);               // CacheEntry | null
 * if (e) await rc.pullNode(session.store, e);      // objects (verified), then the local entry
 * await rc.pushNode(session.store, entry);         // objects missing on the remote, then the entry
 */
import { sha256 } from '../canonical.js';
import { RemoteObjectError } from '../errors.js';
import type { CacheEntry, Store } from '../store.js';

export { RemoteObjectError };

export interface RemoteCacheOptions {
  /** Base URL (`http(s)://host[:port][/prefix]`); `/cas/…` and `/ac/…` are appended. */
  url: string;
  /** Extra request headers (credentials, e.g. from REPRO_REMOTE_CACHE_HEADER). Never printed. */
  headers?: Record<string, string>;
  /** Upload (write-through) the outputs of nodes that ran (default true). */
  upload?: boolean;
  /** Timeout of a HEAD or an entry request, ms (default 3000). */
  timeoutMs?: number;
  /** Timeout of one object transfer, ms (default 60000), plus 1 s per MB of the object (a floor of 1 MB/s). */
  objectTimeoutMs?: number;
  /** Object requests (`/cas/…`) in flight at once (default 8). */
  concurrency?: number;
  /** Where the one "unreachable" warning goes. */
  onWarn?: (msg: string) => void;
}

/** What {@link RemoteCache.pullNode} did. */
export type PullResult =
  | { ok: true; objects: number; bytes: number }
  | {
      ok: false;
      /** Objects that failed verification (rejected; the node must be recomputed). */
      bad: { name: string; hash: string; error: RemoteObjectError }[];
      /** Outputs whose object the remote does not have. */
      missing: string[];
      /** The server went down during the pull. */
      down: boolean;
    };

/** Transfer counters (for messages and benchmarks). */
export interface RemoteStats {
  requests: number;
  hits: number;
  objectsDown: number;
  bytesDown: number;
  objectsUp: number;
  bytesUp: number;
  entriesUp: number;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** `https://user:pw@host/x` → `https://***@host/x` (for messages). */
export function redactUrl(u: string): string {
  return u.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1***@');
}

/** A small counting semaphore (bounded concurrency of object transfers). */
class Limiter {
  private active = 0;
  private waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}
  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await f();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** A CacheEntry parsed from the remote, or null when it is not one (a miss, never a crash). */
export function parseEntry(text: string, key: string): CacheEntry | null {
  try {
    const e = JSON.parse(text) as CacheEntry;
    if (!e || e.v !== 1 || e.key !== key || !e.outputs || typeof e.outputs !== 'object' || Array.isArray(e.outputs)) return null;
    for (const r of Object.values(e.outputs)) {
      if (!r || typeof r !== 'object' || typeof r.hash !== 'string' || !HEX64.test(r.hash) || !['table', 'json', 'file'].includes(r.type)) return null;
      if (r.ext !== undefined && (typeof r.ext !== 'string' || !/^[A-Za-z0-9_-]{1,16}$/.test(r.ext))) return null;
    }
    return e;
  } catch {
    return null;
  }
}

/** A client of one remote cache (see the module comment). */
export class RemoteCache {
  /** The base URL without a trailing slash and without user info. */
  readonly base: string;
  /** The URL for messages (user info redacted). */
  readonly display: string;
  readonly upload: boolean;
  readonly stats: RemoteStats = { requests: 0, hits: 0, objectsDown: 0, bytesDown: 0, objectsUp: 0, bytesUp: 0, entriesUp: 0 };
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly objectTimeoutMs: number;
  private readonly limiter: Limiter;
  private readonly onWarn: (msg: string) => void;
  private down: string | null = null;
  /** Hashes whose remote copy failed verification: uploaded again even though HEAD finds them. */
  private readonly bad = new Set<string>();

  constructor(opts: RemoteCacheOptions) {
    const u = new URL(opts.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`remote cache URL must be http:// or https://, got ${redactUrl(opts.url)}`);
    this.headers = { ...(opts.headers ?? {}) };
    // fetch refuses URLs with credentials: user info becomes basic auth (unless a header sets it)
    if (u.username || u.password) {
      const basic = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64');
      if (!Object.keys(this.headers).some((h) => h.toLowerCase() === 'authorization')) this.headers.Authorization = `Basic ${basic}`;
      u.username = '';
      u.password = '';
    }
    this.base = u.href.replace(/\/+$/, '');
    this.display = redactUrl(opts.url).replace(/\/+$/, '');
    this.upload = opts.upload !== false;
    this.timeoutMs = opts.timeoutMs ?? 3000;
    this.objectTimeoutMs = opts.objectTimeoutMs ?? 60_000;
    this.limiter = new Limiter(Math.max(1, opts.concurrency ?? 8));
    this.onWarn = opts.onWarn ?? ((): void => {});
  }

  /** False once the server failed (then every call is a miss / no-op). */
  get available(): boolean {
    return this.down === null;
  }

  /** Why the server is considered down (null while available). */
  get downReason(): string | null {
    return this.down;
  }

  private goDown(why: string): void {
    if (this.down !== null) return;
    this.down = why;
    this.onWarn(`remote cache ${this.display} is unavailable (${why}); continuing with the local cache only`);
  }

  /**
   * One request; null when the server is (or just went) down. A 404 is returned (a miss); other
   * non-2xx statuses take the server down.
   */
  private async send(method: 'GET' | 'PUT' | 'HEAD', rel: string, timeoutMs: number, body?: Uint8Array): Promise<Response | null> {
    if (this.down !== null) return null;
    this.stats.requests++;
    let res: Response;
    try {
      const init: RequestInit = { method, headers: body ? { ...this.headers, 'content-type': 'application/octet-stream' } : this.headers, signal: AbortSignal.timeout(timeoutMs) };
      if (body) init.body = body as unknown as BodyInit;
      res = await fetch(`${this.base}${rel}`, init);
    } catch (e) {
      this.goDown(fetchFailure(e, timeoutMs));
      return null;
    }
    if (res.ok || (res.status === 404 && method !== 'PUT')) return res;
    await drain(res);
    const hint = res.status === 401 || res.status === 403 ? ': check the credentials in REPRO_REMOTE_CACHE_HEADER' : res.status === 405
          ? ': the server does not accept PUT (nginx: dav_methods PUT)'
          : (res.status === 409 || res.status === 500) && method === 'PUT'
            ? ': the server could not store it (nginx: create_full_put_path on, and a root its workers may write)'
            : '';
    this.goDown(`HTTP ${res.status} for ${method} ${rel.split('/')[1]}${hint}`);
    return null;
  }

  private objectTimeout(size: number): number {
    return this.objectTimeoutMs + Math.ceil(Math.max(0, size) / 1e6) * 1000;
  }

  /** Does the remote have the entry of fingerprint `key`? */
  async hasEntry(key: string): Promise<boolean> {
    const res = await this.send('HEAD', `/ac/${key}`, this.timeoutMs);
    return res !== null && res.ok;
  }

  /** The entry of fingerprint `key`, or null (absent, malformed, or the server is down). */
  async getEntry(key: string): Promise<CacheEntry | null> {
    const res = await this.send('GET', `/ac/${key}`, this.timeoutMs);
    if (!res) return null;
    if (!res.ok) {
      await drain(res);
      return null;
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      this.goDown(fetchFailure(e, this.timeoutMs));
      return null;
    }
    const e = parseEntry(text, key);
    if (e) this.stats.hits++;
    return e;
  }

  /** Upload an entry (call only after its objects are on the remote: {@link pushNode} does). */
  async putEntry(e: CacheEntry): Promise<boolean> {
    if (!this.upload) return false;
    const res = await this.send('PUT', `/ac/${e.key}`, this.timeoutMs, new TextEncoder().encode(JSON.stringify(e)));
    if (!res) return false;
    await drain(res);
    this.stats.entriesUp++;
    return true;
  }

  /** Does the remote have object `hash` (and it is not known to be bad)? */
  async hasObject(hash: string): Promise<boolean> {
    if (this.bad.has(hash)) return false;
    const res = await this.limiter.run(() => this.send('HEAD', `/cas/${hash}`, this.timeoutMs));
    return res !== null && res.ok;
  }

  /**
   * Object `hash` (`size`: the expected size, for the timeout), verified; null when the remote does not have it or is down. Throws
   * {@link RemoteObjectError} when the bytes do not hash to `hash` (the object is then marked bad).
   */
  async getObject(hash: string, size = 0): Promise<Uint8Array | null> {
    if (!HEX64.test(hash)) throw new Error(`not an object hash: ${hash}`);
    const timeout = this.objectTimeout(size);
    return this.limiter.run(async () => {
      const res = await this.send('GET', `/cas/${hash}`, timeout);
      if (!res) return null;
      if (!res.ok) {
        await drain(res);
        return null;
      }
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await res.arrayBuffer());
      } catch (e) {
        this.goDown(fetchFailure(e, timeout));
        return null;
      }
      const got = sha256(bytes);
      if (got !== hash) {
        this.bad.add(hash);
        throw new RemoteObjectError(hash, got, bytes.length);
      }
      this.stats.objectsDown++;
      this.stats.bytesDown += bytes.length;
      return bytes;
    });
  }

  /** Upload object bytes under their hash (the caller's bytes must hash to `hash`). */
  async putObject(hash: string, bytes: Uint8Array): Promise<boolean> {
    if (!this.upload) return false;
    return this.limiter.run(async () => {
      const res = await this.send('PUT', `/cas/${hash}`, this.objectTimeout(bytes.length), bytes);
      if (!res) return false;
      await drain(res);
      this.bad.delete(hash);
      this.stats.objectsUp++;
      this.stats.bytesUp += bytes.length;
      return true;
    });
  }

  /**
   * Upload a node: each of its objects the remote lacks (read from the local store, verified), then
   * its entry. Returns false (never throws) when anything failed; the entry is then not uploaded.
   */
  async pushNode(store: Store, entry: CacheEntry): Promise<boolean> {
    if (!this.upload || this.down !== null) return false;
    try {
      const hashes = [...new Set(Object.values(entry.outputs).map((r) => r.hash))];
      const done = await Promise.all(
        hashes.map(async (h) => {
          if (await this.hasObject(h)) return true;
          if (this.down !== null) return false;
          return this.putObject(h, store.getBytes(h));
        }),
      );
      if (!done.every(Boolean)) return false;
      return await this.putEntry(entry);
    } catch {
      return false; // a local object went bad (the store reports it when it is used)
    }
  }

  /**
   * Download a node: each of its objects the local store lacks (verified), then its entry into the
   * local store. Never throws; see {@link PullResult}.
   */
  async pullNode(store: Store, entry: CacheEntry): Promise<PullResult> {
    const bad: { name: string; hash: string; error: RemoteObjectError }[] = [];
    const missing: string[] = [];
    let objects = 0;
    let bytes = 0;
    await Promise.all(
      Object.entries(entry.outputs).map(async ([name, ref]) => {
        if (store.checkObject(ref.hash) === 'ok') return;
        if (store.checkObject(ref.hash) === 'corrupt') store.discardObject(ref.hash);
        try {
          const b = await this.getObject(ref.hash, ref.size);
          if (!b) {
            missing.push(name);
            return;
          }
          store.putBytes(b);
          objects++;
          bytes += b.length;
        } catch (e) {
          if (e instanceof RemoteObjectError) bad.push({ name, hash: ref.hash, error: e });
          else missing.push(name);
        }
      }),
    );
    if (bad.length || missing.length) return { ok: false, bad, missing, down: this.down !== null };
    store.writeEntry(entry); // last: after every object is in place
    return { ok: true, objects, bytes };
  }
}

/** A short, credential-free description of a failed fetch. */
function fetchFailure(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = err?.cause?.code;
  if (code) return code === 'ECONNREFUSED' ? 'connection refused' : code;
  return err?.cause?.message ?? err?.message ?? String(e);
}

/** Read and drop a response body (so the keep-alive connection is reused). */
async function drain(res: Response): Promise<void> {
  try {
    await res.arrayBuffer();
  } catch {
    /* connection gone */
  }
}
