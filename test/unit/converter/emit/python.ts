// Runs generated step scripts with a real Python for the emit tests: the interpreter with
// the data-science packages (scripts/setup.sh installs them into /usr/bin/python3), a
// minimal executor for emitted workflows (DAG order, Argo-style parameter substitution)
// and a batch py_compile.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Workflow } from '../../../../src/converter/emit';

/** The interpreter with pandas, numpy, scikit-learn and cloudpickle; FLOWBOOK_TEST_PYTHON overrides it. */
export const PYTHON = process.env.FLOWBOOK_TEST_PYTHON ?? '/usr/bin/python3';

/** Fails with what to do when the interpreter lacks the packages the marshalling tests need. */
export function requireDataPython(): void {
  const r = spawnSync(PYTHON, ['-c', 'import pandas, numpy, sklearn, joblib, cloudpickle'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${PYTHON} cannot import pandas, numpy, scikit-learn, joblib and cloudpickle (${(r.stderr ?? String(r.error)).trim()}); run scripts/setup.sh, or set FLOWBOOK_TEST_PYTHON`);
}

export interface PyResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `flowbook-${prefix}-`));
}

/**
 * For a suite that runs real Python: checks the interpreter first and returns `work`,
 * which makes a temporary folder removed after the suite.
 */
export function pythonSuite(): (prefix: string) => string {
  const dirs: string[] = [];
  before(requireDataPython);
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  return (prefix: string) => {
    const d = tempDir(prefix);
    dirs.push(d);
    return d;
  };
}

/** Runs one script file with a clean environment plus `env`. */
export function runScript(file: string, env: Record<string, string>, cwd: string): PyResult {
  const r = spawnSync(PYTHON, [file], {
    encoding: 'utf8',
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, PYTHONDONTWRITEBYTECODE: '1', ...env },
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Byte-compiles each source in one interpreter; returns the failures. */
export function pyCompileAll(sources: Map<string, string>): string[] {
  const dir = tempDir('pyc');
  try {
    const files: string[] = [];
    for (const [name, source] of sources) {
      const f = path.join(dir, `${name.replace(/[^\w-]/g, '_')}.py`);
      fs.writeFileSync(f, source);
      files.push(f);
    }
    const code = 'import py_compile, sys\nfor f in sys.argv[1:]:\n    try:\n        py_compile.compile(f, doraise=True)\n    except py_compile.PyCompileError as e:\n        print(e.msg.strip().replace("\\n", " "))';
    const r = spawnSync(PYTHON, ['-c', code, ...files], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface StepRun extends PyResult {
  step: string;
  template: string;
  metricsPath: string;
  scriptPath: string;
}

/**
 * Runs the steps of an emitted workflow in DAG order, as Argo would in volume mode: each
 * task's parameters resolved from the workflow arguments (or `parameters`, JSON text), the
 * template's `{{inputs.parameters.X}}` substituted, all steps sharing `dataDir`. Stops at
 * the first failing step.
 */
export function runWorkflow(wf: Workflow, work: string, parameters: Record<string, string> = {}): StepRun[] {
  const dataDir = path.join(work, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const globals = new Map((wf.spec.arguments?.parameters ?? []).map((p) => [p.name, p.value ?? '']));
  for (const [k, v] of Object.entries(parameters)) globals.set(k, v);
  const templates = new Map(wf.spec.templates.map((t) => [t.name, t]));
  const tasks = templates.get(wf.spec.entrypoint)?.dag?.tasks ?? [];
  const done = new Set<string>();
  const runs: StepRun[] = [];
  while (done.size < tasks.length) {
    const next = tasks.find((t) => !done.has(t.name) && (t.dependencies ?? []).every((d) => done.has(d)));
    assert.ok(next, 'the DAG has a task whose dependencies are met');
    done.add(next.name);
    const template = templates.get(next.template);
    assert.ok(template?.script, `task ${next.name} runs a script template`);
    const inputs = new Map<string, string>();
    for (const a of next.arguments?.parameters ?? []) {
      inputs.set(a.name, (a.value ?? '').replace(/\{\{workflow\.parameters\.([\w-]+)\}\}/g, (_, n: string) => globals.get(n) ?? ''));
    }
    const env: Record<string, string> = {};
    for (const e of template.script.env ?? []) {
      if (e.value !== undefined) env[e.name] = e.value.replace(/\{\{inputs\.parameters\.([\w-]+)\}\}/g, (_, n: string) => inputs.get(n) ?? '');
    }
    const scriptPath = path.join(work, `${template.name}.py`);
    fs.writeFileSync(scriptPath, template.script.source);
    const metricsPath = path.join(work, 'metrics', template.name, 'mlpipeline-metrics.json');
    const result = runScript(scriptPath, { ...env, FLOWBOOK_DATA_DIR: dataDir, FLOWBOOK_METRICS_PATH: metricsPath }, work);
    runs.push({ ...result, step: env.FLOWBOOK_STEP ?? next.name, template: template.name, metricsPath, scriptPath });
    if (result.status !== 0) break;
  }
  return runs;
}

/** The last line of stderr (where the scripts' one-line errors go). */
export function lastLine(text: string): string {
  const lines = text.trimEnd().split('\n');
  return lines[lines.length - 1] ?? '';
}
