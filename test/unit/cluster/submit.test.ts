// Submitting exactly once, with preflight reporting every problem at once: labels, the
// idempotency label, parameter encoding, double clicks, a retry after a lost response, a
// dropped connection, a name collision; all against the simulated cluster.

import * as assert from 'node:assert/strict';
import { ClusterError } from '../../../src/cluster/errors';
import { preflight, PreflightError } from '../../../src/cluster/preflight';
import { LABEL_MANAGED_BY, LABEL_NOTEBOOK, LABEL_PIPELINE, LABEL_SUBMISSION, LABEL_VERSION, WORKFLOWS } from '../../../src/cluster/resources';
import { applyParameters, encodeParameter, ParameterError, parameterFields, parseParameterArgs, prepareRun, submitWorkflow } from '../../../src/cluster/submit';
import type { Workflow } from '../../../src/cluster/types';
import { VERSION } from '../../../src/version';
import { pipelineWorkflow, SimHarness, startSim } from '../../sim/harness';

const WF = 'argoproj.io/workflows';

describe('submit and preflight (simulated cluster)', function () {
  let h: SimHarness;
  before(async () => {
    h = await startSim({ argoController: false, kserveController: false });
  });
  after(() => h.close());
  afterEach(() => h.sim.clearFaults());

  const runsIn = (ns: string) => h.sim.store.list(WF, ns) as Workflow[];

  describe('parameters', () => {
    it('parses NAME=VALUE, keeping = inside the value', () => {
      assert.deepEqual(parseParameterArgs(['lr=0.1', 'q=a=b']), { lr: '0.1', q: 'a=b' });
      assert.throws(() => parseParameterArgs(['novalue']), ParameterError);
    });

    it('encodes values as JSON by the type of the default', () => {
      assert.equal(encodeParameter('opt', 'adam', '"sgd"'), '"adam"');
      assert.equal(encodeParameter('opt', '"adam"', '"sgd"'), '"adam"');
      assert.equal(encodeParameter('lr', '0.5', '0.1'), '0.5');
      assert.equal(encodeParameter('n', '1.0', '3'), '1.0', 'the text is kept: Python reads 1.0 as a float');
      assert.equal(encodeParameter('flag', 'True', 'false'), 'true');
      assert.equal(encodeParameter('xs', '[1, 2]', '[]'), '[1, 2]');
      assert.throws(() => encodeParameter('lr', 'fast', '0.1'), /Parameter lr is a number \(default 0\.1\); got "fast"/);
      assert.throws(() => encodeParameter('xs', '1', '[]'), /list .* as JSON/);
    });

    it('prefills a parameters form from the workflow, strings shown without quotes', () => {
      const wf = pipelineWorkflow('p', { parameters: { opt: '"sgd"', lr: '0.1', layers: '[64, 32]', debug: 'false' } });
      assert.deepEqual(parameterFields(wf), [
        { name: 'opt', value: 'sgd', kind: 'string' },
        { name: 'lr', value: '0.1', kind: 'number' },
        { name: 'layers', value: '[64, 32]', kind: 'list' },
        { name: 'debug', value: 'false', kind: 'boolean' },
      ]);
      const plain = pipelineWorkflow('p', { parameters: { message: 'hello' } });
      plain.spec.templates = (plain.spec.templates ?? []).map((t) => ({ ...t, metadata: {} }));
      assert.deepEqual(parameterFields(plain), [{ name: 'message', value: 'hello', kind: 'text' }], 'a workflow not compiled by Flowbook has plain string parameters');
      assert.equal(applyParameters(plain, { message: 'bye' })[0]?.value, 'bye');
    });

    it('rejects an unknown parameter, listing the known ones', () => {
      const wf = pipelineWorkflow('p', { parameters: { lr: '0.1', epochs: '3' } });
      assert.throws(() => applyParameters(wf, { lr: '1', epoch: '4' }), /no parameter "epoch"\. Its parameters: lr, epochs\./);
    });
  });

  it('labels the run (managed-by, pipeline, notebook, version, submission) and derives its name from the submission', () => {
    const wf = pipelineWorkflow('my-pipeline', { parameters: { lr: '0.1' } });
    const a = prepareRun(wf, { requestId: 'r1', notebookPath: '/home/me/My Notebook.ipynb', parameters: { lr: '0.2' } }, 'team-a');
    const labels = a.workflow.metadata.labels ?? {};
    assert.equal(labels[LABEL_MANAGED_BY], 'flowbook');
    assert.equal(labels[LABEL_PIPELINE], 'my-pipeline');
    assert.equal(labels[LABEL_NOTEBOOK], 'My-Notebook.ipynb');
    assert.equal(labels[LABEL_VERSION], VERSION);
    assert.equal(labels[LABEL_SUBMISSION], a.submission);
    assert.equal(a.workflow.metadata.annotations?.['flowbook.dev/notebook-path'], '/home/me/My Notebook.ipynb');
    assert.match(a.workflow.metadata.name ?? '', /^my-pipeline-[a-z0-9]{5}$/);
    assert.equal(a.workflow.spec.arguments?.parameters?.[0]?.value, '0.2');
    assert.equal(prepareRun(wf, { requestId: 'r1', notebookPath: '/home/me/My Notebook.ipynb', parameters: { lr: '0.2' } }, 'team-a').submission, a.submission, 'same inputs, same submission');
    assert.notEqual(prepareRun(wf, { requestId: 'r2', parameters: { lr: '0.2' } }, 'team-a').submission, a.submission, 'another request id is another run');
    assert.notEqual(prepareRun(wf, { requestId: 'r1', parameters: { lr: '0.3' } }, 'team-a').submission, a.submission, 'other parameters are another run');
  });

  it('submits, and the run carries the parameter values given', async () => {
    const res = await submitWorkflow(h.client(), pipelineWorkflow('fresh', { parameters: { lr: '0.1' } }), { parameters: { lr: '0.5' }, requestId: 'fresh-1' });
    assert.equal(res.created, true);
    assert.equal(res.namespace, 'team-a');
    const stored = h.sim.store.get(WF, 'team-a', res.name) as Workflow;
    assert.equal(stored.spec.arguments?.parameters?.[0]?.value, '0.5');
    assert.equal(res.preflight?.ok, true);
  });

  it('a repeated submit with the same request id returns the existing run and creates nothing', async () => {
    const client = h.client();
    const wf = pipelineWorkflow('again');
    const first = await submitWorkflow(client, wf, { requestId: 'again-1' });
    const creates = h.sim.count({ verb: 'create', resource: 'workflows', dryRun: false });
    const second = await submitWorkflow(client, wf, { requestId: 'again-1' });
    assert.equal(second.created, false);
    assert.equal(second.name, first.name);
    assert.equal(h.sim.count({ verb: 'create', resource: 'workflows', dryRun: false }), creates);
  });

  it('a double click (two concurrent submits) makes one run', async () => {
    const client = h.client();
    const wf = pipelineWorkflow('double');
    const [a, b] = await Promise.all([submitWorkflow(client, wf, { requestId: 'click-1' }), submitWorkflow(client, wf, { requestId: 'click-1' })]);
    assert.equal(a.name, b.name);
    assert.equal(runsIn('team-a').filter((w) => w.metadata.labels?.[LABEL_SUBMISSION] === a.submission).length, 1);
  });

  it('two processes racing the same submission collide on the name: still one run', async () => {
    const wf = pipelineWorkflow('race');
    const [a, b] = await Promise.all([submitWorkflow(h.client(), wf, { requestId: 'race-1', preflight: false }), submitWorkflow(h.client(), wf, { requestId: 'race-1', preflight: false })]);
    assert.equal(a.name, b.name);
    assert.deepEqual([a.created, b.created].sort(), [false, true]);
    assert.equal(runsIn('team-a').filter((w) => w.metadata.name === a.name).length, 1);
  });

  it('the response to a create is lost (connection dropped after the server acted): one run, found by its label', async () => {
    h.sim.inject({ verb: 'create', resource: 'workflows', action: 'applyThenDrop' });
    const res = await submitWorkflow(h.client(), pipelineWorkflow('lost-reply'), { requestId: 'lost-1', preflight: false });
    assert.equal(res.created, false, 'the run was created by the first attempt, then found');
    assert.equal(runsIn('team-a').filter((w) => w.metadata.labels?.[LABEL_SUBMISSION] === res.submission).length, 1);
  });

  it('the connection drops before the server acts: created on the next attempt, once', async () => {
    h.sim.inject({ verb: 'create', resource: 'workflows', action: 'drop' });
    const res = await submitWorkflow(h.client(), pipelineWorkflow('dropped'), { requestId: 'drop-1', preflight: false });
    assert.equal(res.created, true);
    assert.equal(runsIn('team-a').filter((w) => w.metadata.labels?.[LABEL_SUBMISSION] === res.submission).length, 1);
  });

  it('a 500 on create: checks before trying again, one run', async () => {
    h.sim.inject({ verb: 'create', resource: 'workflows', status: 500 });
    const res = await submitWorkflow(h.client(), pipelineWorkflow('five-hundred'), { requestId: 'e500', preflight: false });
    assert.equal(runsIn('team-a').filter((w) => w.metadata.labels?.[LABEL_SUBMISSION] === res.submission).length, 1);
  });

  it('a name taken by another run (hash collision): the run gets another name', async () => {
    const client = h.client();
    const wf = pipelineWorkflow('collide');
    const planned = prepareRun(wf, { requestId: 'col-1' }, 'team-a');
    await client.create(WORKFLOWS, 'team-a', { ...pipelineWorkflow('other'), metadata: { name: planned.workflow.metadata.name } });
    const res = await submitWorkflow(client, wf, { requestId: 'col-1', preflight: false });
    assert.equal(res.created, true);
    assert.notEqual(res.name, planned.workflow.metadata.name);
    assert.match(res.name, /^collide-[a-z0-9]{5}$/);
  });

  it('preflight passes on a healthy cluster', async () => {
    const report = await preflight(h.client(), pipelineWorkflow());
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.deepEqual(report.passed, ['crd', 'namespace', 'permission', 'data', 'dryRun']);
    assert.ok(h.sim.count({ verb: 'create', resource: 'workflows', dryRun: true }) > 0, 'the dry run went to the server');
  });

  it('preflight reports every problem at once: namespace, permissions, and the server-side dry run', async () => {
    h.sim.addUser('bob', 'bob-token', [
      { verbs: ['create', 'get', 'list'], groups: ['argoproj.io'], resources: ['workflows'] },
      { verbs: ['get'], groups: [''], resources: ['pods'] },
      { verbs: ['get'], groups: [''], resources: ['namespaces'] },
      { verbs: ['get'], groups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'] },
    ]);
    const client = h.client({ kubeconfig: h.sim.writeKubeconfig(h.dir, { file: 'bob.json', token: 'bob-token', namespace: 'team-a' }) });
    const bad = pipelineWorkflow();
    bad.spec.entrypoint = 'nowhere';
    const report = await preflight(client, bad);
    assert.equal(report.ok, false);
    const text = report.problems.map((p) => `${p.check}:${p.severity}:${p.message}`).join('\n');
    assert.match(text, /permission:error:.*may not get pods\/log in namespace "team-a" \(needed to show step logs\)/);
    assert.match(text, /permission:warning:.*may not watch workflows\.argoproj\.io/);
    assert.match(text, /dryRun:error:The cluster rejected the Workflow in a dry run: spec\.entrypoint/);
    const missingNs = await preflight(h.client(), pipelineWorkflow(), { namespace: 'ghost' });
    assert.deepEqual(missingNs.problems.map((p) => p.check), ['namespace']);
    assert.match(missingNs.problems[0]?.message ?? '', /Namespace "ghost" does not exist/);
  });

  it('preflight on a cluster without Argo says how to install it, and submit refuses', async () => {
    const bare = await startSim({ argo: false, argoController: false, kserveController: false });
    try {
      const client = bare.client();
      const report = await preflight(client, pipelineWorkflow());
      assert.deepEqual(report.problems.map((p) => p.check), ['crd']);
      assert.match(report.problems[0]?.message ?? '', /Argo Workflows is not installed/);
      await assert.rejects(submitWorkflow(client, pipelineWorkflow()), (err: unknown) => err instanceof PreflightError && err.report.problems.length === 1);
      assert.equal(bare.sim.count({ verb: 'create', resource: 'workflows', dryRun: false }), 0);
    } finally {
      await bare.close();
    }
  });

  it('preflight on an unreachable cluster reports one connection problem, not one per check', async () => {
    const file = h.sim.writeKubeconfig(h.dir, { file: 'nowhere.json', server: 'https://127.0.0.1:9' });
    const report = await preflight(h.client({ kubeconfig: file, maxRetries: 0 }), pipelineWorkflow());
    assert.deepEqual(report.problems.map((p) => p.check), ['connection']);
    assert.match(report.problems[0]?.message ?? '', /Cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:9/);
  });

  it('an unknown parameter is refused before anything is sent', async () => {
    const before = h.sim.requests.length;
    await assert.rejects(submitWorkflow(h.client(), pipelineWorkflow('p', { parameters: { lr: '1' } }), { parameters: { rate: '2' } }), ParameterError);
    assert.equal(h.sim.requests.length, before);
  });

  it('a forbidden create surfaces as a ClusterError naming the permission', async () => {
    h.sim.addUser('carol', 'carol-token', [{ verbs: ['list', 'get'], groups: ['*'], resources: ['*'] }]);
    const client = h.client({ kubeconfig: h.sim.writeKubeconfig(h.dir, { file: 'carol.json', token: 'carol-token', namespace: 'team-a' }) });
    await assert.rejects(submitWorkflow(client, pipelineWorkflow(), { preflight: false }), (err: unknown) => err instanceof ClusterError && err.kind === 'forbidden' && /may not create workflows\.argoproj\.io in namespace "team-a"/.test(err.message));
  });
});
