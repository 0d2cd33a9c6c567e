// Run results in webviews: the details of one run (parameters, metrics, steps with time,
// cache origin, passed values and logs) and runs compared side by side with a chart per
// metric. One panel of each kind, reused; both follow live changes of the runs they show.
// Strict CSP through the shared page shell; data only by postMessage after the page's
// `ready`; a WebviewPanelSerializer restores either panel after a reload from its state.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { compareRuns, metricText, parameterText } from '../common/runCompare';
import { Disposable } from '../workbench/lifecycle';
import type { Ctx } from '../workbench/context';
import {
  COMPARE_RUNS_VIEW_TYPE, RUN_DETAILS_VIEW_TYPE,
  type ResultsHostMessage, type ResultsPageMessage, type ResultsState, type RunDetailsView, type RunKey,
} from '../webview/results/protocol';
import type { RunsModel, RunView } from '../workbench/runsModel';
import { formatDuration } from './runsTree';
import { webviewHtml } from './webviewHtml';

type Kind = ResultsState['kind'];

/** What the results panels need from the rest of the extension (run actions come from each run's source). */
export interface ResultsActions {
  revealStep(run: RunView, step: string): Promise<unknown>;
}

export class ResultsPanels extends Disposable {
  private details?: ResultsPanel;
  private compare?: ResultsPanel;
  private readonly drawn = this._register(new vscode.EventEmitter<{ kind: Kind; runs: RunKey[]; charts: number }>());
  /** Fires when a page has drawn what it was sent (the integration suite waits for it). */
  readonly onDidRender = this.drawn.event;

  constructor(readonly ctx: Ctx, readonly runs: RunsModel, readonly actions: ResultsActions) {
    super();
    for (const kind of ['details', 'compare'] as const) {
      this._register(vscode.window.registerWebviewPanelSerializer(viewType(kind), {
        deserializeWebviewPanel: async (panel, state: unknown) => {
          const s = state as Partial<ResultsState> | undefined;
          if (!s?.runs?.length) {
            panel.dispose();
            return;
          }
          this.adopt(kind, panel, s.runs);
        },
      }));
    }
  }

  /** Show Run Details: `(node)` from the Runs view or `{ source, id }`. */
  showDetails(target: unknown): void {
    const ref = runKey(target);
    if (!ref) {
      void vscode.window.showInformationMessage('Pick a run in the Runs view to see its details.');
      return;
    }
    this.open('details', [ref]);
  }

  /**
   * Compare Runs: the runs selected in the Runs view (`(clicked, selected[])`), or the runs
   * picked from a list when called from the Command Palette.
   */
  async showComparison(clicked: unknown, selected?: unknown): Promise<void> {
    let refs = (Array.isArray(selected) ? selected : [clicked]).map(runKey).filter((r): r is RunKey => r !== undefined);
    if (refs.length < 2) refs = await this.pickRuns(refs);
    if (refs.length < 2) return;
    this.open('compare', refs);
  }

  private async pickRuns(preselected: RunKey[]): Promise<RunKey[]> {
    const all = this.runs.allSources().flatMap((s) => s.runs());
    if (all.length < 2) {
      void vscode.window.showInformationMessage('Compare Runs needs at least two runs: run the pipeline again (for example with other parameters), then compare.');
      return [];
    }
    const items = all.map((r) => ({
      label: r.title, description: `${r.name ?? r.id} · ${r.status}${r.source === 'local' ? '' : ` · ${this.runs.allSources().find((s) => s.id === r.source)?.label ?? r.source}`}`, detail: describeRun(r), run: { source: r.source, id: r.id },
      picked: preselected.some((p) => p.source === r.source && p.id === r.id),
    }));
    const picked = await vscode.window.showQuickPick(items, { canPickMany: true, title: 'Compare Runs', placeHolder: 'Pick two or more runs' });
    if (picked && picked.length === 1) void vscode.window.showInformationMessage('Pick at least two runs to compare.');
    return (picked ?? []).map((p) => p.run);
  }

  private open(kind: Kind, refs: RunKey[]): void {
    const existing = kind === 'details' ? this.details : this.compare;
    if (existing) {
      existing.show(refs);
      return;
    }
    const panel = vscode.window.createWebviewPanel(viewType(kind), 'Flowbook', { viewColumn: vscode.ViewColumn.Active, preserveFocus: false }, this.webviewOptions());
    this.adopt(kind, panel, refs);
  }

  private webviewOptions(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    const root = this.ctx.extension.extensionUri;
    return { enableScripts: true, retainContextWhenHidden: false, localResourceRoots: [vscode.Uri.joinPath(root, 'dist'), vscode.Uri.joinPath(root, 'media')] };
  }

  private adopt(kind: Kind, panel: vscode.WebviewPanel, refs: RunKey[]): void {
    panel.webview.options = this.webviewOptions();
    const p = new ResultsPanel(this, kind, panel, refs);
    if (kind === 'details') this.details = p;
    else this.compare = p;
    panel.onDidDispose(() => {
      if (this.details === p) this.details = undefined;
      if (this.compare === p) this.compare = undefined;
      p.dispose();
    });
  }

  /** Called by a panel when its page has drawn. */
  reportRender(kind: Kind, runs: RunKey[], charts: number): void {
    this.drawn.fire({ kind, runs, charts });
  }

  override dispose(): void {
    this.details?.panel.dispose();
    this.compare?.panel.dispose();
    super.dispose();
  }
}

function viewType(kind: Kind): string {
  return kind === 'details' ? RUN_DETAILS_VIEW_TYPE : COMPARE_RUNS_VIEW_TYPE;
}

function runKey(target: unknown): RunKey | undefined {
  const t = target as Partial<RunKey> & { kind?: string } | undefined;
  if (!t?.source || !t.id || (t.kind !== undefined && t.kind !== 'run')) return undefined;
  return { source: t.source, id: t.id };
}

/** `C=0.1 · logreg_auc 0.9874`: what tells a run apart in a list. */
function describeRun(run: RunView): string {
  const params = Object.entries(run.parameters ?? {}).map(([k, v]) => `${k}=${parameterText(v)}`);
  const metrics = Object.entries(run.metrics ?? {}).map(([k, v]) => `${k} ${metricText(v)}`);
  return [...params, ...metrics].join(' · ');
}

class ResultsPanel extends Disposable {
  private ready = false;

  constructor(private readonly host: ResultsPanels, private readonly kind: Kind, readonly panel: vscode.WebviewPanel, private refs: RunKey[]) {
    super();
    panel.iconPath = vscode.Uri.joinPath(host.ctx.extension.extensionUri, 'media', 'flowbook.svg');
    panel.webview.html = webviewHtml(panel.webview, host.ctx.extension.extensionUri, {
      script: 'webview.results.js',
      style: 'results.css',
      title: kind === 'details' ? 'Run details' : 'Compare runs',
      body: '<main id="root"><p class="muted message">Loading…</p></main>',
    });
    this._register(panel.webview.onDidReceiveMessage((m: ResultsPageMessage) => this.onMessage(m)));
    this._register(host.runs.onDidChange(() => this.update()));
    this.update();
  }

  show(refs: RunKey[]): void {
    this.refs = refs;
    this.panel.reveal(undefined, false);
    this.update();
  }

  private onMessage(m: ResultsPageMessage): void {
    const fail = (what: string) => (err: unknown) => this.host.ctx.showError(`Flowbook: cannot ${what}: ${String(err)}`, err);
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.update();
        break;
      case 'openLogs':
        void this.runAction(m.run, 'showLogs', m.step).catch(fail(`open the log of step ${m.step}`));
        break;
      case 'openRun':
        if (this.host.runs.find(m.run.source, m.run.id)) this.host.showDetails(m.run);
        else void vscode.window.showWarningMessage(`Run ${m.run.id} is no longer available (deleted, or its folder is not watched).`);
        break;
      case 'openGraph':
        void this.runAction(m.run, 'openGraph').catch(fail('open the run graph'));
        break;
      case 'revealStep': {
        const run = this.host.runs.find(m.run.source, m.run.id);
        if (run) void this.host.actions.revealStep(run, m.step).catch(fail(`reveal step ${m.step}`));
        break;
      }
      case 'rendered':
        this.host.reportRender(m.kind, this.refs, m.charts);
        break;
      case 'error':
        this.host.ctx.log.error(`results page: ${m.message}`);
        break;
    }
  }

  /** An action of the run's own source (local, cluster …). */
  private async runAction(run: RunKey, name: 'showLogs' | 'openGraph', step?: string): Promise<void> {
    const target = step === undefined ? { kind: 'run', ...run } : { kind: 'step', ...run, step };
    const action = this.host.runs.actionsFor(run.source)[name];
    if (action) await action(target, step);
  }

  private update(): void {
    const runs = this.refs.map((r) => this.host.runs.find(r.source, r.id));
    const first = runs[0];
    this.panel.title = this.kind === 'details' ? `Run Details: ${first ? first.title : this.refs[0]?.id ?? ''}` : `Compare ${this.refs.length} Runs`;
    if (!this.ready) return;
    let message: ResultsHostMessage;
    const missing = this.refs.filter((_, i) => runs[i] === undefined);
    if (missing.length > 0) {
      message = { type: 'empty', message: `Run ${missing.map((r) => r.id).join(', ')} is not available (deleted, or its folder is not watched).` };
    } else if (this.kind === 'details' && first) {
      message = { type: 'details', details: this.detailsOf(first) };
    } else {
      const shown = runs.filter((r): r is RunView => r !== undefined);
      // Oldest first, so charts read left to right in the order the runs happened.
      shown.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
      const sameTitle = shown.every((r) => r.title === shown[0]?.title);
      const comparison = compareRuns(shown.map((r) => ({ id: r.id, label: sameTitle ? (r.name ?? r.id) : `${r.title} · ${r.name ?? r.id}`, parameters: r.parameters ?? {}, metrics: r.metrics ?? {} })));
      message = { type: 'compare', comparison, runs: shown.map((r) => ({ source: r.source, id: r.id, status: r.status, started: startedText(r.startedAt) })) };
    }
    void this.panel.webview.postMessage(message);
  }

  private detailsOf(run: RunView): RunDetailsView {
    const source = this.host.runs.allSources().find((s) => s.id === run.source);
    const values = source?.stepValues?.(run);
    const time = run.durationMs ?? (run.status === 'running' ? Date.now() - Date.parse(run.startedAt) : undefined);
    const view: RunDetailsView = {
      run: { source: run.source, id: run.id },
      title: `${run.notebook ? path.basename(run.notebook) : run.title} — run ${run.name ?? run.id}`,
      subtitle: [`${run.progress.done}/${run.progress.total} steps`, ...(time !== undefined && Number.isFinite(time) ? [formatDuration(time)] : []), `started ${startedText(run.startedAt)}`].join(' · '),
      status: run.status,
      parameters: Object.keys(run.parameters ?? {}).sort().map((n) => ({ name: n, value: parameterText(run.parameters?.[n]), changed: run.changed?.includes(n) ?? false })),
      metrics: Object.keys(run.metrics ?? {}).sort().map((n) => ({ name: n, value: metricText(run.metrics?.[n] ?? NaN) })),
      steps: run.steps.map((s) => {
        const step: RunDetailsView['steps'][number] = {
          name: s.name, status: s.status, cells: s.cells.map((c) => c + 1).join(', '), hasLogs: s.hasLogs,
          values: values?.[s.name] ?? [],
          metrics: Object.keys(s.metrics ?? {}).sort().map((n) => ({ name: n, value: metricText(s.metrics?.[n] ?? NaN) })),
        };
        if (s.durationMs !== undefined) step.time = formatDuration(s.durationMs);
        if (s.cachedFrom) step.cachedFrom = s.cachedFrom;
        if (s.note) step.note = s.note;
        return step;
      }),
    };
    if (run.error) view.error = run.error;
    if (run.note) view.metricsNote = run.note;
    if (!source?.stepValues) view.valuesNote = `${source?.label ?? 'This'} runs keep their values where they ran; summaries of passed values are shown for local runs.`;
    return view;
  }
}

function startedText(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}
