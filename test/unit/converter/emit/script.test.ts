// The text of a step script: order of its parts, the markers that map lines back to cells,
// user code copied byte for byte, and what it loads, saves and reads from the environment.
// (Running the scripts is tested in marshalling.test.ts.)

import * as assert from 'node:assert/strict';
import { CELL_MARKER, GENERATED_MARKER, scriptLocation, stepScript } from '../../../../src/converter/emit';
import { RUNTIME_SOURCE } from '../../../../src/converter/emit/runtime';
import type { CodeChunk, Pipeline, Step } from '../../../../src/converter/ir';
import { VERSION } from '../../../../src/version';
import { makePipeline, param } from '../../../support/pipelineBuilder';
import { ML_FUNCTIONS, ML_IMPORTS, ML_REPORT, mlPipeline, optionsPipeline } from './samples';

function stepOf(p: Pipeline, name: string): Step {
  const s = p.steps.find((x) => x.name === name);
  assert.ok(s);
  return s;
}

/** Each cell marker's line number (1-based) with the cell it names. */
function markers(script: string): { line: number; cell: number }[] {
  return script.split('\n').flatMap((text, i) => (text.startsWith(CELL_MARKER) ? [{ line: i + 1, cell: Number(text.slice(CELL_MARKER.length)) }] : []));
}

function indexOf(script: string, needle: string): number {
  const i = script.indexOf(needle);
  assert.ok(i >= 0, `script contains ${needle}`);
  return i;
}

describe('stepScript', () => {
  const p = mlPipeline();
  const report = stepScript(p, stepOf(p, 'report'));

  it('starts with a header naming the step, its cells as the editor counts them, the notebook and the version', () => {
    const [first, second] = report.split('\n');
    assert.equal(first, '# Flowbook step "report": cell 7 of ml-demo.ipynb.');
    assert.ok(second?.includes(`Flowbook ${VERSION}`));
    assert.match(stepScript(p, stepOf(p, 'load')), /^# Flowbook step "load": cells 4, 5 of ml-demo\.ipynb\./);
  });

  it('orders imports, runtime, functions, parameters, inputs, carried definitions, cells, outputs, metrics', () => {
    const order = [
      `${CELL_MARKER}0\n${ML_IMPORTS}`,
      'def _flowbook_runtime(',
      `${CELL_MARKER}1\n${ML_FUNCTIONS}`,
      'rate = _flowbook_param("rate", "float", 0.5)',
      '_flowbook_pending = _flowbook_load([',
      '# Class Point, carried from step "load".',
      `${CELL_MARKER}4 line=1\nclass Point:`,
      '_flowbook_load(_flowbook_pending, True)',
      `${CELL_MARKER}6\n${ML_REPORT}`,
      '_flowbook_metrics(["score", "total"])',
    ].map((needle) => indexOf(report, needle));
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
  });

  it('copies every cell byte for byte right after its marker, so script lines map back to cell lines', () => {
    const script = stepScript(p, stepOf(p, 'load'));
    const lines = script.split('\n');
    const chunks: CodeChunk[] = [...p.imports, ...p.functions, ...(p.stepCode.load ?? [])];
    assert.deepEqual(markers(script).map((m) => m.cell), chunks.map((c) => c.cell));
    for (const m of markers(script)) {
      const code = chunks.find((c) => c.cell === m.cell)?.code ?? '';
      const codeLines = code.replace(/\n$/, '').split('\n');
      assert.deepEqual(lines.slice(m.line, m.line + codeLines.length), codeLines, `cell ${m.cell}`);
      codeLines.forEach((_, k) => assert.deepEqual(scriptLocation(script, m.line + 1 + k), { cell: m.cell, line: k + 1 }));
      assert.equal(scriptLocation(script, m.line), undefined, 'the marker line itself is generated');
    }
  });

  it('marks generated code so it maps to no cell', () => {
    const lines = report.split('\n');
    const at = (needle: string) => lines.findIndex((l) => l.startsWith(needle)) + 1;
    assert.equal(scriptLocation(report, at('def _flowbook_runtime(')), undefined);
    assert.equal(scriptLocation(report, at('_flowbook_metrics(')), undefined);
    assert.deepEqual(scriptLocation(report, at('class Point:')), { cell: 4, line: 1 }, 'a carried definition maps to the cell that defines it');
    assert.deepEqual(scriptLocation(report, at('class Point:') + 1), { cell: 4, line: 2 });
    assert.equal(scriptLocation(report, 1), undefined, 'the header');
    assert.equal(lines.filter((l) => l === GENERATED_MARKER).length, 4, 'runtime; parameters and inputs; loading after the definitions; outputs and metrics');
  });

  it('keeps a cell without a final newline apart from the next marker', () => {
    const q = makePipeline({ steps: [{ name: 's', code: [{ cell: 0, code: 'a = 1' }, { cell: 1, code: 'b = 2\n\n' }] }] });
    const script = stepScript(q, stepOf(q, 's'));
    assert.ok(script.includes(`${CELL_MARKER}0\na = 1\n${CELL_MARKER}1\nb = 2\n\n`), script);
    assert.ok(script.endsWith('\n'));
  });

  it('loads each input from its producer folder, in one call when nothing is carried', () => {
    const train = stepScript(p, stepOf(p, 'train'));
    assert.ok(train.includes('_flowbook_load([("df", "load", "load"), ("arr", "load", "load")], True)\n'));
    assert.ok(!train.includes('_flowbook_pending'));
    assert.ok(train.includes('_flowbook_save(["model", "scaled"])\n'));
    assert.ok(train.includes('_flowbook_runtime(globals(), "train", "train")'));
  });

  it('names the producer by its template name, and the step by its own', () => {
    const q = optionsPipeline();
    const script = stepScript(q, stepOf(q, 'Train Model'));
    assert.ok(script.includes('_flowbook_runtime(globals(), "Train Model", "train-model")'));
    assert.ok(script.includes('_flowbook_load([("data", "prepare", "prepare")], True)'));
  });

  it('has no load, save or metrics calls for a step without inputs, outputs or metrics', () => {
    const q = makePipeline({ steps: [{ name: 's', code: [{ cell: 0, code: 'print(1)\n' }] }] });
    const script = stepScript(q, stepOf(q, 's'));
    assert.doesNotMatch(script, /_flowbook_(load|save|metrics)\(/);
    assert.ok(script.endsWith(`${CELL_MARKER}0\nprint(1)\n`));
  });

  it('reads each parameter the step uses, falling back to the literal as written', () => {
    const q = makePipeline({
      parameters: [
        param('a', [1, 2], '[1,  # first\n 2]'),
        param('b', 'x', "'x'  # note"),
        param('c', { k: null }, ''),
        param('unused', 1),
      ],
      steps: [{ name: 's', parameters: ['a', 'b', 'c'] }],
    });
    const script = stepScript(q, stepOf(q, 's'));
    assert.ok(script.includes('a = _flowbook_param("a", "list", [1,  # first\n 2]\n)\n'));
    assert.ok(script.includes('b = _flowbook_param("b", "str", \'x\'  # note\n)\n'));
    assert.ok(script.includes('c = _flowbook_param("c", "dict", {"k": None})\n'));
    assert.ok(!script.includes('unused'));
  });

  it('puts imports cells before the runtime, so `from __future__` stays first', () => {
    const q = makePipeline({ imports: [{ cell: 0, code: 'from __future__ import annotations\n' }], steps: [{ name: 's' }] });
    const script = stepScript(q, stepOf(q, 's'));
    const statements = script.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    assert.equal(statements[0], 'from __future__ import annotations');
  });

  it('embeds a runtime that binds only _flowbook_ names and holds nothing Argo would substitute', () => {
    assert.ok(!RUNTIME_SOURCE.includes('{{'));
    const topLevel = RUNTIME_SOURCE.split('\n').filter((l) => /^\S/.test(l));
    assert.deepEqual(topLevel, ['def _flowbook_runtime(namespace, step, own):']);
    const generatedTop = report.split('\n').filter((l) => /^[A-Za-z_]\w*(, [A-Za-z_]\w*)* = _flowbook_/.test(l)).map((l) => l.split(' = ')[0]);
    for (const names of generatedTop) {
      for (const n of (names ?? '').split(', ')) assert.ok(n.startsWith('_flowbook_') || p.parameters.some((x) => x.name === n), n);
    }
  });

  it('is deterministic', () => {
    assert.equal(stepScript(mlPipeline(), stepOf(mlPipeline(), 'report')), report);
  });
});
