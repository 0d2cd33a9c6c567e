// The tag editing commands: Set Step, Add/Remove Upstream Step, Mark as ..., Set Resources,
// Set Image, Clear Flowbook Tags, plus the quick picks behind the cell chips. The tag logic
// itself is vscode-free (converter/tagEdit.ts); this module asks the user and applies edits.
// Every command accepts its value as a second argument, so tests and other commands can
// skip the prompts.

import * as vscode from 'vscode';
import {
  addPrev, checkImage, checkQuantity, checkStepName, clearFlowbookTags, imageOf, markAs, preferredStepPrefix,
  prevStepsOf, removePrev, resourcesOf, setImage, setResources, setStep, type MarkRole, type Resources,
} from '../converter/tagEdit';
import { cellLabel } from '../converter/diagnostics';
import type { Ctx } from '../workbench/context';
import { editCellTags, isNotebookCell, revealCells, targetCells, targetNotebook } from '../workbench/cells';
import { cellTags, type NotebookModels } from '../workbench/notebookModel';

export class TagCommands {
  constructor(private readonly ctx: Ctx, private readonly models: NotebookModels) {}

  private cellsOrExplain(target: unknown): vscode.NotebookCell[] {
    const cells = targetCells(target);
    if (cells.length === 0) {
      void vscode.window.showInformationMessage('Select a code cell in a Jupyter notebook first.');
    }
    return cells;
  }

  /** Step names in notebook order, from the latest analysis (or the tags when none yet). */
  private async stepNames(doc: vscode.NotebookDocument): Promise<{ name: string; cells: number[] }[]> {
    const analysis = await this.models.current(doc);
    if (analysis) return analysis.pipeline.steps.map((s) => ({ name: s.name, cells: s.cells }));
    return [];
  }

  async setStep(target: unknown, name?: string): Promise<void> {
    const cells = this.cellsOrExplain(target);
    const first = cells[0];
    if (!first) return;
    let choice: RoleChoice | undefined = name === undefined ? undefined : { kind: 'step', name };
    // From a chip (a single cell), offer roles too: the chip shows either.
    choice ??= await this.pickRole(first, cells.length, isNotebookCell(target));
    if (!choice) return;
    if (choice.kind === 'role') return this.markAs(cells, choice.role);
    if (choice.kind === 'clear') return this.clearTags(cells);
    const check = checkStepName(choice.name);
    if (check && 'error' in check) throw new UserError(`"${choice.name}" is not a valid step name: ${check.error}`);
    const prefix = preferredStepPrefix(first.notebook.getCells().map(cellTags));
    const stepName = choice.name.trim();
    await editCellTags(cells, (tags) => setStep(tags, stepName, prefix));
  }

  private async pickRole(cell: vscode.NotebookCell, count: number, withRoles: boolean): Promise<RoleChoice | undefined> {
    const steps = await this.stepNames(cell.notebook);
    const current = this.models.get(cell.notebook.uri)?.byCellUri.get(cell.document.uri.toString());
    type Item = vscode.QuickPickItem & { choice?: RoleChoice };
    const stepItems: Item[] = steps.map((s) => ({
      label: `$(symbol-event) ${s.name}`,
      description: `${s.cells.length === 1 ? cellLabel(s.cells[0] ?? 0) : `${s.cells.length} cells`}${current?.step === s.name ? ' · current' : ''}`,
      choice: { kind: 'step', name: s.name },
    }));
    const roleItems: Item[] = withRoles ? [
      { label: 'Roles', kind: vscode.QuickPickItemKind.Separator },
      { label: '$(package) Imports', description: 'code every step runs first', choice: { kind: 'role', role: 'imports' } },
      { label: '$(symbol-method) Functions', description: 'definitions every step gets', choice: { kind: 'role', role: 'functions' } },
      { label: '$(symbol-parameter) Pipeline Parameters', description: 'NAME = value lines', choice: { kind: 'role', role: 'pipeline-parameters' } },
      { label: '$(graph-line) Pipeline Metrics', description: 'print(name) lines', choice: { kind: 'role', role: 'pipeline-metrics' } },
      { label: '$(debug-step-over) Skip', description: 'not part of the pipeline', choice: { kind: 'role', role: 'skip' } },
      { label: '$(clear-all) Clear Flowbook Tags', choice: { kind: 'clear' } },
    ] : [];
    const pick = vscode.window.createQuickPick<Item>();
    pick.title = count === 1 ? `Step of ${cellLabel(cell.index)}` : `Step of ${count} cells`;
    pick.placeholder = steps.length > 0 ? 'Pick a step, or type a new step name' : 'Type a step name, for example load_data';
    const base: Item[] = [...(stepItems.length > 0 ? [{ label: 'Steps', kind: vscode.QuickPickItemKind.Separator } as Item] : []), ...stepItems, ...roleItems];
    const refresh = () => {
      const value = pick.value.trim();
      if (value === '' || steps.some((s) => s.name === value)) {
        pick.items = base;
        return;
      }
      const check = checkStepName(value);
      const create: Item = check && 'error' in check
        ? { label: `$(error) "${value}"`, detail: check.error, alwaysShow: true }
        : { label: `$(add) New step "${value}"`, ...(check ? { detail: check.warning } : {}), alwaysShow: true, choice: { kind: 'step', name: value } };
      pick.items = [create, ...base];
    };
    refresh();
    return new Promise<RoleChoice | undefined>((resolve) => {
      let result: RoleChoice | undefined;
      pick.onDidChangeValue(refresh);
      pick.onDidAccept(() => {
        const item = pick.selectedItems[0];
        if (!item?.choice) return; // an invalid name: keep the picker open
        result = item.choice;
        pick.hide();
      });
      pick.onDidHide(() => {
        pick.dispose();
        resolve(result);
      });
      pick.show();
    });
  }

  async markAs(target: unknown, role: MarkRole): Promise<void> {
    const cells = this.cellsOrExplain(target);
    await editCellTags(cells, (tags) => markAs(tags, role));
  }

  async addUpstreamStep(target: unknown, step?: string): Promise<void> {
    const cells = this.cellsOrExplain(target);
    const first = cells[0];
    if (!first) return;
    let name = step;
    if (name === undefined) {
      const analysis = await this.models.current(first.notebook);
      const own = analysis?.byCellUri.get(first.document.uri.toString())?.step;
      const ownStep = analysis?.pipeline.steps.find((s) => s.name === own);
      const firstCell = ownStep?.cells[0] ?? first.index;
      // Only steps that start above this one can run before it.
      const candidates = (analysis?.pipeline.steps ?? []).filter((s) => s.name !== own && (s.cells[0] ?? Infinity) < firstCell);
      const already = new Set(prevStepsOf(cellTags(first)));
      if (candidates.length === 0) {
        void vscode.window.showInformationMessage('No step starts above this cell, so there is no step it can run after.');
        return;
      }
      const picked = await vscode.window.showQuickPick(
        candidates.map((s) => ({ label: s.name, description: already.has(s.name) ? 'already upstream' : (ownStep?.after.includes(s.name) ? 'already runs before (inferred)' : '') })),
        { title: 'Add Upstream Step', placeHolder: 'The step this cell\'s step must run after (adds a prev: tag)' });
      name = picked?.label;
    }
    if (name === undefined) return;
    const upstream = name;
    await editCellTags(cells, (tags) => addPrev(tags, upstream));
  }

  async removeUpstreamStep(target: unknown, step?: string): Promise<void> {
    const cells = this.cellsOrExplain(target);
    const first = cells[0];
    if (!first) return;
    let name = step;
    if (name === undefined) {
      const names = [...new Set(cells.flatMap((c) => prevStepsOf(cellTags(c))))];
      if (names.length === 0) {
        void vscode.window.showInformationMessage('This cell has no prev: tags. Upstream steps found by analysis follow from the code: change the code to change them.');
        return;
      }
      name = await vscode.window.showQuickPick(names, { title: 'Remove Upstream Step', placeHolder: 'The prev: tag to remove' });
    }
    if (name === undefined) return;
    const upstream = name;
    await editCellTags(cells, (tags) => removePrev(tags, upstream));
  }

  async setResources(target: unknown, resources?: Resources): Promise<void> {
    const cells = this.cellsOrExplain(target);
    const first = cells[0];
    if (!first) return;
    let values = resources;
    if (values === undefined) {
      const current = resourcesOf(cellTags(first));
      const asks: { key: keyof Resources; label: string; example: string }[] = [
        { key: 'cpu', label: 'CPU', example: '500m or 2' },
        { key: 'memory', label: 'Memory', example: '512Mi or 4Gi' },
        { key: 'gpu', label: 'GPU', example: '1' },
      ];
      const result: Resources = {};
      for (const [i, ask] of asks.entries()) {
        const value = await vscode.window.showInputBox({
          title: `Set Resources (${i + 1}/${asks.length}): ${ask.label}`,
          prompt: `${ask.label} limit of the step, for example ${ask.example}. Leave empty for no limit.`,
          value: current[ask.key] ?? '',
          validateInput: checkQuantity,
        });
        if (value === undefined) return;
        result[ask.key] = value;
      }
      values = result;
    }
    for (const v of Object.values(values)) {
      const problem = v === undefined ? undefined : checkQuantity(v);
      if (problem) throw new UserError(problem);
    }
    const limits = values;
    await editCellTags(cells, (tags) => setResources(tags, limits));
  }

  async setImage(target: unknown, image?: string): Promise<void> {
    const cells = this.cellsOrExplain(target);
    const first = cells[0];
    if (!first) return;
    let value = image;
    if (value === undefined) {
      value = await vscode.window.showInputBox({
        title: 'Set Image',
        prompt: 'Container image the step runs in on a cluster. Leave empty to use the default image.',
        placeHolder: this.ctx.settings.defaultImage ?? 'python:3.12-slim',
        value: imageOf(cellTags(first)) ?? '',
        validateInput: checkImage,
      });
    }
    if (value === undefined) return;
    const problem = checkImage(value);
    if (problem) throw new UserError(problem);
    const ref = value;
    await editCellTags(cells, (tags) => setImage(tags, ref));
  }

  async clearTags(target: unknown): Promise<void> {
    const cells = this.cellsOrExplain(target);
    await editCellTags(cells, clearFlowbookTags);
  }

  /** The inputs chip: pick an input to go to the step that provides it. */
  async showCellInputs(target: unknown): Promise<void> {
    const cell = targetCells(target)[0];
    if (!cell) return;
    const analysis = await this.models.current(cell.notebook);
    const stepName = analysis?.byCellUri.get(cell.document.uri.toString())?.step;
    const step = analysis?.pipeline.steps.find((s) => s.name === stepName);
    if (!analysis || !step) return;
    const picked = await vscode.window.showQuickPick(
      step.inputs.map((i) => ({ label: i.name, description: `from ${i.from}`, from: i.from })),
      { title: `Inputs of step ${step.name}`, placeHolder: 'Go to the step that provides the value' });
    const provider = analysis.pipeline.steps.find((s) => s.name === picked?.from);
    if (provider) await revealCells(cell.notebook, provider.cells);
  }

  /** The problems chip: pick a problem to go to its line. */
  async showCellProblems(target: unknown): Promise<void> {
    const cell = targetCells(target)[0];
    if (!cell) return;
    const analysis = await this.models.current(cell.notebook);
    const info = analysis?.byCellUri.get(cell.document.uri.toString());
    if (!info || info.diagnostics.length === 0) return;
    const picked = await vscode.window.showQuickPick(
      info.diagnostics.map((d) => ({
        label: `$(${d.severity === 'error' ? 'error' : d.severity === 'warning' ? 'warning' : 'info'}) ${d.code}`,
        description: d.line === undefined ? '' : `line ${d.line}`,
        detail: d.message,
        line: d.line,
      })),
      { title: `Problems in ${cellLabel(cell.index)}`, matchOnDetail: true });
    if (picked) await revealCells(cell.notebook, [cell.index], picked.line ?? 1);
  }

  /** Reveals a step's cells: `(notebook, stepName)` or a pipeline tree node. */
  async revealStep(target: unknown, stepName?: string): Promise<void> {
    const node = target as { notebook?: string; step?: string } | undefined;
    const doc = targetNotebook(node?.notebook ? { notebook: node.notebook } : target);
    const name = stepName ?? node?.step;
    if (!doc || name === undefined) return;
    const analysis = await this.models.current(doc);
    const step = analysis?.pipeline.steps.find((s) => s.name === name);
    if (step) await revealCells(doc, step.cells);
  }
}

type RoleChoice = { kind: 'step'; name: string } | { kind: 'role'; role: MarkRole } | { kind: 'clear' };

/** A mistake in what the user asked for: shown as a warning, not logged as a failure. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
