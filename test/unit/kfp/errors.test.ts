// What a data scientist reads when Kubeflow Pipelines says no: each failure, produced by the
// simulated KFP server over real sockets, becomes a KfpError of the right kind whose message
// names the endpoint, the profile namespace and what to do, and never the token.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { KfpClient } from '../../../src/kfp/client';
import { resolveEndpoint } from '../../../src/kfp/endpoint';
import { errorForResponse, inSettingsTerms, KfpError, KfpErrorKind } from '../../../src/kfp/errors';
import { submitToKfp } from '../../../src/kfp/submit';
import { churn, KfpHarness, startKfp } from './support';

const TOKEN = 'sim-token-4c1d9e77a2';

function isKfp(kind: KfpErrorKind, pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof KfpError, `expected a KfpError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, pattern);
    assert.doesNotMatch(err.message, new RegExp(TOKEN));
    return true;
  };
}

describe('KFP errors (simulated multi-user KFP behind the ingress)', () => {
  let h: KfpHarness;
  let dir: string;
  let tokenFile: string;
  beforeEach(async () => {
    h = await startKfp({ multiUser: true, prefix: '/pipeline' });
    h.sim.addUser('alice@example.com', TOKEN, ['team-a']);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-kfp-'));
    tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, `${TOKEN}\n`);
  });
  afterEach(async () => {
    await h.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('works in the user\'s profile namespace with a Bearer token from a file, under /pipeline', async () => {
    const result = await submitToKfp(h.client({ namespace: 'team-a', tokenFile }), churn());
    assert.equal(result.experiment?.namespace, 'team-a');
    assert.equal(result.pipeline.namespace, 'team-a');
    assert.ok(h.sim.requests.every((r) => r.authorization && r.path.startsWith('/pipeline/apis/')));
    assert.match(result.url ?? '', /\/_\/pipeline\/#\/runs\/details\/run-/);
  });

  it('401 without a token says to get one', async () => {
    await assert.rejects(submitToKfp(h.client({ namespace: 'team-a' }), churn()), isKfp('unauthorized', /refused the credentials \(401\).*--token-file/));
  });

  it('403 names the profile namespace, the verb and the resource, and the role to ask for', async () => {
    await assert.rejects(
      submitToKfp(h.client({ namespace: 'team-b', tokenFile }), churn()),
      isKfp('forbidden', /"get" on pipelines\.pipelines\.kubeflow\.org in the profile namespace "team-b".*owner of profile "team-b".*kubeflow-edit/),
    );
  });

  it('the upload handler\'s authorization failure (a 400) is reported as forbidden too', async () => {
    const client = h.client({ namespace: 'team-a', tokenFile });
    await submitToKfp(client, churn(), { versionOnly: true });
    // Another user, allowed to read shared things but not team-a, uploads a version.
    h.sim.addUser('bob@example.com', 'bob-token-0000', ['team-b']);
    const pipelineId = [...h.sim.pipelines.keys()][0] ?? '';
    const bob = h.client({ namespace: 'team-b', token: 'bob-token-0000' });
    await assert.rejects(bob.uploadVersion(pipelineId, 'churn-x', churn().text), isKfp('forbidden', /upload version "churn-x".*"create" on pipelines.*"team-a"/));
  });

  it('a Dex login page instead of JSON says the request was not authenticated', async () => {
    await h.close();
    h = await startKfp({ multiUser: true, prefix: '/pipeline', unauthenticated: 'loginPage' });
    await assert.rejects(submitToKfp(h.client({ namespace: 'team-a' }), churn()), isKfp('loginPage', /web page \(a login page, e\.g\. Dex\).*not authenticated/));
    h.sim.addUser('alice@example.com', TOKEN, ['team-a']);
    h.sim.inject({ operation: 'ExperimentService_ListExperiments', action: 'html' });
    await assert.rejects(submitToKfp(h.client({ namespace: 'team-a', tokenFile }), churn()), isKfp('loginPage', /login page/));
  });

  it('a bare redirect (no page) is also read as a login redirect', () => {
    const err = errorForResponse(302, undefined, '', { action: 'list runs', endpoint: 'https://kf.example.com' });
    assert.equal(err.kind, 'loginPage');
  });

  it('listing without a namespace in multi-user mode is refused by KFP, and the client always sends it', async () => {
    const client = h.client({ namespace: 'team-a', tokenFile });
    await submitToKfp(client, churn());
    assert.ok(h.sim.requests.filter((r) => r.operation === 'ExperimentService_ListExperiments').every((r) => r.query.namespace === 'team-a'));
    const noNamespace = h.client({ tokenFile });
    await assert.rejects(noNamespace.listExperiments(), isKfp('invalid', /requires filtering by namespace/));
  });
});

describe('KFP errors (endpoint problems)', () => {
  it('KFP 1.x: names the version and says KFP 2.0 is needed', async () => {
    const h = await startKfp({ legacyVersion: '1.8.5' });
    try {
      await assert.rejects(h.client().checkApi(), isKfp('tooOld', /version 1\.8\.5, which has no v2 API.*KFP 2\.0 or later/));
      await assert.rejects(submitToKfp(h.client(), churn()), isKfp('tooOld', /no Kubeflow Pipelines v2 API/));
    } finally {
      await h.close();
    }
  });

  it('an endpoint where nothing listens is unreachable, and says so without waiting for long', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const client = new KfpClient(resolveEndpoint({ endpoint: `http://127.0.0.1:${port}` }, { env: {} }), { maxRetries: 1, sleep: () => Promise.resolve() });
    await assert.rejects(client.checkApi(), isKfp('unreachable', /Cannot reach Kubeflow Pipelines at http:\/\/127\.0\.0\.1:\d+ .*connection was refused/));
  });

  it('HTTPS: an untrusted certificate is a tls error; with flowbook.kfp.caFile it works', async () => {
    const h = await startKfp({ tls: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-kfp-'));
    try {
      const endpoint = h.sim.url.replace('127.0.0.1', 'localhost');
      const untrusted = new KfpClient(resolveEndpoint({ endpoint }, { env: {} }), { maxRetries: 0 });
      await assert.rejects(untrusted.checkApi(), isKfp('tls', /not trusted.*flowbook\.kfp\.caFile/));
      const caFile = path.join(dir, 'ca.pem');
      fs.writeFileSync(caFile, h.sim.caPem);
      const trusted = new KfpClient(resolveEndpoint({ endpoint, caFile }, { env: {} }));
      assert.deepEqual(await trusted.checkApi(), { multiUser: false });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await h.close();
    }
  });

  it('a 5xx that persists on a read is retried, then reported as a server error', async () => {
    const h = await startKfp();
    try {
      h.sim.inject({ operation: 'RunService_GetRun', status: 503, times: 10 });
      await assert.rejects(h.client().getRun('run-x'), isKfp('server', /failed \(503\) when trying to get run run-x/));
      assert.equal(h.sim.count({ operation: 'RunService_GetRun' }), 4);
      assert.deepEqual(h.sleeps, [500, 1000, 2000]);
    } finally {
      await h.close();
    }
  });
});

describe('KFP errors in VS Code (inSettingsTerms)', () => {
  const ctx = { action: 'list experiments', endpoint: 'https://kubeflow.example.com/pipeline', namespace: 'team-a' };
  const config = (): string => {
    try {
      resolveEndpoint({}, { env: {} });
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('an empty endpoint must be refused');
  };

  it('names the flowbook.kfp.* settings instead of the command-line options, and keeps the rest', () => {
    const cases: [string, RegExp][] = [
      [config(), /^No Kubeflow Pipelines endpoint is set\. Set flowbook\.kfp\.endpoint to your Kubeflow address, e\.g\. https:\/\/kubeflow\.example\.com; or port-forward/],
      [errorForResponse(401, 'application/json', '{}', ctx).message, /refused the credentials \(401\).*"kubeconfig"\), or set flowbook\.kfp\.tokenFile to a file holding a token\.$/],
      [errorForResponse(200, 'text/html', '<html></html>', ctx).message, /flowbook\.kfp\.tokenSource to "kubeconfig" .* or set flowbook\.kfp\.tokenFile to a file holding a token; or check that flowbook\.kfp\.endpoint/],
    ];
    for (const [message, expected] of cases) {
      assert.match(message, /--endpoint|--token-file/, 'the core message names an option');
      const shown = inSettingsTerms(message);
      assert.match(shown, expected);
      assert.doesNotMatch(shown, /--endpoint|--token-file/);
    }
  });
});
