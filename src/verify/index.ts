// `flowbook verify`'s core: runs the notebook straight through in one interpreter (the
// reference) and the compiled pipeline with the local runner, then compares, at every
// step boundary, each value the step receives and passes on, and the metrics. Plain data
// in, a `VerifyReport` out; no `vscode`. This is an explicit run of the user's code:
// analysis never runs notebook code, verify always does (both sides, same Python).

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CompileResult, Diagnostic, InputError, JsonValue, Notebook, ParameterType, Pipeline, Step, Workflow,
  cellLabel, compileNotebookText, hasErrors, parseNotebook, readNotebookText,
} from '../converter';
import { lowerIPython } from '../converter/python';
import { parseCellTags } from '../converter/tags';
import {
  PythonNotFoundError, RunOptionsError, StepRecord,
  installHint, parseParameterArgs, probePython, startRun,
} from '../runner';
import { COMPARE_SOURCE, REFERENCE_SOURCE } from './python';

export interface VerifyOptions {
  notebook: string;
  /** `-p NAME=VALUE` overrides, as typed. */
  parameterArgs?: string[];
  /** The interpreter for both sides; default `python3`. */
  python?: string;
  /** Where the pipeline's run is recorded; default `.flowbook/runs` next to the notebook. */
  runsDir?: string;
  jobs?: number;
  signal?: AbortSignal;
  /**
   * Compiles the notebook text; default the process-wide compiler (the extension passes its
   * own, which knows where the bundled grammar is).
   */
  compile?: (text: string, path: string) => CompileResult | Promise<CompileResult>;
  /** Short progress messages ("running the notebook straight through"). */
  onProgress?: (message: string) => void;
}

/**
 * - `identical`: every compared value is the same (exit 0);
 * - `different`: a value or metric differs, or a step failed (exit 1);
 * - `diagnostic`: compilation reports errors, so there is no pipeline to run (exit 1);
 * - `unusable`: the notebook cannot be read, does not run straight through, or the
 *   options or the Python cannot work (exit 2).
 */
export type VerifyOutcome = 'identical' | 'different' | 'diagnostic' | 'unusable';

export type DivergenceKind = 'received' | 'passed-on' | 'metric' | 'step-failed' | 'cannot-pass';

/** One place where the pipeline does not give what the notebook gives. */
export interface Divergence {
  kind: DivergenceKind;
  step: string;
  /** The variable or metric; absent for a failed step. */
  variable?: string;
  /** For `received`: the step that provided the value. */
  from?: string;
  /** The cell to look at (0-based) and a 1-based line in it, when known. */
  cell?: number;
  line?: number;
  /** Where inside the value the first difference is: `models['lr'].coef_[0, 1]`. */
  path?: string;
  /** Short summaries: what the notebook has, what the pipeline has. */
  expected?: string;
  got?: string;
  /** One sentence for people. */
  message: string;
}

export interface VerifyReport {
  notebook: string;
  outcome: VerifyOutcome;
  exitCode: 0 | 1 | 2;
  /** One line: the verdict. */
  summary: string;
  /** The pipeline's run, when there was one. */
  runId?: string;
  runDir?: string;
  steps: number;
  /** How many values and metrics were compared, and how many were the same. */
  compared: number;
  same: number;
  /** In notebook order; the first is the one to fix first. */
  divergences: Divergence[];
  /** Compile errors (outcome `diagnostic`). */
  diagnostics: Diagnostic[];
}

interface ReferencePlan {
  cells: { index: number; code: string }[];
  overrides: { cell: number; name: string; value: JsonValue; float: boolean }[];
  snapshots: { at: 'before' | 'after'; cell: number; key: string; names: string[] }[];
  metrics: { cell: number; names: string[] } | null;
  out: string;
}

type ReferenceResult =
  | { status: 'ok'; unpicklable: Record<string, Record<string, string>>; metrics: Record<string, number | string> }
  | { status: 'failed'; cell: number; line: number | null; exception: string; detail: string }
  | { status: 'missing-module'; module: string }
  /** The process ended without writing its result (os._exit, a crash): `detail` has its log's end. */
  | { status: 'died'; detail: string };

interface CompareCheckItem { name: string; folder?: string; value?: JsonValue; float?: boolean }
interface CompareCheck { key: string; snapshot: string; names: CompareCheckItem[] }
interface CompareResult {
  checks: { key: string; name: string; status: 'same' | 'different' | 'missing' | 'unknown'; path?: string; expected?: string; got?: string }[];
}

/** Runs both sides and compares them. Never throws for a bad notebook: the report says what is wrong. */
export async function verifyNotebook(options: VerifyOptions): Promise<VerifyReport> {
  const notebookPath = path.resolve(options.notebook);
  const progress = options.onProgress ?? (() => undefined);
  const unusable = (summary: string): VerifyReport => report(notebookPath, 'unusable', summary, { steps: 0 });

  let text: string;
  let notebook: Notebook;
  try {
    text = readNotebookText(notebookPath);
    notebook = parseNotebook(text, notebookPath).notebook;
  } catch (err) {
    if (err instanceof InputError) return unusable(err.message);
    throw err;
  }
  progress('compiling');
  let compiled;
  try {
    compiled = await (options.compile ?? compileNotebookText)(text, notebookPath);
  } catch (err) {
    if (err instanceof InputError) return unusable(err.message);
    throw err;
  }
  const { pipeline, workflow } = compiled;
  if (!workflow || hasErrors(compiled.diagnostics)) {
    const errors = compiled.diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0];
    const where = first?.cell !== undefined ? ` (first: ${cellLabel(first.cell)}: ${first.message})` : first ? ` (first: ${first.message})` : '';
    return report(notebookPath, 'diagnostic', `compilation reports ${errors.length} error${errors.length === 1 ? '' : 's'}, so there is no pipeline to compare${where}`, { steps: pipeline.steps.length, diagnostics: errors });
  }
  const parsed = await parseParameterArgs(options.parameterArgs ?? [], pipeline.parameters);
  if (parsed.problems.length > 0) return unusable(parsed.problems.map((p) => p.message).join('; '));

  const python = options.python ?? 'python3';
  try {
    await probePython(python, options.signal);
  } catch (err) {
    if (err instanceof PythonNotFoundError) return unusable(err.message);
    throw err;
  }

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-verify-'));
  try {
    return await verifyCompiled({ notebookPath, notebook, pipeline, workflow, parameters: parsed.values, python, work, options, progress });
  } finally {
    // FLOWBOOK_VERIFY_KEEP=1 keeps the plans, snapshots and logs of both programs, to debug verify itself.
    if (!process.env.FLOWBOOK_VERIFY_KEEP) fs.rmSync(work, { recursive: true, force: true });
  }
}

interface Compiled {
  notebookPath: string;
  notebook: Notebook;
  pipeline: Pipeline;
  workflow: Workflow;
  parameters: Record<string, JsonValue>;
  python: string;
  work: string;
  options: VerifyOptions;
  progress: (message: string) => void;
}

async function verifyCompiled(c: Compiled): Promise<VerifyReport> {
  const { pipeline, notebookPath } = c;
  const steps = orderedSteps(pipeline);
  const refDir = path.join(c.work, 'reference');
  fs.mkdirSync(refDir);
  const plan = referencePlan(c.notebook, pipeline, steps, c.parameters, refDir);

  const parameterTypes: Record<string, ParameterType> = {};
  for (const p of pipeline.parameters) parameterTypes[p.name] = p.type;
  let run;
  try {
    run = startRun({
      workflow: c.workflow, notebook: notebookPath, python: c.python, parameters: c.parameters, parameterTypes,
      cache: false, env: verifyEnv(), ...(c.options.runsDir !== undefined ? { runsDir: c.options.runsDir } : {}),
      ...(c.options.jobs !== undefined ? { jobs: c.options.jobs } : {}),
      ...(c.options.signal !== undefined ? { signal: c.options.signal } : {}),
    });
  } catch (err) {
    if (err instanceof RunOptionsError) return report(notebookPath, 'unusable', err.message, { steps: steps.length });
    throw err;
  }
  c.progress('running the notebook straight through and the pipeline step by step');
  const [reference, record] = await Promise.all([
    runPython(c.python, REFERENCE_SOURCE, plan, path.join(c.work, 'reference-plan.json'), path.dirname(notebookPath), c.options.signal)
      .then(() => readResult<ReferenceResult>(path.join(refDir, 'reference.json'), path.join(c.work, 'reference.log'), 'the straight-through run of the notebook'))
      .catch((err: unknown): ReferenceResult => ({ status: 'died', detail: err instanceof Error ? err.message : String(err) }))
      .then((r) => {
        if (r.status !== 'ok') run.cancel();
        return r;
      }),
    run.done,
  ]);
  const runInfo = { runId: run.id, runDir: run.dir, steps: steps.length };
  if (c.options.signal?.aborted) return report(notebookPath, 'unusable', 'cancelled', runInfo);
  if (reference.status === 'missing-module') {
    const info = await probePython(c.python);
    return report(notebookPath, 'unusable', `verify needs the Python package '${reference.module}' to snapshot the notebook's values: ${installHint(reference.module, info)}`, runInfo);
  }
  if (reference.status === 'died') {
    return report(notebookPath, 'unusable', `the notebook does not run straight through: ${reference.detail}`, runInfo);
  }
  if (reference.status === 'failed') {
    const line = reference.line !== null ? `, line ${reference.line}` : '';
    return report(notebookPath, 'unusable', `the notebook does not run straight through: ${cellLabel(reference.cell)}${line} raised ${reference.exception}: ${reference.detail}. Fix the notebook first: verify compares the pipeline with a notebook that runs top to bottom.`, runInfo);
  }

  c.progress('comparing values');
  const divergences: Divergence[] = [];
  const byName = new Map(record.steps.map((s) => [s.name, s]));
  const checks: CompareCheck[] = [];
  const ok = (s: StepRecord | undefined) => s !== undefined && (s.status === 'succeeded' || s.status === 'cached');
  for (const step of steps) {
    const rec = byName.get(step.name);
    const received: CompareCheckItem[] = [];
    for (const input of step.inputs) {
      const provider = pipeline.steps.find((s) => s.name === input.from);
      if (provider && ok(byName.get(provider.name))) received.push({ name: input.name, folder: provider.templateName });
    }
    for (const name of step.parameters) {
      const p = pipeline.parameters.find((q) => q.name === name);
      if (p) received.push({ name, value: name in c.parameters ? c.parameters[name] ?? null : p.default, float: p.type === 'float' });
    }
    if (received.length > 0 && rec && rec.status !== 'pending' && rec.status !== 'skipped') checks.push({ key: `${step.name}\0received`, snapshot: snapshotKey(step, 'before'), names: received });
    if (ok(rec) && step.outputs.length > 0 && contiguous(pipeline, step)) {
      checks.push({ key: `${step.name}\0passed-on`, snapshot: snapshotKey(step, 'after'), names: step.outputs.map((name) => ({ name, folder: step.templateName })) });
    }
  }
  const compare = checks.length === 0 ? { checks: [] } : await runCompare(c, refDir, path.join(run.dir, 'data'), checks);
  let compared = 0;
  let same = 0;
  const found = new Map<string, Divergence[]>();
  const add = (step: string, d: Divergence) => found.set(step, [...(found.get(step) ?? []), d]);
  for (const r of compare.checks) {
    const [stepName = '', kind] = r.key.split('\0');
    const step = pipeline.steps.find((s) => s.name === stepName);
    if (!step) continue;
    compared++;
    if (r.status === 'same') {
      same++;
      continue;
    }
    const receivedSide = kind === 'received';
    const unpicklable = reference.unpicklable[snapshotKey(step, receivedSide ? 'before' : 'after')]?.[r.name];
    add(step.name, valueDivergence(pipeline, step, receivedSide, r, unpicklable));
  }
  for (const step of steps) {
    const rec = byName.get(step.name);
    if (rec?.status === 'failed' || rec?.status === 'cancelled') {
      const e = rec.error;
      const d: Divergence = { kind: 'step-failed', step: step.name, message: `step ${step.name} failed in the pipeline, though the notebook runs: ${e?.message ?? rec.status}` };
      if (e?.cell !== undefined) d.cell = e.cell;
      if (e?.line !== undefined) d.line = e.line;
      if (e?.exception !== undefined) d.got = `${e.exception}${e.detail ? `: ${e.detail}` : ''}`;
      add(step.name, d);
    }
  }
  for (const m of pipeline.metrics) {
    const expected = reference.metrics[m.name];
    const got = record.metrics[m.name];
    const producer = byName.get(m.step);
    if (expected === undefined || !ok(producer)) continue;
    compared++;
    if (typeof expected === 'number' && got !== undefined && (got === expected || (Number.isNaN(got) && Number.isNaN(expected)))) {
      same++;
      continue;
    }
    if (typeof expected === 'number' && !Number.isFinite(expected) && got === undefined) {
      same++; // the runner does not record NaN or infinite metrics
      continue;
    }
    const at = locate(pipeline, pipeline.steps.find((s) => s.name === m.step), m.name, 'last');
    add(m.step, {
      kind: 'metric', step: m.step, variable: m.name, ...(at.cell !== undefined ? at : { cell: m.cell, line: m.line }),
      expected: String(expected), got: got === undefined ? 'not recorded' : String(got),
      message: `metric ${m.name} (from step ${m.step}) is ${got === undefined ? 'not recorded' : String(got)} in the pipeline but ${String(expected)} in the notebook`,
    });
  }
  const rank: Record<DivergenceKind, number> = { received: 0, 'cannot-pass': 1, 'step-failed': 2, 'passed-on': 3, metric: 4 };
  for (const step of steps) {
    divergences.push(...(found.get(step.name) ?? []).sort((a, b) => rank[a.kind] - rank[b.kind]));
  }
  const counts = { steps: steps.length, compared, same, divergences, runId: run.id, runDir: run.dir };
  const first = divergences[0];
  if (!first) {
    if (record.status !== 'succeeded') return report(notebookPath, 'different', `the pipeline run ${record.status}`, counts);
    return report(notebookPath, 'identical', `identical: ${same} value${same === 1 ? '' : 's'} compared across ${steps.length} step${steps.length === 1 ? '' : 's'}`, counts);
  }
  const where = first.cell !== undefined ? ` (${cellLabel(first.cell)}${first.line !== undefined ? `, line ${first.line}` : ''})` : '';
  return report(notebookPath, 'different', `different: ${first.message}${where}`, counts);
}

/** The divergence of one compared value: different, missing on the pipeline's side, or not passable at all. */
function valueDivergence(pipeline: Pipeline, step: Step, receivedSide: boolean, r: CompareResult['checks'][number], unpicklable: string | undefined): Divergence {
  const input = step.inputs.find((i) => i.name === r.name);
  const at = locate(pipeline, step, r.name, receivedSide ? 'first' : 'last');
  const d: Divergence = { kind: receivedSide ? 'received' : 'passed-on', step: step.name, variable: r.name, ...at, message: '' };
  if (receivedSide && input) d.from = input.from;
  if (unpicklable !== undefined) {
    d.kind = 'cannot-pass';
    d.expected = unpicklable;
    d.message = `${r.name} cannot be passed ${receivedSide ? `to step ${step.name}` : `on from step ${step.name}`}: the notebook's value cannot be saved (${unpicklable}). Keep the code that makes and uses it in one step, or pass on something that can be saved.`;
  } else if (r.status === 'missing') {
    d.got = r.got ?? 'nothing';
    d.message = receivedSide
      ? `step ${step.name} reads ${r.name}, but the pipeline has no saved value for it: ${d.got}`
      : `step ${step.name} should pass on ${r.name}, but the pipeline has no saved value for it: ${d.got}`;
  } else {
    if (r.path !== undefined) d.path = r.path;
    if (r.expected !== undefined) d.expected = r.expected;
    if (r.got !== undefined) d.got = r.got;
    const what = r.path && r.path !== r.name ? `${r.path} ` : '';
    d.message = receivedSide
      ? `step ${step.name} receives ${r.name}${input ? ` from step ${input.from}` : ' (a pipeline parameter)'}, but ${what}differs from the notebook's value at that point: expected ${d.expected ?? '?'}, got ${d.got ?? '?'}`
      : `step ${step.name} passes on ${r.name}, but ${what}differs from the notebook's value after the step's cells: expected ${d.expected ?? '?'}, got ${d.got ?? '?'}`;
  }
  return d;
}

function report(notebook: string, outcome: VerifyOutcome, summary: string, extra: Partial<VerifyReport> & { steps: number }): VerifyReport {
  const exitCode = outcome === 'identical' ? 0 : outcome === 'unusable' ? 2 : 1;
  return { notebook, outcome, exitCode, summary, compared: 0, same: 0, divergences: [], diagnostics: [], ...extra };
}

/** Steps in the order the notebook reaches them (by first cell). */
function orderedSteps(pipeline: Pipeline): Step[] {
  return [...pipeline.steps].sort((a, b) => Math.min(...a.cells) - Math.min(...b.cells));
}

/**
 * True when no other step's cell lies between the step's first and last cell. A step
 * reopened later runs all its cells before the steps in between, so the notebook never
 * holds its values as the pipeline saves them: such a step is judged where its values
 * arrive (what the next steps receive), not where it saves them.
 */
function contiguous(pipeline: Pipeline, step: Step): boolean {
  const first = Math.min(...step.cells);
  const last = Math.max(...step.cells);
  return !pipeline.steps.some((other) => other !== step && other.cells.some((c) => c > first && c < last));
}

function snapshotKey(step: Step, at: 'before' | 'after'): string {
  return `${step.templateName}.${at === 'before' ? 'in' : 'out'}`;
}

function referencePlan(notebook: Notebook, pipeline: Pipeline, steps: Step[], parameters: Record<string, JsonValue>, out: string): ReferencePlan {
  const cells: ReferencePlan['cells'] = [];
  for (const cell of notebook.cells) {
    if (cell.kind !== 'code') continue;
    if (parseCellTags(cell.tags, cell.index, []).role === 'skip') continue;
    cells.push({ index: cell.index, code: lowerIPython(cell.source, cell.index).code });
  }
  const overrides = pipeline.parameters
    .filter((p) => p.name in parameters)
    .map((p) => ({ cell: p.cell, name: p.name, value: parameters[p.name] ?? null, float: p.type === 'float' }));
  const snapshots: ReferencePlan['snapshots'] = [];
  for (const step of steps) {
    const received = [...step.inputs.map((i) => i.name), ...step.parameters];
    if (received.length > 0) snapshots.push({ at: 'before', cell: Math.min(...step.cells), key: snapshotKey(step, 'before'), names: received });
    if (step.outputs.length > 0 && contiguous(pipeline, step)) snapshots.push({ at: 'after', cell: Math.max(...step.cells), key: snapshotKey(step, 'after'), names: step.outputs });
  }
  const metricCell = pipeline.metrics[0]?.cell;
  const metrics = metricCell === undefined ? null : { cell: metricCell, names: pipeline.metrics.map((m) => m.name) };
  return { cells, overrides, snapshots, metrics, out };
}

/**
 * Where to look in a step for `name`: for a value received, the first line that mentions
 * it; for a value passed on, the last line that assigns or changes it (`name = `,
 * `name[...] = `, `name.attr += `, `name.method(`), else the last that mentions it.
 */
function locate(pipeline: Pipeline, step: Step | undefined, name: string, which: 'first' | 'last'): { cell?: number; line?: number } {
  if (!step) return {};
  const chunks = pipeline.stepCode[step.name] ?? [];
  const id = name.replace(/[^\w]/g, '');
  const mention = new RegExp(`(^|[^\\w.])${id}(?!\\w)`);
  const change = new RegExp(`(^|[^\\w.])${id}(\\s*[\\[.][^=]*)?\\s*([-+*/%@&|^]|//|\\*\\*|>>|<<)?=(?!=)|(^|[^\\w.])${id}\\.\\w+\\(`);
  const lines = chunks.flatMap((chunk) => chunk.code.split('\n').map((text, i) => ({ cell: chunk.cell, line: i + 1, text })));
  const ordered = which === 'first' ? lines : [...lines].reverse();
  const hit = (which === 'last' ? ordered.find((l) => change.test(l.text)) : undefined) ?? ordered.find((l) => mention.test(l.text));
  if (hit) return { cell: hit.cell, line: hit.line };
  return { cell: which === 'first' ? Math.min(...step.cells) : Math.max(...step.cells) };
}

async function runCompare(c: Compiled, ref: string, data: string, checks: CompareCheck[]): Promise<CompareResult> {
  const out = path.join(c.work, 'compare.json');
  await runPython(c.python, COMPARE_SOURCE, { ref, data, checks, out }, path.join(c.work, 'compare-plan.json'), c.work, c.options.signal);
  return readResult<CompareResult>(out, path.join(c.work, 'compare.log'), 'the comparison of the values');
}

/** Runs one of the programs above on a JSON plan; output goes to a log beside the plan. */
function runPython(python: string, source: string, plan: unknown, planFile: string, cwd: string, signal?: AbortSignal): Promise<void> {
  const script = planFile.replace(/-plan\.json$/, '.py');
  fs.writeFileSync(script, source);
  fs.writeFileSync(planFile, JSON.stringify(plan));
  const log = fs.openSync(planFile.replace(/-plan\.json$/, '.log'), 'w');
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script, planFile], {
      cwd, stdio: ['ignore', log, log], ...(signal ? { signal } : {}),
      env: { ...verifyEnv(), MPLBACKEND: 'Agg' },
    });
    let open = true;
    const close = () => {
      if (open) fs.closeSync(log);
      open = false;
    };
    child.on('error', (err) => {
      close();
      if ((err as NodeJS.ErrnoException).code === 'ABORT_ERR') resolve();
      else reject(err);
    });
    child.on('close', () => {
      close();
      resolve();
    });
  });
}

/** The result file of one of the programs; when it is missing the program died, and its log says why. */
function readResult<T>(file: string, log: string, what: string): T {
  if (!fs.existsSync(file)) {
    const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').slice(-12).join('\n') : '';
    throw new Error(`${what} ended without a result${tail ? `:\n${tail}` : ''}`);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/**
 * Both sides get the same string hash seed: otherwise iterating over a set of strings can
 * differ between two processes, and verify would blame the pipeline for the notebook's own
 * nondeterminism.
 */
function verifyEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PYTHONHASHSEED: process.env.PYTHONHASHSEED ?? '0' };
}
