// The cluster side in a real VS Code, against the SIMULATED cluster of test/sim (an HTTPS
// server speaking the Kubernetes API, with simulated Argo and KServe controllers) started
// here, in the extension host, with a real kubeconfig file: the status bar, Run on Cluster
// (once, even when invoked twice), the Runs view's cluster section, the run graph and cell
// chips, step logs (also when the pod is gone), Stop and Delete, the Inference Services view,
// Test Prediction through an ingress (a tiny local v1 model server), and a 403 shown in the
// view. Settings are restored at the end, so the suites after this one see no cluster.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ClusterClient } from '../../../src/cluster/client';
import { ClusterConnection } from '../../../src/cluster/connection';
import { INFERENCE_SERVICES } from '../../../src/cluster/resources';
import { submitWorkflow } from '../../../src/cluster/submit';
import type { Workflow } from '../../../src/cluster/types';
import type { TreeSummary } from '../../../src/extension/cluster/index';
import type { RenderReport } from '../../../src/views/graphPanel';
import { StaticCredentials } from '../../../src/images/dockerConfig';
import { registryPool } from '../../../src/images/pool';
import { pipelineWorkflow, startSim, type SimHarness } from '../../sim/harness';
import { startRegistry } from '../../support/registry';
import { pushBaseImage } from '../../unit/images/baseImage';
import { api, closeAllEditors, freshCopy, openNotebook, waitFor, workspaceDir } from './helpers';

const NS = 'team-a';
const WORKFLOWS = 'argoproj.io/workflows';

interface ModelRequest {
  method: string;
  url: string;
  host: string;
  body: string;
}

/** A tiny model server answering like a KServe v1 predictor, recording what it was sent. */
async function startModelServer(): Promise<{ url: string; requests: ModelRequest[]; close(): Promise<void> }> {
  const requests: ModelRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '', body });
      const m = /^\/v1\/models\/([^/:]+):predict$/.exec(req.url ?? '');
      const instances = (() => {
        try {
          return (JSON.parse(body) as { instances?: unknown[] }).instances;
        } catch {
          return undefined;
        }
      })();
      res.writeHead(m && Array.isArray(instances) ? 200 : 400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(m && Array.isArray(instances) ? { predictions: instances.map(() => 1) } : { error: 'expected POST /v1/models/NAME:predict with instances' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function flat(items: TreeSummary[]): TreeSummary[] {
  return items.flatMap((i) => [i, ...flat(i.children)]);
}

async function setSetting(key: string, value: unknown, target = vscode.ConfigurationTarget.Global): Promise<void> {
  await vscode.workspace.getConfiguration('flowbook').update(key, value, target);
}

describe('cluster (simulated cluster)', function () {
  this.timeout(120_000);
  let h: SimHarness;
  let model: Awaited<ReturnType<typeof startModelServer>>;
  let client: ClusterClient;
  let source = '';
  let runName = '';
  const renders: RenderReport[] = [];
  let renderSub: vscode.Disposable | undefined;

  before(async () => {
    h = await startSim({ namespace: NS });
    model = await startModelServer();
    client = new ClusterClient(ClusterConnection.open({ kubeconfig: h.kubeconfig, env: {} }));
    const flowbook = await api();
    renderSub = flowbook.onDidRenderGraph((r) => renders.push(r));
    await setSetting('kserve.ingressUrl', model.url);
    await setSetting('kubeconfig', h.kubeconfig);
    await waitFor('the kubeconfig to be found', () => (flowbook.cluster.state() !== 'unconfigured' ? true : undefined));
  });

  after(async () => {
    renderSub?.dispose();
    await closeAllEditors();
    for (const key of ['kubeconfig', 'kserve.ingressUrl', 'cluster.context', 'cluster.namespace']) {
      await setSetting(key, undefined, vscode.ConfigurationTarget.Global);
      await setSetting(key, undefined, vscode.ConfigurationTarget.Workspace);
    }
    const flowbook = await api();
    await waitFor('the cluster to be gone', () => (flowbook.cluster.state() === 'unconfigured' ? true : undefined)).catch((err: Error) => {
      throw new Error(`${err.message} (state ${flowbook.cluster.state()}, status bar "${flowbook.cluster.statusBar().text}", kubeconfig setting ${JSON.stringify(vscode.workspace.getConfiguration('flowbook').inspect('kubeconfig'))})`);
    });
    await model?.close();
    await h?.close();
  });

  it('shows the kubeconfig\'s context and namespace in the status bar', async () => {
    const flowbook = await api();
    assert.equal(flowbook.cluster.statusBar().visible, true);
    const where = await flowbook.cluster.connect();
    assert.deepEqual({ context: where.context, namespace: where.namespace }, { context: 'sim', namespace: NS });
    source = where.source;
    const bar = flowbook.cluster.statusBar();
    assert.equal(bar.text, `$(cloud) sim / ${NS}`);
    assert.match(bar.tooltip, new RegExp(h.sim.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'the tooltip names the API server');
    assert.doesNotMatch(bar.tooltip, new RegExp(h.sim.adminToken), 'no credential is shown');
  });

  it('Run on Cluster submits exactly one run when invoked twice, and it succeeds', async () => {
    const flowbook = await api();
    const uri = freshCopy('pipeline.ipynb', 'cluster-run.ipynb');
    const doc = await openNotebook(uri);
    await flowbook.analysis(doc);
    const creates = () => h.sim.requests.filter((r) => r.method === 'POST' && r.group === 'argoproj.io' && r.resource === 'workflows' && !r.dryRun && r.status === 201).length;
    // Two clicks in a row: the second joins the first submission (same request id).
    const [first, second] = await Promise.all([
      vscode.commands.executeCommand<{ name: string; created: boolean }>('flowbook.runOnCluster', uri, { parameters: { n: '5' } }),
      vscode.commands.executeCommand<{ name: string; created: boolean }>('flowbook.runOnCluster', uri, { parameters: { n: '5' } }),
    ]);
    assert.ok(first && second, 'both invocations returned the run');
    assert.equal(first.name, second.name, 'both name the same run');
    assert.equal(creates(), 1, 'one create reached the cluster');
    assert.equal(h.sim.store.list(WORKFLOWS, NS).length, 1, 'one Workflow exists');
    runName = first.name;
    const wf = h.sim.store.get(WORKFLOWS, NS, runName) as Workflow;
    assert.equal(wf.spec.arguments?.parameters?.find((p) => p.name === 'n')?.value, '5', 'the parameter value was applied');
    assert.equal(wf.metadata.annotations?.['flowbook.dev/notebook-path'], uri.fsPath);

    await vscode.commands.executeCommand('flowbook.runs.focus');
    const run = await waitFor('the run to succeed in the Runs view', () => flowbook.cluster.runsSection().find((r) => r.label === runName && r.description.startsWith('succeeded')), 60_000);
    assert.match(run.description, /^succeeded · 3\/3/);
    assert.match(run.contextValue, /^run:succeeded:cluster\//);
    assert.deepEqual(run.children.map((s) => [s.label, s.description.split(' · ')[0]]), [['load', 'succeeded'], ['train', 'succeeded'], ['evaluate', 'succeeded']]);
    assert.ok(flowbook.runsView().some((i) => i.label === `Cluster: sim / ${NS}`), 'the Runs view has a section for the context and namespace');
  });

  it('opens the run graph, live until every step is green, and the chips show the run state', async () => {
    const flowbook = await api();
    const green = await waitFor('the graph of the cluster run to show every step succeeded', () =>
      renders.find((r) => r.runId === runName && Object.keys(r.statuses).length === 3 && Object.values(r.statuses).every((s) => s === 'succeeded')), 30_000);
    assert.deepEqual(Object.keys(green.statuses).sort(), ['evaluate', 'load', 'train']);
    const doc = vscode.workspace.notebookDocuments.find((d) => d.uri.fsPath.endsWith('cluster-run.ipynb'));
    assert.ok(doc);
    const chips = await waitFor('the run-state chip of step load', () => {
      const c = flowbook.cluster.cellChips(doc.cellAt(3));
      return c.length > 0 ? c : undefined;
    });
    assert.deepEqual(chips, ['$(pass) Succeeded on cluster']);
    assert.deepEqual(flowbook.cluster.cellChips(doc.cellAt(1)), [], 'the imports cell belongs to no step');
  });

  it('shows a step\'s log from the run record, and says clearly when a log is gone', async () => {
    const logUri = await vscode.commands.executeCommand<vscode.Uri>('flowbook.showStepLogs', { kind: 'step', source, id: runName, step: 'train' });
    assert.ok(logUri);
    const log = await waitFor('the train log', () => {
      const d = vscode.workspace.textDocuments.find((x) => x.uri.toString() === logUri.toString());
      return d && /^step train attempt 0 params .*"n":"5"/m.test(d.getText()) ? d : undefined;
    });
    assert.match(log.getText(), /^step train line 2$/m);
    // The follower kept the log beside the notebook, so it outlives the pod.
    const kept = path.join(workspaceDir(), '.flowbook', 'cluster', 'sim', NS, runName, 'logs');
    assert.ok(fs.readdirSync(kept).some((f) => f.endsWith('.log')), `logs are kept in ${kept}`);

    // A run nobody followed, whose pods are gone: the log cannot be found anywhere.
    const direct = await submitWorkflow(client, pipelineWorkflow('direct', { steps: [{ name: 'only', cells: [3] }] }), { preflight: false });
    const flowbook = await api();
    await waitFor('the direct run to succeed', () => flowbook.cluster.runsSection().find((r) => r.label === direct.name && r.description.startsWith('succeeded')), 60_000);
    for (const pod of h.sim.store.list('/pods', NS)) {
      if (pod.metadata.labels?.['workflows.argoproj.io/workflow'] === direct.name) h.sim.store.delete('/pods', NS, pod.metadata.name ?? '');
    }
    const goneUri = await vscode.commands.executeCommand<vscode.Uri>('flowbook.showStepLogs', { kind: 'step', source, id: direct.name, step: 'only' });
    const gone = await waitFor('the gone log', () => {
      const d = vscode.workspace.textDocuments.find((x) => x.uri.toString() === goneUri?.toString());
      return d && d.getText().includes('gone') ? d : undefined;
    });
    assert.match(gone.getText(), /The log of step only is gone: its pod .* was deleted before Flowbook saved the log/);
  });

  it('follows a running step\'s log; Stop and Delete act on the cluster', async () => {
    const flowbook = await api();
    const hanging = await submitWorkflow(client, pipelineWorkflow('hang', { steps: [{ name: 'wait', source: '# sim:hang' }] }), { preflight: false });
    await waitFor('the hanging run to run', () => flowbook.cluster.runsSection().find((r) => r.label === hanging.name && r.description.startsWith('running')), 30_000);
    // Its log follows while the step runs: a line written now shows up in the open document.
    const logUri = await vscode.commands.executeCommand<vscode.Uri>('flowbook.showStepLogs', { kind: 'step', source, id: hanging.name, step: 'wait' });
    const logDoc = () => vscode.workspace.textDocuments.find((d) => d.uri.toString() === logUri?.toString());
    await waitFor('the first lines of the running step', () => (logDoc()?.getText().includes('step wait attempt 0') ? true : undefined));
    const pod = h.sim.store.list('/pods', NS).find((p) => p.metadata.labels?.['workflows.argoproj.io/workflow'] === hanging.name);
    assert.ok(pod?.metadata.name);
    h.sim.appendLog(NS, pod.metadata.name, 'a line written while the log is open');
    await waitFor('the new line in the open log', () => (logDoc()?.getText().includes('a line written while the log is open') ? true : undefined));
    await vscode.commands.executeCommand('flowbook.stopRun', { kind: 'run', source, id: hanging.name }, { strategy: 'Terminate' });
    assert.equal((h.sim.store.get(WORKFLOWS, NS, hanging.name) as Workflow).spec.shutdown, 'Terminate');
    const stopped = await waitFor('the run to end as cancelled', () => flowbook.cluster.runsSection().find((r) => r.label === hanging.name && r.description.startsWith('cancelled')), 30_000);
    assert.match(stopped.contextValue, /^run:cancelled:cluster\//);
    await vscode.commands.executeCommand('flowbook.deleteRun', { kind: 'run', source, id: hanging.name }, { confirmed: true });
    assert.equal(h.sim.store.get(WORKFLOWS, NS, hanging.name), undefined, 'the Workflow is deleted');
    await waitFor('the Runs view to drop it', () => (flowbook.cluster.runsSection().every((r) => r.label !== hanging.name) ? true : undefined));
  });

  it('retries the failed steps of a run, resubmits from a step and with other parameters', async () => {
    const flowbook = await api();
    const argo = h.sim.argo;
    assert.ok(argo);
    // `train` fails on its first attempt and succeeds when run again.
    const flaky = await submitWorkflow(client, pipelineWorkflow('flaky', { steps: [{ name: 'load' }, { name: 'train', after: ['load'], source: '# sim:fail-attempts=1' }, { name: 'evaluate', after: ['train'] }] }), { preflight: false });
    const failed = await waitFor('the flaky run to fail', () => flowbook.cluster.runsSection().find((r) => r.label === flaky.name && r.description.startsWith('failed')), 30_000);
    assert.match(failed.contextValue, /^run:failed:cluster\//, 'Retry Failed Steps is offered on it');
    assert.deepEqual(failed.children.map((s) => s.description.split(' · ')[0]), ['succeeded', 'failed', 'skipped']);
    const original = argo.behaviour;
    argo.behaviour = (run) => original({ ...run, attempt: run.task === 'train' ? 1 : run.attempt });
    try {
      await vscode.commands.executeCommand('flowbook.retryFailedSteps', { kind: 'run', source, id: flaky.name });
      await waitFor('the retried run to succeed', () => flowbook.cluster.runsSection().find((r) => r.label === flaky.name && r.description.startsWith('succeeded')), 30_000);
      assert.equal(h.sim.store.list(WORKFLOWS, NS).filter((w) => w.metadata.name === flaky.name).length, 1, 'retried in place');

      const fromStep = await vscode.commands.executeCommand<{ name: string }>('flowbook.rerunFromStep', { kind: 'step', source, id: flaky.name, step: 'train' });
      assert.ok(fromStep && fromStep.name !== flaky.name, 'a new run');
      const resumed = await waitFor('the resumed run to succeed', () => flowbook.cluster.runsSection().find((r) => r.label === fromStep.name && r.description.startsWith('succeeded')), 30_000);
      assert.deepEqual(resumed.children.map((s) => [s.label, s.description.split(' · ')[0]]), [['load', 'cached'], ['train', 'succeeded'], ['evaluate', 'succeeded']], 'load was reused');
    } finally {
      argo.behaviour = original;
    }

    const other = await vscode.commands.executeCommand<{ name: string }>('flowbook.resubmitRun', { kind: 'run', source, id: runName }, { parameters: { n: '9' } });
    assert.ok(other);
    const wf = h.sim.store.get(WORKFLOWS, NS, other.name) as Workflow;
    assert.equal(wf.spec.arguments?.parameters?.find((p) => p.name === 'n')?.value, '9');
    assert.equal(wf.metadata.labels?.['flowbook.dev/resubmitted-from'], runName);
  });

  it('toggles the cluster section between Flowbook runs and all workflows', async () => {
    const flowbook = await api();
    const plain = pipelineWorkflow('plain');
    plain.metadata = { name: 'someone-elses-workflow', labels: {} };
    await client.create({ group: 'argoproj.io', version: 'v1alpha1', plural: 'workflows', kind: 'Workflow' }, NS, plain);
    await waitFor('the other workflow to be created', () => h.sim.store.get(WORKFLOWS, NS, 'someone-elses-workflow'));
    assert.ok(!flowbook.cluster.runsSection().some((r) => r.label === 'someone-elses-workflow'), 'only Flowbook runs at first');
    assert.equal(await vscode.commands.executeCommand('flowbook.toggleClusterRunScope'), 'all');
    await waitFor('all workflows', () => (flowbook.cluster.runsSection().some((r) => r.label === 'someone-elses-workflow') ? true : undefined));
    assert.ok(flowbook.runsView().some((i) => i.label === `Cluster: sim / ${NS} (all workflows)`));
    assert.equal(await vscode.commands.executeCommand('flowbook.toggleClusterRunScope'), 'flowbook');
    await waitFor('Flowbook runs only', () => (flowbook.cluster.runsSection().some((r) => r.label === runName) && !flowbook.cluster.runsSection().some((r) => r.label === 'someone-elses-workflow') ? true : undefined));
  });

  it('lists an inference service with its URL and readiness, deploys a model from a run\'s step, and opens YAML', async () => {
    const flowbook = await api();
    await client.create(INFERENCE_SERVICES, NS, {
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: { name: 'iris' },
      spec: { predictor: { model: { modelFormat: { name: 'sklearn' }, storageUri: 'gs://models/iris' } } },
    });
    await vscode.commands.executeCommand('flowbook.inferenceServices.focus');
    const iris = await waitFor('the ready service in the view', () => flowbook.cluster.inferenceServices().find((i) => i.label === 'iris' && i.description.startsWith('Ready')), 30_000);
    assert.equal(iris.description, `Ready · sklearn · http://iris.${NS}.example.com`);
    assert.equal(iris.contextValue, 'isvc:ready');
    const details = Object.fromEntries(iris.children.map((c) => [c.label, c.description]));
    assert.equal(details['URL'], `http://iris.${NS}.example.com`);
    assert.equal(details['Storage'], 'gs://models/iris');
    assert.equal(details['Ready'], 'True');
    assert.match(details['Traffic'] ?? '', /^100% → iris-predictor-00001 \(latest\)$/);

    // Deploy Model from the notebook run's train step: its output on the run's data volume.
    const deployed = await vscode.commands.executeCommand<string>('flowbook.deployModel', { kind: 'run', source, id: runName }, { step: 'train', output: 'model.joblib', name: 'mean-model' });
    assert.equal(deployed, 'mean-model');
    const created = h.sim.store.get('serving.kserve.io/inferenceservices', NS, 'mean-model') as { spec: { predictor: { model: { storageUri: string; modelFormat: { name: string } } } }; metadata: { annotations?: Record<string, string> } };
    assert.match(created.spec.predictor.model.storageUri, new RegExp(`^pvc://${runName}-flowbook-data/[a-z0-9-]+/model\\.joblib$`));
    assert.equal(created.spec.predictor.model.modelFormat.name, 'sklearn');
    assert.equal(created.metadata.annotations?.['flowbook.dev/source-run'], `${runName}/train`);
    await waitFor('the deployed service in the view', () => flowbook.cluster.inferenceServices().find((i) => i.label === 'mean-model'), 30_000);

    const yamlUri = await vscode.commands.executeCommand<vscode.Uri>('flowbook.openInferenceServiceYaml', { key: 'serving.kserve.io/iris' });
    const yaml = await waitFor('the YAML', () => vscode.workspace.textDocuments.find((d) => d.uri.toString() === yamlUri?.toString()));
    assert.match(yaml.getText(), /^kind: InferenceService$/m);
    assert.match(yaml.getText(), /storageUri: gs:\/\/models\/iris/);
  });

  it('sends a test prediction through the ingress with the service\'s Host header and shows the response with its timing', async () => {
    const requestUri = await vscode.commands.executeCommand<vscode.Uri>('flowbook.testPrediction', { key: 'serving.kserve.io/iris' }, { protocol: 'v1' });
    assert.ok(requestUri);
    const request = vscode.workspace.textDocuments.find((d) => d.uri.toString() === requestUri.toString());
    assert.ok(request);
    assert.deepEqual(JSON.parse(request.getText()), { instances: [[6.8, 2.8, 4.8, 1.4]] }, 'the editor starts with an example v1 body');
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', requestUri);
    assert.ok(lenses.some((l) => l.command?.command === 'flowbook.sendPredictionRequest'), 'a Send CodeLens is offered');
    const outcome = await vscode.commands.executeCommand<{ status: number; durationMs: number; document: vscode.Uri }>('flowbook.sendPredictionRequest', requestUri);
    assert.equal(outcome?.status, 200);
    const sent = model.requests.at(-1);
    assert.ok(sent, 'the model server got the request');
    assert.equal(sent.method, 'POST');
    assert.equal(sent.url, '/v1/models/iris:predict');
    assert.equal(sent.host, `iris.${NS}.example.com`);
    assert.deepEqual(JSON.parse(sent.body), { instances: [[6.8, 2.8, 4.8, 1.4]] });
    const response = await waitFor('the response document', () => vscode.workspace.textDocuments.find((d) => d.uri.toString() === outcome.document.toString()));
    assert.match(response.getText(), /^\/\/ POST http:\/\/127\.0\.0\.1:\d+\/v1\/models\/iris:predict {2}\(Host: iris\.team-a\.example\.com\)$/m);
    assert.match(response.getText(), /^\/\/ 200 OK in \d+ ms/m);
    assert.deepEqual(JSON.parse(response.getText().split('\n').filter((l) => !l.startsWith('//')).join('\n')), { predictions: [1] });
  });

  it('builds the step images with Kaniko on the cluster, and Run on Cluster runs the steps in them', async () => {
    const reg = await startRegistry();
    try {
      const pool = registryPool({ credentials: new StaticCredentials({}), insecureRegistries: [reg.host] });
      await pushBaseImage(pool, reg.host, 'flowbook/base', '1');
      const base = `${reg.host}/flowbook/base:1`;
      await setSetting('defaultImage', base);
      await setSetting('images.registry', `${reg.host}/team/nb`);
      await setSetting('images.builder', 'kaniko');
      await setSetting('images.insecure', true);
      const uri = freshCopy('pipeline.ipynb', 'cluster-images.ipynb');
      await (await api()).analysis(await openNotebook(uri));
      const built = await vscode.commands.executeCommand<{ stepImages: Record<string, string>; images: { reference: string; status: string }[] }>('flowbook.buildStepImages', uri, { requirements: ['numpy==1.26.4'] });
      assert.ok(built, 'the build ran');
      assert.deepEqual(built.images.map((i) => i.status), ['built']);
      const image = built.images[0]?.reference ?? '';
      assert.match(image, new RegExp(`^${reg.host.replace(/\./g, '\\.')}/team/nb:fb-[0-9a-f]{12,}$`));
      assert.deepEqual(built.stepImages, { load: image, train: image, evaluate: image });
      assert.ok((h.sim.kaniko?.builds.length ?? 0) >= 1, 'a Kaniko Pod built it on the cluster');

      const run = await vscode.commands.executeCommand<{ name: string }>('flowbook.runOnCluster', uri, { parameters: {} });
      assert.ok(run);
      const wf = h.sim.store.get(WORKFLOWS, NS, run.name) as Workflow;
      const images = (wf.spec.templates ?? []).filter((t) => t.script).map((t) => t.script?.image);
      assert.deepEqual(images, [image, image, image], 'every step runs in the built image');
    } finally {
      for (const key of ['defaultImage', 'images.registry', 'images.builder', 'images.insecure']) await setSetting(key, undefined);
      await reg.stop();
    }
  });

  it('switches context and namespace from the status bar command', async () => {
    const flowbook = await api();
    await vscode.commands.executeCommand('flowbook.switchClusterContext', { context: 'sim', namespace: 'default' });
    assert.equal(flowbook.cluster.statusBar().text, '$(cloud) sim / default');
    assert.equal(vscode.workspace.getConfiguration('flowbook').get('cluster.namespace'), 'default');
    await waitFor('the section of the new namespace', () => (flowbook.runsView().some((i) => i.label === 'Cluster: sim / default') ? true : undefined));
    await vscode.commands.executeCommand('flowbook.switchClusterContext', { context: 'sim', namespace: NS });
    assert.equal(flowbook.cluster.statusBar().text, `$(cloud) sim / ${NS}`);
  });

  it('shows a 403 as a message node naming the verb, resource and namespace', async () => {
    const flowbook = await api();
    h.sim.addUser('viewer', 'viewer-token-5d1c', [
      { verbs: ['get', 'list', 'watch'], groups: ['argoproj.io'], resources: ['workflows'] },
      { verbs: ['get', 'list'], groups: [''], resources: ['pods', 'pods/log', 'namespaces'] },
    ]);
    const viewerConfig = h.sim.writeKubeconfig(h.dir, { token: 'viewer-token-5d1c', namespace: NS, context: 'viewer', file: 'viewer-kubeconfig' });
    await setSetting('cluster.context', undefined, vscode.ConfigurationTarget.Workspace);
    await setSetting('cluster.namespace', undefined, vscode.ConfigurationTarget.Workspace);
    await setSetting('kubeconfig', viewerConfig);
    await waitFor('the viewer connection', async () => {
      const s = flowbook.cluster.state();
      if (s === 'configured') await flowbook.cluster.connect().catch(() => undefined);
      return flowbook.cluster.statusBar().text === `$(cloud) viewer / ${NS}` ? true : undefined;
    });
    await vscode.commands.executeCommand('flowbook.inferenceServices.focus');
    const denied = await waitFor('the permission message', () => flowbook.cluster.inferenceServices().find((i) => i.contextValue === 'isvcMessage:error'), 30_000);
    assert.match(denied.label, /Permission denied: kubeconfig user "sim-user" may not list inferenceservices\.serving\.kserve\.io in namespace "team-a" \(403 Forbidden/);
    assert.match(denied.label, /verbs \["list"\] on resources \["inferenceservices"\] in apiGroups \["serving\.kserve\.io"\]/);
    // The runs this user may see are still listed.
    await waitFor('the runs of the viewer', () => (flat(flowbook.cluster.runsSection()).some((r) => r.label === runName) ? true : undefined), 30_000);
  });
});
