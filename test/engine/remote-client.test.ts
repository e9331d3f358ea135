/**
 * The remote cache client's transfers, against an in-process HTTP server that stores PUT bodies and
 * answers slowly: object transfers stay within the concurrency bound, connections are kept alive
 * and reused, an entry is uploaded only after its objects, and a pull writes the local entry last;
 * the decision uses a remote entry only when it names the node and its kind.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../../engine/canonical.js';
import { RemoteCache } from '../../engine/remote/http-cache.js';
import { Store, type CacheEntry } from '../../engine/store.js';

interface Fake {
  url: string;
  files: Map<string, Buffer>;
  log: string[];
  maxInFlight: number;
  sockets: number;
  close(): Promise<void>;
}

async function fakeServer(delayMs = 30): Promise<Fake> {
  const files = new Map<string, Buffer>();
  const log: string[] = [];
  let inFlight = 0;
  const f = { files, log, maxInFlight: 0, sockets: 0 } as Fake;
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      inFlight++;
      f.maxInFlight = Math.max(f.maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        const p = req.url!;
        log.push(`${req.method} ${p.split('/')[1]}`);
        if (req.method === 'PUT') {
          files.set(p, Buffer.concat(chunks));
          res.writeHead(201).end();
        } else if (files.has(p)) {
          res.writeHead(200, { 'content-length': files.get(p)!.length });
          res.end(req.method === 'HEAD' ? undefined : files.get(p));
        } else res.writeHead(404).end('not found');
      }, delayMs);
    });
  });
  srv.on('connection', () => f.sockets++);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  f.url = `http://127.0.0.1:${(srv.address() as import('node:net').AddressInfo).port}`;
  f.close = () =>
    new Promise<void>((r) => {
      srv.closeAllConnections();
      srv.close(() => r());
    });
  return f;
}

describe('remote cache transfers', () => {
  let dir: string;
  let fake: Fake;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-remote-client-'));
    fake = await fakeServer();
  });
  afterEach(async () => {
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('push: objects within the bound, over reused connections, the entry last; pull: verified, entry last', async () => {
    const a = new Store(path.join(dir, 'a'));
    const outputs: CacheEntry['outputs'] = {};
    for (let i = 0; i < 12; i++) {
      const bytes = new TextEncoder().encode(`object ${i} `.repeat(100 + i));
      outputs[`o${i}`] = { hash: a.putBytes(bytes), type: 'file', ext: 'txt', size: bytes.length };
    }
    const key = 'e'.repeat(64);
    const entry: CacheEntry = { v: 1, key, node: 'n', kind: 'k', outputs, ms: 1 };
    a.writeEntry(entry);
    const rc = new RemoteCache({ url: `${fake.url}/prefix/`, concurrency: 3 });
    expect(await rc.pushNode(a, entry)).toBe(true);
    // object requests (12 HEADs, 12 PUTs) never more than 3 at once
    expect(fake.maxInFlight).toBe(3);
    expect(fake.log.filter((l) => l === 'PUT prefix')).toHaveLength(13);
    expect(fake.log[fake.log.length - 1]).toBe('PUT prefix'); // the entry, last
    expect([...fake.files.keys()].pop()).toBe(`/prefix/ac/${key}`);
    for (const [p, b] of fake.files) if (p.includes('/cas/')) expect(sha256(b)).toBe(path.basename(p));
    expect(rc.stats).toMatchObject({ objectsUp: 12, entriesUp: 1 });

    fake.log.length = 0;
    fake.maxInFlight = 0;
    const socketsBefore = fake.sockets;
    const b = new Store(path.join(dir, 'b'));
    const rc2 = new RemoteCache({ url: `${fake.url}/prefix`, concurrency: 3 });
    const e = await rc2.getEntry(key);
    expect(e).toEqual(entry);
    const got = await rc2.pullNode(b, e!);
    expect(got).toEqual({ ok: true, objects: 12, bytes: Object.values(outputs).reduce((s, r) => s + r.size, 0) });
    expect(fake.maxInFlight).toBeLessThanOrEqual(3);
    expect(fake.maxInFlight).toBe(3); // the bound is used
    expect(fake.sockets - socketsBefore).toBeLessThanOrEqual(3); // keep-alive: 13 requests over ≤ 3 connections
    expect(b.readEntry(key)).toEqual(entry);
    for (const r of Object.values(outputs)) expect(b.checkObject(r.hash)).toBe('ok');
  });

  it('a pull with a bad object writes no local entry and keeps no bad bytes; the next push replaces the bad copy', async () => {
    const a = new Store(path.join(dir, 'a'));
    const bytes = new TextEncoder().encode('good bytes');
    const hash = a.putBytes(bytes);
    const key = 'f'.repeat(64);
    const entry: CacheEntry = { v: 1, key, node: 'n', kind: 'k', outputs: { out: { hash, type: 'file', ext: 'txt', size: bytes.length } }, ms: 1 };
    const rc = new RemoteCache({ url: fake.url });
    expect(await rc.pushNode(a, entry)).toBe(true);
    fake.files.set(`/cas/${hash}`, Buffer.from('evil bytes'));
    const b = new Store(path.join(dir, 'b'));
    const got = await rc.pullNode(b, entry);
    expect(got.ok).toBe(false);
    if (!got.ok) {
      expect(got.bad.map((x) => x.name)).toEqual(['out']);
      expect(got.bad[0]!.error.message).toMatch(/^remote cache object [0-9a-f]{12}… failed verification \(its 10 bytes hash to [0-9a-f]{12}…\)$/);
    }
    expect(b.readEntry(key)).toBeNull();
    expect(b.checkObject(hash)).toBe('missing');
    // HEAD finds the bad copy, but the client knows it is bad: the push uploads the good bytes again
    expect(await rc.pushNode(a, entry)).toBe(true);
    expect(fake.files.get(`/cas/${hash}`)!.toString()).toBe('good bytes');
  });
});

describe('the decision with a remote', () => {
  it('a remote entry is used only when it names this node and kind', async () => {
    const { decideWithRemote } = await import('../../engine/decide.js');
    const { makeRig } = await import('./rig.js');
    const { openSession } = await import('../../engine/session.js');
    const r = await makeRig();
    try {
      r.write('data/nums.txt', '1\n2\n');
      r.setYaml('name: t\nsteps:\n  src:\n    kind: source\n    with: {path: data/nums.txt}\n');
      const s = await openSession({ file: r.yaml, registry: r.registry, codeRoot: r.codeRoot });
      const n = s.graph.nodes[0]!;
      const inp = { outputs: new Map(), forced: false, latest: undefined };
      const entryFor = (node: string, kind: string) => ({ getEntry: async (key: string): Promise<CacheEntry> => ({ v: 1, key, node, kind, outputs: {}, ms: 1 }) });
      expect((await decideWithRemote(s, n, inp, entryFor('src', 'source'))).reasons).toEqual([{ kind: 'remote' }]);
      expect((await decideWithRemote(s, n, inp, entryFor('other', 'source'))).action).toBe('run');
      expect((await decideWithRemote(s, n, inp, entryFor('src', 'add'))).action).toBe('run');
      expect((await decideWithRemote(s, n, { ...inp, forced: true }, entryFor('src', 'source'))).reasons).toEqual([{ kind: 'forced' }]);
      expect((await decideWithRemote(s, n, inp, null)).reasons).toEqual([{ kind: 'never-run' }]);
    } finally {
      r.cleanup();
    }
  });
});
