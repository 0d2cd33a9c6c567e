// Endpoint, token and schedule settings as plain data: which URL the API is at, where links
// to the KFP UI point, where tokens come from, and crontabs translated for KFP and Argo.

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { argoCron, kfpCron, parseCrontab } from '../../../src/common/cron';
import { IN_CLUSTER_API, IN_CLUSTER_TOKEN_PATH, resolveEndpoint, runUrl } from '../../../src/kfp/endpoint';
import { codeSourceUrl, webUrlOfRemote } from '../../../src/kfp/gitSource';

describe('KFP endpoint settings', () => {
  it('the Kubeflow address: API under /pipeline, UI under /_/pipeline/', () => {
    const e = resolveEndpoint({ endpoint: 'https://kubeflow.example.com/' }, { env: {} });
    assert.equal(e.mode, 'ingress');
    assert.equal(e.apiBase, 'https://kubeflow.example.com/pipeline');
    assert.equal(runUrl(e, 'abc'), 'https://kubeflow.example.com/_/pipeline/#/runs/details/abc');
  });

  it('a port-forward to the API on this machine, or the service name, is the API itself', () => {
    assert.equal(resolveEndpoint({ endpoint: 'http://localhost:8888' }, { env: {} }).apiBase, 'http://localhost:8888');
    assert.equal(resolveEndpoint({ endpoint: 'http://ml-pipeline.kubeflow:8888' }, { env: {} }).mode, 'direct');
    const e = resolveEndpoint({ endpoint: 'http://127.0.0.1:8080/pipeline' }, { env: {} });
    assert.equal(e.apiBase, 'http://127.0.0.1:8080/pipeline');
    assert.equal(e.uiBase, 'http://127.0.0.1:8080/_/pipeline/');
  });

  it('in the cluster: the service address and the projected token, re-read for each request', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-kfp-'));
    try {
      fs.mkdirSync(path.dirname(root + IN_CLUSTER_TOKEN_PATH), { recursive: true });
      fs.writeFileSync(root + IN_CLUSTER_TOKEN_PATH, 'one\n');
      const e = resolveEndpoint({}, { env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, inClusterRoot: root });
      assert.equal(e.apiBase, IN_CLUSTER_API);
      assert.equal(await e.tokens.token(), 'one');
      fs.writeFileSync(root + IN_CLUSTER_TOKEN_PATH, 'two\n');
      assert.equal(await e.tokens.token(), 'two');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('says what to set when nothing is set, and refuses credentials in the URL', () => {
    assert.throws(() => resolveEndpoint({}, { env: {} }), /Set flowbook\.kfp\.endpoint.*kubectl port-forward -n kubeflow svc\/ml-pipeline 8888:8888/);
    assert.throws(() => resolveEndpoint({ endpoint: 'https://me:secret@kf.example.com' }, { env: {} }), (e: Error) => /must not contain a user name or password/.test(e.message) && !e.message.includes('secret'));
    assert.throws(() => resolveEndpoint({ endpoint: 'kf.example.com' }, { env: {} }), /is not a URL/);
    assert.throws(() => resolveEndpoint({ endpoint: 'https://kf.example.com', tokenSource: 'kubeconfig' }, { env: {} }), /needs flowbook\.kfp\.namespace/);
  });

  it('a token from the kubeconfig comes from the provider the caller gives, for the profile\'s service account', async () => {
    const asked: string[] = [];
    const e = resolveEndpoint({ endpoint: 'https://kf.example.com', namespace: 'team-a', tokenSource: 'kubeconfig' }, {
      env: {},
      kubeTokens: (sa, ns) => ({ describe: `sa ${ns}/${sa}`, token: () => { asked.push(`${ns}/${sa}`); return Promise.resolve('t'); } }),
    });
    assert.equal(await e.tokens.token(), 't');
    assert.deepEqual(asked, ['team-a/default-editor']);
  });
});

describe('schedules', () => {
  it('adds the seconds field for KFP and keeps 5 fields for Argo', () => {
    assert.equal(kfpCron('0 2 * * *'), '0 0 2 * * *');
    assert.equal(kfpCron(' */15  9-17 * * MON-FRI '), '0 */15 9-17 * * MON-FRI');
    assert.equal(kfpCron('@hourly'), '0 0 * * * *');
    assert.equal(argoCron('5 4 1 JAN,JUL *'), '5 4 1 JAN,JUL *');
  });

  it('names the field at fault', () => {
    assert.throws(() => parseCrontab('0 24 * * *'), /the hour field "24" has 24, out of range \(allowed 0-23\)/);
    assert.throws(() => parseCrontab('0 2 * * FUNDAY'), /day of week field "FUNDAY"/);
    assert.throws(() => parseCrontab('0 2 * *'), /expected 5 fields/);
    assert.throws(() => parseCrontab('*/0 * * * *'), /step "0"/);
    assert.throws(() => parseCrontab('0 0 2 * * *'), /6 fields; write a standard 5-field crontab/);
  });
});

describe('code source links', () => {
  it('turns remotes into web addresses without credentials', () => {
    assert.equal(webUrlOfRemote('git@github.com:team/repo.git'), 'https://github.com/team/repo');
    assert.equal(webUrlOfRemote('https://user:tok@gitlab.example.com/g/sub/repo.git'), 'https://gitlab.example.com/g/sub/repo');
    assert.equal(webUrlOfRemote('ssh://git@host.example.com:2222/team/repo.git'), 'https://host.example.com/team/repo');
    assert.equal(webUrlOfRemote('/srv/git/repo.git'), undefined);
  });

  it('links the notebook at the checked-out commit, and nothing outside git', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-git-'));
    try {
      const nb = path.join(dir, 'notebooks', 'my churn.ipynb');
      fs.mkdirSync(path.dirname(nb));
      fs.writeFileSync(nb, '{}');
      assert.equal(codeSourceUrl(nb), undefined);
      const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: dir, encoding: 'utf8' }).trim();
      git('init', '-q');
      git('add', '.');
      git('commit', '-qm', 'x');
      git('remote', 'add', 'origin', 'git@github.com:team/repo.git');
      const sha = git('rev-parse', 'HEAD');
      assert.equal(codeSourceUrl(nb), `https://github.com/team/repo/blob/${sha}/notebooks/my%20churn.ipynb`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
