// The Pipeline view follows the active notebook; Compile opens the workflow beside it;
// Run Locally records a run the Runs view and the graph show live; logs open per step.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readRun } from '../../../src/runner/record';
import { api, closeAllEditors, freshCopy, openNotebook, waitFor, workspaceDir, writeChainNotebook } from './helpers';
import { recordMetric } from './metrics';
import type { RenderReport } from '../../../src/views/graphPanel';

describe('views', () => {
  let uri: vscode.Uri;
  let doc: vscode.NotebookDocument;
  let runId: string | undefined;

  before(async () => {
    uri = freshCopy('pipeline.ipynb', 'views.ipynb');
    doc = await openNotebook(uri);
    await (await api()).analysis(doc);
  });

  after(closeAllEditors);

  it('the Pipeline view lists the steps of the active notebook', async () => {
    const flowbook = await api();
    await vscode.commands.executeCommand('flowbook.pipeline.focus');
    const view = await waitFor('the pipeline view', () => {
      const v = flowbook.pipelineView();
      return v.notebook === uri.toString() && v.items.length > 0 ? v : undefined;
    });
    assert.deepEqual(view.items, ['load', 'train', 'evaluate']);
    const train = view.tree.find((t) => t.label === 'train')!;
    assert.equal(train.description, 'cells 5–6 · after load');
    const input = train.children.find((c) => c.label === 'data');
    assert.ok(input, 'train lists its input');
    assert.equal(input.description, '← load', 'with the step providing it');
    assert.match(input.tooltip, /train uses "data", last set by load/, 'the edge tooltip says why');
    const load = view.tree.find((t) => t.label === 'load')!;
    assert.ok(load.children.some((c) => c.label === 'seed' && c.description === 'parameter = 7'), 'parameters are listed');
    const evaluate = view.tree.find((t) => t.label === 'evaluate')!;
    assert.ok(evaluate.children.some((c) => c.label === 'threshold' && c.description === '← train'));
  });

  it('Compile opens the Argo Workflow beside the notebook, and Save As writes it', async () => {
    const yamlUri = await vscode.commands.executeCommand<vscode.Uri>('flowbook.compile', uri);
    assert.ok(yamlUri, 'compile returns the document');
    assert.equal(yamlUri.scheme, 'flowbook-workflow');
    const text = await waitFor('the workflow document', () => vscode.workspace.textDocuments.find((d) => d.uri.toString() === yamlUri.toString()));
    assert.equal(text.languageId, 'yaml');
    assert.match(text.getText(), /^kind: Workflow$/m);
    assert.match(text.getText(), /flowbook\.dev\/step: train/);
    const target = vscode.Uri.file(path.join(workspaceDir(), 'views-workflow.yaml'));
    const saved = await vscode.commands.executeCommand<vscode.Uri>('flowbook.saveWorkflowAs', yamlUri, target);
    assert.equal(saved?.fsPath, target.fsPath);
    assert.equal(fs.readFileSync(target.fsPath, 'utf8'), text.getText());
  });

  it('Run Locally runs the pipeline; the Runs view, the graph and the logs follow it', async () => {
    const flowbook = await api();
    const renders: RenderReport[] = [];
    const sub = flowbook.onDidRenderGraph((r) => renders.push(r));
    try {
      runId = await vscode.commands.executeCommand<string>('flowbook.runLocally', uri);
      assert.ok(runId, 'the run started');
      const id = runId;
      const runsDir = flowbook.runsDirFor(uri);
      assert.equal(runsDir, path.join(workspaceDir(), '.flowbook', 'runs'));
      const record = await waitFor('the run to finish', () => {
        const r = readRun(runsDir, id);
        return r && r.status !== 'running' ? r : undefined;
      }, 90_000);
      assert.equal(record.status, 'succeeded', JSON.stringify(record.steps.map((s) => [s.name, s.status, s.error?.message])));
      assert.deepEqual(record.metrics, { score: record.metrics['score']! });

      const runs = await waitFor('the Runs view to show the run', () => {
        const items = flowbook.runsView();
        return items.some((i) => i.description.startsWith('succeeded · 3/3')) ? items : undefined;
      });
      assert.equal(runs[0]?.label, 'views.ipynb');

      const green = await waitFor('the graph to show every step succeeded', () => renders.find((r) => r.runId === id && Object.values(r.statuses).every((s) => s === 'succeeded')), 30_000);
      assert.deepEqual(Object.keys(green.statuses).sort(), ['evaluate', 'load', 'train']);

      const logUri = await vscode.commands.executeCommand<vscode.Uri>('flowbook.showStepLogs', { source: 'local', id, step: 'train' });
      const log = await waitFor('the log document', () => vscode.workspace.textDocuments.find((d) => d.uri.toString() === logUri?.toString()));
      assert.match(log.getText(), /^mean 0\.\d+$/m);
    } finally {
      sub.dispose();
    }
  });

  it('Delete removes a finished run', async () => {
    const flowbook = await api();
    const runsDir = flowbook.runsDirFor(uri);
    const id = runId;
    assert.ok(id, 'the run test ran first');
    assert.ok(fs.existsSync(path.join(runsDir, id, 'run.json')));
    await vscode.commands.executeCommand('flowbook.deleteRun', { source: 'local', id }, { confirmed: true });
    assert.ok(!fs.existsSync(path.join(runsDir, id)));
    await waitFor('the Runs view to drop it', () => flowbook.runsView().every((r) => !r.description.includes(id)) || undefined);
  });

  it('draws a 300-step pipeline graph (render time is printed)', async () => {
    const flowbook = await api();
    const big = await openNotebook(writeChainNotebook('graph-300.ipynb', 300));
    await flowbook.analysis(big);
    const rendered = new Promise<RenderReport>((resolve) => {
      const sub = flowbook.onDidRenderGraph((r) => {
        if (r.notebook === big.uri.toString() && r.nodes === 300 && r.ms > 0) {
          sub.dispose();
          resolve(r);
        }
      });
    });
    await vscode.commands.executeCommand('flowbook.showGraph', big.uri);
    const report = await rendered;
    recordMetric('graph: 300-step pipeline, layout + draw in the webview', `${report.ms} ms`);
    console.log(`graph: 300 steps drawn in ${report.ms} ms`);
    assert.equal(Object.keys(report.statuses).length, 300);
  });
});
