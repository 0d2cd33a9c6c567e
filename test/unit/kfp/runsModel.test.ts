// The model behind the Kubeflow Pipelines runs view, against the simulated KFP server:
// experiments and runs with per-task state, polling only while a run is going, and a failed
// fetch kept as a message.

import * as assert from 'node:assert/strict';
import { KfpRunsModel } from '../../../src/kfp/runsModel';
import { submitToKfp } from '../../../src/kfp/submit';
import { churn, KfpHarness, startKfp } from './support';

describe('KfpRunsModel (simulated KFP server)', () => {
  let h: KfpHarness;
  let timers: { fn: () => void; ms: number; cancelled: boolean }[];
  let model: KfpRunsModel;
  beforeEach(async () => {
    h = await startKfp();
    timers = [];
    const client = h.client();
    model = new KfpRunsModel(() => client, {
      pollMs: 1234,
      setTimer: (fn, ms) => {
        const t = { fn, ms, cancelled: false };
        timers.push(t);
        return { cancel: () => (t.cancelled = true) };
      },
    });
  });
  afterEach(async () => {
    model.dispose();
    await h.close();
  });

  it('groups runs by experiment with their tasks, and polls only while one is going', async () => {
    const client = h.client();
    const a = await submitToKfp(client, churn(), { experiment: 'nightly' });
    await submitToKfp(client, churn(), { experiment: 'adhoc' });
    let changes = 0;
    model.onDidChange(() => changes++);
    await model.refresh();
    assert.equal(model.snapshot.state, 'ready');
    assert.deepEqual(model.snapshot.experiments.map((e) => [e.experiment.display_name, e.runs.length]).sort(), [['adhoc', 1], ['nightly', 1]]);
    assert.ok(changes >= 1);
    assert.equal(timers.filter((t) => !t.cancelled).length, 1, 'a poll is scheduled while runs are going');
    assert.equal(timers[0]?.ms, 1234);
    for (const id of h.sim.runs.keys()) h.sim.finish(id);
    timers[0]?.fn();
    await model.refresh();
    const run = model.run(a.run?.run_id ?? '');
    assert.equal(run?.state, 'SUCCEEDED');
    assert.deepEqual(run?.run_details?.task_details?.map((t) => `${t.display_name ?? ''}:${t.state ?? ''}`), ['load:SUCCEEDED', 'train:SUCCEEDED', 'evaluate:SUCCEEDED']);
    const live = timers.filter((t) => !t.cancelled);
    assert.equal(live.length, 0, 'no polling once every run has finished');
    assert.equal(model.latestRunOf('churn')?.display_name.startsWith('churn '), true);
    assert.deepEqual(model.snapshot.pipelines.map((p) => [p.pipeline.display_name, p.versions.length]), [['churn', 1]], 'pipelines with their versions');
    // Polls read runs only; pipelines and versions again on a refresh.
    const listed = h.sim.count({ operation: 'PipelineService_ListPipelines' });
    assert.equal(listed, 2, 'each refresh read the pipelines');
    await submitToKfp(client, churn(), { experiment: 'adhoc' });
    await model.refresh();
    assert.equal(h.sim.count({ operation: 'PipelineService_ListPipelines' }), 3);
    const poll = timers.filter((t) => !t.cancelled).at(-1);
    assert.ok(poll, 'a new run is going: a poll is scheduled');
    const runsRead = h.sim.count({ operation: 'RunService_ListRuns' });
    const count = timers.length;
    poll.fn();
    for (let n = 0; n < 400 && timers.length === count; n++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(h.sim.count({ operation: 'RunService_ListRuns' }) > runsRead, 'the poll read the runs');
    assert.equal(h.sim.count({ operation: 'PipelineService_ListPipelines' }), 3, 'but not the pipelines');
  });

  it('terminate and retry go to KFP and refresh', async () => {
    h.sim.options.taskOutcome = (task, attempt) => (task === 'load' && attempt === 1 ? 'fail' : 'succeed');
    const { run } = await submitToKfp(h.client(), churn());
    const id = run?.run_id ?? '';
    h.sim.finish(id);
    await model.refresh();
    assert.equal(model.run(id)?.state, 'FAILED');
    await model.retry(id);
    assert.equal(h.sim.count({ operation: 'RunService_RetryRun' }), 1);
    assert.equal(model.run(id)?.state, 'RUNNING');
    await model.terminate(id);
    assert.equal(h.sim.count({ operation: 'RunService_TerminateRun' }), 1);
    assert.ok(['CANCELING', 'CANCELED'].includes(model.run(id)?.state ?? ''));
  });

  it('polls only while visible, refreshes when shown again, and backs off while nothing changes', async () => {
    const client = h.client();
    const { run } = await submitToKfp(client, churn());
    const id = run?.run_id ?? '';
    const slow = new KfpRunsModel(() => client, {
      pollMs: 1000,
      maxPollMs: 3000,
      setTimer: (fn, ms) => {
        const t = { fn, ms, cancelled: false };
        timers.push(t);
        return { cancel: () => (t.cancelled = true) };
      },
    });
    try {
      await slow.refresh();
      assert.deepEqual(timers.filter((t) => !t.cancelled).map((t) => t.ms), [1000]);
      slow.setVisible(false);
      assert.equal(timers.filter((t) => !t.cancelled).length, 0, 'a hidden view does not poll');
      const reads = h.sim.count({ operation: 'RunService_GetRun' });
      slow.setVisible(true);
      await new Promise((r) => setImmediate(r));
      await slow.refresh();
      assert.ok(h.sim.count({ operation: 'RunService_GetRun' }) > reads, 'shown again: it reads the going run at once');
      // Nothing changes (every read of the run fails): the wait doubles up to maxPollMs.
      h.sim.inject({ operation: 'RunService_GetRun', status: 500, times: 1000 });
      const waits: number[] = [];
      for (let i = 0; i < 4; i++) {
        const live = timers.filter((t) => !t.cancelled);
        const next = live[live.length - 1];
        assert.ok(next, 'a poll is scheduled while the run is going');
        next.cancelled = true;
        const count = timers.length;
        next.fn();
        // The poll ends by scheduling the next one.
        for (let n = 0; n < 400 && timers.length === count; n++) await new Promise((r) => setTimeout(r, 5));
        waits.push(timers.filter((t) => !t.cancelled).at(-1)?.ms ?? 0);
      }
      assert.equal(slow.snapshot.state, 'error');
      assert.ok(waits.includes(3000) && waits.every((w) => w <= 3000), `waits back off to the maximum: ${waits.join(', ')}`);
      assert.equal(slow.run(id)?.run_id, id, 'the runs fetched before stay');
    } finally {
      slow.dispose();
    }
  });

  it('a failed fetch is an error message in the snapshot, and the runs fetched before stay', async () => {
    await submitToKfp(h.client(), churn());
    await model.refresh();
    h.sim.inject({ operation: 'ExperimentService_ListExperiments', status: 403, message: 'PermissionDenied: no' });
    await model.refresh();
    assert.equal(model.snapshot.state, 'error');
    assert.match(model.snapshot.error ?? '', /did not allow you to list experiments/);
    assert.equal(model.snapshot.experiments.length, 1);
  });
});
