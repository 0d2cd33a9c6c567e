// KServe InferenceServices (serving.kserve.io/v1beta1, and the legacy serving.kubeflow.org
// of older Kubeflow installs): a watch-driven model with what `kubectl get isvc` shows and
// more (conditions with reasons, predictor format and storageUri, deployment mode,
// traffic split and canary state, model state), plus the actions: delete, YAML, a test
// prediction (v1 `:predict` and v2 `/infer`, optionally through an ingress with a Host
// header, timed), and deploying a model from a run's step output.

import * as http from 'node:http';
import * as https from 'node:https';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import type { ClusterClient } from './client';
import { resolveS3 } from './artifacts';
import { ClusterError } from './errors';
import { Emitter, Event } from './events';
import {
  ANNOTATION_SOURCE_RUN,
  apiVersionOf,
  INFERENCE_SERVICES,
  LABEL_MANAGED_BY,
  LEGACY_INFERENCE_SERVICES,
  MANAGED_BY_VALUE,
  ResourceType,
} from './resources';
import { stepStates } from './runStatus';
import type { Condition, InferenceService, ModelSpec, Workflow } from './types';
import { Changes, ResourceWatcher, WatcherOptions, WatchState } from './watcher';

export const DEPLOYMENT_MODE_ANNOTATION = 'serving.kserve.io/deploymentMode';

export interface TrafficShare {
  revision: string;
  percent: number;
  latest: boolean;
  tag?: string;
}

export interface CanaryState {
  /** The percentage asked for in `canaryTrafficPercent`. */
  percent: number;
  /** `rolling`: traffic is split; `promoted`: the latest revision serves all; `ignored`: Standard mode does not split; `failed`: the new revision is not ready. */
  state: 'rolling' | 'promoted' | 'ignored' | 'failed';
  message: string;
}

export interface InferenceServiceSummary {
  key: string;
  name: string;
  namespace: string;
  group: string;
  apiVersion: string;
  url?: string;
  /** The cluster-internal address. */
  internalUrl?: string;
  ready: 'True' | 'False' | 'Unknown';
  /** Why it is not ready (reason: message of the first failing condition). */
  notReadyReason?: string;
  conditions: Condition[];
  predictor: { modelFormat?: string; runtime?: string; storageUri?: string; protocolVersion?: string };
  deploymentMode: string;
  traffic: TrafficShare[];
  latestReadyRevision?: string;
  latestCreatedRevision?: string;
  previousRevision?: string;
  canary?: CanaryState;
  modelState?: string;
  lastFailure?: { reason?: string; message?: string };
  createdAt?: string;
  ageSeconds?: number;
  /** `<run>/<step>` when Flowbook deployed it from a run. */
  sourceRun?: string;
}

function predictorModel(isvc: InferenceService): { spec?: ModelSpec; framework?: string } {
  const predictor = isvc.spec.predictor ?? {};
  if (predictor.model) return { spec: predictor.model };
  // Older specs name the framework as the key: `predictor: {sklearn: {storageUri}}`.
  for (const [key, value] of Object.entries(predictor)) {
    if (value && typeof value === 'object' && !Array.isArray(value) && ('storageUri' in value || 'runtimeVersion' in value || 'protocolVersion' in value)) {
      return { spec: value as ModelSpec, framework: key };
    }
  }
  return {};
}

export function summarizeInferenceService(isvc: InferenceService, now: Date = new Date()): InferenceServiceSummary {
  const meta = isvc.metadata;
  const status = isvc.status ?? {};
  const group = (isvc.apiVersion ?? apiVersionOf(INFERENCE_SERVICES)).split('/')[0] ?? INFERENCE_SERVICES.group;
  const conditions = status.conditions ?? [];
  const readyCond = conditions.find((c) => c.type === 'Ready');
  const ready = readyCond?.status === 'True' ? 'True' : readyCond?.status === 'False' ? 'False' : 'Unknown';
  const { spec: model, framework } = predictorModel(isvc);
  const predictor = status.components?.predictor ?? {};
  const mode = status.deploymentMode ?? meta.annotations?.[DEPLOYMENT_MODE_ANNOTATION] ?? 'Standard';
  const summary: InferenceServiceSummary = {
    key: `${group}/${meta.name ?? ''}`,
    name: meta.name ?? '',
    namespace: meta.namespace ?? '',
    group,
    apiVersion: isvc.apiVersion ?? apiVersionOf(INFERENCE_SERVICES),
    ready,
    conditions,
    predictor: {},
    deploymentMode: mode,
    traffic: (predictor.traffic ?? []).map((t) => ({ revision: t.revisionName ?? '', percent: t.percent ?? 0, latest: t.latestRevision === true, ...(t.tag ? { tag: t.tag } : {}) })),
  };
  const modelFormat = model?.modelFormat?.name ?? framework;
  if (modelFormat) summary.predictor.modelFormat = modelFormat;
  if (model?.runtime) summary.predictor.runtime = model.runtime;
  if (model?.storageUri) summary.predictor.storageUri = model.storageUri;
  if (model?.protocolVersion) summary.predictor.protocolVersion = model.protocolVersion;
  if (status.url) summary.url = status.url;
  if (status.address?.url) summary.internalUrl = status.address.url;
  if (ready !== 'True') {
    const failing = conditions.find((c) => c.status === 'False' && c.type !== 'Ready') ?? (readyCond?.status === 'False' ? readyCond : undefined);
    if (failing) summary.notReadyReason = `${failing.type}: ${failing.reason ?? 'not ready'}${failing.message ? ` (${failing.message})` : ''}`;
  }
  if (predictor.latestReadyRevision) summary.latestReadyRevision = predictor.latestReadyRevision;
  if (predictor.latestCreatedRevision) summary.latestCreatedRevision = predictor.latestCreatedRevision;
  const prev = predictor.previousRolledoutRevision ?? summary.traffic.find((t) => t.tag === 'prev')?.revision;
  if (prev) summary.previousRevision = prev;
  const canary = isvc.spec.predictor?.canaryTrafficPercent;
  if (typeof canary === 'number') {
    let state: CanaryState;
    if (mode === 'Standard' || mode === 'RawDeployment') {
      state = { percent: canary, state: 'ignored', message: `canaryTrafficPercent ${canary} is ignored in ${mode} mode: the latest revision takes all traffic.` };
    } else if (predictor.latestCreatedRevision && predictor.latestReadyRevision !== predictor.latestCreatedRevision && ready === 'False') {
      state = { percent: canary, state: 'failed', message: `The canary revision ${predictor.latestCreatedRevision} is not ready; traffic stays on ${predictor.latestReadyRevision ?? 'the previous revision'}.` };
    } else if (summary.traffic.length > 1) {
      const latest = summary.traffic.find((t) => t.latest);
      state = { percent: canary, state: 'rolling', message: `${latest?.percent ?? canary}% to ${latest?.revision ?? 'the latest revision'}, the rest to ${summary.traffic.filter((t) => !t.latest).map((t) => `${t.revision} (${t.percent}%)`).join(', ')}.` };
    } else {
      state = { percent: canary, state: 'promoted', message: 'The latest revision serves all traffic (no previous revision to split with).' };
    }
    summary.canary = state;
  }
  const ms = status.modelStatus;
  if (ms?.states?.activeModelState || ms?.states?.targetModelState) summary.modelState = ms.states.activeModelState || ms.states.targetModelState;
  if (ms?.lastFailureInfo) summary.lastFailure = ms.lastFailureInfo;
  if (meta.creationTimestamp) {
    summary.createdAt = meta.creationTimestamp;
    const t = Date.parse(meta.creationTimestamp);
    if (!Number.isNaN(t)) summary.ageSeconds = Math.max(0, Math.round((now.getTime() - t) / 1000));
  }
  const source = meta.annotations?.[ANNOTATION_SOURCE_RUN];
  if (source) summary.sourceRun = source;
  return summary;
}

export interface InferenceServiceChange {
  added: InferenceServiceSummary[];
  updated: InferenceServiceSummary[];
  /** Keys (`group/name`) of services that are gone. */
  removed: string[];
}

/**
 * The InferenceServices of one namespace, from both API groups when the cluster serves them.
 * `start()` finds out which groups exist (a missing KServe is a state, not a crash).
 */
export class InferenceServiceModel {
  private readonly watchers: ResourceWatcher<InferenceService>[] = [];
  private readonly subs: { dispose(): void }[] = [];
  private readonly changeEmitter = new Emitter<InferenceServiceChange>();
  private readonly stateEmitter = new Emitter<WatchState | { kind: 'notInstalled'; message: string }>();
  private disposed = false;
  readonly namespace: string;
  /** Resource types being watched (after `start`). */
  types: ResourceType[] = [];

  readonly onDidChange: Event<InferenceServiceChange> = this.changeEmitter.event;
  /** Connection state of the watches, or `notInstalled` when the cluster has no KServe. */
  readonly onDidChangeState: Event<WatchState | { kind: 'notInstalled'; message: string }> = this.stateEmitter.event;

  constructor(
    private readonly client: ClusterClient,
    private readonly options: { namespace?: string; watcher?: WatcherOptions; now?: () => Date } = {},
  ) {
    this.namespace = options.namespace ?? client.namespace;
  }

  /**
   * Discovers the served groups and starts watching. Resolves once the watches are started
   * (use `whenSynced` for the first lists); a failed discovery rejects.
   */
  async start(): Promise<void> {
    const served: ResourceType[] = [];
    for (const type of [INFERENCE_SERVICES, LEGACY_INFERENCE_SERVICES]) {
      if (await this.client.serves(type)) served.push(type);
    }
    if (this.disposed) return;
    this.types = served;
    if (served.length === 0) {
      const message = this.client.toError({ statusCode: 404, body: '' }, { verb: 'list', type: INFERENCE_SERVICES, namespace: this.namespace }).message;
      this.stateEmitter.fire({ kind: 'notInstalled', message });
      return;
    }
    for (const type of served) {
      const w = new ResourceWatcher<InferenceService>(this.client, { type, namespace: this.namespace }, this.options.watcher);
      this.subs.push(w.onDidChange((c) => this.onChanges(c)), w.onDidChangeState((s) => this.stateEmitter.fire(s)));
      this.watchers.push(w.start());
    }
  }

  /** Resolves when every watched group has been listed once. */
  whenSynced(): Promise<void> {
    return Promise.all(this.watchers.map((w) => w.whenSynced())).then(() => undefined);
  }

  private onChanges(c: Changes<InferenceService>): void {
    const now = this.options.now?.() ?? new Date();
    this.changeEmitter.fire({
      added: c.added.map((i) => summarizeInferenceService(i, now)),
      updated: c.modified.map((i) => summarizeInferenceService(i, now)),
      removed: c.deleted.map((i) => summarizeInferenceService(i, now).key),
    });
  }

  /** Every service, by name. */
  services(): InferenceServiceSummary[] {
    const now = this.options.now?.() ?? new Date();
    const out: InferenceServiceSummary[] = [];
    for (const w of this.watchers) for (const i of w.items.values()) out.push(summarizeInferenceService(i, now));
    return out.sort((a, b) => a.name.localeCompare(b.name) || a.group.localeCompare(b.group));
  }

  /** The object itself (for YAML, delete, predictions). */
  get(key: string): InferenceService | undefined {
    for (const w of this.watchers) {
      const group = w.target.type.group;
      if (key.startsWith(`${group}/`)) return w.items.get(key.slice(group.length + 1));
    }
    return undefined;
  }

  dispose(): void {
    this.disposed = true;
    for (const s of this.subs) s.dispose();
    for (const w of this.watchers) w.dispose();
    this.changeEmitter.dispose();
    this.stateEmitter.dispose();
  }
}

function typeOfGroup(group: string | undefined): ResourceType {
  return group === LEGACY_INFERENCE_SERVICES.group ? LEGACY_INFERENCE_SERVICES : INFERENCE_SERVICES;
}

export async function getInferenceService(client: ClusterClient, name: string, options: { namespace?: string; group?: string; signal?: AbortSignal } = {}): Promise<InferenceService> {
  return client.get<InferenceService>(typeOfGroup(options.group), options.namespace ?? client.namespace, name, options.signal);
}

export async function deleteInferenceService(client: ClusterClient, name: string, options: { namespace?: string; group?: string; signal?: AbortSignal } = {}): Promise<void> {
  await client.delete(typeOfGroup(options.group), options.namespace ?? client.namespace, name, options.signal);
}

/** The object as YAML for "Open YAML", without the server's bookkeeping (managedFields). */
export function inferenceServiceYaml(isvc: InferenceService): string {
  const copy = structuredClone(isvc);
  delete copy.metadata.managedFields;
  return stringify(copy, { lineWidth: 0 });
}

// ---------------------------------------------------------------------------
// Test prediction

export type PredictionProtocol = 'v1' | 'v2';

export interface PredictionRequest {
  /** The service URL (`status.url`). */
  url: string;
  /** The model name; KServe names the model after the InferenceService. */
  model: string;
  protocol: PredictionProtocol;
  /** The request body: an object, or JSON text from an editor. */
  body: unknown;
  /**
   * Send the request here instead (an ingress gateway such as `http://localhost:8080`);
   * the Host header is then the service URL's host unless `host` says otherwise.
   */
  ingress?: string;
  host?: string;
  /** Extra headers, e.g. the auth a Kubeflow install puts in front. */
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface PredictionResponse {
  ok: boolean;
  status: number;
  /** Round-trip time in milliseconds. */
  durationMs: number;
  /** Where the request went, and with which Host header. */
  url: string;
  host: string;
  contentType?: string;
  /** The parsed JSON body, or the text when it is not JSON. */
  body: unknown;
}

export function predictionPath(protocol: PredictionProtocol, model: string): string {
  return protocol === 'v1' ? `/v1/models/${encodeURIComponent(model)}:predict` : `/v2/models/${encodeURIComponent(model)}/infer`;
}

/** A request body to start editing from. */
export function examplePredictionBody(protocol: PredictionProtocol): unknown {
  return protocol === 'v1'
    ? { instances: [[6.8, 2.8, 4.8, 1.4]] }
    : { inputs: [{ name: 'input-0', shape: [1, 4], datatype: 'FP32', data: [6.8, 2.8, 4.8, 1.4] }] };
}

export async function testPrediction(req: PredictionRequest): Promise<PredictionResponse> {
  let payload: string;
  if (typeof req.body === 'string') {
    try {
      JSON.parse(req.body);
    } catch (err) {
      throw new ClusterError('invalid', `The request body is not valid JSON: ${(err as Error).message}`);
    }
    payload = req.body;
  } else payload = JSON.stringify(req.body);
  const service = new URL(req.url);
  const base = req.ingress ? new URL(req.ingress) : service;
  const target = new URL(predictionPath(req.protocol, req.model), base);
  const host = req.host ?? (req.ingress ? service.host : target.host);
  const transport = target.protocol === 'http:' ? http : https;
  const started = performance.now();
  return new Promise<PredictionResponse>((resolve, reject) => {
    const r = transport.request(
      target,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...(req.headers ?? {}), Host: host, 'Content-Length': Buffer.byteLength(payload) },
        signal: req.signal,
        timeout: req.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(predictionError(err, target, host)));
        res.on('end', () => {
          const durationMs = Math.round((performance.now() - started) * 10) / 10;
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          const status = res.statusCode ?? 0;
          const out: PredictionResponse = { ok: status >= 200 && status < 300, status, durationMs, url: target.toString(), host, body };
          if (typeof res.headers['content-type'] === 'string') out.contentType = res.headers['content-type'];
          resolve(out);
        });
      },
    );
    r.on('timeout', () => r.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    r.on('error', (err) => reject(predictionError(err, target, host)));
    r.end(payload);
  });
}

function predictionError(err: Error, target: URL, host: string): ClusterError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const hint =
    code === 'ENOTFOUND'
      ? ` The service's host name does not resolve from this machine: set the ingress address (for example \`kubectl port-forward -n istio-system svc/istio-ingressgateway 8080:80\`, then http://localhost:8080) and Flowbook sends Host: ${host}.`
      : '';
  return new ClusterError('unreachable', `The prediction request to ${target.toString()} (Host: ${host}) failed: ${code || err.message}.${hint}`);
}

// ---------------------------------------------------------------------------
// Deploy a model from a run's step output

export interface DeployModelOptions {
  /** The InferenceService name (DNS-1123). */
  name: string;
  namespace?: string;
  /** The run and the step whose output is the model. */
  run: Workflow;
  step: string;
  /** The output's file name in the step's data folder, e.g. `model.joblib` (volume mode). */
  output?: string;
  /** KServe model format (`sklearn`, `xgboost`, `tensorflow`, `pytorch`, `onnx`...); default from the file extension. */
  modelFormat?: string;
  protocolVersion?: PredictionProtocol;
  /** Overrides the computed location. */
  storageUri?: string;
  /** `Standard` (raw deployment) or `Knative`; default: the cluster's. */
  deploymentMode?: string;
  /** A service account with the credentials to read the artifact store. */
  serviceAccountName?: string;
  /** `serving.kubeflow.org` for legacy installs. */
  group?: string;
  dryRun?: boolean;
  signal?: AbortSignal;
}

const FORMAT_BY_EXTENSION: Record<string, string> = {
  '.joblib': 'sklearn',
  '.pkl': 'sklearn',
  '.pickle': 'sklearn',
  '.bst': 'xgboost',
  '.ubj': 'xgboost',
  '.pt': 'pytorch',
  '.pth': 'pytorch',
  '.mar': 'pytorch',
  '.onnx': 'onnx',
  '.txt': 'lightgbm',
  '.h5': 'tensorflow',
  '.keras': 'tensorflow',
};

/** Where a step's output lives, as a KServe storageUri, with caveats for the user. */
export function modelStorageUri(run: Workflow, step: string, output?: string): { storageUri: string; warnings: string[] } {
  const steps = stepStates(run);
  const s = steps.find((x) => x.step === step || x.task === step);
  if (!s) throw new ClusterError('state', `Run ${run.metadata.name} has no step "${step}". Its steps: ${steps.map((x) => x.step).join(', ')}.`);
  if (s.phase !== 'Succeeded' && s.phase !== 'Cached') throw new ClusterError('state', `Step ${s.step} of run ${run.metadata.name} is ${s.phase}; deploy a model from a step that succeeded.`);
  const warnings: string[] = [];
  const data = s.artifacts.find((a) => a.name === 'data' && a.s3);
  if (data) {
    const loc = resolveS3(run, data);
    warnings.push(
      `The model comes from the archive of step ${s.step}'s whole output folder; KServe unpacks it, and its model servers expect exactly one model file there (name the variable "model" and keep other outputs out of this step if the server finds several).`,
    );
    return { storageUri: `s3://${loc.bucket}/${loc.key}`, warnings };
  }
  const claims = (run.status?.persistentVolumeClaims ?? []) as { name?: string; persistentVolumeClaim?: { claimName?: string } }[];
  const claim = claims.find((c) => c.name === 'flowbook-data')?.persistentVolumeClaim?.claimName;
  const hasTemplate = (run.spec.volumeClaimTemplates ?? []).some((t) => (t as { metadata?: { name?: string } }).metadata?.name === 'flowbook-data');
  if (claim || hasTemplate) {
    if (!output) throw new ClusterError('state', `Name the output file of step ${s.step} to deploy (for example model.joblib).`);
    const file = /\.[A-Za-z0-9]+$/.test(output) ? output : `${output}.joblib`;
    const pvc = claim ?? `${run.metadata.name}-flowbook-data`;
    warnings.push(`The model is read from the run's data volume ${pvc}; Argo deletes that volume after a successful run unless volumeClaimGC keeps it.`);
    return { storageUri: `pvc://${pvc}/${s.template}/${file}`, warnings };
  }
  throw new ClusterError('state', `Flowbook cannot tell where step ${s.step} stored its outputs in run ${run.metadata.name}; give the model's storageUri.`);
}

/** Creates an InferenceService serving a run's step output. */
export async function deployModelFromStep(client: ClusterClient, options: DeployModelOptions): Promise<{ service: InferenceService; storageUri: string; warnings: string[] }> {
  const namespace = options.namespace ?? options.run.metadata.namespace ?? client.namespace;
  const located = options.storageUri ? { storageUri: options.storageUri, warnings: [] } : modelStorageUri(options.run, options.step, options.output);
  const ext = /(\.[A-Za-z0-9]+)$/.exec(options.output ?? located.storageUri)?.[1]?.toLowerCase() ?? '';
  const format = options.modelFormat ?? FORMAT_BY_EXTENSION[ext] ?? 'sklearn';
  const type = typeOfGroup(options.group);
  const model: ModelSpec = { modelFormat: { name: format }, storageUri: located.storageUri };
  if (options.protocolVersion) model.protocolVersion = options.protocolVersion;
  const annotations: Record<string, string> = { [ANNOTATION_SOURCE_RUN]: `${options.run.metadata.name ?? ''}/${options.step}` };
  if (options.deploymentMode) annotations[DEPLOYMENT_MODE_ANNOTATION] = options.deploymentMode;
  const predictor: Record<string, unknown> =
    type === LEGACY_INFERENCE_SERVICES
      ? // KFServing names the framework as the key and knows no `model` field.
        { [format]: { storageUri: located.storageUri, ...(options.protocolVersion ? { protocolVersion: options.protocolVersion } : {}) } }
      : { model };
  if (options.serviceAccountName) predictor.serviceAccountName = options.serviceAccountName;
  const body: InferenceService = {
    apiVersion: apiVersionOf(type),
    kind: 'InferenceService',
    metadata: { name: options.name, namespace, labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE }, annotations },
    spec: { predictor },
  };
  const service = await client.create<InferenceService>(type, namespace, body, { ...(options.dryRun ? { dryRun: true } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  return { service, storageUri: located.storageUri, warnings: located.warnings };
}
