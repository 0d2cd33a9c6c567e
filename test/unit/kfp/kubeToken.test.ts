// A service-account token for Kubeflow Pipelines requested with the user's kubeconfig: the
// real @kubernetes/client-node asks the simulated cluster (TokenRequest), the real KFP client
// sends the token to the simulated multi-user KFP server.

import * as assert from 'node:assert/strict';
import { resolveEndpoint } from '../../../src/kfp/endpoint';
import { KfpClient } from '../../../src/kfp/client';
import { KfpError } from '../../../src/kfp/errors';
import { serviceAccountTokens } from '../../../src/kfp/kubeToken';
import { submitToKfp } from '../../../src/kfp/submit';
import { ClusterError } from '../../../src/cluster/errors';
import { SimHarness, startSim } from '../../sim/harness';
import { churn, KfpHarness, startKfp } from './support';

describe('KFP token through the kubeconfig (simulated cluster and KFP)', () => {
  let cluster: SimHarness;
  let kfp: KfpHarness;
  beforeEach(async () => {
    cluster = await startSim({ argoController: false, kserveController: false, kaniko: false });
    cluster.sim.store.create('/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default-editor', namespace: 'team-a' } });
    kfp = await startKfp({ multiUser: true, prefix: '/pipeline' });
  });
  afterEach(async () => {
    await kfp.close();
    await cluster.close();
  });

  it('requests a token for the profile\'s service account with the KFP audience, once, and KFP accepts it', async () => {
    const clusterClient = cluster.client();
    const endpoint = resolveEndpoint(
      { endpoint: `${kfp.sim.url}/pipeline`, namespace: 'team-a', tokenSource: 'kubeconfig' },
      { env: {}, kubeTokens: (sa, ns) => serviceAccountTokens(clusterClient, sa, ns) },
    );
    const first = await endpoint.tokens.token();
    assert.equal(cluster.sim.issuedTokens.length, 1);
    assert.deepEqual(cluster.sim.issuedTokens[0], { namespace: 'team-a', serviceAccount: 'default-editor', audiences: ['pipelines.kubeflow.org'], token: first });
    kfp.sim.addUser('system:serviceaccount:team-a:default-editor', first ?? '', ['team-a']);
    const result = await submitToKfp(new KfpClient(endpoint), churn());
    assert.ok(result.run);
    assert.equal(cluster.sim.issuedTokens.length, 1, 'the token is kept until shortly before it expires');
    assert.ok(endpoint.tokens.describe.includes('team-a/default-editor'));
  });

  it('renews the token shortly before it expires', async () => {
    let clock = Date.now();
    const tokens = serviceAccountTokens(cluster.client(), 'default-editor', 'team-a', () => clock);
    const a = await tokens.token();
    clock += 3600_000 - 30_000;
    const b = await tokens.token();
    assert.notEqual(a, b);
    assert.equal(cluster.sim.issuedTokens.length, 2);
  });

  it('a missing service account names it and the namespace', async () => {
    const tokens = serviceAccountTokens(cluster.client(), 'nobody', 'team-a');
    await assert.rejects(tokens.token(), (e: unknown) => e instanceof ClusterError && /nobody/.test(e.message) && /team-a/.test(e.message));
    const client = new KfpClient(resolveEndpoint({ endpoint: `${kfp.sim.url}/pipeline` }, { env: {} }));
    await assert.rejects(client.checkApi(), (e: unknown) => e instanceof KfpError && e.kind === 'unauthorized');
  });
});
