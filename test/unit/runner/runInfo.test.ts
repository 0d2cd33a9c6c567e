// Reading what local runs produced: value summaries, what each run changed, finding a run
// by an id prefix, and the CLI's `runs --local`, `show` and `compare` on recorded runs.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { discoverRunsDirs, findRun, localRunRows, nextStepLines, readValueSummaries, RunLookupError, runDetails, valueLine } from '../../../src/runner/runInfo';
import { readRun } from '../../../src/runner/record';
import { writeTwoRuns } from '../../support/runRecords';
import { REPO_ROOT } from '../../support/notebooks';

const BIN = path.join(REPO_ROOT, 'bin', 'flowbook.js');

describe('runner: run info (local runs as data)', () => {
  let tmp: string;
  let runsDir: string;
  let notebook: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-runinfo-'));
    notebook = path.join(tmp, 'nb', 'model.ipynb');
    runsDir = path.join(tmp, 'nb', '.flowbook', 'runs');
    writeTwoRuns(runsDir, notebook);
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('lists runs newest first with the parameters each changed since the previous run', () => {
    const rows = localRunRows(runsDir);
    assert.deepEqual(rows.map((r) => [r.id, r.changed]), [['20261203-091500-bbbb', ['C']], ['20261203-090000-aaaa', []]]);
    assert.deepEqual(rows[0]?.metrics, { logreg_auc: 0.9874, accuracy: 0.944 });
  });

  it('reads the value summaries of each step, and one line for each', () => {
    const details = runDetails(runsDir, '20261203-091500-bbbb');
    assert.ok(details);
    assert.deepEqual(details.changed, ['C']);
    const load = details.steps.find((s) => s.name === 'load');
    assert.equal(load?.cachedFrom, '20261203-090000-aaaa');
    assert.deepEqual(load?.values.data?.shape, [569, 31]);
    assert.equal(valueLine(load!.values.data!), 'DataFrame 569×31 (mean radius, mean texture, mean perimeter, mean area, …) · 48 kB');
    assert.equal(valueLine(details.steps[1]!.values.model!), 'LogisticRegression(C=0.1, max_iter=500) · 1.9 kB');
    assert.deepEqual(details.steps[2]?.values, {});
    assert.equal(valueLine({ type: 'int', bytes: 28, repr: '5' }), 'int 5 · 28 B');
    assert.equal(valueLine({ type: 'ndarray', bytes: 4_000_128, shape: [1000, 500], dtype: 'float64' }), 'ndarray 1000×500 float64 · 4.0 MB');
  });

  it('treats a missing or malformed _summary.json as no summary', () => {
    const dir = path.join(runsDir, '20261203-090000-aaaa');
    assert.deepEqual(readValueSummaries(dir, 'nope'), {});
    fs.writeFileSync(path.join(dir, 'data', 'load', '_summary.json'), '{"values": {"x": {"bytes": 3}, "y": {"type": "int", "bytes": 28, "repr": "5"}}}');
    assert.deepEqual(readValueSummaries(dir, 'load'), { y: { type: 'int', bytes: 28, repr: '5' } });
    fs.writeFileSync(path.join(dir, 'data', 'load', '_summary.json'), 'not json');
    assert.deepEqual(readValueSummaries(dir, 'load'), {});
  });

  it('finds a run by a unique id prefix and says what exists otherwise', () => {
    assert.deepEqual(findRun([runsDir], '20261203-0915'), { runsDir, id: '20261203-091500-bbbb' });
    assert.throws(() => findRun([runsDir], '20261203-09'), (e: Error) => e instanceof RunLookupError && /matches 2 runs/.test(e.message));
    assert.throws(() => findRun([runsDir], 'zzz'), /no run "zzz".*flowbook runs --local/);
    assert.throws(() => findRun([], 'zzz'), /no runs found/);
  });

  it('discovers .flowbook/runs folders up to two levels down', () => {
    assert.deepEqual(discoverRunsDirs(tmp), [runsDir]);
    assert.deepEqual(discoverRunsDirs(tmp, 0), []);
  });

  it('ends `flowbook run` with where outputs and logs are and what to run next', () => {
    const run = readRun(runsDir, '20261203-091500-bbbb')!;
    assert.deepEqual(nextStepLines(run, 'nb/.flowbook/runs/x', 'nb/model.ipynb'), [
      'outputs: nb/.flowbook/runs/x/data/  logs: nb/.flowbook/runs/x/steps/<step>/',
      'next: flowbook show 20261203-091500-bbbb',
      '      flowbook compare 20261203-091500-bbbb <another run>   (flowbook runs --local lists them)',
    ]);
    const failed = { ...run, status: 'failed' as const, steps: run.steps.map((s) => (s.name === 'train' ? { ...s, status: 'failed' as const, error: { message: 'boom', cell: 4 } } : s)) };
    assert.equal(nextStepLines(failed, 'd', 'nb/model.ipynb')[2], '      fix cell 5, then flowbook run nb/model.ipynb --from train');
  });

  describe('CLI', () => {
    const flowbook = (...args: string[]) => {
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: tmp, env: { ...process.env, KUBECONFIG: path.join(tmp, 'no-such-kubeconfig') } });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };

    it('`runs` lists local runs with changed parameters and metrics when no cluster is configured', () => {
      const r = flowbook('runs');
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n');
      assert.match(lines[0] ?? '', /^RUN\s+NOTEBOOK\s+STATUS\s+DURATION\s+PARAMETERS\s+METRICS$/);
      assert.match(lines[1] ?? '', /^20261203-091500-bbbb\s+nb\/model\.ipynb\s+succeeded\s+\S+ \S*\s*\*C=0\.1 test_size=0\.25\s+accuracy=0\.944 logreg_auc=0\.9874$/);
      assert.match(lines[2] ?? '', /^20261203-090000-aaaa .* C=1 test_size=0\.25 /);
    });

    it('`runs --local --json` prints the rows', () => {
      const r = flowbook('runs', '--local', '--json', '--runs-dir', runsDir);
      assert.equal(r.code, 0, r.stderr);
      const rows = JSON.parse(r.stdout) as { id: string; changed: string[]; parameters: Record<string, unknown> }[];
      assert.deepEqual(rows.map((x) => [x.id, x.changed, x.parameters.C]), [['20261203-091500-bbbb', ['C'], 0.1], ['20261203-090000-aaaa', [], 1]]);
    });

    it('`show` prints parameters, metrics, steps with cache origin, values and log paths', () => {
      const r = flowbook('show', '20261203-0915');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^run 20261203-091500-bbbb of nb\/model\.ipynb: succeeded/);
      assert.match(r.stdout, /C = 0\.1 {3}\(changed since the previous run\)/);
      assert.match(r.stdout, /logreg_auc = 0\.9874/);
      assert.match(r.stdout, /load {2}cached .*\(reused from run 20261203-090000-aaaa\)\n {6}data: DataFrame 569×31/);
      assert.match(r.stdout, /log: nb\/\.flowbook\/runs\/20261203-091500-bbbb\/steps\/train\/stderr\.log/);
    });

    it('`compare` puts runs side by side and marks the differing rows', () => {
      const r = flowbook('compare', '20261203-0900', '20261203-0915');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^\s+NAME\s+20261203-090000-aaaa\s+20261203-091500-bbbb$/m);
      assert.match(r.stdout, /^\*\s+param C\s+1\s+0\.1$/m);
      assert.match(r.stdout, /^\s+param test_size\s+0\.25\s+0\.25$/m);
      assert.match(r.stdout, /^\*\s+metric logreg_auc\s+0\.9912\s+0\.9874$/m);
      assert.match(r.stdout, /3 of 4 rows differ/);
    });

    it('`compare` with one run, or an unknown run, exits 2 with what to do', () => {
      assert.match(flowbook('compare', '20261203-0900').stderr, /at least two runs/);
      const r = flowbook('show', 'nope');
      assert.equal(r.code, 2);
      assert.match(r.stderr, /flowbook show: no run "nope"/);
    });
  });
});
