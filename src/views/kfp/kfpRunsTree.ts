// The Kubeflow Pipelines view: what is KFP's own, beside the runs (which live in the Runs
// view's "Kubeflow Pipelines" section): the pipelines with their versions, and the
// experiments of the profile with how many runs each has and their schedules (recurring
// runs) with enable/disable. Elements are plain data with stable ids; a failed fetch or a
// missing endpoint is a message node. contextValues: `kfpPipeline`, `kfpVersion`,
// `kfpExperiment`, `kfpSchedule:<enabled|disabled>`, matched by the menus in package.json.

import * as vscode from 'vscode';
import { Disposable } from '../../workbench/lifecycle';
import type { KfpRunsModel } from '../../kfp/runsModel';
import type { RecurringRun, RuntimeState } from '../../kfp/types';

export type KfpNode =
  | { kind: 'message'; text: string; severity: 'info' | 'error' }
  | { kind: 'group'; group: 'pipelines' | 'experiments' }
  | { kind: 'pipeline'; pipelineId: string }
  | { kind: 'version'; pipelineId: string; versionId: string }
  | { kind: 'experiment'; experimentId: string }
  | { kind: 'schedule'; experimentId: string; recurringRunId: string };

/** `SUCCEEDED` → `Succeeded`. */
export function stateLabel(state: RuntimeState | undefined): string {
  const s = state ?? 'PENDING';
  return s.charAt(0) + s.slice(1).toLowerCase();
}

/** `churn 0 3 * * * 1a2b3c4d` (Flowbook's schedule names) → `churn`, `0 3 * * *`. */
export function scheduleParts(schedule: RecurringRun): { pipeline: string; crontab?: string } {
  const m = /^(\S+)\s+(.+?)\s+[0-9a-f]{6,}$/.exec(schedule.display_name);
  return m?.[1] && m[2] ? { pipeline: m[1], crontab: m[2] } : { pipeline: schedule.display_name };
}

function enabled(schedule: RecurringRun): boolean {
  return schedule.status !== 'DISABLED' && schedule.mode !== 'DISABLE';
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
      if (s.experiments.length === 0 && s.pipelines.length === 0) return notes.length > 0 ? notes : [{ kind: 'message', text: 'No pipelines yet: run a notebook on Kubeflow.', severity: 'info' }];
      return [...notes, { kind: 'group', group: 'pipelines' }, { kind: 'group', group: 'experiments' }];
    }
    if (!model) return [];
    const s = model.snapshot;
    switch (node.kind) {
      case 'group':
        return node.group === 'pipelines'
          ? s.pipelines.map((p) => ({ kind: 'pipeline', pipelineId: p.pipeline.pipeline_id }))
          : s.experiments.map((e) => ({ kind: 'experiment', experimentId: e.experiment.experiment_id }));
      case 'pipeline':
        return (s.pipelines.find((p) => p.pipeline.pipeline_id === node.pipelineId)?.versions ?? []).map((v) => ({ kind: 'version', pipelineId: node.pipelineId, versionId: v.pipeline_version_id }));
      case 'experiment':
        return (s.experiments.find((e) => e.experiment.experiment_id === node.experimentId)?.schedules ?? []).map((r) => ({ kind: 'schedule', experimentId: node.experimentId, recurringRunId: r.recurring_run_id }));
      default:
        return [];
    }
  }

  getParent(node: KfpNode): KfpNode | undefined {
    switch (node.kind) {
      case 'schedule':
        return { kind: 'experiment', experimentId: node.experimentId };
      case 'version':
        return { kind: 'pipeline', pipelineId: node.pipelineId };
      case 'pipeline':
        return { kind: 'group', group: 'pipelines' };
      case 'experiment':
        return { kind: 'group', group: 'experiments' };
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
      case 'group': {
        const pipelines = node.group === 'pipelines';
        const count = pipelines ? (model?.snapshot.pipelines.length ?? 0) : (model?.snapshot.experiments.length ?? 0);
        const item = new vscode.TreeItem(pipelines ? 'Pipelines' : 'Experiments', count > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        item.id = `kfp-group:${node.group}`;
        item.description = String(count);
        item.tooltip = pipelines ? 'The pipelines in Kubeflow Pipelines, each with its versions (newest first).' : 'The experiments of your profile, with their schedules. Their runs are in the Runs view, under "Kubeflow Pipelines".';
        item.contextValue = `kfpGroup:${node.group}`;
        return item;
      }
      case 'pipeline': {
        const p = model?.snapshot.pipelines.find((x) => x.pipeline.pipeline_id === node.pipelineId);
        const versions = p?.versions.length ?? 0;
        const item = new vscode.TreeItem(p?.pipeline.display_name ?? p?.pipeline.name ?? node.pipelineId, versions > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
        item.id = `kfp-pipeline:${node.pipelineId}`;
        item.iconPath = new vscode.ThemeIcon('type-hierarchy');
        item.description = `${versions} ${versions === 1 ? 'version' : 'versions'}`;
        item.tooltip = [p?.pipeline.display_name ?? node.pipelineId, p?.pipeline.description, p?.pipeline.namespace ? `namespace ${p.pipeline.namespace}` : 'shared'].filter(Boolean).join('\n');
        item.contextValue = 'kfpPipeline';
        return item;
      }
      case 'version': {
        const v = model?.snapshot.pipelines.find((x) => x.pipeline.pipeline_id === node.pipelineId)?.versions.find((x) => x.pipeline_version_id === node.versionId);
        const item = new vscode.TreeItem(v?.display_name ?? v?.name ?? node.versionId);
        item.id = `kfp-version:${node.versionId}`;
        item.iconPath = new vscode.ThemeIcon('versions');
        if (v?.created_at) item.description = v.created_at.slice(0, 16).replace('T', ' ');
        item.tooltip = [v?.name ?? node.versionId, v?.description, v?.code_source_url ? `source: ${v.code_source_url}` : undefined].filter(Boolean).join('\n');
        item.contextValue = 'kfpVersion';
        return item;
      }
      case 'experiment': {
        const e = model?.snapshot.experiments.find((x) => x.experiment.experiment_id === node.experimentId);
        const schedules = e?.schedules.length ?? 0;
        const item = new vscode.TreeItem(e?.experiment.display_name ?? node.experimentId, schedules > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        item.id = `kfp-experiment:${node.experimentId}`;
        item.iconPath = new vscode.ThemeIcon('beaker');
        const runs = e?.runs.length ?? 0;
        const parts = [`${runs} ${runs === 1 ? 'run' : 'runs'}`];
        if (schedules > 0) parts.push(`${schedules} ${schedules === 1 ? 'schedule' : 'schedules'}`);
        item.description = parts.join(' · ');
        const md = new vscode.MarkdownString();
        md.appendMarkdown('**').appendText(e?.experiment.display_name ?? node.experimentId).appendMarkdown('**');
        if (e?.experiment.namespace) md.appendMarkdown('\n\nNamespace: ').appendText(e.experiment.namespace);
        if (e?.experiment.description) md.appendMarkdown('\n\n').appendText(e.experiment.description);
        md.appendMarkdown(`\n\n${runs} ${runs === 1 ? 'run' : 'runs'}: they are in the Runs view, under "Kubeflow Pipelines".`);
        item.tooltip = md;
        item.contextValue = 'kfpExperiment';
        return item;
      }
      case 'schedule': {
        const r = model?.snapshot.experiments.find((x) => x.experiment.experiment_id === node.experimentId)?.schedules.find((x) => x.recurring_run_id === node.recurringRunId);
        if (!r) return new vscode.TreeItem(node.recurringRunId);
        const { pipeline, crontab } = scheduleParts(r);
        const on = enabled(r);
        const item = new vscode.TreeItem(crontab ? `${pipeline} · ${crontab}` : pipeline);
        item.id = `kfp-schedule:${node.recurringRunId}`;
        item.iconPath = new vscode.ThemeIcon(on ? 'watch' : 'debug-pause', on ? undefined : new vscode.ThemeColor('disabledForeground'));
        item.description = on ? 'enabled' : 'disabled';
        const lines = [`${r.display_name}: ${on ? 'enabled' : 'disabled'}`];
        if (r.trigger?.cron_schedule?.cron) lines.push(`KFP cron: ${r.trigger.cron_schedule.cron}`);
        if (r.max_concurrency) lines.push(`at most ${r.max_concurrency} at a time`);
        if (r.no_catchup !== undefined) lines.push(r.no_catchup ? 'missed runs are skipped' : 'missed runs are caught up');
        item.tooltip = lines.join('\n');
        item.contextValue = `kfpSchedule:${on ? 'enabled' : 'disabled'}`;
        return item;
      }
    }
  }
}
