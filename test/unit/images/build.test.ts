// Content-hashed image builds with real parts: Debian's docker-registry on loopback and
// buildah (vfs storage, chroot isolation) building the Containerfile Flowbook generates.
// There is no PyPI here, so the base image (made by the test) carries a stand-in `pip` that
// records the requirements file it gets; the Containerfile itself is the real one.

import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildPipelineImages, type ImageBuildOptions } from '../../../src/images/build';
import { detectCliBuilder } from '../../../src/images/builders/cli';
import { buildContext, contentTag } from '../../../src/images/context';
import { ImageError } from '../../../src/images/errors';
import { MEDIA, hostPlatform, type ImageConfig, type ImageManifest } from '../../../src/images/manifest';
import { registryPool } from '../../../src/images/pool';
import { StaticCredentials } from '../../../src/images/dockerConfig';
import { startCountingProxy, startRegistry, type TestRegistry } from '../../support/registry';
import { pushBaseImage, readLayer, testPipeline, tmpDir } from './baseImage';

const sha = (b: Buffer) => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');


async function tags(reg: TestRegistry, repo: string): Promise<string[]> {
  const res = await fetch(`${reg.url}/v2/${repo}/tags/list`);
  if (res.status === 404) return [];
  return (((await res.json()) as { tags: string[] | null }).tags ?? []).sort();
}

describe('images: content-hashed builds with buildah and a real registry', function () {
  this.timeout(180_000);
  let reg: TestRegistry;
  let storage: string;
  let baseRef: string;
  let baseDigest: string;
  const logs: string[] = [];

  const options = (over: Partial<ImageBuildOptions> = {}): ImageBuildOptions => ({
    registry: `${reg.host}/team/env`,
    insecure: true,
    builder: 'buildah',
    requirements: ['pandas==2.2.1', 'requests==2.31.0'],
    credentials: new StaticCredentials({}),
    cli: { buildah: { root: path.join(storage, 'root'), runroot: path.join(storage, 'run') } },
    log: (l) => logs.push(l),
    ...over,
  });

  before(async () => {
    reg = await startRegistry();
    storage = tmpDir('flowbook-buildah-');
    const pool = registryPool({ credentials: new StaticCredentials({}), insecureRegistries: [reg.host] });
    const base = await pushBaseImage(pool, reg.host, 'flowbook/base', '1');
    baseRef = `${reg.host}/flowbook/base:1`;
    baseDigest = base.digest;
  });
  after(async () => {
    await reg?.stop();
    if (storage) fs.rmSync(storage, { recursive: true, force: true });
  });

  let firstTag = '';

  it('builds the base plus the requirements with buildah, pushes it, and the registry serves consistent digests', async () => {
    const pipeline = testPipeline(baseRef, [{ name: 'load' }, { name: 'train' }]);
    const result = await buildPipelineImages(pipeline, options());
    assert.equal(result.images.length, 1);
    const image = result.images[0]!;
    assert.equal(image.status, 'built');
    assert.equal(image.builder, 'buildah');
    assert.equal(image.baseDigest, baseDigest);
    const expectedTag = contentTag(buildContext({ registry: reg.host, repository: 'flowbook/base' }, baseDigest, ['pandas==2.2.1', 'requests==2.31.0']).files, hostPlatform());
    assert.equal(image.reference, `${reg.host}/team/env:${expectedTag}`, 'the tag is the hash of the build inputs');
    firstTag = expectedTag;
    assert.deepEqual(result.stepImages, { load: image.reference, train: image.reference });

    const res = await fetch(`${reg.url}/v2/team/env/manifests/${expectedTag}`, { headers: { Accept: [MEDIA.ociManifest, MEDIA.dockerManifest].join(',') } });
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(sha(body), image.digest, 'the digest buildah reported is the manifest the registry serves');
    const manifest = JSON.parse(body.toString()) as ImageManifest;
    const configBlob = Buffer.from(await (await fetch(`${reg.url}/v2/team/env/blobs/${manifest.config.digest}`)).arrayBuffer());
    assert.equal(sha(configBlob), manifest.config.digest);
    const config = JSON.parse(configBlob.toString()) as ImageConfig;
    assert.equal(config.rootfs.diff_ids.length, manifest.layers.length);
    assert.ok(manifest.layers.length >= 2, 'base layer plus the requirements');
    let installed: string | undefined;
    for (const layer of manifest.layers) {
      const blob = Buffer.from(await (await fetch(`${reg.url}/v2/team/env/blobs/${layer.digest}`)).arrayBuffer());
      assert.equal(sha(blob), layer.digest, `layer ${layer.digest} is intact`);
      const files = await readLayer(blob);
      installed ??= files.get('opt/flowbook-test/installed.txt');
    }
    assert.equal(installed, 'pandas==2.2.1\nrequests==2.31.0\n', 'pip ran on the generated requirements.txt');
    assert.equal(config.config?.Labels?.['dev.flowbook.base'], `${reg.host}/flowbook/base@${baseDigest}`);
  });

  it('finds an unchanged environment with one manifest HEAD request and builds nothing', async () => {
    const proxy = await startCountingProxy(reg.url);
    try {
      const seen: string[] = [];
      // The base pinned by digest: nothing else needs asking.
      const pipeline = testPipeline(`${reg.host}/flowbook/base@${baseDigest}`, [{ name: 'load' }, { name: 'train' }]);
      const result = await buildPipelineImages(pipeline, options({ registry: `${proxy.host}/team/env`, insecure: false, insecureRegistries: [proxy.host, reg.host], onRequest: (m, u) => seen.push(`${m} ${u}`), builder: 'auto', cli: { programs: { docker: '/nonexistent', podman: '/nonexistent', buildah: '/nonexistent' } } }));
      assert.equal(result.images[0]!.status, 'existing');
      assert.equal(result.images[0]!.reference, `${proxy.host}/team/env:${firstTag}`);
      assert.deepEqual(proxy.requests, [`HEAD /v2/team/env/manifests/${firstTag}`]);
      assert.equal(seen.length, 1, `one registry request in all: ${seen.join(', ')}`);
    } finally {
      await proxy.stop();
    }
  });

  it('gives steps on the same base digest the same image, and a changed requirement a new tag', async () => {
    const before = await tags(reg, 'team/env');
    const pipeline = testPipeline(baseRef, [{ name: 'load' }, { name: 'serve', image: `${reg.host}/flowbook/base@${baseDigest}` }]);
    const result = await buildPipelineImages(pipeline, options({ requirements: ['pandas==2.2.2', 'requests==2.31.0'] }));
    assert.equal(result.images.length, 2, 'two bases as written');
    const [a, b] = result.images;
    assert.equal(a!.status, 'built');
    assert.notEqual(a!.reference.split(':').pop(), firstTag);
    assert.equal(b!.reference, a!.reference, 'same digest and requirements: same image');
    assert.equal(b!.status, 'existing', 'the second base found the first one\'s build');
    const after = await tags(reg, 'team/env');
    assert.deepEqual(after, [...before, a!.reference.split(':').pop()!].sort());
  });

  it('shows the builder\'s last log lines when the build fails, and pushes nothing', async () => {
    const before = await tags(reg, 'team/env');
    const pipeline = testPipeline(baseRef, [{ name: 'load' }]);
    await assert.rejects(buildPipelineImages(pipeline, options({ requirements: ['fail-please==1.0'] })), (err: unknown) => {
      assert.ok(err instanceof ImageError);
      assert.equal(err.kind, 'build-failed');
      assert.match(err.message, /buildah build of .* failed/);
      assert.match(err.message, /No matching distribution found for fail-please/);
      assert.match(err.message, /Nothing was pushed/);
      assert.ok(err.logTail.some((l) => l.includes('fail-please')));
      return true;
    });
    assert.deepEqual(await tags(reg, 'team/env'), before);
  });

  it('stops a running build when cancelled, and pushes nothing', async () => {
    const before = await tags(reg, 'team/env');
    const controller = new AbortController();
    const pipeline = testPipeline(baseRef, [{ name: 'load' }]);
    const started = buildPipelineImages(pipeline, options({ requirements: ['cancel-me==1.0'], signal: controller.signal, log: (l) => {
      if (l.startsWith('$ ') && l.includes(' bud ')) setTimeout(() => controller.abort(), 100);
    } }));
    await assert.rejects(started, (err: unknown) => err instanceof ImageError && err.kind === 'cancelled');
    assert.deepEqual(await tags(reg, 'team/env'), before);
  });

  it('names the base image, where it came from, and the registry when the base does not exist', async () => {
    const pipeline = testPipeline(`${reg.host}/flowbook/nope:3.12`, [{ name: 'load' }]);
    await assert.rejects(buildPipelineImages(pipeline, options()), (err: unknown) => {
      assert.ok(err instanceof ImageError);
      assert.equal(err.kind, 'not-found');
      assert.match(err.message, /base image .*flowbook\/nope:3\.12 \(the notebook's image setting\) does not exist/);
      return true;
    });
    const stepTagged = testPipeline(undefined, [{ name: 'train', image: `${reg.host}/flowbook/base:missing` }]);
    await assert.rejects(buildPipelineImages(stepTagged, options()), /the `image:` tag of step train/);
  });

  it('uses the base as is, without asking any registry, when there is nothing to install', async () => {
    const seen: string[] = [];
    const result = await buildPipelineImages(testPipeline(undefined, [{ name: 'a' }]), options({ requirements: [], onRequest: (m, u) => seen.push(`${m} ${u}`) }));
    assert.deepEqual(result.stepImages, { a: 'python:3.12-slim' });
    assert.equal(result.images[0]!.status, 'base');
    assert.equal(seen.length, 0);
  });

  it('chooses a builder automatically: docker without an engine is passed over', async () => {
    const bin = tmpDir('flowbook-fakebin-');
    const docker = path.join(bin, 'docker');
    fs.writeFileSync(docker, '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Docker version 28.2.2"; exit 0; fi\necho "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2\nexit 1\n', { mode: 0o755 });
    const detected = await detectCliBuilder('docker', { programs: { docker } });
    assert.equal(detected.available, false);
    assert.match(detected.reason ?? '', /cannot reach its engine .*Cannot connect to the Docker daemon/);
    const pipeline = testPipeline(baseRef, [{ name: 'load' }]);
    const result = await buildPipelineImages(pipeline, options({
      builder: 'auto',
      requirements: ['numpy==1.26.4'],
      cli: { programs: { docker, podman: path.join(bin, 'no-podman') }, buildah: { root: path.join(storage, 'root'), runroot: path.join(storage, 'run') } },
    }));
    assert.equal(result.images[0]!.builder, 'buildah');
    await assert.rejects(
      buildPipelineImages(pipeline, options({ builder: 'docker', requirements: ['numpy==2.0.0'], cli: { programs: { docker } } })),
      /docker builder cannot be used here: docker is installed but cannot reach its engine/,
    );
    fs.rmSync(bin, { recursive: true, force: true });
  });
});
