// Run results and notebook settings inside VS Code's extension host: run rows carry changed
// parameters and metrics; Show Run Details and Compare Runs draw their pages; the notebook
// settings form writes metadata.flowbook in one undoable edit; an untagged notebook gets no
// chips until "Make This Notebook a Pipeline", and the switch turns Flowbook off again.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { writeTwoRuns } from '../../support/runRecords';
import { api, closeAllEditors, freshCopy, openNotebook, waitFor, workspaceDir } from './helpers';

describe('run results and notebook settings', () => {
  after(closeAllEditors);

  it('shows changed parameters and metrics on run rows, and draws details and comparisons', async () => {
    const flowbook = await api();
    const runsDir = path.join(workspaceDir(), 'results', '.flowbook', 'runs');
    const [first, second] = writeTwoRuns(runsDir, path.join(workspaceDir(), 'results', 'model.ipynb'));
    await vscode.commands.executeCommand('flowbook.refreshRuns');
    const row = await waitFor('the second run in the Runs view', () => flowbook.runsView().find((r) => r.description.includes('C=0.1')), 60_000);
    assert.match(row.description, /succeeded · 3\/3 · .* · C=0\.1 · accuracy 0\.944 logreg_auc 0\.9874$/);
    const tooltip = row.tooltip.replace(/&nbsp;/g, ' ').replace(/\\_/g, '_');
    assert.match(tooltip, /\*\*Parameters\*\*\n- C = 0\.1 \*\(changed\)\*\n- test_size = 0\.25\n\n\*\*Metrics\*\*\n- accuracy = 0\.944\n- logreg_auc = 0\.9874/);
    const older = flowbook.runsView().find((r) => r.description.includes('0.9912'));
    assert.ok(older && !/C=1/.test(older.description), 'the first run changed nothing');

    const rendered = (kind: 'details' | 'compare') => new Promise<{ runs: { id: string }[]; charts: number }>((resolve) => {
      const sub = flowbook.onDidRenderResults((r) => {
        if (r.kind === kind) {
          sub.dispose();
          resolve(r);
        }
      });
    });
    const details = rendered('details');
    await vscode.commands.executeCommand('flowbook.showRunDetails', { kind: 'run', source: 'local', id: second.id });
    assert.deepEqual((await details).runs.map((r) => r.id), [second.id]);
    const compared = rendered('compare');
    const nodes = [first, second].map((r) => ({ kind: 'run', source: 'local', id: r.id }));
    await vscode.commands.executeCommand('flowbook.compareRuns', nodes[0], nodes);
    const report = await compared;
    assert.deepEqual(report.runs.map((r) => r.id), [first.id, second.id]);
    assert.equal(report.charts, 2, 'a chart per metric (accuracy, logreg_auc)');
    fs.rmSync(path.join(workspaceDir(), 'results'), { recursive: true, force: true });
  });

  it('the notebook settings form writes metadata.flowbook in one undoable edit', async () => {
    const uri = freshCopy('pipeline.ipynb', 'settings.ipynb');
    const doc = await openNotebook(uri);
    await vscode.commands.executeCommand('flowbook.editNotebookSettings', uri, { pipelineName: 'iris-model', dataPassing: 'artifacts' });
    const meta = () => (doc.metadata as { metadata?: { flowbook?: Record<string, unknown> } }).metadata?.flowbook;
    assert.deepEqual(meta(), { dataPassing: 'artifacts', pipelineName: 'iris-model' });
    const flowbook = await api();
    const analysis = await waitFor('the settings in the analysis', async () => {
      const a = await flowbook.analysis(doc);
      return a?.pipeline.name === 'iris-model' ? a : undefined;
    });
    assert.equal(analysis.pipeline.name, 'iris-model');
    await vscode.commands.executeCommand('undo');
    await waitFor('the edit to be undone', () => meta() === undefined || undefined);
    assert.equal(meta(), undefined);
  });

  it('an untagged notebook gets no chips until it is made a pipeline; the switch turns Flowbook off', async () => {
    const file = path.join(workspaceDir(), 'untagged.ipynb');
    fs.writeFileSync(file, JSON.stringify({
      cells: [{ cell_type: 'code', execution_count: null, id: 'a', metadata: { tags: ['hide-input'] }, outputs: [], source: ['x = 1'] }],
      metadata: {}, nbformat: 4, nbformat_minor: 5,
    }));
    const doc = await openNotebook(vscode.Uri.file(file));
    const flowbook = await api();
    const cell = doc.cellAt(0);
    assert.equal((await flowbook.analysis(doc))?.mode.on, false);
    assert.deepEqual(flowbook.chips(cell), [], 'no chips on an untagged notebook');
    assert.deepEqual(vscode.languages.getDiagnostics(cell.document.uri), []);

    await vscode.commands.executeCommand('flowbook.enablePipeline', doc.uri);
    const on = await waitFor('the notebook to be a pipeline', async () => ((await flowbook.analysis(doc))?.mode.on ? true : undefined));
    assert.equal(on, true);
    assert.deepEqual(flowbook.chips(cell).map((c) => c.text).filter((t) => t.includes('main')).length, 1, 'the cell is in step main');

    await vscode.commands.executeCommand('flowbook.disablePipeline', doc.uri);
    const mode = await waitFor('Flowbook to be off', async () => {
      const a = await flowbook.analysis(doc);
      return a && !a.mode.on ? a.mode : undefined;
    });
    assert.deepEqual(mode, { on: false, reason: 'switched off' });
  });
});
