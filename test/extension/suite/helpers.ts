// Helpers for the integration suite: the extension's API, fixture notebooks in the test
// workspace, and waiting for asynchronous effects without fixed sleeps.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FlowbookApi } from '../../../src/extension/extension';

export const EXTENSION_ID = 'flowbook.flowbook';

export async function api(): Promise<FlowbookApi> {
  const ext = vscode.extensions.getExtension<FlowbookApi>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not loaded`);
  return ext.isActive ? ext.exports : ext.activate();
}

export function workspaceDir(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the test workspace is not open');
  return folder.uri.fsPath;
}

/** Copies a fixture notebook to a fresh name, so tests do not see each other's edits. */
export function freshCopy(fixture: string, name: string): vscode.Uri {
  const dir = workspaceDir();
  const target = path.join(dir, name);
  fs.copyFileSync(path.join(dir, fixture), target);
  return vscode.Uri.file(target);
}

export async function openNotebook(uri: vscode.Uri, show = true): Promise<vscode.NotebookDocument> {
  const doc = await vscode.workspace.openNotebookDocument(uri);
  if (show) await vscode.window.showNotebookDocument(doc);
  return doc;
}

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function tagsOf(cell: vscode.NotebookCell): string[] {
  const inner = cell.metadata['metadata'] as { tags?: string[] } | undefined;
  return inner?.tags ?? [];
}

export function readJson(uri: vscode.Uri): { cells: { source: string | string[]; metadata: { tags?: string[] } }[] } {
  return JSON.parse(fs.readFileSync(uri.fsPath, 'utf8')) as { cells: { source: string | string[]; metadata: { tags?: string[] } }[] };
}

export function sourceText(source: string | string[]): string {
  return Array.isArray(source) ? source.join('') : source;
}

export async function closeAllEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/**
 * Writes a notebook of `steps` one-cell steps in a chain with a few fan-ins (`s<i>` reads
 * the value of `s<i-1>`, every tenth also of `s<i-10>`): the large notebook of the
 * performance measurements.
 */
export function writeChainNotebook(name: string, steps: number): vscode.Uri {
  const cells = [];
  for (let i = 0; i < steps; i++) {
    const reads = i === 0 ? '0' : i % 10 === 0 && i >= 10 ? `v${i - 1} + v${i - 10}` : `v${i - 1} + 1`;
    cells.push({ cell_type: 'code', execution_count: null, id: `c${i}`, metadata: { tags: [`step:s${i}`] }, outputs: [], source: [`v${i} = ${reads}\n`, `print(v${i})`] });
  }
  const nb = { cells, metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } }, nbformat: 4, nbformat_minor: 5 };
  const file = path.join(workspaceDir(), name);
  fs.writeFileSync(file, JSON.stringify(nb, null, 1));
  return vscode.Uri.file(file);
}
