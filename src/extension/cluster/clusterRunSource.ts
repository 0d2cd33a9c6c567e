// The cluster section of the Runs view: a `RunSource` over one context/namespace's
// `RunListModel` (list then watch, coalesced batches), so the Runs view, the run graph and
// the run commands treat cluster runs like local ones. Views of runs are cached by
// resourceVersion and only the runs a batch names are rebuilt, so a namespace of thousands
// of workflows refreshes in one pass. Loading and connection errors are notes (tree nodes).

import * as path from 'node:path';
import * as vscode from 'vscode';
import type * as Cluster from '../../cluster/index';
import { Disposable } from '../../workbench/lifecycle';
import type { ClusterCore, Connected } from './session';
import type { RunSource, RunSourceNote, RunStatus, RunStepView, RunView } from '../../workbench/runsModel';
import type { StepStatus } from '../../runner/record';

const RUN_STATUS: Record<Cluster.RunPhase, RunStatus> = { Pending: 'pending', Running: 'running', Succeeded: 'succeeded', Failed: 'failed', Error: 'failed' };
const STEP_STATUS: Record<Cluster.StepPhase, StepStatus> = {
  NotStarted: 'pending', Pending: 'pending', Running: 'running', Succeeded: 'succeeded', Failed: 'failed', Error: 'failed', Skipped: 'skipped', Omitted: 'skipped', Cached: 'cached',
};

/** One line on what happened to a step: its error, its retries, why it did not run. */
export function stepNote(s: Pick<Cluster.StepState, 'phase' | 'message' | 'retries' | 'reusedFrom'>): string | undefined {
  const parts: string[] = [];
  if (s.phase === 'Error') parts.push(`error: ${s.message ?? 'Argo could not run the step'}`);
  else if (s.phase === 'Failed') parts.push(s.message ?? 'failed');
  else if (s.phase === 'Omitted') parts.push('not run: an upstream step failed or the run was stopped');
  else if (s.phase === 'Cached') parts.push(`reused from ${s.reusedFrom ?? 'an earlier run'}`);
  else if (s.phase === 'Pending' && s.message) parts.push(s.message);
  if (s.retries > 0) parts.push(`retried ${s.retries} ${s.retries === 1 ? 'time' : 'times'}`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** A Workflow as the Runs view and the graph show it. Running steps carry `startedAt` (the view ticks), finished ones a duration. */
export function clusterRunView(core: Pick<ClusterCore, 'summarizeRun' | 'stepStates'>, source: string, wf: Cluster.Workflow, now = new Date()): RunView {
  const summary = core.summarizeRun(wf, now);
  const finished = summary.phase === 'Succeeded' || summary.phase === 'Failed' || summary.phase === 'Error';
  const steps: RunStepView[] = core.stepStates(wf, now).map((s) => {
    const step: RunStepView = {
      name: s.step,
      status: STEP_STATUS[s.phase],
      cells: s.cells,
      dependencies: s.dependencies,
      hasLogs: s.podName !== undefined && s.phase !== 'NotStarted',
    };
    const running = s.phase === 'Running' || s.phase === 'Pending';
    if (s.startedAt) step.startedAt = s.startedAt;
    // Argo's times have whole seconds: a step shorter than one shows no duration rather than "0 ms".
    if (!running && s.durationSeconds !== undefined && s.durationSeconds > 0) step.durationMs = s.durationSeconds * 1000;
    const note = stepNote(s);
    if (note) step.note = note;
    return step;
  });
  // Argo ends a stopped run as Failed ("Stopped with strategy 'Stop'"): the view says cancelled.
  const status: RunStatus = finished && wf.spec.shutdown ? 'cancelled' : RUN_STATUS[summary.phase];
  const view: RunView = {
    source,
    id: summary.name,
    title: summary.name,
    status,
    startedAt: summary.startedAt ?? summary.createdAt ?? '',
    progress: summary.progress,
    steps,
    parameters: summary.parameters,
  };
  if (summary.notebook && path.isAbsolute(summary.notebook)) view.notebook = summary.notebook;
  if (summary.finishedAt) view.finishedAt = summary.finishedAt;
  if (finished && summary.durationSeconds !== undefined && summary.durationSeconds > 0) view.durationMs = summary.durationSeconds * 1000;
  const message = summary.stopping ? `stopping${summary.message ? `: ${summary.message}` : ''}` : summary.message;
  if (message && (status !== 'succeeded')) view.error = summary.phase === 'Error' ? `Argo error: ${message}` : message;
  return view;
}

export class ClusterRunSource extends Disposable implements RunSource {
  readonly id: string;
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;
  private readonly views = new Map<string, { rv: string | undefined; view: RunView }>();
  private sorted?: RunView[];

  constructor(private readonly connected: Connected) {
    super();
    this.id = connected.sourceId;
    const runs = connected.runs;
    this._register(runs.onDidChange((c) => {
      if (c.initial || c.relisted) this.views.clear();
      for (const s of [...c.added, ...c.updated]) this.views.delete(s.name);
      for (const name of c.removed) this.views.delete(name);
      this.sorted = undefined;
      this.changed.fire();
    }));
    this._register(runs.onDidChangeState(() => this.changed.fire()));
  }

  get label(): string {
    const c = this.connected;
    return `Cluster: ${c.context} / ${c.namespace}${c.runs.scope === 'all' ? ' (all workflows)' : ''}`;
  }

  get model(): Cluster.RunListModel {
    return this.connected.runs;
  }


  /** One run's view, rebuilt only when its resourceVersion changed. */
  view(name: string): RunView | undefined {
    const wf = this.connected.runs.workflow(name);
    if (!wf) return undefined;
    const cached = this.views.get(name);
    const rv = wf.metadata.resourceVersion;
    if (cached && rv !== undefined && cached.rv === rv) return cached.view;
    const view = clusterRunView(this.connected.core, this.id, wf);
    this.views.set(name, { rv, view });
    return view;
  }

  runs(): RunView[] {
    if (!this.sorted) {
      const names = this.connected.runs.runs().map((s) => s.name);
      this.sorted = names.map((n) => this.view(n)).filter((v): v is RunView => v !== undefined);
    }
    return this.sorted;
  }

  refresh(): void {
    this.views.clear();
    this.sorted = undefined;
    this.changed.fire();
  }

  notes(): RunSourceNote[] {
    const runs = this.connected.runs;
    const state = runs.state;
    if (state.kind === 'retrying') {
      return [{ text: state.error.message, severity: 'error', tooltip: `${state.error.message}\n\nFlowbook tries again (attempt ${state.attempt}).` }];
    }
    if (state.kind === 'idle' || state.kind === 'listing') return runs.size === 0 ? [{ text: 'Loading runs…', severity: 'info' }] : [];
    if (runs.size === 0) {
      const ns = this.connected.namespace;
      return [{
        text: runs.scope === 'flowbook' ? 'No Flowbook runs yet' : 'No workflows',
        severity: 'info',
        tooltip: `Namespace ${ns} has no ${runs.scope === 'flowbook' ? 'runs submitted by Flowbook' : 'workflows'}. Run a notebook with "Run on Cluster" (notebook toolbar)${runs.scope === 'flowbook' ? ', or show all workflows of the namespace' : ''}.`,
      }];
    }
    return [];
  }
}

/** The cluster section when the kubeconfig could not be used: one error note. */
export class FailedClusterSource extends Disposable implements RunSource {
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;

  constructor(readonly id: string, readonly label: string, private readonly message: string) {
    super();
  }

  runs(): RunView[] {
    return [];
  }

  refresh(): void {
    this.changed.fire();
  }

  notes(): RunSourceNote[] {
    return [{ text: this.message, severity: 'error', tooltip: this.message }];
  }
}
