// The one door to the Kubernetes API: typed calls through @kubernetes/client-node, each
// named by an `Operation` so a failure becomes a `ClusterError` that says what and where.
// Retry policy lives here and only here: 429 waits for Retry-After and tries again (the
// server did not act on the request); network errors and 5xx are retried only for calls
// that are safe to repeat (reads, deletes, conditional updates). Creates are never
// repeated blindly: `submit` re-checks its idempotency label instead.

import * as http from 'node:http';
import * as https from 'node:https';
import {
  ApiextensionsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import type { ClusterConnection } from './connection';
import { ClusterError, Endpoint, Operation, toClusterError } from './errors';
import { NAMESPACES, PODS, SECRETS, type ResourceType } from './resources';
import type { KubeList, KubeObject } from './types';

export interface ClientOptions {
  /** How to wait between attempts (tests record the delays instead of sleeping). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Attempts after the first for 429 and transient failures. Default 4. */
  maxRetries?: number;
  /** First backoff delay for transient failures; doubles per attempt. Default 250 ms. */
  backoffMs?: number;
  /** Longest wait honoured from a Retry-After header. Default 60 s. */
  maxRetryAfterMs?: number;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continueToken?: string;
  resourceVersion?: string;
  signal?: AbortSignal;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new ClusterError('aborted', 'Cancelled.'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ClusterError('aborted', 'Cancelled.'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

type Query = Record<string, string | number | boolean | undefined>;

export class ClusterClient {
  private customApi?: CustomObjectsApi;
  private coreApi?: CoreV1Api;
  private authApi?: AuthorizationV1Api;
  private extApi?: ApiextensionsV1Api;
  private readonly options: Required<ClientOptions>;

  constructor(
    readonly connection: ClusterConnection,
    options: ClientOptions = {},
  ) {
    this.options = {
      sleep: options.sleep ?? sleep,
      maxRetries: options.maxRetries ?? 4,
      backoffMs: options.backoffMs ?? 250,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
    };
  }

  get namespace(): string {
    return this.connection.namespace;
  }

  get endpoint(): Endpoint {
    const c = this.connection;
    return { server: c.server, context: c.contextName, user: c.userName, auth: c.auth };
  }

  get custom(): CustomObjectsApi {
    return (this.customApi ??= this.connection.kubeConfig.makeApiClient(CustomObjectsApi));
  }

  get core(): CoreV1Api {
    return (this.coreApi ??= this.connection.kubeConfig.makeApiClient(CoreV1Api));
  }

  get authorization(): AuthorizationV1Api {
    return (this.authApi ??= this.connection.kubeConfig.makeApiClient(AuthorizationV1Api));
  }

  get apiextensions(): ApiextensionsV1Api {
    return (this.extApi ??= this.connection.kubeConfig.makeApiClient(ApiextensionsV1Api));
  }

  /** A client-node Watch bound to this connection. */
  newWatch(): Watch {
    return new Watch(this.connection.kubeConfig);
  }

  /** Waits with the client's sleep (tests replace it), rejecting when `signal` aborts. */
  pause(ms: number, signal?: AbortSignal): Promise<void> {
    return this.options.sleep(ms, signal);
  }

  toError(err: unknown, op: Operation): ClusterError {
    return toClusterError(err, op, this.endpoint);
  }

  /**
   * Runs `fn`, turning failures into `ClusterError`s and retrying as the policy above
   * says. `repeatable`: the call may be sent again after a network error or 5xx.
   */
  async call<T>(op: Operation, fn: () => Promise<T>, options: { repeatable: boolean; signal?: AbortSignal }): Promise<T> {
    let backoff = this.options.backoffMs;
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted) throw new ClusterError('aborted', 'Cancelled.');
      try {
        return await fn();
      } catch (raw) {
        const err = this.toError(raw, op);
        if (attempt >= this.options.maxRetries) throw err;
        if (err.kind === 'throttled') {
          const wait = Math.min((err.details.retryAfterSeconds ?? 1) * 1000, this.options.maxRetryAfterMs);
          await this.options.sleep(wait, options.signal);
          continue;
        }
        // A refused connection rarely heals within seconds: give up sooner than for a 5xx.
        if (err.kind === 'unreachable' && attempt >= 2) throw err;
        if (options.repeatable && (err.kind === 'unreachable' || err.kind === 'server')) {
          const hinted = err.details.retryAfterSeconds;
          await this.options.sleep(hinted !== undefined ? Math.min(hinted * 1000, this.options.maxRetryAfterMs) : backoff, options.signal);
          backoff *= 2;
          continue;
        }
        throw err;
      }
    }
  }

  // -------------------------------------------------------------------------
  // Namespaced custom objects (Workflows, InferenceServices)

  async list<T extends KubeObject>(type: ResourceType, namespace: string, options: ListOptions = {}): Promise<KubeList<T>> {
    const op: Operation = { verb: 'list', type, namespace };
    return this.call(
      op,
      async () =>
        (await this.custom.listNamespacedCustomObject({
          group: type.group,
          version: type.version,
          namespace,
          plural: type.plural,
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          limit: options.limit,
          _continue: options.continueToken,
          resourceVersion: options.resourceVersion,
        })) as KubeList<T>,
      { repeatable: true, signal: options.signal },
    );
  }

  async get<T extends KubeObject>(type: ResourceType, namespace: string, name: string, signal?: AbortSignal): Promise<T> {
    return this.call(
      { verb: 'get', type, namespace, name },
      async () => (await this.custom.getNamespacedCustomObject({ group: type.group, version: type.version, namespace, plural: type.plural, name })) as T,
      { repeatable: true, signal },
    );
  }

  /** Creates an object. Never retried after a network error or 5xx: the caller decides (see submit). */
  async create<T extends KubeObject>(type: ResourceType, namespace: string, body: KubeObject, options: { dryRun?: boolean; signal?: AbortSignal } = {}): Promise<T> {
    const op: Operation = { verb: 'create', type, namespace };
    if (options.dryRun) op.label = `dry-run create a ${type.kind} in namespace "${namespace}"`;
    return this.call(
      op,
      async () =>
        (await this.custom.createNamespacedCustomObject({
          group: type.group,
          version: type.version,
          namespace,
          plural: type.plural,
          body,
          dryRun: options.dryRun ? 'All' : undefined,
        })) as T,
      { repeatable: options.dryRun === true, signal: options.signal },
    );
  }

  /** JSON merge patch (RFC 7386). Repeatable: applying the same merge patch twice gives the same object. */
  async mergePatch<T extends KubeObject>(type: ResourceType, namespace: string, name: string, patch: object, signal?: AbortSignal): Promise<T> {
    return this.call(
      { verb: 'patch', type, namespace, name },
      async () =>
        (await this.custom.patchNamespacedCustomObject(
          { group: type.group, version: type.version, namespace, plural: type.plural, name, body: patch },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        )) as T,
      { repeatable: true, signal },
    );
  }

  /** Replaces an object; `body.metadata.resourceVersion` makes it conditional (409 when it changed). */
  async replace<T extends KubeObject>(type: ResourceType, namespace: string, name: string, body: KubeObject, signal?: AbortSignal): Promise<T> {
    return this.call(
      { verb: 'update', type, namespace, name },
      async () => (await this.custom.replaceNamespacedCustomObject({ group: type.group, version: type.version, namespace, plural: type.plural, name, body })) as T,
      { repeatable: body.metadata.resourceVersion !== undefined, signal },
    );
  }

  async delete(type: ResourceType, namespace: string, name: string, signal?: AbortSignal): Promise<void> {
    await this.call(
      { verb: 'delete', type, namespace, name },
      () =>
        this.custom.deleteNamespacedCustomObject({
          group: type.group,
          version: type.version,
          namespace,
          plural: type.plural,
          name,
          propagationPolicy: 'Background',
        }),
      { repeatable: true, signal },
    );
  }

  // -------------------------------------------------------------------------
  // Core objects

  async listPods(namespace: string, labelSelector: string, signal?: AbortSignal): Promise<V1Pod[]> {
    const list = await this.call(
      { verb: 'list', type: PODS, namespace },
      () => this.core.listNamespacedPod({ namespace, labelSelector }),
      { repeatable: true, signal },
    );
    return list.items;
  }

  /** The pod, or undefined when it does not exist (any other failure throws). */
  async findPod(namespace: string, name: string, signal?: AbortSignal): Promise<V1Pod | undefined> {
    try {
      return await this.call({ verb: 'get', type: PODS, namespace, name }, () => this.core.readNamespacedPod({ namespace, name }), { repeatable: true, signal });
    } catch (err) {
      if (err instanceof ClusterError && err.kind === 'notFound') return undefined;
      throw err;
    }
  }

  async deletePod(namespace: string, name: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.call({ verb: 'delete', type: PODS, namespace, name }, () => this.core.deleteNamespacedPod({ namespace, name }), { repeatable: true, signal });
      return true;
    } catch (err) {
      if (err instanceof ClusterError && err.kind === 'notFound') return false;
      throw err;
    }
  }

  /**
   * Namespaces for a picker: every namespace when the user may list them; otherwise (common
   * on shared clusters) the current one and those the kubeconfig's contexts name.
   */
  async listNamespaces(signal?: AbortSignal): Promise<{ names: string[]; complete: boolean }> {
    try {
      const list = await this.call({ verb: 'list', type: NAMESPACES }, () => this.core.listNamespace(), { repeatable: true, signal });
      return { names: list.items.map((n) => n.metadata?.name ?? '').filter((n) => n !== '').sort(), complete: true };
    } catch (err) {
      if (!(err instanceof ClusterError && err.kind === 'forbidden')) throw err;
      const names = new Set([this.namespace, ...this.connection.contexts().map((c) => c.namespace ?? 'default')]);
      return { names: [...names].sort(), complete: false };
    }
  }

  async readSecretKey(namespace: string, name: string, key: string, signal?: AbortSignal): Promise<string | undefined> {
    const secret = await this.call(
      { verb: 'get', type: SECRETS, namespace, name },
      () => this.core.readNamespacedSecret({ namespace, name }),
      { repeatable: true, signal },
    );
    const data = secret.data?.[key];
    return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
  }

  // -------------------------------------------------------------------------
  // Raw requests for what the generated API does not stream: pod logs and discovery.

  /**
   * Opens a GET on `path` with client-node's TLS and credentials applied, resolving with the
   * response once the status is 2xx (a non-2xx status rejects with a `ClusterError`).
   * The caller owns the response stream.
   */
  async openStream(op: Operation, path: string, query: Query, signal?: AbortSignal): Promise<http.IncomingMessage> {
    const url = new URL(this.connection.server.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    let options: https.RequestOptions;
    try {
      options = { method: 'GET' };
      await this.connection.kubeConfig.applyToHTTPSOptions(options);
    } catch (err) {
      throw this.toError(err, op);
    }
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, { ...options, signal }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(res);
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(this.toError(err, op)));
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
          reject(this.toError({ statusCode: status, body: Buffer.concat(chunks).toString('utf8'), headers }, op));
        });
      });
      req.on('error', (err) => reject(this.toError(err, op)));
      req.end();
    });
  }

  /** GET returning the body as text, retried like any read. */
  async getText(op: Operation, path: string, query: Query = {}, signal?: AbortSignal): Promise<string> {
    return this.call(
      op,
      async () => {
        const res = await this.openStream(op, path, query, signal);
        const chunks: Buffer[] = [];
        for await (const chunk of res) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks).toString('utf8');
      },
      { repeatable: true, signal },
    );
  }

  /** Whether the API server serves `type` (API discovery, which every authenticated user may read). */
  async serves(type: ResourceType, signal?: AbortSignal): Promise<boolean> {
    const path = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
    try {
      const text = await this.getText({ verb: 'get', label: `discover the ${type.group || 'core'} API` }, path, {}, signal);
      const list = JSON.parse(text) as { resources?: { name?: string }[] };
      return (list.resources ?? []).some((r) => r.name === type.plural);
    } catch (err) {
      if (err instanceof ClusterError && (err.status === 404 || err.kind === 'crdMissing' || err.kind === 'notFound')) return false;
      throw err;
    }
  }
}
