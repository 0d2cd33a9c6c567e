// Each step of a pipeline has a colour, so step boundaries show at a glance: a left border on
// its cells (text editor decorations of the cell editors), the step name drawn large after the
// first line of its first cell, and a stripe on its graph node. Colours are the theme's six
// chart colours by step order, so light, dark and high-contrast themes keep them readable.

import * as vscode from 'vscode';
import { Disposable } from '../workbench/lifecycle';
import type { NotebookAnalysis, NotebookModels } from '../workbench/notebookModel';
import { STEP_COLOURS, stepColour } from '../workbench/stepColour';


export class StepColours extends Disposable {
  private readonly borders = STEP_COLOURS.map((c) => this._register(vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    borderColor: new vscode.ThemeColor(c),
    borderStyle: 'solid',
    borderWidth: '0 0 0 4px',
  })));
  private readonly names = STEP_COLOURS.map((c) => this._register(vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor(c), fontWeight: 'bold', margin: '0 0 0 2em' },
  })));

  constructor(private readonly models: NotebookModels) {
    super();
    this._register(models.onDidAnalyze((a) => this.decorateNotebook(a)));
    this._register(vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((e) => this.decorate(e))));
    vscode.window.visibleTextEditors.forEach((e) => this.decorate(e));
  }

  private decorateNotebook(analysis: NotebookAnalysis): void {
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.scheme === 'vscode-notebook-cell' && analysis.byCellUri.has(editor.document.uri.toString())) this.decorate(editor, analysis);
    }
  }

  /** Colours one cell editor: the border of its step's colour, and the step name on a step's first cell. */
  private decorate(editor: vscode.TextEditor, known?: NotebookAnalysis): void {
    if (editor.document.uri.scheme !== 'vscode-notebook-cell') return;
    const key = editor.document.uri.toString();
    const analysis = known ?? this.models.all().find((a) => a.byCellUri.has(key));
    if (!analysis) return;
    const info = analysis.byCellUri.get(key);
    const index = info?.step === undefined || !analysis.mode.on ? -1 : analysis.pipeline.steps.findIndex((s) => s.name === info.step);
    const colour = index < 0 ? -1 : stepColour(index);
    const lines = editor.document.lineCount;
    const whole = [new vscode.Range(0, 0, Math.max(0, lines - 1), 0)];
    this.borders.forEach((d, i) => editor.setDecorations(d, i === colour ? whole : []));
    this.names.forEach((d, i) => {
      const first = i === colour && info?.firstOfStep === true;
      const end = editor.document.lineAt(0).range.end;
      editor.setDecorations(d, first ? [{ range: new vscode.Range(end, end), renderOptions: { after: { contentText: `◆ step ${info?.step ?? ''}` } } }] : []);
    });
  }
}
