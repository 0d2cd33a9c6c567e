// The Inference Services view: the KServe InferenceServices of the current namespace
// (serving.kserve.io and the legacy serving.kubeflow.org), live from a watch. Each service
// shows whether it is ready and why not; its children are the details (URL, model format
// and storageUri, deployment mode, traffic and revisions, canary, age) and its conditions
// with their reasons. Loading and failures are message nodes; an unconfigured cluster or a
// cluster without KServe leaves the view empty so its welcome content shows.

import * as vscode from 'vscode';
import type * as Cluster from '../../cluster/index';
import { Disposable } from '../../workbench/lifecycle';

export type IsvcViewState =
  | { kind: 'unconfigured' }
  | { kind: 'loading'; message: string }
  | { kind: 'notInstalled'; message: string }
  | { kind: 'failed'; message: string }
  | { kind: 'ready'; scope: string; namespace: string; error?: string };

/** What the tree reads: the KServe feature (src/extension/cluster/kserve.ts) implements it. */
export interface InferenceServicesSource {
  readonly onDidChange: vscode.Event<void>;
  viewState(): IsvcViewState;
  services(): readonly Cluster.InferenceServiceSummary[];
  /** Called when the view needs data: the first use that loads the client. */
  activate(): void;
}

export type IsvcNode =
  | { kind: 'message'; text: string; severity: 'info' | 'warning' | 'error'; tooltip?: string }
  | { kind: 'service'; scope: string; key: string }
  | { kind: 'detail'; scope: string; key: string; label: string; value: string; icon?: string; tooltip?: string };

/** `3d 4h`, `5h 02m`, `12m`, `40s`: an age as `kubectl get` prints it. */
export function formatAge(seconds: number | undefined): string {
  if (seconds === undefined) return '';
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m`;
  return `${seconds}s`;
}

/** The traffic split as one line: `90% → sk-00002 (latest), 10% → sk-00001 (prev)`. */
export function trafficText(s: Cluster.InferenceServiceSummary): string {
  return s.traffic.map((t) => `${t.percent}% → ${t.revision || '?'}${t.latest ? ' (latest)' : t.tag ? ` (${t.tag})` : ''}`).join(', ');
}

/** The detail rows of a service, in the order the view lists them. */
export function serviceDetails(s: Cluster.InferenceServiceSummary): { label: string; value: string; icon: string; tooltip?: string }[] {
  const rows: { label: string; value: string; icon: string; tooltip?: string }[] = [];
  rows.push({ label: 'URL', value: s.url ?? 'not assigned yet', icon: 'link', tooltip: [s.url, s.internalUrl ? `inside the cluster: ${s.internalUrl}` : undefined].filter(Boolean).join('\n') });
  const model = [s.predictor.modelFormat ?? 'unknown format', s.predictor.runtime ? `runtime ${s.predictor.runtime}` : undefined, s.predictor.protocolVersion ? `protocol ${s.predictor.protocolVersion}` : undefined].filter(Boolean).join(' · ');
  rows.push({ label: 'Model', value: model, icon: 'symbol-class' });
  if (s.predictor.storageUri) rows.push({ label: 'Storage', value: s.predictor.storageUri, icon: 'database' });
  rows.push({ label: 'Mode', value: s.deploymentMode, icon: 'server-process' });
  if (s.traffic.length > 0) rows.push({ label: 'Traffic', value: trafficText(s), icon: 'arrow-swap' });
  if (s.latestReadyRevision) rows.push({ label: 'Latest ready revision', value: s.latestReadyRevision, icon: 'versions' });
  if (s.canary) rows.push({ label: 'Canary', value: `${s.canary.percent}% · ${s.canary.state}`, icon: 'beaker', tooltip: s.canary.message });
  if (s.modelState) rows.push({ label: 'Model state', value: s.modelState, icon: 'pulse', ...(s.lastFailure ? { tooltip: `${s.lastFailure.reason ?? ''} ${s.lastFailure.message ?? ''}`.trim() } : {}) });
  if (s.sourceRun) rows.push({ label: 'Deployed from', value: s.sourceRun, icon: 'cloud-upload' });
  if (s.ageSeconds !== undefined) rows.push({ label: 'Age', value: formatAge(s.ageSeconds), icon: 'history', ...(s.createdAt ? { tooltip: `created ${s.createdAt}` } : {}) });
  for (const c of s.conditions) {
    const icon = c.status === 'True' ? 'pass' : c.status === 'False' ? 'error' : 'question';
    rows.push({ label: c.type, value: `${c.status}${c.reason ? ` · ${c.reason}` : ''}`, icon, ...(c.message ? { tooltip: c.message } : {}) });
  }
  return rows;
}

export class InferenceServicesTree extends Disposable implements vscode.TreeDataProvider<IsvcNode> {
  private readonly changed = this._register(new vscode.EventEmitter<IsvcNode | undefined>());
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<IsvcNode>;

  constructor(private readonly source: InferenceServicesSource) {
    super();
    this.view = this._register(vscode.window.createTreeView('flowbook.inferenceServices', { treeDataProvider: this, showCollapseAll: true }));
    this._register(source.onDidChange(() => {
      this.changed.fire(undefined);
      this.updateDescription();
    }));
    this._register(this.view.onDidChangeVisibility((e) => {
      if (e.visible) source.activate();
    }));
    if (this.view.visible) source.activate();
  }

  private updateDescription(): void {
    const s = this.source.viewState();
    this.view.description = s.kind === 'ready' ? s.scope : undefined;
  }

  private find(key: string): Cluster.InferenceServiceSummary | undefined {
    return this.source.services().find((s) => s.key === key);
  }

  getChildren(node?: IsvcNode): IsvcNode[] {
    if (node) {
      if (node.kind !== 'service') return [];
      const s = this.find(node.key);
      return s ? serviceDetails(s).map((d) => ({ kind: 'detail', scope: node.scope, key: node.key, ...d })) : [];
    }
    this.source.activate();
    const state = this.source.viewState();
    switch (state.kind) {
      case 'unconfigured':
      case 'notInstalled':
        // Empty: the view's welcome content says what to do.
        return [];
      case 'loading':
        return [{ kind: 'message', text: state.message, severity: 'info' }];
      case 'failed':
        return [{ kind: 'message', text: state.message, severity: 'error', tooltip: state.message }];
      case 'ready': {
        const nodes: IsvcNode[] = [];
        if (state.error) nodes.push({ kind: 'message', text: state.error, severity: 'error', tooltip: `${state.error}\n\nFlowbook keeps trying.` });
        const services = this.source.services();
        for (const s of services) nodes.push({ kind: 'service', scope: state.scope, key: s.key });
        if (services.length === 0 && !state.error) {
          nodes.push({ kind: 'message', text: `No InferenceServices in namespace ${state.namespace}`, severity: 'info', tooltip: 'Deploy a model from a succeeded cluster run: right-click the run in the Runs view → Deploy Model from Step…' });
        }
        return nodes;
      }
    }
  }

  getParent(node: IsvcNode): IsvcNode | undefined {
    return node.kind === 'detail' ? { kind: 'service', scope: node.scope, key: node.key } : undefined;
  }

  getTreeItem(node: IsvcNode): vscode.TreeItem {
    switch (node.kind) {
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = node.severity === 'error' ? new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'))
          : node.severity === 'warning' ? new vscode.ThemeIcon('warning') : new vscode.ThemeIcon('info');
        if (node.tooltip) item.tooltip = node.tooltip;
        item.contextValue = `isvcMessage:${node.severity}`;
        return item;
      }
      case 'service': {
        const s = this.find(node.key);
        if (!s) return new vscode.TreeItem(node.key);
        return serviceItem(node.scope, s);
      }
      case 'detail': {
        const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
        item.id = `isvc:${node.scope}/${node.key}/${node.label}`;
        item.description = node.value;
        item.tooltip = node.tooltip ? `${node.value}\n${node.tooltip}` : node.value;
        if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon);
        item.contextValue = `isvcDetail:${node.label === 'URL' ? 'url' : 'field'}`;
        return item;
      }
    }
  }
}

function serviceItem(scope: string, s: Cluster.InferenceServiceSummary): vscode.TreeItem {
  const item = new vscode.TreeItem(s.name, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `isvc:${scope}/${s.key}`;
  const ready = s.ready === 'True' ? 'Ready' : s.ready === 'False' ? 'Not ready' : 'Unknown';
  // Why not: the reason of the first failing condition, in the row itself.
  const failing = s.conditions.find((c) => c.status === 'False' && c.type !== 'Ready' && c.reason) ?? s.conditions.find((c) => c.type === 'Ready' && c.status === 'False' && c.reason);
  const state = s.ready !== 'True' && failing?.reason ? `${ready} (${failing.reason})` : ready;
  item.description = [state, s.predictor.modelFormat, s.url].filter(Boolean).join(' · ');
  item.iconPath = s.ready === 'True' ? new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'))
    : s.ready === 'False' ? new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'))
    : new vscode.ThemeIcon('loading~spin');
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${s.name}** — InferenceService (${s.apiVersion})\n\n`);
  md.appendMarkdown(`${ready}`);
  if (s.notReadyReason) md.appendMarkdown(': ').appendText(s.notReadyReason);
  md.appendMarkdown('\n\n');
  for (const d of serviceDetails(s)) {
    md.appendMarkdown(`- ${d.label}: `).appendText(d.value);
    md.appendMarkdown('\n');
  }
  item.tooltip = md;
  item.contextValue = `isvc:${s.ready === 'True' ? 'ready' : 'notready'}${s.group === 'serving.kubeflow.org' ? ':legacy' : ''}`;
  return item;
}
