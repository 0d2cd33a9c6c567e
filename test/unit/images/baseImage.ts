// Test helper: a tiny base image made on the spot (there is no Docker Hub here): Debian's
// static busybox as /bin/sh and friends, plus a stand-in `pip` that records the
// requirements file it is given instead of reaching PyPI, and fails on a requirement named
// `fail-please` (so build failures can be tested). Pushed with Flowbook's own OCI code.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { buildLayer, type LayerEntry } from '../../../src/images/layer';
import { appendLayers, type PushedImage, type RegistryPool } from '../../../src/images/oci';
import type { Dialect } from '../../../src/images/manifest';
import type { Pipeline } from '../../../src/converter/ir';

export const BUSYBOX = '/bin/busybox';

const FAKE_PIP = `#!/bin/sh
# Stand-in for pip in Flowbook's tests: records the requirements, installs nothing.
req=""
while [ $# -gt 0 ]; do
  case "$1" in -r) shift; req="$1" ;; esac
  shift
done
echo "Collecting packages from $req"
if grep -q '^fail-please' "$req"; then
  echo "ERROR: Could not find a version that satisfies the requirement fail-please"
  echo "ERROR: No matching distribution found for fail-please"
  exit 1
fi
mkdir -p /opt/flowbook-test
cp "$req" /opt/flowbook-test/installed.txt
echo "Successfully installed $(wc -l < "$req") packages"
`;

export function baseEntries(): LayerEntry[] {
  const entries: LayerEntry[] = [
    { path: 'bin/busybox', type: 'file', source: BUSYBOX, mode: 0o755 },
    { path: 'usr/local/bin/pip', type: 'file', content: FAKE_PIP, mode: 0o755 },
    { path: 'tmp', type: 'dir', mode: 0o1777 },
    { path: 'etc/passwd', type: 'file', content: 'root:x:0:0:root:/root:/bin/sh\n' },
  ];
  for (const tool of ['sh', 'cp', 'rm', 'mkdir', 'grep', 'wc', 'cat', 'echo', 'ls', 'true']) {
    entries.push({ path: `bin/${tool}`, type: 'symlink', target: 'busybox' });
  }
  return entries;
}

/** Pushes the busybox base image to `registry/repository:tag`. */
export async function pushBaseImage(pool: RegistryPool, registry: string, repository: string, tag: string, dialect: Dialect = 'docker'): Promise<PushedImage> {
  const layer = await buildLayer(baseEntries());
  try {
    return await appendLayers(pool, {
      base: 'scratch',
      target: { registry, repository, tag },
      layers: [{ layer, createdBy: 'test: busybox and a stand-in pip' }],
      env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'PYTHON_VERSION=3.12.4'],
      dialect,
    });
  } finally {
    layer.dispose();
  }
}

/** Lists a gzipped tar's entries: path → content (files) or `->target` (symlinks) or `dir`. */
export async function readLayer(gz: Buffer): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        const value = header.type === 'symlink' ? `->${header.linkname}` : header.type === 'directory' ? 'dir' : Buffer.concat(chunks).toString('latin1');
        out.set(header.name.replace(/\/$/, ''), value);
        next();
      });
    });
    extract.on('finish', () => resolve());
    extract.on('error', reject);
  });
  extract.end(zlib.gunzipSync(gz));
  await done;
  return out;
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), prefix));
}

/** A pipeline IR with the given base image setting and steps (each optionally with an `image:` tag). */
export function testPipeline(image: string | undefined, steps: { name: string; image?: string }[]): Pipeline {
  return {
    name: 'test',
    notebookPath: '/tmp/nowhere/notebook.ipynb',
    parameters: [],
    imports: [],
    functions: [],
    steps: steps.map((s) => ({
      name: s.name, templateName: s.name, cells: [], after: [], inputs: [], outputs: [], parameters: [], definitions: [], metrics: [], imports: [],
      options: { limits: {}, annotations: {}, labels: {}, secrets: [], ...(s.image ? { image: s.image } : {}) },
    })),
    stepCode: {},
    edges: [],
    metrics: [],
    requirements: [],
    modules: [],
    settings: { volumes: [], stepDefaults: [], ...(image ? { image } : {}) },
    diagnostics: [],
  };
}

/** Installed distributions of the made-up environment: name, version, top-level modules. */
const INSTALLED: [string, string, string[]][] = [
  ['numpy', '1.26.4', ['numpy']],
  ['pandas', '2.2.1', ['pandas']],
  ['scikit-learn', '1.4.2', ['sklearn']],
  ['PyYAML', '6.0.1', ['yaml', '_yaml']],
  ['opencv-python-headless', '4.9.0.80', ['cv2']],
  ['requests', '2.31.0', ['requests']],
  ['weird-dist', '0.3', ['weirdmod']],
  ['cloudpickle', '3.0.0', ['cloudpickle']],
];

/** A real interpreter (/usr/bin/python3 -S) that sees only made-up installed distributions (metadata, no code). */
export function makeInterpreter(): { python: string; dir: string } {
  const dir = tmpDir('flowbook-py-');
  const site = path.join(dir, 'site');
  for (const [name, version, tops] of INSTALLED) {
    const info = path.join(site, `${name.replace(/-/g, '_')}-${version}.dist-info`);
    fs.mkdirSync(info, { recursive: true });
    fs.writeFileSync(path.join(info, 'METADATA'), `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`);
    fs.writeFileSync(path.join(info, 'top_level.txt'), tops.join('\n') + '\n');
  }
  const python = path.join(dir, 'python');
  fs.writeFileSync(python, `#!/bin/sh\nPYTHONPATH="${site}" exec /usr/bin/python3 -S "$@"\n`, { mode: 0o755 });
  return { python, dir };
}
