// Step logs that outlive pods, against the simulated cluster: streaming with follow into
// the run record, bounded memory with the full text on disk, a connection dropped
// mid-log resumed without duplicates or gaps, a container that has not started yet, the
// pod deleted (record kept), the archived log artifact (S3, Signature V4), and the clear
// "gone" message when nothing is left.

import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { s3UriEncode, signV4 } from '../../../src/cluster/artifacts';
import { normalizeTimestamp, readStepLog, StepLogStream } from '../../../src/cluster/logs';
import { RunRecordStore } from '../../../src/cluster/runRecord';
import { stepStates } from '../../../src/cluster/runStatus';
import { submitWorkflow } from '../../../src/cluster/submit';
import type { KubeObject, Workflow } from '../../../src/cluster/types';
import { pipelineWorkflow, SimHarness, startSim, waitFor } from '../../sim/harness';
import { SimulatedS3 } from '../../sim/s3';

const PODS = '/pods';

function makePod(h: SimHarness, ns: string, name: string, phase = 'Running'): void {
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { 'workflows.argoproj.io/workflow': 'manual' } },
    spec: { containers: [{ name: 'wait' }, { name: 'main' }] },
    status: { phase, containerStatuses: [{ name: 'main', state: phase === 'Running' ? { running: {} } : { waiting: { reason: 'ContainerCreating' } } }] },
  };
  h.sim.store.create(PODS, pod);
}

function finishPod(h: SimHarness, ns: string, name: string): void {
  h.sim.endLog(ns, name);
  h.sim.store.mutate(PODS, ns, name, (p) => {
    p.status = { phase: 'Succeeded', containerStatuses: [{ name: 'main', state: { terminated: { exitCode: 0 } } }] };
  });
}

describe('step logs (simulated cluster)', function () {
  let h: SimHarness;
  let store: RunRecordStore;
  const at = (run: string) => ({ context: 'sim', namespace: 'team-a', run });
  before(async () => {
    h = await startSim({ argoController: { tickMs: 10, linesPerTick: 5 }, kserveController: false });
    store = new RunRecordStore(path.join(h.dir, 'records'));
  });
  after(() => h.close());

  it('normalizes kubelet timestamps so they compare as text', () => {
    assert.equal(normalizeTimestamp('2026-01-01T00:00:00.5Z'), '2026-01-01T00:00:00.500000000Z');
    assert.equal(normalizeTimestamp('2026-01-01T00:00:01Z'), '2026-01-01T00:00:01.000000000Z');
    assert.ok(normalizeTimestamp('2026-01-01T00:00:00.5Z') > normalizeTimestamp('2026-01-01T00:00:00.123456789Z'));
  });

  it('follows a running step into the run record and ends when the container ends', async () => {
    makePod(h, 'team-a', 'follow-pod');
    h.sim.appendLog('team-a', 'follow-pod', 'first line');
    const stream = new StepLogStream(h.client(), store, { ...at('follow'), nodeId: 'n1', podName: 'follow-pod', step: 'load' });
    const seen: string[] = [];
    stream.onDidAppend((t) => seen.push(t));
    const done = stream.start();
    await waitFor(() => seen.join('').includes('first line'));
    for (let i = 0; i < 5; i++) h.sim.appendLog('team-a', 'follow-pod', `line ${i}`);
    await waitFor(() => seen.join('').includes('line 4'));
    finishPod(h, 'team-a', 'follow-pod');
    const end = await done;
    assert.equal(end.reason, 'completed');
    const expected = h.sim.logText('team-a', 'follow-pod');
    assert.equal(fs.readFileSync(stream.path, 'utf8'), expected);
    assert.equal(seen.join(''), expected);
    assert.equal(store.readLogMeta(at('follow'), 'n1')?.complete, true);
  });

  it('a connection dropped mid-log resumes with sinceTime: every line exactly once, in order', async () => {
    makePod(h, 'team-a', 'drop-pod');
    const burst = new Date();
    // Ten lines share one timestamp: the resume must not drop or repeat any of them.
    for (let i = 0; i < 10; i++) h.sim.appendLog('team-a', 'drop-pod', `same-ts ${i}`, burst);
    const stream = new StepLogStream(h.client(), store, { ...at('drop'), nodeId: 'n2', podName: 'drop-pod' }, { reconnectDelayMs: 5 });
    const done = stream.start();
    await waitFor(() => stream.stats.linesWritten === 10);
    h.sim.dropLogStreams();
    for (let i = 10; i < 15; i++) h.sim.appendLog('team-a', 'drop-pod', `same-ts ${i}`, burst);
    for (let i = 0; i < 5; i++) h.sim.appendLog('team-a', 'drop-pod', `later ${i}`);
    await waitFor(() => stream.stats.connections >= 2);
    h.sim.dropLogStreams();
    await waitFor(() => stream.stats.connections >= 3);
    finishPod(h, 'team-a', 'drop-pod');
    const end = await done;
    assert.equal(end.reason, 'completed');
    assert.equal(fs.readFileSync(stream.path, 'utf8'), h.sim.logText('team-a', 'drop-pod'));
    assert.ok(stream.stats.duplicatesSkipped > 0, 'the server repeated lines of the same second; they were skipped');
    assert.ok(stream.stats.reconnects >= 2);
  });

  it('a long log keeps bounded memory: a small tail in memory, the full text on disk', async () => {
    makePod(h, 'team-a', 'big-pod');
    const lines = 60_000;
    for (let i = 0; i < lines; i++) h.sim.appendLog('team-a', 'big-pod', `row ${i} ${'x'.repeat(80)}`);
    finishPod(h, 'team-a', 'big-pod');
    const tailBytes = 16 * 1024;
    const stream = new StepLogStream(h.client(), store, { ...at('big'), nodeId: 'n3', podName: 'big-pod' }, { tailBytes });
    let maxTail = 0;
    let maxChunk = 0;
    stream.onDidAppend((t) => {
      maxTail = Math.max(maxTail, stream.tail().length);
      maxChunk = Math.max(maxChunk, t.length);
    });
    const end = await stream.start();
    assert.equal(end.reason, 'completed');
    const expected = h.sim.logText('team-a', 'big-pod');
    const onDisk = fs.readFileSync(stream.path, 'utf8');
    assert.equal(onDisk.length, expected.length);
    assert.equal(crypto.createHash('sha256').update(onDisk).digest('hex'), crypto.createHash('sha256').update(expected).digest('hex'));
    assert.ok(expected.length > 5_000_000, 'the log is megabytes');
    assert.ok(maxTail <= 2 * tailBytes + maxChunk, `tail held ${maxTail} bytes`);
    assert.ok(stream.tail().length <= tailBytes);
    assert.ok(stream.stats.maxPendingBytes < 1024 * 1024, `at most ${stream.stats.maxPendingBytes} bytes waited for the disk`);
    assert.ok(stream.tail().endsWith(`row ${lines - 1} ${'x'.repeat(80)}\n`));
  });

  it('waits for a container that has not started, then streams it', async () => {
    makePod(h, 'team-a', 'pending-pod', 'Pending');
    const stream = new StepLogStream(h.client(), store, { ...at('pending'), nodeId: 'n4', podName: 'pending-pod' }, { waitPollMs: 10 });
    const states: string[] = [];
    stream.onDidChangeState((s) => states.push(s));
    const done = stream.start();
    await waitFor(() => states.includes('waiting'));
    h.sim.store.mutate(PODS, 'team-a', 'pending-pod', (p) => {
      p.status = { phase: 'Running', containerStatuses: [{ name: 'main', state: { running: {} } }] };
    });
    h.sim.appendLog('team-a', 'pending-pod', 'started at last');
    finishPod(h, 'team-a', 'pending-pod');
    assert.equal((await done).reason, 'completed');
    assert.equal(fs.readFileSync(stream.path, 'utf8'), 'started at last\n');
  });

  it('a stream started again later continues the kept log without repeating it', async () => {
    makePod(h, 'team-a', 'again-pod');
    h.sim.appendLog('team-a', 'again-pod', 'one');
    h.sim.appendLog('team-a', 'again-pod', 'two');
    const first = new StepLogStream(h.client(), store, { ...at('again'), nodeId: 'n5', podName: 'again-pod' });
    void first.start();
    await waitFor(() => first.stats.linesWritten === 2);
    first.dispose();
    await waitFor(() => store.readLogMeta(at('again'), 'n5')?.lastTimestamp !== undefined);
    h.sim.appendLog('team-a', 'again-pod', 'three');
    finishPod(h, 'team-a', 'again-pod');
    const second = new StepLogStream(h.client(), store, { ...at('again'), nodeId: 'n5', podName: 'again-pod' });
    const shown: string[] = [];
    second.onDidAppend((t) => shown.push(t));
    await second.start();
    assert.equal(fs.readFileSync(second.path, 'utf8'), 'one\ntwo\nthree\n');
    assert.equal(shown.join(''), 'one\ntwo\nthree\n', 'the kept part is shown first, then the new lines');
  });

  it('the pod is deleted by pod GC: the log kept while following is still there', async () => {
    const client = h.client();
    const res = await submitWorkflow(client, pipelineWorkflow('gc', { podGC: 'OnPodCompletion', steps: [{ name: 'only', source: '# sim:lines=20' }] }), { preflight: false });
    const wf = await waitFor(() => {
      const w = h.sim.store.get('argoproj.io/workflows', 'team-a', res.name) as Workflow | undefined;
      return w && stepStates(w)[0]?.podName && stepStates(w)[0]?.phase === 'Running' ? w : undefined;
    });
    const step = stepStates(wf)[0];
    assert.ok(step?.podName && step.attempts[0]);
    const stream = new StepLogStream(client, store, { ...at(res.name), nodeId: step.attempts[0].nodeId, podName: step.podName, step: step.step });
    await stream.start();
    await waitFor(() => !h.sim.store.get(PODS, 'team-a', step.podName ?? ''), 5000, 'pod GC');
    const done = await waitFor(() => {
      const w = h.sim.store.get('argoproj.io/workflows', 'team-a', res.name) as Workflow | undefined;
      return w?.status?.phase === 'Succeeded' ? stepStates(w)[0] : undefined;
    });
    const log = await readStepLog(client, store, at(res.name), done);
    assert.equal(log.source, 'record');
    assert.equal(log.complete, true);
    assert.equal(log.text.split('\n').filter((l) => l).length, 20);
  });

  it('the pod was deleted before anything was kept: says clearly that the log is gone', async () => {
    const client = h.client();
    const res = await submitWorkflow(client, pipelineWorkflow('gone', { podGC: 'OnPodCompletion', steps: [{ name: 'only' }] }), { preflight: false });
    const wf = await waitFor(() => {
      const w = h.sim.store.get('argoproj.io/workflows', 'team-a', res.name) as Workflow | undefined;
      return w?.status?.phase === 'Succeeded' ? w : undefined;
    });
    const step = stepStates(wf)[0];
    assert.ok(step);
    const log = await readStepLog(client, store, at(res.name), step);
    assert.equal(log.source, 'gone');
    assert.match(log.message ?? '', /log of step only is gone: its pod \S+ was deleted before Flowbook saved the log.*archiveLogs: true/);
  });

  it('reads a finished step from the pod once, then from the record without the cluster', async () => {
    const client = h.client();
    const res = await submitWorkflow(client, pipelineWorkflow('keep', { steps: [{ name: 'only', source: '# sim:lines=4' }] }), { preflight: false });
    const wf = await waitFor(() => {
      const w = h.sim.store.get('argoproj.io/workflows', 'team-a', res.name) as Workflow | undefined;
      return w?.status?.phase === 'Succeeded' ? w : undefined;
    });
    const step = stepStates(wf)[0];
    assert.ok(step);
    const first = await readStepLog(client, store, at(res.name), step);
    assert.equal(first.source, 'pod');
    assert.equal(first.complete, true);
    const logRequests = h.sim.count({ resource: 'pods', subresource: 'log' });
    const again = await readStepLog(client, store, at(res.name), step);
    assert.equal(again.source, 'record');
    assert.equal(again.text, first.text);
    assert.equal(h.sim.count({ resource: 'pods', subresource: 'log' }), logRequests, 'no log request the second time');
  });

  it('signs S3 requests exactly as AWS documents (Signature V4 test vector)', () => {
    const headers = signV4({
      method: 'GET',
      host: 'examplebucket.s3.amazonaws.com',
      path: '/test.txt',
      headers: { Range: 'bytes=0-9' },
      region: 'us-east-1',
      accessKey: 'AKIAIOSFODNN7EXAMPLE',
      secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      date: new Date('2013-05-24T00:00:00Z'),
    });
    assert.equal(
      headers.authorization,
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    assert.equal(s3UriEncode('logs/a b/ü.log', true), 'logs/a%20b/%C3%BC.log');
  });

  it('the pod is gone but the log was archived: reads the main-logs artifact from S3', async () => {
    const s3 = new SimulatedS3('minio-access', 'minio-secret-value');
    await s3.start();
    try {
      h.sim.store.create('/secrets', {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'argo-artifacts', namespace: 'team-a' },
        data: { accesskey: Buffer.from('minio-access').toString('base64'), secretkey: Buffer.from('minio-secret-value').toString('base64') },
      });
      const argo = h.sim.argo;
      assert.ok(argo);
      argo.artifactRepository = { endpoint: s3.endpoint, bucket: 'flowbook', insecure: true, archiveLogs: true, accessKeySecret: { name: 'argo-artifacts', key: 'accesskey' }, secretKeySecret: { name: 'argo-artifacts', key: 'secretkey' } };
      argo.putObject = (bucket, key, body) => s3.put(bucket, key, body);
      const client = h.client();
      const res = await submitWorkflow(client, pipelineWorkflow('archived', { podGC: 'OnPodCompletion', steps: [{ name: 'only', source: '# sim:lines=6' }] }), { preflight: false });
      const wf = await waitFor(() => {
        const w = h.sim.store.get('argoproj.io/workflows', 'team-a', res.name) as Workflow | undefined;
        return w?.status?.phase === 'Succeeded' ? w : undefined;
      });
      const step = stepStates(wf)[0];
      assert.ok(step?.attempts[0]?.logArtifact, 'the node lists its main-logs artifact');
      const log = await readStepLog(client, store, { ...at(res.name), workflow: wf }, step);
      assert.equal(log.source, 'artifact');
      assert.equal(log.text.split('\n').filter((l) => l).length, 6);
      assert.ok(s3.requests.some((r) => r.status === 200));
      const again = await readStepLog(client, store, { ...at(res.name), workflow: wf }, step);
      assert.equal(again.source, 'record', 'kept locally after the first read');
    } finally {
      const argo = h.sim.argo;
      if (argo) {
        delete argo.artifactRepository;
        delete argo.putObject;
      }
      await s3.stop();
    }
  });
});
