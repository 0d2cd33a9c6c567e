// The daemonless OCI path against a real registry (Debian's docker-registry on loopback):
// what Flowbook pushes is read back through the distribution API with plain `fetch` and
// compared byte for byte, then pulled by an independent client (skopeo).

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { buildLayer, type BuiltLayer } from '../../../src/images/layer';
import { MEDIA, type ImageConfig, type ImageManifest } from '../../../src/images/manifest';
import { appendLayers } from '../../../src/images/oci';
import { registryPool } from '../../../src/images/pool';
import { StaticCredentials } from '../../../src/images/dockerConfig';
import { startRegistry, type TestRegistry } from '../../support/registry';
import { baseEntries, pushBaseImage, readLayer, tmpDir } from './baseImage';

const sha = (b: Buffer) => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');

async function getJson<T>(url: string, accept = [MEDIA.dockerManifest, MEDIA.ociManifest].join(',')): Promise<{ body: Buffer; json: T; type: string }> {
  const res = await fetch(url, { headers: { Accept: accept } });
  assert.equal(res.status, 200, `GET ${url}`);
  const body = Buffer.from(await res.arrayBuffer());
  return { body, json: JSON.parse(body.toString()) as T, type: res.headers.get('content-type') ?? '' };
}

async function getBlob(reg: TestRegistry, repo: string, digest: string): Promise<Buffer> {
  const res = await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`);
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

describe('images: OCI builder against a real registry', function () {
  this.timeout(60_000);
  let reg: TestRegistry;
  const requests: string[] = [];
  const pool = () => registryPool({ credentials: new StaticCredentials({}), insecureRegistries: [reg.host], onRequest: (m, u) => requests.push(`${m} ${u}`) });
  const layers: BuiltLayer[] = [];

  before(async () => {
    reg = await startRegistry();
  });
  after(async () => {
    for (const l of layers) l.dispose();
    await reg?.stop();
  });

  it('pushes an image from scratch whose manifest, config and layer the registry serves byte for byte', async () => {
    const pushed = await pushBaseImage(pool(), reg.host, 'flowbook/base', '1', 'docker');
    const got = await getJson<ImageManifest>(`${reg.url}/v2/flowbook/base/manifests/1`);
    assert.equal(got.type, MEDIA.dockerManifest);
    assert.deepEqual(got.body, pushed.manifest, 'the manifest bytes are the ones Flowbook computed');
    assert.equal(sha(got.body), pushed.digest);
    assert.equal(got.json.config.mediaType, MEDIA.dockerConfig);
    assert.equal(got.json.layers.length, 1);
    assert.equal(got.json.layers[0]!.mediaType, MEDIA.dockerLayerGzip);

    const config = await getBlob(reg, 'flowbook/base', got.json.config.digest);
    assert.equal(sha(config), got.json.config.digest);
    assert.equal(config.length, got.json.config.size);
    const layer = await getBlob(reg, 'flowbook/base', got.json.layers[0]!.digest);
    assert.equal(sha(layer), got.json.layers[0]!.digest);
    assert.equal(layer.length, got.json.layers[0]!.size);
    const parsed = JSON.parse(config.toString()) as ImageConfig;
    assert.deepEqual(parsed.rootfs.diff_ids, [sha(zlib.gunzipSync(layer))], 'diff_ids hold the uncompressed digest');
    assert.equal(parsed.os, 'linux');
    assert.ok(parsed.config?.Env?.includes('PYTHON_VERSION=3.12.4'));
    const files = await readLayer(layer);
    assert.equal(files.get('bin/sh'), '->busybox');
    assert.equal(files.get('bin/busybox')?.length, fs.statSync('/bin/busybox').size);
    assert.equal(files.get('usr/local'), 'dir', 'parent folders are explicit entries');
  });

  it('builds reproducible layers: the same files give the same digests', async () => {
    const a = await buildLayer(baseEntries());
    const b = await buildLayer(baseEntries());
    layers.push(a, b);
    assert.equal(a.digest, b.digest);
    assert.equal(a.diffId, b.diffId);
    assert.deepEqual(fs.readFileSync(a.file), fs.readFileSync(b.file));
  });

  it('appends a layer to a Docker base in another repository: base layers mounted, dialect kept, history and diff_ids extended', async () => {
    const dir = tmpDir('flowbook-oci-');
    fs.writeFileSync(path.join(dir, 'step.py'), 'print("hello from a step")\n');
    const extra = await buildLayer([{ path: '/flowbook/step.py', type: 'file', source: path.join(dir, 'step.py') }]);
    layers.push(extra);
    requests.length = 0;
    const pushed = await appendLayers(pool(), {
      base: { registry: reg.host, repository: 'flowbook/base', tag: '1' },
      target: { registry: reg.host, repository: 'team/app', tag: 'v1' },
      layers: [{ layer: extra, createdBy: 'flowbook: step code' }],
      labels: { 'dev.flowbook.test': 'yes' },
    });
    assert.ok(requests.some((r) => r.startsWith('POST') && r.includes('/v2/team/app/blobs/uploads/')), 'an upload or mount was started');
    const base = await getJson<ImageManifest>(`${reg.url}/v2/flowbook/base/manifests/1`);
    const got = await getJson<ImageManifest>(`${reg.url}/v2/team/app/manifests/v1`);
    assert.equal(got.type, MEDIA.dockerManifest, 'a Docker base gives a Docker image');
    assert.equal(sha(got.body), pushed.digest);
    assert.deepEqual(got.json.layers.map((l) => l.digest), [...base.json.layers.map((l) => l.digest), extra.digest]);
    // The base layer reached the new repository without being uploaded again (mounted).
    const puts = requests.filter((r) => r.startsWith('PUT') && r.includes('/blobs/uploads/'));
    assert.equal(puts.length, 2, `only the new layer and the config are uploaded: ${puts.join(', ')}`);
    const layerBytes = await getBlob(reg, 'team/app', extra.digest);
    assert.deepEqual(layerBytes, fs.readFileSync(extra.file));
    const baseLayer = await getBlob(reg, 'team/app', base.json.layers[0]!.digest);
    assert.equal(sha(baseLayer), base.json.layers[0]!.digest);
    const config = JSON.parse((await getBlob(reg, 'team/app', got.json.config.digest)).toString()) as ImageConfig;
    const baseConfig = JSON.parse((await getBlob(reg, 'flowbook/base', base.json.config.digest)).toString()) as ImageConfig;
    assert.deepEqual(config.rootfs.diff_ids, [...baseConfig.rootfs.diff_ids, extra.diffId]);
    assert.equal(config.history?.at(-1)?.created_by, 'flowbook: step code');
    assert.equal(config.config?.Labels?.['dev.flowbook.test'], 'yes');
    assert.deepEqual(config.config?.Env, baseConfig.config?.Env, 'the base environment is kept');
    assert.equal((await readLayer(layerBytes)).get('flowbook/step.py'), 'print("hello from a step")\n');
  });

  it('keeps the OCI dialect for an OCI base and uploads in chunks when asked', async () => {
    await pushBaseImage(pool(), reg.host, 'flowbook/ocibase', '1', 'oci');
    const big = crypto.randomBytes(300_000);
    const layer = await buildLayer([{ path: 'data/blob.bin', type: 'file', content: big }], { gzipLevel: 1 });
    layers.push(layer);
    requests.length = 0;
    await appendLayers(pool(), {
      base: { registry: reg.host, repository: 'flowbook/ocibase', tag: '1' },
      target: { registry: reg.host, repository: 'flowbook/ocibase', tag: 'chunked' },
      layers: [{ layer, createdBy: 'flowbook: data' }],
      chunkSize: 100_000,
    });
    assert.ok(requests.filter((r) => r.startsWith('PATCH')).length >= 3, 'the layer went up in PATCH chunks');
    const got = await getJson<ImageManifest>(`${reg.url}/v2/flowbook/ocibase/manifests/chunked`);
    assert.equal(got.type, MEDIA.ociManifest);
    assert.equal(got.json.mediaType, MEDIA.ociManifest);
    assert.equal(got.json.config.mediaType, MEDIA.ociConfig);
    assert.ok(got.json.layers.every((l) => l.mediaType === MEDIA.ociLayerGzip));
    assert.deepEqual(await getBlob(reg, 'flowbook/ocibase', layer.digest), fs.readFileSync(layer.file));
  });

  it('copies base layers from another registry, streamed, when mounting is impossible', async () => {
    const other = await startRegistry();
    try {
      const extra = await buildLayer([{ path: 'flowbook/x.txt', type: 'file', content: 'x' }]);
      layers.push(extra);
      const seen: string[] = [];
      const both = registryPool({ credentials: new StaticCredentials({}), insecureRegistries: [reg.host, other.host], onRequest: (m, u) => seen.push(`${m} ${u}`) });
      await appendLayers(both, {
        base: { registry: reg.host, repository: 'flowbook/base', tag: '1' },
        target: { registry: other.host, repository: 'copied/app', tag: 'v1' },
        layers: [{ layer: extra, createdBy: 'flowbook: x' }],
      });
      const base = await getJson<ImageManifest>(`${reg.url}/v2/flowbook/base/manifests/1`);
      const copied = await getJson<ImageManifest>(`${other.url}/v2/copied/app/manifests/v1`);
      assert.deepEqual(copied.json.layers.map((l) => l.digest), [...base.json.layers.map((l) => l.digest), extra.digest]);
      assert.deepEqual(await getBlob(other, 'copied/app', base.json.layers[0]!.digest), await getBlob(reg, 'flowbook/base', base.json.layers[0]!.digest));
      assert.ok(seen.some((r) => r === `GET http://${reg.host}/v2/flowbook/base/blobs/${base.json.layers[0]!.digest}`), 'the base layer was read from its own registry');
      assert.ok(!seen.some((r) => r.includes('mount')), 'no mount across registries');
    } finally {
      await other.stop();
    }
  });

  it('is pulled back by an independent client (skopeo) with the same digests', async function () {
    const out = tmpDir('flowbook-pull-');
    const copy = spawnSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${reg.host}/team/app:v1`, `dir:${out}/img`], { encoding: 'utf8' });
    assert.equal(copy.status, 0, `skopeo copy failed (install skopeo: scripts/setup.sh): ${copy.stderr}`);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'img', 'manifest.json'), 'utf8')) as ImageManifest;
    const served = await getJson<ImageManifest>(`${reg.url}/v2/team/app/manifests/v1`);
    assert.deepEqual(manifest, served.json);
    for (const l of manifest.layers) {
      const file = path.join(out, 'img', l.digest.replace('sha256:', ''));
      assert.equal(sha(fs.readFileSync(file)), l.digest, 'the pulled layer matches its digest');
    }
    const inspect = spawnSync('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/team/app:v1`], { encoding: 'utf8' });
    assert.equal(inspect.status, 0, inspect.stderr);
    const info = JSON.parse(inspect.stdout) as { Digest: string; Layers: string[]; Labels: Record<string, string> };
    assert.equal(info.Digest, sha(served.body));
    assert.deepEqual(info.Layers, manifest.layers.map((l) => l.digest));
    assert.equal(info.Labels['dev.flowbook.test'], 'yes');
    fs.rmSync(out, { recursive: true, force: true });
  });
});
