// A client for the OCI distribution API (the Docker Registry HTTP API v2): manifests,
// blobs, uploads (monolithic or chunked, cross-repository mounts), and the registry auth
// dance (Basic, or a Bearer token fetched from the realm a 401 challenge names). One
// instance talks to one registry and caches its tokens by scope. Credentials live only in
// Authorization headers: never in URLs, logs or error messages.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable } from 'node:stream';
import { DockerConfigCredentials, type CredentialStore, type Credentials } from './dockerConfig';
import { ImageError } from './errors';
import { MANIFEST_ACCEPT, manifestMediaType, sha256Digest } from './manifest';
import { apiHost } from './reference';

export interface RegistryClientOptions {
  /** Where credentials come from; default: Docker's config.json. */
  credentials?: CredentialStore;
  /** Speak plain HTTP (a local registry without TLS). */
  insecure?: boolean;
  signal?: AbortSignal;
  /** Called before every HTTP request with its method and URL (no credentials in either). */
  onRequest?: (method: string, url: string) => void;
}

/**
 * A request body that can be sent again after an auth retry. `open` streams the whole body,
 * or only the bytes [start, end) when a range is given (chunked uploads).
 */
export type BodySource = Buffer | { size: number; open: (range?: { start: number; end: number }) => Readable | Promise<Readable> };

/** A file on disk as a request body, read in 1 MiB pieces. */
export function fileBody(file: string, size: number): BodySource {
  return {
    size,
    open: (range) => fs.createReadStream(file, { highWaterMark: 1 << 20, ...(range ? { start: range.start, end: range.end - 1 } : {}) }),
  };
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface SendInit {
  headers?: Record<string, string>;
  body?: BodySource;
}

export interface ManifestInfo {
  digest: string;
  mediaType: string;
  size: number;
}

export interface FetchedManifest extends ManifestInfo {
  body: Buffer;
}

export interface UploadOptions {
  /** Send the blob in PATCH chunks of this many bytes; default: one monolithic PUT. */
  chunkSize?: number;
}

const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

export class RegistryClient {
  readonly base: string;
  private readonly credentials: CredentialStore;
  /** Authorization header by scope set; `*` holds Basic, which is good for every scope. */
  private readonly auth = new Map<string, string>();

  constructor(
    /** The registry as written in references (`docker.io`, `127.0.0.1:5000`). */
    readonly registry: string,
    private readonly options: RegistryClientOptions = {},
  ) {
    this.base = `${options.insecure ? 'http' : 'https'}://${apiHost(registry)}`;
    this.credentials = options.credentials ?? new DockerConfigCredentials();
  }

  // -------------------------------------------------------------------------------------
  // Manifests

  /** One HEAD request: the manifest's digest, or undefined when the registry has no such manifest. */
  async headManifest(repository: string, reference: string): Promise<ManifestInfo | undefined> {
    const res = await this.request('HEAD', `/v2/${repository}/manifests/${reference}`, pullScope(repository), { headers: { Accept: MANIFEST_ACCEPT } });
    if (res.status === 404) return undefined;
    this.check(res, repository, 'pull', `read the manifest ${repository}:${reference}`);
    const digest = header(res, 'docker-content-digest');
    if (!digest) {
      // A registry that does not send the digest on HEAD: hash the body of a GET instead.
      const got = await this.getManifest(repository, reference);
      return got && { digest: got.digest, mediaType: got.mediaType, size: got.size };
    }
    return { digest, mediaType: (header(res, 'content-type') ?? '').split(';')[0]!.trim(), size: Number(header(res, 'content-length') ?? 0) };
  }

  /** GET a manifest or index; undefined on 404. The digest is computed from the bytes received. */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest | undefined> {
    const res = await this.request('GET', `/v2/${repository}/manifests/${reference}`, pullScope(repository), { headers: { Accept: MANIFEST_ACCEPT } });
    if (res.status === 404) return undefined;
    this.check(res, repository, 'pull', `read the manifest ${repository}:${reference}`);
    const digest = sha256Digest(res.body);
    if (reference.startsWith('sha256:') && reference !== digest) {
      throw new ImageError(`The registry ${this.registry} sent a manifest for ${repository}@${reference} whose content hashes to ${digest}: the registry or a proxy in between is corrupting data.`, 'registry');
    }
    const parsed = JSON.parse(res.body.toString('utf8')) as { mediaType?: string };
    return { digest, mediaType: manifestMediaType(parsed, header(res, 'content-type')), size: res.body.length, body: res.body };
  }

  /** PUT a manifest under a tag or digest; returns its digest, checked against the registry's answer. */
  async putManifest(repository: string, reference: string, mediaType: string, body: Buffer): Promise<string> {
    const res = await this.request('PUT', `/v2/${repository}/manifests/${reference}`, pushScope(repository), {
      headers: { 'Content-Type': mediaType },
      body,
    });
    this.check(res, repository, 'push', `store the manifest ${repository}:${reference}`);
    const digest = sha256Digest(body);
    const reported = header(res, 'docker-content-digest');
    if (reported && reported !== digest) {
      throw new ImageError(`The registry ${this.registry} stored the manifest of ${repository}:${reference} as ${reported}, but its content hashes to ${digest}.`, 'registry');
    }
    return digest;
  }

  // -------------------------------------------------------------------------------------
  // Blobs

  async hasBlob(repository: string, digest: string, scope = pullScope(repository)): Promise<boolean> {
    const res = await this.request('HEAD', `/v2/${repository}/blobs/${digest}`, scope);
    if (res.status === 404) return false;
    this.check(res, repository, 'pull', `check the blob ${digest}`);
    return true;
  }

  async getBlob(repository: string, digest: string): Promise<Buffer> {
    const res = await this.request('GET', `/v2/${repository}/blobs/${digest}`, pullScope(repository), {}, true);
    if (res.status === 404) throw new ImageError(`The registry ${this.registry} has no blob ${digest} in ${repository}: the image is incomplete; push it again.`, 'not-found');
    this.check(res, repository, 'pull', `read the blob ${digest}`);
    const got = sha256Digest(res.body);
    if (got !== digest) throw new ImageError(`The blob ${digest} from ${this.registry}/${repository} hashes to ${got}.`, 'registry');
    return res.body;
  }

  /** Streams a blob (following redirects to storage); the caller consumes the stream. */
  async openBlob(repository: string, digest: string): Promise<Readable> {
    const auth = await this.authorization(pullScope(repository));
    let url = new URL(`${this.base}/v2/${repository}/blobs/${digest}`);
    for (let hop = 0; hop < 5; hop++) {
      const sameHost = url.host === new URL(this.base).host;
      const res = await this.raw('GET', url, { headers: sameHost && auth ? { Authorization: auth } : {} });
      if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
        res.resume();
        url = new URL(res.headers.location, url);
        continue;
      }
      if (res.statusCode !== 200) {
        const body = await readAll(res);
        this.check({ status: res.statusCode ?? 0, headers: res.headers, body }, repository, 'pull', `read the blob ${digest}`);
      }
      return res;
    }
    throw new ImageError(`The registry ${this.registry} redirected the blob ${digest} too many times.`, 'registry');
  }

  /**
   * Asks the registry to link a blob from another repository of the same registry. True when
   * mounted; false when the registry declined (the caller uploads instead; the upload session
   * it may have opened is left to expire).
   */
  async mountBlob(repository: string, digest: string, from: string): Promise<boolean> {
    const q = new URLSearchParams({ mount: digest, from });
    const res = await this.request('POST', `/v2/${repository}/blobs/uploads/?${q}`, [...pushScope(repository), ...pullScope(from)], { body: Buffer.alloc(0) });
    if (res.status === 201) return true;
    this.check(res, repository, 'push', `mount the blob ${digest} from ${from}`);
    return false;
  }

  /** Uploads a blob unless the repository has it already. The digest is the caller's; the registry checks it. */
  async uploadBlob(repository: string, digest: string, body: BodySource, options: UploadOptions = {}): Promise<'exists' | 'uploaded'> {
    if (await this.hasBlob(repository, digest, pushScope(repository))) return 'exists';
    const scope = pushScope(repository);
    const start = await this.request('POST', `/v2/${repository}/blobs/uploads/`, scope, { body: Buffer.alloc(0) });
    this.check(start, repository, 'push', `start uploading ${digest}`, [202]);
    let location = this.uploadLocation(start);
    const size = Buffer.isBuffer(body) ? body.length : body.size;
    if (options.chunkSize && options.chunkSize > 0 && size > 0) {
      for (let offset = 0; offset < size; offset += options.chunkSize) {
        const end = Math.min(size, offset + options.chunkSize);
        const chunk = await sliceBody(body, offset, end);
        const res = await this.request('PATCH', location, scope, {
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${end - 1}` },
          body: chunk,
        });
        this.check(res, repository, 'push', `upload bytes ${offset}-${end - 1} of ${digest}`, [202]);
        location = this.uploadLocation(res);
      }
      const done = await this.request('PUT', withDigest(location, digest), scope, { body: Buffer.alloc(0) });
      this.check(done, repository, 'push', `finish uploading ${digest}`, [201]);
    } else {
      const done = await this.request('PUT', withDigest(location, digest), scope, {
        headers: { 'Content-Type': 'application/octet-stream' },
        body,
      });
      this.check(done, repository, 'push', `upload ${digest}`, [201]);
    }
    return 'uploaded';
  }

  // -------------------------------------------------------------------------------------
  // HTTP and auth

  private uploadLocation(res: Response): string {
    const location = header(res, 'location');
    if (!location) throw new ImageError(`The registry ${this.registry} started an upload without telling where to send it (no Location header).`, 'registry');
    const url = new URL(location, this.base);
    return url.pathname + url.search;
  }

  /** Sends a request, answering one 401 challenge; `pathOrUrl` is relative to the registry. */
  private async request(method: string, pathOrUrl: string, scope: string[], init: SendInit = {}, followRedirects = false): Promise<Response> {
    const url = new URL(pathOrUrl, this.base);
    const send = async (auth: string | undefined): Promise<Response> => {
      const headers = { ...(init.headers ?? {}), ...(auth ? { Authorization: auth } : {}) };
      let target = url;
      for (let hop = 0; ; hop++) {
        const res = await this.raw(method, target, { headers, body: init.body });
        const body = await readAll(res);
        if (followRedirects && hop < 5 && res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
          target = new URL(res.headers.location, target);
          // Storage behind a redirect gets no registry credentials.
          if (target.host !== url.host) delete headers.Authorization;
          continue;
        }
        return { status: res.statusCode ?? 0, headers: res.headers, body };
      }
    };
    let res = await send(await this.authorization(scope));
    if (res.status === 401) {
      const auth = await this.answerChallenge(header(res, 'www-authenticate'), scope);
      if (auth) res = await send(auth);
    }
    return res;
  }

  /** The cached Authorization header for a scope set, if any. */
  private async authorization(scope: string[]): Promise<string | undefined> {
    return this.auth.get(scope.join(' ')) ?? this.auth.get('*');
  }

  private async answerChallenge(challenge: string | undefined, scope: string[]): Promise<string | undefined> {
    if (!challenge) return undefined;
    const { scheme, params } = parseChallenge(challenge);
    const creds = await this.credentials.get(this.registry);
    if (scheme === 'basic') {
      if (!creds?.username || creds.password === undefined) return undefined;
      const value = 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
      this.auth.set('*', value);
      return value;
    }
    if (scheme !== 'bearer' || !params.realm) return undefined;
    const value = 'Bearer ' + (await this.fetchToken(params, scope.length > 0 ? scope : params.scope ? [params.scope] : [], creds));
    this.auth.set(scope.join(' '), value);
    return value;
  }

  private async fetchToken(params: Record<string, string>, scope: string[], creds: Credentials | undefined): Promise<string> {
    if (creds?.registryToken) return creds.registryToken;
    const realm = new URL(params.realm!);
    let res: Response;
    if (creds?.identityToken) {
      // OAuth2 refresh-token grant, as Docker does for identity tokens.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'flowbook' });
      if (params.service) form.set('service', params.service);
      if (scope.length > 0) form.set('scope', scope.join(' '));
      res = await this.plain('POST', realm, { 'Content-Type': 'application/x-www-form-urlencoded' }, Buffer.from(form.toString()));
    } else {
      if (params.service) realm.searchParams.set('service', params.service);
      for (const s of scope) realm.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (creds?.username && creds.password !== undefined) headers.Authorization = 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
      res = await this.plain('GET', realm, headers);
    }
    if (res.status !== 200) {
      throw new ImageError(
        `The token service of the registry ${this.registry} (${realm.origin}) refused ${creds ? 'the stored credentials' : 'anonymous access'} (HTTP ${res.status}). ${loginAdvice(this.registry, this.credentials)}`,
        'unauthorized',
      );
    }
    const parsed = JSON.parse(res.body.toString('utf8')) as { token?: string; access_token?: string };
    const token = parsed.token ?? parsed.access_token;
    if (!token) throw new ImageError(`The token service of the registry ${this.registry} answered without a token.`, 'registry');
    return token;
  }

  private async plain(method: string, url: URL, headers: Record<string, string>, body?: Buffer): Promise<Response> {
    const res = await this.raw(method, url, { headers, body });
    return { status: res.statusCode ?? 0, headers: res.headers, body: await readAll(res) };
  }

  /** Turns an unexpected status into an `ImageError` that says what to do. */
  private check(res: Response, repository: string, access: 'pull' | 'push', what: string, ok: number[] = [200, 201, 202, 204]): void {
    if (ok.includes(res.status)) return;
    const detail = registryErrorDetail(res.body);
    const where = `${this.registry}/${repository}`;
    if (res.status === 401 || res.status === 403) {
      throw new ImageError(
        `The registry ${this.registry} refused to let Flowbook ${what} (HTTP ${res.status}${detail ? `: ${detail}` : ''}). ${loginAdvice(this.registry, this.credentials)} If you are logged in, check that the account may ${access} ${where}.`,
        'unauthorized',
      );
    }
    if (res.status === 404) throw new ImageError(`The registry ${this.registry} has no ${where} (HTTP 404${detail ? `: ${detail}` : ''}) while trying to ${what}.`, 'not-found');
    throw new ImageError(`The registry ${this.registry} failed to ${what} (HTTP ${res.status}${detail ? `: ${detail}` : ''}).`, 'registry');
  }

  /** One HTTP exchange; network failures become messages naming the registry. */
  private raw(method: string, url: URL, init: SendInit): Promise<http.IncomingMessage> {
    this.options.onRequest?.(method, url.origin + url.pathname);
    return new Promise((resolve, reject) => {
      const isHttps = url.protocol === 'https:';
      const headers: Record<string, string | number> = { 'User-Agent': 'flowbook', ...(init.headers ?? {}) };
      const body = init.body;
      if (body !== undefined) headers['Content-Length'] = Buffer.isBuffer(body) ? body.length : body.size;
      const req = (isHttps ? https : http).request(url, { method, headers, agent: isHttps ? agents.https : agents.http, signal: this.options.signal }, resolve);
      req.on('error', (err: NodeJS.ErrnoException) => reject(this.networkError(err)));
      if (body === undefined || Buffer.isBuffer(body)) {
        req.end(body);
        return;
      }
      Promise.resolve(body.open()).then(
        (stream) => {
          stream.on('error', (err) => req.destroy(err));
          stream.pipe(req);
        },
        (err: Error) => req.destroy(err),
      );
    });
  }

  private networkError(err: NodeJS.ErrnoException): Error {
    if (err.name === 'AbortError') return new ImageError('The image build was cancelled.', 'cancelled');
    const tls = /SSL|EPROTO|wrong version number/i.test(`${err.code ?? ''} ${err.message}`);
    const hint = tls && !this.options.insecure
      ? ' The registry may speak plain HTTP: for a local registry turn on the insecure-registry setting (`--insecure`).'
      : err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND'
        ? ' Check the registry address and that the registry is running.'
        : '';
    return new ImageError(`Cannot reach the registry ${this.registry} (${this.base}): ${err.code ?? err.message}.${hint}`, 'registry');
  }
}

export function pullScope(repository: string): string[] {
  return [`repository:${repository}:pull`];
}

export function pushScope(repository: string): string[] {
  return [`repository:${repository}:pull,push`];
}

function loginAdvice(registry: string, store: CredentialStore): string {
  const file = store instanceof DockerConfigCredentials ? ` (Flowbook reads ${store.configPath})` : '';
  return `Log in with \`docker login ${registry}\`${file}.`;
}

function header(res: { headers: http.IncomingHttpHeaders }, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function withDigest(location: string, digest: string): string {
  const url = new URL(location, 'http://placeholder');
  url.searchParams.set('digest', digest);
  return url.pathname + url.search;
}

/** `Bearer realm="https://auth",service="registry",scope="repository:x:pull"` → scheme and params. */
export function parseChallenge(text: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(text);
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p = re.exec(m?.[2] ?? ''); p; p = re.exec(m?.[2] ?? '')) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  return { scheme: (m?.[1] ?? '').toLowerCase(), params };
}

function registryErrorDetail(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    return (parsed.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(' ')).join('; ');
  } catch {
    return '';
  }
}

function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

async function sliceBody(body: BodySource, start: number, end: number): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body.subarray(start, end);
  // A chunk is read into memory: chunks are a few MiB by design, and a retry can resend it.
  return readAll(await body.open({ start, end }));
}
