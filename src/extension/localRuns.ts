// Run Locally and the Runs view's actions on local runs (re-run, re-run from a step, stop,
// delete). Runs execute the Workflow compiled from the editor's content (unsaved edits
// included) through the local runner; its events refresh the Runs view and the graph at
// once, without waiting for the file watcher. Runs need a trusted workspace.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { hasErrors } from '../converter/diagnostics';
import type { RunHandle } from '../runner/index';
import { Disposable } from '../workbench/lifecycle';
import { errorMessage, type Ctx } from '../workbench/context';
import { targetNotebook } from '../workbench/cells';
import type { NotebookModels } from '../workbench/notebookModel';
import { UserError } from './tagCommands';
import { emitOptions } from './workflowDocument';
import type { LocalRunSource, RunsModel, RunView } from '../workbench/runsModel';
import type { GraphPanels } from '../views/graphPanel';
import { formatDuration } from '../views/runsTree';
import { metricText } from '../common/runCompare';
import { missingPackagesMessage, pythonInterpreter, selectInterpreter, type MissingPackages } from './python';

const INSTALL_IN_TERMINAL = 'Install in Terminal';
const COPY_INSTALL = 'Copy Install Command';
const SELECT_INTERPRETER = 'Select Interpreter…';

interface RunRefLike {
  source?: string;
  id?: string;
  step?: string;
}

export class LocalRuns extends Disposable {
  private readonly active = new Map<string, RunHandle>();

  constructor(
    private readonly ctx: Ctx,
    private readonly models: NotebookModels,
    private readonly runsModel: RunsModel,
    private readonly local: LocalRunSource,
    private readonly graphs: GraphPanels,
  ) {
    super();
    this._register({ dispose: () => this.active.forEach((h) => h.cancel()) });
  }

  /** The runs folder for a notebook: the setting (absolute, or relative to the workspace folder), else beside the notebook. */
  runsDirFor(notebook: vscode.Uri): string {
    const configured = this.ctx.settingsFor(notebook).runsFolder;
    if (configured === undefined) return path.join(path.dirname(notebook.fsPath), '.flowbook', 'runs');
    if (path.isAbsolute(configured)) return configured;
    const folder = vscode.workspace.getWorkspaceFolder(notebook) ?? vscode.workspace.workspaceFolders?.[0];
    return path.resolve(folder ? folder.uri.fsPath : path.dirname(notebook.fsPath), configured);
  }

  /** Run Locally. Returns the run id once the run has started (not when it ends). */
  async runLocally(target: unknown, options: { from?: string } = {}): Promise<string | undefined> {
    if (!vscode.workspace.isTrusted) {
      throw new UserError('Running a pipeline runs the notebook\'s code, so Flowbook runs only in a trusted workspace. Use "Manage Workspace Trust" to trust this folder.');
    }
    const doc = targetNotebook(target);
    if (!doc) {
      void vscode.window.showInformationMessage('Open a Jupyter notebook to run its pipeline.');
      return undefined;
    }
    if (doc.uri.scheme !== 'file') throw new UserError('Save the notebook to a file first: runs keep their records next to it.');
    const analysis = await this.models.current(doc);
    if (!analysis) return undefined;
    const pipeline = analysis.pipeline;
    if (hasErrors(pipeline.diagnostics)) {
      const errors = pipeline.diagnostics.filter((d) => d.severity === 'error').length;
      void vscode.window.showErrorMessage(`The notebook has ${errors} ${errors === 1 ? 'error' : 'errors'}; fix ${errors === 1 ? 'it' : 'them'} before running.`, 'Show Problems')
        .then((c) => c && vscode.commands.executeCommand('workbench.actions.view.problems'));
      return undefined;
    }
    if (pipeline.steps.length === 0) throw new UserError('The notebook has no code to run yet.');

    const core = await this.ctx.core();
    const python = await pythonInterpreter(this.ctx, doc.uri);
    try {
      await core.probePython(python);
    } catch (err) {
      const choice = await vscode.window.showErrorMessage(
        `Flowbook cannot run steps with the Python interpreter "${python}": ${errorMessage(err).replace(/,? ?(or )?pass --python[^.]*\./, '.')} Set the setting "flowbook.pythonInterpreter" to one that has your notebook's packages.`,
        SELECT_INTERPRETER, 'Open Settings');
      if (choice === SELECT_INTERPRETER) await selectInterpreter(this.ctx, doc.uri);
      else if (choice) await vscode.commands.executeCommand('workbench.action.openSettings', 'flowbook.pythonInterpreter');
      return undefined;
    }

    const settings = this.ctx.settingsFor(doc.uri);
    const workflow = core.emitWorkflow(pipeline, emitOptions(settings, pipeline));
    const runsDir = this.runsDirFor(doc.uri);
    let handle: RunHandle;
    try {
      handle = core.startRun({
        workflow, notebook: doc.uri.fsPath, runsDir, python, jobs: settings.parallelism,
        cwd: path.dirname(doc.uri.fsPath), modules: pipeline.modules, chooseInterpreter: 'the flowbook.pythonInterpreter setting',
        ...(settings.keepRuns !== undefined ? { keep: settings.keepRuns } : {}),
        ...(options.from !== undefined ? { from: options.from } : {}),
      });
    } catch (err) {
      if (err instanceof core.RunOptionsError) throw new UserError(`Cannot run: ${err.message}.`);
      throw err;
    }
    this.ctx.log.info(`run ${handle.id} started: ${doc.uri.fsPath} with ${python}, ${settings.parallelism} at a time${options.from ? `, from step ${options.from}` : ''}`);
    this.active.set(handle.id, handle);
    this.local.addFolder(runsDir);
    this.local.reload(handle.dir);
    handle.events.on('event', (e) => {
      if (e.type === 'warning') this.ctx.log.warn(`run ${handle.id}: ${e.message}`);
      this.local.reload(handle.dir);
    });
    await this.graphs.showForRun({ source: 'local', id: handle.id });
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Flowbook: running ${path.basename(doc.uri.fsPath)}` }, () => handle.done);
    void handle.done.then((record) => {
      this.active.delete(handle.id);
      this.local.reload(handle.dir);
      this.announce(handle.id);
      this.ctx.log.info(`run ${handle.id} ${record.status}${record.error ? `: ${record.error}` : ''}`);
    });
    return handle.id;
  }

  /** A short toast when a run ends; failures offer the logs of the failed step. */
  private announce(id: string): void {
    const run = this.runsModel.find('local', id);
    if (!run) return;
    const time = run.durationMs !== undefined ? ` in ${formatDuration(run.durationMs)}` : '';
    const graphShown = run.notebook !== undefined && this.graphs.isVisible(run.notebook);
    if (run.status === 'succeeded') {
      const metrics = Object.entries(run.metrics ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([n, v]) => `${n} ${metricText(v)}`);
      const previous = this.local.runs().find((r) => r.notebook === run.notebook && r.id !== id && r.startedAt < run.startedAt);
      const actions = ['Show Details', ...(previous ? ['Compare with Previous'] : []), ...(graphShown ? [] : ['Open Graph'])];
      void vscode.window.showInformationMessage(`Run of ${run.title} succeeded${time}.${metrics.length > 0 ? ` ${metrics.join(', ')}.` : ''}`, ...actions).then((c) => {
        const ref = { kind: 'run', source: 'local', id };
        if (c === 'Show Details') void vscode.commands.executeCommand('flowbook.showRunDetails', ref);
        if (c === 'Compare with Previous' && previous) void vscode.commands.executeCommand('flowbook.compareRuns', ref, [{ kind: 'run', source: 'local', id: previous.id }, ref]);
        if (c === 'Open Graph') void this.graphs.showForRun({ source: 'local', id });
      });
      return;
    }
    if (run.status === 'cancelled') return;
    if (run.missingPackages) {
      void this.offerMissingPackages(run.missingPackages, run.notebook);
      return;
    }
    const failed = run.steps.find((s) => s.status === 'failed');
    const why = failed?.note ?? run.error ?? 'see the logs';
    void vscode.window.showErrorMessage(`Run of ${run.title} failed: ${why}`, ...(failed ? ['Show Logs'] : []), ...(graphShown ? [] : ['Open Graph'])).then((c) => {
      if (c === 'Show Logs' && failed) void vscode.commands.executeCommand('flowbook.showStepLogs', { source: 'local', id, step: failed.name });
      if (c === 'Open Graph') void this.graphs.showForRun({ source: 'local', id });
    });
  }

  /**
   * Every package the interpreter lacks, found before any step ran, in one message with one
   * install command; the ways out: install in a terminal, copy the command, or pick another
   * interpreter (the Python extension's picker when installed).
   */
  private async offerMissingPackages(missing: MissingPackages, notebook: string | undefined): Promise<void> {
    const choice = await vscode.window.showErrorMessage(missingPackagesMessage(missing), INSTALL_IN_TERMINAL, COPY_INSTALL, SELECT_INTERPRETER);
    if (choice === INSTALL_IN_TERMINAL) {
      const terminal = vscode.window.createTerminal({ name: 'Flowbook: install packages', ...(notebook ? { cwd: path.dirname(notebook) } : {}) });
      terminal.show();
      terminal.sendText(missing.install, false);
    } else if (choice === COPY_INSTALL) {
      await vscode.env.clipboard.writeText(missing.install);
    } else if (choice === SELECT_INTERPRETER) {
      await selectInterpreter(this.ctx, notebook ? vscode.Uri.file(notebook) : undefined);
    }
  }

  private runOf(target: unknown): RunView {
    const t = target as RunRefLike | undefined;
    const run = t?.source && t.id ? this.runsModel.find(t.source, t.id) : undefined;
    if (!run) throw new UserError('Pick a run in the Runs view.');
    if (run.source !== 'local') throw new UserError('This action is only available for local runs.');
    return run;
  }

  private async notebookOf(run: RunView): Promise<vscode.NotebookDocument> {
    if (!run.notebook) throw new UserError(`Run ${run.id} does not say which notebook it ran.`);
    if (!fs.existsSync(run.notebook)) throw new UserError(`The notebook of run ${run.id} is gone: ${run.notebook}.`);
    return vscode.workspace.openNotebookDocument(vscode.Uri.file(run.notebook));
  }

  /** Re-run: the notebook as it is now, all steps (unchanged steps come from the cache). */
  async rerun(target: unknown): Promise<string | undefined> {
    const run = this.runOf(target);
    return this.runLocally(await this.notebookOf(run));
  }

  /** Re-run from Step: that step and everything downstream; upstream outputs are reused. */
  async rerunFromStep(target: unknown, stepName?: string): Promise<string | undefined> {
    const run = this.runOf(target);
    const step = stepName ?? (target as RunRefLike).step ?? (await vscode.window.showQuickPick(run.steps.map((s) => s.name), { title: 'Re-run from Step' }));
    if (!step) return undefined;
    return this.runLocally(await this.notebookOf(run), { from: step });
  }

  async stop(target: unknown): Promise<void> {
    const run = this.runOf(target);
    const handle = this.active.get(run.id);
    if (!handle) {
      throw new UserError(`Run ${run.id} was not started from this window; stop it where it was started (for example, Ctrl+C in its terminal).`);
    }
    handle.cancel();
    await handle.done;
  }

  /** Delete: removes the run folder after a confirmation (`{ confirmed: true }` skips it). */
  async delete(target: unknown, options?: { confirmed?: boolean }): Promise<void> {
    const run = this.runOf(target);
    if (run.status === 'running' || run.status === 'pending') throw new UserError('Stop the run before deleting it.');
    const dir = run.dir;
    if (!dir || path.basename(dir) !== run.id || !fs.existsSync(path.join(dir, 'run.json'))) {
      throw new UserError(`Run ${run.id} has no run folder to delete.`);
    }
    if (!options?.confirmed) {
      const choice = await vscode.window.showWarningMessage(`Delete run ${run.id} of ${run.title}, with its logs and data?`, { modal: true }, 'Delete');
      if (choice !== 'Delete') return;
    }
    await fs.promises.rm(dir, { recursive: true, force: true });
    this.local.forget(dir);
    this.ctx.log.info(`run ${run.id} deleted`);
  }
}
