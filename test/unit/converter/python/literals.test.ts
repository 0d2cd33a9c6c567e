import * as assert from 'node:assert/strict';
import type { PythonAnalyzer } from '../../../../src/converter/python';
import { analyzer } from './support';

let py: PythonAnalyzer;
const lines = (...l: string[]) => l.join('\n');

before(async () => {
  py = await analyzer();
});

describe('pipeline-parameters cells', () => {
  it('reads every literal kind with its type, JSON default and text as written', () => {
    const { parameters, diagnostics } = py.parseParameters(lines(
      '# training settings',
      'EPOCHS = 10',
      'big = 1_000_000',
      'mask = 0xff',
      'lr = 1e-3',
      'neg = -0.5',
      'pos = +2',
      'ratio = .25',
      "name = 'adam'",
      'path = "data/" "train.csv"',
      "raw = r'C:\\dir'",
      "esc = 'a\\tb\\u00e9\\x41\\n'",
      'doc = """multi',
      'line"""',
      'flag = True',
      'off = False',
      'nothing = None',
      'layers = [64, 32, -1]',
      'pair = (1, "x")',
      "opts = {'depth': 3, 'tags': ['a'], 'nested': {'k': None}}",
      '',
      'paren = (7)',
    ), 3);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(parameters.map((p) => [p.name, p.type, p.default, p.literal, p.line]), [
      ['EPOCHS', 'int', 10, '10', 2],
      ['big', 'int', 1000000, '1_000_000', 3],
      ['mask', 'int', 255, '0xff', 4],
      ['lr', 'float', 0.001, '1e-3', 5],
      ['neg', 'float', -0.5, '-0.5', 6],
      ['pos', 'int', 2, '+2', 7],
      ['ratio', 'float', 0.25, '.25', 8],
      ['name', 'str', 'adam', "'adam'", 9],
      ['path', 'str', 'data/train.csv', '"data/" "train.csv"', 10],
      ['raw', 'str', 'C:\\dir', "r'C:\\dir'", 11],
      ['esc', 'str', 'a\tbéA\n', "'a\\tb\\u00e9\\x41\\n'", 12],
      ['doc', 'str', 'multi\nline', '"""multi\nline"""', 13],
      ['flag', 'bool', true, 'True', 15],
      ['off', 'bool', false, 'False', 16],
      ['nothing', 'NoneType', null, 'None', 17],
      ['layers', 'list', [64, 32, -1], '[64, 32, -1]', 18],
      ['pair', 'list', [1, 'x'], '(1, "x")', 19],
      ['opts', 'dict', { depth: 3, tags: ['a'], nested: { k: null } }, "{'depth': 3, 'tags': ['a'], 'nested': {'k': None}}", 20],
      ['paren', 'int', 7, '(7)', 22],
    ]);
    assert.ok(parameters.every((p) => p.cell === 3));
  });

  it('any other statement is FB400 naming the line and what is allowed', () => {
    const { parameters, diagnostics } = py.parseParameters(lines(
      'a = 1',
      'b = compute()',
      'import os',
      'c = d = 2',
      'x, y = 1, 2',
      "e = f'{a}'",
      "g = b'raw'",
      'h = {1, 2}',
      'i = {1: "x"}',
      'j = 1j',
      'k = a',
      'print(a)',
    ), 0);
    assert.deepEqual(parameters.map((p) => p.name), ['a']);
    assert.deepEqual(diagnostics.map((d) => [d.code, d.line, d.severity, d.cell]), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((l) => ['FB400', l, 'error', 0]));
    const [call, imp] = diagnostics;
    assert.match(call?.message ?? '', /Line 2 of the pipeline-parameters cell: `b` cannot be a pipeline parameter: the value is not a literal/);
    assert.match(call?.message ?? '', /NAME = value/);
    assert.match(imp?.message ?? '', /Line 3 of the pipeline-parameters cell is not `NAME = literal`: found `import os`/);
    assert.match(diagnostics[6]?.message ?? '', /use a list/);
    assert.match(diagnostics[7]?.message ?? '', /dict keys must be strings/);
  });

  it('a name defined twice is FB401; the last value wins, as in the notebook', () => {
    const { parameters, diagnostics } = py.parseParameters(lines('lr = 0.1', 'epochs = 3', 'lr = 0.2'), 1);
    assert.deepEqual(parameters.map((p) => [p.name, p.default, p.line]), [['epochs', 3, 2], ['lr', 0.2, 3]]);
    assert.deepEqual(diagnostics.map((d) => [d.code, d.line]), [['FB401', 3]]);
    assert.match(diagnostics[0]?.message ?? '', /`lr` is defined twice in this cell \(lines 1 and 3\)/);
  });

  it('a syntax error is FB202 and the valid lines still count', () => {
    const { parameters, diagnostics } = py.parseParameters(lines('a = 1', 'b = (2', 'c = 3'), 0);
    assert.ok(diagnostics.some((d) => d.code === 'FB202' && d.cell === 0));
    assert.ok(parameters.some((p) => p.name === 'a'));
  });

  it('an empty or comment-only cell has no parameters and no diagnostics', () => {
    assert.deepEqual(py.parseParameters('', 0), { parameters: [], diagnostics: [] });
    assert.deepEqual(py.parseParameters('# nothing yet\n\n', 0), { parameters: [], diagnostics: [] });
  });

  it('rejects integers too large for JSON instead of rounding them', () => {
    const { diagnostics } = py.parseParameters('seed = 123456789012345678901234567890', 0);
    assert.deepEqual(diagnostics.map((d) => d.code), ['FB400']);
  });
});

describe('pipeline-metrics cells', () => {
  it('reads print(name) and bare name lines', () => {
    const { names, diagnostics } = py.parseMetrics(lines('# metrics', 'print(accuracy)', 'loss', '', '  '), 5);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(names, [
      { name: 'accuracy', line: 2, column: 7 },
      { name: 'loss', line: 3, column: 1 },
    ]);
  });

  it('anything else is FB402 naming the line', () => {
    const { names, diagnostics } = py.parseMetrics(lines('print(a, b)', 'print(model.score)', 'x = 1', 'log(acc)', 'f1'), 2);
    assert.deepEqual(names.map((n) => n.name), ['f1']);
    assert.deepEqual(diagnostics.map((d) => [d.code, d.line, d.cell, d.severity]), [1, 2, 3, 4].map((l) => ['FB402', l, 2, 'error']));
    assert.match(diagnostics[2]?.message ?? '', /Line 3 of the pipeline-metrics cell is not `print\(name\)` or `name`: found `x = 1`/);
  });
});
