// The OCI builder installing requirements from a wheel-house without running anything:
// wheels made here with Python's zipfile, unpacked into one layer on the test base image,
// pushed to a real registry and read back.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildPipelineImages } from '../../../src/images/build';
import { StaticCredentials } from '../../../src/images/dockerConfig';
import type { ImageManifest } from '../../../src/images/manifest';
import { registryPool } from '../../../src/images/pool';
import { parseWheelName } from '../../../src/images/wheels';
import { startRegistry, type TestRegistry } from '../../support/registry';
import { pushBaseImage, readLayer, testPipeline, tmpDir } from './baseImage';

const MAKE_WHEEL = String.raw`
import sys, zipfile
out = sys.argv[1]
with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('demo_pkg/__init__.py', 'def main():\n    print("demo")\n')
    z.writestr('demo_pkg-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n')
    z.writestr('demo_pkg-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n')
    z.writestr('demo_pkg-1.0.dist-info/entry_points.txt', '[console_scripts]\ndemo = demo_pkg:main\n')
    z.writestr('demo_pkg-1.0.dist-info/RECORD', '')
    info = zipfile.ZipInfo('demo_pkg-1.0.data/scripts/demo-tool')
    info.external_attr = 0o755 << 16
    z.writestr(info, '#!python\nprint("tool")\n')
`;

describe('images: OCI builder with a wheel-house', function () {
  this.timeout(60_000);
  let reg: TestRegistry;
  let wheels: string;
  let baseRef: string;

  before(async () => {
    reg = await startRegistry();
    wheels = tmpDir('flowbook-wheels-');
    const made = spawnSync('/usr/bin/python3', ['-c', MAKE_WHEEL, path.join(wheels, 'demo_pkg-1.0-py3-none-any.whl')], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const pool = registryPool({ credentials: new StaticCredentials({}), insecureRegistries: [reg.host] });
    const base = await pushBaseImage(pool, reg.host, 'flowbook/base', '1');
    baseRef = `${reg.host}/flowbook/base@${base.digest}`;
  });
  after(async () => {
    await reg?.stop();
    fs.rmSync(wheels, { recursive: true, force: true });
  });

  const options = () => ({ registry: `${reg.host}/team/wheels`, insecure: true, builder: 'oci' as const, wheelhouse: wheels, requirements: ['demo-pkg==1.0'], credentials: new StaticCredentials({}) });

  it('reads wheel file names', () => {
    assert.deepEqual(parseWheelName('scikit_learn-1.4.2-cp312-cp312-manylinux_2_17_x86_64.whl'), { name: 'scikit_learn', version: '1.4.2' });
    assert.equal(parseWheelName('not-a-wheel.zip'), undefined);
  });

  it('unpacks wheels into site-packages with launchers, pushes, and finds the image again with one request', async () => {
    const result = await buildPipelineImages(testPipeline(baseRef, [{ name: 'train' }]), options());
    const image = result.images[0]!;
    assert.equal(image.status, 'built');
    assert.equal(image.builder, 'oci');
    const tag = image.reference.split(':').pop()!;
    const manifest = (await (await fetch(`${reg.url}/v2/team/wheels/manifests/${tag}`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } })).json()) as ImageManifest;
    assert.equal(manifest.layers.length, 2);
    const layer = Buffer.from(await (await fetch(`${reg.url}/v2/team/wheels/blobs/${manifest.layers[1]!.digest}`)).arrayBuffer());
    const files = await readLayer(layer);
    const site = 'usr/local/lib/python3.12/site-packages';
    assert.equal(files.get(`${site}/demo_pkg/__init__.py`), 'def main():\n    print("demo")\n');
    assert.equal(files.get(`${site}/demo_pkg-1.0.dist-info/INSTALLER`), 'flowbook\n');
    assert.match(files.get('usr/local/bin/demo') ?? '', /^#!\/usr\/local\/bin\/python3\.12\n.*from demo_pkg import main/s);
    assert.equal(files.get('usr/local/bin/demo-tool'), '#!/usr/local/bin/python3.12\nprint("tool")\n', 'the #!python shebang is rewritten');
    assert.ok(![...files.keys()].some((k) => k.includes('.data/')), 'no .data folder is left in site-packages');

    const seen: string[] = [];
    const again = await buildPipelineImages(testPipeline(baseRef, [{ name: 'train' }]), { ...options(), onRequest: (m, u) => seen.push(`${m} ${u}`) });
    assert.equal(again.images[0]!.status, 'existing');
    assert.deepEqual(seen, [`HEAD http://${reg.host}/v2/team/wheels/manifests/${tag}`]);
  });

  it('refuses when the wheel-house lacks a requirement, naming it and how to download it', async () => {
    await assert.rejects(
      buildPipelineImages(testPipeline(baseRef, [{ name: 'train' }]), { ...options(), requirements: ['demo-pkg==1.0', 'pandas==2.2.1'] }),
      /wheel-house .* has no wheel for: pandas==2\.2\.1\. Download them with `pip download/,
    );
    await assert.rejects(
      buildPipelineImages(testPipeline(baseRef, [{ name: 'train' }]), { ...options(), wheelhouse: undefined }),
      /oci builder cannot run `pip install`/,
    );
  });
});
