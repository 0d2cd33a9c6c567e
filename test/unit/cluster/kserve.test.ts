// KServe InferenceServices against the simulated KServe controller: the watch-based model
// over both API groups with URL, conditions and reasons, format and storageUri, mode,
// traffic and canary, age; delete and YAML; timed test predictions (v1 and v2, through an
// ingress with a Host header); and deploying a model from a run's step output.

import * as assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { ClusterError } from '../../../src/cluster/errors';
import {
  deleteInferenceService,
  deployModelFromStep,
  examplePredictionBody,
  InferenceServiceChange,
  InferenceServiceModel,
  inferenceServiceYaml,
  modelStorageUri,
  summarizeInferenceService,
  testPrediction,
} from '../../../src/cluster/kserve';
import { INFERENCE_SERVICES, LEGACY_INFERENCE_SERVICES } from '../../../src/cluster/resources';
import { submitWorkflow } from '../../../src/cluster/submit';
import type { InferenceService, Workflow } from '../../../src/cluster/types';
import { pipelineWorkflow, SimHarness, startSim, waitFor } from '../../sim/harness';

function isvc(name: string, predictor: Record<string, unknown>, annotations: Record<string, string> = {}, apiVersion = 'serving.kserve.io/v1beta1'): InferenceService {
  return { apiVersion, kind: 'InferenceService', metadata: { name, annotations }, spec: { predictor } };
}

describe('KServe InferenceServices (simulated cluster with KServe controller)', function () {
  let h: SimHarness;
  let model: InferenceServiceModel | undefined;
  before(async () => {
    h = await startSim({ legacyKserve: true, argoController: { tickMs: 10, linesPerTick: 5 } });
  });
  after(() => h.close());
  afterEach(() => model?.dispose());

  it('lists and watches both API groups with what kubectl shows and more', async () => {
    h.sim.createNamespace('k1');
    const client = h.client({ namespace: 'k1' });
    await client.create(INFERENCE_SERVICES, 'k1', isvc('sklearn-iris', { model: { modelFormat: { name: 'sklearn' }, storageUri: 'gs://models/iris', protocolVersion: 'v2' } }));
    await client.create(LEGACY_INFERENCE_SERVICES, 'k1', isvc('old-flowers', { tensorflow: { storageUri: 'gs://models/flowers' } }, {}, 'serving.kubeflow.org/v1beta1'));
    model = new InferenceServiceModel(client, { watcher: { coalesceMs: 10 } });
    const changes: InferenceServiceChange[] = [];
    model.onDidChange((c) => changes.push(c));
    await model.start();
    await model.whenSynced();
    assert.deepEqual(model.types.map((t) => t.group), ['serving.kserve.io', 'serving.kubeflow.org']);
    await waitFor(() => model?.services().every((s) => s.ready === 'True') && model.services().length === 2);
    await waitFor(() => changes.some((c) => [...c.added, ...c.updated].some((s) => s.name === 'sklearn-iris' && s.ready === 'True')));
    const [legacy, sk] = model.services();
    assert.equal(sk?.name, 'sklearn-iris');
    assert.equal(sk?.url, 'http://sklearn-iris.k1.example.com');
    assert.deepEqual(sk?.predictor, { modelFormat: 'sklearn', storageUri: 'gs://models/iris', protocolVersion: 'v2' });
    assert.equal(sk?.deploymentMode, 'Standard');
    assert.deepEqual(sk?.traffic, [{ revision: 'sklearn-iris-predictor-00001', percent: 100, latest: true }]);
    assert.equal(sk?.latestReadyRevision, 'sklearn-iris-predictor-00001');
    assert.deepEqual(sk?.conditions.map((c) => `${c.type}=${c.status}`), ['IngressReady=True', 'PredictorReady=True', 'Ready=True']);
    assert.equal(sk?.modelState, 'Loaded');
    assert.ok((sk?.ageSeconds ?? -1) >= 0);
    assert.equal(legacy?.group, 'serving.kubeflow.org');
    assert.equal(legacy?.predictor.modelFormat, 'tensorflow', 'legacy specs name the framework as the key');
  });

  it('a model that fails to load shows Ready=False with the reason', async () => {
    h.sim.createNamespace('k2');
    const client = h.client({ namespace: 'k2' });
    model = new InferenceServiceModel(client, { watcher: { coalesceMs: 10 } });
    await model.start();
    await client.create(INFERENCE_SERVICES, 'k2', isvc('broken', { model: { modelFormat: { name: 'sklearn' }, storageUri: 'bad://nowhere' } }));
    const s = await waitFor(() => model?.services().find((x) => x.name === 'broken' && x.ready === 'False'));
    assert.match(s.notReadyReason ?? '', /^PredictorReady: RevisionFailed \(Revision "broken-predictor-00001" failed with message: model download failed/);
    assert.deepEqual(s.lastFailure, { reason: 'ModelLoadFailed', message: 'cannot download bad://nowhere' });
  });

  it('canary: traffic split between revisions in Knative mode; ignored in Standard mode', async () => {
    h.sim.createNamespace('k3');
    const client = h.client({ namespace: 'k3' });
    await client.create(INFERENCE_SERVICES, 'k3', isvc('flowers', { canaryTrafficPercent: 20, tensorflow: { storageUri: 'gs://m/flowers-1' } }, { 'serving.kserve.io/deploymentMode': 'Knative' }));
    await waitFor(() => (h.sim.store.get('serving.kserve.io/inferenceservices', 'k3', 'flowers') as InferenceService | undefined)?.status?.url);
    await client.mergePatch(INFERENCE_SERVICES, 'k3', 'flowers', { spec: { predictor: { tensorflow: { storageUri: 'gs://m/flowers-2' } } } });
    const rolled = await waitFor(() => {
      const o = h.sim.store.get('serving.kserve.io/inferenceservices', 'k3', 'flowers') as InferenceService | undefined;
      return o?.status?.components?.predictor?.latestReadyRevision === 'flowers-predictor-00002' ? o : undefined;
    });
    const s = summarizeInferenceService(rolled);
    assert.deepEqual(s.traffic.map((t) => `${t.revision}:${t.percent}${t.latest ? ':latest' : ''}`), ['flowers-predictor-00002:20:latest', 'flowers-predictor-00001:80']);
    assert.equal(s.canary?.state, 'rolling');
    assert.equal(s.previousRevision, 'flowers-predictor-00001');
    const standard = summarizeInferenceService({ ...rolled, metadata: { ...rolled.metadata }, status: { ...rolled.status, deploymentMode: 'Standard' } });
    assert.equal(standard.canary?.state, 'ignored');
    assert.match(standard.canary?.message ?? '', /ignored in Standard mode/);
  });

  it('YAML without server bookkeeping, and delete', async () => {
    h.sim.createNamespace('k4');
    const client = h.client({ namespace: 'k4' });
    const created = await client.create<InferenceService>(INFERENCE_SERVICES, 'k4', isvc('to-delete', { model: { modelFormat: { name: 'sklearn' }, storageUri: 'gs://m' } }));
    created.metadata.managedFields = [{ manager: 'kubectl' }];
    const yaml = parseYaml(inferenceServiceYaml(created)) as InferenceService;
    assert.equal(yaml.metadata.name, 'to-delete');
    assert.equal(yaml.metadata.managedFields, undefined);
    await deleteInferenceService(client, 'to-delete');
    assert.equal(h.sim.store.get('serving.kserve.io/inferenceservices', 'k4', 'to-delete'), undefined);
    await assert.rejects(deleteInferenceService(client, 'to-delete'), (err: unknown) => err instanceof ClusterError && err.kind === 'notFound');
  });

  it('test prediction: v1 and v2 through an ingress with the Host header, with timing', async () => {
    h.sim.createNamespace('k5');
    const client = h.client({ namespace: 'k5' });
    await client.create(INFERENCE_SERVICES, 'k5', isvc('iris', { model: { modelFormat: { name: 'sklearn' }, storageUri: 'gs://m/iris' } }));
    const ready = await waitFor(() => {
      const o = h.sim.store.get('serving.kserve.io/inferenceservices', 'k5', 'iris') as InferenceService | undefined;
      return o?.status?.url ? summarizeInferenceService(o) : undefined;
    });
    const ingress = h.sim.kserve?.ingressUrl ?? '';
    const v1 = await testPrediction({ url: ready.url ?? '', model: 'iris', protocol: 'v1', body: { instances: [[1, 2, 3, 4], [5, 6]] }, ingress });
    assert.equal(v1.status, 200);
    assert.equal(v1.host, 'iris.k5.example.com');
    assert.equal(v1.url, `${ingress}/v1/models/iris:predict`);
    assert.deepEqual(v1.body, { predictions: [1, 2] });
    assert.ok(v1.durationMs >= 0);
    const v2 = await testPrediction({ url: ready.url ?? '', model: 'iris', protocol: 'v2', body: JSON.stringify(examplePredictionBody('v2')), ingress });
    assert.equal(v2.ok, true);
    assert.deepEqual((v2.body as { outputs: { data: number[] }[] }).outputs[0]?.data, [0]);
    const seen = h.sim.kserve?.predictions.slice(-2).map((p) => `${p.host} ${p.path}`);
    assert.deepEqual(seen, ['iris.k5.example.com /v1/models/iris:predict', 'iris.k5.example.com /v2/models/iris/infer']);
    const wrongHost = await testPrediction({ url: ready.url ?? '', model: 'iris', protocol: 'v1', body: { instances: [] }, ingress, host: 'other.k5.example.com' });
    assert.equal(wrongHost.status, 404);
    await assert.rejects(testPrediction({ url: ready.url ?? '', model: 'iris', protocol: 'v1', body: '{not json', ingress }), /not valid JSON/);
    await assert.rejects(testPrediction({ url: 'http://iris.k5.invalid', model: 'iris', protocol: 'v1', body: {} }), /set the ingress address/);
  });

  it('deploys a model from a run step output (artifact) and it becomes ready', async () => {
    const client = h.client();
    const argo = h.sim.argo;
    assert.ok(argo);
    argo.artifactRepository = { endpoint: 'minio.argo:9000', bucket: 'artifacts', archiveLogs: false, accessKeySecret: { name: 's', key: 'a' }, secretKeySecret: { name: 's', key: 'b' } };
    try {
      const res = await submitWorkflow(client, pipelineWorkflow('trainer', { artifacts: true, steps: [{ name: 'train' }] }), { preflight: false });
      const run = await waitFor(() => {
        const w = h.sim.store.get('argoproj.io/workflows', 'team-a', res.name) as Workflow | undefined;
        return w?.status?.phase === 'Succeeded' ? w : undefined;
      });
      // The simulated controller records no artifact keys of its own: give the node the one Argo would.
      const node = Object.values(run.status?.nodes ?? {}).find((n) => n.type === 'Pod');
      assert.ok(node);
      node.outputs = { ...(node.outputs ?? {}), artifacts: [{ name: 'data', s3: { key: `${res.name}/${node.id}/data.tgz` } }] };
      run.status = { ...run.status, artifactRepositoryRef: { artifactRepository: { s3: { endpoint: 'minio.argo:9000', bucket: 'artifacts' } } } };
      const located = modelStorageUri(run, 'train');
      assert.equal(located.storageUri, `s3://artifacts/${res.name}/${node.id}/data.tgz`);
      const out = await deployModelFromStep(client, { name: 'from-run', run, step: 'train', modelFormat: 'sklearn' });
      assert.equal(out.service.metadata.annotations?.['flowbook.dev/source-run'], `${res.name}/train`);
      const svc = await waitFor(() => {
        const o = h.sim.store.get('serving.kserve.io/inferenceservices', 'team-a', 'from-run') as InferenceService | undefined;
        return o?.status?.url ? summarizeInferenceService(o) : undefined;
      });
      assert.equal(svc.ready, 'True');
      assert.equal(svc.predictor.storageUri, located.storageUri);
      assert.equal(svc.sourceRun, `${res.name}/train`);
    } finally {
      delete argo.artifactRepository;
    }
  });

  it('deploys from a step on the data volume (pvc://), and refuses a step that did not succeed', async () => {
    const wf = pipelineWorkflow('vol', { steps: [{ name: 'fit' }, { name: 'score', after: ['fit'] }] });
    wf.metadata = { name: 'vol-abcde', namespace: 'team-a' };
    wf.spec.volumeClaimTemplates = [{ metadata: { name: 'flowbook-data' } }];
    wf.status = {
      phase: 'Failed',
      nodes: {
        'vol-abcde-1': { id: 'vol-abcde-1', name: 'vol-abcde.fit', type: 'Pod', templateName: 'fit', phase: 'Succeeded' },
        'vol-abcde-2': { id: 'vol-abcde-2', name: 'vol-abcde.score', type: 'Pod', templateName: 'score', phase: 'Failed' },
      },
      persistentVolumeClaims: [{ name: 'flowbook-data', persistentVolumeClaim: { claimName: 'vol-abcde-flowbook-data' } }],
    };
    // Node ids here are not Argo's: stepStates falls back to matching node names.
    const located = modelStorageUri(wf, 'fit', 'model');
    assert.equal(located.storageUri, 'pvc://vol-abcde-flowbook-data/fit/model.joblib');
    assert.match(located.warnings[0] ?? '', /deletes that volume after a successful run/);
    assert.throws(() => modelStorageUri(wf, 'score', 'model'), /is Failed; deploy a model from a step that succeeded/);
    const client = h.client();
    const dry = await deployModelFromStep(client, { name: 'vol-model', run: wf, step: 'fit', output: 'model.joblib', dryRun: true });
    assert.equal((dry.service.spec.predictor?.model as { modelFormat?: { name?: string } } | undefined)?.modelFormat?.name, 'sklearn', 'format from the .joblib extension');
    assert.equal(h.sim.store.get('serving.kserve.io/inferenceservices', 'team-a', 'vol-model'), undefined, 'a dry run creates nothing');
  });

  it('a cluster without KServe says so instead of failing', async () => {
    const bare = await startSim({ kserve: false, argoController: false, kserveController: false });
    try {
      const m = new InferenceServiceModel(bare.client());
      const states: string[] = [];
      m.onDidChangeState((s) => states.push(s.kind === 'notInstalled' ? s.message : s.kind));
      await m.start();
      assert.match(states[0] ?? '', /KServe is not installed/);
      assert.deepEqual(m.services(), []);
      m.dispose();
    } finally {
      await bare.close();
    }
  });
});
