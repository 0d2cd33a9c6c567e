// The cluster commands as a user runs them: real `flowbook` child processes with a real
// kubeconfig, against the simulated cluster in this process. Also the rule that no token
// ever appears in anything Flowbook prints or writes.

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { KubeObject, Workflow } from '../../../src/cluster/types';
import { pipelineWorkflow, SimHarness, startSim, waitFor } from '../../sim/harness';

const REPO = path.resolve(__dirname, '../../../..');
const BIN = path.join(REPO, 'bin', 'flowbook.js');
const FIXTURES = path.join(REPO, 'test', 'fixtures');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('flowbook cluster commands (CLI against the simulated cluster)', function () {
  let h: SimHarness;
  let kubeconfig: string;
  let records: string;
  const outputs: string[] = [];
  const TOKEN = 'cli-secret-token-5f1e8d2c9b7a';

  /** Runs the CLI without blocking this process (the simulated cluster answers from here). */
  function flowbook(...args: string[]): Promise<Result> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, KUBECONFIG: '' }, cwd: h.dir });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => {
        outputs.push(stdout, stderr);
        resolve({ code, stdout, stderr });
      });
    });
  }

  const writeWorkflow = (file: string, wf: Workflow) => {
    const p = path.join(h.dir, file);
    fs.writeFileSync(p, stringify(wf));
    return p;
  };

  before(async () => {
    h = await startSim({ argoController: { tickMs: 10, linesPerTick: 5 } });
    h.sim.addUser('cli-user', TOKEN);
    kubeconfig = h.sim.writeKubeconfig(h.dir, { file: 'cli-kubeconfig', token: TOKEN, namespace: 'team-a' });
    records = path.join(h.dir, 'records');
  });
  after(() => h.close());

  it('submit --watch prints the run name, follows the steps and exits 0; logs are kept', async () => {
    const file = writeWorkflow('ok.yaml', pipelineWorkflow('cli-ok', { parameters: { lr: '0.1' } }));
    const r = await flowbook('submit', file, '--kubeconfig', kubeconfig, '-p', 'lr=0.5', '--watch', '--records', records);
    assert.equal(r.code, 0, r.stderr);
    const name = r.stdout.trim();
    assert.match(name, /^cli-ok-[a-z0-9]{5}$/, 'stdout holds only the run name');
    assert.match(r.stderr, /load\s+Succeeded/);
    assert.match(r.stderr, new RegExp(`Run ${name} Succeeded`));
    const wf = h.sim.store.get('argoproj.io/workflows', 'team-a', name) as Workflow;
    assert.equal(wf.spec.arguments?.parameters?.[0]?.value, '0.5');
    const logs = fs.readdirSync(path.join(records, 'sim', 'team-a', name, 'logs')).filter((f) => f.endsWith('.log'));
    assert.equal(logs.length, 3, 'each step log was kept while watching');
  });

  it('submit --watch of a failing run exits 1 and shows the failed step and its last log lines', async () => {
    const file = writeWorkflow('bad.yaml', pipelineWorkflow('cli-bad', { steps: [{ name: 'prep' }, { name: 'boom', after: ['prep'], source: '# sim:fail' }] }));
    const r = await flowbook('submit', file, '--kubeconfig', kubeconfig, '--watch', '--records', records);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /boom\s+Failed.*Error \(exit code 1\)/);
    assert.match(r.stderr, /--- last lines of step boom ---[\s\S]*ValueError: step boom failed/);
  });

  it('submit refuses with every preflight problem, and creates nothing', async () => {
    const file = writeWorkflow('ns.yaml', pipelineWorkflow('cli-ns'));
    const creates = h.sim.count({ verb: 'create', resource: 'workflows', dryRun: false });
    const r = await flowbook('submit', file, '--kubeconfig', kubeconfig, '-n', 'missing-ns');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Preflight found 1 problem that stop the run:\n\s+error \[namespace\] Namespace "missing-ns" does not exist/);
    assert.match(r.stderr, /nothing was submitted/);
    assert.equal(r.stdout, '');
    assert.equal(h.sim.count({ verb: 'create', resource: 'workflows', dryRun: false }), creates);
  });

  it('submit again with the same --request-id prints the same run and does not submit twice', async () => {
    const file = writeWorkflow('idem.yaml', pipelineWorkflow('cli-idem'));
    const a = await flowbook('submit', file, '--kubeconfig', kubeconfig, '--request-id', 'job-42');
    const b = await flowbook('submit', file, '--kubeconfig', kubeconfig, '--request-id', 'job-42');
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(a.stdout, b.stdout);
    assert.match(b.stderr, /already exists as run .*not submitted twice/);
    assert.equal(h.sim.store.list('argoproj.io/workflows', 'team-a').filter((w) => w.metadata.name === a.stdout.trim()).length, 1);
  });

  it('submit NOTEBOOK compiles it with the compiler front end and submits the Workflow', async () => {
    const notebook = path.join(FIXTURES, 'notebooks', 'basic.ipynb');
    assert.ok(fs.existsSync(notebook), 'fixture notebook');
    const r = await flowbook('submit', notebook, '--kubeconfig', kubeconfig, '--records', records);
    assert.equal(r.code, 0, r.stderr);
    const wf = h.sim.store.get('argoproj.io/workflows', 'team-a', r.stdout.trim()) as Workflow;
    assert.equal(wf.metadata.labels?.['flowbook.dev/notebook'], 'basic.ipynb');
    assert.equal(wf.metadata.annotations?.['flowbook.dev/notebook-path'], notebook);
    assert.ok((wf.spec.templates ?? []).some((t) => t.metadata?.annotations?.['flowbook.dev/step']), 'the compiled steps carry their annotations');
  });

  it('runs lists runs; runs RUN shows steps with their cells', async () => {
    const list = await flowbook('runs', '--kubeconfig', kubeconfig);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAME\s+PHASE\s+PROGRESS\s+DURATION\s+AGE\s+MESSAGE/);
    assert.match(list.stdout, /cli-ok-[a-z0-9]{5}\s+Succeeded\s+3\/3/);
    const name = /(cli-ok-[a-z0-9]{5})/.exec(list.stdout)?.[1] ?? '';
    const one = await flowbook('runs', name, '--kubeconfig', kubeconfig);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /parameters: lr=0\.5/);
    assert.match(one.stdout, /train\s+Succeeded\s+\S+\s+0\s+4/);
  });

  it('logs RUN STEP prints the log, also after the pod is gone', async () => {
    const name = (h.sim.store.list('argoproj.io/workflows', 'team-a').find((w) => w.metadata.name?.startsWith('cli-ok-')) as KubeObject).metadata.name ?? '';
    for (const pod of h.sim.store.list('/pods', 'team-a').filter((p) => p.metadata.labels?.['workflows.argoproj.io/workflow'] === name)) {
      h.sim.store.delete('/pods', 'team-a', pod.metadata.name ?? '');
    }
    const r = await flowbook('logs', name, 'train', '--kubeconfig', kubeconfig, '--records', records);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /step train attempt 0 params \{"lr":"0\.5"\}/);
  });

  it('stop, retry, resubmit --from and delete', async () => {
    const file = writeWorkflow('act.yaml', pipelineWorkflow('cli-act', { steps: [{ name: 'a' }, { name: 'b', after: ['a'], source: '# sim:fail' }] }));
    const sub = await flowbook('submit', file, '--kubeconfig', kubeconfig, '--watch', '--records', records);
    const name = sub.stdout.trim();
    assert.equal(sub.code, 1);
    const retry = await flowbook('retry', name, '--kubeconfig', kubeconfig);
    assert.equal(retry.code, 0, retry.stderr);
    assert.match(retry.stderr, /retrying its failed steps \(1 failed pod removed\)/);
    await waitFor(() => ['Failed', 'Succeeded'].includes((h.sim.store.get('argoproj.io/workflows', 'team-a', name) as Workflow).status?.phase ?? '') && (h.sim.store.get('argoproj.io/workflows', 'team-a', name) as Workflow).status?.finishedAt);
    const again = await flowbook('resubmit', name, '--from', 'b', '--kubeconfig', kubeconfig);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /Reusing a from/);
    const stop = await flowbook('stop', again.stdout.trim(), '--kubeconfig', kubeconfig);
    assert.ok(stop.code === 0 || /already finished/.test(stop.stderr), stop.stderr);
    const del = await flowbook('delete', name, '--kubeconfig', kubeconfig);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(h.sim.store.get('argoproj.io/workflows', 'team-a', name), undefined);
  });

  it('isvc list and predict through an ingress', async () => {
    await h.client().create({ group: 'serving.kserve.io', version: 'v1beta1', plural: 'inferenceservices', kind: 'InferenceService' }, 'team-a', {
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: { name: 'cli-iris' },
      spec: { predictor: { model: { modelFormat: { name: 'sklearn' }, storageUri: 'gs://m/iris' } } },
    });
    await waitFor(() => (h.sim.store.get('serving.kserve.io/inferenceservices', 'team-a', 'cli-iris') as KubeObject & { status?: { url?: string } }).status?.url);
    const list = await flowbook('isvc', 'list', '--kubeconfig', kubeconfig);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /cli-iris\s+True\s+http:\/\/cli-iris\.team-a\.example\.com\s+sklearn\s+Standard/);
    const p = await flowbook('isvc', 'predict', 'cli-iris', '--kubeconfig', kubeconfig, '--ingress', h.sim.kserve?.ingressUrl ?? '', '-d', '{"instances": [[1,2,3,4]]}');
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stderr, /POST .*\/v1\/models\/cli-iris:predict \(Host: cli-iris\.team-a\.example\.com\) → 200 in [\d.]+ ms/);
    assert.deepEqual(JSON.parse(p.stdout), { predictions: [1] });
  });

  it('errors: unreachable, expired token, forbidden and a broken kubeconfig, with exit codes', async () => {
    const down = h.sim.writeKubeconfig(h.dir, { file: 'down-kubeconfig', token: TOKEN, server: 'https://127.0.0.1:9' });
    const r1 = await flowbook('runs', '--kubeconfig', down);
    assert.equal(r1.code, 1);
    assert.match(r1.stderr, /Cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:9/);
    const expired = h.sim.writeKubeconfig(h.dir, { file: 'expired-kubeconfig', token: `${TOKEN}-revoked` });
    const r2 = await flowbook('runs', '--kubeconfig', expired);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /401 Unauthorized/);
    h.sim.addUser('reader', `${TOKEN}-reader`, [{ verbs: ['get'], groups: ['*'], resources: ['*'] }]);
    const reader = h.sim.writeKubeconfig(h.dir, { file: 'reader-kubeconfig', token: `${TOKEN}-reader`, namespace: 'team-a' });
    const r3 = await flowbook('delete', 'whatever', '--kubeconfig', reader);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /may not delete workflows\.argoproj\.io in namespace "team-a"/);
    const broken = path.join(h.dir, 'broken-kubeconfig');
    fs.writeFileSync(broken, `users:\n- name: u\n  user: {token: ${TOKEN}-in-file\n`);
    const r4 = await flowbook('runs', '--kubeconfig', broken);
    assert.equal(r4.code, 2);
    assert.match(r4.stderr, /Cannot read the kubeconfig file .*not valid YAML/);
  });

  it('contexts lists the kubeconfig contexts, the current one marked, without credentials', async () => {
    const file = h.sim.writeKubeconfig(h.dir, { file: 'ctx-kubeconfig', token: TOKEN, namespace: 'team-a', extraContexts: [{ name: 'staging', namespace: 'qa' }] });
    const r = await flowbook('contexts', '--kubeconfig', file);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\s+CONTEXT\s+NAMESPACE\s+AUTH\s+SERVER\n\*\s+sim\s+team-a\s+token\s+https:\/\/127\.0\.0\.1:\d+\n\s+staging\s+qa\s+token/);
  });

  it('never prints or writes a token: not in any output above, nor in the run records', () => {
    assert.ok(outputs.length > 20, 'the commands above ran');
    for (const text of outputs) assert.ok(!text.includes(TOKEN), `a token leaked into output: ${text.slice(0, 200)}`);
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(records);
    assert.ok(files.length > 5);
    for (const f of files) assert.ok(!fs.readFileSync(f, 'utf8').includes(TOKEN), `a token leaked into ${f}`);
  });
});
