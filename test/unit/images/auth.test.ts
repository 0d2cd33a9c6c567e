// Registry credentials and auth with real registries: Docker's config.json (auths, credential
// helpers, credsStore), Basic auth against docker-registry with htpasswd, and the Bearer token
// flow against docker-registry configured for token auth with a token service run by the
// test (RS256 JWTs with an x5c chain the registry trusts). Secrets never reach messages.

import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { DockerConfigCredentials, StaticCredentials } from '../../../src/images/dockerConfig';
import { ImageError } from '../../../src/images/errors';
import { registryPool } from '../../../src/images/pool';
import { parseChallenge, RegistryClient } from '../../../src/images/registry';
import { parseReference, formatReference } from '../../../src/images/reference';
import { startRegistry, type TestRegistry } from '../../support/registry';
import { pushBaseImage, tmpDir } from './baseImage';

const PASSWORD = 'pa55-Secret-value';

function writeConfig(dir: string, config: unknown): string {
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('images: image references', () => {
  it('parses Docker Hub short names, hosts with ports, tags and digests', () => {
    assert.deepEqual(parseReference('python:3.12-slim'), { registry: 'docker.io', repository: 'library/python', tag: '3.12-slim' });
    assert.deepEqual(parseReference('127.0.0.1:5000/team/env:fb-1'), { registry: '127.0.0.1:5000', repository: 'team/env', tag: 'fb-1' });
    const d = 'sha256:' + 'a'.repeat(64);
    assert.deepEqual(parseReference(`localhost/x@${d}`), { registry: 'localhost', repository: 'x', digest: d });
    assert.equal(formatReference(parseReference('docker.io/library/python:3.12')), 'python:3.12');
    assert.throws(() => parseReference('Python:3', "the notebook's image setting"), /notebook's image setting `Python:3` is not a valid image reference/);
  });

  it('reads WWW-Authenticate challenges with quoted values containing commas', () => {
    const c = parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"');
    assert.equal(c.scheme, 'bearer');
    assert.deepEqual(c.params, { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' });
  });
});

describe('images: credentials from Docker config.json', () => {
  let dir: string;
  before(() => {
    dir = tmpDir('flowbook-dockercfg-');
    const helper = (name: string, body: string) => fs.writeFileSync(path.join(dir, `docker-credential-${name}`), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    // A helper answers for the server URL on stdin, as docker-credential-* programs do.
    helper('fake', 'read url\nif [ "$url" = "helped.example:5000" ]; then echo "{\\"ServerURL\\":\\"$url\\",\\"Username\\":\\"bob\\",\\"Secret\\":\\"from-helper\\"}"; else echo "credentials not found in native keychain" >&2; exit 1; fi');
    helper('hub', 'read url\nif [ "$url" = "https://index.docker.io/v1/" ]; then echo "{\\"Username\\":\\"<token>\\",\\"Secret\\":\\"refresh-abc\\"}"; else exit 1; fi');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('decodes base64 auths, whatever form the key has', async () => {
    const file = writeConfig(dir, { auths: { 'https://reg.example:5000/v1/': { auth: Buffer.from(`alice:${PASSWORD}`).toString('base64') }, 'https://index.docker.io/v1/': { auth: Buffer.from('hubuser:hubpass').toString('base64') } } });
    const store = new DockerConfigCredentials(file, dir);
    assert.deepEqual(await store.get('reg.example:5000'), { username: 'alice', password: PASSWORD });
    assert.deepEqual(await store.get('docker.io'), { username: 'hubuser', password: 'hubpass' });
    assert.equal(await store.get('other.example'), undefined);
  });

  it('asks the credential helper named for a registry, and credsStore for the rest', async () => {
    const file = writeConfig(dir, { credHelpers: { 'helped.example:5000': 'fake' }, credsStore: 'hub', auths: { 'plain.example': { auth: Buffer.from('p:q').toString('base64') } } });
    const store = new DockerConfigCredentials(file, dir);
    assert.deepEqual(await store.get('helped.example:5000'), { username: 'bob', password: 'from-helper' });
    assert.deepEqual(await store.get('docker.io'), { identityToken: 'refresh-abc' }, 'the <token> user marks an identity token');
    assert.deepEqual(await store.get('plain.example'), { username: 'p', password: 'q' }, 'falls back to auths when the store has nothing');
  });

  it('reports a broken config file by path, without its content', () => {
    const file = path.join(dir, 'broken.json');
    fs.writeFileSync(file, `{"auths": {"x": {"auth": "${PASSWORD}"`);
    return assert.rejects(new DockerConfigCredentials(file).get('x'), (err: Error) => {
      assert.match(err.message, /broken\.json is not valid JSON/);
      assert.ok(!err.message.includes(PASSWORD));
      return true;
    });
  });
});

describe('images: Basic auth against a registry with htpasswd', function () {
  this.timeout(60_000);
  let reg: TestRegistry;
  let dir: string;
  before(async () => {
    reg = await startRegistry({ user: { name: 'alice', password: PASSWORD } });
    dir = tmpDir('flowbook-basic-');
  });
  after(async () => {
    await reg?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('without credentials: the message names the registry and how to log in', async () => {
    const file = writeConfig(dir, {});
    const client = new RegistryClient(reg.host, { insecure: true, credentials: new DockerConfigCredentials(file) });
    await assert.rejects(client.headManifest('team/env', 'latest'), (err: unknown) => {
      assert.ok(err instanceof ImageError);
      assert.equal(err.kind, 'unauthorized');
      assert.match(err.message, new RegExp(`registry ${reg.host} refused`));
      assert.match(err.message, new RegExp(`docker login ${reg.host}`));
      assert.ok(err.message.includes(file), 'says which config file was read');
      return true;
    });
  });

  it('with a wrong password: refused, and the password appears nowhere', async () => {
    const client = new RegistryClient(reg.host, { insecure: true, credentials: new StaticCredentials({ [reg.host]: { username: 'alice', password: 'wrong-' + PASSWORD } }) });
    await assert.rejects(client.headManifest('team/env', 'latest'), (err: Error) => {
      assert.match(err.message, /refused/);
      assert.ok(!err.message.includes(PASSWORD));
      return true;
    });
  });

  it('with credentials from config.json: pushes and finds the image', async () => {
    const file = writeConfig(dir, { auths: { [reg.host]: { auth: Buffer.from(`alice:${PASSWORD}`).toString('base64') } } });
    const seen: string[] = [];
    const pool = registryPool({ credentials: new DockerConfigCredentials(file), insecureRegistries: [reg.host], onRequest: (m, u) => seen.push(`${m} ${u}`) });
    const pushed = await pushBaseImage(pool, reg.host, 'team/base', '1');
    const info = await pool.client(reg.host).headManifest('team/base', '1');
    assert.equal(info?.digest, pushed.digest);
    assert.ok(seen.every((s) => !s.includes(PASSWORD)));
  });
});

describe('images: Bearer token auth against a registry using a token service', function () {
  this.timeout(60_000);
  let dir: string;
  let registry: ChildProcess | undefined;
  let tokenServer: http.Server | undefined;
  let host = '';
  const tokenRequests: { scope: string[]; user?: string }[] = [];

  before(async function () {
    dir = tmpDir('flowbook-bearer-');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=flowbook-test-token'], { encoding: 'utf8' });
    assert.equal(made.status, 0, `openssl failed: ${made.stderr}`);
    const key = crypto.createPrivateKey(fs.readFileSync(path.join(dir, 'key.pem')));
    const certDer = new crypto.X509Certificate(fs.readFileSync(path.join(dir, 'cert.pem'))).raw.toString('base64');
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    // The token service: checks Basic credentials, grants what the scope asks for.
    tokenServer = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const auth = req.headers.authorization;
      const user = auth?.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString() : undefined;
      tokenRequests.push({ scope: url.searchParams.getAll('scope'), user: user?.split(':')[0] });
      if (user !== `alice:${PASSWORD}`) {
        res.writeHead(401).end('{"details":"bad credentials"}');
        return;
      }
      const now = Math.floor(Date.now() / 1000);
      const access = url.searchParams.getAll('scope').map((s) => {
        const [type, name, actions] = s.split(':');
        return { type, name, actions: (actions ?? '').split(',') };
      });
      const header = b64({ alg: 'RS256', typ: 'JWT', x5c: [certDer] });
      const claims = b64({ iss: 'flowbook-test-issuer', sub: 'alice', aud: 'flowbook-test-registry', exp: now + 300, nbf: now - 10, iat: now, jti: crypto.randomUUID(), access });
      const signature = crypto.sign('RSA-SHA256', Buffer.from(`${header}.${claims}`), key).toString('base64url');
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: `${header}.${claims}.${signature}` }));
    });
    await new Promise<void>((r) => tokenServer!.listen(0, '127.0.0.1', r));
    const tokenPort = (tokenServer.address() as AddressInfo).port;
    const config = path.join(dir, 'config.yml');
    fs.writeFileSync(config, `version: 0.1\nlog: { level: info }\nstorage: { filesystem: { rootdirectory: ${dir}/data } }\nhttp: { addr: "127.0.0.1:0", secret: s }\n` +
      `auth: { token: { realm: "http://127.0.0.1:${tokenPort}/token", service: flowbook-test-registry, issuer: flowbook-test-issuer, rootcertbundle: ${dir}/cert.pem } }\n`);
    registry = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    host = await new Promise<string>((resolve, reject) => {
      let log = '';
      const t = setTimeout(() => reject(new Error(log)), 10_000);
      const on = (d: Buffer) => {
        log += d.toString();
        const m = /listening on (127\.0\.0\.1:\d+)/.exec(log);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      };
      registry!.stdout!.on('data', on);
      registry!.stderr!.on('data', on);
    });
  });
  after(async () => {
    if (registry && registry.exitCode === null) {
      const exited = new Promise((r) => registry!.once('exit', r));
      registry.kill('SIGTERM');
      await exited;
    }
    await new Promise<void>((r) => (tokenServer ? tokenServer.close(() => r()) : r()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers the 401 challenge with a token for the push scope, then pushes and reads back', async () => {
    const pool = registryPool({ credentials: new StaticCredentials({ [host]: { username: 'alice', password: PASSWORD } }), insecureRegistries: [host] });
    const pushed = await pushBaseImage(pool, host, 'team/base', '1');
    assert.ok(tokenRequests.some((t) => t.user === 'alice' && t.scope.includes('repository:team/base:pull,push')), JSON.stringify(tokenRequests));
    const count = tokenRequests.length;
    const info = await pool.client(host).headManifest('team/base', '1');
    assert.equal(info?.digest, pushed.digest);
    assert.ok(tokenRequests.length <= count + 1, 'tokens are cached by scope');
  });

  it('when the token service refuses: names the registry, the token service and how to log in', async () => {
    const client = new RegistryClient(host, { insecure: true, credentials: new StaticCredentials({ [host]: { username: 'alice', password: 'nope' } }) });
    await assert.rejects(client.headManifest('team/base', '1'), (err: unknown) => {
      assert.ok(err instanceof ImageError);
      assert.equal(err.kind, 'unauthorized');
      assert.match(err.message, new RegExp(`token service of the registry ${host}.*refused the stored credentials \\(HTTP 401\\).*docker login ${host}`));
      return true;
    });
  });
});
