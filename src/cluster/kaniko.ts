// The cluster side of the Kaniko image builder (src/images/builders/kaniko.ts decides what to
// create and when): ConfigMap and Pod calls through the ClusterClient, so every failure is a
// ClusterError naming the verb, resource and namespace; the build log followed across
// dropped connections without repeating a line; and the Pod's end observed by a watch
// (polling only when the user may not watch pods). Nothing here reads a Secret's values.

import type * as http from 'node:http';
import { PatchStrategy, setHeaderOptions, type V1ConfigMap, type V1Pod } from '@kubernetes/client-node';
import type { KanikoCluster, KanikoConfigMap, KanikoPod, KanikoPodEnd, SecretKeys } from '../images/builders/kaniko';
import type { ClusterClient } from './client';
import { ClusterError, type Operation } from './errors';
import { SeenLines } from './logs';
import { CONFIGMAPS, PODS, SECRETS } from './resources';

export interface KanikoClusterOptions {
  /** How long the Pod may stay Pending (scheduling, image pull, volumes) before the build gives up. Default 10 min. */
  startTimeoutMs?: number;
  /** Server-side timeout of one Pod watch; it is re-opened after. Default 60 s. */
  watchTimeoutSeconds?: number;
  /** Delay between log requests while the container has not started, and between polls without watch rights. Default 1 s. */
  retryMs?: number;
}

/** Waiting reasons the kubelet will not get past by itself. */
const STUCK = new Set(['ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'CreateContainerConfigError']);

/** The `KanikoCluster` of a connection: what `buildPipelineImages` needs as `kaniko.cluster`. */
export function kanikoCluster(client: ClusterClient, options: KanikoClusterOptions = {}): KanikoCluster {
  return new KubernetesKaniko(client, options);
}

export class KubernetesKaniko implements KanikoCluster {
  private readonly startTimeoutMs: number;
  private readonly watchTimeoutSeconds: number;
  private readonly retryMs: number;

  constructor(
    private readonly client: ClusterClient,
    options: KanikoClusterOptions = {},
  ) {
    this.startTimeoutMs = options.startTimeoutMs ?? 10 * 60_000;
    this.watchTimeoutSeconds = options.watchTimeoutSeconds ?? 60;
    this.retryMs = options.retryMs ?? 1000;
  }

  async createConfigMap(namespace: string, configMap: KanikoConfigMap, signal?: AbortSignal): Promise<void> {
    await this.client.call(
      { verb: 'create', type: CONFIGMAPS, namespace },
      () => this.client.core.createNamespacedConfigMap({ namespace, body: configMap as V1ConfigMap }),
      { repeatable: false, signal },
    );
  }

  async createPod(namespace: string, pod: KanikoPod, signal?: AbortSignal): Promise<{ uid?: string }> {
    try {
      const created = await this.client.call(
        { verb: 'create', type: PODS, namespace },
        () => this.client.core.createNamespacedPod({ namespace, body: pod as V1Pod }),
        { repeatable: false, signal },
      );
      return created.metadata?.uid ? { uid: created.metadata.uid } : {};
    } catch (err) {
      // Pod Security admission also answers 403, but no Role helps: Kaniko must run as root.
      if (err instanceof ClusterError && err.kind === 'forbidden' && /violates PodSecurity/.test(err.details.serverMessage ?? '')) {
        throw new ClusterError(
          'forbidden',
          `Namespace "${namespace}" does not admit the Kaniko build Pod: its Pod Security level forbids containers running as root, which Kaniko needs to build. Build in a namespace that allows it (--namespace), or ask your cluster admin for one. The cluster said: ${err.details.serverMessage}`,
          err.details,
        );
      }
      throw err;
    }
  }

  async adoptConfigMap(namespace: string, name: string, owner: { name: string; uid: string }, signal?: AbortSignal): Promise<void> {
    const patch = { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: owner.name, uid: owner.uid }] } };
    await this.client.call(
      { verb: 'patch', type: CONFIGMAPS, namespace, name },
      () => this.client.core.patchNamespacedConfigMap({ namespace, name, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
      { repeatable: true, signal },
    );
  }

  async secretKeys(namespace: string, name: string, signal?: AbortSignal): Promise<SecretKeys> {
    try {
      const secret = await this.client.call(
        { verb: 'get', type: SECRETS, namespace, name },
        () => this.client.core.readNamespacedSecret({ namespace, name }),
        { repeatable: true, signal },
      );
      return { state: 'found', ...(secret.type ? { type: secret.type } : {}), keys: Object.keys(secret.data ?? {}).sort() };
    } catch (err) {
      if (err instanceof ClusterError && err.kind === 'notFound') return { state: 'missing' };
      if (err instanceof ClusterError && err.kind === 'forbidden') return { state: 'unknown', reason: `this user may not read Secrets in namespace "${namespace}".` };
      throw err;
    }
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    await this.client.deletePod(namespace, name);
  }

  async deleteConfigMap(namespace: string, name: string): Promise<void> {
    try {
      await this.client.call(
        { verb: 'delete', type: CONFIGMAPS, namespace, name },
        () => this.client.core.deleteNamespacedConfigMap({ namespace, name }),
        { repeatable: true },
      );
    } catch (err) {
      // Gone already: garbage-collected with its Pod.
      if (!(err instanceof ClusterError && err.kind === 'notFound')) throw err;
    }
  }

  // ---------------------------------------------------------------------------------------
  // The log

  async streamLogs(namespace: string, name: string, container: string, onLine: (line: string) => void, signal?: AbortSignal): Promise<void> {
    const op: Operation = { verb: 'get', type: PODS, subresource: 'log', namespace, name };
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/log`;
    // Lines carry kubelet timestamps, so a reconnect (with `sinceTime`, second precision)
    // skips what was already delivered: everything before the last stamp, and as many
    // lines at the last stamp as were seen.
    const seen = new SeenLines();
    while (!signal?.aborted) {
      let res: http.IncomingMessage;
      try {
        const since = seen.sinceTime();
        res = await this.client.openStream(op, path, { container, follow: true, timestamps: true, sinceTime: since }, signal);
      } catch (raw) {
        if (signal?.aborted) return;
        const err = raw instanceof ClusterError ? raw : this.client.toError(raw, op);
        if (err.kind === 'notFound') return;
        // 400 while the container is being created ("waiting to start"), or a transient failure.
        if (err.kind !== 'invalid' && !err.transient) throw err;
        await this.client.pause(this.retryMs, signal).catch(() => undefined);
        continue;
      }
      // A follow stream ends cleanly when the container ends; a broken one is resumed.
      if ((await readLogLines(res, seen, onLine)) === 'ended') return;
      await this.client.pause(this.retryMs, signal).catch(() => undefined);
    }
  }

  // ---------------------------------------------------------------------------------------
  // The Pod's end

  async waitForPod(namespace: string, name: string, signal?: AbortSignal): Promise<KanikoPodEnd> {
    const state = { startBy: Date.now() + this.startTimeoutMs, started: false, startTimeoutMs: this.startTimeoutMs };
    let canWatch = true;
    for (;;) {
      const pod = await this.client.findPod(namespace, name, signal);
      if (!pod) return { phase: 'Failed', reason: 'Deleted' };
      const end = podEnd(pod, state);
      if (end) return end;
      if (canWatch) {
        try {
          const seen = await this.watchPod(namespace, name, pod.metadata?.resourceVersion, state, signal);
          if (seen) return seen;
          continue;
        } catch (err) {
          if (!(err instanceof ClusterError && err.kind === 'forbidden')) throw err;
          canWatch = false;
        }
      }
      await this.client.pause(this.retryMs, signal);
    }
  }

  /** One watch of the Pod from `resourceVersion`: its end, or undefined when the watch closed first. */
  private async watchPod(namespace: string, name: string, resourceVersion: string | undefined, state: EndState, signal?: AbortSignal): Promise<KanikoPodEnd | undefined> {
    // While the Pod has not started, wake up in time to notice the start timeout.
    const untilTimeout = Math.ceil((state.startBy - Date.now()) / 1000);
    const timeoutSeconds = state.started ? this.watchTimeoutSeconds : Math.max(1, Math.min(this.watchTimeoutSeconds, untilTimeout));
    const opened = Date.now();
    const res = await this.client.openStream(
      { verb: 'watch', type: PODS, namespace },
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      { watch: true, fieldSelector: `metadata.name=${name}`, resourceVersion, timeoutSeconds },
      signal,
    );
    const end = await new Promise<KanikoPodEnd | undefined>((resolve) => {
      let buffer = '';
      let done = false;
      const finish = (value: KanikoPodEnd | undefined) => {
        if (done) return;
        done = true;
        res.destroy();
        resolve(value);
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let nl = buffer.indexOf('\n'); nl >= 0 && !done; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (!line) continue;
          let event: { type?: string; object?: V1Pod };
          try {
            event = JSON.parse(line) as { type?: string; object?: V1Pod };
          } catch {
            continue;
          }
          if (event.type === 'DELETED') finish({ phase: 'Failed', reason: 'Deleted' });
          // ERROR (410 Gone and the like): read the Pod afresh.
          else if (event.type === 'ERROR') finish(undefined);
          else if (event.object) {
            const found = podEnd(event.object, state);
            if (found) finish(found);
          }
        }
      });
      res.on('end', () => finish(undefined));
      res.on('close', () => finish(undefined));
      res.on('error', () => finish(undefined));
    });
    // A watch that closes at once, again and again, must not become a busy loop.
    if (!end && Date.now() - opened < 1000) await this.client.pause(this.retryMs, signal);
    return end;
  }
}

interface EndState {
  startBy: number;
  started: boolean;
  startTimeoutMs: number;
}

/** The Pod's end, if it has one: finished, stuck before starting, or past the start timeout. */
export function podEnd(pod: V1Pod, state: EndState): KanikoPodEnd | undefined {
  const status = pod.status ?? {};
  // The build Pod has one container.
  const container = status.containerStatuses?.[0];
  const terminated = container?.state?.terminated;
  if (terminated) {
    const end: KanikoPodEnd = { phase: terminated.exitCode === 0 && status.phase !== 'Failed' ? 'Succeeded' : 'Failed', exitCode: terminated.exitCode };
    if (terminated.reason) end.reason = terminated.reason;
    if (terminated.message) end.message = terminated.message;
    return end;
  }
  if (status.phase === 'Succeeded' || status.phase === 'Failed') {
    const end: KanikoPodEnd = { phase: status.phase };
    if (status.reason) end.reason = status.reason;
    if (status.message) end.message = status.message;
    return end;
  }
  const waiting = container?.state?.waiting;
  if (waiting?.reason && STUCK.has(waiting.reason)) {
    return { phase: 'Failed', reason: waiting.reason, ...(waiting.message ? { message: waiting.message } : {}) };
  }
  if (status.phase && status.phase !== 'Pending') state.started = true;
  if (!state.started && Date.now() > state.startBy) {
    const minutes = Math.round(state.startTimeoutMs / 60_000);
    return { phase: 'Failed', reason: 'StartTimeout', message: `still ${waiting?.reason ?? 'Pending'} after ${minutes >= 1 ? `${minutes} min` : `${Math.round(state.startTimeoutMs / 1000)} s`}` };
  }
  return undefined;
}

/** Reads one log response, skipping lines already seen; `ended` on a clean end, `dropped` when it broke off. */
function readLogLines(res: http.IncomingMessage, seen: SeenLines, onLine: (line: string) => void): Promise<'ended' | 'dropped'> {
  seen.resume();
  let partial = '';
  const take = (line: string) => {
    const body = seen.take(line);
    if (body !== undefined) onLine(body);
  };
  return new Promise((resolve) => {
    let settled = false;
    let ended = false;
    const settle = (outcome: 'ended' | 'dropped') => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) take(line);
    });
    res.on('end', () => {
      ended = true;
      if (partial) take(partial);
      partial = '';
      settle('ended');
    });
    res.on('error', () => settle('dropped'));
    res.on('close', () => settle(ended ? 'ended' : 'dropped'));
  });
}
