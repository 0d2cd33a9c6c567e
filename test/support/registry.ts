// Starts Debian's `docker-registry` (CNCF distribution) on a free loopback port with its own
// temporary storage, optionally behind htpasswd (Basic) auth, and stops it again. Also a tiny
// counting reverse proxy, so tests can assert how many requests a client made.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TestRegistry {
  /** `127.0.0.1:PORT`, the registry name to use in image references. */
  host: string;
  url: string;
  dir: string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** Require Basic auth with this user (bcrypt htpasswd made with `htpasswd -B`). */
  user?: { name: string; password: string };
}

/** True when the registry binary is installed (scripts/setup.sh installs it). */
export function registryAvailable(): boolean {
  return spawnSync('docker-registry', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-registry-'));
  let auth = '';
  if (options.user) {
    const made = spawnSync('htpasswd', ['-Bbn', options.user.name, options.user.password], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`htpasswd failed (install apache2-utils): ${made.stderr}`);
    fs.writeFileSync(path.join(dir, 'htpasswd'), made.stdout);
    auth = `auth: { htpasswd: { realm: flowbook-test, path: ${path.join(dir, 'htpasswd')} } }\n`;
  }
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(
    config,
    `version: 0.1\nlog: { level: info, accesslog: { disabled: false } }\n` +
      `storage: { filesystem: { rootdirectory: ${path.join(dir, 'data')} }, delete: { enabled: true } }\n` +
      `http: { addr: "127.0.0.1:0", secret: flowbook-test-secret }\n${auth}`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`docker-registry did not start within 10 s:\n${log}`)), 10_000);
    const onData = (d: Buffer) => {
      log += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`docker-registry exited with ${code}:\n${log}`));
    });
  });
  // Keep draining its log so the pipe never fills.
  child.stdout!.resume();
  child.stderr!.resume();
  const host = `127.0.0.1:${port}`;
  return { host, url: `http://${host}`, dir, stop: () => stopChild(child, dir) };
}

async function stopChild(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

export interface CountingProxy {
  host: string;
  /** `METHOD /path` of every request seen, in order. */
  requests: string[];
  stop(): Promise<void>;
}

/** A reverse proxy on a free loopback port that forwards everything to `target` and records each request. */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const requests: string[] = [];
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${(req.url ?? '').split('?')[0]}`);
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
