// The one Argo DAG model (src/argo/dag.ts): which tasks a task waits for, Argo's node ids
// and pod names, as the emitter, the local runner, the cluster code and the simulator read them.

import * as assert from 'node:assert/strict';
import { argoNodeId, argoPodName, taskDependencies } from '../../../src/argo/dag';
import type { Workflow as LiveWorkflow } from '../../../src/argo/live';
import type { WorkflowLike } from '../../../src/argo/view';
import { planWorkflow } from '../../../src/runner';
import { emitWorkflow } from '../../../src/converter/emit';
import { mlPipeline } from '../converter/emit/samples';

describe('src/argo/dag', () => {
  it('reads dependencies, or the task names of an enhanced depends expression once each', () => {
    assert.deepEqual(taskDependencies({ dependencies: ['a', 'b'] }), ['a', 'b']);
    assert.deepEqual(taskDependencies({ depends: 'load && (train.Succeeded || train.Failed) && report-2.Errored' }), ['load', 'train', 'report-2']);
    assert.deepEqual(taskDependencies({}), []);
    // `dependencies` wins, as in Argo, where a task has one or the other.
    assert.deepEqual(taskDependencies({ dependencies: ['x'], depends: 'y' }), ['x']);
  });

  it('gives the controller\'s node ids (fnv-32a) and pod names (format v2, v1)', () => {
    assert.equal(argoNodeId('wf', 'wf'), 'wf');
    assert.equal(argoNodeId('wf', 'a'), `wf-${0xe40c292c}`);
    const id = argoNodeId('demo-abcde', 'demo-abcde.load');
    assert.equal(argoPodName('demo-abcde', 'load', id), `demo-abcde-load-${id.slice('demo-abcde-'.length)}`);
    assert.equal(argoPodName('demo-abcde', 'load', id, 'v1'), id);
    assert.equal(argoPodName('demo-abcde', 'load', 'demo-abcde'), 'demo-abcde', 'the root node');
    const long = argoPodName('w'.repeat(200), 't'.repeat(100), 'x-123');
    assert.equal(long, `${`${'w'.repeat(200)}-${'t'.repeat(100)}`.slice(0, 243)}-123`);
  });

  it('a compiled Workflow is a live Workflow and a runner view without a cast', () => {
    const compiled = emitWorkflow(mlPipeline());
    const view: WorkflowLike = compiled;
    assert.deepEqual(planWorkflow(view, new Map(), { runId: 'r' }).map((p) => p.dependencies), [[], ['load'], ['load', 'train']]);
    const live: LiveWorkflow = compiled;
    assert.equal(live.spec.templates?.length, 4);
    const entry = live.spec.templates?.find((t) => t.name === live.spec.entrypoint);
    assert.deepEqual(entry?.dag?.tasks.map((t) => taskDependencies(t)), [[], ['load'], ['load', 'train']]);
  });
});
