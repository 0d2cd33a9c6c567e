// The text of a step script: order of its parts, the markers that map lines back to cells,
// user code copied byte for byte, and what it loads, saves and reads from the environment.
// (Running the scripts is tested in marshalling.test.ts.)

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CELL_MARKER, GENERATED_MARKER, scriptLocation, stepScript } from '../../../../src/converter/emit';
import { cellLiteral } from '../../../../src/converter/emit/script';
import { RUNTIME_SOURCE } from '../../../../src/converter/emit/runtime';
import type { CodeChunk, Pipeline, Step } from '../../../../src/converter/ir';
import { VERSION } from '../../../../src/version';
import { makePipeline, param } from '../../../support/pipelineBuilder';
import { PYTHON } from './python';
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

  it('orders runtime, imports, functions, parameters, replayed imports, inputs, carried definitions, cells, outputs, metrics', () => {
    const q = mlPipeline();
    const step = stepOf(q, 'report');
    step.importReplays = [{ from: 'load', cell: 4, line: 2, source: 'import math' }];
    const script = stepScript(q, step);
    const order = [
      'def _flowbook_runtime(',
      `${CELL_MARKER}0\n_flowbook.cell(0, 1, r'''\n${ML_IMPORTS}'''`,
      `${CELL_MARKER}1\n_flowbook.cell(1, 1, r'''\n${ML_FUNCTIONS}'''`,
      'rate = _flowbook.param("rate", "float", 0.5)',
      `# Import from step "load".\n${CELL_MARKER}4 line=2\n_flowbook.cell(4, 2, r'''\nimport math\n''')`,
      '_flowbook.load([',
      '# Class Point, carried from step "load".',
      `${CELL_MARKER}4\n_flowbook.define("class", "Point", 4, 1, r'''\nclass Point:`,
      `${CELL_MARKER}6\n_flowbook.cell(6, 1, r'''\n${ML_REPORT}`,
      '_flowbook.metrics(["score", "total"])',
    ].map((needle) => indexOf(script, needle));
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
    assert.deepEqual(scriptLocation(script, script.split('\n').indexOf('import math') + 1), { cell: 4, line: 2 }, 'a replayed import maps to its cell and line');
  });

  it('copies every cell line for line right after the call that opens its literal, so script lines map back to cell lines', () => {
    const script = stepScript(p, stepOf(p, 'load'));
    const lines = script.split('\n');
    const chunks: CodeChunk[] = [...p.imports, ...p.functions, ...(p.stepCode.load ?? [])];
    assert.deepEqual(markers(script).map((m) => m.cell), chunks.map((c) => c.cell));
    for (const m of markers(script)) {
      const code = chunks.find((c) => c.cell === m.cell)?.code ?? '';
      const codeLines = code.replace(/\n$/, '').split('\n');
      // Code with `{{` is escaped (see the literal test below); the rest reads as written.
      if (!code.includes('{{')) assert.deepEqual(lines.slice(m.line + 1, m.line + 1 + codeLines.length), codeLines, `cell ${m.cell}`);
      codeLines.forEach((_, k) => assert.deepEqual(scriptLocation(script, m.line + 2 + k), { cell: m.cell, line: k + 1 }));
      assert.equal(scriptLocation(script, m.line), undefined, 'the marker line itself is generated');
      assert.equal(scriptLocation(script, m.line + 1), undefined, 'the call line is generated');
      assert.equal(scriptLocation(script, m.line + 2 + codeLines.length), undefined, 'the closing line is generated');
    }
  });

  it('marks generated code so it maps to no cell', () => {
    const lines = report.split('\n');
    const at = (needle: string) => lines.findIndex((l) => l.startsWith(needle)) + 1;
    assert.equal(scriptLocation(report, at('def _flowbook_runtime(')), undefined);
    assert.equal(scriptLocation(report, at('_flowbook.metrics(')), undefined);
    assert.deepEqual(scriptLocation(report, at('class Point:')), { cell: 4, line: 1 }, 'a carried definition maps to the cell that defines it');
    assert.deepEqual(scriptLocation(report, at('class Point:') + 1), { cell: 4, line: 2 });
    assert.equal(scriptLocation(report, 1), undefined, 'the header');
    assert.equal(lines.filter((l) => l === GENERATED_MARKER).length, 4, 'runtime; parameters; inputs; outputs and metrics');
  });

  it('writes each piece of code as a literal Python reads back byte for byte, with no `{{` for Argo to substitute', () => {
    const codes = [
      'x = 1',
      "s = '''a'''\nt = r'\\d+\\\\'\n",
      `s = '''a'''\nt = """b"""\\\n  + 'c'\n`,
      "s = '{{workflow.name}}'\nd = {{1: 2}}  # {{{ }}}\nu = '\\u00e9 \\\\ \\' '\n",
      'a = 1\r\nb = "\\r"\r\n',
      'e = f"{{x}} {x!r}"\nif x:\n\tpass\n',
    ];
    const literals = codes.map(cellLiteral);
    for (const l of literals) assert.ok(!l.includes('{{'), l);
    const program = `import json, sys\nprint(json.dumps([${literals.join(', ')}]))\n`;
    const r = spawnSync(PYTHON, ['-c', program], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), codes.map((c) => `\n${c.endsWith('\n') ? c : `${c}\n`}`));
    assert.equal(literals[0], "r'''\nx = 1\n'''", 'plain code reads as written');
    assert.equal(literals[1]?.slice(0, 4), 'r"""', "code with ''' gets the other quotes");
  });

  it('keeps `{{` out of the whole script: parameter defaults, names and code', () => {
    const q = makePipeline({
      notebookPath: '/n/{{x}}.ipynb',
      parameters: [param('a', '{{inputs.parameters.a}}', "'{{inputs.parameters.a}}'"), param('b', { k: ['{{w}}'] }, "{'k': ['{{w}}']}")],
      steps: [{ name: 's', code: [{ cell: 0, code: "s = '{{workflow.name}}'" }], parameters: ['a', 'b'] }],
    });
    const script = stepScript(q, stepOf(q, 's'));
    assert.ok(!script.includes('{{'), script);
    assert.ok(script.includes('a = _flowbook.param("a", "str", "{\\u007binputs.parameters.a}}")\n'));
  });

  it('keeps a cell without a final newline apart from the next marker', () => {
    const q = makePipeline({ steps: [{ name: 's', code: [{ cell: 0, code: 'a = 1' }, { cell: 1, code: 'b = 2\n\n' }] }] });
    const script = stepScript(q, stepOf(q, 's'));
    assert.ok(script.includes(`${CELL_MARKER}0\n_flowbook.cell(0, 1, r'''\na = 1\n''')\n${CELL_MARKER}1\n_flowbook.cell(1, 1, r'''\nb = 2\n\n''')\n`), script);
    assert.ok(script.endsWith('\n'));
  });

  it('loads all inputs in one call naming each producer step and its folder', () => {
    const train = stepScript(p, stepOf(p, 'train'));
    assert.ok(train.includes('_flowbook.load([("df", "load", "load"), ("arr", "load", "load")])\n'));
    assert.ok(train.includes('_flowbook.save(["model", "scaled"])\n'));
    assert.ok(train.includes('_flowbook = _flowbook_runtime(globals(), "train", "train")'));
  });

  it('names the producer by its template name, and the step by its own', () => {
    const q = optionsPipeline();
    const script = stepScript(q, stepOf(q, 'Train Model'));
    assert.ok(script.includes('_flowbook_runtime(globals(), "Train Model", "train-model")'));
    assert.ok(script.includes('_flowbook.load([("data", "prepare", "prepare")])'));
  });

  it('has no load, save or metrics calls for a step without inputs, outputs or metrics', () => {
    const q = makePipeline({ steps: [{ name: 's', code: [{ cell: 0, code: 'print(1)\n' }] }] });
    const script = stepScript(q, stepOf(q, 's'));
    assert.doesNotMatch(script, /_flowbook\.(load|save|metrics)\(/);
    assert.ok(script.endsWith(`${CELL_MARKER}0\n_flowbook.cell(0, 1, r'''\nprint(1)\n''')\n`));
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
    assert.ok(script.includes('a = _flowbook.param("a", "list", [1,  # first\n 2]\n)\n'));
    assert.ok(script.includes('b = _flowbook.param("b", "str", \'x\'  # note\n)\n'));
    assert.ok(script.includes('c = _flowbook.param("c", "dict", {"k": None})\n'));
    assert.ok(!script.includes('unused'));
  });

  it('has no notebook code at the top level: every cell is a literal the runtime runs', () => {
    const q = makePipeline({ imports: [{ cell: 0, code: 'from __future__ import annotations\n' }], steps: [{ name: 's', code: [{ cell: 1, code: 'global x\nx = 1' }] }] });
    const script = stepScript(q, stepOf(q, 's'));
    const topLevel = script.split('\n').filter((l) => /^[A-Za-z_]/.test(l) && !l.startsWith('def _flowbook_runtime('));
    assert.deepEqual(topLevel, ['_flowbook = _flowbook_runtime(globals(), "s", "s")', "_flowbook.cell(0, 1, r'''", 'from __future__ import annotations', "_flowbook.cell(1, 1, r'''", 'global x', 'x = 1']);
  });

  it('embeds a runtime that binds only _flowbook_ names and holds nothing Argo would substitute', () => {
    assert.ok(!RUNTIME_SOURCE.includes('{{'));
    const topLevel = RUNTIME_SOURCE.split('\n').filter((l) => /^\S/.test(l));
    assert.deepEqual(topLevel, ['def _flowbook_runtime(namespace, step, own):']);
    const generatedTop = report.split('\n').filter((l) => /^[A-Za-z_]\w*(, [A-Za-z_]\w*)* = _flowbook/.test(l)).map((l) => l.split(' = ')[0]);
    for (const names of generatedTop) {
      for (const n of (names ?? '').split(', ')) assert.ok(n.startsWith('_flowbook') || p.parameters.some((x) => x.name === n), n);
    }
  });

  it('is deterministic', () => {
    assert.equal(stepScript(mlPipeline(), stepOf(mlPipeline(), 'report')), report);
  });
});
