// SIMULATED CLUSTER (tests only). No Kubernetes API server can run on the test machines, so
// this is an HTTPS server on 127.0.0.1 that speaks the Kubernetes REST protocol for what
// Flowbook uses: discovery, namespaces, CRDs, Workflow and InferenceService custom
// resources (list/get/create/update/patch/delete with resourceVersion, selectors, dry run),
// pods, pods/log with follow, secrets, SelfSubjectAccessReview, watch streams with
// bookmarks and 410 expiry, `Status` error bodies, bearer-token and client-certificate
// auth with simple RBAC. Fault injection makes it fail on purpose. It is NOT a cluster:
// it only behaves like one to the real @kubernetes/client-node, which every test uses.

import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import * as path from 'node:path';
import type { TLSSocket } from 'node:tls';
import selfsigned from 'selfsigned';
import type { KubeObject, KubeStatus } from '../../src/cluster/types';
import { ArgoController, ArgoControllerOptions } from './argoController';
import { SimulatedKaniko, SimulatedKanikoOptions } from './kanikoController';
import { KServeController } from './kserveController';
import { jsonPatch, mergePatch, PatchError } from './patch';
import { parseFieldSelector, parseLabelSelector, SelectorError } from './selectors';
import { ObjectStore, StoreError, StoreEvent } from './store';

export interface Rule {
  verbs: string[];
  /** API groups; '' is core, '*' any. */
  groups: string[];
  /** Resources, with subresources as `pods/log`; '*' any. */
  resources: string[];
  /** Namespaces the rule applies in; absent: everywhere. */
  namespaces?: string[];
}

export interface Fault {
  method?: string;
  verb?: string;
  resource?: string;
  subresource?: string;
  name?: string;
  watch?: boolean;
  /** `status`: answer with `status` (default); `drop`: close the connection unanswered;
   * `applyThenDrop`: do the request, then close the connection before answering. */
  action?: 'status' | 'drop' | 'applyThenDrop';
  status?: number;
  retryAfter?: number;
  message?: string;
  /** How many matching requests fail (default 1). */
  times?: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  watch: boolean;
  dryRun: boolean;
  status: number;
  user?: string;
  authorization: string;
}

export interface SimOptions {
  /** Install the Argo Workflow CRD (default true). */
  argo?: boolean;
  /** Install the KServe InferenceService CRD (default true). */
  kserve?: boolean;
  /** Install the legacy serving.kubeflow.org CRD (default false). */
  legacyKserve?: boolean;
  /** Run the simulated Argo controller (default true). */
  argoController?: boolean | ArgoControllerOptions;
  /** Run the simulated KServe controller (default true). */
  kserveController?: boolean;
  /** Run Pods whose image names kaniko as simulated Kaniko builds (default true). */
  kaniko?: boolean | SimulatedKanikoOptions;
  /** Send watch bookmarks this often; 0: only on `sendBookmarks()`. */
  bookmarkIntervalMs?: number;
  historyLimit?: number;
  namespaces?: string[];
}

interface CrdInfo {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  statusSubresource: boolean;
}

interface OpenWatch {
  resource: string;
  res: http.ServerResponse;
  socket: Socket;
  bookmark(): void;
  expire(): void;
}

interface LogState {
  lines: { ts: string; text: string }[];
  done: boolean;
  followers: Set<(line: { ts: string; text: string } | null) => void>;
}

const BUILTIN: CrdInfo[] = [
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false, statusSubresource: true },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, statusSubresource: true },
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true, statusSubresource: false },
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true, statusSubresource: false },
  { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true, statusSubresource: false },
  { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false, statusSubresource: true },
];

export const CRD_RESOURCE = 'apiextensions.k8s.io/customresourcedefinitions';

export function workflowCrd(): KubeObject {
  return crdObject({ group: 'argoproj.io', version: 'v1alpha1', plural: 'workflows', kind: 'Workflow', namespaced: true, statusSubresource: false });
}

export function cronWorkflowCrd(): KubeObject {
  return crdObject({ group: 'argoproj.io', version: 'v1alpha1', plural: 'cronworkflows', kind: 'CronWorkflow', namespaced: true, statusSubresource: false });
}

export function inferenceServiceCrd(group = 'serving.kserve.io'): KubeObject {
  return crdObject({ group, version: 'v1beta1', plural: 'inferenceservices', kind: 'InferenceService', namespaced: true, statusSubresource: true });
}

function crdObject(info: CrdInfo): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${info.plural}.${info.group}` },
    spec: {
      group: info.group,
      names: { plural: info.plural, kind: info.kind, singular: info.kind.toLowerCase() },
      scope: info.namespaced ? 'Namespaced' : 'Cluster',
      versions: [{ name: info.version, served: true, storage: true, subresources: info.statusSubresource ? { status: {} } : {} }],
    },
  };
}

function status(code: number, reason: string, message: string, details?: KubeStatus['details']): KubeStatus & { apiVersion: string; metadata: object } {
  const s: KubeStatus & { apiVersion: string; metadata: object } = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) s.details = details;
  return s;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  410: 'Expired',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

/** RFC 3339 with nanoseconds, as the kubelet stamps log lines. */
export function nanoTimestamp(date = new Date()): string {
  return date.toISOString().replace(/Z$/, '000000Z');
}

export class SimulatedCluster {
  readonly store: ObjectStore;
  readonly requests: RequestRecord[] = [];
  private readonly tokens = new Map<string, string>();
  private readonly certUsers = new Map<string, string>();
  private readonly rules = new Map<string, Rule[] | 'all'>();
  private readonly faults: (Fault & { left: number })[] = [];
  private readonly watches = new Set<OpenWatch>();
  private readonly logStreams = new Set<Socket>();
  private readonly logs = new Map<string, LogState>();
  private readonly sockets = new Set<Socket>();
  private bookmarkTimer?: NodeJS.Timeout;
  readonly argo?: ArgoController;
  readonly kserve?: KServeController;
  readonly kaniko?: SimulatedKaniko;
  /** Tokens handed out by TokenRequest, for assertions. */
  readonly issuedTokens: { namespace: string; serviceAccount: string; audiences: string[]; token: string }[] = [];
  url = '';
  adminToken = 'sim-admin-token-7f3e9c2a1b';

  private constructor(
    private readonly server: https.Server,
    readonly caPem: string,
    readonly clientCert: { cert: string; key: string },
    options: SimOptions,
  ) {
    this.store = new ObjectStore(options.historyLimit);
    this.tokens.set(this.adminToken, 'admin');
    this.rules.set('admin', 'all');
    this.certUsers.set('flowbook-cert-user', 'cert-user');
    this.rules.set('cert-user', 'all');
    for (const ns of options.namespaces ?? ['default']) this.createNamespace(ns);
    if (options.argo ?? true) {
      this.store.create(CRD_RESOURCE, workflowCrd());
      this.store.create(CRD_RESOURCE, cronWorkflowCrd());
    }
    if (options.kserve ?? true) this.store.create(CRD_RESOURCE, inferenceServiceCrd());
    if (options.legacyKserve) this.store.create(CRD_RESOURCE, inferenceServiceCrd('serving.kubeflow.org'));
    if (options.argoController ?? true) {
      this.argo = new ArgoController(this, typeof options.argoController === 'object' ? options.argoController : {});
    }
    if (options.kserveController ?? true) this.kserve = new KServeController(this);
    if (options.kaniko ?? true) this.kaniko = new SimulatedKaniko(this, typeof options.kaniko === 'object' ? options.kaniko : {});
    // Garbage collection of ConfigMaps whose owner is deleted (ownerReferences by uid).
    // Pods of Workflows are left to the simulated Argo controller, which removes them itself.
    this.store.subscribe((e) => {
      if (e.type !== 'DELETED' || !e.object.metadata.uid) return;
      for (const cm of this.store.list('/configmaps', e.object.metadata.namespace)) {
        if (!(cm.metadata.ownerReferences as { uid?: string }[] | undefined)?.some((o) => o.uid === e.object.metadata.uid)) continue;
        try {
          this.store.delete('/configmaps', cm.metadata.namespace, cm.metadata.name ?? '');
        } catch {
          // already gone
        }
      }
    });
    if (options.bookmarkIntervalMs) this.bookmarkTimer = setInterval(() => this.sendBookmarks(), options.bookmarkIntervalMs);
  }

  static async start(options: SimOptions = {}): Promise<SimulatedCluster> {
    const pems = await certificates();
    const server = https.createServer({ key: pems.key, cert: pems.cert, ca: [pems.cert], requestCert: true, rejectUnauthorized: false });
    const sim = new SimulatedCluster(server, pems.cert, { cert: pems.clientCert, key: pems.clientKey }, options);
    server.on('connection', (s: Socket) => {
      sim.sockets.add(s);
      s.on('close', () => sim.sockets.delete(s));
    });
    server.on('secureConnection', (s: TLSSocket) => {
      sim.sockets.add(s);
      s.on('close', () => sim.sockets.delete(s));
    });
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      sim.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sim.send(res, 500, status(500, 'InternalError', `simulated cluster bug: ${String(err)}`));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    sim.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (sim.kserve) await sim.kserve.startPredictionServer();
    return sim;
  }

  async stop(): Promise<void> {
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    this.argo?.stop();
    this.kaniko?.stop();
    await this.kserve?.stop();
    for (const w of this.watches) w.socket.destroy();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---------------------------------------------------------------------------
  // Test controls

  addUser(name: string, token: string, rules: Rule[] | 'all' = 'all'): void {
    this.tokens.set(token, name);
    this.rules.set(name, rules);
  }

  setRules(user: string, rules: Rule[] | 'all'): void {
    this.rules.set(user, rules);
  }

  revokeToken(token: string): void {
    this.tokens.delete(token);
  }

  inject(fault: Fault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  count(filter: Partial<RequestRecord>): number {
    return this.requests.filter((r) => Object.entries(filter).every(([k, v]) => (r as unknown as Record<string, unknown>)[k] === v)).length;
  }

  createNamespace(name: string): void {
    this.store.create('/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, status: { phase: 'Active' } });
  }

  removeCrd(name: string): void {
    this.store.delete(CRD_RESOURCE, undefined, name);
  }

  get openWatchCount(): number {
    return this.watches.size;
  }

  /** Closes every open watch connection abruptly (a network drop). */
  dropWatches(): void {
    for (const w of [...this.watches]) {
      this.watches.delete(w);
      w.socket.destroy();
    }
  }

  /** Forgets the event history and ends every open watch with 410 Gone. */
  expireWatches(): void {
    this.store.compact();
    for (const w of [...this.watches]) w.expire();
  }

  sendBookmarks(): void {
    for (const w of this.watches) w.bookmark();
  }

  /** Closes every open log stream abruptly. */
  dropLogStreams(): void {
    for (const s of [...this.logStreams]) s.destroy();
    this.logStreams.clear();
  }

  /** Appends log text; each line gets its own timestamp entry, as the kubelet writes them. */
  appendLog(namespace: string, pod: string, text: string, at = new Date()): void {
    const state = this.logState(namespace, pod);
    for (const part of text.split('\n')) {
      const line = { ts: nanoTimestamp(at), text: part };
      state.lines.push(line);
      for (const f of [...state.followers]) f(line);
    }
  }

  endLog(namespace: string, pod: string): void {
    const state = this.logState(namespace, pod);
    state.done = true;
    for (const f of [...state.followers]) f(null);
  }

  logText(namespace: string, pod: string): string {
    return (this.logs.get(`${namespace}/${pod}`)?.lines ?? []).map((l) => `${l.text}\n`).join('');
  }

  private logState(namespace: string, pod: string): LogState {
    let s = this.logs.get(`${namespace}/${pod}`);
    if (!s) this.logs.set(`${namespace}/${pod}`, (s = { lines: [], done: false, followers: new Set() }));
    return s;
  }

  /** Writes a kubeconfig for this cluster into `dir` and returns its path. */
  writeKubeconfig(
    dir: string,
    options: { token?: string; namespace?: string; context?: string; file?: string; user?: Record<string, unknown>; server?: string; extraContexts?: { name: string; namespace?: string }[] } = {},
  ): string {
    const context = options.context ?? 'sim';
    const user = options.user ?? { token: options.token ?? this.adminToken };
    const contexts = [{ name: context, context: { cluster: 'sim-cluster', user: 'sim-user', ...(options.namespace ? { namespace: options.namespace } : {}) } }];
    for (const c of options.extraContexts ?? []) {
      contexts.push({ name: c.name, context: { cluster: 'sim-cluster', user: 'sim-user', ...(c.namespace ? { namespace: c.namespace } : {}) } });
    }
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'sim-cluster', cluster: { server: options.server ?? this.url, 'certificate-authority-data': Buffer.from(this.caPem).toString('base64') } }],
      users: [{ name: 'sim-user', user }],
      contexts,
      'current-context': context,
    };
    const file = path.join(dir, options.file ?? 'kubeconfig');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  }

  // ---------------------------------------------------------------------------
  // Request handling

  send(res: http.ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
    const record = (res as http.ServerResponse & { simRecord?: RequestRecord }).simRecord;
    if (record) record.status = code;
    if ((res as http.ServerResponse & { simDrop?: boolean }).simDrop) {
      res.socket?.destroy();
      return;
    }
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
    res.end(text);
  }

  private fail(res: http.ServerResponse, code: number, message: string, details?: KubeStatus['details'], headers?: Record<string, string>, reason?: string): void {
    this.send(res, code, status(code, reason ?? REASONS[code] ?? 'Unknown', message, details), headers);
  }

  private resourceInfo(group: string, plural: string): CrdInfo | undefined {
    const builtin = BUILTIN.find((b) => b.group === group && b.plural === plural);
    if (builtin) return builtin;
    for (const crd of this.store.list(CRD_RESOURCE)) {
      const spec = crd.spec as { group: string; names: { plural: string; kind: string }; scope: string; versions: { name: string; subresources?: { status?: object } }[] };
      if (spec.group === group && spec.names.plural === plural) {
        const v = spec.versions[0];
        return { group, version: v?.name ?? 'v1', plural, kind: spec.names.kind, namespaced: spec.scope === 'Namespaced', statusSubresource: v?.subresources?.status !== undefined };
      }
    }
    return undefined;
  }

  private authenticate(req: http.IncomingMessage): string | undefined {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) return this.tokens.get(auth.slice(7).trim());
    const socket = req.socket as TLSSocket;
    if (socket.authorized) {
      const cn = socket.getPeerCertificate()?.subject?.CN;
      if (typeof cn === 'string') return this.certUsers.get(cn);
    }
    return undefined;
  }

  allowed(user: string, verb: string, group: string, resource: string, namespace?: string): boolean {
    const rules = this.rules.get(user);
    if (rules === 'all') return true;
    if (!rules) return false;
    return rules.some(
      (r) =>
        (r.verbs.includes('*') || r.verbs.includes(verb)) &&
        (r.groups.includes('*') || r.groups.includes(group)) &&
        (r.resources.includes('*') || r.resources.includes(resource)) &&
        (!r.namespaces || (namespace !== undefined && r.namespaces.includes(namespace))),
    );
  }

  private async readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://sim');
    const query = Object.fromEntries(url.searchParams);
    const segments = url.pathname.split('/').filter((s) => s !== '');
    const method = req.method ?? 'GET';
    const record: RequestRecord = {
      method,
      path: url.pathname,
      query,
      verb: '',
      group: '',
      resource: '',
      watch: query.watch === 'true' || query.watch === '1',
      dryRun: query.dryRun === 'All',
      status: 0,
      authorization: req.headers.authorization ?? '',
    };
    (res as http.ServerResponse & { simRecord?: RequestRecord }).simRecord = record;
    this.requests.push(record);

    // Route: /api/v1/... (core) or /apis/GROUP/VERSION/...
    let group = '';
    let version = '';
    let rest: string[] = [];
    if (segments[0] === 'api') {
      version = segments[1] ?? '';
      rest = segments.slice(2);
    } else if (segments[0] === 'apis') {
      group = segments[1] ?? '';
      version = segments[2] ?? '';
      rest = segments.slice(3);
    }
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const plural = rest[0] ?? '';
    const name = rest[1];
    const subresource = rest[2];
    record.group = group;
    record.resource = plural;
    if (namespace !== undefined) record.namespace = namespace;
    if (name !== undefined) record.name = name;
    if (subresource !== undefined) record.subresource = subresource;
    record.verb =
      method === 'GET' ? (name === undefined ? (record.watch ? 'watch' : 'list') : 'get') : method === 'POST' ? 'create' : method === 'PUT' ? 'update' : method === 'PATCH' ? 'patch' : method === 'DELETE' ? 'delete' : method.toLowerCase();
    // `namespaces/NAME` itself is a cluster-scoped get.
    if (segments[0] === 'api' && rest[0] === undefined && namespace !== undefined) {
      record.resource = 'namespaces';
      record.name = namespace;
      record.verb = method === 'GET' ? 'get' : method === 'DELETE' ? 'delete' : record.verb;
      delete record.namespace;
    }

    const user = this.authenticate(req);
    if (user === undefined) {
      this.fail(res, 401, 'Unauthorized');
      return;
    }
    record.user = user;

    const fault = this.faults.find(
      (f) =>
        f.left > 0 &&
        (f.method === undefined || f.method === method) &&
        (f.verb === undefined || f.verb === record.verb) &&
        (f.resource === undefined || f.resource === record.resource) &&
        (f.subresource === undefined || f.subresource === record.subresource) &&
        (f.name === undefined || f.name === record.name) &&
        (f.watch === undefined || f.watch === record.watch),
    );
    if (fault) {
      fault.left--;
      const action = fault.action ?? 'status';
      if (action === 'drop') {
        record.status = -1;
        req.socket.destroy();
        return;
      }
      if (action === 'applyThenDrop') (res as http.ServerResponse & { simDrop?: boolean }).simDrop = true;
      else {
        const code = fault.status ?? 500;
        const headers: Record<string, string> = fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {};
        const details = fault.retryAfter !== undefined ? { retryAfterSeconds: fault.retryAfter } : undefined;
        this.fail(res, code, fault.message ?? `simulated ${code}`, details, headers);
        return;
      }
    }

    // Discovery is open to every authenticated user.
    if (url.pathname === '/version') return this.send(res, 200, { major: '1', minor: '31', gitVersion: 'v1.31.0-flowbook-sim' });
    if (url.pathname === '/api') return this.send(res, 200, { kind: 'APIVersions', versions: ['v1'] });
    if (url.pathname === '/apis') return this.send(res, 200, this.apiGroups());
    if (segments[0] === 'apis' && segments.length === 3) return this.discovery(res, group, version);
    if (segments[0] === 'api' && segments.length === 2) return this.discovery(res, '', version);

    if (group === 'authorization.k8s.io' && plural === 'selfsubjectaccessreviews' && method === 'POST') {
      const body = JSON.parse(await this.readBody(req)) as { spec?: { resourceAttributes?: { verb?: string; group?: string; resource?: string; subresource?: string; namespace?: string } } };
      const a = body.spec?.resourceAttributes ?? {};
      const resource = a.subresource ? `${a.resource}/${a.subresource}` : (a.resource ?? '');
      const ok = this.allowed(user, a.verb ?? '', a.group ?? '', resource, a.namespace);
      return this.send(res, 201, { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: {}, spec: body.spec, status: { allowed: ok, ...(ok ? {} : { reason: 'no RBAC policy matched' }) } });
    }

    const info = this.resourceInfo(group, record.resource);
    if (!info || (group !== '' && info.version !== version)) {
      this.fail(res, 404, 'the server could not find the requested resource', {});
      return;
    }
    const rbacResource = record.subresource ? `${record.resource}/${record.subresource}` : record.resource;
    if (!this.allowed(user, record.verb, group, rbacResource, record.namespace)) {
      const what = record.name ? `${info.plural}${group ? `.${group}` : ''} "${record.name}"` : `${info.plural}${group ? `.${group}` : ''}`;
      const where = record.namespace ? ` in the namespace "${record.namespace}"` : ' at the cluster scope';
      this.fail(res, 403, `${what} is forbidden: User "${user}" cannot ${record.verb} resource "${rbacResource}" in API group "${group}"${where}`, {
        ...(record.name ? { name: record.name } : {}),
        group,
        kind: info.plural,
      });
      return;
    }
    const storeKey = `${group}/${info.plural}`;
    try {
      if (info.plural === 'pods' && record.subresource === 'log') return this.serveLog(req, res, record.namespace ?? '', record.name ?? '', url.searchParams);
      if (info.plural === 'serviceaccounts' && record.subresource === 'token' && method === 'POST') return this.serveTokenRequest(req, res, record.namespace ?? '', record.name ?? '');
      if (record.resource === 'namespaces' && segments[0] === 'api' && record.name !== undefined && rest[0] === undefined) {
        const ns = this.store.get('/namespaces', undefined, record.name);
        if (!ns) return this.fail(res, 404, `namespaces "${record.name}" not found`, { name: record.name, kind: 'namespaces' });
        return this.send(res, 200, ns);
      }
      await this.serveObjects(req, res, info, storeKey, record, url.searchParams);
    } catch (err) {
      if (err instanceof StoreError) return this.fail(res, err.code, err.message, { ...(record.name ? { name: record.name } : {}), group, kind: info.plural }, undefined, err.reason);
      if (err instanceof SelectorError || err instanceof PatchError || err instanceof SyntaxError) return this.fail(res, 400, err.message);
      throw err;
    }
  }

  /** TokenRequest (`serviceaccounts/NAME/token`): a token for an existing service account, valid as that account here too. */
  private async serveTokenRequest(req: http.IncomingMessage, res: http.ServerResponse, namespace: string, name: string): Promise<void> {
    if (!this.store.get('/serviceaccounts', namespace, name)) {
      return this.fail(res, 404, `serviceaccounts "${name}" not found`, { name, kind: 'serviceaccounts' });
    }
    const body = JSON.parse(await this.readBody(req)) as { spec?: { audiences?: string[]; expirationSeconds?: number } };
    const seconds = body.spec?.expirationSeconds ?? 3600;
    const token = `sim-sa-token-${namespace}-${name}-${this.issuedTokens.length + 1}`;
    this.issuedTokens.push({ namespace, serviceAccount: name, audiences: body.spec?.audiences ?? [], token });
    this.tokens.set(token, `system:serviceaccount:${namespace}:${name}`);
    return this.send(res, 201, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { name, namespace },
      spec: body.spec ?? {},
      status: { token, expirationTimestamp: new Date(Date.now() + seconds * 1000).toISOString() },
    });
  }

  private apiGroups(): unknown {
    const groups = new Map<string, string>();
    for (const crd of this.store.list(CRD_RESOURCE)) {
      const spec = crd.spec as { group: string; versions: { name: string }[] };
      groups.set(spec.group, spec.versions[0]?.name ?? 'v1');
    }
    groups.set('apiextensions.k8s.io', 'v1');
    groups.set('authorization.k8s.io', 'v1');
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...groups].map(([name, v]) => ({ name, versions: [{ groupVersion: `${name}/${v}`, version: v }], preferredVersion: { groupVersion: `${name}/${v}`, version: v } })),
    };
  }

  private discovery(res: http.ServerResponse, group: string, version: string): void {
    const resources: { name: string; kind: string; namespaced: boolean; verbs: string[] }[] = [];
    const all: CrdInfo[] = [...BUILTIN];
    for (const crd of this.store.list(CRD_RESOURCE)) {
      const spec = crd.spec as { group: string; names: { plural: string; kind: string }; scope: string; versions: { name: string }[] };
      all.push({ group: spec.group, version: spec.versions[0]?.name ?? '', plural: spec.names.plural, kind: spec.names.kind, namespaced: spec.scope === 'Namespaced', statusSubresource: false });
    }
    for (const r of all) {
      if (r.group === group && r.version === version) {
        resources.push({ name: r.plural, kind: r.kind, namespaced: r.namespaced, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] });
      }
    }
    if (group === 'authorization.k8s.io' && version === 'v1') resources.push({ name: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview', namespaced: false, verbs: ['create'] });
    if (resources.length === 0) return this.send(res, 404, '404 page not found');
    this.send(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources });
  }

  private async serveObjects(req: http.IncomingMessage, res: http.ServerResponse, info: CrdInfo, storeKey: string, record: RequestRecord, params: URLSearchParams): Promise<void> {
    const ns = info.namespaced ? record.namespace : undefined;
    const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
    const dryRun = params.get('dryRun') === 'All';
    const name = record.name;
    if (record.method === 'GET' && name === undefined) {
      const labels = parseLabelSelector(params.get('labelSelector'));
      const fields = parseFieldSelector(params.get('fieldSelector'));
      const match = (o: KubeObject) => labels(o.metadata.labels ?? {}) && fields(o as { metadata: { name?: string; namespace?: string } });
      if (record.watch) return this.serveWatch(req, res, info, storeKey, ns, match, params);
      return this.serveList(res, info, storeKey, ns, match, params);
    }
    if (record.method === 'GET') {
      const obj = this.store.get(storeKey, ns, name ?? '');
      if (!obj) return this.fail(res, 404, `${info.plural}${info.group ? `.${info.group}` : ''} "${name}" not found`, { name, group: info.group, kind: info.plural });
      return this.send(res, 200, obj);
    }
    if (record.method === 'POST') {
      const body = JSON.parse(await this.readBody(req)) as KubeObject;
      if (ns !== undefined && !this.store.get('/namespaces', undefined, ns)) {
        return this.fail(res, 404, `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
      }
      body.apiVersion ??= apiVersion;
      body.kind ??= info.kind;
      body.metadata ??= {};
      if (ns !== undefined) body.metadata.namespace = ns;
      const problems = validate(info, body);
      if (problems.length > 0) {
        return this.fail(res, 422, `${info.kind}.${info.group} "${body.metadata.name ?? body.metadata.generateName ?? ''}" is invalid: ${problems.map((p) => `${p.field}: ${p.message}`).join(', ')}`, {
          name: body.metadata.name ?? '',
          group: info.group,
          kind: info.kind,
          causes: problems.map((p) => ({ reason: 'FieldValueInvalid', message: p.message, field: p.field })),
        });
      }
      if (info.statusSubresource) delete body.status;
      const created = this.store.create(storeKey, body, { dryRun });
      return this.send(res, 201, created);
    }
    if (record.method === 'PUT' || record.method === 'PATCH') {
      const current = this.store.get(storeKey, ns, name ?? '');
      if (!current) return this.fail(res, 404, `${info.plural}${info.group ? `.${info.group}` : ''} "${name}" not found`, { name, group: info.group, kind: info.plural });
      const text = await this.readBody(req);
      let next: KubeObject;
      if (record.method === 'PUT') next = JSON.parse(text) as KubeObject;
      else {
        const type = req.headers['content-type'] ?? '';
        const patch = JSON.parse(text) as unknown;
        if (type.startsWith('application/merge-patch+json')) next = mergePatch(current, patch) as KubeObject;
        else if (type.startsWith('application/json-patch+json')) next = jsonPatch(current, patch) as KubeObject;
        else return this.fail(res, 415, `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json`);
        // A patch is applied to the current version unless it names one.
        const patchRv = (patch as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;
        next.metadata.resourceVersion = patchRv ?? current.metadata.resourceVersion;
      }
      next.metadata.namespace = ns;
      next.metadata.name = name;
      if (info.statusSubresource) next.status = current.status;
      const problems = validate(info, next);
      if (problems.length > 0) {
        return this.fail(res, 422, `${info.kind} "${name}" is invalid: ${problems.map((p) => `${p.field}: ${p.message}`).join(', ')}`, {
          name,
          group: info.group,
          kind: info.kind,
          causes: problems.map((p) => ({ reason: 'FieldValueInvalid', message: p.message, field: p.field })),
        });
      }
      return this.send(res, 200, this.store.update(storeKey, next, { dryRun }));
    }
    if (record.method === 'DELETE') {
      if (dryRun) {
        const current = this.store.get(storeKey, ns, name ?? '');
        if (!current) return this.fail(res, 404, `${info.plural} "${name}" not found`, { name, group: info.group, kind: info.plural });
        return this.send(res, 200, current);
      }
      const gone = this.store.delete(storeKey, ns, name ?? '');
      if (info.plural === 'pods') this.logs.delete(`${ns}/${name}`);
      return this.send(res, 200, info.group === '' ? gone : { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: info.group, kind: info.plural, uid: gone.metadata.uid } });
    }
    this.fail(res, 405, `method ${record.method} not allowed`);
  }

  private listPages = new Map<string, { items: KubeObject[]; rv: string }>();

  private serveList(res: http.ServerResponse, info: CrdInfo, storeKey: string, ns: string | undefined, match: (o: KubeObject) => boolean, params: URLSearchParams): void {
    const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
    let snapshot: { items: KubeObject[]; rv: string };
    const token = params.get('continue');
    if (token) {
      const page = this.listPages.get(token);
      if (!page) return this.fail(res, 410, 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      this.listPages.delete(token);
      snapshot = page;
    } else {
      snapshot = { items: this.store.list(storeKey, ns).filter(match), rv: String(this.store.resourceVersion) };
    }
    const limit = Number(params.get('limit') ?? '0');
    let items = snapshot.items;
    const meta: { resourceVersion: string; continue?: string; remainingItemCount?: number } = { resourceVersion: snapshot.rv };
    if (limit > 0 && items.length > limit) {
      const next = `c${this.listPages.size}-${Math.random().toString(36).slice(2)}`;
      this.listPages.set(next, { items: items.slice(limit), rv: snapshot.rv });
      meta.continue = next;
      meta.remainingItemCount = items.length - limit;
      items = items.slice(0, limit);
    }
    this.send(res, 200, { apiVersion, kind: `${info.kind}List`, metadata: meta, items });
  }

  private serveWatch(req: http.IncomingMessage, res: http.ServerResponse, info: CrdInfo, storeKey: string, ns: string | undefined, match: (o: KubeObject) => boolean, params: URLSearchParams): void {
    const apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
    const record = (res as http.ServerResponse & { simRecord?: RequestRecord }).simRecord;
    if (record) record.status = 200;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const write = (type: string, object: unknown) => {
      if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const inScope = (o: KubeObject) => ns === undefined || o.metadata.namespace === ns;
    const deliver = (e: StoreEvent) => {
      if (!inScope(e.object)) return;
      const now = match(e.object);
      const before = e.previous ? match(e.previous) : false;
      if (e.type === 'DELETED') {
        if (before || now) write('DELETED', e.object);
      } else if (e.type === 'ADDED') {
        if (now) write('ADDED', e.object);
      } else if (now && !before) write('ADDED', e.object);
      else if (now) write('MODIFIED', e.object);
      else if (before) write('DELETED', e.object);
    };
    const expire = (rv: number) => {
      write('ERROR', status(410, 'Expired', `too old resource version: ${rv} (${this.store.compactedRv})`));
      res.end();
    };
    const rvParam = params.get('resourceVersion');
    const bookmarks = params.get('allowWatchBookmarks') === 'true';
    const rv = Number(rvParam ?? '0');
    if (!rvParam || rv === 0) {
      for (const o of this.store.list(storeKey, ns)) if (match(o)) write('ADDED', o);
    } else {
      const events = this.store.eventsSince(storeKey, rv);
      if (!events) {
        expire(rv);
        return;
      }
      for (const e of events) deliver(e);
    }
    const unsubscribe = this.store.subscribe((e) => {
      if (e.resource === storeKey) deliver(e);
    });
    const socket = req.socket;
    const watch: OpenWatch = {
      resource: storeKey,
      res,
      socket,
      bookmark: () => {
        if (bookmarks) write('BOOKMARK', { kind: info.kind, apiVersion, metadata: { resourceVersion: String(this.store.resourceVersion) } });
      },
      expire: () => expire(rv),
    };
    this.watches.add(watch);
    const timeout = Number(params.get('timeoutSeconds') ?? '0');
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    const cleanup = () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
      this.watches.delete(watch);
    };
    res.on('close', cleanup);
    res.on('finish', cleanup);
  }

  private serveLog(req: http.IncomingMessage, res: http.ServerResponse, ns: string, name: string, params: URLSearchParams): void {
    const pod = this.store.get('/pods', ns, name);
    if (!pod) return this.fail(res, 404, `pods "${name}" not found`, { name, kind: 'pods' });
    const containers = ((pod.spec as { containers?: { name: string }[] } | undefined)?.containers ?? []).map((c) => c.name);
    const container = params.get('container') ?? containers[0] ?? '';
    if (!containers.includes(container)) return this.fail(res, 400, `container ${container} is not valid for pod ${name}`);
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    if (phase === 'Pending') return this.fail(res, 400, `container "${container}" in pod "${name}" is waiting to start: ContainerCreating`);
    const state = this.logState(ns, name);
    const timestamps = params.get('timestamps') === 'true';
    const follow = params.get('follow') === 'true';
    const since = params.get('sinceTime');
    // sinceTime has second precision: lines from the start of that second are sent again.
    const sinceMs = since ? Math.floor(Date.parse(since) / 1000) * 1000 : undefined;
    const tail = params.get('tailLines');
    const format = (l: { ts: string; text: string }) => `${timestamps ? `${l.ts} ` : ''}${l.text}\n`;
    let lines = state.lines.filter((l) => sinceMs === undefined || Date.parse(l.ts) >= sinceMs);
    if (tail) lines = lines.slice(-Number(tail));
    const record = (res as http.ServerResponse & { simRecord?: RequestRecord }).simRecord;
    if (record) record.status = 200;
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    if (lines.length > 0) res.write(lines.map(format).join(''));
    if (!follow || state.done) {
      res.end();
      return;
    }
    const socket = req.socket;
    this.logStreams.add(socket);
    const follower = (line: { ts: string; text: string } | null) => {
      if (line === null) res.end();
      else res.write(format(line));
    };
    state.followers.add(follower);
    const cleanup = () => {
      state.followers.delete(follower);
      this.logStreams.delete(socket);
    };
    res.on('close', cleanup);
    res.on('finish', cleanup);
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** The checks the API server and the CRD schemas make that Flowbook can get wrong. */
function validate(info: CrdInfo, obj: KubeObject): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  const meta = obj.metadata;
  if (meta.name !== undefined && (!DNS_LABEL.test(meta.name) || meta.name.length > 253)) problems.push({ field: 'metadata.name', message: `Invalid value: "${meta.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'` });
  if (meta.name === undefined && meta.generateName === undefined) problems.push({ field: 'metadata.name', message: 'Required value: name or generateName is required' });
  for (const [k, v] of Object.entries(meta.labels ?? {})) {
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v)) problems.push({ field: `metadata.labels`, message: `Invalid value: "${String(v)}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.' (key ${k})` });
  }
  if (info.kind === 'Workflow') {
    const spec = obj.spec as { entrypoint?: unknown; templates?: { name?: unknown }[] } | undefined;
    if (!spec || typeof spec !== 'object') problems.push({ field: 'spec', message: 'Required value' });
    else {
      if (!Array.isArray(spec.templates) || spec.templates.length === 0) problems.push({ field: 'spec.templates', message: 'Required value' });
      if (typeof spec.entrypoint !== 'string') problems.push({ field: 'spec.entrypoint', message: 'Required value' });
      else if (Array.isArray(spec.templates) && !spec.templates.some((t) => t.name === spec.entrypoint)) {
        problems.push({ field: 'spec.entrypoint', message: `Invalid value: "${spec.entrypoint}": no template with that name` });
      }
    }
  }
  if (info.kind === 'CronWorkflow') problems.push(...validateCronWorkflow(obj));
  if (info.kind === 'InferenceService' && !(obj.spec as { predictor?: unknown } | undefined)?.predictor) problems.push({ field: 'spec.predictor', message: 'Required value' });
  if (info.kind === 'ConfigMap') problems.push(...validateConfigMap(obj));
  if (info.kind === 'Pod') problems.push(...validatePod(obj));
  return problems;
}

/** Argo v4's CronWorkflow checks: a `schedules` list of 5-field crontabs (v4 removed `schedule`), a policy it knows, a workflowSpec. */
function validateCronWorkflow(obj: KubeObject): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  const spec = obj.spec as { schedule?: unknown; schedules?: unknown; concurrencyPolicy?: unknown; workflowSpec?: { entrypoint?: unknown; templates?: unknown[] } } | undefined;
  if (!spec || typeof spec !== 'object') return [{ field: 'spec', message: 'Required value' }];
  if (spec.schedule !== undefined) problems.push({ field: 'spec.schedule', message: 'Forbidden: removed in Argo v4, use spec.schedules (a list)' });
  if (!Array.isArray(spec.schedules) || spec.schedules.length === 0) problems.push({ field: 'spec.schedules', message: 'Required value' });
  else {
    for (const [i, c] of spec.schedules.entries()) {
      if (typeof c !== 'string' || (c.trim().split(/\s+/).length !== 5 && !c.startsWith('@'))) problems.push({ field: `spec.schedules[${i}]`, message: `Invalid value: ${JSON.stringify(c)}: expected a 5-field cron expression` });
    }
  }
  if (spec.concurrencyPolicy !== undefined && !['Allow', 'Forbid', 'Replace'].includes(String(spec.concurrencyPolicy))) problems.push({ field: 'spec.concurrencyPolicy', message: `Unsupported value: ${JSON.stringify(spec.concurrencyPolicy)}` });
  if (!spec.workflowSpec || typeof spec.workflowSpec.entrypoint !== 'string' || !Array.isArray(spec.workflowSpec.templates)) problems.push({ field: 'spec.workflowSpec', message: 'Required value: entrypoint and templates' });
  return problems;
}

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** The API server's limit on a ConfigMap's data and binaryData together. */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;

function validateConfigMap(obj: KubeObject): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  const cm = obj as KubeObject & { data?: Record<string, unknown>; binaryData?: Record<string, unknown> };
  let size = 0;
  for (const [field, values] of [['data', cm.data], ['binaryData', cm.binaryData]] as const) {
    for (const [key, value] of Object.entries(values ?? {})) {
      if (!CONFIG_KEY.test(key) || key.length > 253) problems.push({ field: `${field}[${key}]`, message: `Invalid value: "${key}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'` });
      if (typeof value !== 'string') problems.push({ field: `${field}[${key}]`, message: 'Invalid value: must be a string' });
      else if (field === 'binaryData' && (!BASE64.test(value) || value.length % 4 !== 0)) problems.push({ field: `${field}[${key}]`, message: 'Invalid value: illegal base64 data' });
      else size += field === 'binaryData' ? Buffer.from(value, 'base64').length : Buffer.byteLength(value);
    }
  }
  for (const key of Object.keys(cm.data ?? {})) {
    if (key in (cm.binaryData ?? {})) problems.push({ field: `data[${key}]`, message: `Invalid value: "${key}": duplicate of key present in binaryData` });
  }
  if (size > CONFIGMAP_MAX_BYTES) problems.push({ field: '[]', message: `Too long: must have at most ${CONFIGMAP_MAX_BYTES} bytes` });
  return problems;
}

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function validatePod(obj: KubeObject): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  const spec = obj.spec as { containers?: { name?: unknown; image?: unknown; volumeMounts?: { name?: unknown; mountPath?: unknown }[] }[]; volumes?: { name?: unknown; configMap?: { name?: unknown }; secret?: { secretName?: unknown } }[] } | undefined;
  if (!spec || !Array.isArray(spec.containers) || spec.containers.length === 0) return [{ field: 'spec.containers', message: 'Required value' }];
  const volumes = new Set<string>();
  for (const [i, v] of (spec.volumes ?? []).entries()) {
    if (typeof v.name !== 'string' || !DNS_1123_LABEL.test(v.name)) problems.push({ field: `spec.volumes[${i}].name`, message: `Invalid value: "${String(v.name)}"` });
    else if (volumes.has(v.name)) problems.push({ field: `spec.volumes[${i}].name`, message: `Duplicate value: "${v.name}"` });
    else volumes.add(v.name);
    if (v.configMap && typeof v.configMap.name !== 'string') problems.push({ field: `spec.volumes[${i}].configMap.name`, message: 'Required value' });
    if (v.secret && typeof v.secret.secretName !== 'string') problems.push({ field: `spec.volumes[${i}].secret.secretName`, message: 'Required value' });
  }
  for (const [i, c] of spec.containers.entries()) {
    if (typeof c.name !== 'string' || !DNS_1123_LABEL.test(c.name)) problems.push({ field: `spec.containers[${i}].name`, message: `Invalid value: "${String(c.name)}"` });
    if (typeof c.image !== 'string' || c.image === '') problems.push({ field: `spec.containers[${i}].image`, message: 'Required value' });
    for (const [j, m] of (c.volumeMounts ?? []).entries()) {
      if (typeof m.name !== 'string' || !volumes.has(m.name)) problems.push({ field: `spec.containers[${i}].volumeMounts[${j}].name`, message: `Not found: "${String(m.name)}"` });
      if (typeof m.mountPath !== 'string' || !m.mountPath.startsWith('/')) problems.push({ field: `spec.containers[${i}].volumeMounts[${j}].mountPath`, message: 'Invalid value: must be an absolute path' });
    }
  }
  return problems;
}

let cached: Promise<{ key: string; cert: string; clientCert: string; clientKey: string }> | undefined;

/** One certificate set per test process: generating keys is the slow part of starting. */
function certificates(): Promise<{ key: string; cert: string; clientCert: string; clientKey: string }> {
  cached ??= (async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'flowbook-simulated-cluster' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
      ],
      clientCertificate: { cn: 'flowbook-cert-user', keyType: 'ec' },
    });
    return { key: pems.private, cert: pems.cert, clientCert: pems.clientcert ?? '', clientKey: pems.clientprivate ?? '' };
  })();
  return cached;
}
