// The command line on bad paths: every failure is one line naming the path (exit 2), a closed
// pipe is not an error, and `-o` never destroys what it writes over.

import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXTURES, REPO_ROOT, notebookJson, type CellSpec } from '../../support/notebooks';
import { writeFileAtomic, FileWriteError } from '../../../src/common/atomicFile';

const BIN = path.join(REPO_ROOT, 'bin', 'flowbook.js');
const BASIC = path.join(FIXTURES, 'notebooks', 'basic.ipynb');
const isRoot = process.getuid?.() === 0;

function flowbook(args: string[], options: SpawnSyncOptions = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', ...options });
  return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** As an unprivileged user when the tests run as root, so a read-only folder is read-only. */
const unprivileged: SpawnSyncOptions = isRoot ? { uid: 65534, gid: 65534 } : {};

function assertOneLine(stderr: string, pattern: RegExp): void {
  assert.match(stderr, pattern);
  assert.doesNotMatch(stderr, /\n\s+at /, `no stack trace:\n${stderr}`);
  assert.equal(stderr.trim().split('\n').length, 1, `one line:\n${stderr}`);
}

/** A notebook whose compiled Workflow is far over 64 KB (a pipe's buffer). */
function bigNotebook(): string {
  const cells: CellSpec[] = [];
  for (let i = 0; i < 150; i++) cells.push([`step:s${i}`, `x${i} = ${i}\n# ${'padding '.repeat(40)}\n`]);
  return notebookJson(cells);
}

describe('flowbook CLI on bad paths', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-hard-'));
    fs.chmodSync(tmp, 0o755);
  });
  afterEach(() => {
    for (const dir of [tmp, path.join(tmp, 'ro')]) if (fs.existsSync(dir)) fs.chmodSync(dir, 0o755);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('-o into a missing folder, onto a folder, or into a read-only folder: one line naming the path, exit 2', () => {
    const missing = path.join(tmp, 'missing', 'dir', 'out.yaml');
    let r = flowbook(['compile', BASIC, '-o', missing]);
    assert.equal(r.code, 2, r.stderr);
    assertOneLine(r.stderr, new RegExp(`cannot write ${escape(missing)}: the folder ${escape(path.dirname(missing))} does not exist`));

    r = flowbook(['compile', BASIC, '-o', missing, '--debug']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /\n\s+at /, '--debug shows the stack trace');

    r = flowbook(['compile', BASIC, '-o', tmp]);
    assert.equal(r.code, 2, r.stderr);
    assertOneLine(r.stderr, new RegExp(`cannot write ${escape(tmp)}: it is a folder`));

    const ro = path.join(tmp, 'ro');
    fs.mkdirSync(ro, { mode: 0o555 });
    r = flowbook(['compile', BASIC, '-o', path.join(ro, 'out.yaml')], unprivileged);
    assert.equal(r.code, 2, r.stderr);
    assertOneLine(r.stderr, /cannot write .*ro\/out\.yaml: permission denied/);
    assert.deepEqual(fs.readdirSync(ro), []);
  });

  it('-o onto a full disk: one line, exit 2, and the device is still a device', () => {
    // As root the test makes its own /dev/full node, so a regression cannot replace the real one.
    let full = '/dev/full';
    if (isRoot) {
      full = path.join(tmp, 'full');
      assert.equal(spawnSync('mknod', [full, 'c', '1', '7']).status, 0, 'mknod');
    }
    const r = flowbook(['compile', BASIC, '-o', full]);
    assert.equal(r.code, 2, r.stderr);
    assertOneLine(r.stderr, /cannot write .*full: no space left on the device/);
    assert.ok(fs.statSync(full).isCharacterDevice(), 'still a device node');
  });

  it('run: an unwritable --runs-dir, or a notebook in a read-only folder without one, is one line, exit 2', () => {
    const ro = path.join(tmp, 'ro');
    fs.mkdirSync(ro);
    fs.copyFileSync(BASIC, path.join(ro, 'basic.ipynb'));
    fs.chmodSync(ro, 0o555);
    let r = flowbook(['run', path.join(ro, 'basic.ipynb'), '--python', 'python3'], unprivileged);
    assert.equal(r.code, 2, r.stderr);
    assertOneLine(r.stderr, /cannot (create|write) the (run )?folder .*ro\/\.flowbook\/runs: permission denied/);

    r = flowbook(['run', BASIC, '--runs-dir', path.join(ro, 'runs'), '--python', 'python3'], unprivileged);
    assert.equal(r.code, 2, r.stderr);
    assertOneLine(r.stderr, /cannot (create|write) the (run )?folder .*ro\/runs: permission denied/);
  });

  it('compile --namespace and --image are checked like the notebook settings (exit 2, one line)', () => {
    let r = flowbook(['compile', BASIC, '-n', 'My_Team']);
    assert.equal(r.code, 2, r.stderr);
    assertOneLine(r.stderr, /--namespace "My_Team": a namespace is/);
    r = flowbook(['compile', BASIC, '--image', 'python 3']);
    assert.equal(r.code, 2, r.stderr);
    assertOneLine(r.stderr, /--image "python 3": an image reference has no spaces/);
  });

  it('compile -o onto the notebook itself is refused, and the notebook is unchanged', () => {
    const copy = path.join(tmp, 'x.ipynb');
    fs.copyFileSync(BASIC, copy);
    const link = path.join(tmp, 'link.yaml');
    fs.symlinkSync(copy, link);
    for (const target of [copy, link, path.join(tmp, '.', 'x.ipynb')]) {
      const r = flowbook(['compile', copy, '-o', target]);
      assert.equal(r.code, 2, r.stderr);
      assertOneLine(r.stderr, /is the notebook itself; give another file/);
      assert.equal(fs.readFileSync(copy, 'utf8'), fs.readFileSync(BASIC, 'utf8'));
    }
  });

  it('-o writes through a symlink, into a FIFO in place, and keeps an existing file\'s mode', async () => {
    const real = path.join(tmp, 'real.yaml');
    fs.writeFileSync(real, 'old', { mode: 0o600 });
    fs.chmodSync(real, 0o600);
    const link = path.join(tmp, 'link.yaml');
    fs.symlinkSync('real.yaml', link);
    let r = flowbook(['compile', BASIC, '-o', link]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.lstatSync(link).isSymbolicLink(), 'the link stays a link');
    assert.match(fs.readFileSync(real, 'utf8'), /^apiVersion: argoproj\.io/);
    assert.equal(fs.statSync(real).mode & 0o777, 0o600, 'mode kept');

    const fifo = path.join(tmp, 'pipe');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
    const reader = new Promise<string>((resolve, reject) => {
      const cat = spawn('cat', [fifo]);
      let text = '';
      cat.stdout.on('data', (d: Buffer) => { text += d.toString(); });
      cat.on('error', reject);
      cat.on('close', () => resolve(text));
    });
    r = await new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, 'compile', BASIC, '-o', fifo]);
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.on('close', (code) => resolve({ code, stdout: '', stderr }));
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(await reader, /^apiVersion: argoproj\.io/);
    assert.ok(fs.lstatSync(fifo).isFIFO(), 'the FIFO is still a FIFO');
  });

  it('a closed stdout is not an error: compile | head -1', () => {
    const big = path.join(tmp, 'big.ipynb');
    fs.writeFileSync(big, bigNotebook());
    // pipefail: the pipeline's status is flowbook's when it fails.
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" compile "${big}" | head -c 10 >/dev/null`], { encoding: 'utf8' });
    assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at /, r.stderr);
    assert.equal(r.status, 0, r.stderr);
  });
});

describe('flowbook run with a closed stdout', function () {
  this.timeout(60_000);
  let tmp: string;
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-runpipe-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('run | head -1: the run goes on, exits 0 and records its result', () => {
    const runs = path.join(tmp, 'runs');
    const nb = path.join(tmp, 'steps.ipynb');
    fs.writeFileSync(nb, notebookJson([['step:first', 'for i in range(3):\n    print(i)\n'], ['step:second', 'print("done")\n']]));
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" run "${nb}" --python /usr/bin/python3 --runs-dir "${runs}" | head -1 >/dev/null`], { encoding: 'utf8' });
    assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at /, r.stderr);
    assert.equal(r.status, 0, r.stderr);
    const [id] = fs.readdirSync(runs);
    assert.ok(id, 'a run folder');
    const record = JSON.parse(fs.readFileSync(path.join(runs, id, 'run.json'), 'utf8')) as { status: string; steps: { cells: number[]; cellNumbers: number[] }[] };
    assert.equal(record.status, 'succeeded');
    for (const s of record.steps) assert.deepEqual(s.cellNumbers, s.cells.map((c) => c + 1), 'run.json puts the 1-based cell numbers beside the indices');
  });
});

describe('flowbook CLI: smaller promises', () => {
  let tmp: string;
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-promise-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const ERRORS = path.join(FIXTURES, 'notebooks', 'errors.ipynb');

  it('a notebook with no cells is unusable input (exit 2) for compile, inspect, run and build', () => {
    const empty = path.join(tmp, 'empty.ipynb');
    fs.writeFileSync(empty, notebookJson([]));
    for (const args of [['compile', empty], ['inspect', empty], ['run', empty], ['build', empty, '--print-requirements']]) {
      const r = flowbook(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assertOneLine(r.stderr, /error FB003 the notebook has no cells/);
    }
  });

  it('build --print-requirements exits 1 on a notebook with errors, like compile and inspect', () => {
    for (const args of [['build', ERRORS, '--print-requirements'], ['compile', ERRORS], ['inspect', ERRORS]]) {
      const r = flowbook(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /error FB300/);
    }
  });

  it('pip lines of a skipped install cell (pins and -r FILE) decide the image requirements', () => {
    fs.writeFileSync(path.join(tmp, 'reqs.txt'), 'lightgbm==4.3.0\n');
    const nb = path.join(tmp, 'kale.ipynb');
    fs.writeFileSync(nb, notebookJson([
      ['skip', '!pip install xgboost==2.0.3 --quiet\n%pip install -r reqs.txt\n'],
      ['imports', 'import xgboost\nimport lightgbm\n'],
      ['step:train', 'm = xgboost.XGBClassifier()\nn = lightgbm.LGBMClassifier()\n'],
    ]));
    const r = flowbook(['build', nb, '--print-requirements'], { env: { ...process.env, FLOWBOOK_PYTHON: '/usr/bin/python3' } });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.ok(lines.includes('xgboost==2.0.3'), r.stdout);
    assert.ok(lines.includes('lightgbm==4.3.0'), r.stdout);
  });

  it('build --print-requirements uses $FLOWBOOK_PYTHON, as run does', () => {
    const r = flowbook(['build', BASIC, '--print-requirements'], { env: { ...process.env, FLOWBOOK_PYTHON: path.join(tmp, 'no-such-python') } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Cannot run the Python interpreter `[^`]*no-such-python`/);
  });

  it('compile warns when steps import pandas or scikit-learn but run in the default image, and says how to build images', () => {
    const nb = path.join(tmp, 'ml.ipynb');
    fs.writeFileSync(nb, notebookJson([['imports', 'import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n'], ['step:load', 'df = pd.DataFrame({"a": [1]})\n'], ['step:fit', 'm = LogisticRegression()\nprint(df)\n']]));
    let r = flowbook(['compile', nb]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: steps load, fit run in python:3\.12-slim, which lacks pandas, scikit-learn \(the notebook imports them\) and cloudpickle \(Flowbook passes values between steps with it\).*flowbook compile --registry HOST\/REPO/);
    r = flowbook(['compile', nb, '--image', 'jupyter/scipy-notebook:2024-01-01']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no warning once an image is named');
  });

  it('compile --target kfp gives the default-image warning of the Argo target, with the kfp command to build images', () => {
    const nb = path.join(tmp, 'ml-kfp.ipynb');
    fs.writeFileSync(nb, notebookJson([['imports', 'import pandas as pd\n'], ['step:load', 'df = pd.DataFrame({"a": [1]})\n'], ['step:show', 'print(df)\n'], ['step:fixed', 'import os\n']]));
    const argo = flowbook(['compile', nb]);
    const kfp = flowbook(['compile', nb, '--target', 'kfp']);
    assert.equal(kfp.code, 0, kfp.stderr);
    const warning = (text: string) => text.split('\n').find((l) => l.includes('warning:'))?.replace(' --target kfp', '');
    assert.match(kfp.stderr, /warning: steps load, show, fixed run in python:3\.12-slim, which lacks pandas \(the notebook imports it\) and cloudpickle \(Flowbook passes values between steps with it\).*`flowbook compile --target kfp --registry HOST\/REPO`/);
    assert.equal(warning(kfp.stderr), warning(argo.stderr), 'both targets word it the same');
    // A step with an image: tag is not in the default image, for either target.
    fs.writeFileSync(nb, notebookJson([['imports', 'import pandas as pd\n'], [['step:load', 'image:jupyter/scipy-notebook:2024-01-01'], 'df = pd.DataFrame({"a": [1]})\n'], ['step:show', 'print(df)\n']]));
    assert.match(flowbook(['compile', nb, '--target', 'kfp']).stderr, /warning: step show runs in python:3\.12-slim/);
    const named = flowbook(['compile', nb, '--target', 'kfp', '--image', 'jupyter/scipy-notebook:2024-01-01']);
    assert.equal(named.code, 0, named.stderr);
    assert.equal(named.stderr, '', 'no warning once an image is named');
  });

  it('compile warns when the Workflow is over the Kubernetes object limit', () => {
    const cells: CellSpec[] = [['imports', `import os\n# ${'x'.repeat(2000)}\n`]];
    for (let i = 0; i < 200; i++) cells.push([`step:s${i}`, `v${i} = ${i}\n`]);
    const nb = path.join(tmp, 'huge.ipynb');
    fs.writeFileSync(nb, notebookJson(cells));
    const out = path.join(tmp, 'huge.yaml');
    const r = flowbook(['compile', nb, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.statSync(out).size > 1_500_000, 'the fixture is over the limit');
    assert.match(r.stderr, /warning: the Workflow is \d+\.\d MB; Kubernetes refuses objects over about 1\.5 MB/);
    assert.doesNotMatch(flowbook(['compile', BASIC]).stderr, /MB/);
    const kfp = flowbook(['compile', nb, '--target', 'kfp', '-o', path.join(tmp, 'huge-kfp.yaml')]);
    assert.equal(kfp.code, 0, kfp.stderr);
    assert.match(kfp.stderr, /warning: the pipeline is \d+\.\d MB; Kubeflow Pipelines runs it as an Argo Workflow, which Kubernetes refuses over about 1\.5 MB/);
    assert.doesNotMatch(flowbook(['compile', BASIC, '--target', 'kfp']).stderr, /MB/);
  });
});

describe('writeFileAtomic', () => {
  let tmp: string;
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-atomic-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('leaves the old file whole and no temp file when the write fails', () => {
    const file = path.join(tmp, 'out.yaml');
    fs.writeFileSync(file, 'old');
    // A value whose conversion throws half way stands in for a failing write.
    const bad = { toString() { throw new Error('boom'); } } as unknown as string;
    assert.throws(() => writeFileAtomic(file, bad));
    assert.equal(fs.readFileSync(file, 'utf8'), 'old');
    assert.deepEqual(fs.readdirSync(tmp), ['out.yaml']);
  });

  it('follows a chain of links to a file that does not exist yet, and names a link loop', () => {
    fs.symlinkSync('b', path.join(tmp, 'a'));
    fs.symlinkSync('c', path.join(tmp, 'b'));
    writeFileAtomic(path.join(tmp, 'a'), 'new');
    assert.equal(fs.readFileSync(path.join(tmp, 'c'), 'utf8'), 'new');
    assert.ok(fs.lstatSync(path.join(tmp, 'a')).isSymbolicLink());
    fs.symlinkSync('loop2', path.join(tmp, 'loop1'));
    fs.symlinkSync('loop1', path.join(tmp, 'loop2'));
    assert.throws(() => writeFileAtomic(path.join(tmp, 'loop1'), 'x'), (e: unknown) => e instanceof FileWriteError && /loop1: too many symbolic links/.test(e.message));
  });

  it('creates missing folders only when asked', () => {
    const file = path.join(tmp, 'a', 'b', 'c.json');
    assert.throws(() => writeFileAtomic(file, '{}'), FileWriteError);
    writeFileAtomic(file, '{}', { mkdir: true });
    assert.equal(fs.readFileSync(file, 'utf8'), '{}');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
