/**
 * A real nginx serving the Bazel HTTP cache protocol, for test/engine/remote.test.ts and bench/remote-cache.bench.ts: WebDAV PUT into
 * a temp dir (`dav_methods PUT; create_full_put_path on;`), GET/HEAD as static files. Started on a
 * free loopback port as the current user (`-p tmpdir -c conf -e error.log -g 'daemon off;'`; pid,
 * logs and temp paths inside tmpdir), in its own process group, and stopped by that group's id.
 *
 * `createFullPutPath: false`: a misconfigured server (nginx 1.22 answers a PUT into a missing folder with 500).
 * `requireHeader`: answer 401 unless the request carries `Authorization: <value>` (so a test sees
 * that the header is sent).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Debian's nginx, or one on PATH; null when absent (tests skip with a message). */
export function findNginx(): string | null {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) if (fs.existsSync(p)) return p;
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(d, 'nginx');
    if (d && fs.existsSync(p)) return p;
  }
  return null;
}

export const NGINX = findNginx();
export const NO_NGINX = NGINX === null ? 'nginx is not installed (apt-get install nginx): remote cache tests skipped' : '';

export interface Nginx {
  url: string;
  port: number;
  /** Where PUT objects land: `${root}/cas/<sha256>`, `${root}/ac/<key>`. */
  root: string;
  dir: string;
  /** Stop now (SIGKILL to the process group: a server that vanishes mid-run). */
  kill(): void;
  /** Stop gracefully and remove the temp dir. */
  stop(): Promise<void>;
  /** Lines of the access log (method, path, status). */
  accessLog(): string;
}

/** A free TCP port on loopback (the tests' Redis servers use it too). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitListening(port: number, child: ChildProcess, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() - t0 > ms) throw new Error(`nginx did not listen on ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startNginx(opts: { requireHeader?: string; prefix?: string; createFullPutPath?: boolean } = {}): Promise<Nginx> {
  if (!NGINX) throw new Error(NO_NGINX);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-nginx-'));
  const root = path.join(dir, 'root');
  fs.mkdirSync(root);
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(dir, d));
  const port = await freePort();
  const isRoot = process.getuid?.() === 0;
  const prefix = opts.prefix ?? '';
  const guard = opts.requireHeader ? `if ($http_authorization != "${opts.requireHeader.replace(/"/g, '\\"')}") { return 401; }` : '';
  const conf = `
${isRoot ? 'user root;' : ''}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 0;
  keepalive_timeout 30s;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location ${prefix || '/'} {
      ${prefix ? `alias ${root}/;` : ''}
      ${guard}
      dav_methods PUT;
      create_full_put_path ${opts.createFullPutPath === false ? 'off' : 'on'};
      dav_access user:rw;
    }
  }
}
`;
  const confFile = path.join(dir, 'nginx.conf');
  fs.writeFileSync(confFile, conf);
  const child = spawn(NGINX, ['-p', dir, '-c', confFile, '-e', path.join(dir, 'error.log'), '-g', 'daemon off;'], { detached: true, stdio: 'ignore' });
  try {
    await waitListening(port, child);
  } catch (e) {
    let log = '';
    try {
      log = fs.readFileSync(path.join(dir, 'error.log'), 'utf8');
    } catch {
      /* none */
    }
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    throw new Error(`${(e as Error).message}\n${log}`);
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const killGroup = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      /* already gone */
    }
  };
  return {
    url: `http://127.0.0.1:${port}${prefix.replace(/\/$/, '')}`,
    port,
    root,
    dir,
    kill: () => killGroup('SIGKILL'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        killGroup('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        killGroup('SIGKILL');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
    accessLog: () => {
      try {
        return fs.readFileSync(path.join(dir, 'access.log'), 'utf8');
      } catch {
        return '';
      }
    },
  };
}
