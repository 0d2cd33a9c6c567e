// Writes local run folders as the runner leaves them (run.json, step logs, the data folder
// with `_summary.json`), without running Python: for tests of everything that reads runs
// (the CLI's runs/show/compare, the editor's Runs view, run details and comparison).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunRecord, StepRecord } from '../../src/runner/record';
import type { ValueSummary } from '../../src/runner/runInfo';

export interface FakeStep {
  name: string;
  status?: StepRecord['status'];
  durationMs?: number;
  cachedFrom?: string;
  dependencies?: string[];
  cells?: number[];
  values?: Record<string, ValueSummary>;
  metrics?: Record<string, number>;
  error?: string;
  log?: string;
}

export interface FakeRun {
  id: string;
  notebook: string;
  startedAt: string;
  status?: RunRecord['status'];
  parameters?: RunRecord['parameters'];
  metrics?: Record<string, number>;
  steps: FakeStep[];
}

/** Writes `<runsDir>/<id>/` and returns the record. */
export function writeFakeRun(runsDir: string, run: FakeRun): RunRecord {
  const dir = path.join(runsDir, run.id);
  const steps: StepRecord[] = run.steps.map((s, i) => {
    const template = s.name.replace(/[^a-z0-9-]/gi, '-').toLowerCase();
    fs.mkdirSync(path.join(dir, 'steps', template), { recursive: true });
    fs.writeFileSync(path.join(dir, 'steps', template, 'stdout.log'), s.log ?? `${s.name} says hello from run ${run.id}\n`);
    fs.writeFileSync(path.join(dir, 'steps', template, 'stderr.log'), s.error ? `Traceback (most recent call last):\n${s.error}\n` : '');
    if (s.values) {
      fs.mkdirSync(path.join(dir, 'data', template), { recursive: true });
      fs.writeFileSync(path.join(dir, 'data', template, '_summary.json'), JSON.stringify({ values: s.values }));
    }
    const status = s.status ?? 'succeeded';
    const step: StepRecord = {
      name: s.name, task: template, template, cells: s.cells ?? [i + 1], dependencies: s.dependencies ?? (i > 0 ? [run.steps[i - 1]?.name ?? ''] : []),
      status, script: `steps/${template}/script.py`, stdout: `steps/${template}/stdout.log`, stderr: `steps/${template}/stderr.log`,
      metrics: s.metrics ?? {}, startedAt: run.startedAt, durationMs: s.durationMs ?? 1200,
    };
    if (s.cachedFrom) {
      step.cachedFrom = s.cachedFrom;
      step.reason = `unchanged since run ${s.cachedFrom}`;
    }
    if (s.error) step.error = { message: `step ${s.name} failed: ${s.error}`, cell: step.cells[0] ?? 0, line: 1 };
    return step;
  });
  const durationMs = steps.reduce((t, s) => t + (s.durationMs ?? 0), 0);
  const record: RunRecord = {
    version: 1, id: run.id, notebook: run.notebook, workflow: path.basename(run.notebook, '.ipynb'),
    status: run.status ?? 'succeeded', startedAt: run.startedAt,
    finishedAt: new Date(Date.parse(run.startedAt) + durationMs).toISOString(), durationMs,
    python: { command: 'python3' }, parameters: run.parameters ?? {}, mode: { kind: 'all' }, cache: true, jobs: 2,
    runnerPid: 0, steps, metrics: run.metrics ?? Object.assign({}, ...run.steps.map((s) => s.metrics ?? {})) as Record<string, number>,
  };
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'run.json'), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

/** Two runs of one notebook: C changed from 1.0 to 0.1, `load` cached in the second. */
export function writeTwoRuns(runsDir: string, notebook: string): [RunRecord, RunRecord] {
  const frame: ValueSummary = { type: 'DataFrame', bytes: 48_213, shape: [569, 31], columns: ['mean radius', 'mean texture', 'mean perimeter', 'mean area', 'target'], head: '   mean radius  mean texture\n0        17.99         10.38' };
  const model: ValueSummary = { type: 'LogisticRegression', bytes: 1_905, repr: 'LogisticRegression(C=1.0, max_iter=500)' };
  const first = writeFakeRun(runsDir, {
    id: '20261203-090000-aaaa', notebook, startedAt: '2026-12-03T09:00:00.000Z',
    parameters: { C: 1.0, test_size: 0.25 },
    steps: [
      { name: 'load', values: { data: frame }, durationMs: 2100 },
      { name: 'train', values: { model }, durationMs: 4300 },
      { name: 'evaluate', metrics: { logreg_auc: 0.9912, accuracy: 0.958 }, durationMs: 900 },
    ],
  });
  const second = writeFakeRun(runsDir, {
    id: '20261203-091500-bbbb', notebook, startedAt: '2026-12-03T09:15:00.000Z',
    parameters: { C: 0.1, test_size: 0.25 },
    steps: [
      { name: 'load', status: 'cached', cachedFrom: first.id, values: { data: frame }, durationMs: 0 },
      { name: 'train', values: { model: { ...model, repr: 'LogisticRegression(C=0.1, max_iter=500)' } }, durationMs: 4100 },
      { name: 'evaluate', metrics: { logreg_auc: 0.9874, accuracy: 0.944 }, durationMs: 850 },
    ],
  });
  return [first, second];
}
