// A run as the views show it, whatever its source (local runner, Argo cluster, Kubeflow
// Pipelines): plain data, no `vscode`, so the core folders can build these views and the
// unit tests can check them. The Runs view, the graph and the results pages read only this.

import type { StepStatus } from '../runner/record';
import type { MissingModules } from '../runner/python';

export type RunStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface RunStepView {
  name: string;
  status: StepStatus;
  cells: number[];
  dependencies: string[];
  durationMs?: number;
  startedAt?: string;
  /** True when the step has log files (it started). */
  hasLogs: boolean;
  /** One line: the error of a failed step, or why it was skipped or cached. */
  note?: string;
  /** For a cached step: the run (of the same source) whose outputs and logs it reused. */
  cachedFrom?: string;
  /** Metrics the step wrote. */
  metrics?: Record<string, number>;
}

/** A run as the views show it, whatever its source. */
export interface RunView {
  /** The source's id: `local`, `cluster/<context>/<namespace>`, `kfp`. */
  source: string;
  id: string;
  /** A short name people read in place of `id` when the id is long (KFP: the run's key). */
  name?: string;
  /** Usually the notebook's file name. */
  title: string;
  /** The notebook's path, when known. */
  notebook?: string;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  progress: { done: number; total: number };
  steps: RunStepView[];
  error?: string;
  /** Local runs: the run folder. */
  dir?: string;
  /** Pipeline parameter → the value this run used (JSON values; cluster runs: strings). */
  parameters?: Record<string, unknown>;
  /** Parameters whose values differ from the previous run of the same notebook. */
  changed?: string[];
  /** Metric name → value. */
  metrics?: Record<string, number>;
  /** The experiment the run belongs to (KFP). */
  experiment?: string;
  /** One quiet line about the run (KFP: why its metrics could not be read). */
  note?: string;
  /** Packages the interpreter lacked, found before any step ran (local runs). */
  missingPackages?: MissingModules;
}
