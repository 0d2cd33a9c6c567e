// The errors users see, produced by real failures of the simulated cluster through
// client-node: unreachable (with the address), 401 (how to refresh), 403 (which verb on
// which resource in which namespace), 404 namespace, Argo missing (how to install), and
// the retry policy: 429 honours Retry-After, 500 is retried for reads only.

import * as assert from 'node:assert/strict';
import { ClusterError, toClusterError } from '../../../src/cluster/errors';
import { WORKFLOWS } from '../../../src/cluster/resources';
import type { Workflow } from '../../../src/cluster/types';
import { pipelineWorkflow, SimHarness, startSim } from '../../sim/harness';
import { closedPort } from '../../support/ports';

function isError(kind: ClusterError['kind'], pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ClusterError, `expected a ClusterError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('cluster errors as users see them (simulated cluster)', function () {
  let h: SimHarness;
  before(async () => {
    h = await startSim({ argoController: false, kserveController: false });
  });
  after(() => h.close());
  afterEach(() => h.sim.clearFaults());

  it('unreachable server: names the address and what to check', async () => {
    const port = await closedPort();
    const file = h.sim.writeKubeconfig(h.dir, { file: 'down.json', server: `https://127.0.0.1:${port}` });
    const client = h.client({ kubeconfig: file, maxRetries: 1 });
    await assert.rejects(client.list(WORKFLOWS, 'team-a'), isError('unreachable', new RegExp(`Cannot reach the Kubernetes API server at https://127\\.0\\.0\\.1:${port}.*connection refused.*VPN`)));
  });

  it('401: credentials expired, with how to refresh them', async () => {
    h.sim.addUser('temp', 'temporary-token-abc');
    h.sim.revokeToken('temporary-token-abc');
    const file = h.sim.writeKubeconfig(h.dir, { file: 'expired.json', token: 'temporary-token-abc' });
    const client = h.client({ kubeconfig: file });
    await assert.rejects(client.list(WORKFLOWS, 'team-a'), isError('unauthorized', /401 Unauthorized.*expired or revoked.*kubectl config set-credentials sim-user --token=NEW_TOKEN/));
  });

  it('403: names the verb, the resource and the namespace that are missing', async () => {
    h.sim.addUser('alice', 'alice-token', [{ verbs: ['get', 'list'], groups: [''], resources: ['pods'], namespaces: ['team-a'] }]);
    const client = h.client({ kubeconfig: h.sim.writeKubeconfig(h.dir, { file: 'alice.json', token: 'alice-token' }) });
    await assert.rejects(
      client.create(WORKFLOWS, 'team-a', pipelineWorkflow()),
      isError('forbidden', /may not create workflows\.argoproj\.io in namespace "team-a" \(403 Forbidden.*verbs \["create"\] on resources \["workflows"\] in apiGroups \["argoproj\.io"\]/),
    );
  });

  it('404 namespace: says it does not exist and how to pick or create one', async () => {
    await assert.rejects(h.client().create(WORKFLOWS, 'nope', pipelineWorkflow()), isError('namespaceNotFound', /Namespace "nope" does not exist.*kubectl create namespace nope/));
  });

  it('Argo not installed: the CRD is missing, with how to install it', async () => {
    const bare = await startSim({ argo: false, argoController: false, kserveController: false });
    try {
      await assert.rejects(bare.client().list(WORKFLOWS, 'team-a'), isError('crdMissing', /Argo Workflows is not installed.*workflows\.argoproj\.io CRD is missing.*kubectl apply -n argo -f https:\/\/github\.com\/argoproj\/argo-workflows/));
      assert.equal(await bare.client().serves(WORKFLOWS), false);
    } finally {
      await bare.close();
    }
  });

  it('409 on a stale update: a conflict the caller can redo', async () => {
    const client = h.client();
    const created = await client.create<Workflow>(WORKFLOWS, 'team-a', { ...pipelineWorkflow(), metadata: { name: 'conflict-me' } });
    await client.mergePatch(WORKFLOWS, 'team-a', 'conflict-me', { metadata: { labels: { touched: 'yes' } } });
    await assert.rejects(client.replace(WORKFLOWS, 'team-a', 'conflict-me', created), isError('conflict', /changed by someone else meanwhile \(409 Conflict\)/));
  });

  it('422: the cluster rejects the object, with each cause', async () => {
    const bad = pipelineWorkflow();
    bad.spec.entrypoint = 'missing';
    await assert.rejects(h.client().create(WORKFLOWS, 'team-a', bad), isError('invalid', /spec\.entrypoint: Invalid value: "missing"/));
  });

  it('429: waits as long as Retry-After says, then succeeds', async () => {
    h.sleeps.length = 0;
    h.sim.inject({ verb: 'list', resource: 'workflows', status: 429, retryAfter: 7, times: 2 });
    const list = await h.client().list(WORKFLOWS, 'team-a');
    assert.ok(Array.isArray(list.items));
    assert.deepEqual(h.sleeps, [7000, 7000]);
  });

  it('429 on create: retried (the server did not act), still one object', async () => {
    h.sim.inject({ verb: 'create', resource: 'workflows', status: 429, retryAfter: 1 });
    const before = h.sim.store.list('argoproj.io/workflows', 'team-a').length;
    await h.client().create(WORKFLOWS, 'team-a', pipelineWorkflow('throttled'));
    assert.equal(h.sim.store.list('argoproj.io/workflows', 'team-a').length, before + 1);
  });

  it('500: reads are retried with backoff; creates are not repeated blindly', async () => {
    h.sleeps.length = 0;
    h.sim.inject({ verb: 'list', resource: 'workflows', status: 500, times: 2 });
    await h.client().list(WORKFLOWS, 'team-a');
    assert.equal(h.sleeps.length, 2, 'two backoff waits before the third, successful list');
    h.sim.inject({ verb: 'create', resource: 'workflows', status: 500, message: 'etcdserver: request timed out' });
    const creates = h.sim.count({ verb: 'create', resource: 'workflows' });
    await assert.rejects(h.client().create(WORKFLOWS, 'team-a', pipelineWorkflow()), isError('server', /failed to create workflows\.argoproj\.io in namespace "team-a" \(500\)\. The cluster said: etcdserver: request timed out/));
    assert.equal(h.sim.count({ verb: 'create', resource: 'workflows' }), creates + 1);
  });

  it('namespaces for a picker: all of them, or the kubeconfig\'s when listing is forbidden', async () => {
    const all = await h.client().listNamespaces();
    assert.deepEqual(all, { names: ['default', 'team-a'], complete: true });
    h.sim.addUser('dave', 'dave-token', [{ verbs: ['*'], groups: ['*'], resources: ['*'], namespaces: ['team-a'] }]);
    const limited = await h.client({ kubeconfig: h.sim.writeKubeconfig(h.dir, { file: 'dave.json', token: 'dave-token', namespace: 'team-a', extraContexts: [{ name: 'other', namespace: 'team-b' }] }) }).listNamespaces();
    assert.deepEqual(limited, { names: ['team-a', 'team-b'], complete: false });
  });

  it('classifies raw shapes: watch errors, Status bodies and TLS failures', () => {
    const endpoint = { server: 'https://k8s.example:6443', context: 'ctx', user: 'me', auth: { kind: 'token' as const } };
    assert.equal(toClusterError({ statusCode: 410 }, { verb: 'watch', type: WORKFLOWS, namespace: 'a' }, endpoint).kind, 'gone');
    const tls = toClusterError(Object.assign(new Error('self signed'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), { verb: 'list' }, endpoint);
    assert.equal(tls.kind, 'tls');
    assert.match(tls.message, /https:\/\/k8s\.example:6443.*certificate-authority/);
    const ns = toClusterError({ code: 404, body: JSON.stringify({ kind: 'Status', code: 404, message: 'namespaces "x" not found', details: { name: 'x', kind: 'namespaces' } }) }, { verb: 'create', type: WORKFLOWS, namespace: 'x' }, endpoint);
    assert.equal(ns.kind, 'namespaceNotFound');
    const exec = toClusterError(new Error('token expired'), { verb: 'list' }, { ...endpoint, auth: { kind: 'exec', execCommand: 'aws' } });
    assert.equal(exec.kind, 'credentials');
    assert.match(exec.message, /from "aws": token expired/);
  });
});
