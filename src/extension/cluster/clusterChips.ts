// A cell chip with the latest cluster run's state of the step a cell starts (`☁ Succeeded`),
// next to the extension's own chips (a second status-bar provider: the chips provider has no
// run-state hook). Shown only once the cluster client is loaded; clicking it opens the run's
// graph. Refreshed once per batch of run changes.

import * as vscode from 'vscode';
import { Disposable } from '../../workbench/lifecycle';
import { NOTEBOOK_TYPE } from '../../workbench/notebookModel';
import type { ClusterRuns } from './clusterRuns';
import type { ClusterSession } from './session';

const PHASE_ICON: Record<string, string> = {
  NotStarted: 'circle-large-outline',
  Pending: 'clock',
  Running: 'sync~spin',
  Succeeded: 'pass',
  Cached: 'pass-filled',
  Failed: 'error',
  Error: 'error',
  Skipped: 'debug-step-over',
  Omitted: 'circle-slash',
};

export class ClusterRunChips extends Disposable implements vscode.NotebookCellStatusBarItemProvider {
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeCellStatusBarItems = this.changed.event;

  constructor(private readonly session: ClusterSession, private readonly runs: ClusterRuns) {
    super();
    this._register(vscode.notebooks.registerNotebookCellStatusBarItemProvider(NOTEBOOK_TYPE, this));
    this._register(runs.onDidChangeRuns(() => this.changed.fire()));
    this._register(session.onDidChange(() => this.changed.fire()));
  }

  provideCellStatusBarItems(cell: vscode.NotebookCell): vscode.NotebookCellStatusBarItem[] {
    const c = this.session.current();
    if (!c || cell.kind !== vscode.NotebookCellKind.Code || cell.notebook.uri.scheme !== 'file') return [];
    const latest = this.runs.latestRunOf(cell.notebook.uri.fsPath);
    const state = latest?.cells.get(cell.index);
    if (!latest || !state) return [];
    // One chip per step, on its first cell.
    const first = Math.min(...[...latest.cells].filter(([, s]) => s.step === state.step).map(([i]) => i));
    if (first !== cell.index) return [];
    const item = new vscode.NotebookCellStatusBarItem(`$(${PHASE_ICON[state.phase] ?? 'cloud'}) ${state.phase} on cluster`, vscode.NotebookCellStatusBarAlignment.Right);
    item.tooltip = `Step ${state.step} in the latest cluster run ${state.run} (${c.context} / ${c.namespace}): ${state.phase}. Click to open the run's graph.`;
    item.command = { title: 'Open Graph', command: 'flowbook.openRunGraph', arguments: [{ kind: 'run', source: c.sourceId, id: state.run }] };
    item.accessibilityInformation = { label: `Cluster run state of step ${state.step}: ${state.phase}` };
    return [item];
  }
}
