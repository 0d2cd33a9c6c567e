// How values pass between steps on a multi-node cluster: the Argo artifact repository is
// found where Argo looks for it, artifacts become the default where one exists, and a run on a
// ReadWriteOnce volume keeps its pods on one node, or preflight warns. Real client-node,
// simulated cluster.

import * as assert from 'node:assert/strict';
import { detectArtifactRepository, keptOnOneNode, planDataPassing, sameNodeAffinity } from '../../../src/cluster/dataPassing';
import { preflight } from '../../../src/cluster/preflight';
import { submitWorkflow } from '../../../src/cluster/submit';
import type { Workflow } from '../../../src/cluster/types';
import { pipelineWorkflow, SimHarness, startSim } from '../../sim/harness';

function withVolume(wf: Workflow, accessModes = ['ReadWriteOnce']): Workflow {
  return { ...wf, spec: { ...wf.spec, volumeClaimTemplates: [{ metadata: { name: 'flowbook-data' }, spec: { accessModes, resources: { requests: { storage: '1Gi' } } } }] } };
}

const S3 = 's3:\n  bucket: runs\n  endpoint: minio-service.kubeflow:9000\n  insecure: true\n';

describe('data passing on the cluster (simulated cluster)', () => {
  let h: SimHarness;
  beforeEach(async () => { h = await startSim({ argoController: false, kserveController: false, kaniko: false, namespaces: ['default', 'team-a', 'kubeflow'] }); });
  afterEach(() => h.close());

  it('no repository: a volume, kept on one node, and the message says both', async () => {
    const probe = await detectArtifactRepository(h.client(), 'team-a');
    assert.deepEqual(probe, { unreadable: [] });
    const plan = planDataPassing(probe, undefined);
    assert.equal(plan.mode, 'volume');
    assert.equal(plan.sameNode, true);
    assert.match(plan.message, /no Argo artifact repository was found.*kept on one node \(pod affinity\)/);
  });

  it('finds the namespace\'s artifact-repositories ConfigMap, by its default-key annotation', async () => {
    h.sim.store.create('/configmaps', {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: 'artifact-repositories', namespace: 'team-a', annotations: { 'workflows.argoproj.io/default-artifact-repository': 'gcs-main' } },
      data: { 'default-v1': S3, 'gcs-main': 'gcs:\n  bucket: runs\n' },
    } as never);
    const probe = await detectArtifactRepository(h.client(), 'team-a');
    assert.deepEqual(probe.repository, { where: 'ConfigMap team-a/artifact-repositories, key gcs-main', kind: 'gcs' });
    const plan = planDataPassing(probe, undefined);
    assert.equal(plan.mode, 'artifacts');
    assert.match(plan.message, /gcs artifact repository/);
    assert.equal(planDataPassing(probe, 'volume').mode, 'volume', 'the notebook setting wins');
  });

  it('finds the controller\'s artifactRepository (Kubeflow installs Argo in kubeflow)', async () => {
    h.sim.store.create('/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'workflow-controller-configmap', namespace: 'kubeflow' }, data: { artifactRepository: `archiveLogs: true\n${S3}` } } as never);
    const probe = await detectArtifactRepository(h.client(), 'team-a');
    assert.deepEqual(probe.repository, { where: 'ConfigMap kubeflow/workflow-controller-configmap (artifactRepository)', kind: 's3' });
  });

  it('a user who may not read ConfigMaps is told Flowbook could not be sure', async () => {
    h.sim.addUser('dana', 'dana-token', [{ verbs: ['*'], groups: ['argoproj.io'], resources: ['*'] }]);
    const probe = await detectArtifactRepository(h.client({ kubeconfig: h.sim.writeKubeconfig(h.dir, { token: 'dana-token', namespace: 'team-a', file: 'dana' }) }), 'team-a');
    assert.deepEqual(probe.unreadable, ['team-a/artifact-repositories', 'argo/workflow-controller-configmap', 'kubeflow/workflow-controller-configmap']);
    assert.match(planDataPassing(probe, 'artifacts').message, /could not read team-a\/artifact-repositories/);
  });

  it('submitting a run on a ReadWriteOnce volume keeps its pods on the first pod\'s node', async () => {
    const res = await submitWorkflow(h.client(), withVolume(pipelineWorkflow()), { preflight: false });
    const stored = h.sim.store.get('argoproj.io/workflows', 'team-a', res.name) as unknown as Workflow;
    assert.deepEqual(stored.spec.affinity, sameNodeAffinity(res.name));
    assert.ok(keptOnOneNode(stored));
    const rwx = await submitWorkflow(h.client(), withVolume(pipelineWorkflow('shared'), ['ReadWriteMany']), { preflight: false });
    assert.equal((h.sim.store.get('argoproj.io/workflows', 'team-a', rwx.name) as unknown as Workflow).spec.affinity, undefined);
  });

  it('preflight: artifacts without a repository stop the run; a bare RWO volume is a warning', async () => {
    const client = h.client();
    const artifacts = await preflight(client, pipelineWorkflow('a', { artifacts: true }));
    assert.equal(artifacts.ok, false);
    assert.match(artifacts.problems.find((p) => p.check === 'data')?.message ?? '', /passes values as artifacts, but namespace "team-a" has no Argo artifact repository/);
    const volume = await preflight(client, withVolume(pipelineWorkflow()));
    assert.equal(volume.ok, true);
    assert.equal(volume.problems.find((p) => p.check === 'data')?.severity, 'warning');
    assert.match(volume.problems.find((p) => p.check === 'data')?.message ?? '', /nothing keeps the run's pods on one node/);
    h.sim.store.create('/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'artifact-repositories', namespace: 'team-a' }, data: { 'default-v1': S3 } } as never);
    const ok = await preflight(client, pipelineWorkflow('a', { artifacts: true }));
    assert.ok(ok.passed.includes('data'), JSON.stringify(ok.problems));
  });
});
