/**
 * How artifacts get between the coordinator and the workers of a distributed run.
 *
 * The coordinator and the workers exchange only *references* through Redis (cache keys and
 * output hashes); the bytes move through an {@link ArtifactTransport}:
 *
 * - {@link sharedStoreTransport}: every worker opens the same checkout (one machine, or a shared
 *   file system such as an HPC cluster's `$HOME`/`/scratch`), so the store (`artifacts/`) is
 *   shared: nothing to move; "fetch" only checks that the object or entry is there.
 * - {@link remoteCacheTransport}: workers on machines with their own checkout and store go through
 *   a remote content-addressed cache (the Bazel-HTTP cache of engine/remote/, wired by the lead at
 *   merge): inputs are downloaded into the worker's local store (hash verified by `putBytes`),
 *   outputs and then the cache entry uploaded (entry last, as in the local store).
 *
 * @example
 * const t = sharedStoreTransport();
 * if (!(await t.fetchObject(store, ref.hash))) throw new Error('input not available');
 */
import type { CacheEntry, Store } from '../store.js';

export interface ArtifactTransport {
  /** For messages: `shared store`, `remote cache https://…`. */
  readonly name: string;
  /** Make object `hash` present in `store` (download when missing); false when it is nowhere. */
  fetchObject(store: Store, hash: string): Promise<boolean>;
  /** Make object `hash` of `store` available to the other side (upload). */
  sendObject(store: Store, hash: string): Promise<void>;
  /** The cache entry `key`, written into `store` when it came from elsewhere; null when absent. */
  fetchEntry(store: Store, key: string): Promise<CacheEntry | null>;
  /** Publish a cache entry (after its objects: {@link sendObject} first). */
  sendEntry(store: Store, entry: CacheEntry): Promise<void>;
}

/** Workers and coordinator share one store (same checkout or shared file system). */
export function sharedStoreTransport(): ArtifactTransport {
  return {
    name: 'shared store',
    async fetchObject(store, hash) {
      return store.checkObject(hash) === 'ok';
    },
    async sendObject() {},
    async fetchEntry(store, key) {
      return store.readEntry(key);
    },
    async sendEntry() {},
  };
}

/**
 * What {@link remoteCacheTransport} needs of a remote cache (the API of engine/remote/'s
 * RemoteCache, roughly): objects by sha256, entries by cache key.
 */
export interface RemoteCacheLike {
  /** The URL as shown to users (credentials redacted). */
  readonly display?: string;
  getObject(hash: string): Promise<Uint8Array | null>;
  /** false: not stored (the server refused or is down; RemoteCache warns once). */
  putObject(hash: string, bytes: Uint8Array): Promise<boolean | void>;
  getEntry(key: string): Promise<CacheEntry | null>;
  putEntry(entry: CacheEntry): Promise<boolean | void>;
}

/** Workers on other machines: artifacts through a remote cache, the local store as the cache of it. */
export function remoteCacheTransport(rc: RemoteCacheLike): ArtifactTransport {
  return {
    name: `remote cache${rc.display ? ` ${rc.display}` : ''}`,
    async fetchObject(store, hash) {
      if (store.checkObject(hash) === 'ok') return true;
      const bytes = await rc.getObject(hash);
      if (!bytes) return false;
      const got = store.putBytes(bytes);
      if (got !== hash) {
        store.discardObject(got);
        throw new Error(`object ${hash.slice(0, 12)}… from the ${this.name} hashes to ${got.slice(0, 12)}… (corrupt or truncated download)`);
      }
      return true;
    },
    async sendObject(store, hash) {
      if ((await rc.putObject(hash, store.getBytes(hash))) === false) throw new Error(`could not upload object ${hash.slice(0, 12)}… to the ${this.name}`);
    },
    async fetchEntry(store, key) {
      const local = store.readEntry(key);
      if (local) return local;
      const e = await rc.getEntry(key);
      if (!e) return null;
      for (const r of Object.values(e.outputs)) if (!(await this.fetchObject(store, r.hash))) return null;
      store.writeEntry(e); // last, after its objects
      return e;
    },
    async sendEntry(_store, entry) {
      if ((await rc.putEntry(entry)) === false) throw new Error(`could not upload the cache entry of ${entry.node} to the ${this.name}`);
    },
  };
}
