// The Kubeflow Pipelines half of the extension, registered by `activate` in one call: the
// "Run on Kubeflow" command, KFP runs as a section of the Runs view (with their actions:
// tasks and graph, task logs, stop, retry, open in the KFP UI), the Kubeflow Pipelines view
// (experiments and their schedules) and the cell chips of the latest KFP run. The KFP core
// loads on first use; the Kubernetes client only when a token is requested through the
// kubeconfig (`flowbook.kfp.tokenSource: kubeconfig`). Both views share one model, which
// polls only while one of them is visible.

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
import { KFP_SOURCE, userTasks } from '../../kfp/runView';
import type { RunsModel } from '../../workbench/runsModel';
import type { RunsNode, RunsTree } from '../../views/runsTree';
import type { GraphPanels } from '../../views/graphPanel';
import { KfpRunsTree, stateLabel, type KfpNode } from '../../views/kfp/kfpRunsTree';
import { summarize, type TreeSummary } from '../cluster/index';
import type { RunImageOptions, StepImages } from '../cluster/clusterImages';
import { emitOptions } from '../workflowDocument';
import { KFP_KEYS } from '../../workbench/settings';
import { KfpRunSource } from './kfpRunSource';
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

/** The model both views show, built when one of them is first shown or a run is submitted. */
class KfpRuns extends Disposable {
  private current?: KfpRunsModel;
  private client?: Kfp.KfpClient;
  private why?: string;
  readonly tree: KfpRunsTree;
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;
  private readonly view: vscode.TreeView<KfpNode>;

  constructor(private readonly ctx: Ctx, private readonly runsView: vscode.TreeView<RunsNode>) {
    super();
    this.tree = this._register(new KfpRunsTree(() => this.current, () => this.why));
    this.view = this._register(vscode.window.createTreeView(KFP_VIEW, { treeDataProvider: this.tree, showCollapseAll: true }));
    // The Kubeflow view always loads when shown (it says what to set); the Runs view only with an endpoint.
    const visibility = () => {
      const visible = this.visible();
      if (visible && !this.current) void this.refresh();
      this.current?.setVisible(visible);
    };
    this._register(this.view.onDidChangeVisibility(visibility));
    this._register(runsView.onDidChangeVisibility(visibility));
    this._register(vscode.workspace.onDidChangeConfiguration((e) => {
      if (!KFP_KEYS.some((k) => e.affectsConfiguration(k))) return;
      this.reset();
      if (this.visible()) void this.refresh();
    }));
    this._register({ dispose: () => this.reset() });
    if (this.visible()) void this.refresh();
  }

  /** Someone looks at KFP data: the Kubeflow view, or the Runs view while it has a Kubeflow section. */
  private visible(): boolean {
    return this.view.visible || (this.runsView.visible && configured(this.ctx));
  }

  private reset(): void {
    this.current?.dispose();
    this.client?.dispose();
    this.current = undefined;
    this.client = undefined;
    this.why = undefined;
    this.tree.update();
    this.changed.fire();
  }

  model(): KfpRunsModel | undefined {
    return this.current;
  }

  /** Why there is no model: the setting to fix. */
  problem(): string | undefined {
    return this.why;
  }

  /** The model, built on first use; a configuration problem becomes the views' message. */
  ensure(): KfpRunsModel | undefined {
    if (this.current) return this.current;
    try {
      const client = clientFor(this.ctx);
      this.client = client;
      this.why = undefined;
      this.current = new (kfp().KfpRunsModel)(() => client);
      this.current.setVisible(this.visible());
      this.current.onDidChange(() => {
        this.tree.update();
        this.changed.fire();
      });
      return this.current;
    } catch (err) {
      this.why = err instanceof Error ? err.message : String(err);
      this.tree.update();
      this.changed.fire();
      return undefined;
    }
  }

  async refresh(): Promise<void> {
    await this.ensure()?.refresh();
  }

  clientOrThrow(): Kfp.KfpClient {
    this.ensure();
    if (!this.client) throw new UserError(this.why ?? 'Kubeflow Pipelines is not configured: set flowbook.kfp.endpoint.');
    return this.client;
  }
}

/**
 * Whether Kubeflow Pipelines is set up (an endpoint): only then do the Runs view and polling
 * include it. The Ctx snapshot is already fresh in configuration listeners: it subscribed first.
 */
function configured(ctx: Ctx): boolean {
  return ctx.settings.kfp.endpoint !== undefined;
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
    const task = step && userTasks(run).find((t) => t.display_name === step.name || t.display_name === step.templateName);
    if (!run || !step || !task) return [];
    const item = new vscode.NotebookCellStatusBarItem(`$(cloud) ${stateLabel(task.state)} on Kubeflow`, vscode.NotebookCellStatusBarAlignment.Right);
    item.tooltip = `Step ${step.name} in the latest Kubeflow Pipelines run "${run.display_name}": ${stateLabel(task.state)}.${task.error?.message ? ` ${task.error.message}` : ''}`;
    item.accessibilityInformation = { label: `Kubeflow run state of step ${step.name}: ${stateLabel(task.state)}` };
    item.command = { title: 'Show Run Details', command: 'flowbook.showRunDetails', arguments: [{ kind: 'run', source: KFP_SOURCE, id: run.run_id }] };
    return [item];
  }
}

/** What the integration suite reads of the Kubeflow Pipelines side. */
export interface KfpApi {
  /** The Kubeflow Pipelines view: messages, then Pipelines (with versions) and Experiments (with schedules). */
  view(): TreeSummary[];
  /** The Runs view's Kubeflow Pipelines section: its notes and runs, each run with its steps. */
  runsSection(): TreeSummary[];
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

export interface KfpDeps {
  models: NotebookModels;
  /** Run on Cluster's step images: Run on Kubeflow uses the same builds, settings and questions. */
  images: StepImages;
  runsModel: RunsModel;
  runsTree: RunsTree;
  graphs: GraphPanels;
}

export function registerKfp(ctx: Ctx, deps: KfpDeps, own: <T extends vscode.Disposable>(d: T) => T): KfpFeature {
  const runs = own(new KfpRuns(ctx, deps.runsTree.view));
  const chips = own(new KfpChips(runs, deps.models));
  // The Runs view has a Kubeflow section while an endpoint is set (the Runs model owns the source).
  let source: KfpRunSource | undefined;
  let section: vscode.Disposable | undefined;
  const placeSection = () => {
    if (configured(ctx) && !section) {
      source = new KfpRunSource(runs, deps.models);
      section = deps.runsModel.addSource(source);
    } else if (!configured(ctx) && section) {
      section.dispose();
      section = undefined;
      source = undefined;
    }
  };
  placeSection();
  own(vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration('flowbook.kfp')) placeSection();
  }));
  own({ dispose: () => section?.dispose() });
  const inFlight = new Map<string, Promise<unknown>>();
  let lastProblem: string | undefined;

  /** The KFP run id of a Runs view node (`{ source: 'kfp', id }`) or `{ runId }`. */
  const runOf = (node: unknown): string => {
    const n = node as { source?: string; id?: string; runId?: string } | undefined;
    const id = n?.runId ?? (n?.source === KFP_SOURCE ? n.id : undefined);
    if (!id) throw new UserError('Select a Kubeflow run in the Runs view.');
    return id;
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
      void vscode.window.showInformationMessage(`Started run "${result.run?.display_name ?? ''}" in experiment "${result.experiment?.display_name ?? ''}" on Kubeflow.`, ...(open ? [open] : [])).then((choice) => {
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

  const showTaskLog = async (node: unknown, stepName?: string) => {
    const runId = runOf(node);
    const step = stepName ?? (node as { step?: string } | undefined)?.step;
    const task = userTasks(runs.model()?.run(runId)).find((t) => t.display_name === (step === undefined ? undefined : source?.taskOf(runId, step) ?? step));
    if (!task?.pod_name) throw new UserError(`Step ${step ?? ''} has not started a pod yet, so it has no log.`);
    const text = await runs.clientOrThrow().stepLog(runId, task.pod_name).catch((err: unknown) => {
      throw asUserError(err);
    });
    const doc = await vscode.workspace.openTextDocument({ content: text, language: 'log' });
    await vscode.window.showTextDocument(doc, { preview: true });
  };
  const openInKfp = async (node: unknown) => {
    const url = kfp().runUrl(runs.clientOrThrow().endpoint, runOf(node));
    if (!url) throw new UserError('Set flowbook.kfp.uiUrl to where the Kubeflow Pipelines UI is, to open runs there.');
    await vscode.env.openExternal(vscode.Uri.parse(url));
  };
  const terminate = onRun((model, runId) => model.terminate(runId));
  const retry = onRun(async (model, runId) => {
    const state = model.run(runId)?.state;
    if (state !== 'FAILED' && state !== 'CANCELED') throw new UserError('Kubeflow Pipelines retries only a failed or stopped run. To run the notebook again, use "Run on Kubeflow".');
    await model.retry(runId);
  });

  // The Runs view's commands on KFP runs.
  own(deps.runsModel.provideActions((s) => s === KFP_SOURCE, {
    openGraph: async (node) => {
      const run = deps.runsModel.find(KFP_SOURCE, runOf(node));
      // The graph needs the notebook the pipeline came from; without it, KFP's own graph.
      if (run?.notebook) return deps.graphs.showForRun({ source: KFP_SOURCE, id: run.id });
      return openInKfp(node);
    },
    showLogs: (node, step) => showTaskLog(node, step),
    rerun: (node) => retry(node),
    stop: (node) => terminate(node),
  }));

  const onSchedule = (enabled: boolean) => async (node: unknown) => {
    const id = (node as Partial<Extract<KfpNode, { kind: 'schedule' }>> | undefined)?.recurringRunId;
    if (!id) throw new UserError('Select a schedule in the Kubeflow Pipelines view.');
    const model = runs.ensure();
    if (!model) return void runs.clientOrThrow();
    await model.setScheduleEnabled(id, enabled).catch((err: unknown) => {
      throw asUserError(err);
    });
  };

  const commands = (table: Record<string, Handler>): Record<string, Handler> => ({
    ...table,
    runOnKubeflow: (target, options) => runOnKubeflow(target, options as RunOnKubeflowOptions | undefined),
    refreshKfpRuns: () => runs.refresh(),
    terminateKfpRun: terminate,
    retryKfpRun: retry,
    openKfpRun: openInKfp,
    showKfpTaskLog: (node, step) => showTaskLog(node, step as string | undefined),
    enableKfpSchedule: onSchedule(true),
    disableKfpSchedule: onSchedule(false),
  });

  const api: KfpApi = {
    view: () => runs.tree.getChildren().map((n) => summarize(runs.tree, n, 2)),
    runsSection: () => {
      if (!source) return [];
      const node: RunsNode = { kind: 'source', source: KFP_SOURCE, label: source.label };
      return deps.runsTree.getChildren(node).map((n) => summarize(deps.runsTree, n, 1));
    },
    cellChips: async (cell) => (await chips.provideCellStatusBarItems(cell)).map((i) => i.text),
    lastRunProblem: () => lastProblem,
    lastImageNote: () => deps.images.lastNote(),
  };
  return { commands, api };
}
