// Run actions through the Kubernetes API against the simulated Argo controller: stop,
// terminate, delete, retry of the failed steps only, resubmit with other parameters, and
// resubmit from a step reusing the steps upstream (memoized).

import * as assert from 'node:assert/strict';
import { deleteRun, resubmitRun, retryRun, stopRun } from '../../../src/cluster/actions';
import { ClusterError } from '../../../src/cluster/errors';
import { stepStates, summarizeRun } from '../../../src/cluster/runStatus';
import { submitWorkflow } from '../../../src/cluster/submit';
import type { KubeObject, Workflow } from '../../../src/cluster/types';
import { pipelineWorkflow, SimHarness, startSim, waitFor } from '../../sim/harness';

const WF = 'argoproj.io/workflows';

describe('run actions (simulated cluster with Argo controller)', function () {
  let h: SimHarness;
  before(async () => {
    h = await startSim({ argoController: { tickMs: 10, linesPerTick: 3 }, kserveController: false });
  });
  after(() => h.close());

  const get = (name: string) => h.sim.store.get(WF, 'team-a', name) as Workflow | undefined;
  const finished = (name: string) => waitFor(() => {
    const w = get(name);
    return w && ['Succeeded', 'Failed', 'Error'].includes(w.status?.phase ?? '') ? w : undefined;
  }, 15_000, `run ${name} to finish`);
  const podsOf = (name: string) => h.sim.store.list('/pods', 'team-a').filter((p: KubeObject) => p.metadata.labels?.['workflows.argoproj.io/workflow'] === name);

  it('stop: running steps finish, nothing new starts, the run ends Failed "Stopped"', async () => {
    const client = h.client();
    const res = await submitWorkflow(client, pipelineWorkflow('stop-me', { steps: [{ name: 'first', source: '# sim:lines=40' }, { name: 'second', after: ['first'] }] }), { preflight: false });
    await waitFor(() => stepStates(get(res.name) as Workflow)[0]?.phase === 'Running');
    await stopRun(client, res.name);
    const wf = await finished(res.name);
    assert.equal(wf.status?.phase, 'Failed');
    assert.equal(wf.status?.message, "Stopped with strategy 'Stop'");
    assert.deepEqual(stepStates(wf).map((s) => s.phase), ['Succeeded', 'Omitted'], 'the running step finished; the next never started');
    await assert.rejects(stopRun(client, res.name), (err: unknown) => err instanceof ClusterError && err.kind === 'state' && /already finished/.test(err.message));
  });

  it('terminate: running steps are killed at once', async () => {
    const client = h.client();
    const res = await submitWorkflow(client, pipelineWorkflow('kill-me', { steps: [{ name: 'forever', source: '# sim:hang' }] }), { preflight: false });
    await waitFor(() => stepStates(get(res.name) as Workflow)[0]?.phase === 'Running');
    assert.equal(summarizeRun((await stopRun(client, res.name, { strategy: 'Terminate' })) as Workflow).stopping, true);
    const wf = await finished(res.name);
    assert.equal(stepStates(wf)[0]?.phase, 'Failed');
    assert.equal(stepStates(wf)[0]?.message, 'terminated');
  });

  it('delete: the run and its pods go', async () => {
    const client = h.client();
    const res = await submitWorkflow(client, pipelineWorkflow('delete-me'), { preflight: false });
    await finished(res.name);
    assert.ok(podsOf(res.name).length > 0);
    await deleteRun(client, res.name);
    assert.equal(get(res.name), undefined);
    await waitFor(() => podsOf(res.name).length === 0);
  });

  it('retry: only the failed step runs again; the succeeded ones are kept; failed pods are replaced', async () => {
    const client = h.client();
    // `train` fails on its first run and succeeds when run again.
    const res = await submitWorkflow(client, pipelineWorkflow('flaky', { steps: [{ name: 'load' }, { name: 'train', after: ['load'], source: '# sim:fail-attempts=1' }, { name: 'evaluate', after: ['train'] }] }), { preflight: false });
    const failed = await finished(res.name);
    assert.deepEqual(stepStates(failed).map((s) => s.phase), ['Succeeded', 'Failed', 'Omitted']);
    const loadPod = stepStates(failed)[0]?.podName;
    const trainPod = stepStates(failed)[1]?.podName;
    const loadPodUid = h.sim.store.get('/pods', 'team-a', loadPod ?? '')?.metadata.uid;
    // The retried attempt is the second one the behaviour sees.
    let attempts = 0;
    const argo = h.sim.argo;
    assert.ok(argo);
    const original = argo.behaviour;
    argo.behaviour = (run) => {
      if (run.task === 'train') attempts++;
      return original({ ...run, attempt: run.task === 'train' ? 1 : run.attempt });
    };
    try {
      const { deletedPods } = await retryRun(client, res.name);
      assert.deepEqual(deletedPods, [trainPod]);
      const wf = await finished(res.name);
      assert.equal(wf.status?.phase, 'Succeeded');
      assert.deepEqual(stepStates(wf).map((s) => s.phase), ['Succeeded', 'Succeeded', 'Succeeded']);
      assert.equal(attempts, 1, 'train ran once more');
      assert.equal(h.sim.store.get('/pods', 'team-a', loadPod ?? '')?.metadata.uid, loadPodUid, 'load was not run again');
      assert.equal(h.sim.store.list(WF, 'team-a').filter((w) => w.metadata.name === res.name).length, 1, 'retried in place: no new run');
    } finally {
      argo.behaviour = original;
    }
    await assert.rejects(retryRun(client, res.name), (err: unknown) => err instanceof ClusterError && err.kind === 'state' && /only a failed run can be retried/.test(err.message));
  });

  it('retry survives a conflicting write by the controller (409) and redoes the update', async () => {
    const client = h.client();
    const res = await submitWorkflow(client, pipelineWorkflow('conflicted', { steps: [{ name: 'bad', source: '# sim:fail' }] }), { preflight: false });
    await finished(res.name);
    h.sim.inject({ verb: 'update', resource: 'workflows', status: 409, message: 'the object has been modified' });
    const out = await retryRun(client, res.name);
    assert.equal(out.workflow.status?.phase, 'Running');
    assert.equal(h.sim.count({ verb: 'update', resource: 'workflows', name: res.name }), 2);
    await finished(res.name);
  });

  it('resubmit with other parameters: a new run, labelled with its origin', async () => {
    const client = h.client();
    const res = await submitWorkflow(client, pipelineWorkflow('params', { parameters: { lr: '0.1' } }), { preflight: false });
    await finished(res.name);
    const again = await resubmitRun(client, res.name, { parameters: { lr: '0.9' }, preflight: false });
    assert.notEqual(again.name, res.name);
    const wf = await finished(again.name);
    assert.equal(wf.spec.arguments?.parameters?.[0]?.value, '0.9');
    assert.equal(summarizeRun(wf).resubmittedFrom, res.name);
    assert.match(h.sim.logText('team-a', stepStates(wf)[0]?.podName ?? ''), /params \{"lr":"0\.9"\}/);
    const twice = await resubmitRun(client, res.name, { parameters: { lr: '0.9' }, requestId: 'another-click', preflight: false });
    assert.notEqual(twice.name, again.name, 'another request is another run');
  });

  it('resubmit from a step: upstream steps are reused (no pods), the step and those after it run again', async () => {
    const client = h.client();
    const res = await submitWorkflow(client, pipelineWorkflow('resume', { artifacts: true }), { preflight: false });
    const first = await finished(res.name);
    assert.equal(first.status?.phase, 'Succeeded');
    const again = await resubmitRun(client, res.name, { fromStep: 'train', preflight: false });
    assert.deepEqual(again.reused, ['load']);
    assert.deepEqual(again.warnings, []);
    const wf = await finished(again.name);
    assert.equal(wf.status?.phase, 'Succeeded');
    assert.deepEqual(stepStates(wf).map((s) => `${s.step}:${s.phase}`), ['load:Cached', 'train:Succeeded', 'evaluate:Succeeded']);
    const pods = podsOf(again.name).map((p) => p.metadata.name ?? '');
    assert.equal(pods.length, 2, 'only train and evaluate ran');
    assert.ok(!pods.some((p) => p.includes('-load-')));
  });

  it('memoized resubmit of a failed run reuses what succeeded; per-run volumes are warned about', async () => {
    const client = h.client();
    const wf = pipelineWorkflow('memo', { steps: [{ name: 'prep' }, { name: 'fit', after: ['prep'], source: '# sim:fail' }] });
    wf.spec.volumeClaimTemplates = [{ metadata: { name: 'flowbook-data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }];
    const res = await submitWorkflow(client, wf, { preflight: false });
    await finished(res.name);
    const again = await resubmitRun(client, res.name, { memoized: true, preflight: false });
    assert.deepEqual(again.reused, ['prep']);
    assert.match(again.warnings[0] ?? '', /per-run volume/);
    const out = await finished(again.name);
    assert.deepEqual(stepStates(out).map((s) => s.phase), ['Cached', 'Failed']);
    await assert.rejects(resubmitRun(client, res.name, { fromStep: 'nope' }), /has no step "nope"/);
  });
});
