// Publishes the pipeline's diagnostics in the Problems panel, on the cell and line at fault.
// Keyed by cell document URI; only cells whose diagnostics changed are updated, so one edit
// in a large notebook touches one or two entries.

import * as vscode from 'vscode';
import type { Diagnostic } from '../converter/diagnostics';
import { Disposable } from '../workbench/lifecycle';
import type { NotebookAnalysis, NotebookModels } from '../workbench/notebookModel';

export class DiagnosticsPublisher extends Disposable {
  private readonly collection = this._register(vscode.languages.createDiagnosticCollection('flowbook'));
  /** Per notebook: cell (or notebook) URI → the key of what is published there. */
  private readonly published = new Map<string, Map<string, string>>();

  constructor(models: NotebookModels) {
    super();
    this._register(models.onDidAnalyze((a) => this.publish(a)));
    this._register(models.onDidClose((uri) => this.clear(uri)));
  }

  private publish(analysis: NotebookAnalysis): void {
    const doc = analysis.document;
    const cells = doc.getCells();
    const wanted = new Map<string, { uri: vscode.Uri; items: Diagnostic[]; cell?: vscode.NotebookCell }>();
    // A notebook that is not a pipeline has no pipeline problems.
    for (const d of analysis.mode.on ? analysis.pipeline.diagnostics : []) {
      // Other tools' tags (hide-input, remove-cell ...) are normal in notebooks: not a problem.
      if (d.code === 'FB100') continue;
      const cell = d.cell === undefined ? undefined : cells[d.cell];
      const uri = cell ? cell.document.uri : doc.uri;
      const entry = wanted.get(uri.toString()) ?? { uri, items: [], ...(cell ? { cell } : {}) };
      entry.items.push(d);
      wanted.set(uri.toString(), entry);
    }
    const before = this.published.get(doc.uri.toString()) ?? new Map<string, string>();
    const after = new Map<string, string>();
    for (const [key, entry] of wanted) {
      const fingerprint = JSON.stringify(entry.items);
      after.set(key, fingerprint);
      if (before.get(key) === fingerprint) continue;
      this.collection.set(entry.uri, entry.items.map((d) => toVscode(d, entry.cell?.document)));
    }
    for (const key of before.keys()) if (!after.has(key)) this.collection.delete(vscode.Uri.parse(key));
    this.published.set(doc.uri.toString(), after);
  }

  private clear(notebook: vscode.Uri): void {
    const keys = this.published.get(notebook.toString());
    for (const key of keys?.keys() ?? []) this.collection.delete(vscode.Uri.parse(key));
    this.published.delete(notebook.toString());
  }
}

/** A Flowbook diagnostic as VS Code shows it: the range covers the word at the column, or the line. */
export function toVscode(d: Diagnostic, document?: vscode.TextDocument): vscode.Diagnostic {
  const line = Math.max(0, (d.line ?? 1) - 1);
  let range = new vscode.Range(line, 0, line, 0);
  if (document && line < document.lineCount) {
    const text = document.lineAt(line);
    if (d.column !== undefined) {
      const pos = new vscode.Position(line, Math.max(0, d.column - 1));
      range = document.getWordRangeAtPosition(pos) ?? new vscode.Range(pos, text.range.end);
    } else {
      range = new vscode.Range(line, text.firstNonWhitespaceCharacterIndex, line, text.range.end.character);
    }
  }
  const severity = d.severity === 'error' ? vscode.DiagnosticSeverity.Error
    : d.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information;
  const result = new vscode.Diagnostic(range, d.message, severity);
  result.source = 'flowbook';
  result.code = d.code;
  return result;
}
