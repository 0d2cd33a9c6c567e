// Test helpers for the Kubeflow Pipelines target: KFP's own protos and SDK live in the
// project-local venv `.venv-kfp` that scripts/setup.sh creates (pinned versions), and two
// Python tools in test/kfp use them: check_ir.py (strict parse + task graph) and
// launcher.py (a local stand-in for KFP's driver and launcher).

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './notebooks';

export const KFP_PYTHON = path.join(REPO_ROOT, '.venv-kfp', 'bin', 'python');
const TOOLS = path.join(REPO_ROOT, 'test', 'kfp');

/** Fails with the fix when the venv is missing: every machine that runs the tests runs setup.sh first. */
export function requireKfpVenv(): void {
  assert.ok(fs.existsSync(KFP_PYTHON), `${KFP_PYTHON} is missing: run \`bash scripts/setup.sh\` to create the venv with KFP's protos`);
}

/** Problems that KFP's protos and the graph checks find in each file, by file. */
export function checkKfpFiles(files: readonly string[], upstream = false): Map<string, string[]> {
  requireKfpVenv();
  const r = spawnSync(KFP_PYTHON, [path.join(TOOLS, 'check_ir.py'), ...(upstream ? ['--upstream'] : []), ...files], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `check_ir.py failed:\n${r.stderr}`);
  const result = new Map<string, string[]>();
  for (const line of r.stdout.trim().split('\n')) {
    const { file, problems } = JSON.parse(line) as { file: string; problems: string[] };
    result.set(file, problems);
  }
  assert.equal(result.size, new Set(files).size, 'check_ir.py reported on every file');
  return result;
}

export interface LauncherTask {
  state: 'SUCCEEDED' | 'FAILED' | 'SKIPPED';
  exitCode?: number;
  log?: string;
  metrics?: Record<string, number>;
  outputs?: Record<string, { uri: string; files: string[] }>;
  parameters?: Record<string, unknown>;
  problems?: string[];
}

export interface LauncherReport {
  order: string[];
  tasks: Record<string, LauncherTask>;
}

export interface LauncherOptions {
  work: string;
  python: string;
  /** Runtime parameter values, typed JSON as a KFP run gives them. */
  parameters?: Record<string, unknown>;
  /** Values of `secretAsEnv` secrets: secret name → key → value. */
  secrets?: Record<string, Record<string, string>>;
}

/** Runs a compiled file with the launcher stand-in. */
export function runWithLauncher(file: string, options: LauncherOptions): LauncherReport {
  requireKfpVenv();
  const args = [path.join(TOOLS, 'launcher.py'), file, '--work', options.work, '--python', options.python,
    '--parameters', JSON.stringify(options.parameters ?? {}), '--secrets', JSON.stringify(options.secrets ?? {})];
  const r = spawnSync(KFP_PYTHON, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `launcher.py failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as LauncherReport;
}

/** Every metric of a run, from the Metrics artifacts' metadata. */
export function runMetrics(report: LauncherReport): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const task of Object.values(report.tasks)) Object.assign(metrics, task.metrics ?? {});
  return metrics;
}
