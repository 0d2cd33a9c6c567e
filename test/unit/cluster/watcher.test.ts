// List-then-watch against the simulated cluster: coalesced changes, resume from the last
// resourceVersion after a dropped connection (no re-list), bookmarks, re-list on 410, a
// 401/403 state the view can show, and 2,000 workflows listed once then kept current from
// watch events alone (asserted on request counts, never on time).

import * as assert from 'node:assert/strict';
import { WORKFLOWS } from '../../../src/cluster/resources';
import type { KubeObject, Workflow } from '../../../src/cluster/types';
import { Changes, ResourceWatcher, WatchState } from '../../../src/cluster/watcher';
import { pipelineWorkflow, SimHarness, startSim, waitFor } from '../../sim/harness';

const WF = 'argoproj.io/workflows';

function put(h: SimHarness, name: string, ns = 'team-a', labels: Record<string, string> = { 'app.kubernetes.io/managed-by': 'flowbook' }): KubeObject {
  const wf = pipelineWorkflow(name);
  return h.sim.store.create(WF, { ...wf, metadata: { name, namespace: ns, labels } });
}

function collect<T extends KubeObject>(w: ResourceWatcher<T>): Changes<T>[] {
  const batches: Changes<T>[] = [];
  w.onDidChange((c) => batches.push(c));
  return batches;
}

describe('ResourceWatcher: list then watch (simulated cluster)', function () {
  let h: SimHarness;
  let watcher: ResourceWatcher<Workflow> | undefined;
  before(async () => {
    h = await startSim({ argoController: false, kserveController: false, historyLimit: 100_000 });
  });
  after(() => h.close());
  afterEach(() => {
    watcher?.dispose();
    watcher = undefined;
    h.sim.clearFaults();
  });

  const watch = (options: { namespace?: string; labelSelector?: string } = {}) => {
    watcher = new ResourceWatcher<Workflow>(h.client(), { type: WORKFLOWS, namespace: options.namespace ?? 'w1', ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}) }, { coalesceMs: 30, backoffMs: 10, maxBackoffMs: 50 });
    return watcher;
  };

  it('lists, then delivers added, modified and deleted objects from the watch', async () => {
    h.sim.createNamespace('w1');
    put(h, 'a', 'w1');
    const w = watch();
    const batches = collect(w);
    w.start();
    await w.whenSynced();
    assert.deepEqual(batches[0]?.added.map((x) => x.metadata.name), ['a']);
    assert.equal(batches[0]?.initial, true);
    put(h, 'b', 'w1');
    await waitFor(() => batches.some((c) => c.added.some((x) => x.metadata.name === 'b')));
    h.sim.store.mutate(WF, 'w1', 'a', (o) => ((o as Workflow).status = { phase: 'Running' }));
    h.sim.store.delete(WF, 'w1', 'b');
    await waitFor(() => !w.items.has('b') && w.items.get('a')?.status?.phase === 'Running');
    await waitFor(() => batches.some((c) => c.deleted.some((x) => x.metadata.name === 'b')));
    assert.ok(batches.some((c) => c.modified.some((x) => x.metadata.name === 'a')));
    assert.equal(w.items.get('a')?.kind, 'Workflow', 'items carry kind/apiVersion so they can be written back');
  });

  it('coalesces a burst of changes into one batch, with the latest state of each object', async () => {
    h.sim.createNamespace('w2');
    put(h, 'busy', 'w2');
    const w = watch({ namespace: 'w2' });
    const batches = collect(w);
    w.start();
    await w.whenSynced();
    const before = batches.length;
    for (let i = 0; i < 50; i++) h.sim.store.mutate(WF, 'w2', 'busy', (o) => ((o as Workflow).status = { phase: 'Running', progress: `${i}/50` }));
    put(h, 'short-lived', 'w2');
    h.sim.store.delete(WF, 'w2', 'short-lived');
    await waitFor(() => w.items.get('busy')?.status?.progress === '49/50');
    await waitFor(() => batches.length > before);
    await new Promise((r) => setTimeout(r, 60));
    const burst = batches.slice(before);
    assert.ok(burst.length <= 2, `50 changes arrive in at most 2 batches, got ${burst.length}`);
    const modified = burst.flatMap((c) => c.modified);
    assert.equal(modified.filter((x) => x.metadata.name === 'busy').length, burst.filter((c) => c.modified.length > 0).length, 'one entry per batch for the object');
    assert.ok(!burst.some((c) => [...c.added, ...c.deleted].some((x) => x.metadata.name === 'short-lived')), 'added then deleted inside a batch cancels out');
  });

  it('a connection dropped mid-watch resumes from the last resourceVersion, without re-listing', async () => {
    h.sim.createNamespace('w3');
    put(h, 'x', 'w3');
    const w = watch({ namespace: 'w3' });
    const states: WatchState['kind'][] = [];
    w.onDidChangeState((s) => states.push(s.kind));
    w.start();
    await w.whenSynced();
    await waitFor(() => w.state.kind === 'watching');
    const lists = h.sim.count({ verb: 'list', resource: 'workflows', namespace: 'w3' });
    const rvBefore = w.resourceVersion;
    h.sim.dropWatches();
    put(h, 'made-while-down', 'w3');
    await waitFor(() => w.items.has('made-while-down'), 5000, 'the event after the drop');
    assert.equal(h.sim.count({ verb: 'list', resource: 'workflows', namespace: 'w3' }), lists, 'no re-list');
    const rewatch = h.sim.requests.filter((r) => r.verb === 'watch' && r.namespace === 'w3').pop();
    assert.equal(rewatch?.query.resourceVersion, rvBefore, 'the new watch starts at the last resourceVersion seen');
    assert.ok(states.includes('retrying'));
    assert.equal(w.stats.relists, 0);
  });

  it('bookmarks move the resourceVersion forward, and the next watch starts there', async () => {
    h.sim.createNamespace('w4');
    const w = watch({ namespace: 'w4' });
    w.start();
    await w.whenSynced();
    await waitFor(() => w.state.kind === 'watching');
    put(h, 'elsewhere', 'w1'); // moves the global resourceVersion without an event for w4
    h.sim.sendBookmarks();
    await waitFor(() => w.stats.bookmarks > 0);
    assert.equal(w.resourceVersion, String(h.sim.store.resourceVersion));
    h.sim.dropWatches();
    await waitFor(() => h.sim.requests.filter((r) => r.verb === 'watch' && r.namespace === 'w4').length >= 2);
    const rewatch = h.sim.requests.filter((r) => r.verb === 'watch' && r.namespace === 'w4').pop();
    assert.equal(rewatch?.query.resourceVersion, w.resourceVersion);
  });

  it('a watch expiring with 410 Gone re-lists and reports the differences', async () => {
    h.sim.createNamespace('w5');
    put(h, 'keep', 'w5');
    put(h, 'remove', 'w5');
    const w = watch({ namespace: 'w5' });
    const batches = collect(w);
    w.start();
    await w.whenSynced();
    await waitFor(() => w.state.kind === 'watching');
    h.sim.argo?.stop();
    // While history is forgotten, things change that the watch never reports.
    h.sim.expireWatches();
    h.sim.store.delete(WF, 'w5', 'remove');
    put(h, 'new', 'w5');
    h.sim.store.compact();
    h.sim.dropWatches();
    await waitFor(() => w.stats.relists > 0 && w.items.has('new') && !w.items.has('remove'), 5000, 're-list after 410');
    assert.ok(h.sim.count({ verb: 'list', resource: 'workflows', namespace: 'w5' }) >= 2);
    const relist = batches.find((c) => c.relisted);
    assert.ok(relist, 'a batch marked relisted');
    assert.deepEqual(relist.added.map((x) => x.metadata.name), ['new']);
    assert.deepEqual(relist.deleted.map((x) => x.metadata.name), ['remove']);
  });

  it('a 403 on the watch shows as a retrying state with the permission message, then recovers', async () => {
    h.sim.createNamespace('w6');
    const w = watch({ namespace: 'w6' });
    const errors: string[] = [];
    w.onDidChangeState((s) => {
      if (s.kind === 'retrying') errors.push(s.error.message);
    });
    h.sim.inject({ verb: 'list', resource: 'workflows', status: 403, message: 'forbidden', times: 1 });
    w.start();
    await w.whenSynced();
    assert.match(errors[0] ?? '', /may not list workflows\.argoproj\.io in namespace "w6"/);
  });

  it('a 401 during the watch is shown as expired credentials', async () => {
    h.sim.createNamespace('w7');
    const w = watch({ namespace: 'w7' });
    const errors: string[] = [];
    w.onDidChangeState((s) => {
      if (s.kind === 'retrying') errors.push(s.error.kind);
    });
    w.start();
    await w.whenSynced();
    await waitFor(() => w.state.kind === 'watching');
    h.sim.inject({ verb: 'watch', resource: 'workflows', status: 401, times: 1 });
    h.sim.dropWatches();
    await waitFor(() => errors.includes('unauthorized'));
    put(h, 'after-401', 'w7');
    await waitFor(() => w.items.has('after-401'), 5000);
  });

  it('2,000 workflows: listed in pages once, then kept current from watch events alone', async () => {
    h.sim.createNamespace('scale');
    for (let i = 0; i < 2000; i++) put(h, `run-${String(i).padStart(4, '0')}`, 'scale');
    const w = watch({ namespace: 'scale' });
    w.start();
    await w.whenSynced();
    assert.equal(w.items.size, 2000);
    assert.equal(h.sim.count({ verb: 'list', resource: 'workflows', namespace: 'scale' }), 4, '2,000 items in pages of 500');
    await waitFor(() => w.state.kind === 'watching');
    for (let i = 0; i < 200; i++) h.sim.store.mutate(WF, 'scale', `run-${String(i * 10).padStart(4, '0')}`, (o) => ((o as Workflow).status = { phase: 'Succeeded' }));
    h.sim.store.delete(WF, 'scale', 'run-1999');
    put(h, 'run-2000', 'scale');
    await waitFor(() => w.items.get('run-1990')?.status?.phase === 'Succeeded' && w.items.has('run-2000') && !w.items.has('run-1999'));
    assert.equal(w.items.size, 2000);
    assert.equal(h.sim.count({ verb: 'list', resource: 'workflows', namespace: 'scale' }), 4, 'no re-list: updates came from the watch');
    assert.equal(h.sim.count({ verb: 'watch', resource: 'workflows', namespace: 'scale' }), 1);
    assert.equal(w.stats.events, 202);
  });
});
