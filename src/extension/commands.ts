// The command table: every `flowbook.*` command the extension contributes, registered in one
// loop through one wrapper that logs, times, and turns a failure into a short toast with
// "Open Output". The integration suite checks this table against package.json both ways.

import * as vscode from 'vscode';
import type { Ctx } from '../workbench/context';
import { errorMessage } from '../workbench/context';
import { UserError, type TagCommands } from './tagCommands';
import type { WorkflowDocuments } from './workflowDocument';
import type { LocalRuns } from './localRuns';
import type { GraphPanels } from '../views/graphPanel';
import type { StepLogs } from './logs';
import type { RunActionName, RunsModel } from '../workbench/runsModel';
import type { ResultsPanels } from '../views/resultsPanel';
import type { NotebookSettingsEditor } from './notebookSettings';
import { selectInterpreter } from './python';
import { fixCellTags } from './quickFixes';
import { targetNotebook } from '../workbench/cells';

export interface Services {
  tags: TagCommands;
  workflows: WorkflowDocuments;
  runs: LocalRuns;
  runsModel: RunsModel;
  graphs: GraphPanels;
  logs: StepLogs;
  results: ResultsPanels;
  notebookSettings: NotebookSettingsEditor;
}

type Handler = (...args: unknown[]) => unknown;

/** Command names without the `flowbook.` prefix → handlers. */
export function commandTable(ctx: Ctx, s: Services): Record<string, Handler> {
  return {
    setStep: (target, name) => s.tags.setStep(target, name as string | undefined),
    addUpstreamStep: (target, step) => s.tags.addUpstreamStep(target, step as string | undefined),
    removeUpstreamStep: (target, step) => s.tags.removeUpstreamStep(target, step as string | undefined),
    markAsImports: (target) => s.tags.markAs(target, 'imports'),
    markAsFunctions: (target) => s.tags.markAs(target, 'functions'),
    markAsPipelineParameters: (target) => s.tags.markAs(target, 'pipeline-parameters'),
    markAsPipelineMetrics: (target) => s.tags.markAs(target, 'pipeline-metrics'),
    markAsSkip: (target) => s.tags.markAs(target, 'skip'),
    setResources: (target, resources) => s.tags.setResources(target, resources as Parameters<TagCommands['setResources']>[1]),
    setImage: (target, image) => s.tags.setImage(target, image as string | undefined),
    clearTags: (target) => s.tags.clearTags(target),
    fixCellTags: (notebook, index, remove, add) => fixCellTags(notebook, index, remove, add),
    showCellInputs: (target) => s.tags.showCellInputs(target),
    showCellProblems: (target) => s.tags.showCellProblems(target),
    revealStep: (target, step) => s.tags.revealStep(target, step as string | undefined),
    revealCell: (target, line) => s.graphs.revealCell(target, line as number | undefined),
    enablePipeline: (target) => s.notebookSettings.enable(target),
    disablePipeline: (target) => s.notebookSettings.disable(target),
    editNotebookSettings: (target, values) => s.notebookSettings.edit(target, values as Record<string, string | undefined> | undefined),
    compile: (target) => s.workflows.compile(target),
    saveWorkflowAs: (target, destination) => s.workflows.saveAs(target, destination instanceof vscode.Uri ? destination : undefined),
    runLocally: (target) => s.runs.runLocally(target),
    selectPythonInterpreter: (target, file) => selectInterpreter(ctx, targetNotebook(target)?.uri, file instanceof vscode.Uri ? file : undefined),
    // Issue 5 (the cluster client) replaces this handler; until a cluster is configured the
    // command is disabled in menus (`enablement`), and from elsewhere it explains why.
    runOnCluster: async () => {
      const choice = await vscode.window.showInformationMessage(
        'No Kubernetes cluster is configured for Flowbook yet, so the pipeline cannot run on a cluster. Run it locally meanwhile.',
        'Run Locally');
      if (choice === 'Run Locally') await vscode.commands.executeCommand('flowbook.runLocally');
    },
    showGraph: (target) => s.graphs.showForNotebook(target),
    openRunGraph: (node) => runAction(s.runsModel, 'openGraph', node),
    showRunDetails: (node) => s.results.showDetails(node),
    compareRuns: (node, selected) => s.results.showComparison(node, selected),
    showStepLogs: (node, step) => runAction(s.runsModel, 'showLogs', node, step as string | undefined),
    rerun: (node) => runAction(s.runsModel, 'rerun', node),
    rerunFromStep: (node, step) => runAction(s.runsModel, 'rerunFromStep', node, step as string | undefined),
    stopRun: (node, options) => runAction(s.runsModel, 'stop', node, options),
    deleteRun: (node, options) => runAction(s.runsModel, 'delete', node, options),
    refreshRuns: () => s.runsModel.refresh(),
    showOutput: () => ctx.log.show(true),
  };
}

/** Runs an action on a run with the actions its source provides; a source without it says so. */
function runAction(model: RunsModel, name: RunActionName, target: unknown, arg?: unknown): Promise<unknown> {
  const source = (target as { source?: unknown } | undefined)?.source;
  if (typeof source !== 'string') throw new UserError('Pick a run in the Runs view.');
  const action = model.actionsFor(source)[name] as ((target: unknown, arg?: unknown) => Promise<unknown>) | undefined;
  if (!action) throw new UserError(`This action is not available for ${model.allSources().find((x) => x.id === source)?.label ?? source} runs.`);
  return action(target, arg);
}

export const PREFIX = 'flowbook';

/** Registers the table; every registration is owned by `ctx`. Returns the full command ids. */
export function registerCommands(ctx: Ctx, table: Record<string, Handler>, register: (d: vscode.Disposable) => void): string[] {
  const ids: string[] = [];
  for (const [name, handler] of Object.entries(table)) {
    const id = `${PREFIX}.${name}`;
    ids.push(id);
    register(vscode.commands.registerCommand(id, (...args: unknown[]) => runCommand(ctx, id, handler, args)));
  }
  return ids;
}

async function runCommand(ctx: Ctx, id: string, handler: Handler, args: unknown[]): Promise<unknown> {
  const started = performance.now();
  ctx.log.debug(`${id} started`);
  try {
    const result = await handler(...args);
    ctx.log.debug(`${id} finished in ${Math.round(performance.now() - started)} ms`);
    return result;
  } catch (err) {
    if (err instanceof vscode.CancellationError) {
      ctx.log.info(`${id} cancelled`);
      return undefined;
    }
    if (err instanceof UserError) {
      ctx.log.warn(`${id}: ${err.message}`);
      void vscode.window.showWarningMessage(err.message);
      return undefined;
    }
    ctx.showError(`Flowbook: ${errorMessage(err)}`, err);
    return undefined;
  }
}
