// The Kaniko builder on its own: the Pod and ConfigMap it asks for (against schemas of our
// own and, when ../shared is there, Kubernetes' own Container and Volume definitions), and
// how `runKanikoBuild` drives a cluster, through an in-memory `KanikoCluster` that records
// every call: the order of calls, cleanup after success, failure and cancel, and the
// messages for each way a build goes wrong. test/unit/cluster/kaniko.test.ts runs the same
// builder against the simulated cluster and a real registry.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { buildPipelineImages } from '../../../src/images/build';
import {
  kanikoConfigMap, kanikoPod, runKanikoBuild, CONTEXT_KEY, MAX_CONTEXT_BYTES,
  type KanikoCluster, type KanikoConfigMap, type KanikoPod, type KanikoPodEnd, type SecretKeys,
} from '../../../src/images/builders/kaniko';
import { buildContext, contextTarGz } from '../../../src/images/context';
import { StaticCredentials } from '../../../src/images/dockerConfig';
import { ImageError } from '../../../src/images/errors';
import { readLayer, testPipeline } from './baseImage';

const REPO = path.resolve(__dirname, '../../../..');
const SHARED_SCHEMA = path.resolve(REPO, '../shared/schemas/argo-workflow-schema.json');
const BASE_DIGEST = 'sha256:' + '1'.repeat(64);
const DIGEST = 'sha256:' + 'c'.repeat(64);
const job = { target: 'registry.example.com/team/env:fb-0123456789abcdef0123456789abcdef', tag: 'fb-0123456789abcdef0123456789abcdef', insecure: false, buildId: 'k3x9q' };

function schema(name: string): (data: unknown) => void {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(JSON.parse(fs.readFileSync(path.join(REPO, 'test/fixtures/images', name), 'utf8')) as object);
  return (data) => assert.ok(validate(data), ajv.errorsText(validate.errors));
}

describe('images: the Kaniko build Pod and its context ConfigMap', () => {
  it('makes a Pod that unpacks the context from the mounted ConfigMap and reports the digest, matching the schema', () => {
    const pod = kanikoPod(job, { namespace: 'ml-team', pushSecret: 'regcred', resources: { requests: { cpu: '500m', memory: '1Gi' } } });
    schema('kaniko-pod.schema.json')(pod);
    const c = pod.spec.containers[0]!;
    assert.deepEqual(c.args.slice(0, 4), ['--context=tar:///workspace/context.tar.gz', '--dockerfile=Dockerfile', `--destination=${job.target}`, '--digest-file=/dev/termination-log']);
    assert.equal(c.terminationMessagePath, '/dev/termination-log');
    assert.ok(!c.args.some((a) => a.startsWith('--insecure')), 'TLS is kept for a normal registry');
    assert.equal(pod.metadata.name, 'flowbook-build-0123456789abcdef0123-k3x9q');
    assert.deepEqual(c.volumeMounts, [
      { name: 'build-context', mountPath: '/workspace', readOnly: true },
      { name: 'docker-config', mountPath: '/kaniko/.docker', readOnly: true },
    ]);
    assert.deepEqual(pod.spec.volumes, [
      { name: 'build-context', configMap: { name: pod.metadata.name } },
      { name: 'docker-config', secret: { secretName: 'regcred', items: [{ key: '.dockerconfigjson', path: 'config.json' }] } },
    ]);
    assert.deepEqual(kanikoPod(job, { namespace: 'ml-team', pushSecret: 'regcred', resources: { requests: { cpu: '500m', memory: '1Gi' } } }), pod, 'deterministic');
    const insecure = kanikoPod({ ...job, insecure: true }, { namespace: 'x' });
    assert.ok(insecure.spec.containers[0]!.args.includes('--insecure'));
    assert.ok(insecure.spec.containers[0]!.args.includes('--insecure-pull'));
    assert.deepEqual(insecure.spec.volumes.map((v) => v.name), ['build-context'], 'no secret volume without a push secret');
  });

  it('matches Kubernetes\' own Container and Volume definitions (from ../shared)', function () {
    if (!fs.existsSync(SHARED_SCHEMA)) {
      console.log(`shared/ absent: ${SHARED_SCHEMA} not found; the Pod was checked against test/fixtures/images/kaniko-pod.schema.json only`);
      return;
    }
    const argo = JSON.parse(fs.readFileSync(SHARED_SCHEMA, 'utf8')) as { definitions: Record<string, object> };
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
    ajv.addSchema({ $id: 'k8s', definitions: argo.definitions });
    const pod: KanikoPod = kanikoPod(job, { namespace: 'ml-team', pushSecret: 'regcred' });
    const container = ajv.getSchema('k8s#/definitions/io.k8s.api.core.v1.Container')!;
    assert.ok(container(pod.spec.containers[0]), ajv.errorsText(container.errors));
    const volume = ajv.getSchema('k8s#/definitions/io.k8s.api.core.v1.Volume')!;
    assert.equal(pod.spec.volumes.length, 2);
    for (const v of pod.spec.volumes) assert.ok(volume(v), ajv.errorsText(volume.errors));
  });

  it('puts the generated Containerfile and requirements.txt in the ConfigMap as a reproducible tar.gz', async () => {
    const ctx = buildContext({ registry: 'docker.io', repository: 'library/python' }, BASE_DIGEST, ['pandas==2.2.1']);
    const tarGz = await contextTarGz(ctx);
    assert.deepEqual(await contextTarGz(ctx), tarGz, 'the same context gives the same bytes');
    const cm = kanikoConfigMap(job, { namespace: 'ml-team' }, tarGz);
    schema('kaniko-configmap.schema.json')(cm);
    assert.equal(cm.metadata.name, kanikoPod(job, { namespace: 'ml-team' }).metadata.name, 'the Pod mounts the ConfigMap of its own name');
    assert.deepEqual(Object.keys(cm.binaryData), [CONTEXT_KEY]);
    const files = await readLayer(Buffer.from(cm.binaryData[CONTEXT_KEY]!, 'base64'));
    assert.deepEqual([...files.keys()].sort(), ['Dockerfile', 'requirements.txt']);
    assert.equal(files.get('Dockerfile'), ctx.files.Containerfile);
    assert.equal(files.get('requirements.txt'), 'pandas==2.2.1\n');
    assert.match(files.get('Dockerfile')!, new RegExp(`^FROM python@${BASE_DIGEST}$`, 'm'));
  });
});

/** An in-memory cluster: records calls; `end`, `lines` and the hooks decide what the build does. */
class FakeCluster implements KanikoCluster {
  calls: string[] = [];
  configMaps = new Map<string, KanikoConfigMap>();
  pods = new Map<string, KanikoPod>();
  lines: string[] = ['INFO[0000] Retrieving image manifest python@sha256:111', 'INFO[0003] Pushing image to registry.example.com/team/env'];
  end: KanikoPodEnd = { phase: 'Succeeded', exitCode: 0, message: DIGEST };
  secret: SecretKeys = { state: 'found', type: 'kubernetes.io/dockerconfigjson', keys: ['.dockerconfigjson'] };
  failCreatePod?: Error;
  failAdopt?: Error;
  /** Never finishes until the signal aborts. */
  hang = false;
  logAborted = false;

  async createConfigMap(ns: string, cm: KanikoConfigMap) {
    this.calls.push(`createConfigMap ${ns}/${cm.metadata.name}`);
    this.configMaps.set(cm.metadata.name, cm);
  }
  async createPod(ns: string, pod: KanikoPod) {
    this.calls.push(`createPod ${ns}/${pod.metadata.name}`);
    if (this.failCreatePod) throw this.failCreatePod;
    this.pods.set(pod.metadata.name, pod);
    return { uid: 'uid-1' };
  }
  async adoptConfigMap(ns: string, name: string, owner: { name: string; uid: string }) {
    this.calls.push(`adoptConfigMap ${ns}/${name} by ${owner.name} ${owner.uid}`);
    if (this.failAdopt) throw this.failAdopt;
  }
  async secretKeys(ns: string, name: string) {
    this.calls.push(`secretKeys ${ns}/${name}`);
    return this.secret;
  }
  async streamLogs(_ns: string, _pod: string, container: string, onLine: (l: string) => void, signal?: AbortSignal) {
    this.calls.push(`streamLogs ${container}`);
    for (const l of this.lines) onLine(l);
    if (this.hang) {
      await new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve()));
      this.logAborted = true;
    }
  }
  async waitForPod(_ns: string, pod: string, signal?: AbortSignal) {
    this.calls.push(`waitForPod ${pod}`);
    if (this.hang) {
      await new Promise<void>((_resolve, reject) => signal?.addEventListener('abort', () => reject(Object.assign(new Error('Cancelled.'), { name: 'ClusterError' }))));
    }
    return this.end;
  }
  async deletePod(ns: string, name: string) {
    this.calls.push(`deletePod ${ns}/${name}`);
    this.pods.delete(name);
  }
  async deleteConfigMap(ns: string, name: string) {
    this.calls.push(`deleteConfigMap ${ns}/${name}`);
    this.configMaps.delete(name);
  }
}

describe('images: runKanikoBuild against an in-memory cluster', () => {
  let context: Buffer;
  before(async () => {
    context = await contextTarGz(buildContext({ registry: 'docker.io', repository: 'library/python' }, BASE_DIGEST, ['pandas==2.2.1']));
  });
  const NAME = 'ml-team/flowbook-build-0123456789abcdef0123-k3x9q';

  it('sends the context, creates the Pod, ties the ConfigMap to it, follows the log, returns the digest and removes both', async () => {
    const cluster = new FakeCluster();
    const logs: string[] = [];
    const result = await runKanikoBuild(cluster, job, context, { namespace: 'ml-team', pushSecret: 'regcred' }, (l) => logs.push(l));
    assert.equal(result.digest, DIGEST);
    assert.deepEqual(cluster.calls, [
      'secretKeys ml-team/regcred',
      `createConfigMap ${NAME}`,
      `createPod ${NAME}`,
      'adoptConfigMap ml-team/flowbook-build-0123456789abcdef0123-k3x9q by flowbook-build-0123456789abcdef0123-k3x9q uid-1',
      'streamLogs kaniko',
      'waitForPod flowbook-build-0123456789abcdef0123-k3x9q',
      `deletePod ${NAME}`,
      `deleteConfigMap ${NAME}`,
    ]);
    assert.ok(logs.includes('INFO[0003] Pushing image to registry.example.com/team/env'), 'Kaniko\'s log reaches the build log');
    assert.equal(cluster.pods.size + cluster.configMaps.size, 0);
  });

  it('makes the Pod and ConfigMap names unique per build when no build id is given', async () => {
    const cluster = new FakeCluster();
    const { buildId: _, ...anonymous } = job;
    await runKanikoBuild(cluster, anonymous, context, { namespace: 'ml-team' }, () => undefined);
    await runKanikoBuild(cluster, anonymous, context, { namespace: 'ml-team' }, () => undefined);
    const created = cluster.calls.filter((c) => c.startsWith('createPod')).map((c) => c.split('/')[1]!);
    assert.equal(created.length, 2);
    assert.notEqual(created[0], created[1]);
    for (const n of created) assert.match(n, /^flowbook-build-0123456789abcdef0123-[a-z0-9]{5}$/);
  });

  it('on failure: the last Kaniko log lines in the message, and the Pod and ConfigMap removed', async () => {
    const cluster = new FakeCluster();
    cluster.lines = ['INFO Running pip install', 'ERROR: No matching distribution found for fail-please', 'error building image: exit status 1'];
    cluster.end = { phase: 'Failed', exitCode: 1, reason: 'Error' };
    await assert.rejects(runKanikoBuild(cluster, job, context, { namespace: 'ml-team' }, () => undefined), (err: unknown) => {
      assert.ok(err instanceof ImageError);
      assert.equal(err.kind, 'build-failed');
      assert.match(err.message, /Kaniko build of .* failed in the Pod ml-team\/flowbook-build-.* \(exit code 1\)\. Nothing was pushed/);
      assert.match(err.message, /Last lines of the Kaniko log:\n {2}INFO Running pip install\n {2}ERROR: No matching distribution found for fail-please/);
      assert.deepEqual(err.logTail, cluster.lines);
      return true;
    });
    assert.deepEqual(cluster.calls.slice(-2), [`deletePod ${NAME}`, `deleteConfigMap ${NAME}`]);
  });

  it('on cancel: stops waiting and following, removes both, and says it was cancelled', async () => {
    const cluster = new FakeCluster();
    cluster.hang = true;
    const controller = new AbortController();
    const running = runKanikoBuild(cluster, job, context, { namespace: 'ml-team' }, (l) => {
      if (l.includes('Pushing image')) setImmediate(() => controller.abort());
    }, controller.signal);
    await assert.rejects(running, (err: unknown) => err instanceof ImageError && err.kind === 'cancelled' && /cancelled; Flowbook removes the build Pod ml-team\/flowbook-build-/.test(err.message));
    assert.ok(cluster.logAborted, 'the log stream was stopped');
    assert.deepEqual(cluster.calls.slice(-2), [`deletePod ${NAME}`, `deleteConfigMap ${NAME}`]);
    await assert.rejects(runKanikoBuild(new FakeCluster(), job, context, { namespace: 'ml-team' }, () => undefined, AbortSignal.abort()), (err: unknown) => err instanceof ImageError && err.kind === 'cancelled');
  });

  it('when the cluster refuses to create the Pod: the cluster\'s message, and the ConfigMap removed', async () => {
    const cluster = new FakeCluster();
    cluster.failCreatePod = new Error('Permission denied: kubeconfig user "alice" may not create pods in namespace "ml-team" (403 Forbidden, context "dev").');
    await assert.rejects(runKanikoBuild(cluster, job, context, { namespace: 'ml-team' }, () => undefined), (err: unknown) => {
      assert.ok(err instanceof ImageError);
      assert.equal(err.kind, 'cluster');
      assert.match(err.message, /^The Kaniko build of registry\.example\.com\/team\/env:fb-\w+ could not run on the cluster: Permission denied: .* may not create pods in namespace "ml-team"/);
      return true;
    });
    assert.ok(cluster.calls.includes(`deleteConfigMap ${NAME}`));
    assert.equal(cluster.configMaps.size, 0);
  });

  it('says how to remove what it could not delete', async () => {
    const cluster = new FakeCluster();
    cluster.deletePod = async () => {
      throw new Error('may not delete pods');
    };
    const logs: string[] = [];
    await runKanikoBuild(cluster, job, context, { namespace: 'ml-team' }, (l) => logs.push(l));
    assert.equal(logs.at(-1), 'Could not delete the build pod ml-team/flowbook-build-0123456789abcdef0123-k3x9q: remove it with `kubectl delete pod flowbook-build-0123456789abcdef0123-k3x9q -n ml-team`.');
    assert.equal(cluster.configMaps.size, 0, 'the ConfigMap is still deleted');
  });

  it('goes on when the ConfigMap cannot be tied to its Pod (it is deleted at the end anyway)', async () => {
    const cluster = new FakeCluster();
    cluster.failAdopt = new Error('may not patch configmaps');
    const logs: string[] = [];
    assert.equal((await runKanikoBuild(cluster, job, context, { namespace: 'ml-team' }, (l) => logs.push(l))).digest, DIGEST);
    assert.ok(logs.some((l) => /could not be tied to its Pod: may not patch configmaps/.test(l)));
    assert.equal(cluster.configMaps.size, 0);
  });

  it('says which Secret to create when the registry refuses the push', async () => {
    const cluster = new FakeCluster();
    cluster.lines = ['error checking push permissions -- make sure you entered the correct tag name, and that you are authenticated correctly, and try again: checking push permission for "registry.example.com/team/env:fb-1": POST https://registry.example.com/v2/team/env/blobs/uploads/: UNAUTHORIZED: authentication required'];
    cluster.end = { phase: 'Failed', exitCode: 1, reason: 'Error' };
    await assert.rejects(runKanikoBuild(cluster, job, context, { namespace: 'ml-team' }, () => undefined), (err: unknown) => {
      assert.ok(err instanceof ImageError);
      assert.equal(err.kind, 'unauthorized');
      assert.match(err.message, /the registry registry\.example\.com refused it\. The build Pod has no credentials for registry\.example\.com/);
      assert.match(err.message, /kubectl create secret docker-registry flowbook-push --docker-server=registry\.example\.com .* -n ml-team`, then build again with --registry-secret flowbook-push/);
      return true;
    });
    await assert.rejects(runKanikoBuild(cluster, job, context, { namespace: 'ml-team', pushSecret: 'regcred' }, () => undefined), /credentials in the push Secret "regcred" \(namespace "ml-team"\) do not let it push to registry\.example\.com/);
  });

  it('refuses before creating anything when the push Secret is missing or not a docker-registry Secret', async () => {
    const missing = new FakeCluster();
    missing.secret = { state: 'missing' };
    await assert.rejects(runKanikoBuild(missing, job, context, { namespace: 'ml-team', pushSecret: 'regcred' }, () => undefined), (err: unknown) => {
      assert.ok(err instanceof ImageError);
      assert.equal(err.kind, 'input');
      assert.match(err.message, /The push Secret "regcred" \(--registry-secret\) does not exist in namespace "ml-team"\. Create it .*`kubectl create secret docker-registry regcred --docker-server=registry\.example\.com/);
      return true;
    });
    assert.deepEqual(missing.calls, ['secretKeys ml-team/regcred']);
    const opaque = new FakeCluster();
    opaque.secret = { state: 'found', type: 'Opaque', keys: ['password'] };
    await assert.rejects(runKanikoBuild(opaque, job, context, { namespace: 'ml-team', pushSecret: 'regcred' }, () => undefined), /not a docker-registry Secret \(it has no \.dockerconfigjson key; its type is Opaque\)/);
    const unreadable = new FakeCluster();
    unreadable.secret = { state: 'unknown', reason: 'this user may not read Secrets in namespace "ml-team".' };
    const logs: string[] = [];
    await runKanikoBuild(unreadable, job, context, { namespace: 'ml-team', pushSecret: 'regcred' }, (l) => logs.push(l));
    assert.ok(logs.some((l) => l.includes('Cannot check the push Secret ml-team/regcred')), 'an unreadable Secret is not a reason to stop');
  });

  it('explains a Pod that cannot start: executor image not pullable, start timeout', async () => {
    const cluster = new FakeCluster();
    cluster.lines = [];
    cluster.end = { phase: 'Failed', reason: 'ImagePullBackOff', message: 'Back-off pulling image "gcr.io/kaniko-project/executor:v1.23.2"' };
    await assert.rejects(runKanikoBuild(cluster, job, context, { namespace: 'ml-team' }, () => undefined), (err: unknown) => {
      assert.ok(err instanceof ImageError);
      assert.equal(err.kind, 'builder-missing');
      assert.match(err.message, /cannot pull the Kaniko executor image gcr\.io\/kaniko-project\/executor:v1\.23\.2 .*ImagePullBackOff.*--kaniko-image/);
      return true;
    });
    cluster.end = { phase: 'Failed', reason: 'StartTimeout', message: 'still ContainerCreating after 10 min' };
    await assert.rejects(runKanikoBuild(cluster, job, context, { namespace: 'ml-team' }, () => undefined), /did not start \(still ContainerCreating after 10 min\)\. `kubectl describe pod flowbook-build-\S+ -n ml-team` shows why/);
    assert.equal(cluster.pods.size + cluster.configMaps.size, 0);
  });

  it('refuses a context too big for a ConfigMap, and a wheel-house, before touching the cluster', async () => {
    const cluster = new FakeCluster();
    await assert.rejects(runKanikoBuild(cluster, job, Buffer.alloc(MAX_CONTEXT_BYTES + 1), { namespace: 'ml-team' }, () => undefined), (err: unknown) => err instanceof ImageError && err.kind === 'input' && /too big for the Kaniko builder/.test(err.message));
    await assert.rejects(
      buildPipelineImages(testPipeline('127.0.0.1:1/base:1', [{ name: 'load' }]), {
        registry: '127.0.0.1:1/team/env',
        builder: 'kaniko',
        wheelhouse: '/nonexistent',
        requirements: ['pandas==2.2.1'],
        credentials: new StaticCredentials({}),
        kaniko: { cluster, settings: { namespace: 'ml-team' } },
      }),
      (err: unknown) => err instanceof ImageError && err.kind === 'input' && /kaniko builder cannot take a wheel-house: .*ConfigMap.*--builder oci/.test(err.message),
    );
    assert.deepEqual(cluster.calls, []);
  });
});
