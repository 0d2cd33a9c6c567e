// Reads a Workflow's status as a Flowbook run: its summary (phase, progress N/M, duration,
// message) and the state of each step, with Argo's `status.nodes` mapped back to steps and
// notebook cells through the template annotations `flowbook.dev/step` and
// `flowbook.dev/cells`. Pure functions over plain objects: the views and the CLI call them
// on every watch event.

import {
  ANNOTATION_CELLS,
  ANNOTATION_NOTEBOOK_PATH,
  ANNOTATION_STEP,
  LABEL_MANAGED_BY,
  LABEL_NOTEBOOK,
  LABEL_PIPELINE,
  LABEL_RESUBMITTED_FROM,
  LABEL_VERSION,
  LOG_ARTIFACT,
  MANAGED_BY_VALUE,
} from './resources';
import { argoNodeId, argoPodName, taskDependencies } from '../argo/dag';
import type { ArtifactRef, NodeStatus, Workflow, WorkflowTemplate } from './types';

export type RunPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Error';

export interface RunSummary {
  name: string;
  namespace: string;
  uid?: string;
  createdAt?: string;
  phase: RunPhase;
  /** A stop was requested and the run has not finished yet. */
  stopping: boolean;
  /** Steps finished (succeeded, reused or skipped) of all steps. */
  progress: { done: number; total: number };
  startedAt?: string;
  finishedAt?: string;
  /** Seconds from start to finish, or to `now` while running. */
  durationSeconds?: number;
  message?: string;
  pipeline?: string;
  notebook?: string;
  flowbookVersion?: string;
  /** Labelled by Flowbook (the views' default filter). */
  isFlowbook: boolean;
  /** Workflow parameter values (JSON text for Flowbook runs). */
  parameters: Record<string, string>;
  resubmittedFrom?: string;
}

export type StepPhase = 'NotStarted' | 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Error' | 'Skipped' | 'Omitted' | 'Cached';

export interface StepAttempt {
  nodeId: string;
  podName: string;
  phase: StepPhase;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
  exitCode?: number;
  logArtifact?: ArtifactRef;
}

export interface StepState {
  /** The step name as written in the notebook (or the DAG task name for other workflows). */
  step: string;
  task: string;
  template: string;
  /** 0-based notebook cell indices. */
  cells: number[];
  /** Upstream step names. */
  dependencies: string[];
  phase: StepPhase;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  durationSeconds?: number;
  /** The task's node: a Retry node when the step has retries, else its Pod node. */
  nodeId?: string;
  attempts: StepAttempt[];
  /** Attempts after the first. */
  retries: number;
  /** The pod of the latest attempt: the one whose log to show. */
  podName?: string;
  /** For `Cached` steps: the pod of the run whose outputs were reused. */
  reusedFrom?: string;
  /** Output artifacts of the latest attempt (models, data, logs). */
  artifacts: ArtifactRef[];
}

const RUN_PHASES = new Set<string>(['Pending', 'Running', 'Succeeded', 'Failed', 'Error']);
const FINISHED = new Set<StepPhase>(['Succeeded', 'Skipped', 'Cached']);

export function isFinished(phase: RunPhase): boolean {
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Error';
}

function seconds(from: string | undefined, to: string | undefined | Date): number | undefined {
  if (!from) return undefined;
  const start = Date.parse(from);
  const end = to instanceof Date ? to.getTime() : to ? Date.parse(to) : NaN;
  if (Number.isNaN(start) || Number.isNaN(end)) return undefined;
  return Math.max(0, Math.round((end - start) / 1000));
}

/** The entry DAG's tasks, or one pseudo-task for a single-template workflow. */
function tasksOf(wf: Workflow): { name: string; template: string; dependencies: string[] }[] {
  const templates = wf.spec.templates ?? [];
  const entry = templates.find((t) => t.name === wf.spec.entrypoint);
  if (!entry) return [];
  if (!entry.dag) return [{ name: '', template: entry.name, dependencies: [] }];
  return entry.dag.tasks.map((t) => ({
    name: t.name,
    template: t.template ?? '',
    dependencies: taskDependencies(t),
  }));
}

/** Argo's node id for a node name (re-exported for the cluster code's callers). */
export { argoNodeId as nodeIdOf } from '../argo/dag';

/** The pod Argo runs a node in (pod name format v2 unless the workflow says v1). */
export function podNameOf(wf: Workflow, node: NodeStatus): string {
  const format = wf.metadata.annotations?.['workflows.argoproj.io/pod-name-format'] === 'v1' ? 'v1' : 'v2';
  return argoPodName(wf.metadata.name ?? '', node.templateName, node.id, format);
}

function parseCells(value: string | undefined): number[] {
  if (!value) return [];
  return value
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n >= 0);
}

function stepPhase(node: NodeStatus): StepPhase {
  if (node.type === 'Skipped' && /^original pod: /.test(node.message ?? '')) return 'Cached';
  const p = node.phase ?? 'Pending';
  return (['Pending', 'Running', 'Succeeded', 'Failed', 'Error', 'Skipped', 'Omitted'] as const).find((x) => x === p) ?? 'Pending';
}

function attemptOf(wf: Workflow, node: NodeStatus): StepAttempt {
  const a: StepAttempt = { nodeId: node.id, podName: podNameOf(wf, node), phase: stepPhase(node) };
  if (node.startedAt) a.startedAt = node.startedAt;
  if (node.finishedAt) a.finishedAt = node.finishedAt;
  if (node.message) a.message = node.message;
  const exit = node.outputs?.exitCode;
  if (exit !== undefined && exit !== '' && Number.isFinite(Number(exit))) a.exitCode = Number(exit);
  const log = node.outputs?.artifacts?.find((x) => x.name === LOG_ARTIFACT);
  if (log) a.logArtifact = log;
  return a;
}

/** Every step of the run in DAG order, with its latest state. */
export function stepStates(wf: Workflow, now: Date = new Date()): StepState[] {
  const name = wf.metadata.name ?? '';
  const nodes = wf.status?.nodes ?? {};
  const templates = new Map<string, WorkflowTemplate>((wf.spec.templates ?? []).map((t) => [t.name, t]));
  const tasks = tasksOf(wf);
  const stepOfTask = new Map<string, string>();
  for (const t of tasks) stepOfTask.set(t.name, templates.get(t.template)?.metadata?.annotations?.[ANNOTATION_STEP] ?? (t.name || name));
  const finishedRun = RUN_PHASES.has(wf.status?.phase ?? '') && isFinished(wf.status?.phase as RunPhase);

  return tasks.map((task) => {
    const template = templates.get(task.template);
    const annotations = template?.metadata?.annotations ?? {};
    const nodeName = task.name === '' ? name : `${name}.${task.name}`;
    const node = nodes[argoNodeId(name, nodeName)] ?? Object.values(nodes).find((n) => n.name === nodeName);
    const state: StepState = {
      step: stepOfTask.get(task.name) ?? task.name,
      task: task.name,
      template: task.template,
      cells: parseCells(annotations[ANNOTATION_CELLS]),
      dependencies: task.dependencies.map((d) => stepOfTask.get(d) ?? d),
      phase: node ? stepPhase(node) : finishedRun ? 'Omitted' : 'NotStarted',
      attempts: [],
      retries: 0,
      artifacts: [],
    };
    if (!node) return state;
    state.nodeId = node.id;
    if (node.message) state.message = node.message;
    if (node.startedAt) state.startedAt = node.startedAt;
    if (node.finishedAt) state.finishedAt = node.finishedAt;
    const duration = seconds(node.startedAt, node.finishedAt ?? (state.phase === 'Running' || state.phase === 'Pending' ? now : undefined));
    if (duration !== undefined) state.durationSeconds = duration;
    if (node.type === 'Retry') {
      const children = (node.children ?? []).map((id) => nodes[id]).filter((n): n is NodeStatus => n !== undefined);
      state.attempts = children.map((c) => attemptOf(wf, c));
      // Until the Retry node settles, the latest attempt says what is happening.
      const last = state.attempts[state.attempts.length - 1];
      if (last && (state.phase === 'Running' || state.phase === 'Pending')) state.phase = last.phase === 'Failed' || last.phase === 'Error' ? 'Running' : last.phase;
    } else {
      state.attempts = [attemptOf(wf, node)];
    }
    state.retries = Math.max(0, state.attempts.length - 1);
    const last = state.attempts[state.attempts.length - 1];
    if (last && state.phase !== 'Cached') state.podName = last.podName;
    if (state.phase === 'Cached') state.reusedFrom = (node.message ?? '').replace(/^original pod: /, '');
    const lastNode = last ? nodes[last.nodeId] : undefined;
    state.artifacts = lastNode?.outputs?.artifacts ?? node.outputs?.artifacts ?? [];
    return state;
  });
}

/** The run's summary for a list row. */
export function summarizeRun(wf: Workflow, now: Date = new Date()): RunSummary {
  const meta = wf.metadata;
  const labels = meta.labels ?? {};
  const status = wf.status ?? {};
  const rawPhase = status.phase ?? '';
  const phase: RunPhase = RUN_PHASES.has(rawPhase) ? (rawPhase as RunPhase) : 'Pending';
  const steps = stepStates(wf, now);
  let progress = { done: steps.filter((s) => FINISHED.has(s.phase)).length, total: steps.length };
  if (steps.length === 0 && status.progress) {
    const m = /^(\d+)\/(\d+)$/.exec(status.progress);
    if (m) progress = { done: Number(m[1]), total: Number(m[2]) };
  }
  const summary: RunSummary = {
    name: meta.name ?? '',
    namespace: meta.namespace ?? '',
    phase,
    stopping: !!wf.spec.shutdown && !isFinished(phase),
    progress,
    isFlowbook: labels[LABEL_MANAGED_BY] === MANAGED_BY_VALUE,
    parameters: Object.fromEntries((wf.spec.arguments?.parameters ?? []).map((p) => [p.name, p.value ?? p.default ?? ''])),
  };
  if (meta.uid) summary.uid = meta.uid;
  if (meta.creationTimestamp) summary.createdAt = meta.creationTimestamp;
  if (status.startedAt) summary.startedAt = status.startedAt;
  if (status.finishedAt) summary.finishedAt = status.finishedAt;
  const duration = seconds(status.startedAt, status.finishedAt ?? (isFinished(phase) ? undefined : now));
  if (duration !== undefined) summary.durationSeconds = duration;
  if (status.message) summary.message = status.message;
  if (labels[LABEL_PIPELINE]) summary.pipeline = labels[LABEL_PIPELINE];
  const notebook = meta.annotations?.[ANNOTATION_NOTEBOOK_PATH] ?? labels[LABEL_NOTEBOOK];
  if (notebook) summary.notebook = notebook;
  if (labels[LABEL_VERSION]) summary.flowbookVersion = labels[LABEL_VERSION];
  if (labels[LABEL_RESUBMITTED_FROM]) summary.resubmittedFrom = labels[LABEL_RESUBMITTED_FROM];
  return summary;
}

/** Cell index → the state of the step that owns it: what the notebook's cell chips show. */
export function cellStates(wf: Workflow): Map<number, { step: string; phase: StepPhase; run: string }> {
  const out = new Map<number, { step: string; phase: StepPhase; run: string }>();
  for (const s of stepStates(wf)) for (const c of s.cells) out.set(c, { step: s.step, phase: s.phase, run: wf.metadata.name ?? '' });
  return out;
}

/** `1h 02m`, `3m 07s`, `12s`: durations as lists show them. */
export function formatDuration(totalSeconds: number | undefined): string {
  if (totalSeconds === undefined) return '';
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}
