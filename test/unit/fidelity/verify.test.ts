// `flowbook verify` end to end: exit 0 on the example (identical), 1 with the first
// divergence named by step, variable, cell and path when the pipeline cannot give the
// notebook's values (a process id differs in every process), 1 when the notebook does not
// compile, 2 when the notebook does not run straight through or the options are wrong.

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CellSpec, REPO_ROOT, notebookJson } from '../../support/notebooks';
import { PYTHON } from '../../fidelity/judge';
import type { VerifyReport } from '../../../src/verify';
import { reportMarkdown } from '../../../src/verify/format';

const CLI = path.join(REPO_ROOT, 'bin', 'flowbook.js');
const EXAMPLE = path.join(REPO_ROOT, 'examples', 'breast-cancer', 'breast_cancer.ipynb');

function flowbook(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Values that differ in every process: the pipeline can never give the notebook's. */
const PER_PROCESS: CellSpec[] = [
  ['imports', 'import os\nimport numpy as np\nimport pandas as pd'],
  ['step:a', 'base = 3\npid = os.getpid()\nframe = pd.DataFrame({"a": [0, pid], "b": [1.5, 2.5]})\narr = np.array([0.0, float(pid)])'],
  ['step:b', 'total = base + int(frame["a"].sum() > 0) + int(arr[1] > 0) + pid * 0'],
  ['pipeline-metrics', 'total'],
];

describe('verify: flowbook verify NOTEBOOK', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-verify-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (cells: CellSpec[]) => {
    const file = path.join(dir, 'nb.ipynb');
    fs.writeFileSync(file, notebookJson(cells));
    return file;
  };
  const verify = (notebook: string, ...args: string[]) => flowbook(['verify', notebook, '--python', PYTHON, '--runs-dir', path.join(dir, 'runs'), ...args]);
  const verifyWith = (env: NodeJS.ProcessEnv, notebook: string) => flowbook(['verify', notebook, '--python', PYTHON, '--runs-dir', path.join(dir, 'runs')], env);

  it('the example is identical: exit 0, every value passed on compared, --json gives the report', async () => {
    const r = await verify(EXAMPLE, '--json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as VerifyReport;
    assert.equal(report.outcome, 'identical');
    assert.equal(report.divergences.length, 0);
    assert.ok(report.compared >= 10, `compared ${report.compared}`);
    assert.equal(report.same, report.compared);
    assert.ok(report.runDir && fs.existsSync(path.join(report.runDir, 'run.json')), 'the pipeline run is kept');
  });

  it('a value that differs: exit 1, the first divergence names the step, variable, cell and where in a frame or array', async () => {
    const r = await verify(write(PER_PROCESS), '--json');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as VerifyReport;
    assert.equal(report.outcome, 'different');
    const first = report.divergences[0];
    assert.equal(first?.step, 'a');
    assert.equal(first?.kind, 'passed-on');
    assert.equal(first?.cell, 1);
    const byVariable = new Map(report.divergences.filter((d) => d.step === 'a').map((d) => [d.variable, d]));
    assert.deepEqual([...byVariable.keys()].sort(), ['arr', 'frame', 'pid'], 'base is the same on both sides');
    assert.equal(byVariable.get('frame')?.path, "frame['a'].iloc[1]");
    assert.equal(byVariable.get('arr')?.path, 'arr[1]');
    assert.equal(byVariable.get('pid')?.line, 2);
    assert.notEqual(byVariable.get('pid')?.expected, byVariable.get('pid')?.got);
    assert.match(byVariable.get('arr')?.got ?? '', /1 of 2 elements differ/);
    // Step b receives the same values from a: they differ from the notebook's too, after a's.
    const received = report.divergences.filter((d) => d.step === 'b');
    assert.ok(received.every((d) => d.kind === 'received' && d.from === 'a'), JSON.stringify(received));
    assert.ok(report.divergences.findIndex((d) => d.step === 'b') > report.divergences.findIndex((d) => d.step === 'a'));
    const markdown = reportMarkdown(report);
    assert.match(markdown, /\*\*Different\*\*/);
    assert.match(markdown, /`frame\['a'\]\.iloc\[1\]`/);

    const text = await verify(write(PER_PROCESS));
    assert.equal(text.code, 1);
    assert.match(text.stdout, /^✗ different: step a passes on /);
    assert.match(text.stdout, /first divergence: step a, \w+ \(cell 2, line \d\): passes on a different value/);
  });

  it('a notebook that does not run straight through: exit 2, naming the cell', async () => {
    const r = await verify(write([['step:a', 'x = 1'], ['step:b', 'y = x\nz = y / 0']]));
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /does not run straight through: cell 2, line 2 raised ZeroDivisionError/);
  });

  it('a Python without cloudpickle: exit 2, naming the package and how to install it', async () => {
    const shadow = path.join(dir, 'shadow');
    fs.mkdirSync(shadow);
    fs.writeFileSync(path.join(shadow, 'cloudpickle.py'), 'raise ImportError("No module named cloudpickle")\n');
    const r = await verifyWith({ ...process.env, PYTHONPATH: shadow }, write([['step:a', 'x = 1'], ['step:b', 'y = x']]));
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stdout, /needs the Python package 'cloudpickle'.*(apt-get install python3-cloudpickle|pip install cloudpickle)/);
  });

  it('a notebook that does not compile: exit 1 with its errors; a bad -p: exit 2', async () => {
    const broken = await verify(write([['step:a', 'x = 1'], ['step:b prev:nope', 'y = x']]), '--json');
    assert.equal(broken.code, 1);
    const report = JSON.parse(broken.stdout) as VerifyReport;
    assert.equal(report.outcome, 'diagnostic');
    assert.ok(report.diagnostics.some((d) => d.cell === 1), JSON.stringify(report.diagnostics));

    const param = await verify(write([['pipeline-parameters', 'n = 1'], ['step:a', 'x = n']]), '-p', 'm=2');
    assert.equal(param.code, 2, param.stdout + param.stderr);
    assert.match(param.stdout, /m/);
  });
});
