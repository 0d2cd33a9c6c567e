// Hosts the pipeline graph webview: one panel per notebook, showing the static pipeline or
// one of its runs with live status colours. Strict CSP (default-src 'none', nonce script),
// resources only from dist/ and media/, data only by postMessage after the page's `ready`.
// A WebviewPanelSerializer restores panels after a reload from the page's saved state.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Pipeline } from '../converter/ir';
import { Disposable } from '../workbench/lifecycle';
import type { Ctx } from '../workbench/context';
import { revealCells, targetNotebook } from '../workbench/cells';
import type { NotebookModels } from '../workbench/notebookModel';
import { GRAPH_VIEW_TYPE, type GraphEdge, type GraphModel, type GraphNode, type HostMessage, type NodeStatus, type PageMessage, type PanelState } from '../webview/protocol';
import type { RunsModel, RunView } from '../workbench/runsModel';
import { formatDuration } from './runsTree';
import { webviewHtml } from './webviewHtml';
import { stepColour } from '../workbench/stepColour';

/** A run as commands receive it (a Runs view node or the runner). */
export interface RunRef {
  source: string;
  id: string;
}

export interface RenderReport {
  notebook: string;
  runId?: string;
  nodes: number;
  ms: number;
  statuses: Record<string, NodeStatus>;
}

export class GraphPanels extends Disposable {
  private readonly panels = new Map<string, GraphPanel>();
  private readonly rendered = this._register(new vscode.EventEmitter<RenderReport>());
  /** Fires when a page has drawn a graph (the integration suite measures with it). */
  readonly onDidRender = this.rendered.event;

  constructor(
    readonly ctx: Ctx,
    readonly models: NotebookModels,
    readonly runs: RunsModel,
    private readonly currentNotebook: () => vscode.Uri | undefined,
  ) {
    super();
    this._register(vscode.window.registerWebviewPanelSerializer(GRAPH_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: unknown) => {
        const s = state as Partial<PanelState> | undefined;
        if (!s?.notebook) {
          panel.dispose();
          return;
        }
        const [source, ...id] = (s.run ?? '').split(':');
        const run = s.run && source ? { source, id: id.join(':') } : undefined;
        this.adopt(panel, vscode.Uri.parse(s.notebook), run);
      },
    }));
  }

  /** Show Pipeline Graph: the static pipeline of the target (or active) notebook. */
  async showForNotebook(target: unknown): Promise<void> {
    const doc = target instanceof vscode.Uri && !targetNotebook(target) ? await vscode.workspace.openNotebookDocument(target) : targetNotebook(target);
    const uri = doc?.uri ?? this.currentNotebook();
    if (!uri) {
      void vscode.window.showInformationMessage('Open a Jupyter notebook to see its pipeline graph.');
      return;
    }
    if (doc) void this.models.current(doc);
    this.open(uri, undefined);
  }

  /** Open Graph on a run: the run's notebook's panel switches to that run. */
  async showForRun(target: unknown): Promise<void> {
    const ref = target as Partial<RunRef> | undefined;
    if (!ref?.source || !ref.id) return;
    const run = this.runs.find(ref.source, ref.id);
    if (!run?.notebook) {
      void vscode.window.showWarningMessage(`Run ${ref.id} is no longer available.`);
      return;
    }
    this.open(vscode.Uri.file(run.notebook), { source: ref.source, id: ref.id });
  }

  /** True when the graph panel of `notebook` is visible (then "Open Graph" is not worth offering). */
  isVisible(notebook: string): boolean {
    return this.panels.get(vscode.Uri.file(notebook).toString())?.panel.visible === true;
  }

  /** Reveals a cell of a notebook: `({ notebook, cell }, line?)`. */
  async revealCell(target: unknown, line?: number): Promise<void> {
    const t = target as { notebook?: string; cell?: number } | undefined;
    if (!t?.notebook || t.cell === undefined) return;
    const doc = await vscode.workspace.openNotebookDocument(vscode.Uri.parse(t.notebook));
    await revealCells(doc, [t.cell], line);
  }

  private open(notebook: vscode.Uri, run: RunRef | undefined): void {
    const existing = this.panels.get(notebook.toString());
    if (existing) {
      existing.show(run);
      return;
    }
    const panel = vscode.window.createWebviewPanel(GRAPH_VIEW_TYPE, titleOf(notebook, run), { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, this.webviewOptions());
    this.adopt(panel, notebook, run);
  }

  webviewOptions(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    const root = this.ctx.extension.extensionUri;
    return {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(root, 'dist'), vscode.Uri.joinPath(root, 'media')],
    };
  }

  private adopt(panel: vscode.WebviewPanel, notebook: vscode.Uri, run: RunRef | undefined): void {
    panel.webview.options = this.webviewOptions();
    const graph = new GraphPanel(this, panel, notebook, run);
    this.panels.set(notebook.toString(), graph);
    panel.onDidDispose(() => {
      if (this.panels.get(notebook.toString()) === graph) this.panels.delete(notebook.toString());
      graph.dispose();
    });
  }

  /** Called by a panel's page after drawing. */
  reportRender(report: RenderReport): void {
    this.ctx.log.debug(`graph of ${path.basename(report.notebook)} drawn: ${report.nodes} steps in ${report.ms} ms`);
    this.rendered.fire(report);
  }

  override dispose(): void {
    for (const p of this.panels.values()) p.panel.dispose();
    super.dispose();
  }
}

function titleOf(notebook: vscode.Uri, run: RunRef | undefined): string {
  const name = path.basename(notebook.path);
  return run ? `Run: ${name}` : `Graph: ${name}`;
}

class GraphPanel extends Disposable {
  private ready = false;
  private requestId = 0;
  private shape?: string;
  private statuses: Record<string, NodeStatus> = {};

  constructor(private readonly host: GraphPanels, readonly panel: vscode.WebviewPanel, private readonly notebook: vscode.Uri, private run: RunRef | undefined) {
    super();
    panel.iconPath = vscode.Uri.joinPath(host.ctx.extension.extensionUri, 'media', 'flowbook.svg');
    panel.webview.html = this.html(panel.webview);
    this._register(panel.webview.onDidReceiveMessage((m: PageMessage) => this.onMessage(m)));
    this._register(host.models.onDidAnalyze((a) => {
      if (a.document.uri.toString() === notebook.toString()) this.update();
    }));
    this._register(host.runs.onDidChange(() => {
      if (this.run) this.update();
    }));
  }

  show(run: RunRef | undefined): void {
    const changed = run?.source !== this.run?.source || run?.id !== this.run?.id;
    this.run = run;
    this.panel.title = titleOf(this.notebook, run);
    this.panel.reveal(undefined, true);
    if (changed) {
      this.shape = undefined;
      this.update();
    }
  }

  private onMessage(message: PageMessage): void {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        this.shape = undefined;
        this.update();
        break;
      case 'openNode':
        void this.openNode(message.id, message.action).catch((err) => this.host.ctx.showError(`Flowbook: cannot open step ${message.id}: ${String(err)}`, err));
        break;
      case 'rendered': {
        const report: RenderReport = { notebook: this.notebook.toString(), nodes: message.nodes, ms: message.ms, statuses: { ...this.statuses } };
        if (this.run) report.runId = this.run.id;
        this.host.reportRender(report);
        break;
      }
      case 'error':
        this.host.ctx.log.error(`graph page: ${message.message}`);
        break;
    }
  }

  private async openNode(step: string, action: 'reveal' | 'logs'): Promise<void> {
    if (action === 'logs' && this.run) {
      const show = this.host.runs.actionsFor(this.run.source).showLogs;
      if (show) await show({ kind: 'step', source: this.run.source, id: this.run.id, step }, step);
      return;
    }
    const doc = await vscode.workspace.openNotebookDocument(this.notebook);
    const analysis = await this.host.models.current(doc);
    const cells = analysis?.pipeline.steps.find((s) => s.name === step)?.cells
      ?? (this.run ? this.host.runs.find(this.run.source, this.run.id)?.steps.find((s) => s.name === step)?.cells : undefined)
      ?? [];
    await revealCells(doc, cells);
  }

  private update(): void {
    if (!this.ready) return;
    const pipeline = this.host.models.get(this.notebook)?.pipeline;
    const run = this.run ? this.host.runs.find(this.run.source, this.run.id) : undefined;
    const state: PanelState = { notebook: this.notebook.toString() };
    if (this.run) state.run = `${this.run.source}:${this.run.id}`;
    let message: HostMessage;
    if (this.run && !run) {
      message = { type: 'empty', message: `Run ${this.run.id} is not available (deleted, or its folder is not watched).` };
    } else {
      const graph = run ? runGraph(run, pipeline) : pipeline ? pipelineGraph(pipeline) : undefined;
      if (!graph) {
        message = { type: 'empty', message: 'Analysing the notebook…' };
      } else if (graph.nodes.length === 0) {
        message = { type: 'empty', message: 'The notebook has no code cells to run yet.' };
      } else {
        this.statuses = Object.fromEntries(graph.nodes.map((n) => [n.id, n.status]));
        const shape = JSON.stringify([graph.nodes.map((n) => n.id), graph.edges.map((e) => [e.from, e.to, e.label])]);
        if (shape === this.shape) {
          message = { type: 'status', subtitle: graph.subtitle, nodes: graph.nodes.map(({ id, status, detail, tooltip, hasLogs }) => ({ id, status, hasLogs, ...(detail ? { detail } : {}), ...(tooltip ? { tooltip } : {}) })) };
        } else {
          this.shape = shape;
          message = { type: 'graph', requestId: ++this.requestId, graph, state };
        }
        if (message.type === 'status') {
          // Status updates are drawn without a layout: report them as rendered at once.
          const report: RenderReport = { notebook: this.notebook.toString(), nodes: graph.nodes.length, ms: 0, statuses: { ...this.statuses } };
          if (this.run) report.runId = this.run.id;
          void this.panel.webview.postMessage(message).then(() => this.host.reportRender(report));
          return;
        }
      }
    }
    void this.panel.webview.postMessage(message);
  }

  private html(webview: vscode.Webview): string {
    return webviewHtml(webview, this.host.ctx.extension.extensionUri, {
      script: 'webview.js',
      style: 'graph.css',
      title: 'Pipeline graph',
      images: true,
      body: `<header>
  <div><h1 id="title">Pipeline graph</h1><div id="subtitle"></div></div>
  <div class="toolbar">
    <vscode-button id="zoomOut" secondary title="Zoom out">−</vscode-button>
    <vscode-button id="zoomIn" secondary title="Zoom in">+</vscode-button>
    <vscode-button id="fit" secondary title="Fit the graph to the panel">Fit</vscode-button>
  </div>
</header>
<div id="message">Loading…</div>
<div id="canvas" hidden></div>
<footer class="legend"><span class="l-pending">pending</span><span class="l-running">running</span><span class="l-succeeded">succeeded</span><span class="l-failed">failed</span><span class="hint">Click a step: its cells (its logs during a run). Shift+click: its cells.</span></footer>`,
    });
  }
}

/** The static pipeline as a graph. */
export function pipelineGraph(pipeline: Pipeline): GraphModel {
  const errors = pipeline.diagnostics.filter((d) => d.severity === 'error').length;
  const nodes: GraphNode[] = pipeline.steps.map((s, i) => {
    const tooltip = [
      `${s.name} (${s.cells.length} ${s.cells.length === 1 ? 'cell' : 'cells'})`,
      ...(s.inputs.length > 0 ? [`receives ${s.inputs.map((i) => `${i.name} from ${i.from}`).join(', ')}`] : []),
      ...(s.outputs.length > 0 ? [`passes on ${s.outputs.join(', ')}`] : []),
      'click: reveal cells',
    ].join('\n');
    const errors = pipeline.diagnostics.filter((d) => d.severity === 'error' && d.cell !== undefined && s.cells.includes(d.cell)).length;
    const cells = `${s.cells.length} ${s.cells.length === 1 ? 'cell' : 'cells'}`;
    const node: GraphNode = {
      id: s.name, label: s.name, status: 'idle', cells: s.cells, hasLogs: false, colour: stepColour(i),
      detail: errors > 0 ? `⚠ ${errors} ${errors === 1 ? 'error' : 'errors'} · ${cells}` : cells,
      tooltip: errors > 0 ? `${tooltip}\n${errors === 1 ? 'An error' : `${errors} errors`} in this step's cells: see Problems` : tooltip,
    };
    if (errors > 0) node.errors = errors;
    return node;
  });
  return {
    title: pipeline.name,
    subtitle: `${pipeline.steps.length} ${pipeline.steps.length === 1 ? 'step' : 'steps'} · not run${errors > 0 ? ` · ${errors} ${errors === 1 ? 'error' : 'errors'}: see Problems` : ''}`,
    nodes,
    edges: pipelineEdges(pipeline),
  };
}

function pipelineEdges(pipeline: Pipeline): GraphEdge[] {
  return pipeline.edges.map((e) => {
    const data = e.reasons.find((r) => r.kind === 'data');
    const kind = data ? 'data' : e.reasons.some((r) => r.kind === 'prev') ? 'prev' : 'order';
    const label = data && data.kind === 'data' ? data.names.join(', ') : kind === 'prev' ? 'prev: tag' : 'notebook order';
    return { from: e.from, to: e.to, kind, label };
  });
}

/** A run as a graph: its steps and dependencies, coloured by status. */
export function runGraph(run: RunView, pipeline: Pipeline | undefined): GraphModel {
  const nodes: GraphNode[] = run.steps.map((s) => {
    const detail = s.status === 'running' ? 'running…'
      : s.durationMs !== undefined ? `${s.status} · ${formatDuration(s.durationMs)}` : s.status;
    const tooltip = [`${s.name}: ${s.status}`, ...(s.note ? [s.note] : []), s.hasLogs ? 'click: logs · Shift+click: cells' : 'click: reveal cells'].join('\n');
    const colour = pipeline?.steps.findIndex((p) => p.name === s.name) ?? -1;
    return { id: s.name, label: s.name, status: s.status, cells: s.cells, detail, tooltip, hasLogs: s.hasLogs, ...(colour >= 0 ? { colour: stepColour(colour) } : {}) };
  });
  const known = new Map((pipeline ? pipelineEdges(pipeline) : []).map((e) => [`${e.from}\u0000${e.to}`, e]));
  const edges: GraphEdge[] = run.steps.flatMap((s) => s.dependencies.map((d) => known.get(`${d}\u0000${s.name}`) ?? { from: d, to: s.name, kind: 'data' as const }));
  const duration = run.durationMs ?? (Date.now() - Date.parse(run.startedAt));
  return {
    title: pipeline?.name ?? run.title,
    subtitle: `run ${run.id} · ${run.status} · ${run.progress.done}/${run.progress.total}${Number.isFinite(duration) ? ` · ${formatDuration(duration)}` : ''}${run.error ? ` · ${run.error}` : ''}`,
    runId: run.id,
    nodes,
    edges,
  };
}
