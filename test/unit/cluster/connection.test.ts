// Kubeconfig loading and authentication, through the real @kubernetes/client-node against
// the simulated cluster: every context, current context and namespace, KUBECONFIG with
// several files, in-cluster config, token, client certificate and exec credentials.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ClusterClient } from '../../../src/cluster/client';
import { ClusterConnection, loadKubeConfig } from '../../../src/cluster/connection';
import { ClusterError } from '../../../src/cluster/errors';
import { WORKFLOWS } from '../../../src/cluster/resources';
import { SimHarness, startSim } from '../../sim/harness';

function kubeconfigText(server: string, ca: string, contexts: { name: string; namespace?: string; user?: string }[], current: string, users: Record<string, Record<string, unknown>>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c1', cluster: { server, 'certificate-authority-data': Buffer.from(ca).toString('base64') } }],
    users: Object.entries(users).map(([name, user]) => ({ name, user })),
    contexts: contexts.map((c) => ({ name: c.name, context: { cluster: 'c1', user: c.user ?? Object.keys(users)[0], ...(c.namespace ? { namespace: c.namespace } : {}) } })),
    'current-context': current,
  });
}

describe('cluster connection (kubeconfig and auth, simulated cluster)', function () {
  let h: SimHarness;
  before(async () => {
    h = await startSim({ argoController: false, kserveController: false });
  });
  after(() => h.close());

  it('@kubernetes/client-node (an ESM package) loads through require() in our CommonJS build', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const k8s = require('@kubernetes/client-node') as { KubeConfig: unknown; Watch: unknown };
    assert.equal(typeof k8s.KubeConfig, 'function');
    assert.equal(typeof k8s.Watch, 'function');
  });

  it('lists every context and uses the current context and its namespace', () => {
    const file = path.join(h.dir, 'multi.json');
    fs.writeFileSync(file, kubeconfigText(h.sim.url, h.sim.caPem, [{ name: 'dev', namespace: 'team-a' }, { name: 'prod' }], 'dev', { u: { token: h.sim.adminToken } }));
    const conn = ClusterConnection.open({ kubeconfig: file, env: {} });
    assert.equal(conn.contextName, 'dev');
    assert.equal(conn.namespace, 'team-a');
    assert.deepEqual(conn.contexts().map((c) => [c.name, c.current, c.namespace ?? null, c.authKind]), [['dev', true, 'team-a', 'token'], ['prod', false, null, 'token']]);
    const prod = conn.with({ context: 'prod' });
    assert.equal(prod.contextName, 'prod');
    assert.equal(prod.namespace, 'default', 'a context without a namespace works in "default"');
    assert.equal(conn.with({ namespace: 'other' }).namespace, 'other');
  });

  it('merges every file in KUBECONFIG, the first definition and current-context winning', () => {
    const a = path.join(h.dir, 'a.json');
    const b = path.join(h.dir, 'b.json');
    fs.writeFileSync(a, kubeconfigText(h.sim.url, h.sim.caPem, [{ name: 'shared', namespace: 'from-a' }], 'shared', { u: { token: h.sim.adminToken } }));
    fs.writeFileSync(b, kubeconfigText('https://127.0.0.1:1', h.sim.caPem, [{ name: 'shared', namespace: 'from-b' }, { name: 'only-b' }], 'only-b', { u: { token: 'other' } }));
    const missing = path.join(h.dir, 'missing.json');
    const conn = ClusterConnection.open({ env: { KUBECONFIG: [a, missing, b].join(path.delimiter) } });
    assert.equal(conn.contextName, 'shared');
    assert.equal(conn.namespace, 'from-a');
    assert.deepEqual(conn.contexts().map((c) => c.name), ['shared', 'only-b']);
    assert.equal(conn.server, h.sim.url);
  });

  it('--context picks a context and an unknown one is a clear config error', () => {
    const file = path.join(h.dir, 'two.json');
    fs.writeFileSync(file, kubeconfigText(h.sim.url, h.sim.caPem, [{ name: 'dev' }, { name: 'prod', namespace: 'p' }], 'dev', { u: { token: 'x' } }));
    assert.equal(ClusterConnection.open({ kubeconfig: file, context: 'prod', env: {} }).namespace, 'p');
    assert.throws(
      () => ClusterConnection.open({ kubeconfig: file, context: 'nope', env: {} }),
      (err: unknown) => err instanceof ClusterError && err.kind === 'config' && /no context "nope".*Known contexts: dev, prod/.test(err.message),
    );
  });

  it('says what to do when there is no kubeconfig at all', () => {
    assert.throws(
      () => loadKubeConfig({ env: { HOME: path.join(h.dir, 'empty-home') } }),
      (err: unknown) => err instanceof ClusterError && err.kind === 'config' && /No Kubernetes configuration found/.test(err.message) && /--kubeconfig/.test(err.message),
    );
  });

  it('a broken kubeconfig is reported by line, never by quoting its content', () => {
    const file = path.join(h.dir, 'broken.yaml');
    const secret = 'sekret-token-do-not-print-1234';
    fs.writeFileSync(file, `apiVersion: v1\nusers:\n- name: u\n  user:\n    token: ${secret}\n  bad: [unclosed\n`);
    assert.throws(
      () => ClusterConnection.open({ kubeconfig: file, env: {} }),
      (err: unknown) => err instanceof ClusterError && err.kind === 'config' && /not valid YAML \(line \d+\)/.test(err.message) && !err.message.includes(secret),
    );
  });

  it('authenticates with a bearer token', async () => {
    const client = h.client();
    assert.equal(await client.serves(WORKFLOWS), true);
    const last = h.sim.requests[h.sim.requests.length - 1];
    assert.equal(last?.user, 'admin');
  });

  it('authenticates with a client certificate', async () => {
    const file = h.sim.writeKubeconfig(h.dir, {
      file: 'cert.json',
      user: { 'client-certificate-data': Buffer.from(h.sim.clientCert.cert).toString('base64'), 'client-key-data': Buffer.from(h.sim.clientCert.key).toString('base64') },
    });
    const conn = ClusterConnection.open({ kubeconfig: file, env: {} });
    assert.equal(conn.auth.kind, 'client-certificate');
    const client = new ClusterClient(conn);
    await client.list(WORKFLOWS, 'default');
    assert.equal(h.sim.requests[h.sim.requests.length - 1]?.user, 'cert-user');
  });

  it('authenticates with an exec credential plugin, naming only its command', async () => {
    const plugin = path.join(h.dir, 'fake-login.js');
    fs.writeFileSync(
      plugin,
      `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: ${JSON.stringify(h.sim.adminToken)} } }));\n`,
    );
    const file = h.sim.writeKubeconfig(h.dir, {
      file: 'exec.json',
      user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [plugin, '--password=hunter2'], interactiveMode: 'Never' } },
    });
    const conn = ClusterConnection.open({ kubeconfig: file, env: {} });
    assert.equal(conn.auth.kind, 'exec');
    assert.equal(conn.contexts()[0]?.execCommand, path.basename(process.execPath));
    assert.ok(!JSON.stringify(conn.contexts()).includes('hunter2'), 'plugin arguments can hold secrets and are never shown');
    await new ClusterClient(conn).list(WORKFLOWS, 'default');
    assert.equal(h.sim.requests[h.sim.requests.length - 1]?.user, 'admin');
  });

  it('a failing exec plugin becomes a "log in again" error naming the plugin', async () => {
    const plugin = path.join(h.dir, 'expired-login.js');
    fs.writeFileSync(plugin, `process.stderr.write('error: your session expired, run login\\n'); process.exit(1);\n`);
    const file = h.sim.writeKubeconfig(h.dir, { file: 'exec-bad.json', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [plugin] } } });
    const client = new ClusterClient(ClusterConnection.open({ kubeconfig: file, env: {} }), { maxRetries: 0 });
    await assert.rejects(client.list(WORKFLOWS, 'default'), (err: unknown) => err instanceof ClusterError && err.kind === 'credentials' && /session expired/.test(err.message) && /Log in again/.test(err.message));
  });

  it('uses the in-cluster service account when there is no kubeconfig', async () => {
    const root = path.join(h.dir, 'pod-root');
    const sa = path.join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    fs.mkdirSync(sa, { recursive: true });
    fs.writeFileSync(path.join(sa, 'token'), h.sim.adminToken);
    fs.writeFileSync(path.join(sa, 'ca.crt'), h.sim.caPem);
    fs.writeFileSync(path.join(sa, 'namespace'), 'team-a');
    const port = new URL(h.sim.url).port;
    const conn = ClusterConnection.open({ env: { HOME: path.join(h.dir, 'no-home'), KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port }, inClusterRoot: root });
    assert.equal(conn.source.kind, 'in-cluster');
    assert.equal(conn.namespace, 'team-a');
    assert.equal(conn.auth.kind, 'in-cluster');
    await new ClusterClient(conn).list(WORKFLOWS, 'team-a');
    assert.equal(h.sim.requests[h.sim.requests.length - 1]?.user, 'admin');
  });
});
