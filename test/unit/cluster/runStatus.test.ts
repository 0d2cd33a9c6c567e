// Reading Argo's status as Flowbook runs and steps: node phases mapped back to steps and
// notebook cells through the template annotations, retries, reused (memoized) steps,
// progress N/M, durations, pod names, and the retry/resubmit formulation on that status.

import * as assert from 'node:assert/strict';
import { formulateRetry, memoizedStatus } from '../../../src/cluster/actions';
import { ClusterError } from '../../../src/cluster/errors';
import { cellStates, formatDuration, nodeIdOf, podNameOf, stepStates, summarizeRun } from '../../../src/cluster/runStatus';
import type { NodeStatus, Workflow } from '../../../src/cluster/types';
import { pipelineWorkflow } from '../../sim/harness';

const T0 = '2026-03-01T10:00:00Z';
const at = (s: number) => new Date(Date.parse(T0) + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

/** A failed run: load succeeded, train failed after one retry, evaluate never ran. */
function failedRun(): Workflow {
  const wf = pipelineWorkflow('demo', {
    steps: [
      { name: 'load', cells: [1, 2] },
      { name: 'train', after: ['load'], cells: [3], retries: 1 },
      { name: 'evaluate', after: ['train'], cells: [4, 5] },
    ],
    parameters: { lr: '0.1' },
  });
  const name = 'demo-abcde';
  wf.metadata = { name, namespace: 'team-a', creationTimestamp: T0, labels: { 'app.kubernetes.io/managed-by': 'flowbook', 'flowbook.dev/pipeline': 'demo', 'flowbook.dev/version': '0.1.0' }, annotations: { 'flowbook.dev/notebook-path': '/w/demo.ipynb' } };
  const id = (n: string) => nodeIdOf(name, n);
  const node = (n: string, extra: Partial<NodeStatus>): NodeStatus => ({ id: id(n), name: n, displayName: n.split('.').pop() ?? n, ...extra });
  const nodes: NodeStatus[] = [
    node(name, { type: 'DAG', templateName: 'main', phase: 'Failed', startedAt: at(0), finishedAt: at(95), children: [id(`${name}.load`), id(`${name}.train`)] }),
    node(`${name}.load`, { type: 'Pod', templateName: 'load', phase: 'Succeeded', startedAt: at(0), finishedAt: at(30), outputs: { exitCode: '0' } }),
    node(`${name}.train`, { type: 'Retry', templateName: 'train', phase: 'Failed', startedAt: at(31), finishedAt: at(95), message: 'Error (exit code 1)', children: [id(`${name}.train(0)`), id(`${name}.train(1)`)] }),
    node(`${name}.train(0)`, { type: 'Pod', templateName: 'train', phase: 'Failed', startedAt: at(31), finishedAt: at(60), message: 'Error (exit code 1)', outputs: { exitCode: '1' } }),
    node(`${name}.train(1)`, { type: 'Pod', templateName: 'train', phase: 'Failed', startedAt: at(61), finishedAt: at(95), message: 'Error (exit code 1)', outputs: { exitCode: '1', artifacts: [{ name: 'main-logs', s3: { key: 'k' } }] } }),
  ];
  wf.status = { phase: 'Failed', startedAt: at(0), finishedAt: at(95), message: `child '${id(`${name}.train`)}' failed`, nodes: Object.fromEntries(nodes.map((n) => [n.id, n])) };
  return wf;
}

describe('run status: Argo nodes as Flowbook steps and cells', () => {
  it('node ids and pod names follow Argo (fnv-32a, pod name format v2)', () => {
    // FNV-1a 32-bit test vectors: "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
    assert.equal(nodeIdOf('wf', 'a'), `wf-${0xe40c292c}`);
    assert.equal(nodeIdOf('wf', 'foobar'), `wf-${0xbf9cf968}`);
    assert.equal(nodeIdOf('wf', 'wf'), 'wf');
    assert.match(nodeIdOf('demo-abcde', 'demo-abcde.load'), /^demo-abcde-\d+$/);
    const wf = failedRun();
    const load = Object.values(wf.status?.nodes ?? {}).find((n) => n.name === 'demo-abcde.load') as NodeStatus;
    const hash = load.id.slice('demo-abcde-'.length);
    assert.equal(podNameOf(wf, load), `demo-abcde-load-${hash}`);
    wf.metadata.annotations = { 'workflows.argoproj.io/pod-name-format': 'v1' };
    assert.equal(podNameOf(wf, load), load.id);
  });

  it('maps each task to its step, cells, dependencies, phase, attempts and retries', () => {
    const steps = stepStates(failedRun());
    assert.deepEqual(steps.map((s) => [s.step, s.phase, s.cells, s.dependencies, s.retries]), [
      ['load', 'Succeeded', [1, 2], [], 0],
      ['train', 'Failed', [3], ['load'], 1],
      ['evaluate', 'Omitted', [4, 5], ['train'], 0],
    ]);
    const train = steps[1];
    assert.equal(train?.attempts.length, 2);
    assert.equal(train?.attempts[1]?.exitCode, 1);
    assert.equal(train?.podName, train?.attempts[1]?.podName, 'the log to show is the latest attempt');
    assert.equal(train?.attempts[1]?.logArtifact?.name, 'main-logs');
    assert.equal(train?.durationSeconds, 64);
  });

  it('summarizes the run: phase, progress N/M, duration, message, labels', () => {
    const s = summarizeRun(failedRun());
    assert.equal(s.phase, 'Failed');
    assert.deepEqual(s.progress, { done: 1, total: 3 });
    assert.equal(s.durationSeconds, 95);
    assert.match(s.message ?? '', /failed$/);
    assert.equal(s.isFlowbook, true);
    assert.equal(s.pipeline, 'demo');
    assert.equal(s.notebook, '/w/demo.ipynb');
    assert.deepEqual(s.parameters, { lr: '0.1' });
    assert.equal(formatDuration(95), '1m 35s');
    assert.equal(formatDuration(3725), '1h 02m');
  });

  it('a running run: not-started steps, running duration as of now, stopping', () => {
    const wf = failedRun();
    const status = wf.status ?? {};
    status.phase = 'Running';
    delete status.finishedAt;
    for (const n of Object.values(status.nodes ?? {})) {
      if (n.type === 'Retry' || n.name.endsWith('(1)')) {
        n.phase = 'Running';
        delete n.finishedAt;
      }
    }
    wf.spec.shutdown = 'Stop';
    const s = summarizeRun(wf, new Date(Date.parse(T0) + 120_000));
    assert.equal(s.durationSeconds, 120);
    assert.equal(s.stopping, true);
    const steps = stepStates(wf, new Date(Date.parse(T0) + 120_000));
    assert.deepEqual(steps.map((x) => x.phase), ['Succeeded', 'Running', 'NotStarted']);
  });

  it('cell chips: every cell of a step shows that step\'s state', () => {
    const cells = cellStates(failedRun());
    assert.deepEqual([...cells.entries()].map(([c, v]) => [c, v.step, v.phase]), [
      [1, 'load', 'Succeeded'],
      [2, 'load', 'Succeeded'],
      [3, 'train', 'Failed'],
      [4, 'evaluate', 'Omitted'],
      [5, 'evaluate', 'Omitted'],
    ]);
  });

  it('retry formulation keeps succeeded steps, forgets failed ones and names their pods', () => {
    const wf = failedRun();
    const { workflow, podsToDelete, nodesReset } = formulateRetry(wf);
    assert.equal(workflow.status?.phase, 'Running');
    assert.equal(workflow.status?.finishedAt, undefined);
    const names = Object.values(workflow.status?.nodes ?? {}).map((n) => `${n.name}:${n.phase}`).sort();
    assert.deepEqual(names, ['demo-abcde.load:Succeeded', 'demo-abcde:Running']);
    assert.equal(podsToDelete.length, 2);
    assert.equal(nodesReset.length, 3);
    assert.ok(podsToDelete.every((p) => p.startsWith('demo-abcde-train-')));
    const root = workflow.status?.nodes?.['demo-abcde'];
    assert.deepEqual(root?.children, [nodeIdOf('demo-abcde', 'demo-abcde.load')], 'children that were forgotten are unlinked');
    const running = failedRun();
    if (running.status) running.status.phase = 'Running';
    assert.throws(() => formulateRetry(running), (err: unknown) => err instanceof ClusterError && err.kind === 'state');
  });

  it('memoized status: reused steps become Skipped nodes of the new run, with their outputs', () => {
    const wf = failedRun();
    const loadNode = Object.values(wf.status?.nodes ?? {}).find((n) => n.name === 'demo-abcde.load') as NodeStatus;
    loadNode.outputs = { exitCode: '0', artifacts: [{ name: 'data', s3: { key: 'demo/load/data.tgz' } }] };
    const { status, reused } = memoizedStatus(wf, 'demo-zzzzz', new Set(['train', 'evaluate']));
    assert.deepEqual(reused, ['load']);
    const node = status.nodes?.[nodeIdOf('demo-zzzzz', 'demo-zzzzz.load')];
    assert.equal(node?.type, 'Skipped');
    assert.equal(node?.phase, 'Skipped');
    assert.equal(node?.message, `original pod: ${loadNode.id}`);
    assert.deepEqual(node?.outputs?.artifacts, [{ name: 'data', s3: { key: 'demo/load/data.tgz' } }]);
    const resubmitted: Workflow = { ...pipelineWorkflow('demo'), metadata: { name: 'demo-zzzzz' }, status };
    const steps = stepStates(resubmitted);
    assert.equal(steps[0]?.phase, 'Cached');
    assert.equal(steps[0]?.reusedFrom, loadNode.id);
    assert.deepEqual(summarizeRun(resubmitted).progress, { done: 1, total: 3 });
  });
});
