// Cell chips: step and role, inputs with their provider; and how long an edit in a large
// notebook takes to reach the chips (printed, not asserted).

import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, closeAllEditors, freshCopy, openNotebook, writeChainNotebook } from './helpers';
import { median, recordMetric } from './metrics';

describe('cell chips', () => {
  after(closeAllEditors);

  it('show the step or role of each code cell and the inputs of each step', async () => {
    const flowbook = await api();
    const doc = await openNotebook(freshCopy('pipeline.ipynb', 'chips.ipynb'));
    await flowbook.analysis(doc);
    const texts = (i: number) => flowbook.chips(doc.cellAt(i)).map((c) => c.text);
    assert.deepEqual(texts(0), [], 'markdown cells have no chips');
    assert.deepEqual(texts(1), ['$(package) imports']);
    assert.deepEqual(texts(2), ['$(symbol-parameter) pipeline parameters']);
    assert.deepEqual(texts(3), ['$(symbol-event) load']);
    assert.deepEqual(texts(4), ['$(symbol-event) train', '← data from load']);
    assert.deepEqual(texts(5), ['$(arrow-small-down) train'], 'an untagged cell continues the step above');
    const evaluate = texts(6);
    assert.equal(evaluate[0], '$(symbol-event) evaluate');
    assert.match(evaluate[1] ?? '', /^← .*\bthreshold\b.* from train\b/, 'inputs are grouped by the step providing them');
    assert.deepEqual(texts(7), ['$(graph-line) pipeline metrics']);
    const chip = flowbook.chips(doc.cellAt(4))[0]!;
    assert.equal(chip.command && typeof chip.command !== 'string' ? chip.command.command : chip.command, 'flowbook.setStep', 'the step chip opens Set Step');
  });

  it('follow a one-cell edit in a 300-cell notebook (edit → chips time is printed)', async () => {
    const flowbook = await api();
    const doc = await openNotebook(writeChainNotebook('large-300.ipynb', 300));
    const first = await flowbook.analysis(doc);
    assert.equal(first?.pipeline.steps.length, 300);
    const samples: number[] = [];
    const inside: number[] = [];
    const analysis: number[] = [];
    for (let round = 0; round < 7; round++) {
      const cell = doc.cellAt(150 + round);
      const updated = new Promise<{ version: number; latencyMs: number; analysisMs: number }>((resolve) => {
        const sub = flowbook.onDidUpdateChips((u) => {
          if (u.notebook.toString() === doc.uri.toString()) {
            sub.dispose();
            resolve(u);
          }
        });
      });
      const started = performance.now();
      const edit = new vscode.WorkspaceEdit();
      edit.insert(cell.document.uri, new vscode.Position(1, 0), `w${round} = v${100 + round}\n`);
      assert.ok(await vscode.workspace.applyEdit(edit));
      const u = await updated;
      samples.push(performance.now() - started);
      inside.push(u.latencyMs);
      analysis.push(u.analysisMs);
      // Let the throttle window pass so each round measures a single edit.
      await new Promise((r) => setTimeout(r, 200));
    }
    const after = await flowbook.analysis(doc);
    const step = after?.pipeline.steps.find((s) => s.name === 's156');
    assert.deepEqual(step?.inputs.map((i) => i.name), ['v155', 'v106'], 'the edited cell was analysed again');
    const chips = flowbook.chips(doc.cellAt(156)).map((c) => c.text);
    assert.ok(chips.includes('← v155 from s155 · v106 from s106'), `chips: ${chips.join(' | ')}`);
    const m = median(samples);
    recordMetric('edit → chips, 300-cell notebook (median of 7, from applyEdit to chips updated)', `${m.toFixed(1)} ms`);
    recordMetric('edit → chips, inside the extension (change event → chips)', `${median(inside).toFixed(1)} ms`);
    recordMetric('edit → chips: of which the analysis (notebook → pipeline)', `${median(analysis).toFixed(1)} ms`);
    console.log(`edit → chips: ${samples.map((s) => s.toFixed(1)).join(', ')} ms`);
  });
});
