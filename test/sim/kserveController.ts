// SIMULATED CLUSTER (tests only): a stand-in for the KServe controller and the model
// servers behind it. It sets InferenceService status as KServe does (url, address,
// Ready/PredictorReady/IngressReady conditions with reasons, predictor revisions and
// traffic with canary splits, modelStatus, deploymentMode) and serves predictions on a
// loopback HTTP server that routes by Host header, like an ingress: v1
// `/v1/models/NAME:predict` and v2 `/v2/models/NAME/infer`. A storageUri starting with
// `bad://` fails to load, to test failure reasons.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InferenceService, TrafficTarget } from '../../src/cluster/types';
import type { SimulatedCluster } from './simulatedCluster';

const ISVC_RESOURCES = ['serving.kserve.io/inferenceservices', 'serving.kubeflow.org/inferenceservices'];

export class KServeController {
  private server?: http.Server;
  /** `http://127.0.0.1:PORT`: the simulated ingress. */
  ingressUrl = '';
  readonly predictions: { host: string; path: string; body: string }[] = [];
  private readonly pending = new Set<NodeJS.Timeout>();

  constructor(private readonly sim: SimulatedCluster) {
    sim.store.subscribe((e) => {
      if (!ISVC_RESOURCES.includes(e.resource) || e.type === 'DELETED') return;
      const isvc = e.object as InferenceService;
      if (isvc.status?.observedGeneration === isvc.metadata.generation) return;
      // The controller reacts a moment later, as the real one does.
      const timer = setTimeout(() => {
        this.pending.delete(timer);
        this.reconcile(e.resource, isvc.metadata.namespace ?? '', isvc.metadata.name ?? '');
      }, 20);
      this.pending.add(timer);
    });
  }

  async startPredictionServer(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.predict(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.ingressUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const t of this.pending) clearTimeout(t);
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private reconcile(resource: string, ns: string, name: string): void {
    this.sim.store.mutate(resource, ns, name, (obj) => {
      const isvc = obj as InferenceService;
      const generation = isvc.metadata.generation ?? 1;
      const predictor = isvc.spec.predictor ?? {};
      const model = (predictor.model ?? Object.values(predictor).find((v) => v && typeof v === 'object' && 'storageUri' in (v as object))) as { storageUri?: string } | undefined;
      const mode = isvc.metadata.annotations?.['serving.kserve.io/deploymentMode'] ?? 'Standard';
      const revision = `${name}-predictor-${String(generation).padStart(5, '0')}`;
      const previous = isvc.status?.components?.predictor?.latestReadyRevision;
      const host = `${name}.${ns}.example.com`;
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const failed = model?.storageUri?.startsWith('bad://') === true;
      if (failed) {
        isvc.status = {
          observedGeneration: generation,
          deploymentMode: mode,
          conditions: [
            { type: 'IngressReady', status: 'Unknown', lastTransitionTime: now },
            { type: 'PredictorReady', status: 'False', reason: 'RevisionFailed', message: `Revision "${revision}" failed with message: model download failed for ${model?.storageUri}`, lastTransitionTime: now },
            { type: 'Ready', status: 'False', reason: 'RevisionFailed', message: `Revision "${revision}" failed`, lastTransitionTime: now },
          ],
          components: { predictor: { latestCreatedRevision: revision, ...(previous ? { latestReadyRevision: previous } : {}) } },
          modelStatus: { states: { activeModelState: '', targetModelState: 'FailedToLoad' }, transitionStatus: 'BlockedByFailedLoad', lastFailureInfo: { reason: 'ModelLoadFailed', message: `cannot download ${model?.storageUri}` } },
        };
        return;
      }
      const canary = predictor.canaryTrafficPercent;
      let traffic: TrafficTarget[] = [{ revisionName: revision, percent: 100, latestRevision: true }];
      // Canary rollouts split traffic only in Knative mode (Standard mode ignores them).
      if (canary !== undefined && previous && previous !== revision && mode !== 'Standard' && mode !== 'RawDeployment') {
        traffic = [
          { revisionName: revision, percent: canary, latestRevision: true, tag: 'latest' },
          { revisionName: previous, percent: 100 - canary, latestRevision: false, tag: 'prev' },
        ];
      }
      isvc.status = {
        observedGeneration: generation,
        deploymentMode: mode,
        url: `http://${host}`,
        address: { url: `http://${name}-predictor.${ns}.svc.cluster.local` },
        conditions: [
          { type: 'IngressReady', status: 'True', lastTransitionTime: now },
          { type: 'PredictorReady', status: 'True', lastTransitionTime: now },
          { type: 'Ready', status: 'True', lastTransitionTime: now },
        ],
        components: {
          predictor: {
            url: `http://${name}-predictor.${ns}.example.com`,
            latestCreatedRevision: revision,
            latestReadyRevision: revision,
            ...(previous && previous !== revision ? { previousRolledoutRevision: previous } : {}),
            latestRolledoutRevision: revision,
            traffic,
          },
        },
        modelStatus: { states: { activeModelState: 'Loaded', targetModelState: 'Loaded' }, transitionStatus: 'UpToDate' },
      };
    });
  }

  private predict(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const host = (req.headers.host ?? '').split(':')[0] ?? '';
    const path = req.url ?? '/';
    this.predictions.push({ host, path, body });
    const reply = (code: number, value: unknown) => {
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.example\.com$/.exec(host);
    const isvc = m ? ISVC_RESOURCES.map((r) => this.sim.store.get(r, m[2], m[1] ?? '')).find((o) => o !== undefined) : undefined;
    if (!m || !isvc) return reply(404, { error: `no InferenceService for host ${host}` });
    const ready = (isvc as InferenceService).status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    if (!ready) return reply(503, { error: 'model is not ready' });
    let input: unknown;
    try {
      input = JSON.parse(body);
    } catch {
      return reply(400, { error: 'request body is not JSON' });
    }
    const v1 = /^\/v1\/models\/([^/:]+):predict$/.exec(path);
    if (v1) {
      if (v1[1] !== m[1]) return reply(404, { error: `model ${v1[1]} not found` });
      const instances = (input as { instances?: unknown[] }).instances;
      if (!Array.isArray(instances)) return reply(400, { error: 'expected "instances"' });
      return reply(200, { predictions: instances.map((x) => (Array.isArray(x) ? x.length % 3 : 0)) });
    }
    const v2 = /^\/v2\/models\/([^/]+)\/infer$/.exec(path);
    if (v2) {
      if (v2[1] !== m[1]) return reply(404, { error: `model ${v2[1]} not found` });
      const inputs = (input as { inputs?: { shape?: number[] }[] }).inputs;
      if (!Array.isArray(inputs) || inputs.length === 0) return reply(400, { error: 'expected "inputs"' });
      const rows = inputs[0]?.shape?.[0] ?? 1;
      return reply(200, { model_name: v2[1], id: 'sim', outputs: [{ name: 'output-0', shape: [rows], datatype: 'INT64', data: Array.from({ length: rows }, (_, i) => i % 3) }] });
    }
    reply(404, { error: `unknown path ${path}` });
  }
}
