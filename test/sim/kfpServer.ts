// SIMULATED KFP API SERVER (tests only). No Kubeflow Pipelines can run on the test
// machines, so this is an HTTP(S) server on 127.0.0.1 that speaks the v2beta1 REST routes
// Flowbook uses, checks every request against KFP's published swagger (kfpSwagger.ts),
// stores pipelines, versions, experiments, runs and recurring runs, and advances a run one
// step each time it is read. It is NOT Kubeflow: it only behaves like it to Flowbook's real
// client, which every KFP test goes through over real sockets. Multi-user mode, login
// pages, KFP 1.x, and faults (any status, dropped connections, lost answers) are switches.
// Metrics a task writes live in a simulated ML Metadata, read over gRPC-web as the KFP UI does.

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import selfsigned from 'selfsigned';
import { parseAllDocuments } from 'yaml';
import { bodyProblems, Route, ROUTES } from './kfpSwagger';
import { decodeArtifactsRequest, encodeArtifactsResponse, GET_ARTIFACTS_BY_ID, grpcWebFrame, grpcWebTrailers, parseGrpcWebBody, type MlmdArtifact } from '../../src/kfp/mlmd';

type Json = Record<string, unknown>;

export interface KfpFault {
  /** The swagger operationId to fail (`RunService_CreateRun`, `UploadPipelineVersion`, ...); absent: any. */
  operation?: string;
  /** `status`: answer `status`; `html`: answer a login page; `drop`: close unanswered; `applyThenDrop`: do it, then close (a lost answer). */
  action?: 'status' | 'html' | 'drop' | 'applyThenDrop';
  status?: number;
  message?: string;
  /** How many matching requests fail (default 1). */
  times?: number;
}

export interface KfpRequestRecord {
  method: string;
  path: string;
  operation: string;
  query: Record<string, string>;
  status: number;
  authorization: boolean;
}

export interface KfpSimOptions {
  /** Serve HTTPS with a self-signed certificate (`caPem`); default HTTP. */
  tls?: boolean;
  /** Serve the API under this prefix (`/pipeline`, as the Kubeflow ingress does). */
  prefix?: string;
  /** Multi-user mode: a Bearer token is required and namespaces are checked. */
  multiUser?: boolean;
  /** What an unauthenticated request gets in multi-user mode: 401 (default) or the Dex login page (302 to it). */
  unauthenticated?: 'status' | 'loginPage';
  /** Pretend to be KFP 1.x: no v2beta1 routes. */
  legacyVersion?: string;
  /** How each task of a run ends (default: succeeds). */
  taskOutcome?: (task: string, attempt: number) => 'succeed' | 'fail';
  /**
   * The metrics a task that succeeds writes (its `metrics` output artifact in the simulated
   * ML Metadata, read through gRPC-web at GET_ARTIFACTS_BY_ID); default none.
   */
  taskMetrics?: (task: string, runId: string) => Record<string, number> | undefined;
  /** No ML Metadata route (a KFP API server reached without its UI proxy): that path answers 404. */
  noMetadataRoute?: boolean;
}

interface User {
  name: string;
  namespaces: string[] | 'all';
}

interface StoredVersion extends Json {
  pipeline_id: string;
  pipeline_version_id: string;
  name: string;
}

interface SimRun {
  run: Json;
  tasks: string[];
  /** Task → the id of its Metrics artifact, once it succeeded with metrics. */
  metricsArtifacts: Map<string, string>;
  /** Task → when it started and ended. */
  times: Map<string, { start?: string; end?: string }>;
  states: Map<string, string>;
  attempts: Map<string, number>;
  namespace?: string;
}

let serial = 0;

export class SimulatedKfp {
  readonly requests: KfpRequestRecord[] = [];
  readonly pipelines = new Map<string, Json>();
  readonly versions = new Map<string, StoredVersion & { content: string }>();
  readonly experiments = new Map<string, Json>();
  readonly runs = new Map<string, SimRun>();
  readonly recurringRuns = new Map<string, Json>();
  /** The simulated ML Metadata store: artifact id → artifact. */
  readonly artifacts = new Map<string, MlmdArtifact>();
  private nextArtifactId = 1;
  private readonly users = new Map<string, User>();
  private readonly faults: (KfpFault & { left: number })[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly order = new Map<string, number>();
  url = '';
  caPem = '';

  private constructor(
    private readonly server: http.Server | https.Server,
    readonly options: KfpSimOptions,
  ) {}

  static async start(options: KfpSimOptions = {}): Promise<SimulatedKfp> {
    let server: http.Server | https.Server;
    let caPem = '';
    if (options.tls) {
      const pems = await selfsigned.generate([{ name: 'commonName', value: 'flowbook-simulated-kfp' }], {
        keyType: 'ec',
        algorithm: 'sha256',
        extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }],
      });
      server = https.createServer({ key: pems.private, cert: pems.cert });
      caPem = pems.cert;
    } else {
      server = http.createServer();
    }
    const sim = new SimulatedKfp(server, options);
    sim.caPem = caPem;
    server.on(options.tls ? 'secureConnection' : 'connection', (s: Socket) => {
      sim.sockets.add(s);
      s.on('close', () => sim.sockets.delete(s));
    });
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      sim.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sim.sendJson(res, 500, rpcError(13, `simulated KFP bug: ${String(err)}`));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    sim.url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return sim;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---------------------------------------------------------------------------
  // Test controls

  /** Adds a user with a Bearer token, who may work in `namespaces` (multi-user mode). */
  addUser(name: string, token: string, namespaces: string[] | 'all' = 'all'): void {
    this.users.set(token, { name, namespaces });
  }

  inject(fault: KfpFault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  /** Drops the faults not used up yet. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** How many requests matched (by operationId and/or status). */
  count(filter: Partial<Pick<KfpRequestRecord, 'operation' | 'status' | 'method'>>): number {
    return this.requests.filter((r) => Object.entries(filter).every(([k, v]) => r[k as keyof KfpRequestRecord] === v)).length;
  }

  /** Runs the recorded reads of run `id` would advance; for tests that want a run finished. */
  finish(runId: string): void {
    for (let i = 0; i < 100; i++) {
      const r = this.runs.get(runId);
      if (!r || isFinal(String(r.run.state))) return;
      this.advance(r);
    }
  }

  // ---------------------------------------------------------------------------
  // Request handling

  private sendJson(res: http.ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  private sendLoginPage(res: http.ServerResponse, code = 200): void {
    const page = '<!DOCTYPE html><html><head><title>Dex</title></head><body><form action="/dex/auth/local/login">Log in to Your Account</form></body></html>';
    res.writeHead(code, { 'Content-Type': 'text/html; charset=utf-8', ...(code === 302 ? { Location: '/dex/auth?client_id=kubeflow-oidc-authservice' } : {}) });
    res.end(page);
  }

  /**
   * ML Metadata's `GetArtifactsByID` over gRPC-web, as the KFP UI's proxy serves it: one data
   * frame with the response, then a trailers frame with the status. In multi-user mode an
   * artifact of a run in a namespace the user may not read is refused (PERMISSION_DENIED).
   */
  private serveMetadata(body: Buffer, user: User | undefined, res: http.ServerResponse, done: (s: number) => void): void {
    const grpc = (status: number, message: string | undefined, payload?: Uint8Array) => {
      done(200);
      const frames = [...(payload ? [grpcWebFrame(payload)] : []), grpcWebTrailers(status, message)];
      res.writeHead(200, { 'Content-Type': 'application/grpc-web+proto' }).end(Buffer.concat(frames));
    };
    let ids: string[];
    try {
      const frame = parseGrpcWebBody(body);
      if (!frame.message) return grpc(3, 'no request message');
      ids = decodeArtifactsRequest(frame.message);
    } catch (err) {
      return grpc(3, `bad request: ${String(err)}`);
    }
    if (this.options.multiUser && user && user.namespaces !== 'all') {
      const allowed = new Set([...this.runs.values()].filter((r) => r.namespace === undefined || (user.namespaces as string[]).includes(r.namespace)).flatMap((r) => [...r.metricsArtifacts.values()]));
      if (ids.some((id) => this.artifacts.has(id) && !allowed.has(id))) return grpc(7, `user ${user.name} may not read these artifacts`);
    }
    grpc(0, undefined, encodeArtifactsResponse(ids.flatMap((id) => this.artifacts.get(id) ?? [])));
  }

  private async readBody(req: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const query = Object.fromEntries(url.searchParams.entries());
    const prefix = this.options.prefix ?? '';
    const auth = req.headers.authorization;
    const record: KfpRequestRecord = { method: req.method ?? 'GET', path: url.pathname, operation: '', query, status: 0, authorization: auth !== undefined };
    this.requests.push(record);
    const done = (status: number) => (record.status = status);
    const body = await this.readBody(req);

    if (!url.pathname.startsWith(prefix)) {
      done(404);
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    const path = url.pathname.slice(prefix.length);

    if (this.options.legacyVersion !== undefined) {
      if (path === '/apis/v1beta1/healthz') {
        done(200);
        this.sendJson(res, 200, { commit_sha: 'sim', tag_name: this.options.legacyVersion, multi_user: this.options.multiUser ?? false });
        return;
      }
      done(404);
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }

    const logMatch = /^\/apis\/v1alpha1\/runs\/([^/]+)\/nodes\/([^/]+)\/log$/.exec(path);
    const route = ROUTES.find((r) => r.method === req.method && r.pattern.test(path));
    const metadata = req.method === 'POST' && path === GET_ARTIFACTS_BY_ID && !this.options.noMetadataRoute;
    record.operation = metadata ? 'GetArtifactsByID' : logMatch ? 'ReadLog' : (route?.operationId ?? 'unknown');

    // Authentication first, as the ingress and the API server do.
    let user: User | undefined;
    if (this.options.multiUser) {
      const token = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
      user = token !== undefined ? this.users.get(token) : undefined;
      if (!user) {
        if (this.options.unauthenticated === 'loginPage') {
          done(302);
          this.sendLoginPage(res, 302);
          return;
        }
        done(401);
        this.sendJson(res, 401, rpcError(16, 'Unauthenticated: Request header error: there is no user identity header.'));
        return;
      }
    }

    const fault = this.faults.find((f) => f.left > 0 && (f.operation === undefined || f.operation === record.operation));
    if (fault && fault.action !== 'applyThenDrop') {
      fault.left--;
      if (fault.action === 'drop') {
        done(0);
        req.socket.destroy();
        return;
      }
      if (fault.action === 'html') {
        done(200);
        this.sendLoginPage(res);
        return;
      }
      const status = fault.status ?? 500;
      done(status);
      this.sendJson(res, status, rpcError(grpcCodeFor(status), fault.message ?? `simulated failure ${status}`));
      return;
    }

    const answer = (status: number, value: unknown) => {
      done(status);
      if (fault?.action === 'applyThenDrop') {
        fault.left--;
        done(0);
        req.socket.destroy();
        return;
      }
      this.sendJson(res, status, value);
    };

    if (record.operation === 'GetArtifactsByID') {
      this.serveMetadata(body, user, res, done);
      return;
    }

    if (logMatch) {
      const [, runId, pod] = logMatch;
      const run = this.runs.get(decodeURIComponent(runId ?? ''));
      const task = run?.tasks.find((t) => podName(run, t) === decodeURIComponent(pod ?? ''));
      if (!run || !task) {
        answer(404, rpcError(5, `NotFound: no pod ${pod ?? ''} in run ${runId ?? ''}`));
        return;
      }
      if (!this.allowed(user, run.namespace, 'get', 'runs', res, done)) return;
      done(200);
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`simulated step ${task}: started\nsimulated step ${task}: ${run.states.get(task) ?? 'PENDING'}\n`);
      return;
    }
    if (!route) {
      done(404);
      this.sendJson(res, 404, rpcError(5, `Not Found: the simulated KFP has no route ${req.method ?? ''} ${path}`));
      return;
    }

    // Query parameters must be ones the route declares.
    for (const k of Object.keys(query)) {
      if (!route.queryParams.has(k)) {
        answer(400, rpcError(3, `InvalidArgument: unknown query parameter "${k}" for ${route.operationId}`));
        return;
      }
    }
    const params = pathParams(route, path);
    let json: Json | undefined;
    if (route.bodyRef) {
      try {
        json = JSON.parse(body.toString('utf8')) as Json;
      } catch {
        answer(400, rpcError(3, 'InvalidArgument: the body is not JSON'));
        return;
      }
      const problems = bodyProblems(route.bodyRef, json);
      if (problems.length > 0) {
        answer(400, rpcError(3, `InvalidArgument: ${problems.join('; ')}`));
        return;
      }
    }
    const ctx: Ctx = { user, query, params, json, body, contentType: req.headers['content-type'] ?? '', answer, res, done };
    this.dispatch(route.operationId, ctx);
  }

  private allowed(user: User | undefined, namespace: string | undefined, verb: string, resource: string, res: http.ServerResponse, done: (s: number) => void, status = 403): boolean {
    if (!this.options.multiUser || !user || namespace === undefined || namespace === '') return true;
    if (user.namespaces === 'all' || user.namespaces.includes(namespace)) return true;
    done(status);
    const attrs = `&ResourceAttributes{Namespace:${namespace},Verb:${verb},Group:pipelines.kubeflow.org,Version:v1beta1,Resource:${resource},Subresource:,Name:,}`;
    const message = `Failed to authorize with API: PermissionDenied: User '${user.name}' is not authorized with reason:  (request: ${attrs})`;
    if (status === 400) this.sendJson(res, 400, { error_message: `Failed to create a pipeline version due to authorization error: Authorization Failure: ${message}`, error_details: message });
    else this.sendJson(res, 403, rpcError(7, message));
    return false;
  }

  private dispatch(op: string, c: Ctx): void {
    const multi = this.options.multiUser ?? false;
    switch (op) {
      case 'HealthzService_GetHealthz':
        c.answer(200, { multi_user: multi, pipeline_store: 'database' });
        return;
      case 'PipelineService_GetPipelineByName': {
        const ns = c.query.namespace ?? '';
        if (!this.allowed(c.user, ns, 'get', 'pipelines', c.res, c.done)) return;
        const p = [...this.pipelines.values()].find((x) => x.name === c.params.name && (x.namespace ?? '') === ns);
        if (p) c.answer(200, p);
        else c.answer(404, rpcError(5, `NotFound: Pipeline with name ${c.params.name ?? ''} not found in namespace "${ns}"`));
        return;
      }
      case 'PipelineService_GetPipeline': {
        const p = this.pipelines.get(c.params.pipeline_id ?? '');
        if (!p) return c.answer(404, rpcError(5, `NotFound: pipeline ${c.params.pipeline_id ?? ''}`));
        c.answer(200, p);
        return;
      }
      case 'PipelineService_CreatePipeline': {
        const body = c.json ?? {};
        const name = String(body.name ?? body.display_name ?? '');
        const ns = String(body.namespace ?? '');
        if (!name) return c.answer(400, rpcError(3, 'InvalidArgument: a pipeline needs a name or display_name'));
        if (!this.allowed(c.user, ns, 'create', 'pipelines', c.res, c.done)) return;
        if ([...this.pipelines.values()].some((x) => x.name === name && (x.namespace ?? '') === ns)) {
          return c.answer(409, rpcError(6, `AlreadyExists: Failed to create a new pipeline. The name ${name} already exists. Please specify a new name`));
        }
        const p: Json = { pipeline_id: this.id('pipeline'), name, display_name: String(body.display_name ?? name), created_at: now(), ...(ns ? { namespace: ns } : {}) };
        if (body.description) p.description = body.description;
        this.pipelines.set(String(p.pipeline_id), p);
        c.answer(200, p);
        return;
      }
      case 'UploadPipeline':
        c.answer(400, { error_message: 'The simulated KFP serves uploads of new versions only (create the pipeline first)', error_details: '' });
        return;
      case 'UploadPipelineVersion': {
        const pipeline = this.pipelines.get(c.query.pipelineid ?? '');
        if (!pipeline) return c.answer(400, { error_message: `Failed to create a pipeline version due to error reading namespace: pipeline ${c.query.pipelineid ?? ''} not found`, error_details: '' });
        if (!this.allowed(c.user, String(pipeline.namespace ?? ''), 'create', 'pipelines', c.res, c.done, 400)) return;
        const file = uploadedFile(c.contentType, c.body);
        if (typeof file !== 'string') return c.answer(400, { error_message: `Failed to read pipeline version from file: ${file.error}`, error_details: '' });
        const problem = irProblem(file);
        if (problem) return c.answer(400, { error_message: `Error read pipeline version file.: ${problem}`, error_details: '' });
        const name = c.query.name ?? '';
        if ([...this.versions.values()].some((v) => v.pipeline_id === pipeline.pipeline_id && v.name === name)) {
          return c.answer(409, { error_message: 'Failed to create a pipeline version. The pipeline already exists.', error_details: '' });
        }
        const v = { pipeline_id: String(pipeline.pipeline_id), pipeline_version_id: this.id('version'), name, display_name: c.query.display_name ?? name, created_at: now(), content: file } as StoredVersion & { content: string };
        if (c.query.description) v.description = c.query.description;
        this.versions.set(v.pipeline_version_id, v);
        c.answer(200, publicVersion(v));
        return;
      }
      case 'PipelineService_ListPipelines': {
        // The namespace's pipelines and the shared ones (no namespace), as KFP lists them.
        const ns = c.query.namespace ?? '';
        if (!this.allowed(c.user, ns, 'list', 'pipelines', c.res, c.done)) return;
        this.list(c, 'pipelines', [...this.pipelines.values()].filter((p) => (p.namespace ?? '') === ns || (p.namespace ?? '') === ''));
        return;
      }
      case 'PipelineService_ListPipelineVersions': {
        const pipeline = this.pipelines.get(c.params.pipeline_id ?? '');
        if (!pipeline) return c.answer(404, rpcError(5, `NotFound: pipeline ${c.params.pipeline_id ?? ''}`));
        if (!this.allowed(c.user, String(pipeline.namespace ?? ''), 'list', 'pipelines', c.res, c.done)) return;
        this.list(c, 'pipeline_versions', [...this.versions.values()].filter((v) => v.pipeline_id === pipeline.pipeline_id).map(publicVersion));
        return;
      }
      case 'ExperimentService_ListExperiments': {
        const ns = c.query.namespace ?? '';
        if (multi && !ns) return c.answer(400, rpcError(3, 'Invalid input error: In multi-user mode, ListExperiment requires filtering by namespace.'));
        if (!this.allowed(c.user, ns, 'list', 'experiments', c.res, c.done)) return;
        this.list(c, 'experiments', [...this.experiments.values()].filter((e) => (e.namespace ?? '') === ns));
        return;
      }
      case 'ExperimentService_CreateExperiment': {
        const body = c.json ?? {};
        const ns = String(body.namespace ?? '');
        if (!body.display_name) return c.answer(400, rpcError(3, 'InvalidArgument: Experiment name is empty. Please specify a valid experiment name.'));
        if (multi && !ns) return c.answer(400, rpcError(3, 'Invalid input error: In multi-user mode, experiment namespace must be specified.'));
        if (!this.allowed(c.user, ns, 'create', 'experiments', c.res, c.done)) return;
        if ([...this.experiments.values()].some((e) => e.display_name === body.display_name && (e.namespace ?? '') === ns)) {
          return c.answer(409, rpcError(6, `AlreadyExists: Failed to create a new experiment. The name ${String(body.display_name)} already exists. Please specify a new name`));
        }
        const e: Json = { experiment_id: this.id('experiment'), display_name: body.display_name, created_at: now(), storage_state: 'AVAILABLE', ...(ns ? { namespace: ns } : {}) };
        if (body.description) e.description = body.description;
        this.experiments.set(String(e.experiment_id), e);
        c.answer(200, e);
        return;
      }
      case 'RunService_CreateRun': {
        const body = c.json ?? {};
        const experiment = this.experiments.get(String(body.experiment_id ?? ''));
        if (!experiment) return c.answer(400, rpcError(3, `InvalidArgument: experiment ${String(body.experiment_id ?? '(none)')} not found`));
        if (!this.allowed(c.user, String(experiment.namespace ?? ''), 'create', 'runs', c.res, c.done)) return;
        const resolved = this.resolveVersion(body.pipeline_version_reference as Json | undefined, c);
        if (!resolved) return;
        const problem = runtimeConfigProblem(resolved.content, (body.runtime_config as Json | undefined)?.parameters as Json | undefined);
        if (problem) return c.answer(400, rpcError(3, `InvalidArgument: ${problem}`));
        const run: Json = { ...body, run_id: this.id('run'), created_at: now(), scheduled_at: now(), state: 'PENDING', state_history: [{ update_time: now(), state: 'PENDING' }], storage_state: 'AVAILABLE' };
        const tasks = dagTasks(resolved.content);
        const sim: SimRun = { run, tasks, states: new Map(tasks.map((t) => [t, 'PENDING'])), attempts: new Map(), metricsArtifacts: new Map(), times: new Map(), ...(experiment.namespace ? { namespace: String(experiment.namespace) } : {}) };
        this.runs.set(String(run.run_id), sim);
        c.answer(200, this.runView(sim));
        return;
      }
      case 'RunService_GetRun': {
        const r = this.runs.get(c.params.run_id ?? '');
        if (!r) return c.answer(404, rpcError(5, `NotFound: Run ${c.params.run_id ?? ''} not found`));
        if (!this.allowed(c.user, r.namespace, 'get', 'runs', c.res, c.done)) return;
        this.advance(r);
        c.answer(200, this.runView(r));
        return;
      }
      case 'RunService_ListRuns': {
        const scope = this.listScope(c, 'ListRuns', 'runs');
        if (!scope) return;
        const runs = [...this.runs.values()].filter((r) => scope.matches(String(r.run.experiment_id ?? ''), r.namespace)).map((r) => this.runView(r));
        this.list(c, 'runs', runs);
        return;
      }
      case 'RunService_TerminateRun':
      case 'RunService_RetryRun': {
        const r = this.runs.get(c.params.run_id ?? '');
        if (!r) return c.answer(404, rpcError(5, `NotFound: Run ${c.params.run_id ?? ''} not found`));
        if (!this.allowed(c.user, r.namespace, op === 'RunService_RetryRun' ? 'retry' : 'terminate', 'runs', c.res, c.done)) return;
        const state = String(r.run.state);
        if (op === 'RunService_TerminateRun') {
          if (isFinal(state)) return c.answer(400, rpcError(9, `FailedPrecondition: run ${String(r.run.run_id)} has already finished (${state})`));
          this.setState(r, 'CANCELING');
        } else {
          if (state !== 'FAILED' && state !== 'CANCELED') return c.answer(400, rpcError(9, `FailedPrecondition: only a failed or canceled run can be retried; run ${String(r.run.run_id)} is ${state}`));
          for (const [t, s] of r.states) if (s !== 'SUCCEEDED') r.states.set(t, 'PENDING');
          this.setState(r, 'RUNNING');
          delete r.run.finished_at;
          delete r.run.error;
        }
        c.answer(200, {});
        return;
      }
      case 'RecurringRunService_CreateRecurringRun': {
        const body = c.json ?? {};
        const experiment = this.experiments.get(String(body.experiment_id ?? ''));
        if (!experiment) return c.answer(400, rpcError(3, `InvalidArgument: experiment ${String(body.experiment_id ?? '(none)')} not found`));
        if (!this.allowed(c.user, String(experiment.namespace ?? ''), 'create', 'recurringruns', c.res, c.done)) return;
        const cron = (body.trigger as { cron_schedule?: { cron?: string } } | undefined)?.cron_schedule?.cron;
        if (cron !== undefined && cron.trim().split(/\s+/).length !== 6) return c.answer(400, rpcError(3, `InvalidArgument: Schedule cron is not a supported format(https://godoc.org/github.com/robfig/cron). Error: expected exactly 6 fields, found ${cron.trim().split(/\s+/).length}: [${cron}]`));
        const mc = Number(body.max_concurrency ?? 1);
        if (!(mc >= 1 && mc <= 10)) return c.answer(400, rpcError(3, `InvalidArgument: max concurrency of recurring run must be at least 1 and at most 10. Received ${String(body.max_concurrency)}`));
        const resolved = this.resolveVersion(body.pipeline_version_reference as Json | undefined, c);
        if (!resolved) return;
        const rr: Json = { ...body, recurring_run_id: this.id('recurring'), created_at: now(), updated_at: now(), status: body.mode === 'DISABLE' ? 'DISABLED' : 'ENABLED', namespace: experiment.namespace ?? '' };
        this.recurringRuns.set(String(rr.recurring_run_id), rr);
        c.answer(200, rr);
        return;
      }
      case 'RecurringRunService_ListRecurringRuns': {
        const scope = this.listScope(c, 'ListRecurringRuns', 'recurringruns');
        if (!scope) return;
        const all = [...this.recurringRuns.values()].filter((r) => scope.matches(String(r.experiment_id ?? ''), String(r.namespace ?? '')));
        this.list(c, 'recurringRuns', all);
        return;
      }
      case 'RecurringRunService_GetRecurringRun':
      case 'RecurringRunService_DeleteRecurringRun':
      case 'RecurringRunService_EnableRecurringRun':
      case 'RecurringRunService_DisableRecurringRun': {
        const rr = this.recurringRuns.get(c.params.recurring_run_id ?? '');
        if (!rr) return c.answer(404, rpcError(5, `NotFound: RecurringRun ${c.params.recurring_run_id ?? ''} not found`));
        const verb = op.replace('RecurringRunService_', '').replace('RecurringRun', '').toLowerCase();
        if (!this.allowed(c.user, String(rr.namespace ?? ''), verb, 'recurringruns', c.res, c.done)) return;
        if (op.endsWith('DeleteRecurringRun')) this.recurringRuns.delete(String(rr.recurring_run_id));
        if (op.endsWith('EnableRecurringRun')) Object.assign(rr, { status: 'ENABLED', mode: 'ENABLE', updated_at: now() });
        if (op.endsWith('DisableRecurringRun')) Object.assign(rr, { status: 'DISABLED', mode: 'DISABLE', updated_at: now() });
        c.answer(200, op.endsWith('GetRecurringRun') ? rr : {});
        return;
      }
      default:
        c.answer(501, rpcError(12, `Unimplemented in the simulated KFP: ${op}`));
    }
  }

  /** What a run or schedule list covers: one experiment, or a namespace (required in multi-user mode, and checked). */
  private listScope(c: Ctx, operation: string, resource: string): { matches(experimentId: string, namespace: string | undefined): boolean } | undefined {
    const exp = c.query.experiment_id ? this.experiments.get(c.query.experiment_id) : undefined;
    const ns = exp ? String(exp.namespace ?? '') : (c.query.namespace ?? '');
    if (this.options.multiUser && !ns) {
      c.answer(400, rpcError(3, `Invalid input error: In multi-user mode, ${operation} requires filtering by namespace or experiment.`));
      return undefined;
    }
    if (!this.allowed(c.user, ns, 'list', resource, c.res, c.done)) return undefined;
    return { matches: (experimentId, namespace) => (exp ? experimentId === exp.experiment_id : (namespace ?? '') === ns) };
  }

  private resolveVersion(ref: Json | undefined, c: Ctx): (StoredVersion & { content: string }) | undefined {
    const pid = String(ref?.pipeline_id ?? '');
    const vid = ref?.pipeline_version_id !== undefined ? String(ref.pipeline_version_id) : undefined;
    const candidates = [...this.versions.values()].filter((v) => v.pipeline_id === pid && (vid === undefined || v.pipeline_version_id === vid));
    const v = candidates[candidates.length - 1];
    if (!v) c.answer(400, rpcError(3, `InvalidArgument: pipeline version ${vid ?? '(latest)'} of pipeline ${pid} not found`));
    return v;
  }

  private list(c: Ctx, field: string, items: Json[]): void {
    let out = [...items];
    if (c.query.filter) {
      let predicates: { key?: string; operation?: string; string_value?: string }[];
      try {
        predicates = ((JSON.parse(c.query.filter) as { predicates?: typeof predicates }).predicates ?? []);
      } catch {
        return c.answer(400, rpcError(3, 'InvalidArgument: the filter is not JSON'));
      }
      for (const p of predicates) {
        if (p.operation !== 'EQUALS' || !p.key || !['name', 'display_name'].includes(p.key)) {
          return c.answer(400, rpcError(3, `InvalidArgument: the simulated KFP filters on name/display_name EQUALS only (got ${JSON.stringify(p)})`));
        }
        out = out.filter((i) => i[p.key as string] === p.string_value);
      }
    }
    const key = (i: Json) => this.order.get(String(i.run_id ?? i.pipeline_version_id ?? i.experiment_id ?? i.recurring_run_id ?? '')) ?? 0;
    out.sort((a, b) => (c.query.sort_by === 'created_at desc' ? key(b) - key(a) : key(a) - key(b)));
    const size = Math.max(1, Math.min(Number(c.query.page_size ?? 20) || 20, 200));
    const start = c.query.page_token ? Number(Buffer.from(c.query.page_token, 'base64').toString('utf8')) : 0;
    const page = out.slice(start, start + size);
    const next = start + size < out.length ? Buffer.from(String(start + size)).toString('base64') : undefined;
    c.answer(200, { ...(page.length > 0 ? { [field]: page } : {}), total_size: out.length, ...(next ? { next_page_token: next } : {}) });
  }

  private id(kind: string): string {
    const id = `${kind}-${crypto.randomUUID()}`;
    this.order.set(id, ++serial);
    return id;
  }

  private setState(r: SimRun, state: string): void {
    r.run.state = state;
    (r.run.state_history as Json[]).push({ update_time: now(), state });
    if (isFinal(state)) r.run.finished_at = now();
  }

  /** One step of a run's life: PENDING → RUNNING → each task in order → SUCCEEDED or FAILED; CANCELING → CANCELED. */
  private advance(r: SimRun): void {
    const state = String(r.run.state);
    if (isFinal(state)) return;
    if (state === 'CANCELING') {
      for (const [t, s] of r.states) if (s === 'RUNNING' || s === 'PENDING') r.states.set(t, 'CANCELED');
      this.setState(r, 'CANCELED');
      return;
    }
    if (state === 'PENDING') {
      this.setState(r, 'RUNNING');
      return;
    }
    const running = r.tasks.find((t) => r.states.get(t) === 'RUNNING');
    if (running) {
      const attempt = (r.attempts.get(running) ?? 0) + 1;
      r.attempts.set(running, attempt);
      const outcome = this.options.taskOutcome?.(running, attempt) ?? 'succeed';
      r.states.set(running, outcome === 'fail' ? 'FAILED' : 'SUCCEEDED');
      r.times.set(running, { ...r.times.get(running), end: now() });
      const metrics = outcome === 'fail' ? undefined : this.options.taskMetrics?.(running, String(r.run.run_id));
      if (metrics) {
        const id = String(this.nextArtifactId++);
        this.artifacts.set(id, { id, name: 'metrics', type: 'system.Metrics', uri: `minio://mlpipeline/v2/artifacts/${String(r.run.run_id)}/${running}/metrics`, customProperties: { display_name: 'metrics', ...metrics } });
        r.metricsArtifacts.set(running, id);
      }
      if (outcome === 'fail') {
        r.run.error = { code: 2, message: `task ${running} failed` };
        this.setState(r, 'FAILED');
      }
      return;
    }
    const next = r.tasks.find((t) => r.states.get(t) === 'PENDING');
    if (next) {
      r.states.set(next, 'RUNNING');
      r.times.set(next, { start: now() });
    } else {
      this.setState(r, 'SUCCEEDED');
    }
  }

  private runView(r: SimRun): Json {
    const details = r.tasks.filter((t) => r.states.get(t) !== 'PENDING').map((t) => ({
      run_id: r.run.run_id,
      task_id: `${String(r.run.run_id)}-${t}`,
      display_name: t,
      state: r.states.get(t),
      pod_name: podName(r, t),
      create_time: r.run.created_at,
      ...(r.times.get(t)?.start ? { start_time: r.times.get(t)?.start } : {}),
      ...(r.times.get(t)?.end ? { end_time: r.times.get(t)?.end } : {}),
      ...(r.metricsArtifacts.has(t) ? { outputs: { metrics: { artifact_ids: [r.metricsArtifacts.get(t)] } } } : {}),
    }));
    return { ...r.run, run_details: { task_details: details } };
  }
}

interface Ctx {
  user: User | undefined;
  query: Record<string, string>;
  params: Record<string, string>;
  json: Json | undefined;
  body: Buffer;
  contentType: string;
  answer: (status: number, value: unknown) => void;
  res: http.ServerResponse;
  done: (status: number) => void;
}

function now(): string {
  return new Date().toISOString();
}

function isFinal(state: string): boolean {
  return ['SUCCEEDED', 'FAILED', 'CANCELED', 'SKIPPED'].includes(state);
}

function podName(r: SimRun, task: string): string {
  return `${String(r.run.run_id).slice(-8)}-${task}-${r.attempts.get(task) ?? 0}`;
}

/** A gRPC-gateway error body. */
function rpcError(code: number, message: string): Json {
  return { error: message, code, message, details: [] };
}

function grpcCodeFor(status: number): number {
  return ({ 400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 429: 8, 500: 13, 503: 14 } as Record<number, number>)[status] ?? 2;
}

function pathParams(route: Route, path: string): Record<string, string> {
  const m = route.pattern.exec(path);
  const out: Record<string, string> = {};
  route.pathParams.forEach((name, i) => (out[name] = decodeURIComponent(m?.[i + 1] ?? '')));
  return out;
}

function publicVersion(v: Json): Json {
  const { content: _content, ...rest } = v;
  return rest;
}

/** The `uploadfile` part of a multipart body. */
function uploadedFile(contentType: string, body: Buffer): string | { error: string } {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  if (!/^multipart\/form-data/i.test(contentType) || !boundary) return { error: 'request Content-Type isn\'t multipart/form-data' };
  const marker = `--${boundary[1] ?? boundary[2] ?? ''}`;
  for (const part of body.toString('utf8').split(marker)) {
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd < 0) continue;
    const headers = part.slice(0, headerEnd);
    if (!/name="uploadfile"/.test(headers)) continue;
    return part.slice(headerEnd + 4).replace(/\r\n$/, '');
  }
  return { error: 'http: no such file' };
}

/** What KFP's upload checks on the IR: YAML, schemaVersion 2.1.0, a name, a root. */
function irProblem(text: string): string | undefined {
  const docs = parseAllDocuments(text);
  const first = (Array.isArray(docs) ? docs : [docs])[0];
  if (!first || first.errors.length > 0) return 'Failed to unmarshal pipeline spec: not YAML';
  const spec = first.toJS() as Json | null;
  if (!spec || typeof spec !== 'object') return 'Failed to unmarshal pipeline spec: empty';
  if (spec.schemaVersion !== '2.1.0') return `Invalid input error: KFP only supports schema version 2.1.0, but the pipeline spec has version ${String(spec.schemaVersion)}`;
  if (!(spec.pipelineInfo as Json | undefined)?.name) return 'Invalid input error: pipeline name is empty';
  if (!spec.root) return 'Invalid input error: the pipeline spec has no root';
  return undefined;
}

function specOf(text: string): Json {
  const docs = parseAllDocuments(text);
  return ((Array.isArray(docs) ? docs : [docs])[0]?.toJS() ?? {}) as Json;
}

/** The root DAG's tasks in an order where each task follows the tasks it depends on. */
function dagTasks(text: string): string[] {
  const tasks = ((specOf(text).root as Json | undefined)?.dag as Json | undefined)?.tasks as Record<string, { dependentTasks?: string[] }> | undefined;
  const names = Object.keys(tasks ?? {}).sort();
  const out: string[] = [];
  const visit = (n: string, seen: Set<string>) => {
    if (out.includes(n) || seen.has(n)) return;
    seen.add(n);
    for (const d of tasks?.[n]?.dependentTasks ?? []) visit(d, seen);
    out.push(n);
  };
  for (const n of names) visit(n, new Set());
  return out;
}

/** KFP checks runtime parameters against `root.inputDefinitions` when it starts the run. */
function runtimeConfigProblem(text: string, given: Json | undefined): string | undefined {
  const declared = (((specOf(text).root as Json | undefined)?.inputDefinitions as Json | undefined)?.parameters ?? {}) as Record<string, { parameterType?: string }>;
  for (const [name, value] of Object.entries(given ?? {})) {
    const type = declared[name]?.parameterType;
    if (!type) return `the pipeline has no input parameter ${name}`;
    const ok =
      type === 'STRING' ? typeof value === 'string'
      : type === 'NUMBER_INTEGER' ? Number.isInteger(value)
      : type === 'NUMBER_DOUBLE' ? typeof value === 'number'
      : type === 'BOOLEAN' ? typeof value === 'boolean'
      : type === 'LIST' ? Array.isArray(value)
      : typeof value === 'object' && value !== null && !Array.isArray(value);
    if (!ok) return `input parameter ${name} requires type ${type}, got ${JSON.stringify(value)}`;
  }
  return undefined;
}
