// Quick fixes (Code Actions) for the pipeline's problems, offered on the cell that has the
// problem: remove `skip` from the cell that alone defines a name; correct or remove a `prev:`
// tag that names no step or a later step; rename an invalid step name; add an upstream step.
// Each fix is a tag edit through the one undoable path (`editCellTags`) or a tag command.

import * as vscode from 'vscode';
import { editCellTags } from '../workbench/cells';
import type { NotebookModels } from '../workbench/notebookModel';

const SKIPPED = /is only defined in cell (\d+), which is tagged "skip"/;
const PREV_UNKNOWN = /^"prev:([^"]+)" names no step(?:; did you mean "prev:([^"]+)"\?)?/;
const PREV_LATER = /^"prev:([^"]+)" names step "[^"]+", which starts later/;

/** The command quick fixes use to edit one cell's tags: `(notebook uri, cell index, remove, add?)`. */
export const FIX_TAGS_COMMAND = 'flowbook.fixCellTags';

export class QuickFixes implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  constructor(private readonly models: NotebookModels) {}

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const cell = vscode.workspace.notebookDocuments.flatMap((nb) => nb.getCells()).find((c) => c.document === document);
    if (!cell || !this.models.get(cell.notebook.uri)) return [];
    const notebook = cell.notebook.uri.toString();
    const actions: vscode.CodeAction[] = [];
    for (const d of context.diagnostics.filter((x) => x.source === 'flowbook')) {
      const code = typeof d.code === 'object' ? String(d.code.value) : String(d.code ?? '');
      const fix = (title: string, args: unknown[], command = FIX_TAGS_COMMAND, preferred = false) => {
        const action = new vscode.CodeAction(title, vscode.CodeActionKind.QuickFix);
        action.diagnostics = [d];
        action.command = { title, command, arguments: args };
        action.isPreferred = preferred;
        actions.push(action);
      };
      const skipped = code === 'FB300' ? SKIPPED.exec(d.message) : null;
      if (skipped?.[1]) fix(`Remove "skip" from cell ${skipped[1]}`, [notebook, Number(skipped[1]) - 1, 'skip'], FIX_TAGS_COMMAND, true);
      const unknown = code === 'FB301' ? PREV_UNKNOWN.exec(d.message) : null;
      if (unknown?.[1]) {
        if (unknown[2]) fix(`Change to "prev:${unknown[2]}"`, [notebook, cell.index, `prev:${unknown[1]}`, `prev:${unknown[2]}`], FIX_TAGS_COMMAND, true);
        fix(`Remove "prev:${unknown[1]}"`, [notebook, cell.index, `prev:${unknown[1]}`]);
      }
      const later = code === 'FB302' ? PREV_LATER.exec(d.message) : null;
      if (later?.[1]) fix(`Remove "prev:${later[1]}"`, [notebook, cell.index, `prev:${later[1]}`], FIX_TAGS_COMMAND, true);
      if (code === 'FB103') fix('Rename the Step…', [cell], 'flowbook.setStep', true);
      if (code === 'FB300' || code === 'FB301' || code === 'FB302') fix('Add an Upstream Step (prev:)…', [cell], 'flowbook.addUpstreamStep');
    }
    return actions;
  }
}

/** `flowbook.fixCellTags`: removes `remove` from a cell's tags and adds `add` in its place (one undoable edit). */
export async function fixCellTags(notebook: unknown, index: unknown, remove: unknown, add?: unknown): Promise<void> {
  const doc = vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === String(notebook));
  const cell = doc && typeof index === 'number' && index >= 0 && index < doc.cellCount ? doc.cellAt(index) : undefined;
  if (!cell || typeof remove !== 'string') return;
  await editCellTags([cell], (tags) => {
    const at = tags.indexOf(remove);
    const kept = tags.filter((t) => t !== remove);
    if (typeof add === 'string' && !kept.includes(add)) kept.splice(at < 0 ? kept.length : at, 0, add);
    return kept;
  });
}
