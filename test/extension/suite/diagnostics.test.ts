// Diagnostics land on the right cell and line of the Problems panel, and follow edits.

import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, closeAllEditors, freshCopy, openNotebook, waitFor } from './helpers';

function codes(uri: vscode.Uri): string[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'flowbook').map((d) => String(d.code)).sort();
}

describe('diagnostics', () => {
  let doc: vscode.NotebookDocument;

  before(async () => {
    doc = await openNotebook(freshCopy('problems.ipynb', 'problems-live.ipynb'));
    await (await api()).analysis(doc);
  });

  after(closeAllEditors);

  it('puts each problem on its cell, at the line and word at fault', async () => {
    const second = doc.cellAt(1);
    const third = doc.cellAt(2);
    await waitFor('diagnostics on cell 2', () => codes(second.document.uri).length > 0 || undefined);
    assert.deepEqual(codes(doc.cellAt(0).document.uri), [], 'cell 1 has no problem');
    assert.deepEqual(codes(second.document.uri), ['FB300']);
    assert.deepEqual(codes(third.document.uri), ['FB301']);
    const missing = vscode.languages.getDiagnostics(second.document.uri)[0]!;
    assert.equal(missing.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(missing.range.start.line, 0);
    assert.equal(second.document.getText(missing.range), 'undefined_name');
    assert.match(missing.message, /undefined_name/);
  });

  it('updates live while typing: fixing the cell clears its problem, breaking it brings it back', async () => {
    const second = doc.cellAt(1);
    const text = second.document.getText();
    const start = text.indexOf('undefined_name');
    const fix = new vscode.WorkspaceEdit();
    fix.replace(second.document.uri, new vscode.Range(second.document.positionAt(start), second.document.positionAt(start + 'undefined_name'.length)), '41');
    assert.ok(await vscode.workspace.applyEdit(fix));
    await waitFor('FB300 to disappear', () => codes(second.document.uri).length === 0 || undefined);
    const breakIt = new vscode.WorkspaceEdit();
    breakIt.insert(second.document.uri, new vscode.Position(1, 0), 'print(not_defined_either)\n');
    assert.ok(await vscode.workspace.applyEdit(breakIt));
    const d = await waitFor('a problem on line 2', () => vscode.languages.getDiagnostics(second.document.uri).find((x) => x.range.start.line === 1));
    assert.equal(second.document.getText(d.range), 'not_defined_either');
  });

  it('shows the problem as a chip on the cell', async () => {
    const flowbook = await api();
    await flowbook.analysis(doc);
    const chips = flowbook.chips(doc.cellAt(2)).map((c) => c.text);
    assert.ok(chips.includes('$(error) 1 error'), `chips: ${chips.join(' | ')}`);
  });
});
