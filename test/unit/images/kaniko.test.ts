// The Kaniko builder: the Pod spec (against a schema of our own and, when ../shared is
// there, Kubernetes' own Container and Volume definitions), the build context, and a build
// run against the simulated cluster through the real @kubernetes/client-node. The simulated
// cluster has no attach endpoint, so the test's adapter records the uploaded context; the
// test plays the kubelet: it writes Kaniko's log lines and finishes the Pod.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import Ajv from 'ajv';
import { CoreV1Api, KubeConfig, Log, type V1Pod } from '@kubernetes/client-node';
import { kanikoPod, runKanikoBuild, type KanikoCluster, type KanikoPod } from '../../../src/images/builders/kaniko';
import { buildContext, contextTarGz } from '../../../src/images/context';
import { ImageError } from '../../../src/images/errors';
import { SimulatedCluster } from '../../sim/simulatedCluster';
import { readLayer, tmpDir } from './baseImage';

const REPO = path.resolve(__dirname, '../../../..');
const SHARED_SCHEMA = path.resolve(REPO, '../shared/schemas/argo-workflow-schema.json');
const BASE_DIGEST = 'sha256:' + '1'.repeat(64);
const job = { target: 'registry.example.com/team/env:fb-0123456789abcdef0123456789abcdef', tag: 'fb-0123456789abcdef0123456789abcdef', insecure: false };

describe('images: Kaniko build Pod and context', () => {
  it('makes a Pod that reads the context from stdin and reports the digest, matching the schema', () => {
    const pod = kanikoPod(job, { namespace: 'ml-team', pushSecret: 'regcred', resources: { requests: { cpu: '500m', memory: '1Gi' } } });
    const ajv = new Ajv({ allErrors: true, strict: false });
    const schema = JSON.parse(fs.readFileSync(path.join(REPO, 'test/fixtures/images/kaniko-pod.schema.json'), 'utf8')) as object;
    assert.ok(ajv.validate(schema, pod), ajv.errorsText());
    const c = pod.spec.containers[0]!;
    assert.ok(c.args.includes('--context=tar://stdin'));
    assert.ok(c.args.includes(`--destination=${job.target}`));
    assert.ok(c.args.includes('--digest-file=/dev/termination-log'));
    assert.ok(!c.args.some((a) => a.startsWith('--insecure')), 'TLS is kept for a normal registry');
    assert.deepEqual(c.volumeMounts, [{ name: 'docker-config', mountPath: '/kaniko/.docker', readOnly: true }]);
    assert.deepEqual(pod.spec.volumes?.[0]?.secret, { secretName: 'regcred', items: [{ key: '.dockerconfigjson', path: 'config.json' }] });
    assert.equal(pod.metadata.name, 'flowbook-build-0123456789abcdef0123');
    assert.deepEqual(kanikoPod(job, { namespace: 'ml-team', pushSecret: 'regcred', resources: { requests: { cpu: '500m', memory: '1Gi' } } }), pod, 'deterministic');
    const insecure = kanikoPod({ ...job, insecure: true }, { namespace: 'x' });
    assert.ok(insecure.spec.containers[0]!.args.includes('--insecure'));
    assert.equal(insecure.spec.volumes, undefined, 'no secret volume without a push secret');
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
    for (const v of pod.spec.volumes ?? []) assert.ok(volume(v), ajv.errorsText(volume.errors));
  });

  it('packs the context as a reproducible tar.gz holding the Dockerfile and requirements.txt', async () => {
    const ctx = buildContext({ registry: 'docker.io', repository: 'library/python' }, BASE_DIGEST, ['pandas==2.2.1']);
    const a = await contextTarGz(ctx);
    const b = await contextTarGz(ctx);
    assert.deepEqual(a, b);
    const files = await readLayer(a);
    assert.deepEqual([...files.keys()].sort(), ['Dockerfile', 'requirements.txt']);
    assert.equal(files.get('requirements.txt'), 'pandas==2.2.1\n');
    assert.match(files.get('Dockerfile')!, new RegExp(`^FROM python@${BASE_DIGEST}$`, 'm'));
    assert.match(files.get('Dockerfile')!, /^RUN .*pip install --no-cache-dir -r \/tmp\/flowbook-requirements.txt/m);
    assert.ok(zlib.gunzipSync(a).length > 0);
  });
});

/** A KanikoCluster over client-node, as src/cluster will provide; stdin upload is recorded (the simulated cluster has no attach). */
function simAdapter(kc: KubeConfig, uploads: Buffer[]): KanikoCluster {
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async createPod(namespace, pod) {
      await core.createNamespacedPod({ namespace, body: pod as unknown as V1Pod });
    },
    async uploadContext(_ns, _pod, _container, context) {
      uploads.push(context);
    },
    async streamLogs(namespace, pod, container, onLine) {
      let partial = '';
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          partial += chunk.toString();
          const lines = partial.split('\n');
          partial = lines.pop() ?? '';
          lines.forEach(onLine);
          done();
        },
      });
      await new Promise<void>((resolve, reject) => {
        sink.on('finish', () => resolve());
        new Log(kc).log(namespace, pod, container, sink, { follow: true }).catch(reject);
      });
    },
    async waitForPod(namespace, name) {
      for (;;) {
        const pod = await core.readNamespacedPod({ name, namespace });
        const phase = pod.status?.phase;
        if (phase === 'Succeeded' || phase === 'Failed') {
          const term = pod.status?.containerStatuses?.[0]?.state?.terminated;
          return { phase, exitCode: term?.exitCode, message: term?.message };
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async deletePod(namespace, name) {
      await core.deleteNamespacedPod({ name, namespace });
    },
  };
}

describe('images: Kaniko build against the simulated cluster', function () {
  this.timeout(30_000);
  let sim: SimulatedCluster;
  let kc: KubeConfig;
  let dir: string;
  before(async () => {
    sim = await SimulatedCluster.start({ argoController: false, kserveController: false, namespaces: ['default', 'ml-team'] });
    dir = tmpDir('flowbook-kaniko-');
    kc = new KubeConfig();
    kc.loadFromFile(sim.writeKubeconfig(dir));
  });
  after(async () => {
    await sim?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Plays Kaniko and the kubelet once the Pod exists. */
  function playKaniko(lines: string[], result: { phase: 'Succeeded' | 'Failed'; exitCode: number; message?: string }): Promise<KanikoPod> {
    return new Promise((resolve) => {
      const timer = setInterval(() => {
        const pod = sim.store.list('/pods', 'ml-team')[0];
        if (!pod) return;
        clearInterval(timer);
        const name = pod.metadata.name!;
        for (const l of lines) sim.appendLog('ml-team', name, l);
        sim.endLog('ml-team', name);
        sim.store.mutate('/pods', 'ml-team', name, (o) => {
          o.status = { phase: result.phase, containerStatuses: [{ name: 'kaniko', state: { terminated: { exitCode: result.exitCode, message: result.message } } }] };
        });
        resolve(pod as unknown as KanikoPod);
      }, 20);
    });
  }

  it('creates the Pod, sends the context, streams the log, returns the digest and removes the Pod', async () => {
    const uploads: Buffer[] = [];
    const logs: string[] = [];
    const digest = 'sha256:' + 'c'.repeat(64);
    const context = await contextTarGz(buildContext({ registry: 'docker.io', repository: 'library/python' }, BASE_DIGEST, ['pandas==2.2.1']));
    const played = playKaniko(['INFO Retrieving image manifest python@sha256:111', 'INFO Pushing image to registry.example.com/team/env'], { phase: 'Succeeded', exitCode: 0, message: digest });
    const result = await runKanikoBuild(simAdapter(kc, uploads), job, context, { namespace: 'ml-team' }, (l) => logs.push(l));
    const created = await played;
    assert.equal(result.digest, digest);
    assert.deepEqual(uploads, [context]);
    assert.ok(logs.includes('INFO Pushing image to registry.example.com/team/env'));
    assert.deepEqual(created.spec, kanikoPod(job, { namespace: 'ml-team' }).spec, 'the cluster stored the Pod as generated');
    assert.equal(sim.store.list('/pods', 'ml-team').length, 0, 'the build Pod is removed');
  });

  it('on failure: the last Kaniko log lines in the message, and the Pod removed', async () => {
    const played = playKaniko(['INFO Running pip install', 'ERROR: No matching distribution found for fail-please', 'error building image: exit status 1'], { phase: 'Failed', exitCode: 1 });
    await assert.rejects(runKanikoBuild(simAdapter(kc, []), job, Buffer.from('x'), { namespace: 'ml-team' }, () => undefined), (err: unknown) => {
      assert.ok(err instanceof ImageError);
      assert.equal(err.kind, 'build-failed');
      assert.match(err.message, /Kaniko build of .* failed .*exit code 1.*Nothing was pushed/s);
      assert.match(err.message, /No matching distribution found for fail-please/);
      return true;
    });
    await played;
    assert.equal(sim.store.list('/pods', 'ml-team').length, 0);
  });
});
