// Cell status-bar chips: the step a code cell belongs to (or its role), the inputs its step
// receives and from where, its resource options, and a problem count. Chips are computed
// from the latest analysis only; each one opens the matching quick pick.

import * as vscode from 'vscode';
import type { CellRole, Pipeline, Step } from '../converter/ir';
import { Disposable } from '../workbench/lifecycle';
import { NOTEBOOK_TYPE, type CellInfo, type NotebookAnalysis, type NotebookModels } from '../workbench/notebookModel';

const ROLE_CHIPS: Record<Exclude<CellRole, 'step'>, { icon: string; label: string }> = {
  imports: { icon: 'package', label: 'imports' },
  functions: { icon: 'symbol-method', label: 'functions' },
  parameters: { icon: 'symbol-parameter', label: 'pipeline parameters' },
  metrics: { icon: 'graph-line', label: 'pipeline metrics' },
  skip: { icon: 'debug-step-over', label: 'skip' },
};

/** Fires after chips changed, with the time from the edit to the new chips (for the integration suite). */
export interface ChipsUpdate {
  notebook: vscode.Uri;
  version: number;
  /** From the first change not yet analysed to the chips' change event. */
  latencyMs: number;
  /** The analysis alone (notebook → pipeline → cell infos). */
  analysisMs: number;
}

export class CellChips extends Disposable implements vscode.NotebookCellStatusBarItemProvider {
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeCellStatusBarItems = this.changed.event;
  private readonly updated = this._register(new vscode.EventEmitter<ChipsUpdate>());
  readonly onDidUpdate = this.updated.event;

  constructor(private readonly models: NotebookModels) {
    super();
    this._register(vscode.notebooks.registerNotebookCellStatusBarItemProvider(NOTEBOOK_TYPE, this));
    this._register(models.onDidAnalyze((analysis) => {
      this.changed.fire();
      this.updated.fire({ notebook: analysis.document.uri, version: analysis.version, latencyMs: analysis.latencyMs, analysisMs: analysis.analysisMs });
    }));
  }

  provideCellStatusBarItems(cell: vscode.NotebookCell): vscode.NotebookCellStatusBarItem[] {
    const analysis = this.models.get(cell.notebook.uri);
    const info = analysis?.byCellUri.get(cell.document.uri.toString());
    // A notebook that is not a pipeline gets no chips (its one offer is in the toolbar).
    if (!analysis?.mode.on || !info || info.kind !== 'code') return [];
    return chipsFor(cell, info, analysis);
  }
}

/** The chips of one cell, left to right. Exported for the integration suite. */
export function chipsFor(cell: vscode.NotebookCell, info: CellInfo, analysis: NotebookAnalysis): vscode.NotebookCellStatusBarItem[] {
  const items: vscode.NotebookCellStatusBarItem[] = [];
  const pipeline = analysis.pipeline;
  const left = vscode.NotebookCellStatusBarAlignment.Left;
  const step = info.step === undefined ? undefined : pipeline.steps.find((s) => s.name === info.step);

  if (info.role === undefined) {
    const item = new vscode.NotebookCellStatusBarItem('$(tag) no step', left);
    item.tooltip = 'This cell is not part of the pipeline yet. Click to put it in a step or give it a role.';
    item.command = { title: 'Set Step', command: 'flowbook.setStep', arguments: [cell] };
    items.push(item);
  } else if (info.role === 'step' && step) {
    const text = info.firstOfStep ? `$(symbol-event) ${step.name}` : `$(arrow-small-down) ${step.name}`;
    const item = new vscode.NotebookCellStatusBarItem(text, left);
    item.tooltip = stepTooltip(step, info.firstOfStep);
    item.command = { title: 'Set Step', command: 'flowbook.setStep', arguments: [cell] };
    item.accessibilityInformation = { label: `Flowbook step ${step.name}` };
    items.push(item);
  } else if (info.role !== 'step') {
    const chip = ROLE_CHIPS[info.role];
    const item = new vscode.NotebookCellStatusBarItem(`$(${chip.icon}) ${chip.label}`, left);
    item.tooltip = `Flowbook: this cell is a ${chip.label} cell. Click to change its role or put it in a step.`;
    item.command = { title: 'Set Step', command: 'flowbook.setStep', arguments: [cell] };
    items.push(item);
  }

  if (step && info.firstOfStep && step.inputs.length > 0) {
    const item = new vscode.NotebookCellStatusBarItem(`← ${inputsText(step)}`, left);
    item.tooltip = inputsTooltip(step, pipeline);
    item.command = { title: 'Show Inputs', command: 'flowbook.showCellInputs', arguments: [cell] };
    items.push(item);
  }

  if (step && info.firstOfStep) {
    const resources = resourcesText(step);
    if (resources) {
      const item = new vscode.NotebookCellStatusBarItem(`$(server) ${resources}`, left);
      item.tooltip = 'Resource limits and image of this step. Click to change the resources.';
      item.command = { title: 'Set Resources', command: 'flowbook.setResources', arguments: [cell] };
      items.push(item);
    }
  }

  const errors = info.diagnostics.filter((d) => d.severity === 'error');
  const warnings = info.diagnostics.filter((d) => d.severity === 'warning');
  if (errors.length > 0 || warnings.length > 0) {
    const text = errors.length > 0
      ? `$(error) ${errors.length} ${errors.length === 1 ? 'error' : 'errors'}`
      : `$(warning) ${warnings.length} ${warnings.length === 1 ? 'warning' : 'warnings'}`;
    const item = new vscode.NotebookCellStatusBarItem(text, left);
    item.tooltip = [...errors, ...warnings].map((d) => `${d.code} ${d.message}`).join('\n');
    item.command = { title: 'Show Problems', command: 'flowbook.showCellProblems', arguments: [cell] };
    items.push(item);
  }
  return items;
}

/** `df, X from load · model from train`: the step's inputs grouped by provider. */
export function inputsText(step: Step, maxProviders = 3): string {
  const groups = new Map<string, string[]>();
  for (const input of step.inputs) groups.set(input.from, [...(groups.get(input.from) ?? []), input.name]);
  const parts = [...groups].map(([from, names]) => `${names.join(', ')} from ${from}`);
  return parts.length > maxProviders ? `${parts.slice(0, maxProviders).join(' · ')} · …` : parts.join(' · ');
}

function inputsTooltip(step: Step, pipeline: Pipeline): string {
  const lines = [`Step ${step.name} receives:`, ...step.inputs.map((i) => `  ${i.name} from step ${i.from}`)];
  if (step.parameters.length > 0) lines.push(`Pipeline parameters: ${step.parameters.join(', ')}`);
  const others = pipeline.edges.filter((e) => e.to === step.name && !e.reasons.some((r) => r.kind === 'data'));
  for (const e of others) lines.push(`Runs after ${e.from} (${e.reasons.map((r) => r.kind === 'prev' ? 'prev: tag' : 'notebook order').join(', ')})`);
  lines.push('Click to go to the cells that provide them.');
  return lines.join('\n');
}

function stepTooltip(step: Step, first: boolean): string {
  let text = `${first ? 'Flowbook step' : 'Part of Flowbook step'} ${step.name} (${step.cells.length} ${step.cells.length === 1 ? 'cell' : 'cells'})`;
  if (step.after.length > 0) text += `, runs after ${step.after.join(', ')}`;
  if (step.outputs.length > 0) text += `\nPasses on: ${step.outputs.join(', ')}`;
  return `${text}\nClick to change the step or the cell's role.`;
}

function resourcesText(step: Step): string | undefined {
  const l = step.options.limits;
  const parts: string[] = [];
  if (l['cpu']) parts.push(`cpu ${l['cpu']}`);
  if (l['memory']) parts.push(`mem ${l['memory']}`);
  if (l['nvidia.com/gpu']) parts.push(`gpu ${l['nvidia.com/gpu']}`);
  if (step.options.image) parts.push(step.options.image);
  return parts.length > 0 ? parts.join(' · ') : undefined;
}
