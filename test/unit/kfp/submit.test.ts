// Submitting to Kubeflow Pipelines through the real client, over real HTTP, to the
// simulated KFP server: pipeline, version, experiment, run and schedule are each made once,
// whatever the network does, and parameters reach KFP typed.

import * as assert from 'node:assert/strict';
import { KfpError } from '../../../src/kfp/errors';
import { KfpInputError, submitToKfp, typedParameters, versionName } from '../../../src/kfp/submit';
import { ScheduleError } from '../../../src/common/cron';
import { churn, KfpHarness, startKfp } from './support';

describe('KFP submit (simulated KFP server)', () => {
  let h: KfpHarness;
  beforeEach(async () => { h = await startKfp(); });
  afterEach(() => h.close());

  it('creates the pipeline, a content-hashed version, the experiment and a run with typed parameters', async () => {
    const client = h.client();
    const pkg = churn();
    const result = await submitToKfp(client, pkg, { experiment: 'churn-experiments', parameters: { epochs: '5', learning_rate: '0.1', source: 's3://x' }, codeSourceUrl: 'https://git.example.com/team/repo/blob/abc/churn.ipynb' });
    assert.equal(result.pipeline.name, 'churn');
    assert.equal(result.version.name, versionName(pkg));
    assert.match(result.version.name ?? '', /^churn-[0-9a-f]{12}$/);
    assert.equal(result.versionUploaded, true);
    assert.equal(result.experiment?.display_name, 'churn-experiments');
    assert.ok(result.run);
    assert.equal(result.runCreated, true);
    const stored = h.sim.runs.get(result.run.run_id);
    assert.deepEqual((stored?.run.runtime_config as { parameters: unknown }).parameters, { epochs: 5, learning_rate: 0.1, source: 's3://x' });
    assert.deepEqual(stored?.run.pipeline_version_reference, { pipeline_id: result.pipeline.pipeline_id, pipeline_version_id: result.version.pipeline_version_id });
    const version = h.sim.versions.get(result.version.pipeline_version_id);
    assert.equal(version?.content, pkg.text, 'the compiled file is uploaded byte for byte');
    assert.match(String(version?.description), /Source: https:\/\/git\.example\.com\/team\/repo\/blob\/abc\/churn\.ipynb/);
    assert.equal(h.sim.count({ operation: 'UploadPipelineVersion' }), 1);
  });

  it('a second submit of the same file reuses the version and makes a new run; a changed file uploads a new version', async () => {
    const client = h.client();
    const first = await submitToKfp(client, churn());
    const second = await submitToKfp(client, churn());
    assert.equal(second.versionUploaded, false);
    assert.equal(second.version.pipeline_version_id, first.version.pipeline_version_id);
    assert.notEqual(second.run?.run_id, first.run?.run_id);
    assert.equal(h.sim.count({ operation: 'UploadPipelineVersion' }), 1);
    const changed = await submitToKfp(client, churn((t) => t.replace('python:3.12-slim', 'python:3.13-slim')));
    assert.equal(changed.versionUploaded, true);
    assert.equal(changed.pipeline.pipeline_id, first.pipeline.pipeline_id);
    assert.equal(h.sim.versions.size, 2);
    assert.equal(h.sim.pipelines.size, 1);
    assert.equal(h.sim.experiments.size, 1);
  });

  it('the same request id (a double click) gives the same run, not a second one', async () => {
    const client = h.client();
    const a = await submitToKfp(client, churn(), { requestId: 'click-1' });
    const b = await submitToKfp(client, churn(), { requestId: 'click-1' });
    assert.equal(b.run?.run_id, a.run?.run_id);
    assert.equal(b.runCreated, false);
    assert.equal(h.sim.runs.size, 1);
    assert.equal(h.sim.count({ operation: 'RunService_CreateRun' }), 1);
  });

  it('--version-only uploads without an experiment or a run', async () => {
    const result = await submitToKfp(h.client(), churn(), { versionOnly: true });
    assert.equal(result.versionUploaded, true);
    assert.equal(result.run, undefined);
    assert.equal(h.sim.runs.size, 0);
    assert.equal(h.sim.experiments.size, 0);
  });

  for (const [op, what] of [
    ['PipelineService_CreatePipeline', 'pipeline'],
    ['UploadPipelineVersion', 'version'],
    ['ExperimentService_CreateExperiment', 'experiment'],
    ['RunService_CreateRun', 'run'],
  ] as const) {
    it(`a lost answer to the ${what} create is not repeated: the retry finds what was made`, async () => {
      h.sim.inject({ operation: op, action: 'applyThenDrop' });
      const result = await submitToKfp(h.client(), churn(), { requestId: 'r1' });
      assert.ok(result.run);
      assert.equal(h.sim.pipelines.size, 1);
      assert.equal(h.sim.versions.size, 1);
      assert.equal(h.sim.experiments.size, 1);
      assert.equal(h.sim.runs.size, 1);
      assert.equal(h.sim.count({ operation: op }), 1, `${op} was sent once`);
    });

    it(`a dropped connection before the ${what} create reached KFP is retried once`, async () => {
      h.sim.inject({ operation: op, action: 'drop' });
      await submitToKfp(h.client(), churn(), { requestId: 'r1' });
      assert.equal(h.sim.count({ operation: op }), 2);
      assert.equal(h.sim.runs.size, 1);
      assert.equal(h.sim.versions.size, 1);
    });
  }

  it('a 500 on a create is retried after a look-up; a 500 that persists is reported', async () => {
    h.sim.inject({ operation: 'RunService_CreateRun', status: 500 });
    const ok = await submitToKfp(h.client(), churn(), { requestId: 'r1' });
    assert.equal(ok.runCreated, true);
    assert.equal(h.sim.runs.size, 1);
    h.sim.inject({ operation: 'RunService_CreateRun', status: 500, times: 5 });
    await assert.rejects(submitToKfp(h.client(), churn(), { requestId: 'r2' }), (err: unknown) => err instanceof KfpError && err.kind === 'server' && /failed \(500\)/.test(err.message));
    assert.equal(h.sim.runs.size, 1);
  });

  it('a 409 on the pipeline create (someone else made it meanwhile) uses that pipeline', async () => {
    const client = h.client();
    await submitToKfp(client, churn(), { versionOnly: true });
    const pipelineId = [...h.sim.pipelines.keys()][0];
    // The look-up misses once (a 404 as if not yet visible), the create then collides.
    h.sim.inject({ operation: 'PipelineService_GetPipelineByName', status: 404, message: 'NotFound: not yet' });
    const result = await submitToKfp(client, churn(), { versionOnly: true });
    assert.equal(result.pipeline.pipeline_id, pipelineId);
    assert.equal(h.sim.count({ operation: 'PipelineService_CreatePipeline', status: 409 }), 1);
    assert.equal(h.sim.pipelines.size, 1);
  });

  it('reads retry a dropped connection with a growing delay', async () => {
    h.sim.inject({ operation: 'PipelineService_GetPipelineByName', action: 'drop', times: 2 });
    await submitToKfp(h.client(), churn(), { versionOnly: true });
    assert.deepEqual(h.sleeps, [500, 1000]);
  });

  it('a schedule becomes a recurring run with the 6-field cron, once', async () => {
    const client = h.client();
    const schedule = { crontab: '30 2 * * 1-5', maxConcurrency: 2, catchup: true };
    const result = await submitToKfp(client, churn(), { schedule, parameters: { epochs: '3' } });
    assert.ok(result.recurringRun);
    const stored = h.sim.recurringRuns.get(result.recurringRun.recurring_run_id);
    assert.deepEqual(stored?.trigger, { cron_schedule: { cron: '0 30 2 * * 1-5' } });
    assert.equal(stored?.max_concurrency, '2');
    assert.equal(stored?.no_catchup, false);
    assert.equal(stored?.mode, 'ENABLE');
    assert.deepEqual((stored?.runtime_config as { parameters: unknown }).parameters, { epochs: 3 });
    const again = await submitToKfp(client, churn(), { schedule, parameters: { epochs: '3' } });
    assert.equal(again.recurringRunCreated, false);
    assert.equal(h.sim.recurringRuns.size, 1);
    assert.equal(h.sim.runs.size, 0);
    // A new version with the same crontab is a new schedule, and the old one is pointed out.
    const changed = await submitToKfp(client, churn((t) => t.replace('python:3.12-slim', 'python:3.13-slim')), { schedule });
    assert.equal(changed.recurringRunCreated, true);
    assert.deepEqual(changed.otherSchedules?.map((r) => r.recurring_run_id), [result.recurringRun.recurring_run_id]);
  });

  it('bad parameters and schedules are refused before anything is sent', async () => {
    const client = h.client();
    await assert.rejects(submitToKfp(client, churn(), { parameters: { epochs: 'many' } }), (e: unknown) => e instanceof KfpInputError && /"epochs" is an integer/.test(e.message));
    await assert.rejects(submitToKfp(client, churn(), { parameters: { epoch: '1' } }), (e: unknown) => e instanceof KfpInputError && /no parameter "epoch"; its parameters are balanced, epochs, layers, learning_rate, source/.test(e.message));
    await assert.rejects(submitToKfp(client, churn(), { schedule: { crontab: '0 0 2 * * *' } }), (e: unknown) => e instanceof ScheduleError && /6 fields/.test(e.message));
    await assert.rejects(submitToKfp(client, churn(), { schedule: { crontab: '0 2 * * *', maxConcurrency: 11 } }), ScheduleError);
    assert.equal(h.sim.requests.length, 0);
  });
});

describe('typedParameters', () => {
  const declared = churn().parameters;
  it('types each value as the pipeline declares it', () => {
    assert.deepEqual(typedParameters(declared, { epochs: '7', learning_rate: '1e-3', balanced: 'TRUE', layers: '[8, 4]', source: '42' }), {
      balanced: true, epochs: 7, layers: [8, 4], learning_rate: 0.001, source: '42',
    });
  });
  it('names the parameter and the type it wants', () => {
    assert.throws(() => typedParameters(declared, { balanced: 'yes' }), /"balanced" is true or false/);
    assert.throws(() => typedParameters(declared, { layers: '{"a": 1}' }), /"layers" is a list/);
    assert.throws(() => typedParameters(declared, { learning_rate: 'fast' }), /"learning_rate" is a number/);
    assert.throws(() => typedParameters(declared, { epochs: '1.5' }), /"epochs" is an integer/);
  });
});
