// Incremental analysis: the editor keeps one Compiler and re-analyses the notebook on every
// keystroke, with per-cell analyses cached and shared with the pipeline builder. Whatever was
// analysed before, and whatever callers do to the pipelines they get, the next analysis must
// equal the one a fresh compiler gives.
import * as assert from 'node:assert/strict';
import { Compiler, parseNotebook } from '../../../src/converter';
import type { Notebook, Pipeline } from '../../../src/converter/ir';
import { notebookJson, type CellSpec } from '../../support/notebooks';

let warm: Compiler;
before(async () => {
  warm = await Compiler.create();
});

const CELLS: CellSpec[] = [
  ['imports', 'import math\nimport pandas as pd\n'],
  ['pipeline-parameters', 'rate = 0.5\nname = "run"\n'],
  ['functions', 'def helper(v):\n    return v * rate\n'],
  ['step:load', 'raw = [1, 2, 3]\ninput = list(raw)\nclass Box:\n    def __init__(self, v):\n        self.v = v\n'],
  ['', 'box = Box(raw)\n!pip install numpy\n'],
  ['step:clean', 'cleaned = [helper(v) for v in raw]\nraw.append(4)\n'],
  ['skip', 'debug = cleaned\n'],
  ['step:stats', 'def total(xs):\n    return sum(xs) + offset\noffset = 1\nmean = total(cleaned) / len(input)\n'],
  ['step:report', 'print(mean, box.v, name, debug)\n%matplotlib inline\n'],
  ['pipeline-metrics', 'print(mean)\n'],
];

function notebookOf(cells: CellSpec[]): { notebook: Notebook; diagnostics: ReturnType<typeof parseNotebook>['diagnostics'] } {
  return parseNotebook(notebookJson(cells), 'incremental.ipynb');
}

async function fresh(cells: CellSpec[]): Promise<Pipeline> {
  const { notebook, diagnostics } = notebookOf(cells);
  return (await Compiler.create()).analyze(notebook, diagnostics);
}

function again(cells: CellSpec[]): Pipeline {
  const { notebook, diagnostics } = notebookOf(cells);
  return warm.analyze(notebook, diagnostics);
}

/** Changes everything a caller could reach in a pipeline. */
function vandalise(p: Pipeline): void {
  for (const s of p.steps) {
    s.inputs.push({ name: 'junk', from: 'junk' });
    s.definitions.forEach((d) => { d.source = 'junk'; });
    s.imports.push('junk');
  }
  for (const r of p.requirements) r.specs.push('junk');
  for (const d of p.diagnostics) d.message = 'junk';
  for (const prm of p.parameters) prm.default = 'junk';
  for (const chunk of Object.values(p.stepCode).flat()) chunk.code = 'junk';
  p.edges.forEach((e) => e.reasons.forEach((r) => { if (r.kind === 'data') r.names.push('junk'); }));
}

describe('incremental analysis', () => {
  it('after a sequence of edits gives what a fresh compiler gives', async () => {
    const edits: ((cells: CellSpec[]) => void)[] = [
      () => undefined,
      (c) => { c[5] = ['step:clean', 'cleaned = [helper(v) for v in raw if v > 1]\n']; },
      (c) => { c[7] = ['step:stats', 'mean = sum(cleaned) / len(cleaned)\n']; },
      (c) => { c[3] = ['step:load', 'raw = [5]\n']; },
      (c) => { c.splice(6, 1); },
      (c) => { c[1] = ['pipeline-parameters', 'rate = 2\nname = "other"\nbad = f()\n']; },
      (c) => { c.push(['step:late', 'del raw\nprint(undefined_name)\n']); },
    ];
    const cells = CELLS.map(([t, s]): CellSpec => [t, s]);
    for (const edit of edits) {
      edit(cells);
      const warmResult = again(cells);
      assert.deepEqual(warmResult, await fresh(cells));
      vandalise(warmResult);
      assert.deepEqual(again(cells), await fresh(cells), 'changing a returned pipeline changed the next analysis');
    }
  });

  it('finds the provider of a name many steps up, and of a rebound builtin', async () => {
    const cells: CellSpec[] = [['step:s0', 'x = 1\nlen = lambda v: 0\n']];
    for (let i = 1; i < 60; i++) cells.push([`step:s${i}`, `v${i} = ${i}\n`]);
    cells.push(['step:last', 'print(x, len([]), v7)\n']);
    const p = again(cells);
    const last = p.steps.find((s) => s.name === 'last');
    assert.deepEqual(last?.inputs, [{ name: 'x', from: 's0' }, { name: 'len', from: 's0' }, { name: 'v7', from: 's7' }]);
    assert.deepEqual(p, await fresh(cells));
  });
});
