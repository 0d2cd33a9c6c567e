// Entry point. `activate` only builds the context object and the feature objects, each
// owned by the context, and registers the command table; nothing heavy loads here (the
// compiler, grammar and runner come with the first analysis or run). A failure shows
// "Cannot activate Flowbook" with the reason, and is rethrown.

import * as vscode from 'vscode';
import { Ctx, errorMessage } from '../workbench/context';
import { commandTable, registerCommands } from './commands';
import { NotebookModels, type NotebookAnalysis } from '../workbench/notebookModel';
import { CellChips, type ChipsUpdate } from './chips';
import { DiagnosticsPublisher } from './diagnostics';
import { TagCommands } from './tagCommands';
import { WorkflowDocuments } from './workflowDocument';
import { LocalRuns } from './localRuns';
import { StepLogs } from './logs';
import { PipelineTree, type PipelineNode } from '../views/pipelineTree';
import { LocalRunSource, RunsModel } from '../workbench/runsModel';
import { RunsTree } from '../views/runsTree';
import { GraphPanels, type RenderReport } from '../views/graphPanel';
import { ResultsPanels } from '../views/resultsPanel';
import { NotebookSettingsEditor } from './notebookSettings';
import { StepColours } from './stepColours';
import { QuickFixes } from './quickFixes';
import { revealCells } from '../workbench/cells';
import { registerCluster, type ClusterApi } from './cluster/index';
import { VerifyCommand } from './verifyCommand';
import { registerKfp, type KfpApi } from './kfp/index';

/** Context key: a cluster is configured (set by the cluster support, issue 5). */
export const CLUSTER_CONFIGURED = 'flowbook:clusterConfigured';

/** A tree item as the integration suite sees it. */
export interface ItemSummary {
  label: string;
  description: string;
  tooltip: string;
  children: ItemSummary[];
}

/** What `activate` returns: for the integration suite and for other extensions. */
export interface FlowbookApi {
  /** Time spent in `activate`, in milliseconds. */
  readonly activationMs: number;
  /** The full ids of the registered commands. */
  readonly commands: readonly string[];
  /** The analysis of a notebook as it is now (pending edits analysed first). */
  analysis(notebook: vscode.NotebookDocument): Promise<NotebookAnalysis | undefined>;
  /** The chips a cell shows now (what the status bar provider returns). */
  chips(cell: vscode.NotebookCell): vscode.NotebookCellStatusBarItem[];
  readonly onDidUpdateChips: vscode.Event<ChipsUpdate>;
  readonly onDidRenderGraph: vscode.Event<RenderReport>;
  /** Fires when the run details or comparison page has drawn (with how many charts). */
  readonly onDidRenderResults: ResultsPanels['onDidRender'];
  /** The notebook the Pipeline view shows, its top-level items' labels, and the whole tree. */
  pipelineView(): { notebook?: string; items: string[]; tree: ItemSummary[] };
  /** The Runs view's top-level items' labels and descriptions. */
  runsView(): { label: string; description: string; tooltip: string }[];
  /** The runs folder used for a notebook. */
  runsDirFor(notebook: vscode.Uri): string;
  /** The cluster and KServe side (issue 5). */
  readonly cluster: ClusterApi;
  /** The Kubeflow Pipelines side (issue 12). */
  readonly kfp: KfpApi;
}

export function activate(context: vscode.ExtensionContext): FlowbookApi {
  const started = performance.now();
  let ctx: Ctx | undefined;
  try {
    ctx = new Ctx(context);
    context.subscriptions.push(ctx);
    const c = ctx;
    const own = <T extends vscode.Disposable>(d: T): T => {
      context.subscriptions.push(d);
      return d;
    };
    void vscode.commands.executeCommand('setContext', CLUSTER_CONFIGURED, false);

    const models = own(new NotebookModels(c));
    const chips = own(new CellChips(models));
    own(new DiagnosticsPublisher(models));
    const pipelineTree = own(new PipelineTree(models));
    const runsModel = own(new RunsModel());
    const local = own(new LocalRunSource(c));
    own(runsModel.addSource(local));
    const runsTree = own(new RunsTree(runsModel));
    const graphs = own(new GraphPanels(c, models, runsModel, () => pipelineTree.current));
    const logs = own(new StepLogs(c, runsModel));
    const results = own(new ResultsPanels(c, runsModel, {
      revealStep: async (run, step) => {
        if (!run.notebook) return;
        const doc = await vscode.workspace.openNotebookDocument(vscode.Uri.file(run.notebook));
        await revealCells(doc, run.steps.find((s) => s.name === step)?.cells ?? []);
      },
    }));
    const workflows = own(new WorkflowDocuments(c, models));
    const runs = own(new LocalRuns(c, models, runsModel, local, graphs));
    own(runsModel.provideActions((source) => source === local.id, {
      openGraph: (target) => graphs.showForRun(target),
      showLogs: (target, step) => logs.show(target, step),
      rerun: (target) => runs.rerun(target),
      rerunFromStep: (target, step) => runs.rerunFromStep(target, step),
      stop: (target) => runs.stop(target),
      delete: (target, options) => runs.delete(target, options as { confirmed?: boolean } | undefined),
    }));
    const tags = new TagCommands(c, models);
    const notebookSettings = own(new NotebookSettingsEditor(models));
    own(new StepColours(models));
    own(vscode.languages.registerCodeActionsProvider({ scheme: 'vscode-notebook-cell', language: 'python' }, new QuickFixes(models), { providedCodeActionKinds: QuickFixes.kinds }));
    // Runs of notebooks opened in this window show up even before the first run here.
    own(models.onDidAnalyze((a) => {
      if (a.document.uri.scheme === 'file') local.addFolder(runs.runsDirFor(a.document.uri));
    }));

    const cluster = registerCluster(c, { models, runsModel, runsTree, graphs }, own);
    const verify = own(new VerifyCommand(c, runs, local));
    const kfpFeature = registerKfp(c, { models, runsModel, runsTree, graphs, images: cluster.images }, own);
    const commands = registerCommands(c, kfpFeature.commands(verify.commands(cluster.commands(commandTable(c, { tags, workflows, runs, runsModel, graphs, logs, results, notebookSettings })))), own);
    const activationMs = performance.now() - started;
    c.log.info(`Flowbook activated in ${activationMs.toFixed(1)} ms`);

    return {
      activationMs,
      commands,
      analysis: (doc) => models.current(doc),
      chips: (cell) => chips.provideCellStatusBarItems(cell),
      onDidUpdateChips: chips.onDidUpdate,
      onDidRenderGraph: graphs.onDidRender,
      onDidRenderResults: results.onDidRender,
      pipelineView: () => {
        const summarize = (n: PipelineNode): ItemSummary => {
          const item = pipelineTree.getTreeItem(n);
          return {
            label: labelOf(item),
            description: typeof item.description === 'string' ? item.description : '',
            tooltip: typeof item.tooltip === 'string' ? item.tooltip : (item.tooltip?.value ?? ''),
            children: pipelineTree.getChildren(n).map(summarize),
          };
        };
        const tree = pipelineTree.getChildren().map(summarize);
        return { ...(pipelineTree.current ? { notebook: pipelineTree.current.toString() } : {}), items: tree.map((t) => t.label), tree };
      },
      runsView: () => runsTree.getChildren().map((n) => {
        const item = runsTree.getTreeItem(n);
        return { label: labelOf(item), description: typeof item.description === 'string' ? item.description : '', tooltip: typeof item.tooltip === 'string' ? item.tooltip : (item.tooltip?.value ?? '') };
      }),
      runsDirFor: (uri) => runs.runsDirFor(uri),
      cluster: cluster.api,
      kfp: kfpFeature.api,
    };
  } catch (err) {
    const message = `Cannot activate Flowbook: ${errorMessage(err)}`;
    ctx?.log.error(message, err instanceof Error ? (err.stack ?? '') : '');
    void vscode.window.showErrorMessage(message);
    throw err;
  }
}

function labelOf(item: vscode.TreeItem): string {
  const label = item.label;
  return typeof label === 'string' ? label : (label?.label ?? '');
}

export function deactivate(): void {
  // Everything is owned by context.subscriptions, which VS Code disposes.
}
