// The Kubeflow Pipelines half of the extension, registered by `activate` in one call: the
// "Run on Kubeflow" command, the Kubeflow Pipelines view (experiments → runs → tasks, with
// terminate, retry, logs and "Open in Kubeflow") and the cell chips of the latest KFP run.
// The KFP core loads on first use; the Kubernetes client only when a token is requested
// through the kubeconfig (`flowbook.kfp.tokenSource: kubeconfig`).

import * as vscode from 'vscode';
import type { Ctx } from '../../workbench/context';
import type { NotebookModels } from '../../workbench/notebookModel';
import { NOTEBOOK_TYPE } from '../../workbench/notebookModel';
import { targetNotebook } from '../../workbench/cells';
import { Disposable } from '../../workbench/lifecycle';
import { UserError } from '../tagCommands';
import { hasErrors } from '../../converter/diagnostics';
import type * as Kfp from '../../kfp';
import type { KfpRunsModel } from '../../kfp/runsModel';
import { KfpRunsTree, stateLabel, tasksOf, type KfpNode } from '../../views/kfp/kfpRunsTree';
import { summarize, type TreeSummary } from '../cluster/index';
import type { RunImageOptions, StepImages } from '../cluster/clusterImages';
import { emitOptions } from '../workflowDocument';
import { KFP_KEYS } from '../../workbench/settings';
import { kfpPackageFor } from './kfpPackage';

type Handler = (...args: unknown[]) => unknown;

export const KFP_VIEW = 'flowbook.kfpRuns';

let core: typeof Kfp | undefined;
function kfp(): typeof Kfp {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  core ??= require('../../kfp') as typeof Kfp;
  return core;
}

/** The KFP client for the current settings; throws a UserError naming the setting to fix. */
function clientFor(ctx: Ctx): Kfp.KfpClient {
  const k = kfp();
  try {
    const endpoint = k.resolveEndpoint(ctx.settings.kfp, {
      kubeTokens: (serviceAccount, namespace) => {
        // The Kubernetes client lives in the lazy cluster chunk: load it on the first token request.
        let provider: Promise<Kfp.TokenProvider> | undefined;
        const load = (): Promise<Kfp.TokenProvider> => provider ??= import(/* webpackChunkName: "cluster" */ '../cluster/clusterCore.js').then((c) => {
          const { kubeconfig, context } = ctx.settings.cluster;
          const connection = c.ClusterConnection.open({ ...(kubeconfig ? { kubeconfig } : {}), ...(context ? { context } : {}) });
          return c.serviceAccountTokens(new c.ClusterClient(connection), serviceAccount, namespace);
        });
        return {
          describe: `a token of service account ${namespace}/${serviceAccount} from your kubeconfig`,
          token: async (signal) => (await load()).token(signal),
        };
      },
    });
    ctx.log.info(`Kubeflow Pipelines: ${endpoint.display} (${endpoint.mode}), token: ${endpoint.tokens.describe}`);
    return new k.KfpClient(endpoint);
  } catch (err) {
    if (err instanceof k.KfpError && err.kind === 'config') throw new UserError(k.inSettingsTerms(err.message));
    throw err;
  }
}

/** The view's model, built when the view is first shown or a run is submitted. */
class KfpRuns extends Disposable {
  private current?: KfpRunsModel;
  private client?: Kfp.KfpClient;
  private problem?: string;
  readonly tree: KfpRunsTree;
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;

  constructor(private readonly ctx: Ctx) {
    super();
    this.tree = this._register(new KfpRunsTree(() => this.current, () => this.problem));
    const view = this._register(vscode.window.createTreeView(KFP_VIEW, { treeDataProvider: this.tree, showCollapseAll: true }));
    this._register(view.onDidChangeVisibility((e) => {
      if (e.visible && !this.current) void this.refresh();
    }));
    this._register(vscode.workspace.onDidChangeConfiguration((e) => {
      if (!KFP_KEYS.some((k) => e.affectsConfiguration(k))) return;
      this.reset();
      if (view.visible) void this.refresh();
    }));
    this._register({ dispose: () => this.reset() });
  }

  private reset(): void {
    this.current?.dispose();
    this.client?.dispose();
    this.current = undefined;
    this.client = undefined;
    this.problem = undefined;
  }

  model(): KfpRunsModel | undefined {
    return this.current;
  }

  /** The model, built on first use; a configuration problem becomes the view's message. */
  ensure(): KfpRunsModel | undefined {
    if (this.current) return this.current;
    try {
      const client = clientFor(this.ctx);
      this.client = client;
      this.problem = undefined;
      this.current = new (kfp().KfpRunsModel)(() => client);
      this.current.onDidChange(() => {
        this.tree.update();
        this.changed.fire();
      });
      return this.current;
    } catch (err) {
      this.problem = err instanceof Error ? err.message : String(err);
      this.tree.update();
      return undefined;
    }
  }

  async refresh(): Promise<void> {
    await this.ensure()?.refresh();
  }

  clientOrThrow(): Kfp.KfpClient {
    this.ensure();
    if (!this.client) throw new UserError(this.problem ?? 'Kubeflow Pipelines is not configured: set flowbook.kfp.endpoint.');
    return this.client;
  }
}

/** A chip on the first cell of each step with its state in the latest KFP run of the notebook. */
class KfpChips extends Disposable implements vscode.NotebookCellStatusBarItemProvider {
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeCellStatusBarItems = this.changed.event;

  constructor(private readonly runs: KfpRuns, private readonly models: NotebookModels) {
    super();
    this._register(vscode.notebooks.registerNotebookCellStatusBarItemProvider(NOTEBOOK_TYPE, this));
    this._register(runs.onDidChange(() => this.changed.fire()));
  }

  async provideCellStatusBarItems(cell: vscode.NotebookCell): Promise<vscode.NotebookCellStatusBarItem[]> {
    const model = this.runs.model();
    if (!model || cell.kind !== vscode.NotebookCellKind.Code) return [];
    const analysis = await this.models.current(cell.notebook);
    const pipeline = analysis?.pipeline;
    if (!pipeline) return [];
    const run = model.latestRunOf(pipeline.name);
    const step = pipeline.steps.find((s) => s.cells[0] === cell.index);
    const task = step && tasksOf(run).find((t) => t.display_name === step.name || t.display_name === step.templateName);
    if (!run || !step || !task) return [];
    const item = new vscode.NotebookCellStatusBarItem(`$(cloud) ${stateLabel(task.state)} on Kubeflow`, vscode.NotebookCellStatusBarAlignment.Right);
    item.tooltip = `Step ${step.name} in the latest Kubeflow Pipelines run "${run.display_name}": ${stateLabel(task.state)}.${task.error?.message ? ` ${task.error.message}` : ''}`;
    item.accessibilityInformation = { label: `Kubeflow run state of step ${step.name}: ${stateLabel(task.state)}` };
    item.command = { title: 'Show in Kubeflow Pipelines view', command: `${KFP_VIEW}.focus` };
    return [item];
  }
}

/** What the integration suite reads of the Kubeflow Pipelines side. */
export interface KfpApi {
  /** The Kubeflow Pipelines view: messages and experiments, each with its runs and their tasks. */
  view(): TreeSummary[];
  /** The Kubeflow chips of a cell (their text). */
  cellChips(cell: vscode.NotebookCell): Promise<string[]>;
  /** Why the last "Run on Kubeflow" failed (the warning shown, or "cancelled"), or undefined when it worked. */
  lastRunProblem(): string | undefined;
  /** What the last run said about steps in the default image without their packages (no registry set). */
  lastImageNote(): string | undefined;
}

/** What "Run on Kubeflow" takes from scripts and tests instead of asking. */
export interface RunOnKubeflowOptions {
  experiment?: string;
  parameters?: Record<string, string>;
  /** When the step images are not in the registry yet: build them or run the base images (see `RunImageOptions`). */
  images?: RunImageOptions['missing'];
  /** With `images: 'build'`: the requirement lines (skips the requirements editor). */
  requirements?: string[];
  /** Cancels the run's preparation and submit, as the notifications' Cancel does. */
  signal?: AbortSignal;
}

export interface KfpFeature {
  commands(table: Record<string, Handler>): Record<string, Handler>;
  api: KfpApi;
}

export function registerKfp(ctx: Ctx, deps: { models: NotebookModels; images: StepImages }, own: <T extends vscode.Disposable>(d: T) => T): KfpFeature {
  const runs = own(new KfpRuns(ctx));
  const chips = own(new KfpChips(runs, deps.models));
  const inFlight = new Map<string, Promise<unknown>>();
  let lastProblem: string | undefined;

  const runOf = (node: unknown): string => {
    const n = node as Partial<Extract<KfpNode, { kind: 'run' }>> | undefined;
    if (!n?.runId) throw new UserError('Select a run in the Kubeflow Pipelines view.');
    return n.runId;
  };

  /** Kubeflow's refusals are the user's to fix: shown as a warning, not as a Flowbook error. */
  const asUserError = (err: unknown): unknown => {
    const k = kfp();
    return err instanceof k.KfpError || err instanceof k.KfpInputError ? new UserError(k.inSettingsTerms(err.message)) : err;
  };

  /** Progress that the notification's Cancel and the caller's signal both stop. */
  const withCancellableProgress = <T>(title: string, signal: AbortSignal | undefined, work: (signal: AbortSignal, report: (message: string) => void) => Promise<T>): Thenable<T> =>
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      if (signal?.aborted) abort.abort();
      signal?.addEventListener('abort', () => abort.abort(), { once: true });
      return work(abort.signal, (message) => progress.report({ message }));
    });

  const runOnKubeflow = async (target: unknown, options: RunOnKubeflowOptions = {}) => {
    if (!vscode.workspace.isTrusted) throw new UserError('Running a pipeline runs the notebook\'s code, so Flowbook runs only in a trusted workspace.');
    const doc = targetNotebook(target);
    if (!doc) throw new UserError('Open a Jupyter notebook to run its pipeline on Kubeflow.');
    const key = doc.uri.toString();
    // A second click while the first submit is on the wire waits for it instead of racing it.
    const pending = inFlight.get(key);
    if (pending) return pending;
    const work = (async () => {
      const analysis = await deps.models.current(doc);
      if (!analysis) throw new UserError('This is not a Jupyter notebook.');
      const pipeline = analysis.pipeline;
      if (hasErrors(pipeline.diagnostics)) throw new UserError('The notebook has errors (see the Problems panel); fix them before running it on Kubeflow.');
      if (pipeline.steps.length === 0) throw new UserError('The notebook has no code to run yet.');
      const client = runs.clientOrThrow();
      const k = kfp();
      // A wrong address, token or profile shows in a second, not after the images were built.
      await withCancellableProgress(`Checking Kubeflow Pipelines at ${client.endpoint.display}`, options.signal, async (signal) => {
        await client.checkApi(signal);
        await client.findPipeline(pipeline.name, signal);
      });
      // The same images, settings and questions as Run on Cluster.
      const stepImages = await deps.images.stepImagesForRun(doc, pipeline, {
        ...(options.images ? { missing: options.images } : {}),
        ...(options.requirements ? { requirements: options.requirements } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (options.signal?.aborted) throw new vscode.CancellationError();
      const text = await kfpPackageFor(ctx, pipeline, doc.uri.fsPath, { ...emitOptions(ctx.settingsFor(doc.uri), pipeline), ...(stepImages ? { stepImages } : {}) });
      const result = await withCancellableProgress(`Running ${pipeline.name} on Kubeflow`, options.signal, (signal, report) => {
        const submitOptions: Kfp.KfpSubmitOptions = { signal, progress: report };
        const experiment = options.experiment ?? pipeline.settings.experimentName ?? pipeline.experiment;
        if (experiment) submitOptions.experiment = experiment;
        if (options.parameters) submitOptions.parameters = options.parameters;
        const source = doc.uri.scheme === 'file' ? k.codeSourceUrl(doc.uri.fsPath) : undefined;
        if (source) submitOptions.codeSourceUrl = source;
        return k.submitToKfp(client, k.readPackage(text, doc.uri.fsPath), submitOptions);
      });
      ctx.log.info(`Kubeflow run ${result.run?.run_id ?? ''} (${result.versionUploaded ? 'new version' : 'existing version'} ${result.version.name ?? ''})`);
      void runs.refresh();
      const open = result.url ? 'Open in Kubeflow' : undefined;
      void vscode.window.showInformationMessage(`Started ${result.run?.display_name ?? 'the run'} in experiment ${result.experiment?.display_name ?? ''}.`, ...(open ? [open] : [])).then((choice) => {
        if (choice && result.url) void vscode.env.openExternal(vscode.Uri.parse(result.url));
      });
      return { runId: result.run?.run_id, url: result.url };
    })();
    inFlight.set(key, work);
    try {
      lastProblem = undefined;
      return await work;
    } catch (err) {
      const k = kfp();
      const cancelled = err instanceof vscode.CancellationError || (err instanceof k.KfpError && err.kind === 'aborted');
      const problem = cancelled ? new vscode.CancellationError() : asUserError(err);
      lastProblem = cancelled ? 'cancelled' : problem instanceof Error ? problem.message : String(problem);
      throw problem;
    } finally {
      inFlight.delete(key);
    }
  };

  const onRun = (action: (model: KfpRunsModel, runId: string) => Promise<void>) => async (node: unknown) => {
    const runId = runOf(node);
    const model = runs.ensure();
    // Not configured: the error names the setting to fix.
    if (!model) return void runs.clientOrThrow();
    try {
      await action(model, runId);
    } catch (err) {
      throw asUserError(err);
    }
  };

  const commands = (table: Record<string, Handler>): Record<string, Handler> => ({
    ...table,
    runOnKubeflow: (target, options) => runOnKubeflow(target, options as RunOnKubeflowOptions | undefined),
    refreshKfpRuns: () => runs.refresh(),
    terminateKfpRun: onRun((model, runId) => model.terminate(runId)),
    retryKfpRun: onRun((model, runId) => model.retry(runId)),
    openKfpRun: async (node) => {
      const url = kfp().runUrl(runs.clientOrThrow().endpoint, runOf(node));
      if (!url) throw new UserError('Set flowbook.kfp.uiUrl to where the Kubeflow Pipelines UI is, to open runs there.');
      await vscode.env.openExternal(vscode.Uri.parse(url));
    },
    showKfpTaskLog: async (node) => {
      const n = node as Partial<Extract<KfpNode, { kind: 'task' }>> | undefined;
      const runId = runOf(node);
      const task = tasksOf(runs.model()?.run(runId)).find((t) => t.display_name === n?.task);
      if (!task?.pod_name) throw new UserError('This task has not started a pod yet, so it has no log.');
      const text = await runs.clientOrThrow().stepLog(runId, task.pod_name);
      const doc = await vscode.workspace.openTextDocument({ content: text, language: 'log' });
      await vscode.window.showTextDocument(doc, { preview: true });
    },
  });

  const api: KfpApi = {
    view: () => runs.tree.getChildren().map((n) => summarize(runs.tree, n, 2)),
    cellChips: async (cell) => (await chips.provideCellStatusBarItems(cell)).map((i) => i.text),
    lastRunProblem: () => lastProblem,
    lastImageNote: () => deps.images.lastNote(),
  };
  return { commands, api };
}
