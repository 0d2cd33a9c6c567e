// Compile: the notebook's Argo Workflow as YAML in a read-only virtual document beside the
// notebook (`flowbook-workflow:` scheme), regenerated live as the notebook changes; Save As
// writes it to a file atomically. Compiled from the editor's content, unsaved edits included.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatDiagnostic, hasErrors } from '../converter/diagnostics';
import type { EmitOptions } from '../converter/emit/options';
import type { Pipeline } from '../converter/ir';
import { Disposable } from '../workbench/lifecycle';
import type { Ctx } from '../workbench/context';
import { targetNotebook } from '../workbench/cells';
import type { NotebookModels } from '../workbench/notebookModel';
import { UserError } from './tagCommands';
import type { Settings } from '../workbench/settings';

export const WORKFLOW_SCHEME = 'flowbook-workflow';

/** Emit options from the settings: the default image only when the notebook names none. */
export function emitOptions(settings: Settings, pipeline: Pipeline): EmitOptions {
  const options: EmitOptions = {};
  if (settings.defaultImage && !pipeline.settings.image) options.image = settings.defaultImage;
  if (settings.dataPassing) options.dataPassing = settings.dataPassing;
  return options;
}

export class WorkflowDocuments extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly changed = this._register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this.changed.event;

  constructor(private readonly ctx: Ctx, private readonly models: NotebookModels) {
    super();
    this._register(vscode.workspace.registerTextDocumentContentProvider(WORKFLOW_SCHEME, this));
    this._register(models.onDidAnalyze((a) => {
      const uri = workflowUri(a.document.uri, a.pipeline.name);
      if (vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString())) this.changed.fire(uri);
    }));
    this._register(ctx.onDidChangeSettings(() => {
      for (const d of vscode.workspace.textDocuments) if (d.uri.scheme === WORKFLOW_SCHEME) this.changed.fire(d.uri);
    }));
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const notebookUri = notebookOf(uri);
    const doc = vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === notebookUri.toString())
      ?? await vscode.workspace.openNotebookDocument(notebookUri);
    const analysis = await this.models.current(doc);
    if (!analysis) return '# Flowbook: this is not a Jupyter notebook.\n';
    const pipeline = analysis.pipeline;
    if (hasErrors(pipeline.diagnostics)) {
      const lines = pipeline.diagnostics.filter((d) => d.severity === 'error').map((d) => `#   ${formatDiagnostic(path.basename(pipeline.notebookPath), d)}`);
      return [`# Flowbook cannot compile ${path.basename(pipeline.notebookPath)} yet: fix these errors (see the Problems panel).`, ...lines, ''].join('\n');
    }
    const core = await this.ctx.core();
    const workflow = core.emitWorkflow(pipeline, emitOptions(this.ctx.settingsFor(notebookUri), pipeline));
    return core.toYaml(workflow);
  }

  /** Compile: opens the workflow beside the notebook. Returns the virtual document's URI. */
  async compile(target: unknown): Promise<vscode.Uri | undefined> {
    const doc = targetNotebook(target);
    if (!doc) {
      void vscode.window.showInformationMessage('Open a Jupyter notebook to compile it.');
      return undefined;
    }
    const analysis = await this.models.current(doc);
    if (!analysis) return undefined;
    const uri = workflowUri(doc.uri, analysis.pipeline.name);
    const text = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(text, 'yaml');
    await vscode.window.showTextDocument(text, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
    const errors = analysis.pipeline.diagnostics.filter((d) => d.severity === 'error').length;
    if (errors > 0) {
      void vscode.window.showWarningMessage(`The notebook has ${errors} ${errors === 1 ? 'error' : 'errors'}; fix ${errors === 1 ? 'it' : 'them'} to compile.`, 'Show Problems')
        .then((c) => c && vscode.commands.executeCommand('workbench.actions.view.problems'));
    }
    return uri;
  }

  /** Save As: writes the workflow YAML to a file the user picks (or `destination`). */
  async saveAs(target: unknown, destination?: vscode.Uri): Promise<vscode.Uri | undefined> {
    const uri = target instanceof vscode.Uri && target.scheme === WORKFLOW_SCHEME ? target
      : vscode.window.activeTextEditor?.document.uri.scheme === WORKFLOW_SCHEME ? vscode.window.activeTextEditor.document.uri
      : undefined;
    if (!uri) throw new UserError('Compile a notebook first (Flowbook: Compile to Argo Workflow), then save the workflow from its editor.');
    const notebook = notebookOf(uri);
    const content = await this.provideTextDocumentContent(uri);
    if (content.startsWith('# Flowbook cannot compile')) throw new UserError('The notebook has errors, so there is no workflow to save yet. See the Problems panel.');
    const suggested = vscode.Uri.joinPath(notebook, '..', path.basename(uri.path));
    const target2 = destination ?? await vscode.window.showSaveDialog({ defaultUri: suggested, filters: { 'Argo Workflow (YAML)': ['yaml', 'yml'] }, title: 'Save Workflow As' });
    if (!target2) return undefined;
    // Atomic: readers of the file never see half of it.
    const tmp = target2.with({ path: `${target2.path}.${process.pid}.tmp` });
    await vscode.workspace.fs.writeFile(tmp, new TextEncoder().encode(content));
    await vscode.workspace.fs.rename(tmp, target2, { overwrite: true });
    this.ctx.log.info(`workflow saved to ${target2.fsPath}`);
    void vscode.window.showInformationMessage(`Workflow saved to ${vscode.workspace.asRelativePath(target2)}.`);
    return target2;
  }
}

/** `flowbook-workflow:/<pipeline>.yaml?<notebook uri>`: the path names the tab, the query the notebook. */
export function workflowUri(notebook: vscode.Uri, pipelineName: string): vscode.Uri {
  const name = pipelineName.replace(/[^A-Za-z0-9_.-]+/g, '-') || 'workflow';
  return vscode.Uri.from({ scheme: WORKFLOW_SCHEME, path: `/${name}.yaml`, query: notebook.toString() });
}

function notebookOf(uri: vscode.Uri): vscode.Uri {
  return vscode.Uri.parse(uri.query);
}
