// Verify Pipeline Against Notebook: runs both sides, opens the report read-only beside the
// notebook, and on a divergence reveals the cell of the first one.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { VerifyReport } from '../../../src/verify/index';
import { closeAllEditors, freshCopy, openNotebook, waitFor, workspaceDir } from './helpers';

function reportEditor(): vscode.TextEditor | undefined {
  return vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'flowbook-verify');
}

describe('verify', function () {
  this.timeout(180_000);
  after(closeAllEditors);

  it('an identical pipeline: the report opens beside the notebook and says so', async () => {
    const uri = freshCopy('pipeline.ipynb', 'verify-same.ipynb');
    await openNotebook(uri);
    const report = await vscode.commands.executeCommand<VerifyReport>('flowbook.verifyPipeline', uri);
    assert.equal(report?.outcome, 'identical', report?.summary);
    const editor = await waitFor('the report', reportEditor);
    assert.match(editor.document.getText(), /\*\*Identical\*\*/);
    assert.equal(editor.document.languageId === 'markdown' || editor.document.uri.path.endsWith('.verify.md'), true);
  });

  it('a divergence: the report names it and the diverging cell is selected in the notebook', async () => {
    await closeAllEditors();
    const cells = [
      { tags: ['imports'], source: 'import os' },
      { tags: ['step:a'], source: 'x = 1' },
      { tags: ['step:b'], source: 'pid = os.getpid()\ny = x + 1' },
      { tags: ['step:c'], source: 'z = pid + y' },
    ];
    const nb = {
      cells: cells.map((c, i) => ({ cell_type: 'code', execution_count: null, id: `v${i}`, metadata: { tags: c.tags }, outputs: [], source: c.source })),
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } }, nbformat: 4, nbformat_minor: 5,
    };
    const file = path.join(workspaceDir(), 'verify-differs.ipynb');
    fs.writeFileSync(file, JSON.stringify(nb, null, 1));
    const uri = vscode.Uri.file(file);
    const doc = await openNotebook(uri);
    const report = await vscode.commands.executeCommand<VerifyReport>('flowbook.verifyPipeline', uri);
    assert.equal(report?.outcome, 'different', report?.summary);
    assert.equal(report.divergences[0]?.variable, 'pid');
    assert.equal(report.divergences[0]?.cell, 2);
    const editor = await waitFor('the report', reportEditor);
    assert.match(editor.document.getText(), /\*\*Different\*\*/);
    assert.match(editor.document.getText(), /`pid`/);
    const notebookEditor = vscode.window.visibleNotebookEditors.find((e) => e.notebook.uri.toString() === doc.uri.toString());
    assert.equal(notebookEditor?.selection.start, 2, 'the diverging cell is selected');
  });
});
