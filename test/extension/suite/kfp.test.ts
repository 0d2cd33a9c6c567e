// The Kubeflow Pipelines side in a real VS Code, against the SIMULATED KFP API server of
// test/sim/kfpServer.ts (multi-user, under /pipeline, Bearer token from a file, metrics in
// its simulated ML Metadata) started here, in the extension host: Run on Kubeflow (once,
// even when invoked twice) creates the pipeline, its version, the experiment and one run;
// the Runs view's Kubeflow Pipelines section lists the run with its steps and metrics as the
// server advances it, and the cell chips follow; the run compares with a local run and
// opens its details; Stop and Retry reach the server; the Kubeflow view shows experiments
// and schedules (disable/enable); no endpoint, an unreachable one, a 401, a 403 and a login
// page instead of the API give messages naming the setting to fix. With
// flowbook.images.registry set, Run on Kubeflow builds the step images as Run on Cluster does
// (Kaniko on a SIMULATED cluster, pushing to a real local registry) and the uploaded IR names
// them; a failed or cancelled build uploads nothing and leaves no build Pod. Settings are
// restored at the end, so the suites after this one see no Kubeflow.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseAllDocuments } from 'yaml';
import type { TreeSummary } from '../../../src/extension/cluster/index';
import { StaticCredentials } from '../../../src/images/dockerConfig';
import { registryPool } from '../../../src/images/pool';
import { SimulatedKfp } from '../../sim/kfpServer';
import { startSim, type SimHarness } from '../../sim/harness';
import { closedPort } from '../../support/ports';
import { startRegistry, type TestRegistry } from '../../support/registry';
import { pushBaseImage } from '../../unit/images/baseImage';
import { writeFakeRun } from '../../support/runRecords';
import { api, closeAllEditors, freshCopy, openNotebook, waitFor, workspaceDir } from './helpers';

const NS = 'team-a';
const TOKEN = 'alice-token-0123456789';
const KEYS = ['kfp.endpoint', 'kfp.namespace', 'kfp.tokenFile', 'kfp.uiUrl'];

async function setKfp(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration('flowbook').update(key, value, vscode.ConfigurationTarget.Global);
}

type RunResult = { runId?: string; url?: string } | undefined;

/** The image of each executor in an uploaded pipeline version, by executor name. */
function executorImages(content: string): Record<string, string> {
  const spec = parseAllDocuments(content)[0]?.toJS() as { deploymentSpec: { executors: Record<string, { container: { image: string } }> } };
  return Object.fromEntries(Object.entries(spec.deploymentSpec.executors).map(([name, e]) => [name, e.container.image]));
}

/** A KFP run as the Runs view names it. */
function runNode(runId: string): { kind: 'run'; source: 'kfp'; id: string } {
  return { kind: 'run', source: 'kfp', id: runId };
}

/** The Runs view's row of a KFP run: its label is the pipeline, its tooltip names the run's key. */
function runItem(section: TreeSummary[], key: string): TreeSummary | undefined {
  return section.find((r) => r.contextValue.startsWith('run:') && r.tooltip.includes(`run \`${key}\``));
}

/** The Kubeflow view's experiments (under its "Experiments" group), each with its schedules. */
function experimentsOf(view: TreeSummary[]): TreeSummary[] {
  return view.find((g) => g.contextValue === 'kfpGroup:experiments')?.children ?? [];
}

/** The run key Flowbook puts in a KFP run's name (`<pipeline> <key>`). */
function keyOf(sim: SimulatedKfp, runId: string): string {
  return String(sim.runs.get(runId)?.run.display_name).split(' ').at(-1) ?? '';
}

describe('Kubeflow Pipelines (simulated KFP)', function () {
  this.timeout(120_000);
  let sim: SimulatedKfp;
  let dir = '';
  let uri: vscode.Uri;
  let pipelineName = '';
  let firstRun = '';

  /** Refreshes the Kubeflow view (as its Refresh button does) until `probe` finds what it waits for. */
  const viewUntil = <T>(what: string, probe: (view: TreeSummary[]) => T | undefined): Promise<T> =>
    waitFor(what, async () => {
      await vscode.commands.executeCommand('flowbook.refreshKfpRuns');
      return probe((await api()).kfp.view());
    }, 60_000);
  /** Refreshes the Runs view until `probe` finds what it waits for in its Kubeflow Pipelines section. */
  const runsUntil = <T>(what: string, probe: (section: TreeSummary[]) => T | undefined): Promise<T> =>
    waitFor(what, async () => {
      await vscode.commands.executeCommand('flowbook.refreshKfpRuns');
      return probe((await api()).kfp.runsSection());
    }, 60_000);

  before(async () => {
    // The last task of each run writes metrics (a Metrics artifact in the simulated ML Metadata).
    sim = await SimulatedKfp.start({ multiUser: true, prefix: '/pipeline', taskMetrics: (task, runId) => (sim.runs.get(runId)?.tasks.at(-1) === task ? { accuracy: 0.875, roc_auc: 0.9125 } : undefined) });
    sim.addUser('alice@example.com', TOKEN, [NS]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-kfp-ext-'));
    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
    // The endpoint last, as a user who pastes the address once the rest is set: with the Runs
    // view open, the endpoint alone turns the Kubeflow section on and it asks KFP at once.
    await setKfp('kfp.namespace', NS);
    await setKfp('kfp.tokenFile', tokenFile);
    await setKfp('kfp.uiUrl', `${sim.url}/ui/`);
    await setKfp('kfp.endpoint', `${sim.url}/pipeline`);
    uri = freshCopy('pipeline.ipynb', 'kfp-run.ipynb');
  });

  after(async () => {
    await closeAllEditors();
    for (const key of KEYS) await setKfp(key, undefined);
    await sim?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('Run on Kubeflow creates the pipeline, its version, the experiment and exactly one run when invoked twice', async () => {
    const flowbook = await api();
    const doc = await openNotebook(uri);
    const analysis = await flowbook.analysis(doc);
    pipelineName = analysis?.pipeline.name ?? '';
    assert.ok(pipelineName, 'the notebook has a pipeline');
    const [first, second] = await Promise.all([
      vscode.commands.executeCommand<RunResult>('flowbook.runOnKubeflow', uri),
      vscode.commands.executeCommand<RunResult>('flowbook.runOnKubeflow', uri),
    ]);
    assert.equal(flowbook.kfp.lastRunProblem(), undefined, 'the submit worked');
    assert.ok(first?.runId && second?.runId, 'both invocations returned the run');
    assert.equal(first.runId, second.runId, 'both name the same run');
    assert.equal(sim.count({ operation: 'RunService_CreateRun', status: 200 }), 1, 'one create reached KFP');
    assert.equal(sim.runs.size, 1, 'one run exists');
    assert.equal(sim.pipelines.size, 1, 'one pipeline exists');
    assert.equal(sim.versions.size, 1, 'one pipeline version exists');
    assert.equal(sim.experiments.size, 1, 'one experiment exists');
    const pipeline = [...sim.pipelines.values()][0];
    assert.equal(pipeline?.display_name, pipelineName, 'the pipeline is named after the notebook\'s pipeline');
    assert.equal(pipeline?.namespace, NS, 'the pipeline is in the profile namespace');
    const experiment = [...sim.experiments.values()][0];
    assert.equal(experiment?.namespace, NS, 'the experiment is in the profile namespace');
    const run = sim.runs.get(first.runId);
    assert.ok(run, 'the returned id is the stored run');
    assert.equal(run.run.experiment_id, experiment?.experiment_id, 'the run is in the experiment');
    const version = [...sim.versions.values()][0];
    assert.equal((run.run.pipeline_version_reference as { pipeline_version_id?: string }).pipeline_version_id, version?.pipeline_version_id, 'the run uses the uploaded version');
    assert.deepEqual(run.tasks.slice().sort(), analysis?.pipeline.steps.map((s) => s.name).sort(), 'the run has one task per step');
    assert.equal(sim.requests.every((r) => r.authorization), true, 'every request carried the token');
    assert.deepEqual(new Set(Object.values(executorImages(version?.content ?? ''))), new Set(['python:3.12-slim']), 'without a registry every step runs the default image');
    assert.match(flowbook.kfp.lastImageNote() ?? '', /^Steps load, train, evaluate run in python:3\.12-slim, which lacks cloudpickle \(Flowbook passes values between steps with it\)\. Set flowbook\.images\.registry .*flowbook\.defaultImage/);
    firstRun = first.runId;
  });

  it('the Runs view lists the run with its steps and metrics as KFP advances it, and the cells show the tasks\' states', async () => {
    const flowbook = await api();
    await vscode.commands.executeCommand('flowbook.runs.focus');
    const key = keyOf(sim, firstRun);
    const seen = new Set<string>();
    const done = await runsUntil('the run to succeed in the Runs view', (section) => {
      const run = runItem(section, key);
      if (run) seen.add(run.description.split(' · ')[0] ?? '');
      return run?.description.startsWith('succeeded') && run.description.includes('accuracy') ? run : undefined;
    });
    assert.ok(seen.has('running') || seen.has('pending'), `the view showed the run going before it finished (saw ${[...seen].join(', ')})`);
    assert.equal(done.label, pipelineName, 'the row is named after the pipeline');
    assert.equal(done.contextValue, 'run:succeeded:kfp');
    assert.match(done.description, /^succeeded · 3\/3 · .* · accuracy 0\.875 roc_auc 0\.9125$/);
    const tooltip = done.tooltip.replace(/&nbsp;/g, ' ').replace(/\\([_-])/g, '$1');
    assert.match(tooltip, /Experiment: /, 'the experiment is in the tooltip, not on the row');
    assert.match(tooltip, /\*\*Metrics\*\*\n- accuracy = 0\.875\n- roc_auc = 0\.9125/);
    assert.deepEqual(done.children.map((t) => `${t.label} ${t.description.split(' · ')[0] ?? ''}`).sort(), ['evaluate succeeded', 'load succeeded', 'train succeeded']);
    assert.ok(done.children.every((t) => t.contextValue === 'runStep:succeeded:hasLogs:runDone:kfp'), 'each step has a pod, so Show Logs is offered, and no Re-run from Step');
    // The Kubeflow view no longer lists runs: the pipeline with its version, one experiment with its run count.
    const view = (await api()).kfp.view();
    assert.deepEqual(view.map((g) => `${g.label} ${g.description}`), ['Pipelines 1', 'Experiments 1']);
    assert.deepEqual(view[0]?.children.map((p) => `${p.label}: ${p.description}`), [`${pipelineName}: 1 version`]);
    const experiments = experimentsOf(view);
    assert.match(experiments[0]?.description ?? '', /^1 run$/);
    assert.match((experiments[0]?.tooltip ?? '').replace(/\\([_-])/g, '$1'), new RegExp(`Namespace: ${NS}`));

    const doc = await openNotebook(uri);
    const train = doc.getCells().find((c) => c.document.getText().startsWith('model = '));
    assert.ok(train, 'the fixture has the train cell');
    assert.deepEqual(await flowbook.kfp.cellChips(train), ['$(cloud) Succeeded on Kubeflow']);

    // The notebook is open, so the run's graph is the notebook's, coloured by the tasks' states.
    const graph = await waitFor('the run graph', async () => {
      const drawn = new Promise<{ runId?: string; statuses: Record<string, string> } | undefined>((resolve) => {
        const sub = flowbook.onDidRenderGraph((r) => {
          if (r.runId === firstRun) {
            sub.dispose();
            resolve(r);
          }
        });
        setTimeout(() => {
          sub.dispose();
          resolve(undefined);
        }, 10_000);
      });
      await vscode.commands.executeCommand('flowbook.openRunGraph', runNode(firstRun));
      return drawn;
    }, 60_000);
    assert.deepEqual(Object.values(graph.statuses).sort(), ['succeeded', 'succeeded', 'succeeded']);
    await closeAllEditors();
  });

  it('a KFP run compares side by side with a local run, and its details open', async () => {
    const flowbook = await api();
    const runsDir = path.join(workspaceDir(), 'kfp-compare', '.flowbook', 'runs');
    const local = writeFakeRun(runsDir, {
      id: '20260101-090000-cccc', notebook: path.join(workspaceDir(), 'kfp-compare', 'kfp-run.ipynb'), startedAt: '2026-01-01T09:00:00.000Z',
      steps: [{ name: 'evaluate', metrics: { accuracy: 0.8 } }],
    });
    await vscode.commands.executeCommand('flowbook.refreshRuns');
    const rendered = (kind: 'details' | 'compare') => new Promise<{ runs: { id: string }[]; charts: number }>((resolve) => {
      const sub = flowbook.onDidRenderResults((r) => {
        if (r.kind === kind) {
          sub.dispose();
          resolve(r);
        }
      });
    });
    const nodes = [{ kind: 'run', source: 'local', id: local.id }, runNode(firstRun)];
    const report = await waitFor('the comparison of a local and a KFP run', async () => {
      const compared = rendered('compare');
      await vscode.commands.executeCommand('flowbook.compareRuns', nodes[0], nodes);
      const r = await Promise.race([compared, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5000))]);
      return r && r.runs.length === 2 ? r : undefined;
    }, 60_000);
    assert.deepEqual(report.runs.map((r) => r.id), [local.id, firstRun], 'oldest first: the local run, then the KFP run');
    assert.equal(report.charts, 2, 'a chart per metric (accuracy from both; roc_auc from the KFP run)');
    const details = rendered('details');
    await vscode.commands.executeCommand('flowbook.showRunDetails', runNode(firstRun));
    assert.deepEqual((await details).runs.map((r) => r.id), [firstRun]);
    await closeAllEditors();
    fs.rmSync(path.join(workspaceDir(), 'kfp-compare'), { recursive: true, force: true });
  });

  it('Stop and Retry from the Runs view reach KFP, and the view follows', async () => {
    const flowbook = await api();
    const result = await vscode.commands.executeCommand<RunResult>('flowbook.runOnKubeflow', uri);
    assert.ok(result?.runId, `a second run was created (${flowbook.kfp.lastRunProblem() ?? ''})`);
    const runId = result.runId;
    assert.equal(sim.runs.size, 2);
    await vscode.commands.executeCommand('flowbook.stopRun', runNode(runId));
    assert.equal(sim.count({ operation: 'RunService_TerminateRun', status: 200 }), 1, 'the stop reached KFP');
    const key = keyOf(sim, runId);
    const canceled = await runsUntil('the run to show as cancelled', (section) => {
      const run = runItem(section, key);
      return run?.description.startsWith('cancelled') ? run : undefined;
    });
    assert.equal(canceled.contextValue, 'run:cancelled:kfp', 'a cancelled run offers Retry (Re-run)');
    await vscode.commands.executeCommand('flowbook.refreshKfpRuns');
    assert.match(experimentsOf(flowbook.kfp.view())[0]?.description ?? '', /^2 runs$/);

    await vscode.commands.executeCommand('flowbook.rerun', runNode(runId));
    assert.equal(sim.count({ operation: 'RunService_RetryRun', status: 200 }), 1, 'the retry reached KFP');
    await runsUntil('the retried run to succeed', (section) => runItem(section, key)?.description.startsWith('succeeded') || undefined);
    assert.equal(sim.runs.get(runId)?.run.state, 'SUCCEEDED');

    // Stopping a finished run: KFP refuses, the run stays as it is, nothing else is sent.
    await vscode.commands.executeCommand('flowbook.terminateKfpRun', runNode(runId));
    assert.equal(sim.count({ operation: 'RunService_TerminateRun', status: 400 }), 1);
    assert.equal(sim.runs.get(runId)?.run.state, 'SUCCEEDED');
  });

  it('the Kubeflow view shows the experiment\'s schedules, and disables and enables one', async () => {
    const experiment = [...sim.experiments.values()][0];
    const reference = sim.runs.get(firstRun)?.run.pipeline_version_reference;
    sim.recurringRuns.set('recurring-sim-1', {
      recurring_run_id: 'recurring-sim-1', display_name: `${pipelineName} 0 3 * * * 0a1b2c3d`, experiment_id: experiment?.experiment_id, namespace: NS,
      pipeline_version_reference: reference, trigger: { cron_schedule: { cron: '0 0 3 * * *' } }, max_concurrency: '1', no_catchup: true, mode: 'ENABLE', status: 'ENABLED',
    });
    const schedule = await viewUntil('the schedule in the Kubeflow view', (view) => experimentsOf(view)[0]?.children.find((c) => c.contextValue === 'kfpSchedule:enabled'));
    assert.equal(schedule.label, `${pipelineName} · 0 3 * * *`);
    const node = { kind: 'schedule', experimentId: String(experiment?.experiment_id), recurringRunId: 'recurring-sim-1' };
    await vscode.commands.executeCommand('flowbook.disableKfpSchedule', node);
    assert.equal(sim.recurringRuns.get('recurring-sim-1')?.status, 'DISABLED');
    await viewUntil('the schedule to show as disabled', (view) => experimentsOf(view)[0]?.children.find((c) => c.contextValue === 'kfpSchedule:disabled'));
    await vscode.commands.executeCommand('flowbook.enableKfpSchedule', node);
    assert.equal(sim.recurringRuns.get('recurring-sim-1')?.status, 'ENABLED');
    sim.recurringRuns.delete('recurring-sim-1');
  });

  it('a 403 names the profile namespace and what to ask for, in the view and on Run on Kubeflow', async () => {
    const flowbook = await api();
    await setKfp('kfp.namespace', 'team-b');
    const message = await viewUntil('the view to show the 403', (view) => view.find((i) => i.contextValue === 'kfpMessage:error'));
    assert.match(message.label, /"team-b"/, 'the message names the namespace');
    assert.match(message.label, /owner of profile "team-b"|kubeflow-edit/, 'the message says whom to ask');
    const note = await runsUntil('the Runs view to show the 403', (section) => section.find((i) => i.contextValue === 'runMessage:error'));
    assert.match(note.label, /"team-b"/, 'the Runs view\'s Kubeflow section says the same');
    const runs = sim.runs.size;
    const result = await vscode.commands.executeCommand<RunResult>('flowbook.runOnKubeflow', uri);
    assert.equal(result, undefined, 'nothing was started');
    assert.equal(sim.runs.size, runs, 'no run was created');
    assert.match(flowbook.kfp.lastRunProblem() ?? '', /\(403\)|forbidden|may not|denied/i);
    assert.match(flowbook.kfp.lastRunProblem() ?? '', /"team-b"/);
    assert.doesNotMatch(flowbook.kfp.lastRunProblem() ?? '', new RegExp(TOKEN), 'the token is never shown');
    await setKfp('kfp.namespace', NS);
  });

  it('a login page instead of the API says the request was not authenticated', async () => {
    const flowbook = await api();
    sim.inject({ operation: 'ExperimentService_ListExperiments', action: 'html' });
    const message = await viewUntil('the view to show the login page', (view) => view.find((i) => i.contextValue === 'kfpMessage:error'));
    assert.match(message.label, /login page/);
    const runs = sim.runs.size;
    // Every request gets the login page until the command has run: the view's polls would use up a one-shot fault.
    sim.inject({ action: 'html', times: Number.MAX_SAFE_INTEGER });
    const result = await Promise.resolve(vscode.commands.executeCommand<RunResult>('flowbook.runOnKubeflow', uri)).finally(() => sim.clearFaults());
    assert.equal(result, undefined, 'nothing was started');
    assert.equal(sim.runs.size, runs, 'no run was created');
    assert.match(flowbook.kfp.lastRunProblem() ?? '', /login page/);
    assert.match(flowbook.kfp.lastRunProblem() ?? '', /flowbook\.kfp\.tokenSource.*flowbook\.kfp\.tokenFile/, 'the message names the settings');
    assert.doesNotMatch(flowbook.kfp.lastRunProblem() ?? '', /--token-file/, 'not the command-line option');
    // The next refresh gets the API again and the message goes away.
    await viewUntil('the view to recover', (view) => (view.some((i) => i.contextValue === 'kfpMessage:error') ? undefined : view));
  });

  /** Runs "Run on Kubeflow" and checks that it started nothing: no upload, no run. */
  const refused = async (options?: Record<string, unknown>): Promise<string> => {
    const flowbook = await api();
    const [versions, runs, creates] = [sim.versions.size, sim.runs.size, sim.count({ operation: 'RunService_CreateRun' })];
    const result = await vscode.commands.executeCommand<RunResult>('flowbook.runOnKubeflow', uri, options);
    assert.equal(result, undefined, 'nothing was started');
    assert.equal(sim.versions.size, versions, 'no pipeline version was uploaded');
    assert.equal(sim.runs.size, runs, 'no run was created');
    assert.equal(sim.count({ operation: 'RunService_CreateRun' }), creates, 'no run creation was sent');
    return flowbook.kfp.lastRunProblem() ?? '';
  };

  it('without flowbook.kfp.endpoint, Run on Kubeflow says which setting to set, and sends nothing', async () => {
    await setKfp('kfp.endpoint', undefined);
    try {
      const requests = sim.requests.length;
      const problem = await refused();
      assert.match(problem, /^No Kubeflow Pipelines endpoint is set\. Set flowbook\.kfp\.endpoint to your Kubeflow address, e\.g\. https:\/\/kubeflow\.example\.com/);
      assert.doesNotMatch(problem, /--endpoint/, 'no command-line option in VS Code');
      assert.equal(sim.requests.length, requests, 'no request was sent');
    } finally {
      await setKfp('kfp.endpoint', `${sim.url}/pipeline`);
    }
  });

  it('an unreachable endpoint is named, with the setting to check', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}/pipeline`;
    await setKfp('kfp.endpoint', endpoint);
    try {
      const problem = await refused();
      assert.match(problem, new RegExp(`^Cannot reach Kubeflow Pipelines at ${endpoint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .*refused.*Check flowbook\\.kfp\\.endpoint`));
    } finally {
      await setKfp('kfp.endpoint', `${sim.url}/pipeline`);
    }
  });

  it('a token KFP refuses (401) names the token settings, never the token', async () => {
    const wrong = path.join(dir, 'wrong-token');
    fs.writeFileSync(wrong, 'bob-token-not-known', { mode: 0o600 });
    await setKfp('kfp.tokenFile', wrong);
    try {
      const problem = await refused();
      assert.match(problem, /refused the credentials \(401\)/);
      assert.match(problem, /flowbook\.kfp\.tokenSource.*flowbook\.kfp\.tokenFile/);
      assert.doesNotMatch(problem, /--token-file|bob-token-not-known/);
    } finally {
      await setKfp('kfp.tokenFile', path.join(dir, 'token'));
    }
  });

  describe('step images (simulated cluster with Kaniko, real local registry)', function () {
    let h: SimHarness;
    let reg: TestRegistry;
    const IMAGE_KEYS = ['kubeconfig', 'defaultImage', 'images.registry', 'images.builder', 'images.insecure'];
    const setSetting = (key: string, value: unknown) => vscode.workspace.getConfiguration('flowbook').update(key, value, vscode.ConfigurationTarget.Global);
    const buildPods = () => h.sim.store.list('/pods', NS).filter((p) => JSON.stringify(p).includes('kaniko'));

    before(async () => {
      reg = await startRegistry();
      const pool = registryPool({ credentials: new StaticCredentials({}), insecureRegistries: [reg.host] });
      await pushBaseImage(pool, reg.host, 'flowbook/base', '1');
      h = await startSim({ namespace: NS });
      await setSetting('kubeconfig', h.kubeconfig);
      await setSetting('defaultImage', `${reg.host}/flowbook/base:1`);
      await setSetting('images.registry', `${reg.host}/team/nb`);
      await setSetting('images.builder', 'kaniko');
      await setSetting('images.insecure', true);
      const flowbook = await api();
      await waitFor('the kubeconfig to be found', () => (flowbook.cluster.state() !== 'unconfigured' ? true : undefined));
    });

    after(async () => {
      for (const key of IMAGE_KEYS) await setSetting(key, undefined);
      const flowbook = await api();
      await waitFor('the cluster to be gone', () => (flowbook.cluster.state() === 'unconfigured' ? true : undefined));
      await h?.close();
      await reg?.stop();
    });

    it('a failed build names the notebook and the builder\'s reason, uploads nothing and leaves no build Pod', async () => {
      uri = freshCopy('pipeline.ipynb', 'kfp-images-fail.ipynb');
      await (await api()).analysis(await openNotebook(uri));
      const problem = await refused({ images: 'build', requirements: ['fail-please==1.0'] });
      assert.match(problem, /^The step images of kfp-images-fail\.ipynb could not be built: /);
      assert.match(problem, /fail-please/);
      assert.ok((h.sim.kaniko?.builds.length ?? 0) >= 1, 'the build ran on the cluster');
      await waitFor('the build Pod to be deleted', () => (buildPods().length === 0 ? true : undefined));
    });

    it('a builder that cannot work here names flowbook.images.builder, and nothing is uploaded', async () => {
      uri = freshCopy('pipeline.ipynb', 'kfp-images-builder.ipynb');
      await (await api()).analysis(await openNotebook(uri));
      await setSetting('images.builder', 'podman');
      try {
        const problem = await refused({ images: 'build', requirements: ['numpy==1.26.4'] });
        assert.match(problem, /^The step images of kfp-images-builder\.ipynb could not be built: The podman builder cannot be used here: .*choose another builder \(flowbook\.images\.builder auto\|docker\|podman\|buildah\|kaniko\|oci\)/);
      } finally {
        await setSetting('images.builder', 'kaniko');
      }
    });

    it('cancelling during the build stops it, uploads nothing and deletes the build Pod', async () => {
      uri = freshCopy('pipeline.ipynb', 'kfp-images-cancel.ipynb');
      await (await api()).analysis(await openNotebook(uri));
      const abort = new AbortController();
      const started = h.sim.kaniko?.builds.length ?? 0;
      const refusal = refused({ images: 'build', requirements: ['hang-please==1.0'], signal: abort.signal });
      const build = await waitFor('the build to run', () => {
        const b = h.sim.kaniko?.builds[started];
        return b?.state === 'running' ? b : undefined;
      }, 60_000);
      abort.abort();
      assert.equal(await refusal, 'cancelled');
      await waitFor('the build Pod to be deleted', () => (buildPods().length === 0 ? true : undefined));
      assert.equal(build.state, 'deleted', 'the hanging build was stopped');
    });

    it('builds the step images with the image settings, and the uploaded version runs every step in them', async () => {
      const flowbook = await api();
      uri = freshCopy('pipeline.ipynb', 'kfp-images.ipynb');
      await flowbook.analysis(await openNotebook(uri));
      const versions = new Set(sim.versions.keys());
      const result = await vscode.commands.executeCommand<RunResult>('flowbook.runOnKubeflow', uri, { images: 'build', requirements: ['numpy==1.26.4'] });
      assert.ok(result?.runId, `the run started (${flowbook.kfp.lastRunProblem() ?? ''})`);
      assert.equal(flowbook.kfp.lastImageNote(), undefined, 'no default-image note with a registry');
      const build = h.sim.kaniko?.builds.at(-1);
      assert.equal(build?.state, 'succeeded', 'Kaniko built the image on the cluster');
      const image = build?.destinations[0] ?? '';
      assert.match(image, new RegExp(`^${reg.host.replace(/\./g, '\\.')}/team/nb:fb-[0-9a-f]{12,}$`));
      const uploaded = [...sim.versions.values()].filter((v) => !versions.has(v.pipeline_version_id));
      assert.equal(uploaded.length, 1, 'one new version');
      assert.deepEqual(executorImages(uploaded[0]?.content ?? ''), { 'exec-evaluate': image, 'exec-load': image, 'exec-train': image });
      const run = sim.runs.get(result.runId);
      assert.equal((run?.run.pipeline_version_reference as { pipeline_version_id?: string }).pipeline_version_id, uploaded[0]?.pipeline_version_id, 'the run uses it');
    });
  });
});
