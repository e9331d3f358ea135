/**
 * The content-addressed store (invariant 2), under `artifacts/` next to the pipeline YAML:
 *
 * ```
 * artifacts/objects/ab/ab12…   immutable artifact bytes, named by their sha256
 * artifacts/cache/3f/3f2a….json cache entry: fingerprint → output hashes (written last)
 * artifacts/tmp/               temp files (renamed into place; stray ones are swept)
 * artifacts/statcache.json     stat cache (invariant 4)
 * artifacts/history.json       run history: `latest` per node, next run id (lowdb)
 * artifacts/runs/              run history: one record per run (`00000042.json`), the last 200
 * artifacts/locks/             run / gc / mutex lock files
 * ```
 *
 * Objects are written to a temp file and renamed into place, so a reader sees a whole object or
 * none; a cache entry is written only after all its outputs are in place. Reads verify the hash
 * (a full read is checked byte by byte; an existence check trusts the stat cache's record of the
 * last verification). An object path that is not a regular file (a directory, a symlink, a FIFO)
 * is corrupt: it is moved aside to `artifacts/corrupt/` and the object recomputed. Cache entries
 * carry a checksum (fsutil.ts `sealJson`): an entry that fails it is not used (warning) and is
 * replaced when the node is recomputed. The store's folders must not lead out of the store through
 * a symlink (writing there is an error). Serialization: table → Arrow IPC file (apache-arrow, imported lazily),
 * json → canonical JSON, file → raw bytes.
 */
import { CorruptObjectError } from './errors.js';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson, sha256 } from './canonical.js';
import { assertInside, moveAside, pidAlive, sealJson, unsealJson, writeFileAtomic } from './fsutil.js';
import { hashFileSync, type StatCache } from './statcache.js';
import type { Artifact, ArtifactType } from './types.js';

/** One stored output: its object hash, type and (for files) extension. */
export interface OutputRef {
  hash: string;
  type: ArtifactType;
  /** File extension without dot (file artifacts). */
  ext?: string;
  size: number;
}

/** A cache entry: the outputs a node with this fingerprint produced. */
export interface CacheEntry {
  v: 1;
  key: string;
  /** Node and kind that produced it (informational). */
  node: string;
  kind: string;
  outputs: Record<string, OutputRef>;
  /** How long the step took, ms. */
  ms: number;
}

/** What {@link Store.checkObject} finds. */
export type ObjectState = 'ok' | 'missing' | 'corrupt';

export { CorruptObjectError };

export class Store {
  readonly objectsDir: string;
  readonly cacheDir: string;
  readonly tmpDir: string;
  readonly locksDir: string;
  private madeDirs = new Set<string>();
  private warned = new Set<string>();
  /** Where store warnings go (default: stderr, `repro: warning: …`); each message once per Store. */
  onWarn: (msg: string) => void = (msg) => process.stderr.write(`repro: warning: ${msg}\n`);

  constructor(readonly dir: string, readonly stat: StatCache | null = null) {
    this.objectsDir = path.join(dir, 'objects');
    this.cacheDir = path.join(dir, 'cache');
    this.tmpDir = path.join(dir, 'tmp');
    this.locksDir = path.join(dir, 'locks');
  }

  private warn(msg: string): void {
    if (this.warned.has(msg)) return;
    this.warned.add(msg);
    this.onWarn(msg);
  }

  private mkdir(d: string): void {
    if (this.madeDirs.has(d)) return;
    assertInside(this.dir, d, 'store folder'); // before creating anything through a symlink
    try {
      fs.mkdirSync(d, { recursive: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTDIR') throw e;
      // a file where a store folder should be (e.g. objects/ab): move it aside, then create the folder
      const rel = path.relative(this.dir, d).split(path.sep);
      for (let i = 0, p = this.dir; i < rel.length; i++) {
        p = path.join(p, rel[i]!);
        let st: fs.Stats;
        try {
          st = fs.statSync(p);
        } catch {
          break;
        }
        if (st.isDirectory()) continue;
        const to = moveAside(p, this.dir);
        this.warn(`store folder ${p} was ${kindOf(st)}${to ? `; moved to ${to}` : '; removed'}`);
        break;
      }
      fs.mkdirSync(d, { recursive: true });
    }
    this.madeDirs.add(d);
  }

  objectPath(hash: string): string {
    return path.join(this.objectsDir, hash.slice(0, 2), hash);
  }

  entryPath(key: string): string {
    return path.join(this.cacheDir, key.slice(0, 2), `${key}.json`);
  }

  /** Store bytes (if not already there) and return their hash. */
  putBytes(bytes: Uint8Array): string {
    const hash = sha256(bytes);
    const p = this.objectPath(hash);
    const state = this.checkObject(hash);
    if (state === 'ok') return hash;
    if (state === 'corrupt') this.discardObject(hash); // also a directory or symlink in its place
    this.mkdir(this.tmpDir);
    this.mkdir(path.dirname(p));
    writeFileAtomic(p, bytes, this.tmpDir);
    // we just wrote these bytes: record them as verified (objects are immutable)
    try {
      this.stat?.set('o', p, fs.statSync(p), hash, undefined, Number.POSITIVE_INFINITY);
    } catch {
      /* removed concurrently (gc): the next check rehashes */
    }
    return hash;
  }

  /**
   * Is the object present and intact? Uses the stat cache's record of the last verification when
   * the file's (size, mtime, inode, ctime) are unchanged; otherwise rehashes the file.
   */
  checkObject(hash: string): ObjectState {
    const p = this.objectPath(hash);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p); // a symlink is not an object: it could point anywhere
    } catch {
      return 'missing';
    }
    if (!st.isFile()) return 'corrupt'; // a directory, symlink, FIFO… where an object should be
    const hit = this.stat?.get('o', p, st);
    if (hit) return hit.h === hash ? 'ok' : 'corrupt';
    let h: string;
    try {
      h = hashFileSync(p);
    } catch {
      return 'corrupt';
    }
    if (this.stat) this.stat.reads++;
    if (h !== hash) return 'corrupt';
    // objects are immutable: a later change of (size, mtime, inode, ctime) is what we watch for
    this.stat?.set('o', p, st, h, undefined, Number.POSITIVE_INFINITY);
    return 'ok';
  }

  /**
   * The object's bytes, verified; throws CorruptObjectError (and removes a corrupt file). As in
   * {@link checkObject}, an object whose (size, mtime, inode, ctime) are those recorded when it was
   * last hashed is not hashed again (an 80 MB input costs ~100 ms of sha256 on this machine).
   */
  getBytes(hash: string): Uint8Array {
    const p = this.objectPath(hash);
    let bytes: Buffer;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
      if (!st.isFile()) {
        this.discardObject(hash);
        throw new CorruptObjectError(hash, 'corrupt');
      }
      bytes = fs.readFileSync(p);
    } catch (e) {
      if (e instanceof CorruptObjectError) throw e;
      throw new CorruptObjectError(hash, 'missing');
    }
    if (this.stat?.get('o', p, st)?.h !== hash || bytes.length !== st.size) {
      if (sha256(bytes) !== hash) {
        this.discardObject(hash);
        throw new CorruptObjectError(hash, 'corrupt');
      }
      this.stat?.set('o', p, st, hash, undefined, Number.POSITIVE_INFINITY);
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /**
   * Remove a (corrupt) object so it is rewritten: a regular file is deleted; anything else in its
   * place (a directory, a symlink, a FIFO) is moved aside to `corrupt/` with a warning.
   */
  discardObject(hash: string): void {
    const p = this.objectPath(hash);
    this.stat?.delete('o', p);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return; // already gone
    }
    if (st.isFile()) {
      try {
        fs.unlinkSync(p);
      } catch {
        /* raced */
      }
      return;
    }
    const to = moveAside(p, this.dir);
    this.warn(`store object ${hash.slice(0, 12)}… was not a regular file (${kindOf(st)})${to ? `; moved to ${to}` : '; removed'}`);
  }

  /**
   * The cache entry for a fingerprint, or null (a miss): missing, written by an older version
   * (no checksum), failing its checksum (warning; the recomputed node's entry replaces it), or of
   * the wrong shape.
   */
  readEntry(key: string): CacheEntry | null {
    const p = this.entryPath(key);
    let text: string;
    try {
      text = fs.readFileSync(p, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.warn(`cache entry ${p} could not be read (${(e as Error).message}); treated as a miss`);
      return null;
    }
    const u = unsealJson(text);
    if (u.state === 'unsealed') return null; // an older version's entry: recomputed once
    if (u.state !== 'ok') {
      this.warn(`cache entry ${p} ${u.state === 'mismatch' ? 'failed its checksum' : 'is not valid JSON'}; discarded (the node is recomputed)`);
      return null;
    }
    const e = u.value as CacheEntry;
    // valid JSON of the wrong shape (another version) is a miss, never a crash
    if (!e || typeof e !== 'object' || e.v !== 1 || e.key !== key || !e.outputs || typeof e.outputs !== 'object') return null;
    for (const r of Object.values(e.outputs)) {
      if (!r || typeof r !== 'object' || typeof r.hash !== 'string' || !/^[0-9a-f]{64}$/.test(r.hash) || !['table', 'json', 'file'].includes(r.type)) return null;
      if (r.ext !== undefined && (typeof r.ext !== 'string' || !/^[A-Za-z0-9_-]{1,16}$/.test(r.ext))) return null;
    }
    return e;
  }

  /** Record a cache entry (with its checksum). Call only after every output object is in place. */
  writeEntry(e: CacheEntry): void {
    const p = this.entryPath(e.key);
    this.mkdir(this.tmpDir);
    this.mkdir(path.dirname(p));
    try {
      if (!fs.lstatSync(p).isFile()) moveAside(p, this.dir); // a directory in its place: rename would fail
    } catch {
      /* not there: the usual case */
    }
    writeFileAtomic(p, sealJson(e), this.tmpDir);
  }

  deleteEntry(key: string): void {
    try {
      fs.unlinkSync(this.entryPath(key));
    } catch {
      /* gone */
    }
  }

  /** Encode and store an artifact. */
  async put(a: Artifact): Promise<OutputRef> {
    const { bytes, ext } = await encodeArtifact(a);
    const hash = this.putBytes(bytes);
    const ref: OutputRef = { hash, type: a.type, size: bytes.length };
    if (ext !== undefined) ref.ext = ext;
    return ref;
  }

  /** Read and decode an artifact (hash verified). */
  async get(ref: OutputRef): Promise<Artifact> {
    return decodeArtifact(ref, this.getBytes(ref.hash));
  }

  /**
   * Remove temp files left by processes that no longer exist (store temp dir, store root, specs/,
   * and `extraDirs`: the publish folders, where a run killed while publishing leaves its temp file).
   */
  sweepTemp(extraDirs: Iterable<string> = []): void {
    for (const dir of new Set([this.tmpDir, this.dir, path.join(this.dir, 'specs'), ...extraDirs])) {
      let names: string[];
      try {
        names = fs.readdirSync(dir);
      } catch {
        continue;
      }
      for (const n of names) {
        const m = /^\.tmp-(\d+)-/.exec(n);
        if (m && !pidAlive(Number(m[1]))) {
          try {
            fs.unlinkSync(path.join(dir, n));
          } catch {
            /* raced */
          }
        }
      }
    }
  }

  /** Every object hash in the store with its size. */
  listObjects(): { hash: string; size: number; file: string }[] {
    const out: { hash: string; size: number; file: string }[] = [];
    let shards: string[] = [];
    try {
      shards = fs.readdirSync(this.objectsDir);
    } catch {
      return out;
    }
    for (const s of shards) {
      const d = path.join(this.objectsDir, s);
      let names: string[] = [];
      try {
        names = fs.readdirSync(d);
      } catch {
        continue;
      }
      for (const n of names) {
        const file = path.join(d, n);
        try {
          out.push({ hash: n, size: fs.statSync(file).size, file });
        } catch {
          /* raced */
        }
      }
    }
    return out;
  }

  /** Every cache entry key. */
  listEntries(): string[] {
    const out: string[] = [];
    let shards: string[] = [];
    try {
      shards = fs.readdirSync(this.cacheDir);
    } catch {
      return out;
    }
    for (const s of shards) {
      try {
        for (const n of fs.readdirSync(path.join(this.cacheDir, s))) if (n.endsWith('.json')) out.push(n.slice(0, -5));
      } catch {
        /* raced */
      }
    }
    return out;
  }
}

/** What a non-regular file is, in words. */
export function kindOf(st: fs.Stats): string {
  return st.isDirectory() ? 'a directory' : st.isSymbolicLink() ? 'a symlink' : st.isFIFO() ? 'a named pipe' : st.isSocket() ? 'a socket' : st.isFile() ? 'a file' : 'a device';
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Bytes of an artifact as stored. */
export async function encodeArtifact(a: Artifact): Promise<{ bytes: Uint8Array; ext?: string }> {
  switch (a.type) {
    case 'table': {
      if (a.arrow instanceof Uint8Array) return { bytes: a.arrow };
      const { tableToArrow } = await import('./arrow.js');
      return { bytes: tableToArrow(a.table) };
    }
    case 'json':
      return { bytes: enc.encode(canonicalJson(a.value)) };
    case 'file':
      if (!(a.bytes instanceof Uint8Array)) throw new Error(`file artifact must carry bytes (Uint8Array)`);
      // the extension becomes part of published file names: no separators, no dots
      if (typeof a.ext !== 'string' || !/^[A-Za-z0-9_-]{1,16}$/.test(a.ext)) throw new Error(`file artifact extension must be letters/digits (e.g. "md", "png"), got ${JSON.stringify(a.ext)}`);
      return { bytes: a.bytes, ext: a.ext };
    default:
      throw new Error(`unknown artifact type ${(a as { type: string }).type}`);
  }
}

/** An artifact from its stored bytes. */
export async function decodeArtifact(ref: OutputRef, bytes: Uint8Array): Promise<Artifact> {
  switch (ref.type) {
    case 'table': {
      const { arrowToTable } = await import('./arrow.js');
      return { type: 'table', table: arrowToTable(bytes) };
    }
    case 'json':
      return { type: 'json', value: JSON.parse(dec.decode(bytes)) };
    case 'file':
      return { type: 'file', ext: ref.ext ?? 'bin', bytes };
  }
}

/** The extension an output is published / shown with: file → its ext, table → csv, json → json. */
export function publishExt(ref: OutputRef): string {
  return ref.type === 'file' ? (ref.ext ?? 'bin') : ref.type === 'table' ? 'csv' : 'json';
}
