// The Kubeflow Pipelines view: experiments → runs (newest first) → tasks with their state
// from `run_details.task_details`. Elements are plain data with stable ids; a failed fetch
// or a missing endpoint is a message node. contextValues: `kfpRun:<state>`,
// `kfpTask:<state>[:hasPod]`, matched by the menus in package.json.

import * as vscode from 'vscode';
import { Disposable } from '../../workbench/lifecycle';
import type { KfpRunsModel } from '../../kfp/runsModel';
import type { Run, RuntimeState, TaskDetail } from '../../kfp/types';

export type KfpNode =
  | { kind: 'message'; text: string; severity: 'info' | 'error' }
  | { kind: 'experiment'; experimentId: string }
  | { kind: 'run'; experimentId: string; runId: string }
  | { kind: 'task'; experimentId: string; runId: string; task: string };

const ICON: Record<string, [string, string?]> = {
  PENDING: ['clock'],
  RUNNING: ['sync~spin', 'charts.blue'],
  SUCCEEDED: ['pass', 'testing.iconPassed'],
  SKIPPED: ['debug-step-over'],
  FAILED: ['error', 'testing.iconFailed'],
  CANCELING: ['loading~spin'],
  CANCELED: ['circle-slash'],
  PAUSED: ['debug-pause'],
};

function icon(state: RuntimeState | undefined): vscode.ThemeIcon {
  const [id, color] = ICON[state ?? 'PENDING'] ?? ['circle-large-outline'];
  return new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);
}

/** `SUCCEEDED` → `Succeeded`. */
export function stateLabel(state: RuntimeState | undefined): string {
  const s = state ?? 'PENDING';
  return s.charAt(0) + s.slice(1).toLowerCase();
}

export class KfpRunsTree extends Disposable implements vscode.TreeDataProvider<KfpNode> {
  private readonly changed = this._register(new vscode.EventEmitter<KfpNode | undefined>());
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly model: () => KfpRunsModel | undefined, private readonly unconfigured: () => string | undefined) {
    super();
  }

  /** Re-reads the model (called when it changes or is replaced). */
  update(): void {
    this.changed.fire(undefined);
  }

  getChildren(node?: KfpNode): KfpNode[] {
    const model = this.model();
    if (!node) {
      const why = this.unconfigured();
      if (why || !model) return [{ kind: 'message', text: why ?? 'Loading…', severity: 'info' }];
      const s = model.snapshot;
      const notes: KfpNode[] = s.state === 'error' ? [{ kind: 'message', text: s.error ?? 'Cannot reach Kubeflow Pipelines.', severity: 'error' }] : s.state === 'loading' ? [{ kind: 'message', text: 'Loading…', severity: 'info' }] : [];
      const experiments: KfpNode[] = s.experiments.map((e) => ({ kind: 'experiment', experimentId: e.experiment.experiment_id }));
      return notes.length + experiments.length > 0 ? [...notes, ...experiments] : [{ kind: 'message', text: 'No experiments yet: run a notebook on Kubeflow.', severity: 'info' }];
    }
    if (!model) return [];
    switch (node.kind) {
      case 'experiment':
        return (model.snapshot.experiments.find((e) => e.experiment.experiment_id === node.experimentId)?.runs ?? []).map((r) => ({ kind: 'run', experimentId: node.experimentId, runId: r.run_id }));
      case 'run':
        return tasksOf(model.run(node.runId)).map((t) => ({ kind: 'task', experimentId: node.experimentId, runId: node.runId, task: t.display_name ?? t.task_id ?? '' }));
      default:
        return [];
    }
  }

  getParent(node: KfpNode): KfpNode | undefined {
    switch (node.kind) {
      case 'task':
        return { kind: 'run', experimentId: node.experimentId, runId: node.runId };
      case 'run':
        return { kind: 'experiment', experimentId: node.experimentId };
      default:
        return undefined;
    }
  }

  getTreeItem(node: KfpNode): vscode.TreeItem {
    const model = this.model();
    switch (node.kind) {
      case 'message': {
        const item = new vscode.TreeItem(node.text);
        item.iconPath = new vscode.ThemeIcon(node.severity === 'error' ? 'error' : 'info');
        item.tooltip = node.text;
        item.contextValue = `kfpMessage:${node.severity}`;
        return item;
      }
      case 'experiment': {
        const e = model?.snapshot.experiments.find((x) => x.experiment.experiment_id === node.experimentId);
        const item = new vscode.TreeItem(e?.experiment.display_name ?? node.experimentId, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `kfp-experiment:${node.experimentId}`;
        item.iconPath = new vscode.ThemeIcon('beaker');
        const count = e?.runs.length ?? 0;
        item.description = `${count} ${count === 1 ? 'run' : 'runs'}${e?.experiment.namespace ? ` · ${e.experiment.namespace}` : ''}`;
        item.contextValue = 'kfpExperiment';
        return item;
      }
      case 'run': {
        const run = model?.run(node.runId);
        const tasks = tasksOf(run);
        const item = new vscode.TreeItem(run?.display_name ?? node.runId, tasks.length > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
        item.id = `kfp-run:${node.runId}`;
        item.iconPath = icon(run?.state);
        const done = tasks.filter((t) => t.state === 'SUCCEEDED' || t.state === 'SKIPPED').length;
        item.description = `${stateLabel(run?.state)}${tasks.length > 0 ? ` · ${done}/${tasks.length}` : ''}`;
        item.tooltip = runTooltip(run);
        item.contextValue = `kfpRun:${run?.state ?? 'PENDING'}`;
        return item;
      }
      case 'task': {
        const t = tasksOf(model?.run(node.runId)).find((x) => (x.display_name ?? x.task_id) === node.task);
        const item = new vscode.TreeItem(node.task);
        item.id = `kfp-task:${node.runId}:${node.task}`;
        item.iconPath = icon(t?.state);
        item.description = stateLabel(t?.state);
        item.tooltip = t?.error?.message ? `${node.task}: ${t.error.message}` : `${node.task}: ${stateLabel(t?.state)}`;
        item.contextValue = `kfpTask:${t?.state ?? 'PENDING'}${t?.pod_name ? ':hasPod' : ''}`;
        if (t?.pod_name) item.command = { title: 'Show Log', command: 'flowbook.showKfpTaskLog', arguments: [node] };
        return item;
      }
    }
  }
}

/** The tasks a user wrote: KFP's own driver and DAG tasks (`root`, `*-driver`) are left out. */
export function tasksOf(run: Run | undefined): TaskDetail[] {
  return (run?.run_details?.task_details ?? []).filter((t) => t.display_name !== undefined && t.display_name !== 'root' && !t.display_name.endsWith('-driver'));
}

function runTooltip(run: Run | undefined): string {
  if (!run) return '';
  const lines = [`${run.display_name}: ${stateLabel(run.state)}`];
  if (run.created_at) lines.push(`created ${run.created_at}`);
  if (run.finished_at) lines.push(`finished ${run.finished_at}`);
  const params = Object.entries(run.runtime_config?.parameters ?? {});
  if (params.length > 0) lines.push(`parameters: ${params.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`);
  if (run.error?.message) lines.push(run.error.message);
  return lines.join('\n');
}
