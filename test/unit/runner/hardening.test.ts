// The local runner's results are never silently wrong, with real Python: a cached result
// stands in only while what its step read from outside (files, folders, local modules,
// installed packages) is unchanged; a step that did not save its outputs has failed and is
// never reused; --from re-runs the steps whose parameters changed; missing packages are
// all named before anything runs; a "running" record left by a dead runner reads as
// interrupted; a full disk leaves run.json readable; old runs are pruned safely.

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  RunEvent, RunOptions, RunRecord, installCommand, listRuns, missingModulesMessage, pruneRuns, readRun, startRun,
} from '../../../src/runner';
import { FakeStep, PYTHON, fakeWorkflow } from './fakeWorkflow';

const statuses = (r: RunRecord) => Object.fromEntries(r.steps.map((s) => [s.name, s.status]));
const stepOf = (r: RunRecord, name: string) => r.steps.find((s) => s.name === name);

for (const preload of [true, false]) describe(`runner: hardening (${preload ? 'forked steps' : 'fresh processes'})`, function () {
  this.timeout(90_000);
  let root: string;
  let notebook: string;
  let runsDir: string;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-hardening-'));
    notebook = path.join(root, 'nb.ipynb');
    runsDir = path.join(root, '.flowbook', 'runs');
    fs.writeFileSync(notebook, '{}');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  function run(steps: FakeStep[], extra: Partial<RunOptions> = {}, params: Record<string, unknown> = {}) {
    return startRun({ workflow: fakeWorkflow(steps, params), notebook, python: PYTHON, jobs: 2, preload, ...extra });
  }

  it('a step reading a data file, a folder or a local module re-runs when one of them changes, and says why', async () => {
    fs.writeFileSync(path.join(root, 'data.csv'), 'a\n1\n2\n');
    fs.writeFileSync(path.join(root, 'helper.py'), 'FACTOR = 2\n');
    fs.mkdirSync(path.join(root, 'inbox'));
    fs.writeFileSync(path.join(root, 'inbox', 'one.txt'), 'x');
    const read: FakeStep = {
      name: 'read', outputs: ['total'], metrics: ['total'],
      cells: [[1, "import helper, os\nrows = open('data.csv').read().split()[1:]\nfiles = len(os.listdir('inbox'))\ntotal = sum(map(int, rows)) * helper.FACTOR + files"]],
    };
    const first = await run([read]).done;
    assert.equal(first.status, 'succeeded', JSON.stringify(first.steps[0]?.error));
    assert.equal(first.metrics.total, 7);
    const recorded = (stepOf(first, 'read')?.reads ?? []).map((r) => path.relative(root, r.path)).sort();
    assert.deepEqual(recorded, ['data.csv', 'helper.py', 'inbox'], 'the files, the folder and the local module, nothing of the interpreter or the run');

    const same = await run([read]).done;
    assert.equal(stepOf(same, 'read')?.status, 'cached');
    assert.match(stepOf(same, 'read')?.reason ?? '', /unchanged since that run .*3 files read/);

    fs.writeFileSync(path.join(root, 'data.csv'), 'a\n1\n5\n');
    const edited = await run([read]).done;
    assert.equal(stepOf(edited, 'read')?.status, 'succeeded');
    assert.equal(edited.metrics.total, 13);
    assert.equal(stepOf(edited, 'read')?.reason, `not reused from run ${same.id}: ${path.join(fs.realpathSync(root), 'data.csv')} changed`);

    fs.writeFileSync(path.join(root, 'helper.py'), 'FACTOR = 3\n');
    const module = await run([read]).done;
    assert.equal(module.metrics.total, 19);
    assert.match(stepOf(module, 'read')?.reason ?? '', /helper\.py changed$/);

    fs.writeFileSync(path.join(root, 'inbox', 'two.txt'), 'y');
    const folder = await run([read]).done;
    assert.equal(folder.metrics.total, 20);
    assert.match(stepOf(folder, 'read')?.reason ?? '', /the files in .*inbox changed$/);

    // Same size, new time, same content: still reused (the content decides).
    const data = path.join(root, 'data.csv');
    fs.utimesSync(data, new Date(), new Date(Date.now() + 5000));
    assert.equal(stepOf(await run([read]).done, 'read')?.status, 'cached');
  });

  it('a result computed with another version of an installed package is not reused', async () => {
    const step: FakeStep = { name: 'np', outputs: ['n'], cells: [[1, 'import numpy\nn = int(numpy.arange(4).sum())']] };
    const first = await run([step]).done;
    const version = stepOf(first, 'np')?.packages?.numpy;
    assert.ok(version, `numpy is recorded with its version: ${JSON.stringify(stepOf(first, 'np')?.packages)}`);
    // As if numpy had been upgraded since: the record says another version.
    const file = path.join(runsDir, first.id, 'run.json');
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as RunRecord;
    (record.steps[0]?.packages as Record<string, string>).numpy = '0.0.1';
    fs.writeFileSync(file, JSON.stringify(record));
    const second = await run([step]).done;
    assert.equal(stepOf(second, 'np')?.status, 'succeeded');
    assert.equal(stepOf(second, 'np')?.reason, `not reused from run ${first.id}: package numpy 0.0.1 is now ${version}`);
  });

  it('a step that ends early without saving its outputs fails, naming the step and cell, and is never reused', async () => {
    // os._exit(0) ends the process at once, with success: only the runner can tell.
    const early: FakeStep = { name: 'a', outputs: ['x', 'y'], cells: [[2, 'x = 1'], [3, 'import os\nos._exit(0)\ny = 2']] };
    const next: FakeStep = { name: 'b', after: ['a'], inputs: [{ name: 'x', from: 'a' }], outputs: ['z'], cells: [[4, 'z = x + 1']] };
    for (const attempt of [1, 2]) {
      const record = await run([early, next]).done;
      assert.equal(record.status, 'failed', `attempt ${attempt}`);
      assert.deepEqual(statuses(record), { a: 'failed', b: 'skipped' });
      const error = stepOf(record, 'a')?.error;
      assert.equal(error?.message, 'step a failed: it ended without saving the values x, y (cells 3, 4); its code stopped before the end (sys.exit(), exit() or os._exit()?). Remove the early exit, or move it into a step of its own');
      assert.equal(error?.cell, 3);
      assert.equal(stepOf(record, 'b')?.reason, 'upstream step a failed');
    }
    // sys.exit(0): the step's runtime makes the process fail; never reused either.
    const exits: FakeStep = { ...early, cells: [[2, 'x = 1'], [3, 'import sys\nsys.exit(0)\ny = 2']] };
    for (const attempt of [1, 2]) {
      const record = await run([exits, next]).done;
      assert.deepEqual(statuses(record), { a: 'failed', b: 'skipped' }, `attempt ${attempt}`);
      assert.match(stepOf(record, 'a')?.error?.message ?? '', /^step a failed: step 'a' stopped in cell 4: the cell raised SystemExit\(0\)/);
    }
  });

  it('a cached step whose data files were deleted or changed runs again', async () => {
    const make: FakeStep = { name: 'make', outputs: ['v'], cells: [[1, 'v = list(range(5))']] };
    const use: FakeStep = { name: 'use', after: ['make'], inputs: [{ name: 'v', from: 'make' }], metrics: ['s'], cells: [[2, 's = sum(v)']] };
    const first = await run([make, use]).done;
    assert.equal(first.status, 'succeeded');
    fs.rmSync(path.join(runsDir, first.id, 'data', 'make', '_values.pkl'));
    const second = await run([make, use]).done;
    assert.equal(second.status, 'succeeded', JSON.stringify(second.steps.map((s) => s.error)));
    assert.equal(stepOf(second, 'make')?.status, 'succeeded');
    assert.equal(stepOf(second, 'make')?.reason, `not reused from run ${first.id}: its saved value v is missing from ${path.join(runsDir, first.id, 'data', 'make')}`);
    assert.equal(second.metrics.s, 10);

    // Overwritten with other bytes of the same size, and a newer time.
    const file = path.join(runsDir, second.id, 'data', 'make', '_values.pkl');
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] ?? 0) ^ 1;
    fs.rmSync(file);
    fs.writeFileSync(file, bytes);
    // The third run's key matches runs 1 and 2; run 2 is the newest and its file changed.
    const third = await run([make, use]).done;
    assert.equal(stepOf(third, 'make')?.status, 'succeeded');
    assert.match(stepOf(third, 'make')?.reason ?? '', /its output files in .* were changed or deleted/);
  });

  it('--from after a parameter change re-runs the upstream steps that read it; the record shows what each ran with', async () => {
    const load: FakeStep = { name: 'load', outputs: ['data'], cells: [[1, 'data = [1, 2, 3]']] };
    const logreg: FakeStep = { name: 'train_logreg', after: ['load'], inputs: [{ name: 'data', from: 'load' }], params: ['C'], outputs: ['auc'], metrics: ['auc'], cells: [[2, 'auc = sum(data) * C']] };
    const forest: FakeStep = { name: 'train_forest', after: ['load'], inputs: [{ name: 'data', from: 'load' }], outputs: ['acc'], metrics: ['acc'], cells: [[3, 'acc = len(data)']] };
    const report: FakeStep = {
      name: 'report', after: ['train_logreg', 'train_forest'], metrics: ['best'],
      inputs: [{ name: 'auc', from: 'train_logreg' }, { name: 'acc', from: 'train_forest' }], cells: [[4, 'best = max(auc, acc)']],
    };
    const steps = [load, logreg, forest, report];
    const first = await run(steps, { parameters: { C: 0.1 } }, { C: 1 }).done;
    assert.equal(first.status, 'succeeded');
    assert.deepEqual(stepOf(first, 'train_logreg')?.parameters, { C: 0.1 });

    const resumed = await run(steps, { from: 'train_forest' }, { C: 1 }).done;
    assert.equal(resumed.status, 'succeeded');
    assert.deepEqual(statuses(resumed), { load: 'cached', train_logreg: 'succeeded', train_forest: 'succeeded', report: 'succeeded' });
    assert.equal(stepOf(resumed, 'train_logreg')?.reason, `re-run: it ran with C=0.1 in run ${first.id}, and this run has C=1`);
    assert.deepEqual(resumed.parameters, { C: 1 });
    assert.deepEqual(stepOf(resumed, 'train_logreg')?.parameters, { C: 1 });
    assert.equal(resumed.metrics.auc, 6);
    assert.equal(resumed.metrics.best, 6);

    const again = await run(steps, { from: 'report' }, { C: 1 }).done;
    assert.deepEqual(stepOf(again, 'train_logreg')?.parameters, { C: 1 }, 'a reused step keeps the values it ran with');
    assert.equal(stepOf(again, 'train_logreg')?.status, 'cached');

    await run(steps, { parameters: { C: 0.5 }, from: 'report' }, { C: 1 }).done;
    const only = run(steps, { only: 'report' }, { C: 1 }).done;
    const refused = await only;
    assert.equal(refused.status, 'failed');
    assert.match(refused.error ?? '', /^step report needs the result of step train_logreg from run .*, but it ran with C=0\.5 in run .*, and this run has C=1; run with --from train_logreg to recompute it first$/);
  });

  it('lists every missing package with one install command before any step runs', async () => {
    const steps: FakeStep[] = [
      { name: 'a', cells: [[1, 'import flowbook_missing_one\nimport json']] },
      { name: 'b', after: ['a'], cells: [[2, 'from flowbook_missing_two.sub import thing\nimport os.path']] },
    ];
    fs.writeFileSync(path.join(root, 'localmod.py'), 'X = 1\n');
    const record = await run(steps, { modules: ['flowbook_missing_one', 'flowbook_missing_two', 'json', 'os', 'localmod'] }).done;
    assert.equal(record.status, 'failed');
    assert.deepEqual(record.missingModules?.modules, ['cloudpickle', 'flowbook_missing_one', 'flowbook_missing_two'].filter((m) => m !== 'cloudpickle' || !hasModule('cloudpickle')));
    assert.match(record.missingModules?.install ?? '', /pip install .*flowbook_missing_one flowbook_missing_two/);
    assert.match(record.error ?? '', /Python packages are missing for .*python3.*: .*flowbook_missing_one, flowbook_missing_two\. Install them with: .*\(or choose another Python interpreter: --python PATH\)$/);
    assert.ok(record.steps.every((s) => s.status === 'skipped' && s.startedAt === undefined), 'no step ran');
  });

  it('a record left "running" by a runner that is gone reads as interrupted, and is rewritten so', async () => {
    const first = await run([{ name: 'a', cells: [[1, 'pass']] }]).done;
    const file = path.join(runsDir, first.id, 'run.json');
    const dead = execFileSync('sh', ['-c', 'sh -c "echo \\$\\$"'], { encoding: 'utf8' }).trim();
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as RunRecord;
    Object.assign(record, { status: 'running', runnerPid: Number(dead) });
    delete record.finishedAt;
    (record.steps[0] as { status: string }).status = 'running';
    fs.writeFileSync(file, JSON.stringify(record));
    const seen = listRuns(runsDir)[0];
    assert.equal(seen?.status, 'failed');
    assert.equal(seen?.interrupted, true);
    assert.match(seen?.error ?? '', /^interrupted: the runner \(process \d+\) ended before the run finished/);
    assert.equal(seen?.steps[0]?.status, 'cancelled');
    assert.equal((JSON.parse(fs.readFileSync(file, 'utf8')) as RunRecord).status, 'failed', 'run.json was rewritten');

    // Our own pid, with another start time: a reused pid is not taken for the runner.
    Object.assign(record, { status: 'running', runnerPid: process.pid, runnerStart: '1' });
    fs.writeFileSync(file, JSON.stringify(record));
    assert.equal(readRun(runsDir, first.id)?.interrupted, true);
    // A live runner's record stays as it is.
    const live = { ...record, runnerStart: fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ')[19] };
    fs.writeFileSync(file, JSON.stringify(live));
    assert.equal(readRun(runsDir, first.id)?.status, 'running');
  });
});

describe('runner: hardening (disk and retention)', function () {
  this.timeout(90_000);
  let root: string;
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-hardening-'))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('a full disk while writing run.json is reported once, and run.json stays readable', async () => {
    // A real full disk: a 1 MB tmpfs the first step fills. Where mounting is not allowed,
    // the write of run.json's temporary file fails with ENOSPC instead, as a full disk does.
    const mount = path.join(root, 'small');
    fs.mkdirSync(mount);
    let mounted = true;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mount], { stdio: 'ignore' });
    } catch {
      mounted = false;
    }
    // The module object itself (the namespace import only has getters over it).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeFs = require('node:fs') as typeof fs;
    const realWrite = nodeFs.writeFileSync;
    let filled = false;
    if (!mounted) {
      const failing = (file: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
        if (filled && typeof file === 'string' && /\.run\.json\..*\.tmp$/.test(file)) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        return (realWrite as (...a: unknown[]) => void)(file, ...rest);
      };
      Object.assign(nodeFs, { writeFileSync: failing });
    }
    try {
      const notebook = path.join(mount, 'nb.ipynb');
      fs.writeFileSync(notebook, '{}');
      const fill: FakeStep = { name: 'fill', cells: [[1, "try:\n    with open('ballast', 'wb') as f:\n        f.write(b'x' * 4_000_000)\nexcept OSError:\n    pass"]] };
      const after: FakeStep = { name: 'after', after: ['fill'], cells: [[2, 'pass']] };
      const handle = startRun({ workflow: fakeWorkflow([fill, after]), notebook, python: PYTHON, preload: false });
      const warnings: string[] = [];
      handle.events.on('event', (e: RunEvent) => {
        if (e.type === 'warning') warnings.push(e.message);
        if (e.type === 'step-changed' && e.step.status === 'running') filled = true;
      });
      const record = await handle.done;
      assert.equal(record.steps[0]?.status, 'succeeded');
      const full = warnings.filter((w) => /cannot update .*run\.json: the disk is full \(ENOSPC\)\. The run goes on/.test(w));
      assert.equal(full.length, 1, warnings.join('\n'));
      const runDir = path.join(mount, '.flowbook', 'runs', record.id);
      const onDisk = readRun(path.join(mount, '.flowbook', 'runs'), record.id);
      assert.ok(onDisk, 'run.json is still a whole, readable record');
      assert.equal(fs.readdirSync(runDir).filter((f) => f.endsWith('.tmp')).length, 0, 'no temporary file is left');
    } finally {
      Object.assign(nodeFs, { writeFileSync: realWrite });
      if (mounted) execFileSync('umount', [mount]);
    }
  });

  it('keeps the newest runs of each notebook and never deletes a run a kept run reuses', async () => {
    const runsDir = path.join(root, 'runs');
    const notebookA = path.join(root, 'a.ipynb');
    const notebookB = path.join(root, 'b.ipynb');
    for (const n of [notebookA, notebookB]) fs.writeFileSync(n, '{}');
    const big: FakeStep = { name: 'big', outputs: ['blob'], cells: [[1, "blob = b'x' * 100000"]] };
    const small: FakeStep = { name: 'small', params: ['k'], outputs: ['n'], cells: [[2, 'n = k']] };
    const go = (notebook: string, k: number, keep?: number) =>
      startRun({ workflow: fakeWorkflow([big, small], { k: 0 }), notebook, runsDir, python: PYTHON, parameters: { k }, ...(keep ? { keep } : {}) }).done;
    const a1 = await go(notebookA, 1);
    const a2 = await go(notebookA, 2);
    const a3 = await go(notebookA, 3);
    const b1 = await go(notebookB, 1);
    assert.equal(stepOf(a3, 'big')?.cachedFrom, a2.id, 'big is reused from the newest run that has it');

    const dry = pruneRuns(runsDir, { notebook: notebookA, keep: 1, dryRun: true });
    assert.deepEqual(dry.deleted.map((r) => r.id), [a1.id]);
    assert.deepEqual(dry.protected.map((p) => [p.run.id, p.neededBy]), [[a2.id, a3.id]]);
    assert.equal(dry.bytes > 0 && dry.bytes < 100000, true, `only a1's own files are freed (its blob is linked into a2): ${dry.bytes}`);
    assert.equal(listRuns(runsDir).length, 4, 'a dry run deletes nothing');

    const a4 = await go(notebookA, 4, 1);
    const left = listRuns(runsDir).map((r) => r.id).sort();
    assert.deepEqual(left, [a3.id, a4.id, b1.id].sort(), 'a4 kept, a3 reused by a4 kept, b untouched');
    assert.equal(stepOf(a4, 'big')?.cachedFrom, a3.id);
    assert.ok(fs.existsSync(path.join(runsDir, a4.id, 'data', 'big', '_values.pkl')));
    assert.throws(() => pruneRuns(runsDir, { keep: 0 }), RangeError);
  });
});

function hasModule(name: string): boolean {
  try {
    execFileSync(PYTHON, ['-c', `import importlib.util, sys; sys.exit(importlib.util.find_spec('${name}') is None)`]);
    return true;
  } catch {
    return false;
  }
}


describe('runner: one install command for every missing package', () => {
  it('pip for any interpreter, naming PyPI distributions where they differ from the import name', () => {
    const venv = { command: '/opt/venv/bin/python', executable: '/opt/venv/bin/python', version: '3.12.1' };
    assert.equal(installCommand(['numpy', 'sklearn', 'yaml', 'flowbook_x'], venv), '/opt/venv/bin/python -m pip install numpy scikit-learn pyyaml flowbook_x');
    assert.equal(missingModulesMessage({ python: venv.executable, modules: ['numpy'], install: 'X' }), 'a Python package is missing for /opt/venv/bin/python: numpy. Install it with: X (or choose another Python interpreter: --python PATH)');
  });

  it("apt packages for Debian's own interpreter, and pip for the rest", function () {
    const system = { command: '/usr/bin/python3', executable: '/usr/bin/python3', version: '3.11.2' };
    if (!fs.existsSync('/etc/debian_version') || !/^\/usr\/bin\/python3(\.\d+)?$/.test(fs.realpathSync('/usr/bin/python3'))) {
      // Elsewhere the system interpreter is just another interpreter: pip.
      assert.match(installCommand(['numpy'], system), /^\/usr\/bin\/python3 -m pip install numpy$/);
      return;
    }
    const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
    assert.equal(installCommand(['numpy', 'sklearn', 'flowbook_x'], system),
      `${sudo}apt-get install python3-numpy python3-sklearn && /usr/bin/python3 -m pip install flowbook_x (Debian's Python may need a virtual environment for pip: python3 -m venv)`);
  });
});
