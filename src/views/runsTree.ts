// The Runs view: runs (newest first) → their steps, with status icons, progress and
// durations. Elements are plain data; ids are stable across refreshes, so the selection and
// expansion survive live updates. With more than one run source (a cluster, issue 5) the
// runs are grouped under one node per source.

import * as vscode from 'vscode';
import { Disposable } from '../workbench/lifecycle';
import { metricText, parameterText } from '../common/runCompare';
import { KFP_SOURCE } from '../kfp/runView';
import type { RunsModel, RunSource, RunSourceNote, RunStepView, RunView } from '../workbench/runsModel';

export type RunsNode =
  | { kind: 'source'; source: string; label: string }
  | { kind: 'run'; source: string; id: string }
  | { kind: 'step'; source: string; id: string; step: string }
  | { kind: 'message'; text: string; severity?: RunSourceNote['severity']; tooltip?: string };

export class RunsTree extends Disposable implements vscode.TreeDataProvider<RunsNode> {
  private readonly changed = this._register(new vscode.EventEmitter<RunsNode | undefined>());
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<RunsNode>;

  constructor(private readonly model: RunsModel) {
    super();
    this.view = this._register(vscode.window.createTreeView('flowbook.runs', { treeDataProvider: this, showCollapseAll: true, canSelectMany: true }));
    this._register(model.onDidChange(() => this.changed.fire(undefined)));
  }

  getChildren(node?: RunsNode): RunsNode[] {
    const sources = this.model.allSources();
    if (!node) {
      if (sources.length > 1) return sources.map((s) => ({ kind: 'source', source: s.id, label: s.label }));
      // No children at all lets the view show its welcome content.
      return sources.flatMap((s) => runNodes(s));
    }
    switch (node.kind) {
      case 'source': {
        const source = sources.find((s) => s.id === node.source);
        const runs = source ? runNodes(source) : [];
        // A source's notes (loading, a connection error) come first, as nodes rather than toasts.
        const notes: RunsNode[] = (source?.notes?.() ?? []).map((n) => ({ kind: 'message', ...n }));
        return runs.length > 0 || notes.length > 0 ? [...notes, ...runs] : [{ kind: 'message', text: 'No runs yet' }];
      }
      case 'run': {
        const run = this.model.find(node.source, node.id);
        return (run?.steps ?? []).map((s) => ({ kind: 'step', source: node.source, id: node.id, step: s.name }));
      }
      case 'step':
      case 'message':
        return [];
    }
  }

  getParent(node: RunsNode): RunsNode | undefined {
    switch (node.kind) {
      case 'step':
        return { kind: 'run', source: node.source, id: node.id };
      case 'run': {
        const source = this.model.allSources().find((s) => s.id === node.source);
        return this.model.allSources().length > 1 && source ? { kind: 'source', source: source.id, label: source.label } : undefined;
      }
      case 'source':
      case 'message':
        return undefined;
    }
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    switch (node.kind) {
      case 'source': {
        const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `source:${node.source}`;
        item.contextValue = `runSource:${node.source}`;
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = node.severity === 'error' ? new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'))
          : node.severity === 'warning' ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'))
          : new vscode.ThemeIcon('info');
        if (node.tooltip) item.tooltip = node.tooltip;
        item.contextValue = `runMessage:${node.severity ?? 'info'}`;
        return item;
      }
      case 'run': {
        const run = this.model.find(node.source, node.id);
        if (!run) return new vscode.TreeItem(node.id);
        return runItem(run);
      }
      case 'step': {
        const run = this.model.find(node.source, node.id);
        const step = run?.steps.find((s) => s.name === node.step);
        if (!run || !step) return new vscode.TreeItem(node.step);
        return stepItem(run, step);
      }
    }
  }
}

function runNodes(source: RunSource): RunsNode[] {
  return source.runs().map((r) => ({ kind: 'run', source: source.id, id: r.id }));
}

const RUN_ICONS: Record<string, [string, string | undefined]> = {
  pending: ['circle-large-outline', 'testing.iconQueued'],
  running: ['sync~spin', 'charts.blue'],
  succeeded: ['pass', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  cancelled: ['circle-slash', 'disabledForeground'],
  skipped: ['debug-step-over', 'disabledForeground'],
  cached: ['pass-filled', 'testing.iconPassed'],
};

function icon(status: string): vscode.ThemeIcon {
  const [id, color] = RUN_ICONS[status] ?? ['circle-large-outline', undefined];
  return new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);
}

/** Elapsed time for people: `850 ms`, `12 s`, `3 min 05 s`, `1 h 02 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

function elapsed(startedAt: string | undefined, durationMs: number | undefined): number | undefined {
  if (durationMs !== undefined) return durationMs;
  if (startedAt === undefined) return undefined;
  const t = Date.parse(startedAt);
  return Number.isNaN(t) ? undefined : Math.max(0, Date.now() - t);
}

/** When a run started: the time for today's runs, the date for older ones. */
function whenText(date: Date, now = new Date()): string {
  return date.toDateString() === now.toDateString()
    ? date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

function runItem(run: RunView): vscode.TreeItem {
  const item = new vscode.TreeItem(run.title, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `run:${run.source}:${run.id}`;
  const time = elapsed(run.startedAt, run.durationMs);
  const started = new Date(run.startedAt);
  const parts = [run.status, `${run.progress.done}/${run.progress.total}`];
  if (time !== undefined) parts.push(formatDuration(time));
  parts.push(Number.isNaN(started.getTime()) ? (run.name ?? run.id) : whenText(started));
  // What tells two runs of one notebook apart: the parameters changed, then the metrics.
  const changed = (run.changed ?? []).map((n) => `${n}=${parameterText(run.parameters?.[n])}`);
  if (changed.length > 0) parts.push(changed.join(' '));
  const metrics = Object.entries(run.metrics ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (metrics.length > 0) parts.push(metrics.map(([n, v]) => `${n} ${metricText(v)}`).join(' '));
  item.description = parts.join(' · ');
  item.iconPath = icon(run.status);
  const md = new vscode.MarkdownString();
  md.appendMarkdown('**').appendText(run.title).appendMarkdown(`** — run \`${run.name ?? run.id}\`\n\n`);
  if (run.experiment) md.appendMarkdown('Experiment: ').appendText(run.experiment).appendMarkdown('\n\n');
  md.appendMarkdown(`Status: ${run.status}, ${run.progress.done} of ${run.progress.total} steps done`);
  if (time !== undefined) md.appendMarkdown(`, ${formatDuration(time)}`);
  if (run.error) md.appendMarkdown('\n\n').appendText(run.error);
  const failed = run.steps.filter((s) => s.status === 'failed');
  for (const s of failed) md.appendMarkdown(`\n\n$(error) **${s.name}**: `).appendText(s.note ?? 'failed');
  const params = Object.keys(run.parameters ?? {}).sort();
  if (params.length > 0) {
    md.appendMarkdown('\n\n**Parameters**');
    for (const n of params) {
      const changed = run.changed?.includes(n) ? ' *(changed)*' : '';
      md.appendMarkdown('\n- ').appendText(`${n} = ${parameterText(run.parameters?.[n])}`).appendMarkdown(changed);
    }
  }
  if (metrics.length > 0) {
    md.appendMarkdown('\n\n**Metrics**');
    for (const [n, v] of metrics) md.appendMarkdown('\n- ').appendText(`${n} = ${metricText(v)}`);
  }
  if (run.note) md.appendMarkdown('\n\n*').appendText(run.note).appendMarkdown('*');
  md.appendMarkdown('\n\nClick for the run details; select several runs to compare them.');
  md.supportThemeIcons = true;
  item.tooltip = md;
  // `run:<status>:<source>`: menus match the status with a regex.
  item.contextValue = `run:${run.status}:${run.source}`;
  item.command = { title: 'Show Run Details', command: 'flowbook.showRunDetails', arguments: [{ kind: 'run', source: run.source, id: run.id }] };
  return item;
}

function stepItem(run: RunView, step: RunStepView): vscode.TreeItem {
  const item = new vscode.TreeItem(step.name, vscode.TreeItemCollapsibleState.None);
  item.id = `step:${run.source}:${run.id}:${step.name}`;
  const time = step.status === 'running' ? elapsed(step.startedAt, undefined) : step.durationMs;
  item.description = [step.status, ...(time !== undefined ? [formatDuration(time)] : [])].join(' · ');
  item.iconPath = icon(step.status);
  if (step.note) item.tooltip = `${step.name}: ${step.note}`;
  const done = run.status !== 'running' && run.status !== 'pending';
  // `:kfp` last: Kubeflow re-runs whole runs only, so "Re-run from Step" (`:runDone$`) is not offered.
  item.contextValue = `runStep:${step.status}${step.hasLogs ? ':hasLogs' : ''}${done ? ':runDone' : ''}${run.source === KFP_SOURCE ? ':kfp' : ''}`;
  if (step.hasLogs) {
    item.command = { title: 'Show Logs', command: 'flowbook.showStepLogs', arguments: [{ kind: 'step', source: run.source, id: run.id, step: step.name }] };
  }
  return item;
}
