// The local runner: executes a compiled Workflow's DAG on this machine, each step's script
// in its own Python process (its own process group, so a step and everything it started
// can be stopped together), up to `jobs` at a time. Output goes straight from the child to
// log files (never through this process), run.json is rewritten atomically on every
// change, and progress is reported as events, so the CLI and the editor are thin layers.

import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../common/atomicFile';
import type { JsonValue, ParameterType } from '../converter/ir';
import { DATA_DIR_ENV, METRICS_PATH_ENV, STEP_ENV } from '../converter/emit/options';
import { RUNTIME_DISTRIBUTIONS } from '../converter/emit/runtime';
import { cacheKey, directoryDigest, hasOutput, linkFile, linkTree, outputFiles, outputsChanged } from './cache';
import { ForkServer, importedModules, setsEnvironment } from './forkServer';
import { encodeParameter } from './parameters';
import {
  installHint, missingModulesMessage, probeEnvironment, probePython, PythonEnvironment, PythonInfo, PythonNotFoundError,
} from './python';
import { STEP_BOOT, checkReads, readRecordedReads, stampReads } from './reads';
import {
  RunMode, RunRecord, StepError, StepRecord, StepStatus,
  createRunDir, defaultRunsDir, listRuns, newRunId, processStartTime, writeRunRecord,
} from './record';
import { pruneRuns } from './retention';
import { parseTraceback } from './traceback';
import { StepPlan, WorkflowLike, ancestors, descendants, findStep, planWorkflow, workflowParameters } from './workflow';

export interface RunOptions {
  /** The compiled workflow (what `emitWorkflow` returns). */
  workflow: WorkflowLike;
  /** The notebook the workflow was compiled from; runs are grouped by it. */
  notebook: string;
  /** Folder holding the run folders; default `.flowbook/runs` next to the notebook. */
  runsDir?: string;
  /** Python interpreter command or path; default `python3`. */
  python?: string;
  /** Steps running at the same time; default: the number of cores. */
  jobs?: number;
  /** Parameter overrides by name, already checked against the pipeline's types. */
  parameters?: Record<string, JsonValue>;
  /** Parameter types, so overrides are encoded as the step expects (a float stays a float). */
  parameterTypes?: Record<string, ParameterType>;
  /** Re-run this step and everything downstream, reusing the rest from the latest run. */
  from?: string;
  /** Run only this step, with upstream outputs from the latest run. */
  only?: string;
  /** Reuse outputs of unchanged steps; default true. */
  cache?: boolean;
  signal?: AbortSignal;
  /** Working directory of the steps; default the notebook's folder, as in Jupyter. */
  cwd?: string;
  /** Environment the steps start from; default this process's. */
  env?: NodeJS.ProcessEnv;
  /** Time a stopped step gets between SIGTERM and SIGKILL; default 3000 ms. */
  killGraceMs?: number;
  /**
   * Fork each step from one Python that has already imported the packages the steps
   * import (see forkServer.ts); default true. False starts every step as a fresh process.
   */
  preload?: boolean;
  /**
   * Top-level modules the steps import (`Pipeline.modules`), checked before anything runs;
   * default: those the step scripts import at the start of a line.
   */
  modules?: readonly string[];
  /** After the run, keep only this many runs of the notebook (see `pruneRuns`); default: keep all. */
  keep?: number;
  /** How people choose another interpreter, for messages: default `--python PATH`. */
  chooseInterpreter?: string;
}

export type RunEvent =
  | { type: 'run-started'; run: RunRecord }
  | { type: 'step-changed'; step: StepRecord }
  | { type: 'warning'; message: string }
  /** Runs deleted after this one by the `keep` option. */
  | { type: 'pruned'; runs: string[]; bytes: number }
  /** The fork server (see `RunOptions.preload`) is importing packages, or is ready. */
  | { type: 'launcher'; state: 'starting' }
  | { type: 'launcher'; state: 'ready'; preloaded: string[]; ms: number }
  /** Stopped before it was ready: the run ended first (missing packages, every step reused or cached). */
  | { type: 'launcher'; state: 'stopped' }
  | { type: 'run-finished'; run: RunRecord };

export interface RunHandle {
  id: string;
  /** The run folder: run.json, steps/<template>/{script.py,stdout.log,stderr.log}, data/. */
  dir: string;
  events: EventEmitter<{ event: [RunEvent] }>;
  /** Resolves when the run has ended (never rejects for a failed step or run). */
  done: Promise<RunRecord>;
  /** Stops every running step; the run ends as `cancelled`. */
  cancel(): void;
  /** The current state of the run. */
  snapshot(): RunRecord;
}

/** Options that cannot work: an unknown step for --from/--only, or a workflow the runner cannot execute. */
export class RunOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunOptionsError';
  }
}

/** Process groups of running steps, killed if this process exits while they run. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function trackGroup(pid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const g of liveGroups) killGroup(g, 'SIGKILL');
    });
  }
  liveGroups.add(pid);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

const DONE_OK: ReadonlySet<StepStatus> = new Set(['succeeded', 'cached']);
const DONE_BAD: ReadonlySet<StepStatus> = new Set(['failed', 'skipped', 'cancelled']);

/**
 * Starts a run and returns at once; the run folder and run.json exist on return.
 * Throws `RunOptionsError` (before anything runs) when the options cannot work.
 */
export function startRun(options: RunOptions): RunHandle {
  const notebook = path.resolve(options.notebook);
  const runsDir = path.resolve(options.runsDir ?? defaultRunsDir(notebook));
  const jobs = Math.max(1, Math.floor(options.jobs ?? os.availableParallelism()));
  const pythonCommand = options.python ?? 'python3';

  const overrides = new Map<string, string>();
  const known = workflowParameters(options.workflow);
  for (const [name, value] of Object.entries(options.parameters ?? {})) {
    if (!known.has(name)) throw new RunOptionsError(`the pipeline has no parameter '${name}'${known.size ? `; its parameters are ${[...known.keys()].join(', ')}` : ''}`);
    overrides.set(name, encodeParameter(value, options.parameterTypes?.[name]));
  }
  const provisionalId = newRunId();
  let plans: StepPlan[];
  try {
    plans = planWorkflow(options.workflow, overrides, { runId: provisionalId });
  } catch (err) {
    throw new RunOptionsError(err instanceof Error ? err.message : String(err));
  }
  const mode = runMode(options, plans);

  const { id, dir } = runFolder(() => createRunDir(runsDir, provisionalId), runsDir);
  if (id !== provisionalId) plans = planWorkflow(options.workflow, overrides, { runId: id });
  const parameters: Record<string, JsonValue> = {};
  for (const [name, text] of workflowParameters(options.workflow)) parameters[name] = decodeJson(overrides.get(name) ?? text);

  const record: RunRecord = {
    version: 1,
    id,
    notebook,
    workflow: options.workflow.metadata?.name ?? options.workflow.metadata?.generateName ?? path.basename(notebook),
    status: 'running',
    startedAt: new Date().toISOString(),
    python: { command: pythonCommand },
    parameters,
    mode,
    cache: options.cache ?? true,
    jobs,
    runnerPid: process.pid,
    runnerHost: os.hostname(),
    steps: plans.map((p) => ({
      name: p.name,
      task: p.task,
      template: p.template,
      cells: p.cells,
      dependencies: p.dependencies,
      status: 'pending',
      script: `steps/${p.template}/script.py`,
      stdout: `steps/${p.template}/stdout.log`,
      stderr: `steps/${p.template}/stderr.log`,
      parameters: Object.fromEntries(Object.entries(p.parameters).map(([k, v]) => [k, decodeJson(v)])),
      metrics: {},
    })),
    metrics: {},
  };
  const start = processStartTime(process.pid);
  if (start !== undefined) record.runnerStart = start;
  runFolder(() => {
    for (const p of plans) {
      fs.mkdirSync(path.join(dir, 'steps', p.template), { recursive: true });
      fs.writeFileSync(path.join(dir, 'steps', p.template, 'script.py'), p.source);
    }
    fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
    writeFileAtomic(path.join(dir, 'workflow.json'), `${JSON.stringify(options.workflow, null, 2)}\n`);
    writeRunRecord(dir, record);
  }, dir);

  const controller = new AbortController();
  const signals = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const events = new EventEmitter<{ event: [RunEvent] }>();
  const run = new Run(record, plans, dir, runsDir, {
    python: pythonCommand,
    jobs,
    signal: signals,
    cwd: path.resolve(options.cwd ?? path.dirname(notebook)),
    env: options.env ?? process.env,
    killGraceMs: options.killGraceMs ?? 3000,
    preload: options.preload ?? true,
    modules: options.modules ?? importedModules(plans.map((p) => p.source)),
    keep: options.keep,
    chooseInterpreter: options.chooseInterpreter ?? '--python PATH',
    emit: (e) => events.emit('event', e),
  });
  // Start on the next turn so listeners attached right after startRun() see every event.
  const done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => run.execute());
  return {
    id,
    dir,
    events,
    done,
    cancel: () => controller.abort(),
    snapshot: () => structuredClone(record),
  };
}

function runMode(options: RunOptions, plans: StepPlan[]): RunMode {
  if (options.from !== undefined && options.only !== undefined) throw new RunOptionsError('use either --from or --only, not both');
  const typed = options.from ?? options.only;
  if (typed === undefined) return { kind: 'all' };
  const step = findStep(plans, typed);
  if (!step) throw new RunOptionsError(`there is no step '${typed}'; the steps are ${plans.map((p) => p.name).join(', ')}`);
  return options.from !== undefined ? { kind: 'from', step: step.name } : { kind: 'only', step: step.name };
}

/** Runs `write`; a file system error becomes a `RunOptionsError` naming `where`. */
function runFolder<T>(write: () => T, where: string): T {
  try {
    return write();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (typeof e.code !== 'string') throw err;
    throw new RunOptionsError(`cannot write the run folder ${where}: ${fileProblem(e)}; choose another folder with --runs-dir (in VS Code: the flowbook.runsFolder setting)`);
  }
}

/** A file system error in words: `the disk is full (ENOSPC)`. */
export function fileProblem(e: NodeJS.ErrnoException): string {
  const words: Record<string, string> = {
    ENOSPC: 'the disk is full', EDQUOT: 'the disk quota is used up', EACCES: 'permission denied', EPERM: 'permission denied',
    EROFS: 'the file system is read-only', ENOTDIR: 'a part of the path is not a folder', ENOENT: 'no such folder',
  };
  return `${words[e.code ?? ''] ?? e.message} (${e.code})`;
}

function decodeJson(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

interface RunContext {
  python: string;
  jobs: number;
  signal: AbortSignal;
  cwd: string;
  env: NodeJS.ProcessEnv;
  killGraceMs: number;
  preload: boolean;
  modules: readonly string[];
  keep: number | undefined;
  chooseInterpreter: string;
  emit: (event: RunEvent) => void;
}

/** What to do with each step in this run. */
type Disposition =
  | { kind: 'run'; useCache: boolean; reason?: string }
  | { kind: 'reuse'; required: boolean }
  | { kind: 'leave'; reason: string };

class Run {
  private readonly byName: Map<string, StepRecord>;
  private readonly planOf: Map<string, StepPlan>;
  private readonly running = new Map<string, { pid?: number; stop: () => void }>();
  private python: PythonInfo | undefined;
  private environment: PythonEnvironment | undefined;
  /** Steps whose cache lookup is done (it may hash files: once per step). */
  private readonly looked = new Set<string>();
  /** A step ended since the scheduler last looked. */
  private woken = false;
  private saveFailed = false;
  private earlierRuns: RunRecord[] | undefined;
  private cancelled = false;
  private wake: (() => void) | undefined;
  private serverStart: Promise<ForkServer | undefined> | undefined;
  private readonly launcherStop = new AbortController();

  constructor(
    private readonly record: RunRecord,
    private readonly plans: StepPlan[],
    private readonly dir: string,
    private readonly runsDir: string,
    private readonly ctx: RunContext,
  ) {
    this.byName = new Map(record.steps.map((s) => [s.name, s]));
    this.planOf = new Map(plans.map((p) => [p.name, p]));
  }

  async execute(): Promise<RunRecord> {
    const started = performance.now();
    const onAbort = () => this.cancelAll();
    this.ctx.signal.addEventListener('abort', onAbort, { once: true });
    this.ctx.emit({ type: 'run-started', run: structuredClone(this.record) });
    try {
      if (this.ctx.signal.aborted) this.cancelAll();
      else await this.schedule();
    } catch (err) {
      this.record.error = err instanceof Error ? err.message : String(err);
      if (err instanceof PythonNotFoundError) {
        const others = this.record.steps.length - 1;
        this.record.error = `cannot run step ${this.record.steps[0]?.name ?? ''}${others > 0 ? ` or the ${others} after it` : ''}: ${err.message}`;
      }
      if (!(err instanceof PythonNotFoundError) && !(err instanceof RunOptionsError) && !this.ctx.signal.aborted) {
        this.record.error = `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
      }
      for (const r of this.running.values()) r.stop();
      for (const s of this.record.steps) if (s.status === 'pending') this.setStatus(s, 'skipped', { reason: 'the run could not start' });
      this.notify();
    } finally {
      this.ctx.signal.removeEventListener('abort', onAbort);
      await this.closeLauncher();
    }
    for (const s of this.record.steps) if (s.status === 'pending') this.setStatus(s, this.cancelled ? 'cancelled' : 'skipped');
    this.record.status = this.cancelled || this.ctx.signal.aborted ? 'cancelled'
      : this.record.error !== undefined || this.record.steps.some((s) => s.status === 'failed') ? 'failed' : 'succeeded';
    if (this.record.status === 'cancelled') delete this.record.error;
    for (const s of this.record.steps) Object.assign(this.record.metrics, s.metrics);
    this.record.finishedAt = new Date().toISOString();
    this.record.durationMs = Math.round(performance.now() - started);
    this.save();
    if (this.ctx.keep !== undefined) this.prune(this.ctx.keep);
    const final = structuredClone(this.record);
    this.ctx.emit({ type: 'run-finished', run: final });
    return final;
  }

  private async schedule(): Promise<void> {
    this.python = await probePython(this.ctx.python, this.ctx.signal, this.ctx.env);
    this.record.python = { command: this.ctx.python, executable: this.python.executable, version: this.python.version };
    this.save();
    // The launcher imports the steps' packages while the probe checks that they are all
    // there: two processes at once, not one after the other. It is stopped, unused, when
    // some are missing (reported before any step runs) or when no step needs to run.
    void this.launcher();
    this.environment = await probeEnvironment(this.python, this.ctx.modules, { cwd: this.ctx.cwd, env: this.baseEnv(), signal: this.ctx.signal });
    if (this.environment.missing) {
      this.record.missingModules = this.environment.missing;
      throw new PythonNotFoundError(missingModulesMessage(this.environment.missing, this.ctx.chooseInterpreter));
    }
    for (const p of this.plans) {
      for (const v of p.secretEnv) {
        if (this.ctx.env[v] === undefined) this.warn(`step ${p.name} reads ${v} from a Kubernetes secret; set ${v} in your environment to run it locally`);
      }
    }

    const dispositions = this.dispositions();
    await this.reuseFromBase(dispositions);

    for (;;) {
      if (this.cancelled) break;
      this.woken = false;
      await this.startReadySteps(dispositions);
      if (this.woken) continue;
      if (this.running.size === 0) break;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    while (this.running.size > 0) await new Promise<void>((resolve) => (this.wake = resolve));
  }

  /** Tells the scheduler that a step ended. */
  private notify(): void {
    this.woken = true;
    this.wake?.();
  }

  private dispositions(): Map<string, Disposition> {
    const mode = this.record.mode;
    const result = new Map<string, Disposition>();
    if (mode.kind === 'all') {
      for (const p of this.plans) result.set(p.name, this.record.cache ? { kind: 'run', useCache: true } : { kind: 'run', useCache: false, reason: 'not looked up in the cache: --no-cache' });
      return result;
    }
    const rerun = mode.kind === 'from' ? descendants(this.plans, mode.step) : new Set([mode.step]);
    const required = new Set<string>();
    for (const name of rerun) for (const a of ancestors(this.plans, name)) if (!rerun.has(a)) required.add(a);
    for (const p of this.plans) {
      if (rerun.has(p.name)) result.set(p.name, { kind: 'run', useCache: false, reason: `re-run by --${mode.kind} ${mode.step}` });
      else if (required.has(p.name)) result.set(p.name, { kind: 'reuse', required: true });
      else if (mode.kind === 'from') result.set(p.name, { kind: 'reuse', required: false });
      else result.set(p.name, { kind: 'leave', reason: `not selected (--only ${mode.step})` });
    }
    return result;
  }

  /**
   * For --from/--only: takes the steps that are not re-run from the latest run that has them
   * all. A step that ran there with other parameter values, or whose outputs are gone, is
   * re-run with everything after it (--from), or the run is refused (--only).
   */
  private async reuseFromBase(dispositions: Map<string, Disposition>): Promise<void> {
    const mode = this.record.mode;
    if (mode.kind === 'all') return;
    const reused = () => [...dispositions].filter(([, d]) => d.kind === 'reuse').map(([n]) => n);
    const required = [...dispositions].filter(([, d]) => d.kind === 'reuse' && d.required).map(([n]) => n);
    if (reused().length === 0) return;
    const hasOutputs = (run: RunRecord, name: string) => {
      const step = run.steps.find((s) => s.name === name && s.template === this.planOf.get(name)?.template);
      return step !== undefined && DONE_OK.has(step.status) && fs.existsSync(path.join(this.runsDir, run.id, 'data'));
    };
    const base = this.earlier().find((run) => required.every((name) => hasOutputs(run, name)));
    if (!base && required.length > 0) {
      throw new RunOptionsError(`no earlier run of ${path.basename(this.record.notebook)} in ${this.runsDir} has the outputs of ${required.map((n) => `step ${n}`).join(', ')}, which --${mode.kind} needs; run the whole pipeline once first`);
    }
    if (!base) {
      for (const name of reused()) this.setStatus(this.byName.get(name) as StepRecord, 'skipped', { reason: `not part of --${mode.kind} and not in an earlier run` });
      return;
    }
    this.record.baseRun = base.id;

    const stale = new Map<string, string>();
    for (const name of reused()) {
      const old = base.steps.find((s) => s.name === name && s.template === this.planOf.get(name)?.template);
      if (!old || !DONE_OK.has(old.status)) continue;
      const why = parameterChange(this.planOf.get(name) as StepPlan, old, base) ?? (await this.outputsGone(base, old, this.planOf.get(name) as StepPlan));
      if (why !== undefined) stale.set(name, why);
    }
    if (stale.size > 0 && mode.kind === 'only') {
      const [name, why] = [...stale][0] as [string, string];
      throw new RunOptionsError(`step ${mode.step} needs the result of step ${name} from run ${base.id}, but ${why}; run with --from ${name} to recompute it first`);
    }
    for (const [name, why] of stale) {
      for (const d of descendants(this.plans, name)) {
        if (dispositions.get(d)?.kind !== 'reuse') continue;
        dispositions.set(d, { kind: 'run', useCache: false, reason: d === name ? `re-run: ${why}` : `re-run: upstream step ${name} is re-run` });
      }
    }

    for (const name of reused()) {
      const step = this.byName.get(name) as StepRecord;
      const old = base.steps.find((s) => s.name === name && s.template === step.template);
      if (!old || !DONE_OK.has(old.status)) {
        this.setStatus(step, 'skipped', { reason: `not part of --${mode.kind} and not in an earlier run` });
        continue;
      }
      const d = dispositions.get(name);
      this.adopt(step, base, old, d?.kind === 'reuse' && d.required ? 'upstream of the steps re-run' : 'not affected');
      const plan = this.planOf.get(name) as StepPlan;
      const key = cacheKey(plan, this.python as PythonInfo, this.upstreamDigests(plan));
      if (old.cacheKey !== undefined && old.cacheKey !== key) {
        this.warn(`step ${name}: reusing its outputs from run ${base.id}, although its code, interpreter or inputs have changed since; run without --${mode.kind} to recompute it`);
      }
    }
  }

  /** Marks a step `cached`, linking outputs, logs and metrics of `old` (from `source`) into this run. */
  private adopt(step: StepRecord, source: RunRecord, old: StepRecord, reason: string): void {
    const from = path.join(this.runsDir, source.id);
    linkTree(path.join(from, 'data', step.template), path.join(this.dir, 'data', step.template));
    linkFile(path.join(from, old.stdout), path.join(this.dir, step.stdout));
    linkFile(path.join(from, old.stderr), path.join(this.dir, step.stderr));
    step.metrics = { ...old.metrics };
    // What the result was computed from travels with it, so a later run can check it again.
    for (const k of ['cacheKey', 'outputDigest', 'outputFiles', 'reads', 'packages', 'parameters'] as const) {
      if (old[k] !== undefined) Object.assign(step, { [k]: structuredClone(old[k]) });
    }
    if (old.parameters === undefined) delete step.parameters;
    step.cachedFrom = source.id;
    step.durationMs = 0;
    this.setStatus(step, 'cached', { reason });
  }

  private async startReadySteps(dispositions: Map<string, Disposition>): Promise<void> {
    let changed = true;
    while (changed && !this.cancelled) {
      changed = false;
      for (const step of this.record.steps) {
        // A launched step stays `pending` until its process can start (see launch()).
        if (step.status !== 'pending' || this.running.has(step.name)) continue;
        const d = dispositions.get(step.name);
        if (d?.kind === 'leave') {
          this.setStatus(step, 'skipped', { reason: d.reason });
          changed = true;
          continue;
        }
        const deps = step.dependencies.map((n) => this.byName.get(n) as StepRecord);
        const bad = deps.find((s) => DONE_BAD.has(s.status));
        if (bad) {
          this.setStatus(step, 'skipped', { reason: `upstream step ${bad.name} ${bad.status === 'failed' ? 'failed' : `was ${bad.status}`}` });
          changed = true;
          continue;
        }
        if (!deps.every((s) => DONE_OK.has(s.status))) continue;
        const plan = this.planOf.get(step.name) as StepPlan;
        if (!this.looked.has(step.name)) {
          this.looked.add(step.name);
          step.cacheKey = cacheKey(plan, this.python as PythonInfo, this.upstreamDigests(plan));
          if (d?.kind === 'run' && d.reason !== undefined) step.reason = d.reason;
          else if (plan.cache === false) step.reason = 'not looked up in the cache: caching is off for this step';
          else if (d?.kind === 'run' && d.useCache && (await this.reuseCached(step, plan))) {
            changed = true;
            continue;
          }
          if (this.cancelled) return;
        }
        if (this.running.size >= this.ctx.jobs) continue;
        this.launch(step, plan);
        changed = true;
      }
    }
  }

  /** Output digests of every step upstream of `plan`, by template name. */
  private upstreamDigests(plan: StepPlan): Record<string, string> {
    const digests: Record<string, string> = {};
    for (const name of ancestors(this.plans, plan.name)) {
      const s = this.byName.get(name) as StepRecord;
      digests[s.template] = s.outputDigest ?? '';
    }
    return digests;
  }

  private earlier(): RunRecord[] {
    this.earlierRuns ??= listRuns(this.runsDir, { notebook: this.record.notebook, limit: 200 }).filter((r) => r.id !== this.record.id);
    return this.earlierRuns;
  }

  /**
   * Reuses the newest earlier result with the same key whose outputs, files read and
   * imported packages are as they were; otherwise notes in `step.reason` why not.
   */
  private async reuseCached(step: StepRecord, plan: StepPlan): Promise<boolean> {
    let why: string | undefined;
    for (const run of this.earlier()) {
      const old = run.steps.find((s) => s.template === step.template && s.cacheKey === step.cacheKey && DONE_OK.has(s.status));
      if (!old) continue;
      const problem = await this.changedSince(run, old, plan);
      if (problem === undefined) {
        const reads = old.reads?.length ?? 0;
        this.adopt(step, run, old, `unchanged since that run (code, parameters, inputs${reads > 0 ? `, ${reads} file${reads === 1 ? '' : 's'} read` : ''}, packages)`);
        return true;
      }
      why ??= `not reused from run ${run.id}: ${problem}`;
    }
    const reason = why ?? this.whyNoMatch(step, plan);
    if (reason !== undefined) step.reason = reason;
    return false;
  }

  /** Why an earlier result `old` of run `run` cannot stand in any more, or undefined. */
  private async changedSince(run: RunRecord, old: StepRecord, plan: StepPlan): Promise<string | undefined> {
    const gone = await this.outputsGone(run, old, plan);
    if (gone !== undefined) return gone;
    if (old.reads === undefined) return 'what it read was not recorded (it ended without running its exit handlers)';
    for (const [name, version] of Object.entries(old.packages ?? {})) {
      const now = this.environment?.distributions[name];
      if (now !== version) return `package ${name} ${version} is ${now === undefined ? 'no longer installed' : `now ${now}`}`;
    }
    return checkReads(old.reads);
  }

  /** Why the outputs `old` left in `run` are not all there, or undefined. */
  private async outputsGone(run: RunRecord, old: StepRecord, plan: StepPlan): Promise<string | undefined> {
    const dir = path.join(this.runsDir, run.id, 'data', old.template);
    const missing = plan.outputs.filter((o) => !hasOutput(dir, o));
    if (missing.length > 0) return `its saved value${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing from ${dir}`;
    return (await outputsChanged(dir, old)) ? `its output files in ${dir} were changed or deleted` : undefined;
  }

  /** Why no earlier result had this step's key, from the newest run that has the step. */
  private whyNoMatch(step: StepRecord, plan: StepPlan): string | undefined {
    const run = this.earlier().find((r) => r.steps.some((s) => s.template === step.template && DONE_OK.has(s.status)));
    const old = run?.steps.find((s) => s.template === step.template && DONE_OK.has(s.status));
    if (!run || !old) return undefined;
    return `not reused: ${parameterChange(plan, old, run) ?? `its code, interpreter or inputs changed since run ${run.id}`}`;
  }

  private launch(step: StepRecord, plan: StepPlan): void {
    const entry: { pid?: number; stop: () => void } = { stop: () => undefined };
    this.running.set(step.name, entry);
    void (async () => {
      // The step counts as running once its process can start: preloading is not its time.
      await this.launcher();
      if (this.cancelled) return { outcome: { kind: 'exit', code: null, signal: 'SIGTERM' } as Outcome, t0: performance.now() };
      this.setStatus(step, 'running', { startedAt: new Date().toISOString() });
      const t0 = performance.now();
      return { outcome: await this.runAttempts(step, plan, entry), t0 };
    })().then(
      ({ outcome, t0 }) => this.finishStep(step, plan, outcome, t0),
      (err: unknown) => this.finishStep(step, plan, { kind: 'error', message: err instanceof Error ? err.message : String(err) }, performance.now()),
    );
  }

  private async runAttempts(step: StepRecord, plan: StepPlan, entry: { pid?: number; stop: () => void }): Promise<Outcome> {
    let outcome: Outcome = { kind: 'exit', code: 1, signal: null };
    for (let attempt = 1; attempt <= plan.retries + 1; attempt++) {
      step.attempts = attempt;
      outcome = await this.spawnStep(step, plan, entry, attempt);
      if (outcome.kind === 'exit' && outcome.code === 0) return outcome;
      if (this.cancelled || outcome.kind === 'timeout') return outcome;
    }
    return outcome;
  }

  /** The environment every step starts from: the user's, plus what makes a local run behave like Jupyter. */
  private baseEnv(): NodeJS.ProcessEnv {
    return {
      ...this.ctx.env,
      PYTHONUNBUFFERED: '1',
      // The notebook's folder is importable, as it is in Jupyter (`import utils`).
      PYTHONPATH: [this.ctx.cwd, this.ctx.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
      MPLBACKEND: this.ctx.env.MPLBACKEND ?? 'Agg',
    };
  }

  /** The fork server, started on first use; undefined when steps start as fresh processes. */
  private launcher(): Promise<ForkServer | undefined> {
    if (!this.ctx.preload) return Promise.resolve(undefined);
    if (this.serverStart) return this.serverStart;
    const setter = this.plans.find((p) => setsEnvironment(p.source));
    if (setter) {
      this.warn(`steps start as fresh Python processes, without preloaded packages, because step ${setter.name} sets environment variables (os.environ), which packages may read when they load`);
      this.serverStart = Promise.resolve(undefined);
      return this.serverStart;
    }
    const t0 = performance.now();
    this.ctx.emit({ type: 'launcher', state: 'starting' });
    this.serverStart = ForkServer.start(this.ctx.python, {
      cwd: this.ctx.cwd,
      env: this.baseEnv(),
      // The step runtime imports its pickler inside a function, out of importedModules' sight.
      modules: [...importedModules(this.plans.map((p) => p.source)), ...RUNTIME_DISTRIBUTIONS],
      signal: this.launcherStop.signal,
    }).then(({ server, reason, aborted }) => {
      if (aborted) {
        this.ctx.emit({ type: 'launcher', state: 'stopped' });
        return undefined;
      }
      if (!server) {
        this.warn(`steps start as fresh Python processes, without preloaded packages: ${reason ?? 'the launcher did not start'}`);
        return undefined;
      }
      this.record.python.preloaded = server.loaded;
      if (server.pid !== undefined) this.record.python.launcherPid = server.pid;
      this.save();
      this.ctx.emit({ type: 'launcher', state: 'ready', preloaded: server.loaded, ms: Math.round(performance.now() - t0) });
      return server;
    });
    return this.serverStart;
  }

  private async closeLauncher(): Promise<void> {
    // A launcher still importing is of no use to a run that is over: stop it, not wait for it.
    this.launcherStop.abort();
    const server = await this.serverStart;
    await server?.close();
  }

  private async spawnStep(step: StepRecord, plan: StepPlan, entry: { pid?: number; stop: () => void }, attempt: number): Promise<Outcome> {
    const stdout = path.join(this.dir, step.stdout);
    const stderr = path.join(this.dir, step.stderr);
    if (attempt === 1) {
      fs.writeFileSync(stdout, '');
      fs.writeFileSync(stderr, '');
    } else {
      const line = `\n--- flowbook: attempt ${attempt} of ${plan.retries + 1} ---\n`;
      fs.appendFileSync(stdout, line);
      fs.appendFileSync(stderr, line);
    }
    const metricsPath = path.join(this.dir, 'steps', step.template, 'metrics.json');
    fs.rmSync(metricsPath, { force: true });
    const readsPath = this.readsFile(step);
    fs.rmSync(readsPath, { force: true });
    // Files under the runs folder are the pipeline's own: upstream outputs are in the key.
    const reads: [string, string[]] = [readsPath, [this.runsDir, ...(this.environment?.libraryFolders ?? [])]];
    fs.mkdirSync(path.join(this.dir, 'data', step.template), { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...this.baseEnv(),
      ...plan.env,
      [DATA_DIR_ENV]: path.join(this.dir, 'data'),
      [METRICS_PATH_ENV]: metricsPath,
      [STEP_ENV]: step.name,
      FLOWBOOK_RUN_ID: this.record.id,
    };
    const script = path.join(this.dir, step.script);
    const server = await this.launcher();
    if (this.cancelled) return { kind: 'exit', code: null, signal: 'SIGTERM' };

    return new Promise<Outcome>((resolve) => {
      let settled = false;
      let timedOut = false;
      let stopRequested = false;
      let pid: number | undefined;
      const timers: NodeJS.Timeout[] = [];
      const settle = (o: Outcome) => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        resolve(o);
      };
      const stop = () => {
        stopRequested = true;
        if (pid === undefined) return;
        const group = pid;
        killGroup(group, 'SIGTERM');
        timers.push(setTimeout(() => killGroup(group, 'SIGKILL'), this.ctx.killGraceMs));
      };
      const started = (p: number) => {
        pid = p;
        trackGroup(p);
        entry.pid = p;
        step.pid = p;
        this.save();
        if (stopRequested) stop();
      };
      const exited = (code: number | null, signal: NodeJS.Signals | null) => {
        if (pid !== undefined) {
          // Like a pod ending: whatever the step left running in its group goes with it.
          killGroup(pid, 'SIGKILL');
          liveGroups.delete(pid);
        }
        settle(timedOut ? { kind: 'timeout', seconds: plan.timeoutSeconds ?? 0 } : { kind: 'exit', code, signal });
      };
      entry.stop = stop;
      if (plan.timeoutSeconds) {
        timers.push(setTimeout(() => {
          timedOut = true;
          stop();
        }, plan.timeoutSeconds * 1000));
      }

      if (server?.alive) {
        server.run({ id: `${step.name}#${attempt}`, script, cwd: this.ctx.cwd, env, stdout, stderr, reads }, started).then(
          (e) => exited(e.code, e.signal),
          (e: unknown) => settle({ kind: 'error', message: e instanceof Error ? e.message : String(e) }),
        );
        return;
      }
      // The child writes straight into the log files: its output never passes through here.
      const out = fs.openSync(stdout, 'a');
      const err = fs.openSync(stderr, 'a');
      // Descriptor 3 is the step's lifeline: when this process ends, even by kill -9, the
      // step sees it close and kills its process group (see STEP_BOOT).
      const child = spawn(this.ctx.python, ['-c', STEP_BOOT, script, ...reads.map((r) => (typeof r === 'string' ? r : JSON.stringify(r)))], {
        cwd: this.ctx.cwd, env, detached: true, stdio: ['ignore', out, err, 'pipe'],
      });
      fs.closeSync(out);
      fs.closeSync(err);
      const lifeline = child.stdio[3];
      lifeline?.on('error', () => undefined);
      if (child.pid !== undefined) started(child.pid);
      child.on('error', (e) => settle({ kind: 'error', message: `cannot start ${this.ctx.python}: ${e.message}` }));
      child.on('exit', (code, signal) => {
        lifeline?.destroy();
        exited(code, signal);
      });
    });
  }

  private async finishStep(step: StepRecord, plan: StepPlan, outcome: Outcome, t0: number): Promise<void> {
    if (step.status === 'cancelled') {
      // Cancelled before its process started.
      this.running.delete(step.name);
      this.notify();
      return;
    }
    const patch: Partial<StepRecord> = { finishedAt: new Date().toISOString(), durationMs: Math.round(performance.now() - t0) };
    let status: StepStatus;
    try {
      if (outcome.kind === 'exit') {
        patch.exitCode = outcome.code;
        if (outcome.signal) patch.signal = outcome.signal;
      }
      const dataDir = path.join(this.dir, 'data', step.template);
      const unsaved = plan.outputs.filter((o) => !hasOutput(dataDir, o));
      if (outcome.kind === 'exit' && outcome.code === 0 && unsaved.length > 0 && !this.cancelled) {
        status = 'failed';
        patch.error = unsavedOutputs(step, unsaved);
      } else if (outcome.kind === 'exit' && outcome.code === 0) {
        // A step that finished before a cancellation reached it keeps its result (and cache entry).
        step.outputDigest = await directoryDigest(dataDir);
        step.outputFiles = outputFiles(dataDir);
        step.metrics = readMetrics(path.join(this.dir, 'steps', step.template, 'metrics.json'));
        const reads = readRecordedReads(this.readsFile(step));
        if (reads) {
          step.reads = await stampReads(reads);
          step.packages = this.packagesOf(reads.packages);
        }
        status = 'succeeded';
      } else if (this.cancelled) {
        status = 'cancelled';
      } else {
        status = 'failed';
        patch.error = this.describeFailure(step, plan, outcome);
      }
    } catch (err) {
      status = 'failed';
      patch.error = { message: `step ${step.name} failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    this.running.delete(step.name);
    this.setStatus(step, status, patch);
    this.notify();
  }

  private readsFile(step: StepRecord): string {
    return path.join(this.dir, 'steps', step.template, 'reads.json');
  }

  /** Installed distributions (name → version) that provide the top-level `modules`. */
  private packagesOf(modules: readonly string[]): Record<string, string> {
    const packages: Record<string, string> = {};
    const env = this.environment;
    if (!env) return packages;
    // Private modules (`_distutils_hack`, loaded by a .pth file) say nothing about the step.
    for (const m of modules.filter((name) => !name.startsWith('_'))) {
      for (const d of env.providers[m] ?? []) {
        const version = env.distributions[d];
        if (version !== undefined) packages[d] = version;
      }
    }
    return Object.fromEntries(Object.entries(packages).sort(([a], [b]) => a.localeCompare(b)));
  }

  private describeFailure(step: StepRecord, plan: StepPlan, outcome: Outcome): StepError {
    if (outcome.kind === 'error') return { message: `step ${step.name} failed: ${outcome.message}` };
    if (outcome.kind === 'timeout') {
      return { message: `step ${step.name} failed: it ran longer than its timeout of ${formatSeconds(outcome.seconds)} and was stopped` };
    }
    const scriptPath = path.join(this.dir, step.script);
    const failure = parseTraceback(readTail(path.join(this.dir, step.stderr), 256 * 1024), scriptPath, plan.source);
    if (!failure) {
      const how = outcome.signal ? `was killed by ${outcome.signal}${outcome.signal === 'SIGKILL' ? ' (out of memory?)' : ''}` : `exited with code ${outcome.code}`;
      return { message: `step ${step.name} failed: the Python process ${how}; see ${step.stderr}` };
    }
    if (failure.exception === undefined) return { message: `step ${step.name} failed: ${failure.detail}`, detail: failure.detail };
    const error: StepError = { message: '', exception: failure.exception, detail: failure.detail };
    let message = `step ${step.name} failed: ${failure.exception}`;
    if (failure.location) {
      error.cell = failure.location.cell;
      error.line = failure.location.line;
      message += ` at cell ${failure.location.cell + 1}, line ${failure.location.line}`;
    }
    if (failure.detail) message += ` (${failure.detail})`;
    if (failure.module && this.python) {
      error.module = failure.module;
      error.install = installHint(failure.module, this.python);
      message += `. Module '${failure.module}' is not installed for ${this.python.executable}; install it with: ${error.install} (or run with another Python interpreter: --python PATH)`;
    }
    error.message = message;
    return error;
  }

  private cancelAll(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    for (const s of this.record.steps) if (s.status === 'pending') this.setStatus(s, 'cancelled');
    for (const r of this.running.values()) r.stop();
    this.notify();
  }

  private setStatus(step: StepRecord, status: StepStatus, patch: Partial<StepRecord> = {}): void {
    Object.assign(step, patch, { status });
    if (status !== 'running') delete step.pid;
    this.save();
    this.ctx.emit({ type: 'step-changed', step: structuredClone(step) });
  }

  private warn(message: string): void {
    this.ctx.emit({ type: 'warning', message });
  }

  /** Rewrites run.json; when that fails (a full disk), says so once and keeps the last good file. */
  private save(): void {
    try {
      writeRunRecord(this.dir, this.record);
      if (this.saveFailed) this.warn(`${path.join(this.dir, 'run.json')} is up to date again`);
      this.saveFailed = false;
    } catch (err) {
      if (this.saveFailed) return;
      this.saveFailed = true;
      const problem = typeof (err as NodeJS.ErrnoException).code === 'string' ? fileProblem(err as NodeJS.ErrnoException) : String(err);
      this.warn(`cannot update ${path.join(this.dir, 'run.json')}: ${problem}. The run goes on; the file keeps an earlier state of it until it can be written again`);
    }
  }

  /** Applies the `keep` option: deletes the oldest runs of this notebook beyond it. */
  private prune(keep: number): void {
    try {
      const pruned = pruneRuns(this.runsDir, { notebook: this.record.notebook, keep });
      if (pruned.deleted.length > 0) this.ctx.emit({ type: 'pruned', runs: pruned.deleted.map((r) => r.id), bytes: pruned.bytes });
    } catch (err) {
      this.warn(`cannot delete old runs in ${this.runsDir}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** The error of a step whose process ended well without saving what later steps need. */
function unsavedOutputs(step: StepRecord, unsaved: string[]): StepError {
  const cells = step.cells.map((c) => c + 1);
  const where = cells.length === 0 ? '' : ` (cell${cells.length === 1 ? '' : 's'} ${cells.join(', ')})`;
  const what = `${unsaved.length === 1 ? 'value' : 'values'} ${unsaved.join(', ')}`;
  const error: StepError = {
    message: `step ${step.name} failed: it ended without saving the ${what}${where}; its code stopped before the end (sys.exit(), exit() or os._exit()?). Remove the early exit, or move it into a step of its own`,
  };
  const last = step.cells.at(-1);
  if (last !== undefined) error.cell = last;
  return error;
}

/** Why `old` (from `run`) used other values for the parameters `plan` reads, or undefined when it did not. */
function parameterChange(plan: StepPlan, old: StepRecord, run: RunRecord): string | undefined {
  for (const [name, text] of Object.entries(plan.parameters)) {
    const now = decodeJson(text);
    const then = old.parameters?.[name] ?? run.parameters[name];
    if (then !== undefined && JSON.stringify(then) !== JSON.stringify(now)) {
      return `it ran with ${name}=${JSON.stringify(then)} in run ${run.id}, and this run has ${name}=${JSON.stringify(now)}`;
    }
  }
  return undefined;
}

type Outcome =
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'timeout'; seconds: number }
  | { kind: 'error'; message: string };

/** Metrics a step wrote in the Kubeflow format `{"metrics": [{"name", "numberValue"}]}`. */
function readMetrics(file: string): Record<string, number> {
  const metrics: Record<string, number> = {};
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return metrics;
  }
  const list = (json as { metrics?: unknown }).metrics;
  if (!Array.isArray(list)) return metrics;
  for (const m of list as { name?: unknown; numberValue?: unknown }[]) {
    if (typeof m.name === 'string' && typeof m.numberValue === 'number') metrics[m.name] = m.numberValue;
  }
  return metrics;
}

/** The last `bytes` of a file, without reading the rest. */
function readTail(file: string, bytes: number): string {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    fs.readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function formatSeconds(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
