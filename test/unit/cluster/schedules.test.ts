// Schedules on the Argo target: `flowbook submit --schedule` makes one CronWorkflow (Argo v4's
// `schedules` list), through the real @kubernetes/client-node, on the simulated cluster.

import * as assert from 'node:assert/strict';
import { CRON_WORKFLOWS, cronWorkflowFor, listSchedules, scheduleWorkflow, setScheduleSuspended, deleteSchedule } from '../../../src/cluster/schedules';
import { LABEL_MANAGED_BY } from '../../../src/cluster/resources';
import { ScheduleError } from '../../../src/common/cron';
import { pipelineWorkflow, SimHarness, startSim } from '../../sim/harness';
import { argoSchemaAvailable, ARGO_SCHEMA_PATH, cronWorkflowSchemaErrors } from '../../support/argoSchema';

describe('Argo schedules: CronWorkflows (simulated cluster)', () => {
  let h: SimHarness;
  beforeEach(async () => { h = await startSim({ argoController: false, kserveController: false, kaniko: false }); });
  afterEach(() => h.close());

  it('creates one CronWorkflow with a schedules list, the workflow spec with parameters applied, and Flowbook labels', async () => {
    const client = h.client();
    const wf = pipelineWorkflow('demo', { parameters: { rate: '0.1' } });
    const result = await scheduleWorkflow(client, wf, { crontab: '0 2 * * *', parameters: { rate: '0.5' }, pipelineName: 'demo' });
    assert.equal(result.created, true);
    const stored = h.sim.store.get('argoproj.io/cronworkflows', 'team-a', result.cronWorkflow.metadata.name ?? '');
    assert.ok(stored);
    const spec = stored.spec as { schedules: string[]; concurrencyPolicy: string; startingDeadlineSeconds?: number; workflowSpec: { arguments: { parameters: { name: string; value: string }[] } }; workflowMetadata: { labels: Record<string, string> } };
    assert.deepEqual(spec.schedules, ['0 2 * * *']);
    assert.equal(spec.concurrencyPolicy, 'Forbid');
    assert.equal(spec.startingDeadlineSeconds, 60);
    assert.deepEqual(spec.workflowSpec.arguments.parameters.find((p) => p.name === 'rate')?.value, '0.5');
    assert.equal(spec.workflowMetadata.labels[LABEL_MANAGED_BY], 'flowbook');
    assert.equal(stored.metadata.labels?.[LABEL_MANAGED_BY], 'flowbook');

    const again = await scheduleWorkflow(client, wf, { crontab: '0 2 * * *', parameters: { rate: '0.5' }, pipelineName: 'demo' });
    assert.equal(again.created, false);
    assert.equal(h.sim.count({ verb: 'create', resource: 'cronworkflows' }), 1);
  });

  it('a lost answer to the create is not repeated', async () => {
    h.sim.inject({ verb: 'create', resource: 'cronworkflows', action: 'applyThenDrop' });
    const result = await scheduleWorkflow(h.client(), pipelineWorkflow(), { crontab: '@daily' });
    assert.equal(result.created, true);
    assert.equal(h.sim.store.list('argoproj.io/cronworkflows', 'team-a').length, 1);
  });

  it('lists, suspends, resumes and deletes', async () => {
    const client = h.client();
    const { cronWorkflow } = await scheduleWorkflow(client, pipelineWorkflow(), { crontab: '*/10 * * * *', maxConcurrency: 3, catchup: true });
    const name = cronWorkflow.metadata.name ?? '';
    assert.equal(cronWorkflow.spec.concurrencyPolicy, 'Allow');
    assert.equal(cronWorkflow.spec.startingDeadlineSeconds, undefined);
    assert.deepEqual((await listSchedules(client, 'team-a')).map((s) => s.metadata.name), [name]);
    await setScheduleSuspended(client, 'team-a', name, true);
    assert.equal((await client.get<typeof cronWorkflow>(CRON_WORKFLOWS, 'team-a', name)).spec.suspend, true);
    await setScheduleSuspended(client, 'team-a', name, false);
    assert.equal((await client.get<typeof cronWorkflow>(CRON_WORKFLOWS, 'team-a', name)).spec.suspend, false);
    await deleteSchedule(client, 'team-a', name);
    assert.deepEqual(await listSchedules(client, 'team-a'), []);
  });

  it('says when Argo cannot express the concurrency cap, and refuses a bad crontab before sending', async () => {
    const { notes } = cronWorkflowFor(pipelineWorkflow(), { crontab: '0 2 * * *', maxConcurrency: 4 }, 'team-a');
    assert.match(notes.join(), /cannot cap overlapping runs at 4/);
    await assert.rejects(scheduleWorkflow(h.client(), pipelineWorkflow(), { crontab: '0 25 * * *' }), ScheduleError);
    assert.equal(h.sim.count({ resource: 'cronworkflows' }), 0);
  });

  it('the simulated cluster refuses v3\'s singular `schedule`', async () => {
    const { cronWorkflow } = cronWorkflowFor(pipelineWorkflow(), { crontab: '0 2 * * *' }, 'team-a');
    const old = { ...cronWorkflow, spec: { ...cronWorkflow.spec, schedule: '0 2 * * *' } };
    await assert.rejects(h.client().create(CRON_WORKFLOWS, 'team-a', old), /schedule/);
  });

  it('validates against Argo\'s published schema', function () {
    if (!argoSchemaAvailable()) {
      console.log(`      (skipped: ${ARGO_SCHEMA_PATH} is absent)`);
      return;
    }
    const { cronWorkflow } = cronWorkflowFor(pipelineWorkflow(), { crontab: '0 2 * * 1-5', timezone: 'Europe/Berlin' }, 'team-a');
    assert.deepEqual(cronWorkflowSchemaErrors(cronWorkflow), []);
    assert.notDeepEqual(cronWorkflowSchemaErrors({ ...cronWorkflow, spec: { ...cronWorkflow.spec, schedulez: [] } }), []);
  });
});
