// Step logs follow a running step; a finished run can be re-run from one of its steps.

import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { listRuns, readRun } from '../../../src/runner/record';
import { api, closeAllEditors, freshCopy, openNotebook, waitFor } from './helpers';

describe('logs and re-runs', () => {
  after(closeAllEditors);

  it('shows a running step\'s output as it is written, then the whole of it', async () => {
    const flowbook = await api();
    const uri = freshCopy('slow.ipynb', 'slow-logs.ipynb');
    const doc = await openNotebook(uri);
    await flowbook.analysis(doc);
    const id = await vscode.commands.executeCommand<string>('flowbook.runLocally', uri);
    assert.ok(id);
    const runsDir = flowbook.runsDirFor(uri);
    await waitFor('step count to start', () => readRun(runsDir, id)?.steps.find((s) => s.name === 'count')?.status === 'running' || undefined, 60_000);
    const logUri = await vscode.commands.executeCommand<vscode.Uri>('flowbook.showStepLogs', { source: 'local', id, step: 'count' });
    assert.ok(logUri);
    const seen: string[] = [];
    const sub = vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.uri.toString() === logUri.toString()) seen.push(e.document.getText());
    });
    try {
      const log = await waitFor('the last tick in the log', () => {
        const d = vscode.workspace.textDocuments.find((x) => x.uri.toString() === logUri.toString());
        return d?.getText().includes('tick 14') ? d : undefined;
      }, 60_000);
      assert.ok(seen.length >= 2, `the log updated while the step ran (${seen.length} updates)`);
      assert.ok(seen.some((t) => t.includes('tick') && !t.includes('tick 14')), 'an update showed part of the output');
      assert.equal(log.getText().match(/^tick \d+$/gm)?.length, 15);
      const editor = vscode.window.visibleTextEditors.find((e) => e.document === log);
      assert.ok(editor, 'the log is open in an editor');
      assert.ok(editor.visibleRanges.some((r) => r.end.line >= log.lineCount - 2), 'the editor followed the output to its end');
    } finally {
      sub.dispose();
    }
    const done = await waitFor('the run to finish', () => {
      const r = readRun(runsDir, id);
      return r && r.status !== 'running' ? r : undefined;
    }, 60_000);
    assert.equal(done.status, 'succeeded');
  });

  it('re-runs from a step, reusing the steps above it', async () => {
    const flowbook = await api();
    const uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0]!.uri, 'slow-logs.ipynb');
    const runsDir = flowbook.runsDirFor(uri);
    const previous = listRuns(runsDir)[0];
    assert.ok(previous, 'the previous test left a run');
    const id = await vscode.commands.executeCommand<string>('flowbook.rerunFromStep', { source: 'local', id: previous.id }, 'report');
    assert.ok(id && id !== previous.id, 'a new run started');
    const record = await waitFor('the re-run to finish', () => {
      const r = readRun(runsDir, id);
      return r && r.status !== 'running' ? r : undefined;
    }, 60_000);
    assert.deepEqual(record.mode, { kind: 'from', step: 'report' });
    assert.equal(record.status, 'succeeded');
    const count = record.steps.find((s) => s.name === 'count');
    assert.notEqual(count?.status, 'running');
    assert.ok(count?.status === 'cached' || count?.status === 'skipped', `the upstream step was reused (${count?.status})`);
  });
});
