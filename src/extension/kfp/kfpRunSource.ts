// The Kubeflow Pipelines section of the Runs view: a `RunSource` over the KFP runs model, so
// KFP runs show, compare and open like local and cluster runs (state, tasks with times,
// runtime parameters, metrics from ML Metadata). A run of a notebook open in this window
// gets that notebook's steps (names as written, cells, upstream steps), so its graph and
// "reveal step" work. Views are rebuilt only when the model changes.

import * as vscode from 'vscode';
import { Disposable } from '../../workbench/lifecycle';
import type { NotebookModels } from '../../workbench/notebookModel';
import type { RunSource, RunSourceNote, RunView } from '../../workbench/runsModel';
import type { KfpRunsModel } from '../../kfp/runsModel';
import { KFP_SOURCE, kfpRunView, splitRunName, type KfpStepInfo } from '../../kfp/runView';

/** Where the source gets the model from (built lazily, replaced when the settings change). */
export interface KfpModelHost {
  model(): KfpRunsModel | undefined;
  /** Why there is no model (a setting to fix), or undefined. */
  problem(): string | undefined;
  /** Builds the model if needed, then fetches. */
  refresh(): Promise<void>;
  readonly onDidChange: vscode.Event<void>;
}

export class KfpRunSource extends Disposable implements RunSource {
  readonly id = KFP_SOURCE;
  readonly label = 'Kubeflow Pipelines';
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;
  private views?: RunView[];
  /** Run id → step name → the KFP task it ran as. */
  private tasks = new Map<string, Map<string, string>>();

  constructor(private readonly host: KfpModelHost, private readonly models: NotebookModels) {
    super();
    this._register(host.onDidChange(() => this.invalidate()));
    // A notebook analysed again may be the one a run came from: its steps name the tasks.
    // Other notebooks' edits leave the section alone.
    this._register(models.onDidAnalyze((a) => {
      if ((this.views ?? []).some((v) => v.title === a.pipeline.name || v.notebook === a.document.uri.fsPath)) this.invalidate();
    }));
  }

  private invalidate(): void {
    this.views = undefined;
    this.changed.fire();
  }

  runs(): readonly RunView[] {
    if (this.views) return this.views;
    const model = this.host.model();
    const notebooks = this.notebooksByPipeline();
    this.tasks = new Map();
    this.views = (model?.allRuns() ?? []).map((run) => {
      const metrics = model?.metricsOf(run.run_id);
      const notebook = notebooks.get(splitRunName(run.display_name).title);
      const experiment = model?.experimentOf(run.run_id)?.display_name;
      if (notebook) this.tasks.set(run.run_id, new Map(notebook.steps.map((s) => [s.name, s.task])));
      return kfpRunView(run, {
        ...(metrics ? { metrics: metrics.metrics, stepMetrics: metrics.byTask } : {}),
        ...(metrics?.note ? { metricsNote: metrics.note } : {}),
        ...(experiment ? { experiment } : {}),
        ...(notebook ? { notebook } : {}),
      });
    });
    return this.views;
  }

  /** The KFP task a step of a run ran as (its template name when the notebook is known). */
  taskOf(runId: string, step: string): string {
    return this.tasks.get(runId)?.get(step) ?? step;
  }

  /** Open notebooks by pipeline name, with their steps in order. */
  private notebooksByPipeline(): Map<string, { path: string; steps: KfpStepInfo[] }> {
    const out = new Map<string, { path: string; steps: KfpStepInfo[] }>();
    for (const a of this.models.all()) {
      if (a.document.uri.scheme !== 'file') continue;
      const p = a.pipeline;
      out.set(p.name, { path: a.document.uri.fsPath, steps: p.steps.map((s) => ({ name: s.name, task: s.templateName, cells: s.cells, dependencies: s.after })) });
    }
    return out;
  }

  refresh(): void {
    void this.host.refresh();
  }

  notes(): RunSourceNote[] {
    const problem = this.host.problem();
    if (problem) return [{ text: problem, severity: 'warning', tooltip: problem }];
    const model = this.host.model();
    if (!model) return [{ text: 'Loading runs…', severity: 'info' }];
    const s = model.snapshot;
    if (s.state === 'error') return [{ text: s.error ?? 'Cannot reach Kubeflow Pipelines.', severity: 'error', tooltip: `${s.error ?? ''}\n\nRefresh the Runs view to try again.` }];
    if ((s.state === 'loading' || s.state === 'idle') && s.experiments.length === 0) return [{ text: 'Loading runs…', severity: 'info' }];
    if (s.state === 'ready' && s.experiments.every((e) => e.runs.length === 0)) {
      return [{ text: 'No Kubeflow runs yet', severity: 'info', tooltip: 'Run a notebook with "Run on Kubeflow" (notebook toolbar); its runs show here.' }];
    }
    return [];
  }
}
