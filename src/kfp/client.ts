// A client for the Kubeflow Pipelines v2beta1 REST API over node:http(s): pipelines and their
// versions (multipart upload), experiments, runs, recurring runs and step logs. Reads retry
// a dropped connection or a 5xx a few times; creates never retry here, because a create
// whose answer was lost may have happened: `submit.ts` looks before it creates again.

import * as http from 'node:http';
import * as https from 'node:https';
import * as crypto from 'node:crypto';
import type { KfpEndpoint } from './endpoint';
import { errorForNetwork, errorForResponse, KfpError, RequestContext } from './errors';
import { decodeArtifactsResponse, encodeArtifactsRequest, GET_ARTIFACTS_BY_ID, grpcWebFrame, GRPC_WEB_CONTENT_TYPE, parseGrpcWebBody, type MlmdArtifact } from './mlmd';
import type { Experiment, Pipeline, PipelineVersion, Predicate, RecurringRun, Run } from './types';

export interface KfpClientOptions {
  /** How often a read is tried again after a dropped connection or a 5xx (default 3). */
  maxRetries?: number;
  /** First delay between tries, doubled each time (default 500 ms). */
  backoffMs?: number;
  /** Waits between tries (tests make it short). */
  sleep?: (ms: number) => Promise<void>;
  /** Per-request timeout (default 60 s). */
  timeoutMs?: number;
}

interface Request {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  upload?: { filename: string; content: string };
  ctx: Omit<RequestContext, 'endpoint'>;
  signal?: AbortSignal;
  /** Answer text instead of JSON (the log endpoint). */
  text?: boolean;
  /** A body sent as it is (gRPC-web), with its content type. */
  raw?: { body: Buffer; contentType: string };
  /** The full URL, when the request does not go under the API base (gRPC-web at the origin). */
  url?: string;
}

interface Answer {
  status: number;
  contentType?: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const API = '/apis/v2beta1';
const PAGE_SIZE = 100;

export class KfpClient {
  private readonly maxRetries: number;
  private readonly backoffMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly timeoutMs: number;
  /** One connection pool per client: a submit makes about six calls in a row. */
  private readonly agent: http.Agent | https.Agent;

  constructor(
    readonly endpoint: KfpEndpoint,
    options: KfpClientOptions = {},
  ) {
    this.maxRetries = options.maxRetries ?? 3;
    this.backoffMs = options.backoffMs ?? 500;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.agent = endpoint.apiBase.startsWith('https:') ? new https.Agent({ keepAlive: true, ...(endpoint.ca ? { ca: endpoint.ca } : {}) }) : new http.Agent({ keepAlive: true });
  }

  /** Closes pooled connections (they would otherwise close themselves when idle). */
  dispose(): void {
    this.agent.destroy();
  }

  /** The namespace requests work in: the setting, else none (single-user KFP). */
  get namespace(): string | undefined {
    return this.endpoint.namespace;
  }

  /** Checks that the endpoint serves the v2beta1 API; tells KFP 1.x apart from a wrong address. Returns whether KFP runs multi-user. */
  async checkApi(signal?: AbortSignal): Promise<{ multiUser: boolean }> {
    const ctx = { action: 'check the API' };
    try {
      const health = await this.call<{ multi_user?: boolean }>({ method: 'GET', path: `${API}/healthz`, ctx, ...(signal ? { signal } : {}) });
      return { multiUser: health.multi_user === true };
    } catch (err) {
      if (!(err instanceof KfpError) || err.kind !== 'tooOld') throw err;
      // KFP 1.x answers its own health check with its version.
      const old = await this.call<{ tag_name?: string }>({ method: 'GET', path: '/apis/v1beta1/healthz', ctx, ...(signal ? { signal } : {}) }).catch(() => undefined);
      if (old) {
        throw new KfpError(
          'tooOld',
          `Kubeflow Pipelines at ${this.endpoint.display} is version ${old.tag_name ?? '1.x'}, which has no v2 API. Flowbook's Kubeflow target needs KFP 2.0 or later; ask your admin to upgrade, or use the Argo target (flowbook submit without --target kfp).`,
          { status: 404 },
        );
      }
      throw err;
    }
  }

  // Pipelines and versions

  /** The pipeline named `name` in the namespace (or shared), or undefined. */
  async findPipeline(name: string, signal?: AbortSignal): Promise<Pipeline | undefined> {
    return this.orUndefined(
      this.call<Pipeline>({ method: 'GET', path: `${API}/pipelines/names/${encodeURIComponent(name)}`, query: { namespace: this.namespace }, ctx: this.ctx(`look up pipeline "${name}"`), ...opt(signal) }),
    );
  }

  /**
   * Creates an empty pipeline (no version yet): every version is then uploaded with its
   * content-hash name, where `pipelines/upload` would name the first one after the pipeline.
   */
  createPipeline(name: string, description: string | undefined, signal?: AbortSignal): Promise<Pipeline> {
    const body: Record<string, string> = { name, display_name: name };
    if (description) body.description = description;
    if (this.namespace) body.namespace = this.namespace;
    return this.call<Pipeline>({ method: 'POST', path: `${API}/pipelines`, json: body, ctx: this.ctx(`create pipeline "${name}"`), ...opt(signal) });
  }

  /** Uploads a compiled pipeline as a new version of `pipelineId`. */
  uploadVersion(pipelineId: string, versionName: string, content: string, options: { description?: string; signal?: AbortSignal } = {}): Promise<PipelineVersion> {
    return this.call<PipelineVersion>({
      method: 'POST',
      path: `${API}/pipelines/upload_version`,
      query: { pipelineid: pipelineId, name: versionName, display_name: versionName, description: options.description },
      upload: { filename: `${versionName}.yaml`, content },
      ctx: this.ctx(`upload version "${versionName}"`),
      ...opt(options.signal),
    });
  }

  /** The version of `pipelineId` named `name`, or undefined. */
  async findVersion(pipelineId: string, name: string, signal?: AbortSignal): Promise<PipelineVersion | undefined> {
    const page = await this.call<{ pipeline_versions?: PipelineVersion[] }>({
      method: 'GET',
      path: `${API}/pipelines/${encodeURIComponent(pipelineId)}/versions`,
      query: { filter: filter([{ key: 'name', operation: 'EQUALS', string_value: name }]), page_size: 10 },
      ctx: this.ctx(`look up version "${name}"`),
      ...opt(signal),
    });
    return (page.pipeline_versions ?? []).find((v) => v.name === name);
  }

  /** The pipelines of the namespace (and the shared ones), newest first. */
  listPipelines(signal?: AbortSignal): Promise<Pipeline[]> {
    return this.listAll<Pipeline>('pipelines', `${API}/pipelines`, { namespace: this.namespace, sort_by: 'created_at desc' }, 'list pipelines', signal);
  }

  /** The versions of `pipelineId`, newest first. */
  async listVersions(pipelineId: string, signal?: AbortSignal): Promise<PipelineVersion[]> {
    return this.listAll<PipelineVersion>('pipeline_versions', `${API}/pipelines/${encodeURIComponent(pipelineId)}/versions`, { sort_by: 'created_at desc' }, 'list pipeline versions', signal);
  }

  // Experiments

  async findExperiment(displayName: string, signal?: AbortSignal): Promise<Experiment | undefined> {
    const page = await this.call<{ experiments?: Experiment[] }>({
      method: 'GET',
      path: `${API}/experiments`,
      query: { namespace: this.namespace, filter: filter([{ key: 'display_name', operation: 'EQUALS', string_value: displayName }]), page_size: 10 },
      ctx: this.ctx(`look up experiment "${displayName}"`),
      ...opt(signal),
    });
    return (page.experiments ?? []).find((e) => e.display_name === displayName);
  }

  createExperiment(displayName: string, description: string | undefined, signal?: AbortSignal): Promise<Experiment> {
    const body: Record<string, string> = { display_name: displayName };
    if (description) body.description = description;
    if (this.namespace) body.namespace = this.namespace;
    return this.call<Experiment>({ method: 'POST', path: `${API}/experiments`, json: body, ctx: this.ctx(`create experiment "${displayName}"`), ...opt(signal) });
  }

  listExperiments(signal?: AbortSignal): Promise<Experiment[]> {
    return this.listAll<Experiment>('experiments', `${API}/experiments`, { namespace: this.namespace, sort_by: 'created_at desc' }, 'list experiments', signal);
  }

  // Runs

  createRun(run: Omit<Run, 'run_id'>, signal?: AbortSignal): Promise<Run> {
    return this.call<Run>({ method: 'POST', path: `${API}/runs`, json: run, ctx: this.ctx(`create run "${run.display_name}"`), ...opt(signal) });
  }

  getRun(runId: string, signal?: AbortSignal): Promise<Run> {
    return this.call<Run>({ method: 'GET', path: `${API}/runs/${encodeURIComponent(runId)}`, ctx: this.ctx(`get run ${runId}`), ...opt(signal) });
  }

  /** Runs, newest first: of one experiment, or of the namespace. `displayName` keeps only runs with that name. */
  listRuns(options: { experimentId?: string; displayName?: string; signal?: AbortSignal } = {}): Promise<Run[]> {
    const predicates: Predicate[] = options.displayName ? [{ key: 'display_name', operation: 'EQUALS', string_value: options.displayName }] : [];
    const query = {
      ...(options.experimentId ? { experiment_id: options.experimentId } : { namespace: this.namespace }),
      sort_by: 'created_at desc',
      filter: predicates.length > 0 ? filter(predicates) : undefined,
    };
    return this.listAll<Run>('runs', `${API}/runs`, query, 'list runs', options.signal);
  }

  async terminateRun(runId: string, signal?: AbortSignal): Promise<void> {
    await this.call<unknown>({ method: 'POST', path: `${API}/runs/${encodeURIComponent(runId)}:terminate`, ctx: this.ctx(`stop run ${runId}`), ...opt(signal) });
  }

  async retryRun(runId: string, signal?: AbortSignal): Promise<void> {
    await this.call<unknown>({ method: 'POST', path: `${API}/runs/${encodeURIComponent(runId)}:retry`, ctx: this.ctx(`retry run ${runId}`), ...opt(signal) });
  }

  /** A step's log through KFP (`/apis/v1alpha1/runs/{run}/nodes/{pod}/log`), which also serves archived logs. */
  stepLog(runId: string, podName: string, signal?: AbortSignal): Promise<string> {
    return this.call<string>({
      method: 'GET',
      path: `/apis/v1alpha1/runs/${encodeURIComponent(runId)}/nodes/${encodeURIComponent(podName)}/log`,
      query: { podnamespace: this.namespace },
      ctx: this.ctx(`read the log of ${podName}`),
      text: true,
      ...opt(signal),
    });
  }

  // ML Metadata

  /**
   * Artifacts by id from ML Metadata, through the gRPC-web route the KFP UI reads them with
   * (its proxy at `<endpoint>/ml_metadata.MetadataStoreService/…`, else the same path at the
   * origin, where Kubeflow routes `/ml_metadata`). Throws a KfpError when neither answers.
   */
  async artifactsById(ids: readonly string[], signal?: AbortSignal): Promise<MlmdArtifact[]> {
    if (ids.length === 0) return [];
    const ctx = this.ctx('read metrics from ML Metadata');
    const body = grpcWebFrame(encodeArtifactsRequest(ids));
    const base = new URL(this.endpoint.apiBase);
    const urls = [`${this.endpoint.apiBase}${GET_ARTIFACTS_BY_ID}`];
    if (base.pathname !== '/' && base.pathname !== '') urls.push(`${base.origin}${GET_ARTIFACTS_BY_ID}`);
    let last: unknown;
    for (const url of urls) {
      const req: Request = { method: 'POST', path: GET_ARTIFACTS_BY_ID, url, raw: { body, contentType: GRPC_WEB_CONTENT_TYPE }, ctx, ...opt(signal) };
      let answer: Answer;
      try {
        answer = await this.send(req);
      } catch (err) {
        throw errorForNetwork(err, { ...ctx, endpoint: this.endpoint.display });
      }
      const full: RequestContext = { ...ctx, endpoint: this.endpoint.display };
      if (answer.status === 404 || (answer.status === 200 && !/grpc-web/i.test(answer.contentType ?? '') && !/text\/html/i.test(answer.contentType ?? ''))) {
        last = new KfpError('notFound', `Kubeflow Pipelines at ${this.endpoint.display} has no ML Metadata route (${GET_ARTIFACTS_BY_ID} answered ${answer.status}).`, { status: answer.status });
        continue;
      }
      if (answer.status < 200 || answer.status >= 300 || /text\/html/i.test(answer.contentType ?? '')) {
        throw errorForResponse(answer.status, answer.contentType, answer.body.toString('utf8'), full);
      }
      const grpc = parseGrpcWebBody(answer.body, answer.headers);
      if (grpc.status !== 0) {
        throw new KfpError(grpc.status === 7 || grpc.status === 16 ? 'forbidden' : 'server', `ML Metadata at ${this.endpoint.display} refused to ${ctx.action} (gRPC status ${grpc.status})${grpc.statusMessage ? `: ${grpc.statusMessage}` : ''}.`, { status: answer.status });
      }
      return grpc.message ? decodeArtifactsResponse(grpc.message) : [];
    }
    throw last;
  }

  // Recurring runs

  createRecurringRun(run: Omit<RecurringRun, 'recurring_run_id'>, signal?: AbortSignal): Promise<RecurringRun> {
    return this.call<RecurringRun>({ method: 'POST', path: `${API}/recurringruns`, json: run, ctx: this.ctx(`create schedule "${run.display_name}"`), ...opt(signal) });
  }

  listRecurringRuns(options: { experimentId?: string; signal?: AbortSignal } = {}): Promise<RecurringRun[]> {
    const query = { namespace: this.namespace, experiment_id: options.experimentId, sort_by: 'created_at desc' };
    return this.listAll<RecurringRun>('recurringRuns', `${API}/recurringruns`, query, 'list schedules', options.signal);
  }

  getRecurringRun(id: string, signal?: AbortSignal): Promise<RecurringRun> {
    return this.call<RecurringRun>({ method: 'GET', path: `${API}/recurringruns/${encodeURIComponent(id)}`, ctx: this.ctx(`get schedule ${id}`), ...opt(signal) });
  }

  async setRecurringRunEnabled(id: string, enabled: boolean, signal?: AbortSignal): Promise<void> {
    const verb = enabled ? 'enable' : 'disable';
    await this.call<unknown>({ method: 'POST', path: `${API}/recurringruns/${encodeURIComponent(id)}:${verb}`, ctx: this.ctx(`${verb} schedule ${id}`), ...opt(signal) });
  }

  async deleteRecurringRun(id: string, signal?: AbortSignal): Promise<void> {
    await this.call<unknown>({ method: 'DELETE', path: `${API}/recurringruns/${encodeURIComponent(id)}`, ctx: this.ctx(`delete schedule ${id}`), ...opt(signal) });
  }

  // Plumbing

  private ctx(action: string): Omit<RequestContext, 'endpoint'> {
    return this.namespace ? { action, namespace: this.namespace } : { action };
  }

  private async orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
    try {
      return await p;
    } catch (err) {
      if (err instanceof KfpError && err.kind === 'notFound') return undefined;
      throw err;
    }
  }

  /** Every page of a list. The recurring-run list names its field `recurringRuns` on the wire. */
  private async listAll<T>(field: string, path: string, query: Record<string, string | undefined>, action: string, signal?: AbortSignal): Promise<T[]> {
    const items: T[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const answer = await this.call<Record<string, unknown>>({
        method: 'GET',
        path,
        query: { ...query, page_size: PAGE_SIZE, page_token: pageToken },
        ctx: this.ctx(action),
        ...opt(signal),
      });
      const list = answer[field] ?? answer[snake(field)];
      if (Array.isArray(list)) items.push(...(list as T[]));
      pageToken = typeof answer.next_page_token === 'string' && answer.next_page_token !== '' ? answer.next_page_token : undefined;
      if (!pageToken) break;
    }
    return items;
  }

  private async call<T>(req: Request): Promise<T> {
    const idempotent = req.method === 'GET';
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(req);
      } catch (err) {
        if (!(err instanceof KfpError) || !err.transient || !idempotent || attempt >= this.maxRetries) throw err;
        await this.sleep(this.backoffMs * 2 ** attempt);
      }
    }
  }

  private async once<T>(req: Request): Promise<T> {
    const ctx: RequestContext = { ...req.ctx, endpoint: this.endpoint.display };
    const answer = await this.send(req).catch((err: unknown) => {
      throw errorForNetwork(err, ctx);
    });
    const text = answer.body.toString('utf8');
    if (answer.status < 200 || answer.status >= 300) throw errorForResponse(answer.status, answer.contentType, text, ctx);
    if (req.text) return text as T;
    try {
      // An HTML page with 200 is a login page that a proxy served in place of the API.
      if (/text\/html/i.test(answer.contentType ?? '') || /^\s*</.test(text)) throw new Error('html');
      return (text.trim() === '' ? {} : JSON.parse(text)) as T;
    } catch {
      const err = errorForResponse(answer.status, answer.contentType, text, ctx);
      if (err.kind === 'loginPage') throw err;
      throw new KfpError('badResponse', `Kubeflow Pipelines at ${this.endpoint.display} gave an answer that is not JSON when trying to ${ctx.action}. Check that flowbook.kfp.endpoint points at Kubeflow.`, { status: answer.status });
    }
  }

  /** One HTTP exchange; rejects only when no answer came (the caller names the failure). */
  private async send(req: Request): Promise<Answer> {
    const url = new URL(req.url ?? this.endpoint.apiBase + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { Accept: req.raw ? req.raw.contentType : 'application/json' };
    let body: Buffer | undefined;
    if (req.json !== undefined) {
      body = Buffer.from(JSON.stringify(req.json));
      headers['Content-Type'] = 'application/json';
    } else if (req.upload) {
      const boundary = `flowbook-${crypto.randomBytes(12).toString('hex')}`;
      body = multipart(boundary, 'uploadfile', req.upload.filename, req.upload.content);
      headers['Content-Type'] = `multipart/form-data; boundary=${boundary}`;
    } else if (req.raw) {
      body = req.raw.body;
      headers['Content-Type'] = req.raw.contentType;
      headers['X-Grpc-Web'] = '1';
    }
    if (body) headers['Content-Length'] = String(body.length);
    const token = await this.endpoint.tokens.token(req.signal);
    if (token) headers.Authorization = `Bearer ${token}`;

    return new Promise<Answer>((resolve, reject) => {
      const lib = url.protocol === 'https:' ? https : http;
      const r = lib.request(url, {
        method: req.method,
        headers,
        timeout: this.timeoutMs,
        agent: this.agent,
        ...(req.signal ? { signal: req.signal } : {}),
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers['content-type'] ? { contentType: res.headers['content-type'] } : {}), headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
        res.on('aborted', () => reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
      });
      r.on('timeout', () => r.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      r.on('error', reject);
      r.end(body);
    });
  }
}

function opt(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** A list filter as KFP takes it: URL-encoded JSON of `{predicates: [...]}`. */
export function filter(predicates: Predicate[]): string {
  return JSON.stringify({ predicates });
}

/** One `multipart/form-data` body holding a single file field. */
export function multipart(boundary: string, field: string, filename: string, content: string): Buffer {
  const safeName = filename.replace(/["\r\n\\]/g, '_');
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${safeName}"\r\nContent-Type: application/x-yaml\r\n\r\n`),
    Buffer.from(content, 'utf8'),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}
