// Kaniko builds end to end through the Kubernetes API: the real @kubernetes/client-node
// against the simulated cluster (test/sim), whose simulated Kaniko reads the context from
// the ConfigMap Flowbook creates and really pushes to Debian's docker-registry on loopback.
// In process (`buildPipelineImages` with `kanikoCluster(client)`) and as users run it
// (`flowbook build --builder kaniko` in a child process): the pushed digest, the context
// the builder saw, the Pod spec, cleanup after success, failure and cancel, RBAC refusals,
// push credentials from a Secret, and a log that survives a dropped connection.

import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { kanikoCluster } from '../../../src/cluster/kaniko';
import { compileNotebookFile } from '../../../src/converter';
import { buildPipelineImages, type ImageBuildOptions } from '../../../src/images/build';
import { kanikoPod } from '../../../src/images/builders/kaniko';
import { buildContext } from '../../../src/images/context';
import { StaticCredentials } from '../../../src/images/dockerConfig';
import { ImageError } from '../../../src/images/errors';
import type { ImageManifest } from '../../../src/images/manifest';
import { readImage } from '../../../src/images/oci';
import { registryPool } from '../../../src/images/pool';
import { parseReference } from '../../../src/images/reference';
import { resolvePipelineRequirements } from '../../../src/images/requirements';
import { startSim, waitFor, type SimHarness } from '../../sim/harness';
import type { Rule } from '../../sim/simulatedCluster';
import { startRegistry, type TestRegistry } from '../../support/registry';
import { makeInterpreter, pushBaseImage, readLayer, testPipeline, tmpDir } from '../images/baseImage';

const REPO = path.resolve(__dirname, '../../../..');
const NOTEBOOK = path.join(REPO, 'test/fixtures/images/reqs/notebook.ipynb');
const NS = 'team-a';
const REQUIREMENTS = ['pandas==2.2.1', 'requests==2.31.0'];

/** What a build user may do: everything a Kaniko build needs, minus what `drop` names. */
function builderRules(drop: { podVerbs?: string[]; secrets?: boolean } = {}): Rule[] {
  const podVerbs = ['create', 'get', 'list', 'watch', 'delete'].filter((v) => !(drop.podVerbs ?? []).includes(v));
  return [
    { verbs: ['create', 'get', 'patch', 'delete'], groups: [''], resources: ['configmaps'] },
    { verbs: podVerbs, groups: [''], resources: ['pods'] },
    { verbs: ['get'], groups: [''], resources: ['pods/log'] },
    ...(drop.secrets ? [] : [{ verbs: ['get'], groups: [''], resources: ['secrets'] }]),
  ];
}

function flowbook(args: string[], onSpawn?: (child: ChildProcess) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bin/flowbook.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    onSpawn?.(child);
  });
}

describe('cluster: Kaniko builds through the Kubernetes API (simulated cluster, real registry)', function () {
  this.timeout(120_000);
  let h: SimHarness;
  let reg: TestRegistry;
  let baseRef: string;
  let baseDigest: string;
  let dir: string;
  let py: { python: string; dir: string };

  before(async () => {
    [h, reg] = await Promise.all([startSim({ argoController: false, kserveController: false }), startRegistry()]);
    const pool = registryPool({ credentials: new StaticCredentials({}), insecureRegistries: [reg.host] });
    baseDigest = (await pushBaseImage(pool, reg.host, 'flowbook/base', '1')).digest;
    baseRef = `${reg.host}/flowbook/base:1`;
    dir = tmpDir('flowbook-kaniko-');
    fs.writeFileSync(path.join(dir, 'docker-config.json'), '{}');
    py = makeInterpreter();
  });
  after(async () => {
    await h?.close();
    await reg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (py) fs.rmSync(py.dir, { recursive: true, force: true });
  });

  // A failed test must not leave objects that fail the next ones.
  afterEach(() => {
    for (const resource of ['/pods', '/configmaps']) {
      for (const o of h.sim.store.list(resource, NS)) h.sim.store.delete(resource, NS, o.metadata.name ?? '');
    }
  });

  const leftovers = () => [...h.sim.store.list('/pods', NS), ...h.sim.store.list('/configmaps', NS)].map((o) => `${o.kind}/${o.metadata.name}`);
  const podCreates = () => h.sim.count({ verb: 'create', resource: 'pods' });

  function options(over: Partial<ImageBuildOptions> = {}, client = h.client()): ImageBuildOptions {
    return {
      registry: `${reg.host}/team/env`,
      insecure: true,
      builder: 'kaniko',
      requirements: REQUIREMENTS,
      credentials: new StaticCredentials({}),
      kaniko: { cluster: kanikoCluster(client), settings: { namespace: NS } },
      ...over,
    };
  }

  async function tagDigest(repository: string, tag: string, registry = reg): Promise<string | undefined> {
    const res = await fetch(`${registry.url}/v2/${repository}/manifests/${tag}`, { method: 'HEAD', headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' } });
    return res.status === 200 ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
  }

  describe('in process', () => {
    it('builds from a ConfigMap context in a Pod, pushes the image whose digest it reports, and leaves nothing behind', async () => {
      const logs: string[] = [];
      const before = h.sim.kaniko!.builds.length;
      const result = await buildPipelineImages(testPipeline(baseRef, [{ name: 'load' }, { name: 'train' }]), options({ log: (l) => logs.push(l) }));
      const image = result.images[0]!;
      assert.equal(image.status, 'built');
      assert.equal(image.builder, 'kaniko');
      const tag = image.reference.split(':').pop()!;
      assert.equal(image.digest, await tagDigest('team/env', tag), 'the termination message carries the pushed digest');

      const build = h.sim.kaniko!.builds[before]!;
      assert.equal(build.state, 'succeeded');
      assert.equal(build.digest, image.digest);
      const expected = buildContext(parseReference(baseRef), baseDigest, REQUIREMENTS);
      assert.deepEqual(Object.fromEntries(build.files), { Dockerfile: expected.files.Containerfile, 'requirements.txt': expected.files['requirements.txt'] });
      const id = build.pod.replace(/^.*-/, '');
      assert.deepEqual(build.spec.spec, kanikoPod({ target: image.reference, tag, insecure: true, buildId: id }, { namespace: NS }).spec, 'the cluster stored the Pod as generated');
      assert.equal(build.configMap?.metadata.name, build.pod);
      assert.equal(h.sim.count({ verb: 'patch', resource: 'configmaps', name: build.pod }), 1, 'the ConfigMap was tied to its Pod');

      // The image is the base plus what the (simulated) pip installed from the context.
      const pool = registryPool({ credentials: new StaticCredentials({}), insecureRegistries: [reg.host] });
      const pushed = await readImage(pool, { registry: reg.host, repository: 'team/env', tag });
      assert.equal(pushed.digest, image.digest);
      assert.equal(pushed.config.config?.Labels?.['dev.flowbook.base'], `${reg.host}/flowbook/base@${baseDigest}`);
      const top = (pushed.manifest as ImageManifest).layers.at(-1)!;
      const files = await readLayer(await pool.client(reg.host).getBlob('team/env', top.digest));
      assert.equal(files.get('opt/flowbook-test/installed.txt'), 'pandas==2.2.1\nrequests==2.31.0\n');

      assert.ok(logs.some((l) => l.startsWith('INFO[0000] Pushing image to')), 'Kaniko\'s log reaches the build log');
      assert.equal(logs.filter((l) => l.startsWith('Successfully installed')).length, 1, 'no log line twice');
      assert.deepEqual(leftovers(), []);
    });

    it('builds nothing, and creates no Pod, when the registry already has the tag', async () => {
      const creates = podCreates();
      const result = await buildPipelineImages(testPipeline(baseRef, [{ name: 'load' }]), options());
      assert.equal(result.images[0]!.status, 'existing');
      assert.equal(podCreates(), creates);
    });

    it('fails with pip\'s error when a requirement cannot be installed, pushes nothing, and removes Pod and ConfigMap', async () => {
      await assert.rejects(buildPipelineImages(testPipeline(baseRef, [{ name: 'load' }]), options({ requirements: ['fail-please==1.0'] })), (err: unknown) => {
        assert.ok(err instanceof ImageError);
        assert.equal(err.kind, 'build-failed');
        assert.match(err.message, /Kaniko build of .* failed in the Pod team-a\/flowbook-build-\S+ \(exit code 1\)\. Nothing was pushed/);
        assert.match(err.message, /ERROR: No matching distribution found for fail-please==1\.0\n {2}error building image: .*exit status 1/);
        return true;
      });
      const last = h.sim.kaniko!.builds.at(-1)!;
      assert.equal(last.state, 'failed');
      assert.equal(await tagDigest('team/env', last.destinations[0]!.split(':').pop()!), undefined);
      assert.deepEqual(leftovers(), []);
    });

    it('stops a running build when cancelled: Pod and ConfigMap deleted, nothing pushed', async () => {
      const controller = new AbortController();
      const running = buildPipelineImages(testPipeline(baseRef, [{ name: 'load' }]), options({
        requirements: ['hang-please==1.0'],
        signal: controller.signal,
        log: (l) => {
          if (l.startsWith('Collecting hang-please')) controller.abort();
        },
      }));
      await assert.rejects(running, (err: unknown) => err instanceof ImageError && err.kind === 'cancelled');
      const last = h.sim.kaniko!.builds.at(-1)!;
      assert.equal(last.state, 'deleted', 'the Pod was deleted while it ran');
      assert.equal(await tagDigest('team/env', last.destinations[0]!.split(':').pop()!), undefined);
      assert.deepEqual(leftovers(), []);
    });

    it('names the verb, resource and namespace when the user may not create pods, and removes the ConfigMap', async () => {
      h.sim.addUser('no-pods', 'no-pods-token', builderRules({ podVerbs: ['create'] }));
      const kubeconfig = h.sim.writeKubeconfig(dir, { token: 'no-pods-token', namespace: NS, file: 'no-pods' });
      const client = h.client({ kubeconfig });
      await assert.rejects(buildPipelineImages(testPipeline(baseRef, [{ name: 'load' }]), options({ requirements: ['numpy==1.26.4'] }, client)), (err: unknown) => {
        assert.ok(err instanceof ImageError);
        assert.equal(err.kind, 'cluster');
        assert.match(err.message, /could not run on the cluster: Permission denied: kubeconfig user "sim-user" may not create pods in namespace "team-a" \(403 Forbidden/);
        assert.match(err.message, /verbs \["create"\] on resources \["pods"\]/);
        return true;
      });
      assert.equal(h.sim.count({ verb: 'delete', resource: 'configmaps', user: 'no-pods' }), 1);
      assert.deepEqual(leftovers(), []);
    });

    it('explains a Pod refused by Pod Security admission (no Role helps there)', async () => {
      h.sim.inject({ verb: 'create', resource: 'pods', status: 403, message: 'pods "flowbook-build-x" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or container "kaniko" must set securityContext.runAsNonRoot=true)' });
      await assert.rejects(buildPipelineImages(testPipeline(baseRef, [{ name: 'load' }]), options({ requirements: ['numpy==1.26.4'] })), (err: unknown) => {
        assert.ok(err instanceof ImageError);
        assert.equal(err.kind, 'cluster');
        assert.match(err.message, /Namespace "team-a" does not admit the Kaniko build Pod: .*running as root.*--namespace.* The cluster said: .*violates PodSecurity "restricted:latest"/);
        assert.doesNotMatch(err.message, /Ask your cluster admin for a Role/);
        return true;
      });
      assert.deepEqual(leftovers(), []);
    });

    it('works without the right to watch pods (it polls) and without the right to read Secrets', async () => {
      h.sim.addUser('no-watch', 'no-watch-token', builderRules({ podVerbs: ['watch'], secrets: true }));
      const kubeconfig = h.sim.writeKubeconfig(dir, { token: 'no-watch-token', namespace: NS, file: 'no-watch' });
      const result = await buildPipelineImages(testPipeline(baseRef, [{ name: 'load' }]), options({ requirements: ['numpy==1.26.4'] }, h.client({ kubeconfig })));
      assert.equal(result.images[0]!.status, 'built');
      assert.ok(h.sim.count({ verb: 'watch', resource: 'pods', user: 'no-watch', status: 403 }) >= 1);
      assert.deepEqual(leftovers(), []);
    });

    it('reports an executor image the cluster cannot pull, and a Pod that never starts', async () => {
      const mirror = `${reg.host}/mirror/kaniko-executor:v1`;
      h.sim.kaniko!.unpullable.add(mirror);
      await assert.rejects(
        buildPipelineImages(testPipeline(baseRef, [{ name: 'load' }]), options({ requirements: ['scipy==1.13.0'], kaniko: { cluster: kanikoCluster(h.client()), settings: { namespace: NS, executorImage: mirror } } })),
        (err: unknown) => err instanceof ImageError && err.kind === 'builder-missing' && err.message.includes(`cannot pull the Kaniko executor image ${mirror}`) && err.message.includes('ImagePullBackOff'),
      );
      assert.deepEqual(leftovers(), []);
      // A push Secret that does not exist (and cannot be checked) keeps the Pod in ContainerCreating.
      h.sim.addUser('no-secrets', 'no-secrets-token', builderRules({ secrets: true }));
      const kubeconfig = h.sim.writeKubeconfig(dir, { token: 'no-secrets-token', namespace: NS, file: 'no-secrets' });
      await assert.rejects(
        buildPipelineImages(testPipeline(baseRef, [{ name: 'load' }]), options({ requirements: ['scipy==1.13.0'], kaniko: { cluster: kanikoCluster(h.client({ kubeconfig }), { startTimeoutMs: 300 }), settings: { namespace: NS, pushSecret: 'gone' } } })),
        (err: unknown) => err instanceof ImageError && err.kind === 'builder-missing' && /did not start \(still ContainerCreating after .*\)\. `kubectl describe pod flowbook-build-\S+ -n team-a`/.test(err.message),
      );
      assert.deepEqual(leftovers(), []);
    });

    it('pushes with the credentials of a docker-registry Secret, and says which Secret to create without one', async () => {
      const locked = await startRegistry({ user: { name: 'pusher', password: 'push-pw-5' } });
      try {
        const over = (settings: { pushSecret?: string }): Partial<ImageBuildOptions> => ({
          registry: `${locked.host}/team/env`,
          insecureRegistries: [reg.host, locked.host],
          requirements: ['flask==2.2.2'],
          // Flowbook's own HEAD request uses the local login; the Pod has only its Secret.
          credentials: new StaticCredentials({ [locked.host]: { username: 'pusher', password: 'push-pw-5' } }),
          kaniko: { cluster: kanikoCluster(h.client()), settings: { namespace: NS, ...settings } },
        });
        await assert.rejects(buildPipelineImages(testPipeline(baseRef, [{ name: 'load' }]), options(over({}))), (err: unknown) => {
          assert.ok(err instanceof ImageError);
          assert.equal(err.kind, 'unauthorized');
          assert.match(err.message, new RegExp(`the registry ${locked.host} refused it\\. The build Pod has no credentials for ${locked.host}\\. .*kubectl create secret docker-registry flowbook-push --docker-server=${locked.host} .* -n team-a\`, then build again with --registry-secret flowbook-push`));
          assert.match(err.message, /UNAUTHORIZED: authentication required/, 'Kaniko\'s own words are in the log tail');
          return true;
        });
        await assert.rejects(buildPipelineImages(testPipeline(baseRef, [{ name: 'load' }]), options(over({ pushSecret: 'regcred' }))), /push Secret "regcred" \(--registry-secret\) does not exist in namespace "team-a"/);
        const dockerconfig = { auths: { [locked.host]: { auth: Buffer.from('pusher:push-pw-5').toString('base64') } } };
        h.sim.store.create('/secrets', {
          apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/dockerconfigjson',
          metadata: { name: 'regcred', namespace: NS },
          data: { '.dockerconfigjson': Buffer.from(JSON.stringify(dockerconfig)).toString('base64') },
        });
        const result = await buildPipelineImages(testPipeline(baseRef, [{ name: 'load' }]), options(over({ pushSecret: 'regcred' })));
        assert.equal(result.images[0]!.status, 'built');
        const pool = registryPool({ credentials: new StaticCredentials({ [locked.host]: { username: 'pusher', password: 'push-pw-5' } }), insecureRegistries: [locked.host] });
        assert.equal((await pool.client(locked.host).headManifest('team/env', result.images[0]!.reference.split(':').pop()!))?.digest, result.images[0]!.digest);
        assert.deepEqual(leftovers(), []);
      } finally {
        await locked.stop();
      }
    });

    it('follows the build log across a dropped connection without losing or repeating a line', async () => {
      const name = 'log-follow-test';
      h.sim.store.create('/pods', {
        apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS },
        spec: { containers: [{ name: 'kaniko', image: 'busybox' }] },
        status: { phase: 'Running' },
      });
      h.sim.appendLog(NS, name, 'line 1\nline 2\nline 3');
      const lines: string[] = [];
      const following = kanikoCluster(h.client()).streamLogs(NS, name, 'kaniko', (l) => lines.push(l));
      await waitFor(() => lines.length === 3 || undefined, 10_000, 'the first lines');
      h.sim.dropLogStreams();
      h.sim.appendLog(NS, name, 'line 4\nline 5');
      h.sim.endLog(NS, name);
      await following;
      assert.deepEqual(lines, ['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
      assert.ok(h.sim.count({ resource: 'pods', subresource: 'log', name }) >= 2, 'it reconnected');
      h.sim.store.delete('/pods', NS, name);
    });
  });

  describe('flowbook build --builder kaniko', () => {
    let kubeconfig: string;
    let args: string[];
    let lines: string[];
    before(async () => {
      kubeconfig = h.kubeconfig;
      args = ['build', NOTEBOOK, '--registry', `${reg.host}/team/nb`, '--insecure', '--builder', 'kaniko', '--kubeconfig', kubeconfig, '--python', py.python, '--image', baseRef, '--docker-config', path.join(dir, 'docker-config.json')];
      const compiled = await compileNotebookFile(NOTEBOOK);
      lines = (await resolvePipelineRequirements(compiled.pipeline, { python: py.python })).lines;
    });

    it('prints the image reference; the Pod and ConfigMap were as generated and are gone; unchanged inputs create no Pod', async () => {
      const before = h.sim.kaniko!.builds.length;
      const run = await flowbook(args);
      assert.equal(run.code, 0, run.stderr);
      const ref = run.stdout.trim();
      assert.match(ref, new RegExp(`^${reg.host.replace(/\./g, '\\.')}/team/nb:fb-[0-9a-f]{32}$`));
      assert.match(run.stderr, /built with kaniko; steps: load, train/);
      const builds = h.sim.kaniko!.builds.slice(before);
      assert.equal(builds.length, 1);
      const build = builds[0]!;
      const expected = buildContext(parseReference(baseRef), baseDigest, lines);
      assert.equal(build.files.get('Dockerfile'), expected.files.Containerfile);
      assert.equal(build.files.get('requirements.txt'), expected.files['requirements.txt']);
      const ajv = new Ajv({ allErrors: true, strict: false });
      const podSchema = ajv.compile(JSON.parse(fs.readFileSync(path.join(REPO, 'test/fixtures/images/kaniko-pod.schema.json'), 'utf8')) as object);
      const stored = { ...build.spec, metadata: { name: build.spec.metadata.name, namespace: build.spec.metadata.namespace, labels: build.spec.metadata.labels, annotations: build.spec.metadata.annotations } };
      assert.ok(podSchema(stored), ajv.errorsText(podSchema.errors));
      assert.ok((build.spec.spec as { containers: { args: string[] }[] }).containers[0]!.args.includes(`--destination=${ref}`));
      assert.equal(build.digest, await tagDigest('team/nb', ref.split(':').pop()!));
      assert.deepEqual(leftovers(), []);

      const creates = podCreates();
      const again = await flowbook(args);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout.trim(), ref);
      assert.match(again.stderr, /already in the registry/);
      assert.equal(podCreates(), creates, 'no Pod for an unchanged environment');
    });

    it('exits 1 with Kaniko\'s last log lines when the build fails, and removes Pod and ConfigMap', async () => {
      const requirements = path.join(dir, 'failing.txt');
      fs.writeFileSync(requirements, 'fail-please==1.0\n');
      const run = await flowbook([...args, '--requirements', requirements]);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /flowbook build: The Kaniko build of .* failed in the Pod team-a\/flowbook-build-/);
      assert.match(run.stderr, /Last lines of the Kaniko log:\n(.*\n)* {2}ERROR: No matching distribution found for fail-please==1\.0/);
      assert.equal(run.stdout, '');
      assert.deepEqual(leftovers(), []);
    });

    it('removes Pod and ConfigMap when interrupted (Ctrl-C) while building', async () => {
      const requirements = path.join(dir, 'hanging.txt');
      fs.writeFileSync(requirements, 'hang-please==1.0\n');
      const before = h.sim.kaniko!.builds.length;
      const run = await flowbook([...args, '--requirements', requirements], (child) => {
        void waitFor(() => {
          const b = h.sim.kaniko!.builds[before];
          return b && h.sim.logText(b.namespace, b.pod).includes('Collecting hang-please');
        }, 60_000, 'the build to reach pip').then(() => child.kill('SIGINT'));
      });
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /The image build was cancelled; Flowbook removes the build Pod team-a\/flowbook-build-/);
      assert.equal(h.sim.kaniko!.builds[before]!.state, 'deleted');
      assert.deepEqual(leftovers(), []);
    });

    it('names what is missing when the cluster refuses, or the kubeconfig is wrong', async () => {
      h.sim.addUser('cli-no-pods', 'cli-no-pods-token', builderRules({ podVerbs: ['create'] }));
      const restricted = h.sim.writeKubeconfig(dir, { token: 'cli-no-pods-token', namespace: NS, file: 'cli-no-pods' });
      const requirements = path.join(dir, 'other.txt');
      fs.writeFileSync(requirements, 'torch==2.3.0\n');
      const refused = await flowbook([...args.map((a) => (a === kubeconfig ? restricted : a)), '--requirements', requirements]);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /may not create pods in namespace "team-a" \(403 Forbidden, context "sim"\)\. Ask your cluster admin for a Role allowing verbs \["create"\] on resources \["pods"\]/);
      assert.deepEqual(leftovers(), []);

      const missing = await flowbook([...args.map((a) => (a === kubeconfig ? path.join(dir, 'nope.yaml') : a)), '--requirements', requirements]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /flowbook build: The kubeconfig file .*nope\.yaml does not exist/);
    });
  });
});
