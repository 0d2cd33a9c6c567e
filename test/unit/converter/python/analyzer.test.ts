import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { PYTHON_BUILTINS, PythonAnalyzer } from '../../../../src/converter/python';
import { analyzer } from './support';

describe('PythonAnalyzer', () => {
  it('create() shares one grammar load per process and accepts an explicit wasmDir', async () => {
    const wasmDir = path.dirname(require.resolve('@vscode/tree-sitter-wasm/wasm/tree-sitter-python.wasm'));
    const a = await PythonAnalyzer.create({ wasmDir });
    const b = await PythonAnalyzer.create();
    assert.deepEqual(a.analyzeCell('x = y', 0).reads, b.analyzeCell('x = y', 0).reads);
  });

  it('create() rejects when the wasm files are not where wasmDir says', async () => {
    await assert.rejects(PythonAnalyzer.create({ wasmDir: path.join(__dirname, 'no-such-dir') }));
  });

  it('stamps the cell on diagnostics and pip requirements of cached results', async () => {
    const py = await analyzer();
    const source = '!pip install torch\n%who';
    const first = py.analyzeCell(source, 1);
    const second = py.analyzeCell(source, 7);
    assert.deepEqual(first.pip, [{ specs: ['torch'], cell: 1, line: 1 }]);
    assert.deepEqual(second.pip, [{ specs: ['torch'], cell: 7, line: 1 }]);
    assert.deepEqual(first.diagnostics.map((d) => d.cell), [1, 1]);
    assert.deepEqual(second.diagnostics.map((d) => d.cell), [7, 7]);
    assert.deepEqual(Object.keys(second.diagnostics[0] ?? {}), ['severity', 'code', 'message', 'cell', 'line']);
  });

  it('returns copies: changing a result does not change the next one', async () => {
    const py = await analyzer();
    const source = 'def f():\n    return g\nh = k';
    const a = py.analyzeCell(source, 0);
    a.reads.push({ name: 'junk', line: 1, column: 1 });
    a.binds.length = 0;
    (a.reads[0] as { name: string }).name = 'changed';
    (a.definitions[0] as { freeNames: string[] }).freeNames.push('junk');
    const b = py.analyzeCell(source, 0);
    assert.deepEqual(b.reads.map((r) => r.name), ['g', 'k']);
    assert.deepEqual(b.binds, ['f', 'h']);
    assert.deepEqual(b.definitions[0]?.freeNames, ['g']);
  });

  it('serves a repeated source from the cache and evicts the least recently used beyond its size', async () => {
    const py = await PythonAnalyzer.create();
    const first = py.analyzeCell('a = b', 0);
    // Identical content from the cache: the code string is the very same object.
    assert.equal(py.analyzeCell('a = b', 3).code, first.code);
    for (let i = 0; i < 5000; i++) py.analyzeCell(`v${i} = ${i}`, i);
    assert.deepEqual(py.analyzeCell('a = b', 0).reads, first.reads);
    py.clearCache();
    assert.deepEqual(py.analyzeCell('a = b', 0).binds, ['a']);
  });

  it('analyzeCellShared gives what analyzeCell gives, with pip and diagnostics of its own', async () => {
    const py = await analyzer();
    const source = '!pip install torch\n%who\ndef f(a):\n    return a + g\nimport os\nx = f(y)';
    const copy = py.analyzeCell(source, 4);
    const shared = py.analyzeCellShared(source, 4);
    assert.deepEqual(shared, copy);
    const other = py.analyzeCellShared(source, 9);
    assert.deepEqual(other.pip.map((p) => p.cell), [9]);
    assert.ok(other.diagnostics.length > 0 && other.diagnostics.every((d) => d.cell === 9));
    // Only the stamped parts are new objects: the rest is the cached analysis itself.
    assert.notEqual(other.pip, shared.pip);
    assert.notEqual(other.diagnostics, shared.diagnostics);
    assert.equal(other.reads, shared.reads);
  });

  it('returns copies of parameters and metrics, stamped with the cell asked for', async () => {
    const py = await analyzer();
    const source = 'rate = 0.1\nlayers = [1, {"a": 2}]\nbad = f()\n';
    const first = py.parseParameters(source, 2);
    assert.deepEqual(first.parameters.map((p) => [p.name, p.cell]), [['rate', 2], ['layers', 2]]);
    assert.deepEqual(first.diagnostics.map((d) => [d.code, d.cell]), [['FB400', 2]]);
    (first.parameters[1]?.default as unknown[]).push('junk');
    first.parameters.length = 0;
    const again = py.parseParameters(source, 2);
    assert.deepEqual(again.parameters.map((p) => p.default), [0.1, [1, { a: 2 }]]);
    assert.deepEqual(py.parseParameters(source, 5).parameters.map((p) => p.cell), [5, 5]);
    const metrics = py.parseMetrics('print(acc)\nloss\n', 3);
    metrics.names.length = 0;
    assert.deepEqual(py.parseMetrics('print(acc)\nloss\n', 3).names.map((n) => n.name), ['acc', 'loss']);
  });

  it('never throws on odd input: empty, whitespace, NUL, lone surrogates, huge lines', async () => {
    const py = await analyzer();
    for (const source of ['', '\n\n', '\u0000', '\ud800 = 1', 'x'.repeat(200000), '\r\r\r', '"""', "'", '%%', '!', '?']) {
      const a = py.analyzeCell(source, 0);
      assert.equal(a.code.split('\n').length, source.split('\n').length);
    }
  });
});

describe('PYTHON_BUILTINS', () => {
  it('holds the Python 3.12 builtins, module dunders and IPython names', () => {
    for (const name of ['print', 'len', 'range', 'ExceptionGroup', 'aiter', 'anext', '__name__', '__file__', '__import__', 'display', 'get_ipython', 'True', 'None']) {
      assert.ok(PYTHON_BUILTINS.has(name), name);
    }
    for (const name of ['np', 'pd', 'df', 'In', 'Out']) assert.ok(!PYTHON_BUILTINS.has(name), name);
  });
});
