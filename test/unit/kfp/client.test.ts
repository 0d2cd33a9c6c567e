// The KFP client's run and schedule calls against the simulated KFP server, and the
// simulation's own honesty: its routes are KFP's (checked against the published swagger when
// ../shared is present) and it refuses bodies KFP would refuse.

import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { submitToKfp } from '../../../src/kfp/submit';
import { bodyProblems, KFP_SWAGGER_PATH, ROUTES, swaggerAvailable, swaggerRoutes } from '../../sim/kfpSwagger';
import { churn, KfpHarness, startKfp } from './support';

describe('KFP client: runs and schedules (simulated KFP server)', () => {
  let h: KfpHarness;
  beforeEach(async () => { h = await startKfp({ taskOutcome: (task, attempt) => (task === 'train' && attempt === 1 ? 'fail' : 'succeed') }); });
  afterEach(() => h.close());

  it('follows a run: state, per-task state from run_details, step logs; retry after a failure; list per experiment', async () => {
    const client = h.client();
    const submitted = await submitToKfp(client, churn(), { experiment: 'nightly' });
    const runId = submitted.run?.run_id ?? '';
    const seen: string[] = [];
    let run = await client.getRun(runId);
    for (let i = 0; i < 20 && !['SUCCEEDED', 'FAILED'].includes(run.state ?? ''); i++) {
      seen.push(`${run.state ?? ''}:${(run.run_details?.task_details ?? []).map((t) => `${t.display_name ?? ''}=${t.state ?? ''}`).join(',')}`);
      run = await client.getRun(runId);
    }
    assert.equal(run.state, 'FAILED');
    assert.deepEqual(seen, ['RUNNING:', 'RUNNING:load=RUNNING', 'RUNNING:load=SUCCEEDED', 'RUNNING:load=SUCCEEDED,train=RUNNING']);
    const train = run.run_details?.task_details?.find((t) => t.display_name === 'train');
    assert.equal(train?.state, 'FAILED');
    assert.match(await client.stepLog(runId, train?.pod_name ?? ''), /simulated step train/);

    await client.retryRun(runId);
    h.sim.finish(runId);
    run = await client.getRun(runId);
    assert.equal(run.state, 'SUCCEEDED');
    assert.deepEqual(run.run_details?.task_details?.map((t) => t.state), ['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    await assert.rejects(client.retryRun(runId), /only a failed or canceled run can be retried/);

    const experimentId = submitted.experiment?.experiment_id ?? '';
    const other = await submitToKfp(client, churn(), { experiment: 'nightly' });
    const listed = await client.listRuns({ experimentId });
    assert.deepEqual(listed.map((r) => r.run_id), [other.run?.run_id, runId], 'newest first');
  });

  it('terminates a running run', async () => {
    const client = h.client();
    const { run } = await submitToKfp(client, churn());
    await client.getRun(run?.run_id ?? '');
    await client.terminateRun(run?.run_id ?? '');
    assert.equal((await client.getRun(run?.run_id ?? '')).state, 'CANCELED');
    await assert.rejects(client.terminateRun(run?.run_id ?? ''), /already finished/);
  });

  it('lists every page', async () => {
    const client = h.client();
    const { experiment } = await submitToKfp(client, churn(), { requestId: 'r0' });
    for (let i = 1; i < 105; i++) await client.createRun({ display_name: `r${i}`, experiment_id: experiment?.experiment_id ?? '', pipeline_version_reference: { pipeline_id: [...h.sim.pipelines.keys()][0] ?? '' } });
    const runs = await client.listRuns({ experimentId: experiment?.experiment_id ?? '' });
    assert.equal(runs.length, 105);
    assert.equal(new Set(runs.map((r) => r.run_id)).size, 105);
    assert.equal(h.sim.count({ operation: 'RunService_ListRuns' }) >= 2, true);
  });

  it('enables, disables and deletes a schedule', async () => {
    const client = h.client();
    const { recurringRun } = await submitToKfp(client, churn(), { schedule: { crontab: '@daily' } });
    const id = recurringRun?.recurring_run_id ?? '';
    assert.equal((await client.getRecurringRun(id)).trigger?.cron_schedule?.cron, '0 0 0 * * *');
    await client.setRecurringRunEnabled(id, false);
    assert.equal((await client.getRecurringRun(id)).status, 'DISABLED');
    await client.setRecurringRunEnabled(id, true);
    assert.equal((await client.listRecurringRuns())[0]?.status, 'ENABLED');
    await client.deleteRecurringRun(id);
    assert.deepEqual(await client.listRecurringRuns(), []);
    await assert.rejects(client.getRecurringRun(id), /not found/);
  });
});

describe('the simulated KFP server follows KFP', () => {
  it('serves only routes of the published v2beta1 swagger, with its query parameters', function () {
    if (!swaggerAvailable()) {
      console.log(`      (skipped the swagger comparison: ${KFP_SWAGGER_PATH} is absent)`);
      return;
    }
    const published = swaggerRoutes();
    for (const route of ROUTES) {
      const match = published.find((p) => p.method === route.method && p.template === route.template);
      assert.ok(match, `${route.method} ${route.template} is not in the swagger`);
      assert.equal(match.operationId, route.operationId);
      assert.deepEqual([...route.queryParams].sort(), [...match.queryParams].filter((q) => q !== 'uploadfile').sort(), route.template);
      assert.equal(route.bodyRef, match.bodyRef, route.template);
    }
  });

  it('refuses a misspelt or mistyped field in a body, and accepts the client\'s bodies', async () => {
    assert.deepEqual(bodyProblems('v2beta1Run', { display_name: 'x', experiment_id: 'e' }), []);
    assert.match(bodyProblems('v2beta1Run', { display_name: 'x', experimentId: 'e' }).join(), /experimentId/);
    if (swaggerAvailable()) {
      assert.match(bodyProblems('v2beta1RecurringRun', { display_name: 'x', no_catchup: 'yes' }).join(), /no_catchup: must be boolean/);
      assert.match(bodyProblems('v2beta1Run', { display_name: 'x', pipeline_version_reference: { pipeline_id: 'p', version: 'v' } }).join(), /"version"/);
    }
    const h = await startKfp();
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(`${h.sim.url}/apis/v2beta1/experiments`, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(JSON.stringify({ displayName: 'camelCase is not the wire form' }));
      });
      assert.equal(status, 400);
      assert.equal(h.sim.experiments.size, 0);
    } finally {
      await h.close();
    }
  });
});
