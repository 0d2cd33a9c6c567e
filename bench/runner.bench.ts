// Local runner benchmark (issue: local runner). Figures are ratios against floors
// measured in the same run, with the same Python interpreter:
//   - overhead: a 20-step pipeline whose steps do nothing, against 20 `python -c pass`
//     started one after another (target ≤ 1.5x); also against running the 20 generated
//     scripts by hand, which separates the runner from the scripts' own start-up;
//   - parallelism: two independent 1-second branches (target: about 1 s of wall time, not 2);
//   - the reads recorder (the audit hook that notes what a step reads, for the cache): a
//     script opening 5,000 files under the step boot, against plain `python script.py`;
//   - the example's start-up (interpreter check, package probe, launcher ready) as the runner
//     does it, against the same calls one after another (target: below 1x);
//   - the example notebook through the runner against its generated scripts run by hand
//     (`python script.py` per step): wall time and critical path (target: not slower);
//   - the example notebook through `flowbook run` against `jupyter nbconvert --to notebook
//     --execute` (target: faster). nbconvert comes from `scripts/setup.sh --bench`.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compileNotebookText } from '../src/converter';
import { RUNTIME_DISTRIBUTIONS } from '../src/converter/emit';
import { probeEnvironment, probePython, startRun, RunRecord } from '../src/runner';
import { ForkServer, importedModules } from '../src/runner/forkServer';
import { STEP_BOOT } from '../src/runner/reads';

const REPO = path.resolve(__dirname, '..', '..');
const CLI = path.join(REPO, 'bin', 'flowbook.js');
const EXAMPLE = path.join(REPO, 'examples', 'breast-cancer', 'breast_cancer.ipynb');

function pickPython(): string {
  const candidates = [process.env.FLOWBOOK_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => !!c);
  for (const c of candidates) {
    if (spawnSync(c, ['-c', 'import pandas, sklearn']).status === 0) return c;
  }
  return candidates[candidates.length - 1] ?? 'python3';
}

function notebook(cells: Array<{ tags: string[]; source: string }>): string {
  return JSON.stringify({
    nbformat: 4, nbformat_minor: 5, metadata: {},
    cells: cells.map((c, i) => ({ cell_type: 'code', id: `c${i}`, metadata: { tags: c.tags }, source: c.source, outputs: [], execution_count: null })),
  });
}

async function compile(text: string, file: string) {
  const compiled = await compileNotebookText(text, file);
  if (!compiled.workflow) throw new Error(`bench notebook does not compile: ${JSON.stringify(compiled.diagnostics)}`);
  return compiled.workflow;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

async function timedRun(options: Parameters<typeof startRun>[0]): Promise<{ ms: number; record: RunRecord; dir: string }> {
  const t0 = performance.now();
  const handle = startRun(options);
  const record = await handle.done;
  const ms = performance.now() - t0;
  if (record.status !== 'succeeded') throw new Error(`bench run ${record.id} ${record.status}: ${JSON.stringify(record.steps.map((s) => s.error?.message).filter(Boolean))}`);
  return { ms, record, dir: handle.dir };
}

/** The longest chain of step times through the dependencies: the least wall time any scheduler can reach. */
export function criticalPath(steps: ReadonlyArray<{ name: string; dependencies: readonly string[] }>, ms: (name: string) => number): number {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const done = new Map<string, number>();
  const finish = (name: string): number => {
    const known = done.get(name);
    if (known !== undefined) return known;
    const deps = byName.get(name)?.dependencies ?? [];
    const end = ms(name) + Math.max(0, ...deps.map(finish));
    done.set(name, end);
    return end;
  };
  return Math.max(0, ...steps.map((s) => finish(s.name)));
}

/**
 * The example through the runner against its own generated scripts run by hand, one
 * `python script.py` after another in the run's order (fresh interpreters, no runner):
 * wall time, and the critical path from each side's own step times.
 */
export async function exampleAgainstScripts(python: string, work: string, rounds: number): Promise<string> {
  const workflow = await compile(fs.readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
  const times = { runner: [] as number[], runnerPath: [] as number[], scripts: [] as number[], scriptsPath: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    const r = await timedRun({ workflow, notebook: EXAMPLE, python, cache: false, runsDir: path.join(work, 'example-runs') });
    times.runner.push(r.ms);
    times.runnerPath.push(criticalPath(r.record.steps, (n) => r.record.steps.find((s) => s.name === n)?.durationMs ?? 0));
    const data = path.join(work, `example-by-hand-${i}`);
    const env = { ...process.env, FLOWBOOK_DATA_DIR: data, FLOWBOOK_METRICS_PATH: path.join(data, 'metrics.json') };
    const own = new Map<string, number>();
    for (const step of r.record.steps) {
      own.set(step.name, timed(() => {
        const p = spawnSync(python, [path.join(r.dir, step.script)], { env, cwd: path.dirname(EXAMPLE), encoding: 'utf8' });
        if (p.status !== 0) throw new Error(`step ${step.name} by hand failed: ${p.stderr}`);
      }));
    }
    times.scripts.push([...own.values()].reduce((a, b) => a + b, 0));
    times.scriptsPath.push(criticalPath(r.record.steps, (n) => own.get(n) ?? 0));
  }
  const [runner, runnerPath, scripts, scriptsPath] = [times.runner, times.runnerPath, times.scripts, times.scriptsPath].map(median) as [number, number, number, number];
  return [
    `example notebook (breast-cancer), median of ${rounds} interleaved rounds:`,
    `  its scripts by hand, python script.py each   wall ${fmt(scripts)}   critical path ${fmt(scriptsPath)}   (baseline)`,
    `  flowbook runner, --no-cache                   wall ${fmt(runner)}   critical path ${fmt(runnerPath)}`,
    `  runner / by hand: wall ${ratio(runner, scripts)}, critical path ${ratio(runnerPath, scriptsPath)} (target <= 1x; the runner's steps are forked after one import of the packages, which is in its wall time, not in its steps' times)`,
    '',
  ].join('\n');
}

/**
 * What happens before the example's first step starts: check the interpreter, check that
 * the steps' packages are installed, start the launcher (which imports them once). Baseline:
 * the same three calls one after another, as the runner made them before; against it, the
 * probe and the launcher at once, and the runner itself (until its first step is running).
 */
export async function exampleStartUp(python: string, work: string, rounds: number): Promise<string> {
  const compiled = await compileNotebookText(fs.readFileSync(EXAMPLE, 'utf8'), EXAMPLE);
  const workflow = compiled.workflow;
  if (!workflow) throw new Error('the example does not compile');
  const modules = compiled.pipeline.modules;
  const preload = [...importedModules(workflow.spec.templates.map((t) => t.script?.source ?? '')), ...RUNTIME_DISTRIBUTIONS];
  const cwd = path.dirname(EXAMPLE);
  const launcher = async () => {
    const { server, reason } = await ForkServer.start(python, { cwd, env: process.env, modules: preload });
    if (!server) throw new Error(`the launcher did not start: ${reason ?? ''}`);
    return server;
  };
  const times = { serial: [] as number[], together: [] as number[], runner: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    let t0 = performance.now();
    let info = await probePython(python);
    await probeEnvironment(info, modules, { cwd, env: process.env });
    let server = await launcher();
    times.serial.push(performance.now() - t0);
    await server.close();

    t0 = performance.now();
    info = await probePython(python);
    [, server] = await Promise.all([probeEnvironment(info, modules, { cwd, env: process.env }), launcher()]);
    times.together.push(performance.now() - t0);
    await server.close();

    t0 = performance.now();
    const handle = startRun({ workflow, notebook: EXAMPLE, python, cache: false, runsDir: path.join(work, 'start-up-runs') });
    let first: number | undefined;
    handle.events.on('event', (e) => {
      if (first === undefined && e.type === 'step-changed' && e.step.status === 'running') first = performance.now() - t0;
    });
    const record = await handle.done;
    if (record.status !== 'succeeded' || first === undefined) throw new Error(`start-up bench run ${record.id} ${record.status}`);
    times.runner.push(first);
  }
  const [serial, together, runner] = [times.serial, times.together, times.runner].map(median) as [number, number, number];
  return [
    `example notebook (breast-cancer), start-up until the first step runs, median of ${rounds} interleaved rounds:`,
    `  interpreter, package probe, then launcher, one after another  ${fmt(serial)}   (baseline: the runner before)`,
    `  interpreter, then package probe and launcher at once          ${fmt(together)}   ${ratio(together, serial)} of baseline`,
    `  flowbook runner, until its first step is running              ${fmt(runner)}   ${ratio(runner, serial)} of baseline (target < 1x)`,
    '',
  ].join('\n');
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;

export async function run(): Promise<void> {
  const python = pickPython();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-bench-runner-'));
  try {
    process.stdout.write(`python: ${python}, cores: ${os.availableParallelism()}\n`);

    // 1. Overhead on 20 steps that do nothing.
    const nb = path.join(work, 'twenty.ipynb');
    const twenty = await compile(notebook(Array.from({ length: 20 }, (_, i) => ({ tags: [`step:s${i}`], source: 'pass\n' }))), nb);
    const scriptDir = path.join(work, 'scripts');
    fs.mkdirSync(scriptDir);
    const scripts = twenty.spec.templates.filter((t) => t.script).map((t, i) => {
      const file = path.join(scriptDir, `s${i}.py`);
      fs.writeFileSync(file, t.script?.source ?? '');
      return file;
    });
    const env = { ...process.env, FLOWBOOK_DATA_DIR: path.join(work, 'data'), FLOWBOOK_METRICS_PATH: path.join(work, 'm.json') };
    // Rounds interleave the measurements, so a burst of load elsewhere hits all of them alike.
    const rounds = 5;
    const times = { floor: [] as number[], byHand: [] as number[], forked: [] as number[], fresh: [] as number[], cached: [] as number[] };
    const runsDir = path.join(work, 'runs');
    for (let i = 0; i < rounds; i++) {
      times.floor.push(timed(() => {
        for (let j = 0; j < 20; j++) spawnSync(python, ['-c', 'pass']);
      }));
      times.byHand.push(timed(() => {
        for (const s of scripts) spawnSync(python, [s], { env });
      }));
      times.forked.push((await timedRun({ workflow: twenty, notebook: nb, python, cache: false, runsDir })).ms);
      times.fresh.push((await timedRun({ workflow: twenty, notebook: nb, python, cache: false, preload: false, runsDir })).ms);
      times.cached.push((await timedRun({ workflow: twenty, notebook: nb, python, runsDir })).ms);
    }
    const floor = median(times.floor);
    const byHand = median(times.byHand);
    const forked = median(times.forked);
    const fresh = median(times.fresh);
    process.stdout.write([
      `overhead, 20 steps that do nothing (median of ${rounds} interleaved rounds):`,
      `  20 x python -c pass              ${fmt(floor)}   (floor)`,
      `  the 20 generated scripts by hand ${fmt(byHand)}   ${ratio(byHand, floor)} of floor`,
      `  flowbook runner (default)        ${fmt(forked)}   ${ratio(forked, floor)} of floor (target <= 1.5x)`,
      `  flowbook runner, --no-preload    ${fmt(fresh)}   ${ratio(fresh, floor)} of floor, ${ratio(fresh, byHand)} of the scripts by hand`,
      `  flowbook runner, all cached      ${fmt(median(times.cached))}   ${ratio(median(times.cached), floor)} of floor`,
      '',
    ].join('\n'));

    // 2. Two independent 1-second branches.
    const branchesNb = path.join(work, 'branches.ipynb');
    const branches = await compile(notebook([
      { tags: ['imports'], source: 'import time\n' },
      { tags: ['step:start'], source: 'n = 1\n' },
      { tags: ['step:left'], source: 'time.sleep(1)\nleft = n + 1\n' },
      { tags: ['step:right'], source: 'time.sleep(1)\nright = n + 2\n' },
    ]), branchesNb);
    const parallel = await timedRun({ workflow: branches, notebook: branchesNb, python, cache: false, runsDir: path.join(work, 'runs') });
    const serial = await timedRun({ workflow: branches, notebook: branchesNb, python, cache: false, jobs: 1, runsDir: path.join(work, 'runs') });
    const [l, r] = ['left', 'right'].map((n) => parallel.record.steps.find((s) => s.name === n));
    const overlapMs = Math.min(Date.parse(l?.finishedAt ?? ''), Date.parse(r?.finishedAt ?? '')) - Math.max(Date.parse(l?.startedAt ?? ''), Date.parse(r?.startedAt ?? ''));
    process.stdout.write([
      'parallelism, two independent 1-second branches after a start step:',
      `  --jobs 2                     ${fmt(parallel.ms)}   the branches overlap for ${fmt(overlapMs)}`,
      `  --jobs 1                     ${fmt(serial.ms)}   parallel/serial ${ratio(parallel.ms, serial.ms)} (two sleeps fully overlapped: 1 s saved)`,
      '',
    ].join('\n'));

    // 3. The reads recorder on a step that opens 5,000 files (and imports numpy).
    const files = path.join(work, 'files');
    fs.mkdirSync(files);
    for (let i = 0; i < 5000; i++) fs.writeFileSync(path.join(files, `f${i}.txt`), String(i));
    const reader = path.join(work, 'reader.py');
    fs.writeFileSync(reader, `import numpy, os\ntotal = 0\nfor name in os.listdir(${JSON.stringify(files)}):\n    with open(os.path.join(${JSON.stringify(files)}, name)) as f:\n        total += int(f.read())\n`);
    const recorded = { plain: [] as number[], recorder: [] as number[] };
    for (let i = 0; i < rounds; i++) {
      recorded.plain.push(timed(() => spawnSync(python, [reader])));
      recorded.recorder.push(timed(() => spawnSync(python, ['-c', STEP_BOOT, reader, path.join(work, 'reads.json'), JSON.stringify([work + '/runs'])], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] })));
    }
    const reads = JSON.parse(fs.readFileSync(path.join(work, 'reads.json'), 'utf8')) as { files: string[] };
    process.stdout.write([
      `reads recorder, a script opening 5,000 files (median of ${rounds}):`,
      `  python script.py             ${fmt(median(recorded.plain))}   (baseline)`,
      `  with the recorder            ${fmt(median(recorded.recorder))}   ${ratio(median(recorded.recorder), median(recorded.plain))} of baseline, ${reads.files.length} files recorded`,
      '',
    ].join('\n'));

    // 4. The example: its start-up, against its own scripts run by hand, and against jupyter nbconvert.
    process.stdout.write(await exampleStartUp(python, work, rounds));
    process.stdout.write(await exampleAgainstScripts(python, work, 3));
    const nbconvert = spawnSync(python, ['-m', 'nbconvert', '--version'], { encoding: 'utf8' });
    const flowbookExample = median(Array.from({ length: 2 }, () => timed(() => {
      const r = spawnSync(process.execPath, [CLI, 'run', EXAMPLE, '--python', python, '--no-cache', '--json', '--runs-dir', path.join(work, 'runs')], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`flowbook run failed: ${r.stderr}`);
    })));
    if (nbconvert.status !== 0) {
      process.stdout.write([
        'example notebook vs jupyter nbconvert: nbconvert is not installed for this Python.',
        '  Install it with `bash scripts/setup.sh --bench` (apt-get install python3-nbconvert python3-ipykernel).',
        `  flowbook run alone: ${fmt(flowbookExample)}`,
        '',
      ].join('\n'));
      return;
    }
    const jupyter = median(Array.from({ length: 2 }, () => timed(() => {
      const r = spawnSync(python, ['-m', 'nbconvert', '--to', 'notebook', '--execute', EXAMPLE, '--output-dir', work, '--output', 'executed.ipynb'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`nbconvert failed: ${r.stderr}`);
    })));
    process.stdout.write([
      'example notebook (breast-cancer), whole command, median of 2:',
      `  jupyter nbconvert --execute  ${fmt(jupyter)}   (baseline)`,
      `  flowbook run --no-cache      ${fmt(flowbookExample)}   ${ratio(flowbookExample, jupyter)} of nbconvert (target < 1x)`,
      '',
    ].join('\n'));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) void run();
