// `flowbook submit|runs|schedules --target kfp` as a user runs them: a real child process of
// bin/flowbook.js talking to the simulated KFP server over HTTP.

import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXTURES, REPO_ROOT } from '../../support/notebooks';
import { writeFakeRun } from '../../support/runRecords';
import { CHURN_FILE, KfpHarness, startKfp } from './support';

const BIN = path.join(REPO_ROOT, 'bin', 'flowbook.js');
const TOKEN = 'cli-token-5e0b1f3a';

function flowbook(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('flowbook --target kfp (simulated KFP server)', function () {
  this.timeout(20000);
  let h: KfpHarness;
  let env: Record<string, string>;
  beforeEach(async () => {
    h = await startKfp({ multiUser: true, prefix: '/pipeline' });
    h.sim.addUser('alice', TOKEN, ['team-a']);
    env = { FLOWBOOK_KFP_ENDPOINT: `${h.sim.url}/pipeline`, FLOWBOOK_KFP_NAMESPACE: 'team-a', FLOWBOOK_KFP_TOKEN: TOKEN };
  });
  afterEach(() => h.close());

  it('submit prints the run\'s KFP UI link; runs lists it per experiment and shows its tasks', async () => {
    const r = await flowbook(env, 'submit', CHURN_FILE, '--target', 'kfp', '-p', 'epochs=4', '--experiment', 'weekly');
    assert.equal(r.code, 0, r.stderr);
    const runId = [...h.sim.runs.keys()][0] ?? '';
    assert.equal(r.stdout.trim(), `${h.sim.url}/_/pipeline/#/runs/details/${runId}`);
    assert.match(r.stderr, /version churn-[0-9a-f]{12} \(uploaded\)/);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(TOKEN));
    assert.deepEqual((h.sim.runs.get(runId)?.run.runtime_config as { parameters: unknown }).parameters, { epochs: 4 });

    const list = await flowbook(env, 'runs', '--target', 'kfp');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^weekly\\s+churn [0-9a-f]{10}\\s+\\S+\\s+\\d+/\\d+\\s+.*${runId}$`, 'm'));
    const stop = await flowbook(env, 'stop', runId, '--target', 'kfp');
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(h.sim.count({ operation: 'RunService_TerminateRun' }), 1);
    h.sim.finish(runId);
    const retry = await flowbook(env, 'retry', runId, '--target', 'kfp');
    assert.equal(retry.code, 0, retry.stderr);
    h.sim.finish(runId);
    const show = await flowbook(env, 'runs', runId, '--target', 'kfp');
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /SUCCEEDED/);
    assert.match(show.stdout, /^\s+train\s+SUCCEEDED/m);
  });

  it('submit NOTEBOOK --target kfp compiles it with the KFP emitter and runs it; the same notebook is not uploaded twice', async () => {
    const r = await flowbook(env, 'submit', path.join(FIXTURES, 'notebooks', 'basic.ipynb'), '--target', 'kfp');
    assert.equal(r.code, 0, r.stderr);
    const version = [...h.sim.versions.values()][0];
    assert.match(version?.content ?? '', /schemaVersion: 2\.1\.0/);
    const run = [...h.sim.runs.values()][0];
    assert.ok(run && run.tasks.length > 0, 'the run has the notebook\'s steps as tasks');
    assert.equal(r.stdout.trim(), `${h.sim.url}/_/pipeline/#/runs/details/${String(run.run.run_id)}`);
    const again = await flowbook(env, 'submit', path.join(FIXTURES, 'notebooks', 'basic.ipynb'), '--target', 'kfp');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /already there: not uploaded again/);
    assert.equal(h.sim.versions.size, 1);
    assert.equal(h.sim.runs.size, 2);
  });

  it('--version-only prints the version id and starts nothing; a second upload of the same file is skipped', async () => {
    const a = await flowbook(env, 'submit', CHURN_FILE, '--target', 'kfp', '--version-only');
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout.trim(), [...h.sim.versions.keys()][0]);
    const b = await flowbook(env, 'submit', CHURN_FILE, '--target', 'kfp', '--version-only');
    assert.match(b.stderr, /already there: not uploaded again/);
    assert.equal(h.sim.versions.size, 1);
    assert.equal(h.sim.runs.size, 0);
  });

  it('--schedule makes a recurring run; schedules list, disable, enable and delete it', async () => {
    const r = await flowbook(env, 'submit', CHURN_FILE, '--target', 'kfp', '--schedule', '0 2 * * *', '--max-concurrency', '3');
    assert.equal(r.code, 0, r.stderr);
    const id = [...h.sim.recurringRuns.keys()][0] ?? '';
    assert.match(r.stderr, /0 0 2 \* \* \* in KFP's 6-field form/);
    const list = await flowbook(env, 'schedules', 'list', '--target', 'kfp');
    assert.match(list.stdout, new RegExp(`ENABLED\\s+0 0 2 \\* \\* \\*\\s+3\\s+no\\s+${id}`));
    assert.equal((await flowbook(env, 'schedules', 'disable', id, '--target', 'kfp')).code, 0);
    assert.equal(h.sim.recurringRuns.get(id)?.status, 'DISABLED');
    assert.equal((await flowbook(env, 'schedules', 'enable', id, '--target', 'kfp')).code, 0);
    assert.equal(h.sim.recurringRuns.get(id)?.status, 'ENABLED');
    assert.equal((await flowbook(env, 'schedules', 'delete', id, '--target', 'kfp')).code, 0);
    assert.equal(h.sim.recurringRuns.size, 0);
  });

  it('usage and access problems exit 2 and 1 with the reason', async () => {
    const bad = await flowbook(env, 'submit', CHURN_FILE, '--target', 'kfp', '--schedule', '0 0 2 * * *');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /6 fields/);
    const param = await flowbook(env, 'submit', CHURN_FILE, '--target', 'kfp', '-p', 'epochs=lots');
    assert.equal(param.code, 2);
    assert.match(param.stderr, /"epochs" is an integer/);
    const denied = await flowbook({ ...env, FLOWBOOK_KFP_NAMESPACE: 'team-b' }, 'submit', CHURN_FILE, '--target', 'kfp');
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /profile namespace "team-b"/);
    const noEndpoint = await flowbook({ FLOWBOOK_KFP_ENDPOINT: '', KUBERNETES_SERVICE_HOST: '' }, 'runs', '--target', 'kfp');
    assert.equal(noEndpoint.code, 2);
    assert.match(noEndpoint.stderr, /No Kubeflow Pipelines endpoint is set/);
    assert.equal(h.sim.runs.size, 0);
  });

  it('runs, show and compare read the metrics from ML Metadata, and compare puts a KFP run beside a local one', async () => {
    h.sim.options.taskMetrics = (task) => (task === 'evaluate' ? { auc: 0.93 } : undefined);
    const r = await flowbook(env, 'submit', CHURN_FILE, '--target', 'kfp', '-p', 'epochs=4');
    assert.equal(r.code, 0, r.stderr);
    const runId = [...h.sim.runs.keys()][0] ?? '';
    h.sim.finish(runId);
    const list = await flowbook(env, 'runs', '--target', 'kfp');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^EXPERIMENT\s+RUN\s+STATE\s+TASKS\s+AGE\s+METRICS\s+ID$/m);
    assert.match(list.stdout, new RegExp(`SUCCEEDED\\s+3/3\\s+.*auc=0\\.93\\s+${runId}$`, 'm'));
    const show = await flowbook(env, 'show', `kfp:${runId}`);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^\s+metrics: auc=0\.93$/m);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-kfp-compare-'));
    try {
      writeFakeRun(dir, { id: '20261203-090000-aaaa', notebook: path.join(dir, 'churn.ipynb'), startedAt: '2026-12-03T09:00:00.000Z', parameters: { epochs: 2 }, steps: [{ name: 'evaluate', metrics: { auc: 0.88 } }] });
      const compare = await flowbook(env, 'compare', '20261203', `kfp:${runId}`, '--runs-dir', dir);
      assert.equal(compare.code, 0, compare.stderr);
      assert.match(compare.stdout, /^\*\s+param epochs\s+2\s+4$/m);
      assert.match(compare.stdout, /^\*\s+metric auc\s+0\.88\s+0\.93$/m);
      // No ML Metadata route: the runs still compare, with a note and without KFP metrics.
      h.sim.options.noMetadataRoute = true;
      const quiet = await flowbook(env, 'compare', '20261203', `kfp:${runId}`, '--runs-dir', dir);
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.match(quiet.stderr, /note: Metrics not shown: .*no ML Metadata route/);
      assert.match(quiet.stdout, /^\*\s+metric auc\s+0\.88\s+-$/m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the token from --token-file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-kfp-cli-'));
    try {
      fs.writeFileSync(path.join(dir, 'token'), TOKEN);
      const r = await flowbook({ ...env, FLOWBOOK_KFP_TOKEN: '' }, 'schedules', 'list', '--target', 'kfp', '--token-file', path.join(dir, 'token'));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /No schedules in profile team-a/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
