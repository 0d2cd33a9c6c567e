// Metrics of Kubeflow Pipelines runs from ML Metadata: the protobufjs codec checked byte for
// byte against MLMD's own protos (the ml-metadata wheel in .venv-kfp), gRPC-web framing, the
// client's route against the simulated KFP server, and the runs model turning metrics and a
// failed read (403, no route) into metrics and a quiet note.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import {
  decodeArtifactsRequest, decodeArtifactsResponse, encodeArtifactsRequest, encodeArtifactsResponse,
  grpcWebFrame, grpcWebTrailers, metricsArtifactIds, metricsOf, parseGrpcWebBody,
} from '../../../src/kfp/mlmd';
import { KfpRunsModel } from '../../../src/kfp/runsModel';
import { submitToKfp } from '../../../src/kfp/submit';
import type { Run } from '../../../src/kfp/types';
import { KFP_PYTHON, requireKfpVenv } from '../../support/kfp';
import { REPO_ROOT } from '../../support/notebooks';
import { churn, startKfp } from './support';

type Command = Record<string, unknown>;

/** Runs MLMD's own protos (test/kfp/mlmd_codec.py) on each command. */
function mlmd(commands: Command[]): Record<string, unknown>[] {
  requireKfpVenv();
  const r = spawnSync(KFP_PYTHON, [path.join(REPO_ROOT, 'test', 'kfp', 'mlmd_codec.py')], { input: commands.map((c) => JSON.stringify(c)).join('\n'), encoding: 'utf8' });
  assert.equal(r.status, 0, `mlmd_codec.py failed:\n${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('ML Metadata codec (checked against MLMD\'s protos)', () => {
  it('encodes GetArtifactsByIDRequest byte for byte as MLMD does, and reads MLMD\'s back', () => {
    const ids = ['1', '12', '300', '9007199254740993'];
    const [py, back] = mlmd([{ op: 'encodeRequest', ids }, { op: 'decodeRequest', hex: hex(encodeArtifactsRequest(ids)) }]);
    assert.equal(hex(encodeArtifactsRequest(ids)), py?.hex);
    assert.deepEqual(back?.ids, ids, 'int64 ids beyond 2^53 survive');
    assert.deepEqual(decodeArtifactsRequest(Buffer.from(String(py?.hex), 'hex')), ids);
  });

  it('decodes a response MLMD encodes: doubles, ints, strings, bools; struct values are skipped', () => {
    const artifacts = [
      { id: '7', name: 'metrics', type: 'system.Metrics', uri: 'minio://mlpipeline/v2/artifacts/r/train/metrics', customProperties: { accuracy: 0.9375, display_name: 'metrics', epochs: { int: '12' }, ok: true, confusion: { struct: { a: 1 } } } },
      { id: '8', customProperties: {} },
    ];
    const [py] = mlmd([{ op: 'encodeResponse', artifacts }]);
    const decoded = decodeArtifactsResponse(Buffer.from(String(py?.hex), 'hex'));
    assert.deepEqual(decoded, [
      { id: '7', name: 'metrics', type: 'system.Metrics', uri: 'minio://mlpipeline/v2/artifacts/r/train/metrics', customProperties: { accuracy: 0.9375, display_name: 'metrics', epochs: 12, ok: true } },
      { id: '8', customProperties: {} },
    ]);
    assert.deepEqual(metricsOf(decoded), { accuracy: 0.9375, epochs: 12 }, 'numbers only: display_name and flags are not metrics');
  });

  it('encodes a response (the simulated server\'s) byte for byte as MLMD does', () => {
    const artifact = { id: '42', name: 'metrics', type: 'system.Metrics', uri: 's3://b/m', customProperties: { roc_auc: 0.98, display_name: 'metrics', f1: 0.5 } };
    const [py, back] = mlmd([{ op: 'encodeResponse', artifacts: [artifact] }, { op: 'decodeResponse', hex: hex(encodeArtifactsResponse([artifact])) }]);
    assert.equal(hex(encodeArtifactsResponse([artifact])), py?.hex);
    assert.deepEqual(back?.artifacts, [artifact]);
  });
});

describe('gRPC-web framing', () => {
  it('splits a data frame and the trailers, and reads a trailers-only answer from the headers', () => {
    const body = Buffer.concat([grpcWebFrame(Buffer.from([8, 1])), grpcWebTrailers(0)]);
    assert.deepEqual(parseGrpcWebBody(body), { message: Buffer.from([8, 1]), status: 0 });
    const denied = parseGrpcWebBody(grpcWebTrailers(7, 'no: access'));
    assert.equal(denied.status, 7);
    assert.equal(denied.statusMessage, 'no: access');
    assert.equal(denied.message, undefined);
    assert.deepEqual(parseGrpcWebBody(Buffer.alloc(0), { 'grpc-status': '12', 'grpc-message': 'unimplemented' }), { status: 12, statusMessage: 'unimplemented' });
    assert.throws(() => parseGrpcWebBody(grpcWebFrame(Buffer.from([1, 2, 3])).subarray(0, 6)), /cut short/);
  });

  it('finds the Metrics artifact ids of the user\'s tasks only', () => {
    const run: Run = {
      run_id: 'r', display_name: 'churn abc123',
      run_details: { task_details: [
        { display_name: 'root', outputs: { metrics: { artifact_ids: ['5'] } } },
        { display_name: 'train-driver' },
        { display_name: 'train', outputs: { metrics: { artifact_ids: ['5'] }, data: { artifact_ids: ['4'] } } },
        { display_name: 'load', outputs: { data: { artifact_ids: ['3'] } } },
      ] },
    };
    assert.deepEqual([...metricsArtifactIds(run)], [['train', ['5']]]);
  });
});

describe('KFP metrics through the client and the runs model (simulated KFP server)', () => {
  const metricsOfTask = (task: string): Record<string, number> | undefined => (task === 'evaluate' ? { roc_auc: 0.91, accuracy: 0.875 } : task === 'train' ? { loss: 0.25 } : undefined);

  it('reads each finished run\'s metrics in one request per poll and does not read them again', async () => {
    const h = await startKfp({ taskMetrics: metricsOfTask, prefix: '/pipeline' });
    const client = h.client();
    const model = new KfpRunsModel(() => client, { setTimer: () => ({ cancel: () => undefined }) });
    try {
      const a = await submitToKfp(client, churn(), {});
      const b = await submitToKfp(client, churn(), { parameters: { learning_rate: '0.5' } });
      for (const id of h.sim.runs.keys()) h.sim.finish(id);
      await model.refresh();
      assert.equal(h.sim.count({ operation: 'GetArtifactsByID' }), 1, 'both runs in one request');
      for (const r of [a, b]) {
        const m = model.metricsOf(r.run?.run_id ?? '');
        assert.deepEqual(m?.metrics, { roc_auc: 0.91, accuracy: 0.875, loss: 0.25 });
        assert.deepEqual(m?.byTask.evaluate, { roc_auc: 0.91, accuracy: 0.875 });
        assert.equal(m?.note, undefined);
      }
      await model.refresh();
      assert.equal(h.sim.count({ operation: 'GetArtifactsByID' }), 1, 'finished runs are not read again');
    } finally {
      model.dispose();
      await h.close();
    }
  });

  for (const [what, setup, pattern] of [
    ['a 403', (h: Awaited<ReturnType<typeof startKfp>>) => h.sim.inject({ operation: 'GetArtifactsByID', status: 403, times: 5 }), /refused the request \(403\)/],
    ['no ML Metadata route', (h: Awaited<ReturnType<typeof startKfp>>) => (h.sim.options.noMetadataRoute = true), /no ML Metadata route/],
  ] as const) {
    it(`${what} is a quiet note on the run, the runs still load, and a refresh tries again`, async () => {
      const h = await startKfp({ taskMetrics: metricsOfTask });
      const client = h.client();
      const model = new KfpRunsModel(() => client, { setTimer: () => ({ cancel: () => undefined }) });
      try {
        const { run } = await submitToKfp(client, churn(), {});
        h.sim.finish(run?.run_id ?? '');
        setup(h);
        await model.refresh();
        assert.equal(model.snapshot.state, 'ready');
        const m = model.metricsOf(run?.run_id ?? '');
        assert.match(m?.note ?? '', pattern);
        assert.deepEqual(m?.metrics, {});
        h.sim.options.noMetadataRoute = false;
        const before = h.sim.count({ operation: 'GetArtifactsByID' });
        await model.refresh();
        assert.ok(h.sim.count({ operation: 'GetArtifactsByID' }) > before, 'a refresh reads failed metrics again');
      } finally {
        model.dispose();
        await h.close();
      }
    });
  }
});
