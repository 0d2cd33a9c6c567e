// The Pipeline view for the active notebook: steps → inputs (with the step providing each),
// upstream steps without data, outputs, parameters, image and resources. Elements are plain
// data with stable ids; the model is the live analysis (NotebookModels). A click on a step
// reveals its cells; edge tooltips say why the edge exists.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { cellLabel } from '../converter/diagnostics';
import type { Edge, EdgeReason, Pipeline, Step } from '../converter/ir';
import { describeChange } from '../converter/mayModify';
import { Disposable } from '../workbench/lifecycle';
import { NOTEBOOK_TYPE, type NotebookModels } from '../workbench/notebookModel';

export type PipelineNode =
  | { kind: 'step'; notebook: string; step: string }
  | { kind: 'input'; notebook: string; step: string; name: string; from: string }
  | { kind: 'upstream'; notebook: string; step: string; from: string }
  | { kind: 'output'; notebook: string; step: string; name: string }
  | { kind: 'parameter'; notebook: string; step: string; name: string }
  | { kind: 'option'; notebook: string; step: string; option: 'image' | 'resources'; text: string }
  | { kind: 'problems'; notebook: string; errors: number; warnings: number };

export class PipelineTree extends Disposable implements vscode.TreeDataProvider<PipelineNode> {
  private readonly changed = this._register(new vscode.EventEmitter<PipelineNode | undefined>());
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<PipelineNode>;
  private notebook?: vscode.Uri;

  constructor(private readonly models: NotebookModels) {
    super();
    this.view = this._register(vscode.window.createTreeView('flowbook.pipeline', { treeDataProvider: this, showCollapseAll: true }));
    this._register(vscode.window.onDidChangeActiveNotebookEditor((e) => this.follow(e)));
    this._register(models.onDidAnalyze((a) => {
      if (!this.notebook && vscode.window.activeNotebookEditor?.notebook === a.document) this.notebook = a.document.uri;
      if (this.notebook?.toString() === a.document.uri.toString()) this.update();
    }));
    this._register(models.onDidClose((uri) => {
      if (this.notebook?.toString() === uri.toString()) {
        this.notebook = undefined;
        this.update();
      }
    }));
    this.follow(vscode.window.activeNotebookEditor);
  }

  /** The notebook the view shows (the last active Jupyter notebook). */
  get current(): vscode.Uri | undefined {
    return this.notebook;
  }

  private follow(editor: vscode.NotebookEditor | undefined): void {
    // Focus moving to the view itself (editor undefined) keeps the last notebook.
    if (!editor || editor.notebook.notebookType !== NOTEBOOK_TYPE) return;
    if (this.notebook?.toString() === editor.notebook.uri.toString()) return;
    this.notebook = editor.notebook.uri;
    this.update();
  }

  private update(): void {
    this.view.description = this.notebook ? path.basename(this.notebook.path) : undefined;
    this.changed.fire(undefined);
  }

  private pipeline(): Pipeline | undefined {
    return this.notebook ? this.models.get(this.notebook)?.pipeline : undefined;
  }

  getChildren(node?: PipelineNode): PipelineNode[] {
    const pipeline = this.pipeline();
    const nb = this.notebook?.toString();
    // A notebook that is not a pipeline shows the view's welcome text (one offer), not one big step.
    if (!pipeline || !nb || this.models.get(this.notebook!)?.mode.on === false) return [];
    if (!node) {
      const errors = pipeline.diagnostics.filter((d) => d.severity === 'error').length;
      const warnings = pipeline.diagnostics.filter((d) => d.severity === 'warning').length;
      const problems: PipelineNode[] = errors + warnings > 0 ? [{ kind: 'problems', notebook: nb, errors, warnings }] : [];
      return [...problems, ...pipeline.steps.map((s): PipelineNode => ({ kind: 'step', notebook: nb, step: s.name }))];
    }
    if (node.kind !== 'step') return [];
    const step = pipeline.steps.find((s) => s.name === node.step);
    if (!step) return [];
    const base = { notebook: nb, step: step.name };
    const dataFrom = new Set(step.inputs.map((i) => i.from));
    const children: PipelineNode[] = [
      ...step.inputs.map((i): PipelineNode => ({ kind: 'input', ...base, name: i.name, from: i.from })),
      ...step.after.filter((a) => !dataFrom.has(a)).map((a): PipelineNode => ({ kind: 'upstream', ...base, from: a })),
      ...step.outputs.map((o): PipelineNode => ({ kind: 'output', ...base, name: o })),
      ...step.parameters.map((p): PipelineNode => ({ kind: 'parameter', ...base, name: p })),
    ];
    const image = step.options.image;
    if (image) children.push({ kind: 'option', ...base, option: 'image', text: image });
    const limits = Object.entries(step.options.limits).map(([k, v]) => `${k} ${v}`).join(', ');
    if (limits) children.push({ kind: 'option', ...base, option: 'resources', text: limits });
    return children;
  }

  getParent(node: PipelineNode): PipelineNode | undefined {
    switch (node.kind) {
      case 'step':
      case 'problems':
        return undefined;
      default:
        return { kind: 'step', notebook: node.notebook, step: node.step };
    }
  }

  getTreeItem(node: PipelineNode): vscode.TreeItem {
    const pipeline = this.pipeline();
    const step = 'step' in node ? pipeline?.steps.find((s) => s.name === node.step) : undefined;
    switch (node.kind) {
      case 'problems': {
        const parts = [];
        if (node.errors > 0) parts.push(`${node.errors} ${node.errors === 1 ? 'error' : 'errors'}`);
        if (node.warnings > 0) parts.push(`${node.warnings} ${node.warnings === 1 ? 'warning' : 'warnings'}`);
        const item = new vscode.TreeItem(parts.join(', '));
        item.id = `problems:${node.notebook}`;
        item.description = 'open Problems';
        item.iconPath = new vscode.ThemeIcon(node.errors > 0 ? 'error' : 'warning', new vscode.ThemeColor(node.errors > 0 ? 'problemsErrorIcon.foreground' : 'problemsWarningIcon.foreground'));
        item.command = { title: 'Show Problems', command: 'workbench.actions.view.problems' };
        return item;
      }
      case 'step': {
        const count = pipeline?.steps.length ?? 0;
        const item = new vscode.TreeItem(node.step, count <= 12 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `step:${node.step}`;
        item.iconPath = new vscode.ThemeIcon('symbol-event');
        if (step) {
          item.description = cellsText(step.cells) + (step.after.length > 0 ? ` · after ${step.after.join(', ')}` : '');
          item.tooltip = stepTooltip(step);
        }
        item.contextValue = 'step';
        item.command = { title: 'Reveal Step Cells', command: 'flowbook.revealStep', arguments: [{ notebook: node.notebook, step: node.step }] };
        return item;
      }
      case 'input': {
        const item = new vscode.TreeItem(node.name);
        item.id = `step:${node.step}/input:${node.name}`;
        item.description = `← ${node.from}`;
        item.iconPath = new vscode.ThemeIcon('arrow-down');
        item.tooltip = edgeTooltip(pipeline?.edges.find((e) => e.from === node.from && e.to === node.step), node.name);
        item.contextValue = 'input';
        item.command = { title: 'Reveal Step Cells', command: 'flowbook.revealStep', arguments: [{ notebook: node.notebook, step: node.from }] };
        return item;
      }
      case 'upstream': {
        const item = new vscode.TreeItem(`after ${node.from}`);
        item.id = `step:${node.step}/after:${node.from}`;
        item.iconPath = new vscode.ThemeIcon('debug-step-back');
        const edge = pipeline?.edges.find((e) => e.from === node.from && e.to === node.step);
        item.description = edge ? edge.reasons.map(reasonShort).join(', ') : '';
        item.tooltip = edgeTooltip(edge);
        item.contextValue = 'upstream';
        item.command = { title: 'Reveal Step Cells', command: 'flowbook.revealStep', arguments: [{ notebook: node.notebook, step: node.from }] };
        return item;
      }
      case 'output': {
        const item = new vscode.TreeItem(node.name);
        item.id = `step:${node.step}/output:${node.name}`;
        const readers = (pipeline?.steps ?? []).filter((s) => s.inputs.some((i) => i.name === node.name && i.from === node.step)).map((s) => s.name);
        item.description = readers.length > 0 ? `→ ${readers.join(', ')}` : '→ metrics';
        item.iconPath = new vscode.ThemeIcon('arrow-up');
        item.tooltip = `${node.step} passes "${node.name}" on${readers.length > 0 ? ` to ${readers.join(', ')}` : ' (a pipeline metric reads it)'}.`;
        item.contextValue = 'output';
        return item;
      }
      case 'parameter': {
        const item = new vscode.TreeItem(node.name);
        item.id = `step:${node.step}/parameter:${node.name}`;
        const p = pipeline?.parameters.find((q) => q.name === node.name);
        item.description = p ? `parameter = ${p.literal}` : 'parameter';
        item.iconPath = new vscode.ThemeIcon('symbol-parameter');
        item.tooltip = p ? `Pipeline parameter "${p.name}" (${p.type}), default ${p.literal}, defined in ${cellLabel(p.cell)}.` : undefined;
        item.contextValue = 'parameter';
        if (p) item.command = { title: 'Reveal Cell', command: 'flowbook.revealCell', arguments: [{ notebook: node.notebook, cell: p.cell }] };
        return item;
      }
      case 'option': {
        const item = new vscode.TreeItem(node.option === 'image' ? 'image' : 'resources');
        item.id = `step:${node.step}/${node.option}`;
        item.description = node.text;
        item.iconPath = new vscode.ThemeIcon(node.option === 'image' ? 'package' : 'server');
        item.contextValue = node.option;
        return item;
      }
    }
  }
}

function cellsText(cells: readonly number[]): string {
  if (cells.length === 0) return 'no cells';
  const labels = cells.map((c) => c + 1);
  const contiguous = labels.every((c, i) => i === 0 || c === (labels[i - 1] ?? 0) + 1);
  if (labels.length === 1) return `cell ${labels[0]}`;
  return contiguous ? `cells ${labels[0]}–${labels[labels.length - 1]}` : `cells ${labels.join(', ')}`;
}

function stepTooltip(step: Step): vscode.MarkdownString {
  const md = new vscode.MarkdownString(`**${step.name}** (${cellsText(step.cells)})\n\n`);
  if (step.inputs.length > 0) md.appendMarkdown(`Receives: ${step.inputs.map((i) => `\`${i.name}\` from ${i.from}`).join(', ')}\n\n`);
  if (step.outputs.length > 0) md.appendMarkdown(`Passes on: ${step.outputs.map((o) => `\`${o}\``).join(', ')}\n\n`);
  if (step.imports.length > 0) md.appendMarkdown(`Imports: ${step.imports.join(', ')}\n\n`);
  md.appendMarkdown('Click to reveal its cells.');
  return md;
}

function reasonShort(r: EdgeReason): string {
  switch (r.kind) {
    case 'data': return r.names.join(', ');
    case 'prev': return `prev: tag`;
    case 'order': return 'notebook order';
  }
}

/** Why an edge exists, in the user's words. */
export function edgeWhy(edge: Edge): string[] {
  return edge.reasons.map((r) => {
    switch (r.kind) {
      case 'data': {
        const changed = (r.changes ?? []).map((c) => ` ${describeChange(c)}.`).join('');
        return `${edge.to} uses ${r.names.map((n) => `"${n}"`).join(', ')}, last set by ${edge.from}.${changed}`;
      }
      case 'prev': return `${cellLabel(r.cell)} has the tag "prev:${edge.from}".`;
      case 'order': return `No data passes between them; ${edge.to} runs after ${edge.from} to keep the notebook's order.`;
    }
  });
}

function edgeTooltip(edge: Edge | undefined, name?: string): string | undefined {
  if (!edge) return name;
  return [`${edge.from} → ${edge.to}`, ...edgeWhy(edge)].join('\n');
}
