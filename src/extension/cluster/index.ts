// The cluster and KServe half of the extension, registered by `activate` in one call. It
// builds the cluster feature objects (all owned by the extension context, nothing heavy
// loaded: the Kubernetes client comes with first use) and extends the command table: the
// run commands the Runs view shares between local and cluster runs go to the cluster side
// when their target is a cluster run, and the cluster-only commands are added.

import * as vscode from 'vscode';
import type { Ctx } from '../../workbench/context';
import type { NotebookModels } from '../../workbench/notebookModel';
import type { GraphPanels } from '../../views/graphPanel';
import type { RunsModel } from '../../workbench/runsModel';
import type { RunsNode, RunsTree } from '../../views/runsTree';
import { InferenceServicesTree, type IsvcNode } from '../../views/cluster/inferenceServicesTree';
import { ClusterLogs, LogStreams, logRefOf } from './clusterLogs';
import { ClusterRunChips } from './clusterChips';
import { ClusterRuns } from './clusterRuns';
import { StepImages } from './clusterImages';
import { InferenceServices } from './inferenceServices';
import { RunForms } from './runForm';
import { ClusterSession, isClusterSource } from './session';

type Handler = (...args: unknown[]) => unknown;

export interface ClusterDeps {
  models: NotebookModels;
  runsModel: RunsModel;
  runsTree: RunsTree;
  graphs: GraphPanels;
}

/** A tree item as the integration suite sees it. */
export interface TreeSummary {
  label: string;
  description: string;
  tooltip: string;
  contextValue: string;
  children: TreeSummary[];
}

/** What the integration suite reads of the cluster side. */
export interface ClusterApi {
  /** The status bar item as shown (`visible` false when no kubeconfig context is configured). */
  statusBar(): { text: string; tooltip: string; visible: boolean };
  /** `unconfigured`, `configured`, `connecting`, `connected` or `failed`. */
  state(): string;
  /** Connects (loading the client) and names where. */
  connect(): Promise<{ context: string; namespace: string; source: string }>;
  /** The Runs view's cluster section: its notes and runs, each run with its steps. */
  runsSection(): TreeSummary[];
  /** The Inference Services view, each service with its details. */
  inferenceServices(): TreeSummary[];
  /** The cluster run-state chips of a cell (their text). */
  cellChips(cell: vscode.NotebookCell): string[];
}

export interface ClusterFeature {
  /** The command table with the cluster handlers added. */
  commands(table: Record<string, Handler>): Record<string, Handler>;
  api: ClusterApi;
  /** Step images for runs: Run on Kubeflow uses the same builds, settings and questions as Run on Cluster. */
  images: StepImages;
}

function text(value: string | vscode.MarkdownString | vscode.TreeItemLabel | undefined | boolean): string {
  if (value === undefined || typeof value === 'boolean') return '';
  if (typeof value === 'string') return value;
  return 'value' in value ? value.value : value.label;
}

/** A tree item and `depth` levels of its children, as the integration suite reads them. */
export function summarize<T>(provider: vscode.TreeDataProvider<T>, node: T, depth: number): TreeSummary {
  const item = provider.getTreeItem(node) as vscode.TreeItem;
  const children = depth > 0 ? ((provider.getChildren(node) ?? []) as T[]).map((c) => summarize(provider, c, depth - 1)) : [];
  return { label: text(item.label), description: text(item.description), tooltip: text(item.tooltip as string | vscode.MarkdownString | undefined), contextValue: item.contextValue ?? '', children };
}

export function registerCluster(ctx: Ctx, deps: ClusterDeps, own: <T extends vscode.Disposable>(d: T) => T): ClusterFeature {
  const session = own(new ClusterSession(ctx));
  const streams = own(new LogStreams(ctx));
  const logs = own(new ClusterLogs(session, streams));
  const forms = own(new RunForms(ctx));
  const images = own(new StepImages(ctx, session, deps.models));
  const runs = own(new ClusterRuns(ctx, session, deps.models, deps.runsModel, deps.runsTree, deps.graphs, streams, forms, images));
  own(runs.onDidChangeRuns((c) => logs.runsChanged(c)));
  const chips = own(new ClusterRunChips(session, runs));
  const isvcs = own(new InferenceServices(ctx, session, deps.models));
  const isvcTree = own(new InferenceServicesTree(isvcs));

  // Cluster runs carry their own actions: the Runs view's commands and the graph use them.
  own(deps.runsModel.provideActions(isClusterSource, {
    openGraph: (node) => runs.openGraph(node),
    showLogs: (node, step) => logs.show(logRefOf(node, step)),
    rerun: (node) => runs.rerun(node),
    rerunFromStep: (node, step) => runs.rerunFromStep(node, step),
    stop: (node, options) => runs.stop(node, options as { strategy?: 'Stop' | 'Terminate' } | undefined),
    delete: (node, options) => runs.delete(node, options as { confirmed?: boolean } | undefined),
  }));

  const commands = (table: Record<string, Handler>): Record<string, Handler> => {
    return {
      ...table,
      runOnCluster: (target, options) => runs.runOnCluster(target, options as { parameters?: Record<string, string> } | undefined),
      selectKubeconfig: (file) => session.selectKubeconfig(file instanceof vscode.Uri ? file : undefined),
      switchClusterContext: (choice) => session.switchContext(choice as { context?: string; namespace?: string } | undefined),
      toggleClusterRunScope: () => runs.toggleScope(),
      retryFailedSteps: (node) => runs.retryFailedSteps(node),
      resubmitRun: (node, options) => runs.resubmitWithParameters(node, options as { parameters?: Record<string, string> } | undefined),
      deployModel: (node, options) => isvcs.deployModel(node, options as { step?: string; output?: string; name?: string } | undefined),
      refreshInferenceServices: () => isvcs.refresh(),
      openInferenceServiceYaml: (node) => isvcs.openYaml(node),
      deleteInferenceService: (node, options) => isvcs.delete(node, options as { confirmed?: boolean } | undefined),
      testPrediction: (node, options) => isvcs.testPrediction(node, options as { protocol?: 'v1' | 'v2' } | undefined),
      sendPredictionRequest: (uri) => isvcs.sendPredictionRequest(uri),
      buildStepImages: (target, options) => images.buildStepImages(target, options as { requirements?: string[] } | undefined),
    };
  };

  const api: ClusterApi = {
    statusBar: () => ({ text: session.statusBar.text, tooltip: text(session.statusBar.tooltip), visible: true }),
    state: () => session.state.kind,
    connect: async () => {
      const c = await session.connect();
      return { context: c.context, namespace: c.namespace, source: c.sourceId };
    },
    runsSection: () => {
      const tree = deps.runsTree;
      const source = deps.runsModel.allSources().find((s) => isClusterSource(s.id));
      if (!source) return [];
      const node: RunsNode = { kind: 'source', source: source.id, label: source.label };
      return tree.getChildren(node).map((n) => summarize(tree, n, 1));
    },
    inferenceServices: () => isvcTree.getChildren().map((n: IsvcNode) => summarize(isvcTree, n, 1)),
    cellChips: (cell) => chips.provideCellStatusBarItems(cell).map((i) => i.text),
  };
  return { commands, api, images };
}
