// Tag editing round-trips through a saved notebook: each command writes Kale-compatible
// tags into the cell's metadata.tags, the edit is undoable, and cell sources (unsaved edits
// included) are never touched.

import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { parseCellTags } from '../../../src/converter/tags';
import type { Diagnostic } from '../../../src/converter/diagnostics';
import { api, closeAllEditors, freshCopy, openNotebook, readJson, sourceText, tagsOf, waitFor } from './helpers';

describe('tag editing', () => {
  let uri: vscode.Uri;
  let doc: vscode.NotebookDocument;
  let original: ReturnType<typeof readJson>;

  before(async () => {
    uri = freshCopy('pipeline.ipynb', 'tags-roundtrip.ipynb');
    original = readJson(uri);
    doc = await openNotebook(uri);
    await (await api()).analysis(doc);
  });

  after(closeAllEditors);

  async function saveAndRead(): Promise<ReturnType<typeof readJson>> {
    assert.ok(await doc.save(), 'the notebook saves');
    return readJson(uri);
  }

  function assertSourcesUnchanged(saved: ReturnType<typeof readJson>): void {
    assert.equal(saved.cells.length, original.cells.length);
    saved.cells.forEach((c, i) => assert.equal(sourceText(c.source), sourceText(original.cells[i]!.source), `source of cell ${i + 1} unchanged`));
  }

  it('Set Step writes step:NAME first, keeping other tags, and the saved file parses back', async () => {
    await vscode.commands.executeCommand('flowbook.setStep', { notebook: uri.toString(), cell: 5 }, 'postprocess');
    assert.deepEqual(tagsOf(doc.cellAt(5)), ['step:postprocess']);
    await vscode.commands.executeCommand('flowbook.setStep', { notebook: uri.toString(), cell: 4 }, 'fit');
    assert.deepEqual(tagsOf(doc.cellAt(4)), ['step:fit', 'hide-input'], 'the foreign tag is kept');
    const saved = await saveAndRead();
    assert.deepEqual(saved.cells[5]!.metadata.tags, ['step:postprocess']);
    assert.deepEqual(saved.cells[4]!.metadata.tags, ['step:fit', 'hide-input']);
    const diagnostics: Diagnostic[] = [];
    const parsed = parseCellTags(saved.cells[5]!.metadata.tags ?? [], 5, diagnostics);
    assert.equal(parsed.stepName, 'postprocess');
    assertSourcesUnchanged(saved);
    const analysis = await (await api()).analysis(doc);
    assert.deepEqual(analysis?.pipeline.steps.map((s) => s.name), ['load', 'fit', 'postprocess', 'evaluate']);
  });

  it('Set Step can be undone', async () => {
    await vscode.window.showNotebookDocument(doc);
    await vscode.commands.executeCommand('flowbook.setStep', { notebook: uri.toString(), cell: 3 }, 'ingest');
    assert.deepEqual(tagsOf(doc.cellAt(3)), ['step:ingest']);
    await vscode.commands.executeCommand('undo');
    await waitFor('the undo to restore step:load', () => tagsOf(doc.cellAt(3))[0] === 'step:load' || undefined, 5000);
    assert.deepEqual(tagsOf(doc.cellAt(3)), ['step:load']);
  });

  it('Mark as ... sets the role and drops step-only tags', async () => {
    const cases: [string, string, string][] = [
      ['flowbook.markAsImports', 'imports', 'imports'],
      ['flowbook.markAsFunctions', 'functions', 'functions'],
      ['flowbook.markAsPipelineParameters', 'pipeline-parameters', 'parameters'],
      ['flowbook.markAsPipelineMetrics', 'pipeline-metrics', 'metrics'],
      ['flowbook.markAsSkip', 'skip', 'skip'],
    ];
    for (const [command, tag, role] of cases) {
      await vscode.commands.executeCommand(command, { notebook: uri.toString(), cell: 5 });
      assert.deepEqual(tagsOf(doc.cellAt(5)), [tag], command);
      const saved = await saveAndRead();
      assert.deepEqual(saved.cells[5]!.metadata.tags, [tag]);
      assert.equal(parseCellTags([tag], 5, []).role, role);
    }
  });

  it('Add and Remove Upstream Step edit prev: tags', async () => {
    await vscode.commands.executeCommand('flowbook.addUpstreamStep', { notebook: uri.toString(), cell: 6 }, 'load');
    assert.deepEqual(tagsOf(doc.cellAt(6)), ['step:evaluate', 'prev:load']);
    await vscode.commands.executeCommand('flowbook.addUpstreamStep', { notebook: uri.toString(), cell: 6 }, 'load');
    assert.deepEqual(tagsOf(doc.cellAt(6)), ['step:evaluate', 'prev:load'], 'adding twice keeps one tag');
    let saved = await saveAndRead();
    assert.deepEqual(saved.cells[6]!.metadata.tags, ['step:evaluate', 'prev:load']);
    await vscode.commands.executeCommand('flowbook.removeUpstreamStep', { notebook: uri.toString(), cell: 6 }, 'load');
    saved = await saveAndRead();
    assert.deepEqual(saved.cells[6]!.metadata.tags, ['step:evaluate']);
  });

  it('Set Resources and Set Image write limit: and image: tags the compiler reads', async () => {
    await vscode.commands.executeCommand('flowbook.setResources', { notebook: uri.toString(), cell: 3 }, { cpu: '500m', memory: '2Gi', gpu: '1' });
    await vscode.commands.executeCommand('flowbook.setImage', { notebook: uri.toString(), cell: 3 }, 'python:3.11-slim');
    const saved = await saveAndRead();
    const tags = saved.cells[3]!.metadata.tags ?? [];
    assert.deepEqual(tags, ['step:load', 'limit:cpu:500m', 'limit:memory:2Gi', 'limit:nvidia.com/gpu:1', 'image:python:3.11-slim']);
    const parsed = parseCellTags(tags, 3, []);
    assert.deepEqual(parsed.options.limits, { cpu: '500m', memory: '2Gi', 'nvidia.com/gpu': '1' });
    assert.equal(parsed.options.image, 'python:3.11-slim');
    const analysis = await (await api()).analysis(doc);
    assert.equal(analysis?.pipeline.steps.find((s) => s.name === 'load')?.options.limits['cpu'], '500m');
    await vscode.commands.executeCommand('flowbook.setResources', { notebook: uri.toString(), cell: 3 }, { gpu: '' });
    assert.ok(!tagsOf(doc.cellAt(3)).some((t) => t.includes('gpu')), 'an empty value removes the limit');
  });

  it('Clear Flowbook Tags keeps other tools\' tags', async () => {
    await vscode.commands.executeCommand('flowbook.setStep', { notebook: uri.toString(), cell: 4 }, 'train');
    assert.deepEqual(tagsOf(doc.cellAt(4)), ['step:train', 'hide-input']);
    await vscode.commands.executeCommand('flowbook.clearTags', { notebook: uri.toString(), cell: 4 });
    const saved = await saveAndRead();
    assert.deepEqual(saved.cells[4]!.metadata.tags, ['hide-input']);
    assertSourcesUnchanged(saved);
  });

  it('never loses unsaved edits to cell sources', async () => {
    const cell = doc.cellAt(3);
    const edit = new vscode.WorkspaceEdit();
    edit.insert(cell.document.uri, new vscode.Position(0, 0), '# an unsaved edit\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.ok(doc.isDirty);
    await vscode.commands.executeCommand('flowbook.setStep', { notebook: uri.toString(), cell: 3 }, 'load_data');
    await vscode.commands.executeCommand('flowbook.markAsSkip', { notebook: uri.toString(), cell: 5 });
    assert.ok(cell.document.getText().startsWith('# an unsaved edit\n'), 'the edit is still in the cell');
    assert.deepEqual(tagsOf(cell), ['step:load_data', 'limit:cpu:500m', 'limit:memory:2Gi', 'image:python:3.11-slim']);
    const saved = await saveAndRead();
    assert.ok(sourceText(saved.cells[3]!.source).startsWith('# an unsaved edit\n'), 'and it is saved with the tags');
  });

  it('rejects an invalid step name with a message, changing nothing', async () => {
    const before = tagsOf(doc.cellAt(6));
    await vscode.commands.executeCommand('flowbook.setStep', { notebook: uri.toString(), cell: 6 }, '1 bad name');
    assert.deepEqual(tagsOf(doc.cellAt(6)), before);
  });
});
