// `flowbook run` end to end on real notebooks (compiled by the real compiler) with real
// Python: results equal a straight-through run of the cells, failures point at the cell,
// reuse and resume work, Ctrl-C/SIGTERM leave no process, output never fills the
// runner's memory, and bad input stops before anything runs.

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunRecord, listRuns } from '../../../src/runner';
import { PYTHON } from './fakeWorkflow';
import { straightThrough } from './straightThrough';

const REPO = path.resolve(__dirname, '..', '..', '..', '..');
const CLI = path.join(REPO, 'bin', 'flowbook.js');
const FIXTURES = path.join(REPO, 'test', 'fixtures', 'runner');
const EXAMPLE = path.join(REPO, 'examples', 'breast-cancer', 'breast_cancer.ipynb');

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  pid: number;
}

/** Runs the CLI; `whileRunning` gets its pid as soon as it has started. */
function flowbook(args: string[], whileRunning?: (pid: number) => void): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, pid: child.pid ?? -1 }));
    if (child.pid !== undefined) whileRunning?.(child.pid);
  });
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitFor<T>(probe: () => T | undefined, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('runner: flowbook run (CLI, real notebooks)', function () {
  this.timeout(120_000);
  let runs: string;
  beforeEach(() => (runs = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-cli-runs-'))));
  afterEach(() => fs.rmSync(runs, { recursive: true, force: true }));

  const run = (notebook: string, ...args: string[]) => flowbook(['run', notebook, '--python', PYTHON, '--runs-dir', runs, ...args]);
  const only = (r: CliResult): RunRecord => {
    const all = listRuns(runs);
    assert.equal(all.length >= 1, true, `a run was recorded\n${r.stdout}\n${r.stderr}`);
    return all[0] as RunRecord;
  };
  const statuses = (r: RunRecord) => Object.fromEntries(r.steps.map((s) => [s.name, s.status]));

  /** Runs hang.ipynb until its step and the process it started have written their pids. */
  async function startHang(...args: string[]): Promise<{ cli: number; done: Promise<CliResult>; pids: number[] }> {
    const pidFile = path.join(runs, 'pids');
    let cli = -1;
    const done = flowbook(['run', path.join(FIXTURES, 'hang.ipynb'), '--python', PYTHON, '--runs-dir', runs, ...args, '-p', `pid_file=${pidFile}`], (pid) => (cli = pid));
    const pids = await waitFor(() => {
      const text = fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8') : '';
      return /^\d+ \d+$/.test(text) ? text.split(' ').map(Number) : undefined;
    });
    return { cli, done, pids };
  }

  it('values of every kind: metrics equal the cells run straight through, with and without -p, and --json prints one object', async () => {
    const notebook = path.join(FIXTURES, 'values.ipynb');
    const plain = await run(notebook, '--json');
    assert.equal(plain.code, 0, plain.stderr);
    const summary = JSON.parse(plain.stdout) as { run: string; status: string; steps: { name: string; status: string; durationMs: number }[]; metrics: Record<string, number> };
    assert.deepEqual(Object.keys(summary), ['run', 'status', 'steps', 'metrics']);
    assert.equal(summary.status, 'succeeded');
    assert.deepEqual(summary.steps.map((s) => [s.name, s.status]), [['make', 'succeeded'], ['helpers', 'succeeded'], ['fit', 'succeeded'], ['score', 'succeeded']]);
    assert.ok(summary.steps.every((s) => typeof s.durationMs === 'number'));
    assert.deepEqual(summary.metrics, straightThrough(notebook, PYTHON));
    assert.match(plain.stderr, /✓ score/, 'progress goes to stderr');

    const overrides = ['n=80', 'noise=0.1', 'label=hello', 'use_bias=false', 'weights=[0.5, 1, 2]'];
    const withP = await run(notebook, '--json', ...overrides.flatMap((o) => ['-p', o]));
    assert.equal(withP.code, 0, withP.stderr);
    const expected = straightThrough(notebook, PYTHON, { n: '80', noise: '0.1', label: "'hello'", use_bias: 'False', weights: '[0.5, 1, 2]' });
    assert.notDeepEqual(expected, summary.metrics, 'the overrides change the results');
    assert.deepEqual((JSON.parse(withP.stdout) as typeof summary).metrics, expected);

    const fresh = await run(notebook, '--json', '--no-cache', '--no-preload');
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.deepEqual((JSON.parse(fresh.stdout) as typeof summary).metrics, summary.metrics, 'fresh processes give the same results as forked ones');
  });

  it('the example: same metrics as straight through, branches overlap, a rerun is cached, --from reuses upstream', async () => {
    const first = await run(EXAMPLE, '--jobs', '2');
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const record = only(first);
    assert.deepEqual(record.metrics, straightThrough(EXAMPLE, PYTHON));
    assert.match(first.stdout, /metrics:\n {2}logreg_auc +0\.99/);
    const [a, b] = ['train_logreg', 'train_forest'].map((n) => record.steps.find((s) => s.name === n) as RunRecord['steps'][number]);
    const t = (x?: string) => Date.parse(x ?? '');
    assert.ok(t(a?.startedAt) < t(b?.finishedAt) && t(b?.startedAt) < t(a?.finishedAt), 'the two training steps ran at the same time');

    const again = await run(EXAMPLE);
    assert.equal(again.code, 0);
    const cached = only(again);
    assert.ok(cached.steps.every((s) => s.status === 'cached'), JSON.stringify(statuses(cached)));
    assert.deepEqual(cached.metrics, record.metrics);

    const resumed = await run(EXAMPLE, '--from', 'train_forest', '-p', 'n_estimators=40');
    assert.equal(resumed.code, 0, resumed.stderr);
    const r = only(resumed);
    assert.deepEqual(statuses(r), { load: 'cached', split: 'cached', train_logreg: 'cached', train_forest: 'succeeded', evaluate: 'succeeded' });
    assert.equal(r.baseRun, cached.id);
    assert.deepEqual(r.metrics, straightThrough(EXAMPLE, PYTHON, { n_estimators: '40' }));
  });

  it('a failing step: mapped to cell 7 line 2, dependents skipped, the independent branch finishes, exit code 1', async () => {
    const result = await run(path.join(FIXTURES, 'boom.ipynb'));
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^step boom failed: IndexError at cell 7, line 2 \(list index out of range\)$/m);
    const record = only(result);
    assert.equal(record.status, 'failed');
    assert.deepEqual(statuses(record), { load: 'succeeded', side: 'succeeded', boom: 'failed', after: 'skipped' });
    assert.deepEqual(record.steps.find((s) => s.name === 'boom')?.error?.cell, 6);
    assert.deepEqual(record.metrics, { side: 11 });
  });

  it('an error inside a function carried from an earlier step points at the cell that defines it', async () => {
    const result = await run(path.join(FIXTURES, 'carried.ipynb'));
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^step use failed: IndexError at cell 1, line 5 \(list index out of range\)$/m);
  });

  it('SIGTERM stops the steps and their children, marks the run cancelled and leaves no process', async () => {
    const { cli, done, pids } = await startHang();
    const launcher = listRuns(runs)[0]?.python.launcherPid;
    for (const pid of pids) assert.ok(alive(pid));
    process.kill(cli, 'SIGTERM');
    const result = await done;
    assert.equal(result.code, 130, result.stderr);
    const record = only(result);
    assert.equal(record.status, 'cancelled');
    assert.deepEqual(statuses(record), { hang: 'cancelled', later: 'cancelled' });
    for (const pid of [...pids, ...(launcher ? [launcher] : [])]) assert.ok(!alive(pid), `process ${pid} is gone`);
  });

  it('even a runner killed with SIGKILL leaves no step behind (the launcher stops them)', async () => {
    const { cli, done, pids } = await startHang();
    const launcher = listRuns(runs)[0]?.python.launcherPid;
    assert.ok(launcher !== undefined && alive(launcher));
    process.kill(cli, 'SIGKILL');
    await done;
    await waitFor(() => ([...pids, launcher].every((p) => !alive(p)) ? true : undefined), 10_000);
  });

  it('SIGHUP (terminal closed) stops the steps like SIGTERM: run cancelled, no process left', async () => {
    const { cli, done, pids } = await startHang();
    process.kill(cli, 'SIGHUP');
    const result = await done;
    assert.equal(result.code, 130, result.stderr);
    assert.equal(only(result).status, 'cancelled');
    for (const pid of pids) assert.ok(!alive(pid), `process ${pid} is gone`);
  });

  it('a runner killed with SIGKILL under --no-preload leaves no step behind, and its run then reads as interrupted', async () => {
    const { cli, done, pids } = await startHang('--no-preload');
    for (const pid of pids) assert.ok(alive(pid));
    process.kill(cli, 'SIGKILL');
    await done;
    await waitFor(() => (pids.every((p) => !alive(p)) ? true : undefined), 10_000);
    const record = listRuns(runs)[0];
    assert.equal(record?.status, 'failed');
    assert.equal(record?.interrupted, true);
    assert.deepEqual(statuses(record as RunRecord), { hang: 'cancelled', later: 'cancelled' });
  });

  it('lists every missing package with one install command and exits 2 before any step runs', async () => {
    const result = await run(path.join(FIXTURES, 'missing.ipynb'));
    assert.equal(result.code, 2, result.stderr);
    const text = result.stdout + result.stderr;
    assert.match(text, /Python packages are missing for .*python3.*: (cloudpickle, )?flowbook_missing_alpha, flowbook_missing_beta\. Install them with: .*pip install .*flowbook_missing_alpha flowbook_missing_beta/);
    assert.ok(only(result).steps.every((s) => s.status === 'skipped'));
  });

  it('flowbook clean keeps the newest runs and the runs they reuse; run --keep does the same after a run', async () => {
    const tiny = path.join(FIXTURES, 'tiny.ipynb');
    for (const k of [1, 2, 3]) assert.equal((await run(tiny, '-p', `k=${k}`)).code, 0);
    const ids = listRuns(runs).map((r) => r.id).reverse();
    const dry = await flowbook(['clean', tiny, '--keep', '1', '--dry-run', '--runs-dir', runs]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`would delete ${ids[1]}  tiny\\.ipynb  succeeded\\nwould delete ${ids[0]}  tiny\\.ipynb  succeeded\\nwould delete 2 runs, .* would be freed`));
    assert.equal(listRuns(runs).length, 3);
    const kept = await run(tiny, '-p', 'k=4', '--keep', '2');
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /deleted 2 older runs \(--keep\)/);
    assert.equal(listRuns(runs).length, 2);
    const bad = await flowbook(['clean', tiny, '--keep', 'none', '--runs-dir', runs]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'flowbook clean: --keep none: give a whole number of at least 1\n');
  });

  it('a step printing 200 MB: the output is on disk and the runner process stays small', async () => {
    let peakKb = 0;
    let timer: NodeJS.Timeout | undefined;
    const result = await flowbook(['run', path.join(FIXTURES, 'loud.ipynb'), '--python', PYTHON, '--runs-dir', runs], (pid) => {
      timer = setInterval(() => {
        try {
          const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
          peakKb = Math.max(peakKb, Number(hwm?.[1] ?? 0));
        } catch {
          // the process has ended
        }
      }, 20);
    });
    clearInterval(timer);
    assert.equal(result.code, 0, result.stderr);
    const record = only(result);
    const size = fs.statSync(path.join(runs, record.id, record.steps[0]?.stdout ?? '')).size;
    assert.ok(size >= 200 * 1024 * 1024, `stdout.log holds ${size} bytes`);
    assert.ok(peakKb > 0, 'the runner was measured');
    assert.ok(peakKb < 150 * 1024, `the runner's peak RSS was ${Math.round(peakKb / 1024)} MB`);
  });

  describe('bad input stops before anything runs', () => {
    const cases: Array<[string, string[], number, RegExp]> = [
      ['an unknown -p name', ['values.ipynb', '-p', 'learning_rate=0.1'], 2, /-p learning_rate: the notebook has no parameter 'learning_rate'; its parameters are n, noise, label, use_bias, weights/],
      ['a -p value of the wrong type', ['values.ipynb', '-p', 'n=many'], 2, /-p n=many: 'many' is not a whole number \(parameter 'n' is an int, default 50, in cell 3\)/],
      ['a notebook with compile errors', ['broken.ipynb'], 1, /broken\.ipynb:cell 2:1: error FB300 step "use" uses "missing_name"[\s\S]*no step was run/],
      ['an unknown --from step', ['values.ipynb', '--from', 'trian'], 2, /there is no step 'trian'; the steps are make, helpers, fit, score/],
      ['a bad --jobs', ['values.ipynb', '--jobs', '0'], 2, /--jobs 0: give a whole number of at least 1/],
    ];
    for (const [what, [file, ...args], code, message] of cases) {
      it(what, async () => {
        const result = await run(path.join(FIXTURES, file ?? ''), ...args);
        assert.equal(result.code, code, result.stderr);
        assert.match(result.stderr, message);
        assert.equal(result.stdout, '');
        assert.deepEqual(listRuns(runs), [], 'no run was recorded');
      });
    }
  });
});
