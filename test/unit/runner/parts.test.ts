// The runner's pure parts: -p parsing and type checks, traceback mapping, workflow
// planning with Argo-style substitution, install hints, run records.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PipelineParameter } from '../../../src/converter/ir';
import {
  encodeParameter, formatDuration, installHint, listRuns, parseLiteral, parseParameterArgs, parseTraceback, planWorkflow, WorkflowError,
} from '../../../src/runner';
import { hasOutput } from '../../../src/runner/cache';
import { createRunDir, writeRunRecord } from '../../../src/runner/record';
import type { RunRecord } from '../../../src/runner';
import { fakeWorkflow } from './fakeWorkflow';
import { PythonAnalyzer } from '../../../src/converter/python';

const param = (name: string, type: PipelineParameter['type'], literal: string, value: PipelineParameter['default']): PipelineParameter => ({
  name, type, default: value, literal, cell: 2, line: 1,
});
const PARAMS = [
  param('lr', 'float', '0.1', 0.1), param('epochs', 'int', '10', 10), param('name', 'str', "'adam'", 'adam'),
  param('verbose', 'bool', 'False', false), param('layers', 'list', '[64, 32]', [64, 32]), param('opts', 'dict', "{'a': 1}", { a: 1 }),
  param('seed', 'NoneType', 'None', null),
];

describe('runner: -p parameters', () => {
  it('parses each type the way people type it', async () => {
    const r = await parseParameterArgs(['lr=1e-3', 'epochs=+20', 'name=sgd momentum', 'verbose=yes', "layers=[128, 64, 'x']", 'opts={"b": [1, 2.5], "c": None}', 'seed=3'], PARAMS);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.values, { lr: 0.001, epochs: 20, name: 'sgd momentum', verbose: true, layers: [128, 64, 'x'], opts: { b: [1, 2.5], c: null }, seed: 3 });
    assert.deepEqual((await parseParameterArgs(['seed=none', 'name='], PARAMS)).values, { seed: null, name: '' });
  });

  it('names an unknown parameter and lists the known ones', async () => {
    const r = await parseParameterArgs(['learning_rate=0.2'], PARAMS);
    assert.deepEqual(r.values, {});
    assert.equal(r.problems[0]?.message, "-p learning_rate: the notebook has no parameter 'learning_rate'; its parameters are lr, epochs, name, verbose, layers, opts, seed");
    assert.match((await parseParameterArgs(['x=1'], [])).problems[0]?.message ?? '', /has no pipeline parameters/);
    assert.match((await parseParameterArgs(['lr'], PARAMS)).problems[0]?.message ?? '', /write it as NAME=VALUE/);
  });

  it('rejects a value of the wrong type, naming the parameter, its type and cell', async () => {
    const r = await parseParameterArgs(['epochs=1.5', 'lr=fast', 'verbose=maybe', 'layers={"a": 1}', 'opts=[1'], PARAMS);
    assert.deepEqual(r.problems.map((p) => p.name), ['epochs', 'lr', 'verbose', 'layers', 'opts']);
    assert.equal(r.problems[0]?.message, "-p epochs=1.5: '1.5' is not a whole number (parameter 'epochs' is an int, default 10, in cell 3)");
    assert.equal(r.problems[1]?.message, "-p lr=fast: 'fast' is not a number (parameter 'lr' is a float, default 0.1, in cell 3)");
    assert.match(r.problems[4]?.message ?? '', /is not a dict literal/);
  });

  it('keeps a whole float a float for Python', () => {
    assert.equal(encodeParameter(2, 'float'), '2.0');
    assert.equal(encodeParameter(2, 'int'), '2');
    assert.equal(encodeParameter(0.25, 'float'), '0.25');
    assert.equal(encodeParameter('a"b', 'str'), '"a\\"b"');
  });

  it('reads Python literals', async () => {
    const python = await PythonAnalyzer.create();
    assert.deepEqual(parseLiteral("(1, 'two', True, None, -3.5e2, 1_000)", python), { value: [1, 'two', true, null, -350, 1000] });
    assert.ok('error' in parseLiteral('[1, 2', python));
    assert.ok('error' in parseLiteral('os.system("x")', python));
  });

  it('loses nothing: __proto__ keys, out-of-range numbers, Python escapes, int keys', async () => {
    const r = await parseParameterArgs(['opts={"__proto__": 1, "a": 2}', "layers=['\\x41', '\\u00e9', r'\\x41']"], PARAMS);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(Object.keys(r.values.opts as object), ['__proto__', 'a']);
    assert.equal(encodeParameter(r.values.opts ?? null, 'dict'), '{"__proto__":1,"a":2}');
    assert.deepEqual(r.values.layers, ['A', 'é', '\\x41']);
    const bad = await parseParameterArgs(['layers=[1e400]', "opts={1: 'a', '1': 'b'}", 'layers=[true, 1e400]', 'layers=[12345678901234567890]'], PARAMS);
    assert.equal(bad.problems.length, 4, JSON.stringify(bad));
    assert.match(bad.problems[0]?.message ?? '', /out of range/);
    assert.match(bad.problems[1]?.message ?? '', /dict keys must be strings/);
    assert.match(bad.problems[2]?.message ?? '', /cannot be passed exactly/);
    assert.match(bad.problems[3]?.message ?? '', /too large/);
    assert.deepEqual((await parseParameterArgs(['opts={"a": true, "b": null}'], PARAMS)).values, { opts: { a: true, b: null } });
  });
});

describe('runner: traceback mapping', () => {
  const script = ['#@flowbook generated', 'import os', '#@flowbook cell=6', "_flowbook.cell(6, 1, r'''", 'items = []', 'first = items[3]', "''')", '#@flowbook generated', 'save()'].join('\n');
  const file = '/runs/x/steps/boom/script.py';

  it('maps the innermost script frame inside a cell to cell and line', () => {
    const stderr = [
      'some earlier output',
      'Traceback (most recent call last):',
      `  File "${file}", line 6, in <module>`,
      '    first = items[3]',
      '            ~~~~~^^^',
      'IndexError: list index out of range',
    ].join('\n');
    assert.deepEqual(parseTraceback(stderr, file, script), { exception: 'IndexError', detail: 'list index out of range', location: { cell: 6, line: 2 } });
  });

  it('skips frames in generated code and library files, and reads the last of chained tracebacks', () => {
    const stderr = [
      'Traceback (most recent call last):', `  File "${file}", line 4, in <module>`, 'KeyError: 1', '',
      'During handling of the above exception, another exception occurred:', '',
      'Traceback (most recent call last):',
      `  File "${file}", line 9, in <module>`,
      `  File "${file}", line 6, in helper`,
      '  File "/usr/lib/python3/dist-packages/pandas/core/frame.py", line 10, in f',
      'pandas.errors.ParserError: bad line',
    ].join('\n');
    assert.deepEqual(parseTraceback(stderr, file, script), { exception: 'pandas.errors.ParserError', detail: 'bad line', location: { cell: 6, line: 2 } });
  });

  it('finds the missing module of a ModuleNotFoundError and reads SyntaxErrors', () => {
    const missing = ['Traceback (most recent call last):', `  File "${file}", line 4, in <module>`, "ModuleNotFoundError: No module named 'sklearn.linear_model'"].join('\n');
    assert.equal(parseTraceback(missing, file, script)?.module, 'sklearn');
    const syntax = [`  File "${file}", line 6`, '    first = (', '            ^', "SyntaxError: '(' was never closed"].join('\n');
    assert.deepEqual(parseTraceback(syntax, file, script), { exception: 'SyntaxError', detail: "'(' was never closed", location: { cell: 6, line: 2 } });
  });

  it('maps a frame of a cell compiled on its own, also one of a function an earlier step defined', () => {
    const stderr = [
      'Traceback (most recent call last):',
      '  File "<flowbook cell=9>", line 3, in <module>',
      '    total = f(0)',
      '  File "<flowbook cell=2>", line 4, in f',
      '    return 1 / y',
      '  File "/usr/lib/python3/dist-packages/numpy/core/x.py", line 10, in g',
      'ZeroDivisionError: division by zero',
    ].join('\n');
    assert.deepEqual(parseTraceback(stderr, file, script)?.location, { cell: 2, line: 4 });
    const syntax = ['  File "<flowbook cell=7>", line 2', '    z = (', '        ^', "SyntaxError: '(' was never closed"].join('\n');
    assert.deepEqual(parseTraceback(syntax, file, script)?.location, { cell: 7, line: 2 });
  });

  it("reads the generated runtime's one-line message, and nothing from unrelated output", () => {
    assert.deepEqual(parseTraceback("flowbook: metric 'x' is nan\nflowbook: cannot save variable 'f' of type generator\n", file, script), { detail: "cannot save variable 'f' of type generator" });
    assert.equal(parseTraceback('Killed\n', file, script), undefined);
  });
});

describe('runner: workflow plan', () => {
  it('substitutes workflow and input parameters into the environment and the source', () => {
    const wf = fakeWorkflow([{ name: 'Train Model', cells: [[3, 'x = 1'], [4, 'y = 2']], params: ['lr'] }], { lr: 0.1 });
    const template = wf.spec.templates[1];
    const patched = { ...wf, spec: { ...wf.spec, templates: [wf.spec.templates[0], { ...template, script: { ...template?.script, source: "print('{{inputs.parameters.lr}}', '{{user.text}}')" } }] } };
    const [plan] = planWorkflow(patched as typeof wf, new Map([['lr', '0.5']]), { runId: 'r1' });
    assert.equal(plan?.name, 'Train Model');
    assert.equal(plan?.template, 'train-model');
    assert.deepEqual(plan?.cells, [3, 4]);
    assert.deepEqual(plan?.env, { FLOWBOOK_PARAM_lr: '0.5' });
    assert.equal(plan?.source, "print('0.5', '{{user.text}}')");
  });

  it('rejects workflows the runner cannot execute, saying why', () => {
    const wf = fakeWorkflow([{ name: 'a', cells: [[0, 'pass']] }, { name: 'b', after: ['a'], cells: [[1, 'pass']] }]);
    assert.throws(() => planWorkflow({ spec: { ...wf.spec, entrypoint: 'a' } }, new Map(), { runId: 'r' }), /entrypoint 'a' is not a DAG template/);
    const dag = wf.spec.templates[0]?.dag;
    const cyclic = { spec: { ...wf.spec, templates: [{ name: 'main', dag: { tasks: (dag?.tasks ?? []).map((t) => ({ ...t, dependencies: [t.name === 'a' ? 'b' : 'a'] })) } }, ...wf.spec.templates.slice(1)] } };
    assert.throws(() => planWorkflow(cyclic, new Map(), { runId: 'r' }), (e: unknown) => e instanceof WorkflowError && /cycle/.test(e.message));
    assert.throws(() => planWorkflow(wf, new Map([['nope', '1']]), { runId: 'r' }), /no parameter 'nope'/);
  });
});

describe('runner: records and hints', () => {
  it('lists runs of one notebook newest first, and ignores other folders', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-records-'));
    try {
      const make = (id: string, notebook: string, startedAt: string) => {
        const { dir: runDir } = createRunDir(dir, id);
        const record: RunRecord = {
          version: 1, id, notebook, workflow: 'w', status: 'succeeded', startedAt, python: { command: 'python3' }, parameters: {},
          mode: { kind: 'all' }, cache: true, jobs: 1, runnerPid: 1, steps: [], metrics: {},
        };
        writeRunRecord(runDir, record);
      };
      make('20260101-000000-aaaa', '/nb/a.ipynb', '2026-01-01T00:00:00.000Z');
      make('20260102-000000-bbbb', '/nb/a.ipynb', '2026-01-02T00:00:00.000Z');
      make('20260103-000000-cccc', '/nb/b.ipynb', '2026-01-03T00:00:00.000Z');
      fs.mkdirSync(path.join(dir, 'notes'));
      assert.deepEqual(listRuns(dir, { notebook: '/nb/a.ipynb' }).map((r) => r.id), ['20260102-000000-bbbb', '20260101-000000-aaaa']);
      assert.equal(listRuns(dir).length, 3);
      assert.deepEqual(listRuns(path.join(dir, 'missing')), []);
      assert.deepEqual(fs.readdirSync(path.join(dir, '20260101-000000-aaaa')), ['run.json'], 'no temp file is left behind');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells how to install a module for the interpreter at hand', () => {
    const system = { command: 'python3', executable: '/usr/bin/python3', version: '3.11.2' };
    const venv = { command: '/opt/venv/bin/python', executable: '/opt/venv/bin/python', version: '3.12.1' };
    if (fs.existsSync('/etc/debian_version') && fs.existsSync('/usr/bin/python3')) {
      assert.equal(installHint('sklearn', system), `${process.getuid?.() === 0 ? '' : 'sudo '}apt-get install python3-sklearn`);
    }
    assert.equal(installHint('sklearn', venv), '/opt/venv/bin/python -m pip install scikit-learn');
    assert.equal(installHint('torchvision', venv), '/opt/venv/bin/python -m pip install torchvision');
  });

  it('formats durations', () => {
    assert.equal(formatDuration(420), '0.4s');
    assert.equal(formatDuration(61_000), '1m 01s');
    assert.equal(formatDuration(3_723_000), '1h 02m 03s');
  });
});

describe('runner: saved outputs', () => {
  it("finds a value in the step's bundle through its summary, or as a file of its own", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-outputs-'));
    try {
      fs.writeFileSync(path.join(dir, 'old.pkl'), 'x');
      assert.equal(hasOutput(dir, 'old'), true, 'a file of its own (older runtimes)');
      fs.writeFileSync(path.join(dir, '_values.pkl'), 'bundle');
      assert.equal(hasOutput(dir, 'df'), true, 'a bundle without a summary is trusted');
      fs.writeFileSync(path.join(dir, '_summary.json'), JSON.stringify({ values: { df: { type: 'pandas.core.frame.DataFrame' } } }));
      assert.equal(hasOutput(dir, 'df'), true);
      assert.equal(hasOutput(dir, 'model'), false, 'a name the summary does not list was not saved');
      assert.equal(hasOutput(path.join(dir, 'none'), 'df'), false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
