/**
 * The remote cache's settings and parsing, without a server: which URL is in effect (flag > env >
 * YAML, `off`), credentials from REPRO_REMOTE_CACHE_HEADER (never echoed), URL user info redacted,
 * remote entries validated (a malformed one is a miss), and the `cache:` section of the YAML.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../engine/errors.js';
import { captureRemoteHeader } from '../../engine/remote/credentials.js';
import { headersFromEnv, openRemote, parseUploadFlag, remoteUrl } from '../../engine/remote/config.js';
import { parseEntry, redactUrl, RemoteCache } from '../../engine/remote/http-cache.js';
import net from 'node:net';
import { planSession } from '../../engine/plan.js';
import { openSession } from '../../engine/session.js';
import { BASE_YAML, rigPool } from './rig.js';

const K = 'a'.repeat(64);
const H = 'b'.repeat(64);

describe('remote cache settings', () => {
  it('the URL in effect: --remote-cache, then REPRO_REMOTE_CACHE, then cache.remote; off / empty disables', () => {
    const spec = { cache: { remote: 'http://yaml/x' } };
    expect(remoteUrl(spec, {}, {})).toBe('http://yaml/x');
    expect(remoteUrl(spec, {}, { REPRO_REMOTE_CACHE: 'http://env' })).toBe('http://env');
    expect(remoteUrl(spec, { url: 'http://flag' }, { REPRO_REMOTE_CACHE: 'http://env' })).toBe('http://flag');
    expect(remoteUrl(spec, { url: 'off' }, { REPRO_REMOTE_CACHE: 'http://env' })).toBeNull();
    expect(remoteUrl(spec, {}, { REPRO_REMOTE_CACHE: '' })).toBeNull();
    expect(remoteUrl({}, {}, {})).toBeNull();
  });

  it('upload: --remote-upload, then cache.upload, then on', () => {
    const warn = (): void => {};
    expect(openRemote({ cache: { remote: 'http://h' } }, {}, warn, {}, {})!.upload).toBe(true);
    expect(openRemote({ cache: { remote: 'http://h', upload: false } }, {}, warn, {}, {})!.upload).toBe(false);
    expect(openRemote({ cache: { remote: 'http://h', upload: false } }, { upload: true }, warn, {}, {})!.upload).toBe(true);
    expect(parseUploadFlag('false', 'run')).toBe(false);
    expect(parseUploadFlag('1', 'run')).toBe(true);
    expect(parseUploadFlag(undefined, 'run')).toBeUndefined();
    expect(() => parseUploadFlag('maybe', 'run')).toThrow(/--remote-upload must be true or false, got "maybe"/);
  });

  it('a URL that is not http(s) is a usage error naming where it came from, with user info redacted', () => {
    expect(() => openRemote({}, { url: 'ftp://u:pw@h/x' }, () => {}, {}, {})).toThrow(UsageError);
    expect(() => openRemote({}, { url: 'ftp://u:pw@h/x' }, () => {}, {}, {})).toThrow('--remote-cache: expected an http:// or https:// URL (e.g. https://cache.example.org/repro), got ftp://***@h/x');
    expect(() => openRemote({}, {}, () => {}, {}, { REPRO_REMOTE_CACHE: 'not a url' })).toThrow(/^REPRO_REMOTE_CACHE: expected/);
  });

  it('REPRO_REMOTE_CACHE_HEADER: `Name: value` lines; a malformed one is rejected without echoing it', () => {
    expect(headersFromEnv({ REPRO_REMOTE_CACHE_HEADER: 'Authorization: Bearer abc:def' })).toEqual({ Authorization: 'Bearer abc:def' });
    expect(headersFromEnv({ REPRO_REMOTE_CACHE_HEADER: 'Authorization: Bearer x\nX-Team: econ\n' })).toEqual({ Authorization: 'Bearer x', 'X-Team': 'econ' });
    expect(headersFromEnv({})).toEqual({});
    let msg = '';
    try {
      headersFromEnv({ REPRO_REMOTE_CACHE_HEADER: 'X-Ok: 1\nsecret-token-without-colon' });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toBe('REPRO_REMOTE_CACHE_HEADER: line 2 is not `Name: value` (e.g. `Authorization: Bearer TOKEN`); the value is not shown');
  });

  it('the CLI moves the header out of process.env (steps\' child processes never inherit it); the client still sends it', () => {
    const before = process.env.REPRO_REMOTE_CACHE_HEADER;
    process.env.REPRO_REMOTE_CACHE_HEADER = 'Authorization: Bearer from-env';
    try {
      captureRemoteHeader();
      expect('REPRO_REMOTE_CACHE_HEADER' in process.env).toBe(false);
      expect(headersFromEnv()).toEqual({ Authorization: 'Bearer from-env' });
      // an explicit environment is read as given
      expect(headersFromEnv({})).toEqual({});
    } finally {
      if (before === undefined) delete process.env.REPRO_REMOTE_CACHE_HEADER;
      else process.env.REPRO_REMOTE_CACHE_HEADER = before;
    }
  });

  it('URL user info is redacted in messages and becomes basic auth (fetch refuses URLs with credentials)', () => {
    expect(redactUrl('https://alice:pw@cache.example.org/repro')).toBe('https://***@cache.example.org/repro');
    expect(redactUrl('http://h:8080/x')).toBe('http://h:8080/x');
    const rc = new RemoteCache({ url: 'https://alice:pw@cache.example.org/repro/' });
    expect(rc.display).toBe('https://***@cache.example.org/repro');
    expect(rc.base).toBe('https://cache.example.org/repro');
    expect((rc as unknown as { headers: Record<string, string> }).headers).toEqual({ Authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` });
  });
});

describe('remote entries', () => {
  const ok = { v: 1, key: K, node: 'n', kind: 'add', ms: 3, outputs: { table: { hash: H, type: 'table', size: 10 } } };
  it('a well-formed entry for the key is accepted', () => {
    expect(parseEntry(JSON.stringify(ok), K)).toEqual(ok);
  });
  it('anything else is a miss: another key, bad JSON, a malformed ref, a bad extension', () => {
    expect(parseEntry(JSON.stringify(ok), 'c'.repeat(64))).toBeNull();
    expect(parseEntry('{"v":1,', K)).toBeNull();
    expect(parseEntry('<html>not found</html>', K)).toBeNull();
    expect(parseEntry(JSON.stringify({ ...ok, outputs: { t: { hash: '../../etc/passwd', type: 'table' } } }), K)).toBeNull();
    expect(parseEntry(JSON.stringify({ ...ok, outputs: { t: { hash: H, type: 'exe' } } }), K)).toBeNull();
    expect(parseEntry(JSON.stringify({ ...ok, outputs: { t: { hash: H, type: 'file', ext: '../x' } } }), K)).toBeNull();
    expect(parseEntry(JSON.stringify({ ...ok, v: 2 }), K)).toBeNull();
  });
});

describe('cache: in the YAML', () => {
  const pool = rigPool();
  afterEach(() => pool.cleanupAll());
  it('an unknown key under cache: or a non-URL is rejected at its line', async () => {
    const r = await pool.rigWith('name: t\ncache:\n  remote: http://h/x\n  uplaod: false\nsteps:\n  src:\n    kind: source\n    with: {path: data/nums.txt}\n');
    const formatted = async (run: Promise<unknown>): Promise<string> => run.then(() => '', (e: { format?: () => string; message: string }) => e.format?.() ?? e.message);
    expect(await formatted(r.run())).toMatch(/pipeline\.yaml:4:3.*unknown key "uplaod" in cache.*did you mean "upload"/s);
    const r2 = await pool.rigWith('name: t\ncache: {remote: "s3://bucket"}\nsteps:\n  src:\n    kind: source\n    with: {path: data/nums.txt}\n');
    expect(await formatted(r2.run())).toMatch(/pipeline\.yaml:2:\d+.*expected `cache\.remote` to be an http:\/\/ or https:\/\/ URL/s);
  });
});

describe('planning with a remote that is not there', () => {
  const pool = rigPool();
  afterEach(() => pool.cleanupAll());
  it('status degrades to the local view with one warning (no node marked as remote)', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const r = await pool.rigWith(BASE_YAML);
    const s = await openSession({ file: r.yaml, registry: r.registry, codeRoot: r.codeRoot });
    const warned: string[] = [];
    const remote = new RemoteCache({ url: `http://127.0.0.1:${port}`, onWarn: (m) => warned.push(m) });
    const plan = await planSession(s, { remote });
    expect(plan.map((n) => n.state)).toEqual(['stale', 'stale', 'stale', 'stale', 'stale', 'stale']); // never run
    expect(plan.some((n) => n.fromRemote)).toBe(false);
    expect(warned).toEqual([`remote cache http://127.0.0.1:${port} is unavailable (connection refused); continuing with the local cache only`]);
    expect(remote.stats.requests).toBe(1); // down after the first refusal: no more requests
  });
});
