// SIMULATED CLUSTER (tests only): a minimal S3-compatible object store on 127.0.0.1 (the
// artifact repository Argo archives logs to). GET /BUCKET/KEY answers only requests signed
// with Signature V4 by the configured key pair; everything else is 403, like MinIO.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signV4 } from '../../src/cluster/artifacts';

export class SimulatedS3 {
  private server?: http.Server;
  private readonly objects = new Map<string, string>();
  readonly requests: { path: string; status: number }[] = [];
  endpoint = '';

  constructor(
    readonly accessKey: string,
    readonly secretKey: string,
  ) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.endpoint = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  put(bucket: string, key: string, body: string): void {
    this.objects.set(`${bucket}/${key}`, body);
  }

  has(bucket: string, key: string): boolean {
    return this.objects.has(`${bucket}/${key}`);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    const reply = (status: number, body: string) => {
      this.requests.push({ path, status });
      res.writeHead(status, { 'Content-Type': status === 200 ? 'application/octet-stream' : 'application/xml' });
      res.end(body);
    };
    const auth = req.headers.authorization ?? '';
    const date = req.headers['x-amz-date'];
    const m = /Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request/.exec(auth);
    if (!m || m[1] !== this.accessKey || typeof date !== 'string') return reply(403, '<Error><Code>InvalidAccessKeyId</Code></Error>');
    const when = new Date(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`);
    const expected = signV4({ method: req.method ?? 'GET', host: req.headers.host ?? '', path, region: m[3] ?? 'us-east-1', accessKey: this.accessKey, secretKey: this.secretKey, date: when });
    if (expected.authorization !== auth) return reply(403, '<Error><Code>SignatureDoesNotMatch</Code></Error>');
    const object = this.objects.get(path.replace(/^\//, ''));
    if (object === undefined) return reply(404, '<Error><Code>NoSuchKey</Code></Error>');
    reply(200, object);
  }
}
