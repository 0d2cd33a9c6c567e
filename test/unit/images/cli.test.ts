// `flowbook build` as a user runs it (the real bin/flowbook.js in a child process): the
// requirement list on stdout, image references on stdout, warnings and errors on stderr,
// exit codes. Builds use buildah with its storage in a temporary folder, so the machine's
// container storage is never touched.

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StaticCredentials } from '../../../src/images/dockerConfig';
import { registryPool } from '../../../src/images/pool';
import type { Workflow } from '../../../src/cluster/types';
import { startSim } from '../../sim/harness';
import { startRegistry, type TestRegistry } from '../../support/registry';
import { startKfp } from '../kfp/support';
import { makeInterpreter, pushBaseImage, tmpDir } from './baseImage';

const REPO = path.resolve(__dirname, '../../../..');
const NOTEBOOK = path.join(REPO, 'test/fixtures/images/reqs/notebook.ipynb');

function flowbook(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bin/flowbook.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('images: the flowbook build command', function () {
  this.timeout(120_000);
  let py: { python: string; dir: string };
  let reg: TestRegistry;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    py = makeInterpreter();
    reg = await startRegistry();
    dir = tmpDir('flowbook-cli-');
    fs.writeFileSync(path.join(dir, 'storage.conf'), `[storage]\ndriver = "vfs"\ngraphroot = "${dir}/graph"\nrunroot = "${dir}/run"\n`);
    fs.writeFileSync(path.join(dir, 'config.json'), '{}');
    env = { CONTAINERS_STORAGE_CONF: path.join(dir, 'storage.conf') };
    await pushBaseImage(registryPool({ credentials: new StaticCredentials({}), insecureRegistries: [reg.host] }), reg.host, 'flowbook/base', '1');
  });
  after(async () => {
    await reg?.stop();
    fs.rmSync(py.dir, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('--print-requirements prints the sorted list on stdout and the warnings on stderr', async () => {
    const run = await flowbook(['build', NOTEBOOK, '--print-requirements', '--python', py.python]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.stdout.trimEnd().split('\n'), [
      '--extra-index-url https://pypi.example.org/simple',
      'cloudpickle==3.0.0', // the step runtime's pickler, always included when steps pass values
      'flask==2.2.2',
      'numpy==1.26.4',
      'opencv-python-headless==4.9.0.80',
      'pandas==2.2.1',
      'PyYAML==6.0.1',
      'requests==2.28.1',
      'scikit-learn==1.4.2',
    ]);
    assert.match(run.stderr, /warning: No package is known for these imports: notarealpackage_xyz/);
    assert.ok(!/helpers|mylib/.test(run.stdout), 'local modules are left out');
  });

  it('--registry builds once, prints the reference, and finds it unchanged the second time', async () => {
    const args = ['build', NOTEBOOK, '--registry', `${reg.host}/team/nb`, '--insecure', '--builder', 'buildah', '--python', py.python, '--image', `${reg.host}/flowbook/base:1`, '--docker-config', path.join(dir, 'config.json')];
    const first = await flowbook(args, env);
    assert.equal(first.code, 0, first.stderr);
    const ref = first.stdout.trim();
    assert.match(ref, new RegExp(`^${reg.host.replace(/\./g, '\\.')}/team/nb:fb-[0-9a-f]{32}$`));
    assert.match(first.stderr, /built with buildah; steps: load, train/);
    const second = await flowbook(args, env);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout.trim(), ref);
    assert.match(second.stderr, /already in the registry/);
  });

  it('compile --registry emits the Workflow with the built image in every step', async () => {
    const built = await flowbook(['build', NOTEBOOK, '--registry', `${reg.host}/team/nb`, '--insecure', '--builder', 'buildah', '--python', py.python, '--image', `${reg.host}/flowbook/base:1`, '--docker-config', path.join(dir, 'config.json')], env);
    assert.equal(built.code, 0, built.stderr);
    const ref = built.stdout.trim();
    const run = await flowbook(['compile', NOTEBOOK, '--registry', `${reg.host}/team/nb`, '--insecure', '--builder', 'buildah', '--python', py.python, '--image', `${reg.host}/flowbook/base:1`], { ...env, DOCKER_CONFIG: dir });
    assert.equal(run.code, 0, run.stderr);
    const images = [...run.stdout.matchAll(/^\s+image: (.+)$/gm)].map((m) => m[1]);
    assert.ok(images.length >= 2, run.stdout);
    for (const image of images) assert.equal(image, ref);
  });

  /** The image options that build the fixture's images into the test registry. */
  const buildArgs = () => ['--registry', `${reg.host}/team/nb`, '--insecure', '--builder', 'buildah', '--python', py.python, '--image', `${reg.host}/flowbook/base:1`];

  it('submit --registry builds the images and submits the Workflow that runs every step in them (simulated cluster)', async () => {
    const built = await flowbook(['build', NOTEBOOK, ...buildArgs(), '--docker-config', path.join(dir, 'config.json')], env);
    assert.equal(built.code, 0, built.stderr);
    const ref = built.stdout.trim();
    const sim = await startSim();
    try {
      sim.sim.addUser('builder', 'submit-token-7c1d');
      const kubeconfig = sim.sim.writeKubeconfig(sim.dir, { file: 'kubeconfig', token: 'submit-token-7c1d', namespace: 'team-a' });
      const run = await flowbook(['submit', NOTEBOOK, ...buildArgs(), '--kubeconfig', kubeconfig, '--records', path.join(sim.dir, 'records')], { ...env, DOCKER_CONFIG: dir, KUBECONFIG: '' });
      assert.equal(run.code, 0, run.stderr);
      const wf = sim.sim.store.get('argoproj.io/workflows', 'team-a', run.stdout.trim()) as Workflow | undefined;
      assert.ok(wf, `the Workflow ${run.stdout.trim()} was created`);
      const images = (wf.spec.templates ?? []).flatMap((t) => (t.script?.image ? [t.script.image] : []));
      assert.ok(images.length >= 2, JSON.stringify(wf.spec.templates));
      for (const image of images) assert.equal(image, ref);
      assert.doesNotMatch(run.stderr, /lacks/, 'no default-image warning once the images are built');
    } finally {
      await sim.close();
    }
  });

  it('submit --target kfp --registry uploads a version whose every executor runs in the built image (simulated KFP)', async () => {
    const built = await flowbook(['build', NOTEBOOK, ...buildArgs(), '--docker-config', path.join(dir, 'config.json')], env);
    const ref = built.stdout.trim();
    const kfp = await startKfp();
    try {
      const run = await flowbook(['submit', NOTEBOOK, '--target', 'kfp', ...buildArgs()], { ...env, DOCKER_CONFIG: dir, FLOWBOOK_KFP_ENDPOINT: kfp.sim.url });
      assert.equal(run.code, 0, run.stderr);
      const versions = [...kfp.sim.versions.values()];
      assert.equal(versions.length, 1);
      const images = [...(versions[0]?.content ?? '').matchAll(/^\s+image: (.+)$/gm)].map((m) => m[1]);
      assert.ok(images.length >= 2, versions[0]?.content);
      for (const image of images) assert.equal(image, ref);
      assert.equal(kfp.sim.runs.size, 1);
    } finally {
      await kfp.close();
    }
  });

  it('submit refuses image options for a file that is compiled already', async () => {
    const run = await flowbook(['submit', path.join(REPO, 'test/fixtures/kfp/churn.yaml'), '--target', 'kfp', '--registry', `${reg.host}/team/nb`]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--registry applies to a notebook; .*churn\.yaml is compiled already/);
  });

  it('exits 2 without --print-requirements or --registry, and 1 with a message when the registry refuses', async () => {
    const none = await flowbook(['build', NOTEBOOK]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give --print-requirements, or --registry/);
    const locked = await startRegistry({ user: { name: 'alice', password: 'secret-pw' } });
    try {
      const run = await flowbook(['build', NOTEBOOK, '--registry', `${locked.host}/team/nb`, '--insecure', '--python', py.python, '--image', `${locked.host}/flowbook/base:1`, '--docker-config', path.join(dir, 'config.json')], env);
      assert.equal(run.code, 1);
      assert.match(run.stderr, new RegExp(`registry ${locked.host} refused .*docker login ${locked.host}`));
    } finally {
      await locked.stop();
    }
  });
});
