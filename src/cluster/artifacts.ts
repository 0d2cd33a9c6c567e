// Reading a workflow's archived artifacts (the `main-logs` of a step whose pod is gone)
// without an Argo Server: the artifact's location comes from the node's outputs merged
// with the workflow's `status.artifactRepositoryRef`, the credentials from the Kubernetes
// secrets the repository names, and the object is fetched with an AWS Signature V4 GET
// (S3, MinIO, GCS interop) or a plain GET for `http` artifacts. Secrets are read into
// memory for one request and never logged or written.

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { ClusterClient } from './client';
import { ClusterError } from './errors';
import type { ArtifactRef, S3ArtifactLocation, Workflow } from './types';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function hmac(key: crypto.BinaryLike, data: string): Buffer {
  return crypto.createHmac('sha256', key).update(data, 'utf8').digest();
}

/** S3's URI encoding: every byte but unreserved characters, `/` kept in paths. */
export function s3UriEncode(text: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(ch) || (keepSlash && ch === '/')) out += ch;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export interface SigV4Request {
  method: string;
  host: string;
  /** The path, not yet encoded. */
  path: string;
  headers?: Record<string, string>;
  region: string;
  accessKey: string;
  secretKey: string;
  date: Date;
  payloadHash?: string;
}

/** The headers of an AWS Signature V4 request (`authorization`, `x-amz-date`, `x-amz-content-sha256`, and the given ones). */
export function signV4(req: SigV4Request): Record<string, string> {
  const amzDate = req.date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const day = amzDate.slice(0, 8);
  const payloadHash = req.payloadHash ?? EMPTY_SHA256;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v.trim();
  headers.host = req.host;
  headers['x-amz-date'] = amzDate;
  headers['x-amz-content-sha256'] = payloadHash;
  const names = Object.keys(headers).sort();
  const canonicalRequest = [req.method, s3UriEncode(req.path, true), '', ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), payloadHash].join('\n');
  const scope = `${day}/${req.region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, crypto.createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${req.secretKey}`, day), req.region), 's3'), 'aws4_request');
  const signature = crypto.createHmac('sha256', key).update(stringToSign).digest('hex');
  const out: Record<string, string> = { ...headers };
  delete out.host;
  out.authorization = `AWS4-HMAC-SHA256 Credential=${req.accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return out;
}

function get(url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<{ status: number; body: string }> {
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, { method: 'GET', headers, signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The artifact's S3 location, completed from the workflow's artifact repository. */
export function resolveS3(wf: Workflow, artifact: ArtifactRef): Required<Pick<S3ArtifactLocation, 'key' | 'bucket' | 'endpoint'>> & S3ArtifactLocation {
  const repo = wf.status?.artifactRepositoryRef?.artifactRepository?.s3 ?? {};
  const own = artifact.s3 ?? {};
  const merged: S3ArtifactLocation = { ...repo, ...Object.fromEntries(Object.entries(own).filter(([, v]) => v !== undefined)) };
  if (!merged.key || !merged.bucket || !merged.endpoint) {
    throw new ClusterError('notFound', `The archived artifact ${artifact.name} has no complete S3 location (endpoint, bucket, key); the workflow's artifact repository is not recorded in its status.`);
  }
  return merged as Required<Pick<S3ArtifactLocation, 'key' | 'bucket' | 'endpoint'>> & S3ArtifactLocation;
}

/** Reads an `s3` or `http` artifact of a workflow as text. */
export async function fetchArtifactText(client: ClusterClient, wf: Workflow, artifact: ArtifactRef, signal?: AbortSignal): Promise<string> {
  if (artifact.http?.url) {
    const res = await get(new URL(artifact.http.url), {}, signal);
    if (res.status !== 200) throw new ClusterError('unknown', `GET ${artifact.http.url} answered ${res.status}`);
    return res.body;
  }
  if (!artifact.s3 && !wf.status?.artifactRepositoryRef?.artifactRepository?.s3) {
    throw new ClusterError('unknown', `Flowbook cannot read artifact ${artifact.name}: only S3-compatible and HTTP artifact repositories are supported.`);
  }
  const s3 = resolveS3(wf, artifact);
  const namespace = wf.metadata.namespace ?? client.namespace;
  const secret = async (ref: { name?: string; key?: string } | undefined, what: string): Promise<string> => {
    if (!ref?.name || !ref.key) throw new ClusterError('notFound', `The artifact repository names no ${what} secret.`);
    const value = await client.readSecretKey(namespace, ref.name, ref.key, signal).catch((err: unknown) => {
      if (err instanceof ClusterError && err.kind === 'forbidden') {
        throw new ClusterError('forbidden', `Reading the archived log needs permission to get secret "${ref.name}" in namespace "${namespace}" (the artifact repository's credentials).`);
      }
      throw err;
    });
    if (value === undefined) throw new ClusterError('notFound', `Secret "${ref.name}" has no key "${ref.key}".`);
    return value;
  };
  const accessKey = await secret(s3.accessKeySecret, 'access key');
  const secretKey = await secret(s3.secretKeySecret, 'secret key');
  const scheme = s3.insecure ? 'http' : 'https';
  const url = new URL(`${scheme}://${s3.endpoint}/${s3UriEncode(s3.bucket, false)}/${s3UriEncode(s3.key, true)}`);
  const headers = signV4({ method: 'GET', host: url.host, path: `/${s3.bucket}/${s3.key}`, region: s3.region ?? 'us-east-1', accessKey, secretKey, date: new Date() });
  const res = await get(url, headers, signal);
  if (res.status === 404) throw new ClusterError('notFound', `The archived log s3://${s3.bucket}/${s3.key} does not exist (it may have been cleaned up).`);
  if (res.status !== 200) throw new ClusterError('unknown', `Reading s3://${s3.bucket}/${s3.key} from ${s3.endpoint} failed (${res.status}).`);
  return res.body;
}
