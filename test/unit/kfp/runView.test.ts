// A Kubeflow Pipelines run as the Runs view, the graph and the results pages show it: state
// and task mapping, times, parameters, metrics and their note, the notebook's steps giving
// tasks their names and cells, and comparing a KFP run with a local one.

import * as assert from 'node:assert/strict';
import { compareRuns } from '../../../src/common/runCompare';
import { kfpRunView, splitRunName, userTasks } from '../../../src/kfp/runView';
import type { Run } from '../../../src/kfp/types';

const run: Run = {
  run_id: '6f1c2a9e-0b4e-4c55-9a57-1d2f3e4a5b6c',
  display_name: 'churn 3f2a9c01',
  state: 'FAILED',
  created_at: '2026-05-01T09:00:00Z',
  finished_at: '2026-05-01T09:02:30Z',
  error: { message: 'task train failed' },
  runtime_config: { parameters: { learning_rate: 0.1, epochs: 3 } },
  run_details: {
    task_details: [
      { display_name: 'root', state: 'FAILED' },
      { display_name: 'load-driver', state: 'SUCCEEDED' },
      { display_name: 'load', state: 'SUCCEEDED', pod_name: 'p-load', start_time: '2026-05-01T09:00:10Z', end_time: '2026-05-01T09:00:40Z' },
      { display_name: 'train', state: 'FAILED', pod_name: 'p-train', start_time: '2026-05-01T09:00:41Z', end_time: '2026-05-01T09:02:00Z', error: { message: 'exit code 1' } },
    ],
  },
};

describe('kfpRunView', () => {
  it('maps state, tasks with times and errors, and parameters; KFP\'s own tasks are left out', () => {
    const v = kfpRunView(run, { experiment: 'nightly' });
    assert.equal(v.source, 'kfp');
    assert.equal(v.id, run.run_id);
    assert.equal(v.title, 'churn');
    assert.equal(v.name, '3f2a9c01');
    assert.equal(v.status, 'failed');
    assert.equal(v.error, 'task train failed');
    assert.equal(v.experiment, 'nightly');
    assert.equal(v.durationMs, 150_000);
    assert.deepEqual(v.parameters, { learning_rate: 0.1, epochs: 3 });
    assert.deepEqual(v.steps.map((s) => [s.name, s.status, s.durationMs, s.hasLogs, s.note]), [
      ['load', 'succeeded', 30_000, true, undefined],
      ['train', 'failed', 79_000, true, 'exit code 1'],
    ]);
    assert.deepEqual(v.progress, { done: 2, total: 2 });
    assert.equal(v.metrics, undefined);
    assert.deepEqual(userTasks(run).map((t) => t.display_name), ['load', 'train']);
  });

  it('with the notebook: step names as written, cells, upstream steps, and steps not started yet as pending', () => {
    const going: Run = { ...run, state: 'RUNNING', run_details: { task_details: [run.run_details?.task_details?.[2] ?? {}] } };
    delete going.finished_at;
    delete going.error;
    const v = kfpRunView(going, {
      notebook: { path: '/work/churn.ipynb', steps: [
        { name: 'load', task: 'load', cells: [1], dependencies: [] },
        { name: 'Train Model', task: 'train-model', cells: [2, 3], dependencies: ['load'] },
      ] },
      metrics: { auc: 0.9 },
      stepMetrics: { 'train-model': { auc: 0.9 } },
    });
    assert.equal(v.status, 'running');
    assert.equal(v.notebook, '/work/churn.ipynb');
    assert.equal(v.durationMs, undefined, 'a going run has no duration yet');
    assert.deepEqual(v.steps.map((s) => [s.name, s.status, s.cells, s.dependencies]), [
      ['load', 'succeeded', [1], []],
      ['Train Model', 'pending', [2, 3], ['load']],
    ]);
    assert.deepEqual(v.steps[1]?.metrics, { auc: 0.9 });
    assert.deepEqual(v.progress, { done: 1, total: 2 });
  });

  it('metrics and a failed metrics read', () => {
    assert.deepEqual(kfpRunView(run, { metrics: { auc: 0.91 } }).metrics, { auc: 0.91 });
    const quiet = kfpRunView(run, { metricsNote: 'Metrics not shown: no ML Metadata route' });
    assert.equal(quiet.note, 'Metrics not shown: no ML Metadata route');
    assert.equal(quiet.error, 'task train failed', 'the note does not replace the run\'s error');
  });

  it('a stopping, a cancelled and a succeeded run', () => {
    assert.deepEqual([kfpRunView({ ...run, state: 'CANCELING', error: {} }), kfpRunView({ ...run, state: 'CANCELED' }), kfpRunView({ ...run, state: 'SUCCEEDED' })].map((v) => [v.status, v.error]),
      [['running', 'stopping'], ['cancelled', 'task train failed'], ['succeeded', undefined]]);
  });

  it('splits Flowbook\'s run names, and leaves others whole', () => {
    assert.deepEqual(splitRunName('churn model 0123abcd'), { title: 'churn model', key: '0123abcd' });
    assert.deepEqual(splitRunName('my run'), { title: 'my run' });
  });

  it('compares side by side with a local run', () => {
    const k = kfpRunView(run, { metrics: { auc: 0.91 } });
    const table = compareRuns([
      { id: 'local-1', label: 'local-1', parameters: { learning_rate: 0.1, epochs: 5 }, metrics: { auc: 0.88 } },
      { id: k.id, label: k.name ?? k.id, parameters: k.parameters ?? {}, metrics: k.metrics ?? {} },
    ]);
    assert.deepEqual(table.runs.map((r) => r.label), ['local-1', '3f2a9c01']);
    assert.deepEqual(table.rows.map((r) => [r.name, r.values, r.differs]), [
      ['epochs', ['5', '3'], true],
      ['learning_rate', ['0.1', '0.1'], false],
      ['auc', ['0.88', '0.91'], true],
    ]);
  });
});
