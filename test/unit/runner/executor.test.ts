// The executor against real Python on hand-written workflows that follow the runtime
// conventions: values pass between processes, failures map to cells, dependents are
// skipped, branches overlap, caching and --from/--only reuse outputs, cancellation leaves
// no process behind.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunEvent, RunOptions, RunOptionsError, RunRecord, listRuns, readRun, startRun } from '../../../src/runner';
import { withCellNumbers } from '../../../src/converter/cellNumbers';
import { ForkServer } from '../../../src/runner/forkServer';
import { FakeStep, PYTHON, fakeWorkflow } from './fakeWorkflow';

const LOAD: FakeStep = { name: 'load', cells: [[2, 'data = list(range(10))\nscale = 3']], outputs: ['data', 'scale'] };
const TOTAL: FakeStep = {
  name: 'total', after: ['load'], cells: [[4, 'total = sum(data) * scale * factor']],
  inputs: [{ name: 'data', from: 'load' }, { name: 'scale', from: 'load' }], params: ['factor'], outputs: ['total'], metrics: ['total'],
};
const COUNT: FakeStep = {
  name: 'count', after: ['load'], cells: [[5, 'count = len(data)']],
  inputs: [{ name: 'data', from: 'load' }], outputs: ['count'], metrics: ['count'],
};
const REPORT: FakeStep = {
  name: 'report', after: ['total', 'count'], cells: [[7, 'mean = total / count']],
  inputs: [{ name: 'total', from: 'total' }, { name: 'count', from: 'count' }], metrics: ['mean'],
};
const PIPELINE = [LOAD, TOTAL, COUNT, REPORT];

for (const preload of [true, false]) describe(`runner: executor (${preload ? 'steps forked from a preloading launcher' : 'steps started as fresh processes'})`, function () {
  this.timeout(60_000);
  let root: string;
  let notebook: string;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-runner-'));
    notebook = path.join(root, 'nb.ipynb');
    fs.writeFileSync(notebook, '{}');
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  function run(steps: FakeStep[], extra: Partial<RunOptions> = {}, params: Record<string, unknown> = { factor: 2 }) {
    return startRun({ workflow: fakeWorkflow(steps, params), notebook, python: PYTHON, jobs: 2, preload, ...extra });
  }
  const statuses = (r: RunRecord) => Object.fromEntries(r.steps.map((s) => [s.name, s.status]));
  const handleDir = (r: RunRecord) => path.join(root, '.flowbook', 'runs', r.id);

  it('runs the DAG, passes values between steps and collects metrics in run.json', async () => {
    const handle = run(PIPELINE);
    const events: RunEvent[] = [];
    handle.events.on('event', (e) => events.push(e));
    const record = await handle.done;
    assert.equal(record.status, 'succeeded', JSON.stringify(record, null, 1));
    assert.deepEqual(statuses(record), { load: 'succeeded', total: 'succeeded', count: 'succeeded', report: 'succeeded' });
    assert.deepEqual(record.metrics, { total: 270, count: 10, mean: 27 });
    assert.deepEqual(record.parameters, { factor: 2 });
    const onDisk = readRun(path.join(root, '.flowbook', 'runs'), record.id);
    assert.deepEqual(onDisk, withCellNumbers(record), 'run.json is the record, with the 1-based cell numbers beside the indices');
    assert.match(record.id, /^\d{8}-\d{6}-[0-9a-f]{4}$/);
    assert.equal(events[0]?.type, 'run-started');
    assert.equal(events.at(-1)?.type, 'run-finished');
    const order = events.filter((e) => e.type === 'step-changed' && e.step.status === 'running').map((e) => (e.type === 'step-changed' ? e.step.name : ''));
    assert.equal(order[0], 'load');
    assert.equal(order.at(-1), 'report');
    for (const s of record.steps) {
      assert.ok(s.startedAt && s.finishedAt && s.durationMs !== undefined, `${s.name} has times`);
      assert.ok(fs.existsSync(path.join(handle.dir, s.stdout)));
    }
  });

  it('substitutes -p overrides into the step environment, encoded by type', async () => {
    const step: FakeStep = { name: 'show', cells: [[1, 'kind = type(factor).__name__\nvalue = factor * 1']], params: ['factor'], outputs: [] };
    step.cells.push([2, 'print(kind, value)']);
    const record = await run([step], { parameters: { factor: 4 }, parameterTypes: { factor: 'float' } }).done;
    assert.equal(record.status, 'succeeded');
    assert.deepEqual(record.parameters, { factor: 4 });
    const out = fs.readFileSync(path.join(path.join(root, '.flowbook', 'runs', record.id), record.steps[0]?.stdout ?? ''), 'utf8');
    assert.equal(out.trim(), 'float 4.0');
  });

  it('maps a failure to its cell and line, skips dependents and lets independent branches finish', async () => {
    const boom: FakeStep = { ...COUNT, name: 'boom', cells: [[5, 'count = len(data)'], [6, 'items = []\nfirst = items[3]']] };
    const report: FakeStep = { ...REPORT, after: ['total', 'boom'], inputs: [{ name: 'total', from: 'total' }, { name: 'count', from: 'boom' }] };
    const record = await run([LOAD, TOTAL, boom, report]).done;
    assert.equal(record.status, 'failed');
    assert.deepEqual(statuses(record), { load: 'succeeded', total: 'succeeded', boom: 'failed', report: 'skipped' });
    const failed = record.steps.find((s) => s.name === 'boom');
    assert.equal(failed?.error?.message, 'step boom failed: IndexError at cell 7, line 2 (list index out of range)');
    assert.equal(failed?.error?.cell, 6);
    assert.equal(failed?.error?.line, 2);
    assert.equal(failed?.exitCode, 1);
    assert.equal(record.steps.find((s) => s.name === 'report')?.reason, 'upstream step boom failed');
    assert.deepEqual(record.metrics, { total: 270 });
  });

  it('runs independent branches at the same time (start/end times overlap in run.json)', async () => {
    const sleeper = (name: string): FakeStep => ({ name, after: ['load'], cells: [[3, 'import time\ntime.sleep(0.6)']] });
    const overlap = (r: RunRecord) => {
      const [a, b] = ['left', 'right'].map((n) => r.steps.find((s) => s.name === n));
      const t = (x?: string) => Date.parse(x ?? '');
      return t(a?.startedAt) < t(b?.finishedAt) && t(b?.startedAt) < t(a?.finishedAt);
    };
    const parallel = await run([LOAD, sleeper('left'), sleeper('right')], { jobs: 2 }).done;
    assert.equal(parallel.status, 'succeeded');
    assert.ok(overlap(parallel), 'with --jobs 2 the branches overlap');
    const serial = await run([LOAD, sleeper('left'), sleeper('right')], { jobs: 1, cache: false }).done;
    assert.ok(!overlap(serial), 'with --jobs 1 they do not');
  });

  it('reuses unchanged steps from the cache and reruns what a parameter change affects', async () => {
    const first = await run(PIPELINE).done;
    assert.equal(first.status, 'succeeded');
    const second = await run(PIPELINE).done;
    assert.deepEqual(statuses(second), { load: 'cached', total: 'cached', count: 'cached', report: 'cached' });
    assert.deepEqual(second.metrics, first.metrics);
    assert.equal(second.steps[0]?.cachedFrom, first.id);
    const dir = path.join(root, '.flowbook', 'runs', second.id);
    assert.ok(fs.existsSync(path.join(dir, 'data', 'load', '_values.pkl')), 'cached outputs are linked into the new run');

    const third = await run(PIPELINE, { parameters: { factor: 5 } }).done;
    assert.deepEqual(statuses(third), { load: 'cached', total: 'succeeded', count: 'cached', report: 'succeeded' });
    assert.equal(third.metrics.total, 675);
    assert.equal(third.metrics.mean, 67.5);

    const renumbered = PIPELINE.map((step) => ({ ...step, cells: step.cells.map(([cell, code]): [number, string] => [cell + 1, code]) }));
    const moved = await run(renumbered, { parameters: { factor: 5 } }).done;
    assert.deepEqual(statuses(moved), { load: 'cached', total: 'cached', count: 'cached', report: 'cached' }, 'a markdown cell added above changes no result');
    assert.deepEqual(moved.steps.find((s) => s.name === 'total')?.cells, [5], 'the record has the new cell numbers');

    const fourth = await run(PIPELINE, { cache: false }).done;
    assert.deepEqual(statuses(fourth), { load: 'succeeded', total: 'succeeded', count: 'succeeded', report: 'succeeded' });
  });

  it('--from STEP reruns the step and what follows, with upstream outputs of the latest run', async () => {
    const broken: FakeStep = { ...TOTAL, cells: [[4, 'total = sum(data) * scale * factor\nraise ValueError("not yet")']] };
    const failed = await run([LOAD, broken, COUNT, REPORT]).done;
    assert.equal(failed.status, 'failed');
    assert.equal(failed.steps.find((s) => s.name === 'total')?.error?.message, 'step total failed: ValueError at cell 5, line 2 (not yet)');

    const resumed = await run(PIPELINE, { from: 'total' }).done;
    assert.equal(resumed.status, 'succeeded');
    assert.equal(resumed.baseRun, failed.id);
    assert.deepEqual(statuses(resumed), { load: 'cached', total: 'succeeded', count: 'cached', report: 'succeeded' });
    assert.equal(resumed.steps.find((s) => s.name === 'load')?.cachedFrom, failed.id);
    assert.deepEqual(resumed.metrics, { total: 270, count: 10, mean: 27 });

    const only = await run(PIPELINE, { only: 'count' }).done;
    assert.deepEqual(statuses(only), { load: 'cached', total: 'skipped', count: 'succeeded', report: 'skipped' });
    assert.equal(only.status, 'succeeded');
  });

  it('--from without an earlier run says to run the whole pipeline first', async () => {
    const record = await run(PIPELINE, { from: 'report' }).done;
    assert.equal(record.status, 'failed');
    assert.match(record.error ?? '', /no earlier run of nb\.ipynb .* has the outputs of step load, step total, step count, which --from needs; run the whole pipeline once first/);
    assert.ok(record.steps.every((s) => s.status === 'skipped'));
  });

  it('rejects an unknown --from step before creating a run', () => {
    assert.throws(() => run(PIPELINE, { from: 'nope' }), (e: unknown) => e instanceof RunOptionsError && /there is no step 'nope'; the steps are load, total, count, report/.test(e.message));
    assert.equal(listRuns(path.join(root, '.flowbook', 'runs')).length, 0);
  });

  it('names the step, the module and the install command when a package is missing', async () => {
    // Imported where the check before the run does not look: the step's traceback tells.
    const step: FakeStep = { name: 'train', cells: [[1, 'import json'], [2, 'if True:\n    import flowbook_no_such_module as m']] };
    const record = await run([step]).done;
    const error = record.steps[0]?.error;
    assert.equal(error?.module, 'flowbook_no_such_module');
    assert.match(error?.message ?? '', /^step train failed: ModuleNotFoundError at cell 3, line 2 \(No module named 'flowbook_no_such_module'\)\. Module 'flowbook_no_such_module' is not installed for .*python3.*; install it with: .*pip install flowbook_no_such_module/);
  });

  it('behaves like a fresh interpreter: exit codes, sys.exit messages, syntax errors, unseeded random numbers', async () => {
    const steps: FakeStep[] = [
      { name: 'three', cells: [[1, 'import os\nos._exit(3)']] },
      { name: 'says', cells: [[2, 'import sys\nsys.exit("no data today")']] },
      { name: 'syntax', cells: [[3, 'x = 1\ny = (']] },
      { name: 'r1', cells: [[4, 'import numpy\nv1 = numpy.random.rand()']], metrics: ['v1'] },
      { name: 'r2', cells: [[5, 'import numpy\nv2 = numpy.random.rand()']], metrics: ['v2'] },
    ];
    const record = await run(steps).done;
    const step = (n: string) => record.steps.find((s) => s.name === n);
    assert.equal(step('three')?.exitCode, 3);
    assert.equal(step('three')?.error?.message, 'step three failed: the Python process exited with code 3; see steps/three/stderr.log');
    assert.equal(step('says')?.exitCode, 1);
    assert.match(fs.readFileSync(path.join(handleDir(record), step('says')?.stderr ?? ''), 'utf8').trim(), /^flowbook: step 'says' stopped in cell 3: the cell raised SystemExit\('no data today'\)/);
    assert.equal(step('syntax')?.error?.message, "step syntax failed: SyntaxError at cell 4, line 2 ('(' was never closed)");
    assert.equal(typeof record.metrics.v1, 'number');
    assert.notEqual(record.metrics.v1, record.metrics.v2, 'each step draws its own random numbers');
    assert.equal(record.python.preloaded?.includes('numpy') ?? false, preload);
  });

  if (preload) {
    it('starts fresh processes when a step sets environment variables that packages may read on import', async () => {
      const warnings: string[] = [];
      const handle = run([{ name: 'threads', cells: [[1, 'import os\nos.environ["OMP_NUM_THREADS"] = "1"\nimport numpy']] }]);
      handle.events.on('event', (e) => e.type === 'warning' && warnings.push(e.message));
      const record = await handle.done;
      assert.equal(record.status, 'succeeded');
      assert.equal(record.python.preloaded, undefined);
      assert.match(warnings.join('\n'), /without preloaded packages, because step threads sets environment variables/);
    });
  }

  if (preload) {
    it('starts the launcher while it checks the packages; a missing one stops the launcher before any step, and no process is left', async () => {
      const handle = run([{ name: 'needs', cells: [[1, 'import numpy\nimport flowbook_not_installed']] }], { modules: ['numpy', 'flowbook_not_installed'] });
      const launcher: string[] = [];
      handle.events.on('event', (e) => e.type === 'launcher' && launcher.push(e.state));
      const record = await handle.done;
      assert.equal(record.status, 'failed');
      assert.deepEqual(record.missingModules?.modules, ['flowbook_not_installed']);
      assert.ok(record.steps.every((s) => s.status === 'skipped' && s.startedAt === undefined), 'no step ran');
      assert.equal(launcher[0], 'starting', 'the launcher started before the package check ended');
      assert.equal(launcher.length, 2, `the launcher's start ends, as ready or stopped: ${launcher.join()}`);
      assert.ok(launcher[1] === 'ready' || launcher[1] === 'stopped');
      assert.deepEqual(childrenOf(process.pid), [], 'the runner left no child process (launcher included)');
    });

    it('a launcher stopped while it imports is killed at once and reports itself aborted', async () => {
      const stop = new AbortController();
      const started = ForkServer.start(PYTHON, { cwd: root, env: process.env, modules: ['numpy', 'json'], signal: stop.signal });
      stop.abort();
      assert.deepEqual(await started, { aborted: true });
      await waitFor(() => (childrenOf(process.pid).length === 0 ? true : undefined));
      assert.deepEqual(await ForkServer.start(PYTHON, { cwd: root, env: process.env, modules: [], signal: stop.signal }), { aborted: true }, 'an aborted signal starts nothing');
    });
  }

  it('reports a missing interpreter as a run error with what to do', async () => {
    const record = await run(PIPELINE, { python: path.join(root, 'no-python3') }).done;
    assert.equal(record.status, 'failed');
    assert.match(record.error ?? '', /^cannot run step load or the 3 after it: the Python interpreter '.*no-python3' was not found\. Install Python 3 .* or pass --python/);
    assert.ok(record.steps.every((s) => s.status === 'skipped'));
  });

  it('retries a step as often as its retryStrategy says, and stops it at its deadline', async () => {
    const flaky: FakeStep = { name: 'flaky', cells: [[1, `import os\nmarker = ${JSON.stringify(path.join(root, 'tried'))}\nif not os.path.exists(marker):\n    open(marker, 'w').close()\n    raise RuntimeError('first try')`]] };
    const slow: FakeStep = { name: 'slow', cells: [[2, 'import time\ntime.sleep(30)']] };
    const wf = fakeWorkflow([flaky, slow]);
    const templates = wf.spec.templates.map((t) => (t.name === 'flaky' ? { ...t, retryStrategy: { limit: '1' } } : t.name === 'slow' ? { ...t, activeDeadlineSeconds: 1 } : t));
    const record = await startRun({ workflow: { ...wf, spec: { ...wf.spec, templates } }, notebook, python: PYTHON, killGraceMs: 500, preload }).done;
    const [f, s] = record.steps;
    assert.equal(f?.status, 'succeeded');
    assert.equal(f?.attempts, 2);
    assert.equal(s?.status, 'failed');
    assert.equal(s?.error?.message, 'step slow failed: it ran longer than its timeout of 1s and was stopped');
  });

  it('cancellation stops the step and the processes it started, and marks the run cancelled', async () => {
    const pidFile = path.join(root, 'pids');
    const step: FakeStep = {
      name: 'hang', cells: [[1, `import os, subprocess, time\nchild = subprocess.Popen(['sleep', '120'])\nwith open(${JSON.stringify(pidFile)}, 'w') as f:\n    f.write(f'{os.getpid()} {child.pid}')\ntime.sleep(120)`]],
    };
    const after: FakeStep = { name: 'after', after: ['hang'], cells: [[2, 'pass']] };
    const controller = new AbortController();
    const handle = run([step, after], { signal: controller.signal });
    const pids = await waitFor(() => (fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').split(' ').map(Number) : undefined));
    assert.equal(pids.length, 2);
    for (const pid of pids) assert.ok(alive(pid), `process ${pid} runs before the cancel`);
    controller.abort();
    const record = await handle.done;
    assert.equal(record.status, 'cancelled');
    assert.deepEqual(statuses(record), { hang: 'cancelled', after: 'cancelled' });
    for (const pid of pids) assert.ok(!alive(pid), `process ${pid} is gone after the cancel`);
    assert.equal(readRun(path.join(root, '.flowbook', 'runs'), record.id)?.status, 'cancelled');
    assert.equal(record.python.launcherPid !== undefined, preload);
    assert.deepEqual(childrenOf(process.pid), [], 'the runner left no child process (launcher included)');
  });
});

/** Live processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** True while /proc shows the process and it is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

async function waitFor<T>(probe: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && !(Array.isArray(v) && v.some((x) => Number.isNaN(x)))) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
