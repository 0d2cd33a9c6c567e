// Which notebook cells a command acts on, and the one way cell tags are written: a
// WorkspaceEdit of `NotebookEdit.updateCellMetadata`, so the change is undoable, marks the
// notebook dirty like any edit, and never touches cell sources.

import * as vscode from 'vscode';
import { sameTags } from '../converter/tagEdit';
import { NOTEBOOK_TYPE, cellTags } from './notebookModel';

/**
 * A command's target as it arrives: a cell (cell title menu, chips) or cells, a notebook URI
 * (toolbar, trees), `{ notebook, cells }` (tests, the tree), or nothing (the palette: the
 * active notebook editor's selection).
 */
export type CellTarget = vscode.NotebookCell | vscode.NotebookCell[] | vscode.Uri | { notebook: string | vscode.Uri; cells?: number[]; cell?: number } | undefined;

export function isNotebookCell(value: unknown): value is vscode.NotebookCell {
  return typeof value === 'object' && value !== null && 'notebook' in value && 'document' in value && 'index' in value && 'kind' in value;
}

function isNotebookDocument(value: unknown): value is vscode.NotebookDocument {
  return typeof value === 'object' && value !== null && 'notebookType' in value && 'uri' in value && 'cellCount' in value;
}

/** The notebook document a target names, or the active notebook editor's. */
export function targetNotebook(target: unknown): vscode.NotebookDocument | undefined {
  if (isNotebookCell(target)) return target.notebook;
  if (Array.isArray(target) && isNotebookCell(target[0])) return target[0].notebook;
  if (isNotebookDocument(target)) return target;
  // The notebook toolbar passes `{ notebookEditor: { notebookUri } }` in some versions.
  const editorArg = (target as { notebookEditor?: { notebookUri?: vscode.Uri } } | undefined)?.notebookEditor?.notebookUri;
  if (editorArg) return vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === editorArg.toString());
  const uri = target instanceof vscode.Uri ? target
    : typeof target === 'object' && target !== null && 'notebook' in target ? toUri((target as { notebook: string | vscode.Uri }).notebook)
    : undefined;
  if (uri) return vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === uri.toString());
  const editor = vscode.window.activeNotebookEditor ?? vscode.window.visibleNotebookEditors.find((e) => e.notebook.notebookType === NOTEBOOK_TYPE);
  return editor?.notebook.notebookType === NOTEBOOK_TYPE ? editor.notebook : undefined;
}

/** The code cells a tag command edits. */
export function targetCells(target: unknown): vscode.NotebookCell[] {
  // Tags only mean something on code cells (Kale ignores them elsewhere).
  const code = (c: vscode.NotebookCell) => c.kind === vscode.NotebookCellKind.Code;
  if (isNotebookCell(target)) return [target].filter(code);
  if (Array.isArray(target)) return target.filter(isNotebookCell).filter(code);
  const doc = targetNotebook(target);
  if (!doc) return [];
  if (typeof target === 'object' && target !== null && 'notebook' in target) {
    const t = target as { cells?: number[]; cell?: number };
    const indices = t.cells ?? (t.cell !== undefined ? [t.cell] : []);
    return indices.flatMap((i) => (i >= 0 && i < doc.cellCount ? [doc.cellAt(i)] : [])).filter(code);
  }
  const editor = vscode.window.visibleNotebookEditors.find((e) => e.notebook === doc);
  const ranges = editor?.selections ?? [];
  return ranges.flatMap((r) => doc.getCells(r)).filter((c) => c.kind === vscode.NotebookCellKind.Code);
}

function toUri(value: string | vscode.Uri): vscode.Uri {
  return typeof value === 'string' ? vscode.Uri.parse(value) : value;
}

/**
 * Rewrites the tags of each cell with `edit`, as one undoable edit per call. Cells whose
 * tags do not change are left alone. Returns the number of cells changed.
 */
export async function editCellTags(cells: readonly vscode.NotebookCell[], edit: (tags: string[], cell: vscode.NotebookCell) => string[]): Promise<number> {
  const byNotebook = new Map<string, { uri: vscode.Uri; edits: vscode.NotebookEdit[] }>();
  for (const cell of cells) {
    const before = cellTags(cell);
    const after = edit(before, cell);
    if (sameTags(before, after)) continue;
    const inner = { ...((cell.metadata['metadata'] as Record<string, unknown> | undefined) ?? {}) };
    if (after.length > 0) inner['tags'] = after;
    else delete inner['tags'];
    const metadata = { ...cell.metadata, metadata: inner };
    const entry = byNotebook.get(cell.notebook.uri.toString()) ?? { uri: cell.notebook.uri, edits: [] };
    entry.edits.push(vscode.NotebookEdit.updateCellMetadata(cell.index, metadata));
    byNotebook.set(cell.notebook.uri.toString(), entry);
  }
  if (byNotebook.size === 0) return 0;
  const wsEdit = new vscode.WorkspaceEdit();
  let changed = 0;
  for (const { uri, edits } of byNotebook.values()) {
    wsEdit.set(uri, edits);
    changed += edits.length;
  }
  if (!(await vscode.workspace.applyEdit(wsEdit))) throw new Error('VS Code did not apply the tag edit (is the notebook read-only?)');
  return changed;
}

/** Selects and scrolls to cells, and focuses the notebook editor. */
export async function revealCells(doc: vscode.NotebookDocument, indices: readonly number[], line?: number): Promise<void> {
  const valid = indices.filter((i) => i >= 0 && i < doc.cellCount);
  const first = valid[0];
  if (first === undefined) return;
  const ranges = valid.map((i) => new vscode.NotebookRange(i, i + 1));
  const editor = await vscode.window.showNotebookDocument(doc, { selections: ranges, preserveFocus: false });
  editor.revealRange(new vscode.NotebookRange(first, first + 1), vscode.NotebookEditorRevealType.InCenterIfOutsideViewport);
  if (line !== undefined) {
    const cell = doc.cellAt(first);
    const pos = new vscode.Position(Math.max(0, line - 1), 0);
    await vscode.window.showTextDocument(cell.document, { selection: new vscode.Range(pos, pos), preserveFocus: false });
  }
}
