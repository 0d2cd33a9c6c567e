// Image benchmarks against a real registry (Debian's docker-registry on loopback):
//  1. an unchanged environment resolves to its existing image in one registry request
//     (time reported, next to a bare HEAD request measured in the same run);
//  2. the OCI path pushes a 50 MB layer at >= 80% of the throughput of a raw blob upload
//     with curl to the same registry (ratio printed).
// Run with `npm run bench -- images`, or alone: `node out/bench/images.bench.js`.

import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildPipelineImages } from '../src/images/build';
import { StaticCredentials } from '../src/images/dockerConfig';
import { buildLayer } from '../src/images/layer';
import { appendLayers } from '../src/images/oci';
import { registryPool } from '../src/images/pool';
import { fileBody } from '../src/images/registry';
import { startRegistry } from '../test/support/registry';
import { pushBaseImage, testPipeline, tmpDir } from '../test/unit/images/baseImage';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<void> {
  const reg = await startRegistry();
  const work = tmpDir('flowbook-bench-');
  try {
    const credentials = new StaticCredentials({});
    const pool = registryPool({ credentials, insecureRegistries: [reg.host] });
    const base = await pushBaseImage(pool, reg.host, 'bench/base', '1');
    const pipeline = testPipeline(`${reg.host}/bench/base@${base.digest}`, [{ name: 'load' }, { name: 'train' }]);
    const options = {
      registry: `${reg.host}/bench/env`,
      insecure: true,
      builder: 'buildah' as const,
      requirements: ['pandas==2.2.1', 'scikit-learn==1.4.2'],
      credentials,
      cli: { buildah: { root: path.join(work, 'root'), runroot: path.join(work, 'run') } },
    };
    const built = await buildPipelineImages(pipeline, options);
    if (built.images[0]?.status !== 'built') throw new Error('the first build did not build');

    // 1. Unchanged environment.
    const times: number[] = [];
    let requests = 0;
    for (let i = 0; i < 21; i++) {
      let n = 0;
      const t0 = performance.now();
      const r = await buildPipelineImages(pipeline, { ...options, onRequest: () => n++ });
      times.push(performance.now() - t0);
      if (r.images[0]?.status !== 'existing') throw new Error('an unchanged environment was rebuilt');
      requests = Math.max(requests, n);
    }
    const headTimes: number[] = [];
    const tag = built.images[0].reference.split(':').pop()!;
    for (let i = 0; i < 21; i++) {
      const t0 = performance.now();
      await fetch(`${reg.url}/v2/bench/env/manifests/${tag}`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      headTimes.push(performance.now() - t0);
    }
    const t = median(times);
    const h = median(headTimes);
    console.log(`unchanged environment: ${requests} registry request(s), ${t.toFixed(1)} ms median (a bare HEAD with fetch: ${h.toFixed(1)} ms; ratio ${(t / h).toFixed(2)})`);
    if (requests !== 1) throw new Error(`expected one registry request, saw ${requests}`);

    // 2. 50 MB layer: Flowbook's OCI push vs curl uploading the same bytes.
    const layer = await buildLayer([{ path: 'data/blob.bin', type: 'file', content: crypto.randomBytes(50 * 1000 * 1000) }], { gzipLevel: 1 });
    try {
      const mb = layer.size / 1e6;
      // curl streams the file from disk (-T), as Flowbook does; each run goes to a fresh
      // repository, so neither side finds the blob already there.
      const ours: number[] = [];
      const curl: number[] = [];
      const whole: number[] = [];
      const pushOurs = async (i: number) => {
        // The layer push exactly as the OCI path does it (existence check, upload session, PUT).
        const t0 = performance.now();
        await pool.client(reg.host).uploadBlob(`bench/oci${i}`, layer.digest, fileBody(layer.file, layer.size));
        ours.push((performance.now() - t0) / 1000);
        // The whole image (layer, config and manifest) into another fresh repository.
        const t1 = performance.now();
        await appendLayers(pool, { base: 'scratch', target: { registry: reg.host, repository: `bench/img${i}`, tag: 'v1' }, layers: [{ layer, createdBy: 'bench' }] });
        whole.push((performance.now() - t1) / 1000);
      };
      const pushCurl = (i: number) => {
        const start = execFileSync('curl', ['-s', '-i', '-w', '\ntime_total=%{time_total}', '-X', 'POST', `${reg.url}/v2/bench/curl${i}/blobs/uploads/`], { encoding: 'utf8' });
        const postSeconds = Number(/time_total=([\d.]+)/.exec(start)?.[1] ?? 0);
        const location = /^location:\s*(\S+)/im.exec(start)?.[1];
        if (!location) throw new Error(`curl got no upload location:\n${start}`);
        const url = new URL(location, reg.url);
        url.searchParams.set('digest', layer.digest);
        const out = execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{time_total}', '-X', 'PUT', '-H', 'Content-Type: application/octet-stream', '-T', layer.file, url.toString()], { encoding: 'utf8' });
        const [code, time] = out.split(' ');
        if (code !== '201') throw new Error(`curl upload answered ${code}`);
        // curl's own transfer time for the PUT, plus the upload session it needed.
        curl.push(Number(time) + postSeconds);
      };
      // Interleaved, alternating which goes first, so machine noise hits both alike.
      for (let i = 0; i < 7; i++) {
        if (i % 2 === 0) {
          await pushOurs(i);
          pushCurl(i);
        } else {
          pushCurl(i);
          await pushOurs(i);
        }
      }
      const oursMbps = mb / median(ours);
      const curlMbps = mb / median(curl);
      const ratio = oursMbps / curlMbps;
      console.log(`50 MB layer push (${mb.toFixed(1)} MB gzipped): flowbook OCI ${oursMbps.toFixed(0)} MB/s, curl raw blob upload ${curlMbps.toFixed(0)} MB/s; ratio ${ratio.toFixed(2)} (goal >= 0.80) ${ratio >= 0.8 ? 'OK' : 'BELOW GOAL'}`);
      console.log(`whole image with that layer (layer, config, manifest): ${(mb / median(whole)).toFixed(0)} MB/s; ratio to curl's blob upload ${(mb / median(whole) / curlMbps).toFixed(2)}`);
    } finally {
      layer.dispose();
    }
  } finally {
    await reg.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  run().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
