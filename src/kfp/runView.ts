// A Kubeflow Pipelines run as the Runs view, the graph and the results pages show it (the
// shared `RunView`): state, tasks with their times, runtime parameters and the metrics read
// from ML Metadata. When the notebook that made the pipeline is known, its steps give the
// tasks their cells and upstream steps, and steps KFP has not started yet show as pending.
// Plain data in and out; no `vscode`.

import type { StepStatus } from '../runner/record';
import type { RunStatus, RunStepView, RunView } from '../common/runView';
import type { Run, RuntimeState, TaskDetail } from './types';

/** The id of the Kubeflow Pipelines section of the Runs view. */
export const KFP_SOURCE = 'kfp';

const RUN_STATUS: Record<RuntimeState, RunStatus> = {
  RUNTIME_STATE_UNSPECIFIED: 'pending', PENDING: 'pending', PAUSED: 'pending',
  RUNNING: 'running', CANCELING: 'running',
  SUCCEEDED: 'succeeded', SKIPPED: 'succeeded',
  FAILED: 'failed', CANCELED: 'cancelled',
};

const STEP_STATUS: Record<RuntimeState, StepStatus> = {
  RUNTIME_STATE_UNSPECIFIED: 'pending', PENDING: 'pending', PAUSED: 'pending',
  RUNNING: 'running', CANCELING: 'running',
  SUCCEEDED: 'succeeded', SKIPPED: 'skipped',
  FAILED: 'failed', CANCELED: 'cancelled',
};

/** A step of the notebook a task ran: its name as written, cells (0-based) and upstream steps. */
export interface KfpStepInfo {
  name: string;
  /** The task name KFP shows (the step's template name). */
  task: string;
  cells: number[];
  dependencies: string[];
}

export interface KfpRunViewOptions {
  /** Metric name → value, from the run's Metrics artifacts. */
  metrics?: Record<string, number>;
  /** Task name → its metrics. */
  stepMetrics?: Record<string, Record<string, number>>;
  /** Why the metrics are missing (a quiet line, not an error). */
  metricsNote?: string;
  /** The experiment's display name. */
  experiment?: string;
  /** The notebook the pipeline came from, with its steps in order. */
  notebook?: { path: string; steps: KfpStepInfo[] };
}

/** The tasks a user wrote: KFP's own driver and DAG tasks (`root`, `*-driver`) are left out. */
export function userTasks(run: Run | undefined): TaskDetail[] {
  return (run?.run_details?.task_details ?? []).filter((t) => t.display_name !== undefined && t.display_name !== 'root' && !t.display_name.endsWith('-driver'));
}

/** `churn 3f2a9c01` (Flowbook's run names) → the pipeline `churn` and the key `3f2a9c01`. */
export function splitRunName(displayName: string): { title: string; key?: string } {
  const m = /^(.*\S)\s+([0-9a-f]{6,})$/.exec(displayName);
  return m?.[1] && m[2] ? { title: m[1], key: m[2] } : { title: displayName };
}

/** Whether the run may still change. */
export function isKfpRunActive(run: Pick<Run, 'state'>): boolean {
  return run.state === undefined || ['RUNTIME_STATE_UNSPECIFIED', 'PENDING', 'RUNNING', 'CANCELING', 'PAUSED'].includes(run.state);
}

function ms(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  const d = Date.parse(to) - Date.parse(from);
  return Number.isFinite(d) && d > 0 ? d : undefined;
}

function stepOf(task: TaskDetail | undefined, info: Omit<KfpStepInfo, 'task'>, metrics: Record<string, number> | undefined): RunStepView {
  const state = task?.state ?? 'PENDING';
  const step: RunStepView = {
    name: info.name,
    status: STEP_STATUS[state] ?? 'pending',
    cells: info.cells,
    dependencies: info.dependencies,
    hasLogs: task?.pod_name !== undefined && state !== 'PENDING',
  };
  const started = task?.start_time ?? task?.create_time;
  if (started) step.startedAt = started;
  const duration = ms(started, task?.end_time);
  if (duration !== undefined && step.status !== 'running') step.durationMs = duration;
  if (task?.error?.message) step.note = task.error.message;
  else if (state === 'CANCELING') step.note = 'stopping';
  if (metrics && Object.keys(metrics).length > 0) step.metrics = metrics;
  return step;
}

/** A KFP run as the views show it. */
export function kfpRunView(run: Run, options: KfpRunViewOptions = {}): RunView {
  const tasks = userTasks(run);
  const byName = new Map(tasks.map((t) => [t.display_name ?? '', t]));
  const metricsOf = (task: string) => options.stepMetrics?.[task];
  let steps: RunStepView[];
  if (options.notebook) {
    const known = new Set(options.notebook.steps.map((s) => s.task));
    steps = options.notebook.steps.map((s) => stepOf(byName.get(s.task), s, metricsOf(s.task)));
    // Tasks the notebook no longer has (it changed since the run): shown after its steps.
    for (const t of tasks) if (!known.has(t.display_name ?? '')) steps.push(stepOf(t, { name: t.display_name ?? '', cells: [], dependencies: [] }, metricsOf(t.display_name ?? '')));
  } else {
    steps = tasks.map((t) => stepOf(t, { name: t.display_name ?? '', cells: [], dependencies: [] }, metricsOf(t.display_name ?? '')));
  }
  const state = run.state ?? 'PENDING';
  const { title, key } = splitRunName(run.display_name);
  const view: RunView = {
    source: KFP_SOURCE,
    id: run.run_id,
    title,
    status: RUN_STATUS[state] ?? 'pending',
    startedAt: run.created_at ?? run.scheduled_at ?? '',
    progress: { done: steps.filter((s) => s.status !== 'pending' && s.status !== 'running').length, total: steps.length },
    steps,
    parameters: { ...(run.runtime_config?.parameters ?? {}) },
  };
  if (key) view.name = key;
  if (options.notebook) view.notebook = options.notebook.path;
  if (run.finished_at && !isKfpRunActive(run)) {
    view.finishedAt = run.finished_at;
    const duration = ms(view.startedAt, run.finished_at);
    if (duration !== undefined) view.durationMs = duration;
  }
  if (run.error?.message && view.status !== 'succeeded') view.error = run.error.message;
  else if (state === 'CANCELING') view.error = 'stopping';
  if (options.metrics && Object.keys(options.metrics).length > 0) view.metrics = options.metrics;
  if (options.metricsNote) view.note = options.metricsNote;
  if (options.experiment) view.experiment = options.experiment;
  return view;
}
