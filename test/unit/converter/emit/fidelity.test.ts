// Issue 10, the step runtime half: for each class of notebook code that broke, a small
// pipeline (steps, inputs and outputs as the analysis gives them) runs step by step with
// real Python and must give what the same cells give run one by one in one interpreter,
// as Jupyter runs them. Also: `{{...}}` reaching Python byte for byte through Argo-style
// and local-runner substitution, `sys.exit` in a cell, value summaries, and the input and
// output folder contract.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { emitWorkflow, stepScript } from '../../../../src/converter/emit';
import type { Pipeline } from '../../../../src/converter/ir';
import { parseTraceback } from '../../../../src/runner/traceback';
import { planWorkflow } from '../../../../src/runner/workflow';
import { makePipeline, param, type PipelineSpec } from '../../../support/pipelineBuilder';
import { lastLine, pythonSuite, runScript, runWorkflow, type StepRun } from './python';

/** The notebook as a kernel runs it: every cell compiled and run on its own, in one namespace, in notebook order. */
function kernelProgram(p: Pipeline): string {
  const cells = [...p.imports, ...p.functions, ...Object.values(p.stepCode).flat()].sort((a, b) => a.cell - b.cell);
  const params = p.parameters.map((q) => `${q.name} = ${q.literal}\n`).join('');
  return `${params}import json as _json\nfor _code in _json.loads(${JSON.stringify(JSON.stringify(cells.map((c) => c.code)))}):\n    exec(compile(_code, '<cell>', 'exec'), globals())\n`;
}

function resultOf(run: { stdout: string }): unknown {
  const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `a RESULT line in:\n${run.stdout}`);
  return JSON.parse(line.slice('RESULT '.length));
}

describe('fidelity: a pipeline gives what the notebook gives (step runtime)', function () {
  this.timeout(120_000);
  const work = pythonSuite();

  function runs(spec: PipelineSpec, prefix: string): StepRun[] {
    const all = runWorkflow(emitWorkflow(makePipeline(spec)), work(prefix));
    for (const r of all) assert.equal(r.status, 0, `step ${r.step} failed:\n${r.stderr}`);
    return all;
  }

  /** Runs the pipeline and the notebook; both must print `RESULT <expected>` (the last step prints it). */
  function reproduces(spec: PipelineSpec, expected: unknown): void {
    const p = makePipeline(spec);
    const dir = work('fid');
    const all = runs(spec, 'fid');
    const ref = path.join(dir, 'kernel.py');
    fs.writeFileSync(ref, kernelProgram(p));
    const r = runScript(ref, {}, dir);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(resultOf(r), expected, 'the notebook run in one kernel');
    assert.deepEqual(resultOf(all[all.length - 1] ?? { stdout: '' }), expected, 'the pipeline');
  }

  const print = (expr: string) => `import json as _j\nprint('RESULT ' + _j.dumps(${expr}))`;

  it('class 1: an import in a step cell is replayed where a later step uses the name; modules are never data', () => {
    reproduces({
      steps: [
        { name: 'a', code: [{ cell: 0, code: 'import math\nimport os.path as osp\nx = 2.0' }], outputs: ['x'] },
        {
          name: 'b', code: [{ cell: 1, code: `r = math.sqrt(x)\n${print('[r, osp.basename("/a/b")]')}` }], inputs: { x: 'a' }, after: ['a'],
          importReplays: [{ from: 'a', cell: 0, line: 1, source: 'import math' }, { from: 'a', cell: 0, line: 2, source: 'import os.path as osp' }],
        },
      ],
    }, [Math.sqrt(2), 'b']);
  });

  it('class 2: instances of notebook classes (plain, dataclass, Enum, subclass, namedtuple, type(...)) and function aliases travel by value', () => {
    const define = [
      'from dataclasses import dataclass', 'import enum, collections',
      'class Net:', '    def __init__(self):', '        self.w = 0', '    def train(self, n):', '        self.w += n', '        return self',
      'class Deep(Net):', '    def train(self, n):', '        return super().train(2 * n)',
      '@dataclass', 'class Cfg:', '    lr: float = 0.1',
      'class Color(enum.Enum):', '    RED = 1',
      "Pt = collections.namedtuple('Pt', 'x y')",
      "Dyn = type('Dyn', (), {'k': 7})",
      'def f(v):', '    return v + 1',
      'net, deep, cfg, color, pt, dyn, g = Net(), Deep(), Cfg(), Color.RED, Pt(1, 2), Dyn(), f',
    ].join('\n');
    const names = ['net', 'deep', 'cfg', 'color', 'pt', 'dyn', 'g'];
    reproduces({
      steps: [
        { name: 'define', code: [{ cell: 0, code: define }], outputs: names },
        { name: 'train', code: [{ cell: 1, code: 'net.train(3)\ndeep.train(3)' }], inputs: { net: 'define', deep: 'define' }, outputs: ['net', 'deep'], after: ['define'] },
        {
          name: 'evaluate',
          code: [{ cell: 2, code: print("[net.w, deep.w, isinstance(deep, type(net)), cfg.lr, color.name, color is type(color).RED, pt.y, pt._fields, dyn.k, g(1), type(cfg).__name__]") }],
          inputs: { net: 'train', deep: 'train', cfg: 'define', color: 'define', pt: 'define', dyn: 'define', g: 'define' },
          after: ['train'],
        },
      ],
    }, [3, 6, true, 0.1, 'RED', true, 2, ['x', 'y'], 7, 2, 'Cfg']);
  });

  it('class 2: values of one notebook class from different producers share one class, also with the class of a functions cell', () => {
    reproduces({
      functions: [{ cell: 0, code: 'class Q:\n    pass' }],
      steps: [
        { name: 'a', code: [{ cell: 1, code: 'class P:\n    pass\n\np1 = P()\nq1 = Q()' }], outputs: ['p1', 'P', 'q1'] },
        { name: 'b', code: [{ cell: 2, code: 'p2 = P()\nq2 = Q()' }], inputs: { P: 'a' }, outputs: ['p2', 'q2'], after: ['a'] },
        {
          name: 'c', code: [{ cell: 3, code: print('[type(p1) is type(p2), isinstance(p2, type(p1)), isinstance(q1, Q), isinstance(q2, Q), type(q1) is type(q2)]') }],
          inputs: { p1: 'a', q1: 'a', p2: 'b', q2: 'b' }, after: ['a', 'b'],
        },
      ],
    }, [true, true, true, true, true]);
  });

  it('class 2: a class carried by its source keeps the instances that came by value its instances', () => {
    const cls = 'class Point:\n    def __init__(self, x):\n        self.x = x';
    reproduces({
      steps: [
        { name: 'a', code: [{ cell: 0, code: `${cls}\n\np = Point(3)` }], outputs: ['p'] },
        {
          name: 'b', code: [{ cell: 1, code: print('[isinstance(p, Point), p.x, Point(4).x]') }], inputs: { p: 'a' }, after: ['a'],
          definitions: [{ name: 'Point', kind: 'class', from: 'a', source: cls, cell: 0, line: 1 }],
        },
      ],
    }, [true, 3, 4]);
  });

  it('classes 3 and 4: one save per step keeps aliases, containers of frames and loop-variable mutations', () => {
    reproduces({
      imports: [{ cell: 0, code: 'import pandas as pd\nfrom sklearn.linear_model import LogisticRegression' }],
      steps: [
        {
          name: 'a',
          code: [{ cell: 1, code: "df = pd.DataFrame({'a': [1, 2, 3]})\nX_df = df\ntrain_df, test_df = df.copy(), df.copy()\ndata = [train_df, test_df]\nmodels = {'lr': LogisticRegression()}" }],
          outputs: ['df', 'X_df', 'train_df', 'test_df', 'data', 'models'],
        },
        {
          name: 'b',
          code: [{ cell: 2, code: "X_df['b'] = 1\nfor d in data:\n    d['x'] = 2\nfor name, m in models.items():\n    m.fit(df[['a']], [0, 1, 1])" }],
          inputs: { df: 'a', X_df: 'a', data: 'a', train_df: 'a', test_df: 'a', models: 'a' },
          outputs: ['df', 'train_df', 'test_df', 'models'],
          after: ['a'],
        },
        {
          name: 'c',
          code: [{ cell: 3, code: print("[df.shape[1], list(train_df.columns), list(test_df.columns), int(models['lr'].predict(df[['a']])[2])]") }],
          inputs: { df: 'b', train_df: 'b', test_df: 'b', models: 'b' },
          after: ['b'],
        },
      ],
    }, [2, ['a', 'x'], ['a', 'x'], 1]);
  });

  it("class 5: notebook functions read and write the consuming step's globals (append, `global`, functions-cell helper, method)", () => {
    reproduces({
      functions: [{ cell: 0, code: 'def scale(v):\n    return v * factor' }],
      steps: [
        {
          name: 'a',
          code: [{ cell: 1, code: 'history = []\ncnt = 0\nfactor = 3\noffset = 10\ndef log(v):\n    history.append(v)\ndef inc():\n    global cnt\n    cnt += 1\nclass M:\n    def get(self):\n        return offset + 1\nm = M()' }],
          outputs: ['history', 'cnt', 'log', 'inc', 'factor', 'm', 'offset'],
        },
        {
          name: 'b', code: [{ cell: 2, code: 'log(3)\ninc()\ninc()\noffset = 20\ny = scale(2) + m.get()' }],
          inputs: { history: 'a', cnt: 'a', log: 'a', inc: 'a', factor: 'a', m: 'a', offset: 'a' }, outputs: ['history', 'cnt', 'y'], after: ['a'],
        },
        { name: 'c', code: [{ cell: 3, code: print('[history, cnt, y]') }], inputs: { history: 'b', cnt: 'b', y: 'b' }, after: ['b'] },
      ],
    }, [[3], 2, 27]);
  });

  it('class 6: lambdas, closures and functools.partial pass between steps', () => {
    reproduces({
      steps: [
        { name: 'a', code: [{ cell: 0, code: 'import functools\nsq = lambda v: v * v\ndef adder(n):\n    def add(v):\n        return v + n\n    return add\nadd5 = adder(5)\np = functools.partial(pow, 2)' }], outputs: ['sq', 'add5', 'p'] },
        { name: 'b', code: [{ cell: 1, code: print('[sq(3), add5(1), p(10)]') }], inputs: { sq: 'a', add5: 'a', p: 'a' }, after: ['a'] },
      ],
    }, [9, 6, 1024]);
  });

  it('class 7: default arguments, class state and function attributes stay as they were', () => {
    reproduces({
      steps: [
        { name: 'a', code: [{ cell: 0, code: 'x = 1\ndef f(a=x):\n    return a\nx = 2\nclass C:\n    count = 0\nC.count = 5\nf.calls = 5\nc = C()' }], outputs: ['f', 'C', 'c', 'x'] },
        { name: 'b', code: [{ cell: 1, code: print('[f(), x, C.count, type(c).count, f.calls]') }], inputs: { f: 'a', C: 'a', c: 'a', x: 'a' }, after: ['a'] },
      ],
    }, [1, 2, 5, 5, 5]);
  });

  it('class 8: the cells of a step run one by one in one namespace (`global` after an assignment, `from __future__`)', () => {
    reproduces({
      steps: [
        {
          name: 'a',
          code: [
            { cell: 0, code: 'x = 1' },
            { cell: 1, code: 'global x\nx = x + 1' },
            { cell: 2, code: 'from __future__ import annotations\ndef g(v: NotDefinedAnywhere) -> int:\n    return v' },
            { cell: 3, code: print("[x, g(4), g.__annotations__['v']]") },
          ],
        },
      ],
    }, [2, 4, 'NotDefinedAnywhere']);
  });

  it('class 12: `{{...}}` in code and parameter defaults reaches Python byte for byte through the local runner and Argo-style substitution', () => {
    const p = makePipeline({
      parameters: [param('a', '{{inputs.parameters.a}}', "'{{inputs.parameters.a}}'")],
      steps: [{ name: 's', code: [{ cell: 1, code: `s = '{{workflow.name}}'\nt = "{{=sprig.date()}} {{ inputs.parameters.a }}"\n${print('[s, t, a]')}` }], parameters: ['a'] }],
    });
    const wf = emitWorkflow(p);
    const template = wf.spec.templates.find((t) => t.script);
    assert.ok(template?.script);
    assert.ok(!JSON.stringify(wf).includes('{{workflow.name}}') && !JSON.stringify(wf.spec.arguments).includes('{{'), 'nothing for Argo to substitute');
    const [plan] = planWorkflow(wf, new Map(), { runId: 'run-1' });
    assert.equal(plan?.source, template.script.source, 'the local runner leaves the script as compiled');
    const expected = ['{{workflow.name}}', '{{=sprig.date()}} {{ inputs.parameters.a }}', '{{inputs.parameters.a}}'];
    const dir = work('braces');
    const file = path.join(dir, 's.py');
    fs.writeFileSync(file, plan?.source ?? '');
    // With the parameter from the workflow arguments (as Argo passes it), and without (the literal).
    const r1 = runScript(file, { ...plan?.env, FLOWBOOK_DATA_DIR: dir }, dir);
    assert.equal(r1.status, 0, r1.stderr);
    assert.deepEqual(resultOf(r1), expected);
    assert.ok(plan?.env.FLOWBOOK_PARAM_a !== undefined);
    const r2 = runScript(file, { FLOWBOOK_DATA_DIR: dir }, dir);
    assert.deepEqual(resultOf(r2), expected);
  });

  it('a cell that raises SystemExit fails the step with a message naming the step and the cell', () => {
    const all = runWorkflow(emitWorkflow(makePipeline({
      steps: [{ name: 'make', code: [{ cell: 0, code: 'x = 1' }, { cell: 3, code: 'import sys\nsys.exit(0)' }, { cell: 4, code: 'y = 2' }], outputs: ['x'] }],
    })), work('exit'));
    assert.equal(all[0]?.status, 1);
    assert.match(lastLine(all[0]?.stderr ?? ''), /^flowbook: step 'make' stopped in cell 4: the cell raised SystemExit\(0\) \(sys\.exit\(\) or exit\(\)\), so the step's later cells did not run and it saved nothing; /);
    assert.ok(!fs.existsSync(path.join(path.dirname(all[0]?.scriptPath ?? ''), 'data', 'make', '_values.pkl')));
  });

  it('an error inside a function an earlier step defined maps to that cell and line, and shows it', () => {
    const p = makePipeline({
      steps: [
        { name: 'a', code: [{ cell: 2, code: 'def f(x):\n    y = x\n    return 1 / y' }], outputs: ['f'] },
        { name: 'b', code: [{ cell: 5, code: 'z = 3\nf(0)' }], inputs: { f: 'a' }, after: ['a'] },
      ],
    });
    const wf = emitWorkflow(p);
    const all = runWorkflow(wf, work('deep-tb'));
    const b = all[1];
    assert.equal(b?.status, 1);
    assert.match(b?.stderr ?? '', /File "<flowbook cell=5>", line 2, in <module>\n {4}f\(0\)\n {2}File "<flowbook cell=2>", line 3, in f\n {4}return 1 \/ y\n/, 'both frames show their line, also the one from the earlier step');
    const failure = parseTraceback(b?.stderr ?? '', b?.scriptPath ?? '', wf.spec.templates.find((t) => t.name === 'b')?.script?.source ?? '');
    assert.deepEqual([failure?.exception, failure?.location], ['ZeroDivisionError', { cell: 2, line: 3 }]);
  });

  it('a syntax error in a cell maps to that cell and line', () => {
    const p = makePipeline({ steps: [{ name: 'a', code: [{ cell: 0, code: 'x = 1' }, { cell: 7, code: 'y = 2\nz = (' }] }] });
    const wf = emitWorkflow(p);
    const [a] = runWorkflow(wf, work('syntax'));
    assert.equal(a?.status, 1);
    const failure = parseTraceback(a?.stderr ?? '', a?.scriptPath ?? '', wf.spec.templates.find((t) => t.name === 'a')?.script?.source ?? '');
    assert.deepEqual([failure?.exception, failure?.location], ['SyntaxError', { cell: 7, line: 2 }]);
  });

  it('writes _summary.json with type, size, repr and, for frames and arrays, shape, dtype, columns and head', () => {
    const all = runs({
      imports: [{ cell: 0, code: 'import numpy as np\nimport pandas as pd' }],
      steps: [{ name: 'make', code: [{ cell: 1, code: "df = pd.DataFrame({'a': range(8), 'b': list('abcdefgh')})\narr = np.zeros((3, 4), dtype=np.float32)\nn = 5\nlong = 'x' * 1000\nitems = [1, 2]" }], outputs: ['df', 'arr', 'n', 'long', 'items'] }],
    }, 'summary');
    const file = path.join(path.dirname(all[0]?.scriptPath ?? ''), 'data', 'make', '_summary.json');
    const summary = JSON.parse(fs.readFileSync(file, 'utf8')) as { values: Record<string, Record<string, unknown>> };
    const { df, arr, n, long, items } = summary.values;
    assert.deepEqual([df?.type, df?.shape, df?.columns], ['pandas.core.frame.DataFrame', [8, 2], ['a', 'b']]);
    assert.equal((df?.head as string).split('\n').length, 6, 'the header and five rows');
    assert.ok(typeof df?.bytes === 'number' && df.bytes > 0);
    assert.deepEqual([arr?.type, arr?.shape, arr?.dtype, arr?.bytes], ['numpy.ndarray', [3, 4], 'float32', 48]);
    assert.deepEqual([n?.type, n?.repr], ['int', '5']);
    assert.equal((long?.repr as string).length, 200);
    assert.deepEqual([items?.repr, items?.shape], ['[1, 2]', [2]]);
  });

  it("a large container's summary formats only its first items, not the whole value", () => {
    // Each item's repr may run 50 times in all: a full repr of the 1,000 items would fail.
    const all = runs({ steps: [{ name: 'make', code: [{ cell: 0, code: 'calls = [0]\nclass C:\n    def __repr__(self):\n        calls[0] += 1\n        if calls[0] > 50:\n            raise RuntimeError("formatted too much")\n        return "C"\nitems = [C() for _ in range(1000)]' }], outputs: ['items'] }] }, 'bigrepr');
    const file = path.join(path.dirname(all[0]?.scriptPath ?? ''), 'data', 'make', '_summary.json');
    const items = (JSON.parse(fs.readFileSync(file, 'utf8')) as { values: Record<string, Record<string, unknown>> }).values.items;
    assert.deepEqual([items?.shape, (items?.repr as string).startsWith('[C, C, C'), (items?.repr as string).includes('...')], [[1000], true, true], JSON.stringify(items));
  });

  it('a value whose repr fails is still saved and summarised', () => {
    const all = runs({ steps: [{ name: 'make', code: [{ cell: 0, code: 'class B:\n    def __repr__(self):\n        raise RuntimeError("no")\nb = B()' }], outputs: ['b'] }] }, 'badrepr');
    const file = path.join(path.dirname(all[0]?.scriptPath ?? ''), 'data', 'make', '_summary.json');
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { values: { b: { type: '__main__.B', repr: '<repr failed: RuntimeError>', bytes: (JSON.parse(fs.readFileSync(file, 'utf8')) as { values: { b: { bytes: number } } }).values.b.bytes } } });
  });

  it('reads a producer from $FLOWBOOK_INPUT_DIR_<TEMPLATE> and writes to $FLOWBOOK_OUTPUT_DIR when they are set', () => {
    const p = makePipeline({
      steps: [
        { name: 'Make Data', templateName: 'make-data', code: [{ cell: 0, code: 'x = [1, 2]' }], outputs: ['x'] },
        { name: 'use', code: [{ cell: 1, code: 'y = x + [3]' }], inputs: { x: 'Make Data' }, outputs: ['y'], after: ['Make Data'] },
      ],
    });
    const dir = work('dirs');
    const [make, use] = p.steps.map((s) => {
      const f = path.join(dir, `${s.templateName}.py`);
      fs.writeFileSync(f, stepScript(p, s));
      return f;
    });
    const out1 = path.join(dir, 'out-1');
    const out2 = path.join(dir, 'out-2');
    const empty = path.join(dir, 'nothing-here');
    assert.equal(runScript(make ?? '', { FLOWBOOK_DATA_DIR: empty, FLOWBOOK_OUTPUT_DIR: out1 }, dir).status, 0);
    const r = runScript(use ?? '', { FLOWBOOK_DATA_DIR: empty, FLOWBOOK_INPUT_DIR_MAKE_DATA: out1, FLOWBOOK_OUTPUT_DIR: out2 }, dir);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(out2).sort(), ['_summary.json', '_values.pkl']);
    assert.ok(!fs.existsSync(empty), 'nothing is read from or written to the data folder');
    const check = runScript(use ?? '', { FLOWBOOK_DATA_DIR: empty }, dir);
    assert.match(lastLine(check.stderr), /^flowbook: cannot load 'x' from step 'Make Data': \S+\/nothing-here\/make-data\/_values\.pkl does not exist/);
  });
});
