// The run models the views build on, fed by the simulated Argo controller: a submitted run
// appears, moves through its phases with progress N/M, its steps map to cells, the scope
// toggles between Flowbook runs and all workflows, and the model survives a dropped
// connection and a 410 without submitting anything.

import * as assert from 'node:assert/strict';
import { RunDetail, RunListChange, RunListModel, RunWatcher } from '../../../src/cluster/runs';
import { submitWorkflow } from '../../../src/cluster/submit';
import { pipelineWorkflow, SimHarness, startSim, waitFor } from '../../sim/harness';

describe('run models: RunListModel and RunWatcher (simulated cluster with Argo controller)', function () {
  let h: SimHarness;
  const disposables: { dispose(): void }[] = [];
  before(async () => {
    h = await startSim();
  });
  after(() => h.close());
  afterEach(() => {
    for (const d of disposables.splice(0)) d.dispose();
  });

  it('a submitted run appears, progresses N/M and finishes; steps map to cells', async () => {
    h.sim.createNamespace('r1');
    const client = h.client({ namespace: 'r1' });
    const model = new RunListModel(client, { watcher: { coalesceMs: 20 } });
    disposables.push(model);
    const changes: RunListChange[] = [];
    model.onDidChange((c) => changes.push(c));
    model.start();
    await model.whenSynced();
    assert.equal(model.size, 0);
    const res = await submitWorkflow(client, pipelineWorkflow('demo'), { notebookPath: '/w/demo.ipynb', preflight: false });
    await waitFor(() => changes.some((c) => c.updated.some((r) => r.name === res.name && r.phase === 'Succeeded')), 10_000, 'the run to succeed');
    const progress = changes.flatMap((c) => [...c.added, ...c.updated]).filter((r) => r.name === res.name).map((r) => `${r.phase} ${r.progress.done}/${r.progress.total}`);
    assert.ok(progress.includes('Succeeded 3/3'), progress.join(', '));
    assert.ok(progress.some((p) => p.startsWith('Running')), 'seen while running');
    const detail = model.detail(res.name);
    assert.deepEqual(detail?.steps.map((s) => [s.step, s.phase, s.cells]), [
      ['load', 'Succeeded', [1, 2]],
      ['train', 'Succeeded', [3]],
      ['evaluate', 'Succeeded', [4, 5]],
    ]);
    const chips = model.latestRunOf('/w/demo.ipynb');
    assert.equal(chips?.run.name, res.name);
    assert.equal(chips?.cells.get(3)?.phase, 'Succeeded');
  });

  it('shows Flowbook runs by default and all workflows when toggled', async () => {
    h.sim.createNamespace('r2');
    const client = h.client({ namespace: 'r2' });
    await submitWorkflow(client, pipelineWorkflow('mine'), { preflight: false });
    await client.create({ group: 'argoproj.io', version: 'v1alpha1', plural: 'workflows', kind: 'Workflow' }, 'r2', { ...pipelineWorkflow('foreign'), metadata: { name: 'not-flowbook' } });
    const model = new RunListModel(client, { watcher: { coalesceMs: 10 } });
    disposables.push(model);
    model.start();
    await model.whenSynced();
    assert.deepEqual(model.runs().map((r) => r.isFlowbook), [true]);
    const removed: string[] = [];
    model.onDidChange((c) => removed.push(...c.removed));
    model.setScope('all');
    await model.whenSynced();
    assert.equal(model.runs().length, 2);
    assert.ok(removed.length === 1, 'the old scope\'s rows were removed first');
  });

  it('follows one run live (the graph view), through a dropped watch and a 410', async () => {
    h.sim.createNamespace('r3');
    const client = h.client({ namespace: 'r3' });
    const wf = pipelineWorkflow('slow', { steps: [{ name: 'a', source: '# sim:lines=30' }, { name: 'b', after: ['a'] }] });
    const res = await submitWorkflow(client, wf, { preflight: false });
    const watcher = new RunWatcher(client, res.name, { watcher: { backoffMs: 10, maxBackoffMs: 40 } });
    disposables.push(watcher);
    const seen: RunDetail[] = [];
    watcher.onDidChange((d) => d && seen.push(d));
    watcher.start();
    await watcher.whenSynced();
    await waitFor(() => seen.some((d) => d.steps[0]?.phase === 'Running'));
    h.sim.dropWatches();
    await waitFor(() => h.sim.count({ verb: 'watch', resource: 'workflows', namespace: 'r3' }) >= 2);
    h.sim.expireWatches();
    await waitFor(() => seen.some((d) => d.summary.phase === 'Succeeded'), 15_000, 'success after the faults');
    assert.ok(watcher.stats.relists >= 1, 'the 410 caused a re-list');
    assert.equal(h.sim.count({ verb: 'create', resource: 'workflows', namespace: 'r3', dryRun: false }), 1, 'nothing was submitted twice');
    assert.equal(h.sim.store.list('argoproj.io/workflows', 'r3').length, 1);
  });
});
