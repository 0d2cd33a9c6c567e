// "Verify Pipeline Against Notebook": runs `flowbook verify`'s core (src/verify) on the saved
// notebook with progress and cancel, opens the report read-only beside the notebook, and
// reveals the cell of the first divergence. The verify code loads on first use.

import * as vscode from 'vscode';
import type { VerifyReport } from '../verify/index';
import { Disposable } from '../workbench/lifecycle';
import type { Ctx } from '../workbench/context';
import { revealCells, targetNotebook } from '../workbench/cells';
import { UserError } from './tagCommands';
import { pythonInterpreter } from './python';
import type { LocalRuns } from './localRuns';
import type { LocalRunSource } from '../workbench/runsModel';

/** Reports are virtual documents: `flowbook-verify:/<notebook name>.verify.md?<n>`. */
export const VERIFY_SCHEME = 'flowbook-verify';

type Handler = (...args: unknown[]) => unknown;

export class VerifyCommand extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly reports = new Map<string, string>();
  private readonly changed = this._register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this.changed.event;
  private count = 0;

  constructor(private readonly ctx: Ctx, private readonly runs: LocalRuns, private readonly local: LocalRunSource) {
    super();
    this._register(vscode.workspace.registerTextDocumentContentProvider(VERIFY_SCHEME, this));
  }

  /** Adds `verifyPipeline` to the command table. */
  commands(table: Record<string, Handler>): Record<string, Handler> {
    return { ...table, verifyPipeline: (target) => this.verify(target) };
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.reports.get(uri.toString()) ?? 'This verify report is gone; run "Verify Pipeline Against Notebook" again.';
  }

  /** Runs verify on the notebook; resolves to the report (undefined when nothing ran). */
  async verify(target: unknown): Promise<VerifyReport | undefined> {
    if (!vscode.workspace.isTrusted) {
      throw new UserError('Verify runs the notebook\'s code (straight through and as a pipeline), so it runs only in a trusted workspace. Use "Manage Workspace Trust" to trust this folder.');
    }
    const doc = targetNotebook(target);
    if (!doc) {
      void vscode.window.showInformationMessage('Open a Jupyter notebook to verify its pipeline.');
      return undefined;
    }
    if (doc.uri.scheme !== 'file') throw new UserError('Save the notebook to a file first: verify runs the saved notebook.');
    if (doc.isDirty && !(await doc.save())) throw new UserError('Save the notebook first: verify runs the saved notebook.');
    const python = await pythonInterpreter(this.ctx, doc.uri);
    const compiler = await this.ctx.compiler();
    const settings = this.ctx.settingsFor(doc.uri);
    const runsDir = this.runs.runsDirFor(doc.uri);
    const { verifyNotebook } = await import(/* webpackChunkName: "core" */ '../verify/index.js');
    const name = doc.uri.path.split('/').pop() ?? 'notebook';
    const report = await vscode.window.withProgress({
      location: vscode.ProgressLocation.Notification,
      title: `Verifying ${name}`,
      cancellable: true,
    }, async (progress, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      try {
        return await verifyNotebook({
          notebook: doc.uri.fsPath, python, runsDir, jobs: settings.parallelism, signal: abort.signal,
          compile: (text, file) => compiler.compileText(text, file),
          onProgress: (message) => progress.report({ message }),
        });
      } finally {
        sub.dispose();
      }
    });
    if (report.runDir) {
      this.local.addFolder(runsDir);
      this.local.reload(report.runDir);
    }
    this.ctx.log.info(`verify ${doc.uri.fsPath}: ${report.summary}`);
    const { reportMarkdown } = await import(/* webpackChunkName: "core" */ '../verify/format.js');
    const uri = vscode.Uri.from({ scheme: VERIFY_SCHEME, path: `/${name.replace(/\.ipynb$/, '')}.verify.md`, query: String(++this.count) });
    this.reports.set(uri.toString(), reportMarkdown(report));
    this.changed.fire(uri);
    const first = report.divergences[0];
    const cell = first?.cell ?? report.diagnostics[0]?.cell;
    if (cell !== undefined) await revealCells(doc, [cell], first?.line);
    const shown = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(shown, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: cell !== undefined });
    if (report.outcome === 'identical') void vscode.window.showInformationMessage(`Verify: ${report.summary}`);
    return report;
  }
}
