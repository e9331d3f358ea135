/**
 * Pieces of the BullMQ executor that need no Redis: grouping ctx.map chunks into jobs, the codec
 * (bit-exact round trip), Redis URL parsing, and the artifact transports (shared store; the
 * remote-cache adapter against an in-memory cache, including a corrupt download).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { groups } from '../../engine/distributed/chunks.js';
import { decode, encode } from '../../engine/distributed/codec.js';
import { redactArgv, redactUrl, redisOptions } from '../../engine/distributed/redis.js';
import { remoteCacheTransport, sharedStoreTransport, type RemoteCacheLike } from '../../engine/distributed/transport.js';
import { Store, type CacheEntry } from '../../engine/store.js';

const dirs: string[] = [];
const tmpStore = (): Store => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-dist-'));
  dirs.push(d);
  return new Store(d);
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('groups: consecutive chunks per job', () => {
  it('covers 0..n in order, sizes differ by at most one, never more jobs than chunks', () => {
    for (const [n, k] of [
      [200, 20],
      [199, 20],
      [7, 3],
      [3, 10],
      [1, 1],
      [20, 1],
    ] as const) {
      const g = groups(n, k);
      expect(g.length).toBe(Math.min(n, k));
      expect(g[0]![0]).toBe(0);
      expect(g.at(-1)![1]).toBe(n);
      for (let i = 1; i < g.length; i++) expect(g[i]![0]).toBe(g[i - 1]![1]);
      const sizes = g.map(([a, b]) => b - a);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
    expect(groups(10_000 / 50, 20).map(([a, b]) => b - a)).toEqual(Array(20).fill(10)); // 20 jobs of 500 placebo draws
  });
});

describe('codec', () => {
  it('round-trips typed arrays, NaN, -0 and ±Infinity bit for bit (JSON would not)', () => {
    const v = { a: new Float64Array([NaN, -0, Infinity, -Infinity, 0.1 + 0.2]), s: 'x', n: [1, null] };
    const back = decode<typeof v>(encode(v));
    expect(back.a).toBeInstanceOf(Float64Array);
    expect(Buffer.from(back.a.buffer, back.a.byteOffset, back.a.byteLength).equals(Buffer.from(v.a.buffer))).toBe(true);
    expect(Object.is(back.a[1], -0)).toBe(true);
    expect(back.n).toEqual([1, null]);
  });
});

describe('redis URL', () => {
  it('parses host, port, db, credentials; rejects other schemes with the fix', () => {
    expect(redisOptions('redis://127.0.0.1:6390/2')).toMatchObject({ host: '127.0.0.1', port: 6390, db: 2, maxRetriesPerRequest: null });
    expect(redisOptions('redis://u:p%40ss@h')).toMatchObject({ host: 'h', port: 6379, username: 'u', password: 'p@ss' });
    expect(() => redisOptions('http://h:1')).toThrow(/expected a redis:\/\/ or rediss:\/\/ URL/);
    expect(() => redisOptions('h:6379')).toThrow(/expected a redis:\/\/ or rediss:\/\/ URL|is not a URL/);
    expect(() => redisOptions('redis://h/x')).toThrow(/database number/);
    expect(redactUrl('redis://u:secret@h:1')).not.toContain('secret');
    // what the run history records as the command line
    expect(redactArgv(['run', '--redis', 'redis://u:s3cret@h:6379/0', '--redis=rediss://:pw@h2'])).toEqual(['run', '--redis', 'redis://u:***@h:6379/0', '--redis=rediss://:***@h2']);
  });
});

describe('artifact transports', () => {
  const entryOf = (s: Store, bytes: Uint8Array): CacheEntry => {
    const hash = s.putBytes(bytes);
    const e: CacheEntry = { v: 1, key: 'k'.repeat(64), node: 'n', kind: 'toy', outputs: { out: { hash, type: 'json', size: bytes.length } }, ms: 1 };
    s.writeEntry(e);
    return e;
  };

  it('shared store: fetch finds what is in the store, nothing else', async () => {
    const s = tmpStore();
    const t = sharedStoreTransport();
    const e = entryOf(s, new TextEncoder().encode('{"a":1}'));
    expect(await t.fetchObject(s, e.outputs.out!.hash)).toBe(true);
    expect(await t.fetchObject(s, '0'.repeat(64))).toBe(false);
    expect(await t.fetchEntry(s, e.key)).toEqual(e);
    expect(await t.fetchEntry(s, '1'.repeat(64))).toBeNull();
  });

  it('remote cache: a worker store uploads, another downloads (hash verified); a corrupt object is rejected', async () => {
    const objects = new Map<string, Uint8Array>();
    const entries = new Map<string, CacheEntry>();
    const rc: RemoteCacheLike = {
      display: 'http://cache.test/p',
      getObject: async (h) => objects.get(h) ?? null,
      putObject: async (h, b) => void objects.set(h, b),
      getEntry: async (k) => entries.get(k) ?? null,
      putEntry: async (e) => void entries.set(e.key, e),
    };
    const t = remoteCacheTransport(rc);
    const worker = tmpStore();
    const coord = tmpStore();
    const e = entryOf(worker, new TextEncoder().encode('{"b":2}'));
    await t.sendObject(worker, e.outputs.out!.hash);
    await t.sendEntry(worker, e);
    expect(coord.readEntry(e.key)).toBeNull();
    expect(await t.fetchEntry(coord, e.key)).toEqual(e);
    expect(coord.readEntry(e.key)).toEqual(e); // written locally, after its object
    expect(coord.checkObject(e.outputs.out!.hash)).toBe('ok');
    // a poisoned object on the server: rejected, not stored under the name it claims
    const fake = 'f'.repeat(64);
    objects.set(fake, new TextEncoder().encode('not what the hash says'));
    await expect(t.fetchObject(coord, fake)).rejects.toThrow(/corrupt or truncated download/);
    expect(coord.checkObject(fake)).toBe('missing');
    expect(await t.fetchObject(coord, 'e'.repeat(64))).toBe(false);
  });
});

describe('JobWaiter (fake queue): the poll is bounded, lost jobs are re-added, a silent Redis fails the waiters', () => {
  type State = 'waiting' | 'completed' | 'failed' | 'unknown';
  const fakes = (stateOf: (id: string) => Promise<State>) => {
    const calls: string[] = [];
    const added: string[] = [];
    const queue = {
      getJobState: async (id: string) => (calls.push(id), stateOf(id)),
      getJob: async (id: string) => ({ returnvalue: `r-${id}`, failedReason: `boom ${id}`, attemptsMade: 3, remove: async () => {} }),
      add: async (_n: string, _d: unknown, o: { jobId: string }) => void added.push(o.jobId),
      remove: async () => 1,
    };
    const events = { on: () => events };
    return { queue, events, calls, added };
  };

  it('checks at most POLL_BATCH states per tick, round robin, and settles every job', async () => {
    const { JobWaiter, POLL_BATCH } = await import('../../engine/distributed/jobs.js');
    let done = false;
    const f = fakes(async () => (done ? 'completed' : 'waiting'));
    const w = new JobWaiter(f.queue as never, f.events as never, 'redis://x', 30, 10_000);
    const ids = Array.from({ length: 3 * POLL_BATCH }, (_, i) => `j${i}`);
    const ps = ids.map((id) => w.run<string>(id, 'n', {}, {}));
    await new Promise((r) => setTimeout(r, 20));
    f.calls.length = 0;
    await new Promise((r) => setTimeout(r, 45)); // one or two ticks
    expect(f.calls.length).toBeGreaterThan(0);
    expect(f.calls.length).toBeLessThanOrEqual(2 * POLL_BATCH);
    done = true;
    expect(await Promise.all(ps)).toEqual(ids.map((id) => `r-${id}`));
    expect(w.size).toBe(0);
  });

  it('a job gone from Redis is added again (or taken from onLost); a failed one rejects with its reason', async () => {
    const { JobWaiter, JobFailedError } = await import('../../engine/distributed/jobs.js');
    const st = new Map<string, State>([
      ['lost', 'unknown'],
      ['cached', 'unknown'],
      ['bad', 'failed'],
    ]);
    const f = fakes(async (id) => st.get(id) ?? 'waiting');
    const w = new JobWaiter(f.queue as never, f.events as never, 'redis://x', 20, 10_000);
    const lost = w.run<string>('lost', 'n', {}, {});
    const cached = w.run<string>('cached', 'n', {}, {}, { onLost: async () => ({ value: 'from the store' }) });
    await expect(w.run('bad', 'n', {}, {})).rejects.toBeInstanceOf(JobFailedError);
    await expect(cached).resolves.toBe('from the store');
    await new Promise((r) => setTimeout(r, 50));
    expect(f.added.filter((x) => x === 'lost').length).toBeGreaterThanOrEqual(2); // first add, then re-added when found gone
    st.set('lost', 'completed');
    await expect(lost).resolves.toBe('r-lost');
  });

  it('Redis not answering for downMs: every waiter fails with the URL and what to do', async () => {
    const { JobWaiter } = await import('../../engine/distributed/jobs.js');
    const f = fakes(() => new Promise<State>(() => {})); // never answers (ioredis queues commands while down)
    const w = new JobWaiter(f.queue as never, f.events as never, 'redis://u:secret@h:1', 20, 150);
    const p = w.run('a', 'n', {}, {});
    await expect(p).rejects.toThrow(/lost the connection to Redis at redis:\/\/u:\*\*\*@h:1\/?: no answer for [\d.]+ s; rerun when it is back \(finished nodes are cached\)/);
  });
});
