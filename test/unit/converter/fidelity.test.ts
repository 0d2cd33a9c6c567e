// Issue 10, the analysis half: the step graph gives each step what running the notebook top
// to bottom would give it, or a diagnostic names the cell. One small notebook per case of the
// issue (imports in step cells, classes, loop variables, aliases, functions touching globals,
// parameters rebound, skip, reopened steps, generators, random state).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Compiler, compileNotebookText } from '../../../src/converter';
import type { Pipeline, Step } from '../../../src/converter/ir';
import { describePipeline } from '../../../src/cli/pipelineText';
import { notebookJson, CellSpec } from '../../support/notebooks';
import { requireDataPython, runScript, runWorkflow, tempDir } from './emit/python';
import { PythonAnalyzer } from '../../../src/converter/python';
import { generateNotebook } from '../../fidelity/generator';

let compiler: Compiler;
before(async () => { compiler = await Compiler.create(); });

function analyze(cells: CellSpec[]): Pipeline {
  return compiler.compileText(notebookJson(cells), 't.ipynb').pipeline;
}
function step(p: Pipeline, name: string): Step {
  const s = p.steps.find((x) => x.name === name);
  assert.ok(s, `no step ${name} in ${p.steps.map((x) => x.name).join(', ')}`);
  return s;
}
const inputs = (s: Step) => s.inputs.map((i) => `${i.name}<${i.from}`);
const errors = (p: Pipeline) => p.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.message}`);
const withCode = (p: Pipeline, code: string) => p.diagnostics.filter((d) => d.code === code);

describe('fidelity: imports anywhere are imports', () => {
  it('a module imported in a step cell is re-imported by the later step, never passed as data', () => {
    const p = analyze([['step:a', 'import math\nimport matplotlib.pyplot as plt\nx = 2.0'], ['step:b', 'r = math.sqrt(x)\nplt.plot([r])']]);
    assert.deepEqual(errors(p), []);
    assert.deepEqual(inputs(step(p, 'b')), ['x<a']);
    assert.deepEqual(step(p, 'b').importReplays, [
      { from: 'a', cell: 0, line: 1, source: 'import math' },
      { from: 'a', cell: 0, line: 2, source: 'import matplotlib.pyplot as plt' },
    ]);
    assert.deepEqual(step(p, 'a').outputs, ['x']);
  });

  it('a name rebound after its import is data again', () => {
    const p = analyze([['step:a', 'import json as data\ndata = [1]'], ['step:b', 'print(data)']]);
    assert.deepEqual(inputs(step(p, 'b')), ['data<a']);
    assert.equal(step(p, 'b').importReplays, undefined);
  });

  it("a module function's `out=` array is changed: np.multiply(a, 2, out=a) (generated seed 93)", () => {
    const p = analyze([
      ['step:a', 'import numpy as np\narr = np.arange(3, dtype=float)\nk = 2'],
      ['step:b', 'np.multiply(arr, k, out=arr)\nm = np.mean(arr)'],
      ['step:c', 'total = float(arr.sum()) + m'],
    ]);
    assert.deepEqual(inputs(step(p, 'c')), ['arr<b', 'm<b']);
    assert.deepEqual(step(p, 'b').outputs, ['arr', 'm']);
  });

  it('calling a module function (np.random.seed) does not make the module data', () => {
    const p = analyze([['step:a', 'import numpy as np\nnp.random.seed(0)\nv = 1'], ['step:b', 'print(np.zeros(v))']]);
    assert.deepEqual(inputs(step(p, 'b')), ['v<a']);
    assert.deepEqual(step(p, 'b').importReplays?.map((r) => r.source), ['import numpy as np']);
  });
});

describe('fidelity: annotations', () => {
  it('under `from __future__ import annotations` a name only annotations use needs no provider', () => {
    const p = analyze([
      ['step:a', 'from __future__ import annotations\nlimit: Budget = 3\n\ndef h(v: NotDefinedAnywhere) -> Result:\n    return 2\n\nz = h(1)'],
      ['step:b', 'w = z + limit'],
    ]);
    assert.deepEqual(errors(p), []);
    assert.deepEqual(inputs(step(p, 'a')), []);
  });

  it('without it, annotations run when `def` runs: an undefined name is reported', () => {
    const p = analyze([['step:a', 'def h(v: NotDefinedAnywhere) -> int:\n    return 2\n\nz = h(1)']]);
    assert.match(errors(p).join('\n'), /FB300 .*"NotDefinedAnywhere"/);
  });
});

describe('fidelity: functions and classes are values', () => {
  it('objects of a step-defined class reach later steps, changed by method calls (class 2)', () => {
    const p = analyze([
      ['step:define', 'class Net:\n    def __init__(self):\n        self.w = 0\n    def train(self, n):\n        self.w += n\nnet = Net()'],
      ['step:train', 'net.train(3)'],
      ['step:evaluate', 'w = net.w'],
    ]);
    assert.deepEqual(errors(p), []);
    assert.deepEqual(inputs(step(p, 'evaluate')), ['net<train']);
    for (const s of p.steps) assert.deepEqual(s.definitions, []);
  });

  it('a function passed on carries the needs of its body and makes the caller provide what it writes (class 5)', () => {
    const p = analyze([
      ['step:a', 'cnt = 0\ndef bump():\n    global cnt\n    cnt += 1'],
      ['step:b', 'bump()'],
      ['step:c', 'print(cnt)'],
    ]);
    assert.deepEqual(inputs(step(p, 'b')), ['bump<a', 'cnt<a']);
    assert.deepEqual(step(p, 'b').outputs, ['cnt']);
    assert.deepEqual(inputs(step(p, 'c')), ['cnt<b']);
  });

  it('a functions-cell helper that reads a step variable makes the calling step need it; one that appends to a global makes the caller provide it', () => {
    const p = analyze([
      ['functions', 'history = []\ndef log(v):\n    history.append(v)\ndef scale(v):\n    return v * factor'],
      ['step:a', 'factor = 3\nlog(3)'],
      ['step:b', 'y = scale(2)'],
      ['step:c', 'print(history)'],
    ]);
    assert.deepEqual(inputs(step(p, 'b')), ['factor<a']);
    assert.deepEqual(inputs(step(p, 'c')), ['history<a']);
    const edge = p.edges.find((e) => e.from === 'a' && e.to === 'c');
    assert.deepEqual(edge?.reasons, [{ kind: 'data', names: ['history'], changes: [{ name: 'history', cell: 1, line: 2, how: 'by calling `log(...)`' }] }]);
  });

  it('a function that only reads its argument does not change it: the branches stay parallel (dog-breed)', () => {
    const p = analyze([
      ['step:load', 'files = [1, 2]\ndef path_to_tensor(p):\n    return [p]\ndef paths_to_tensor(ps):\n    return [path_to_tensor(p) for p in tqdm(ps)]'],
      ['step:one', 'a = paths_to_tensor(files)'],
      ['step:two', 'b = paths_to_tensor(files)'],
    ]);
    assert.deepEqual(step(p, 'two').after, ['load']);
    assert.deepEqual(inputs(step(p, 'two')), ['paths_to_tensor<load', 'files<load', 'path_to_tensor<load']);
  });

  it('a function that changes its parameter, directly or through another notebook function, changes the argument', () => {
    const p = analyze([
      ['step:a', 'xs = [1]\ndef add(v, item):\n    v.append(item)\ndef add_twice(w):\n    add(w, 1)\n    add(w, 2)'],
      ['step:b', 'add_twice(xs)'],
      ['step:c', 'print(xs)'],
    ]);
    assert.deepEqual(inputs(step(p, 'c')), ['xs<b']);
    const edge = p.edges.find((e) => e.from === 'b' && e.to === 'c');
    assert.deepEqual(edge?.reasons, [{ kind: 'data', names: ['xs'], changes: [{ name: 'xs', cell: 1, line: 1, how: 'when passed to `add_twice`' }] }]);
  });

  it('an unknown function may change what it is given (conservative)', () => {
    const p = analyze([['imports', 'from helpers import clean'], ['step:a', 'df = [1]'], ['step:b', 'clean(df)'], ['step:c', 'print(df)']]);
    assert.deepEqual(inputs(step(p, 'c')), ['df<b']);
  });

  it('a method of a notebook class that writes a global makes the calling step provide it', () => {
    const p = analyze([
      ['step:a', 'calls = 0\nclass Model:\n    def fit(self):\n        global calls\n        calls += 1\nm = Model()'],
      ['step:b', 'm.fit()'],
      ['step:c', 'print(calls)'],
    ]);
    assert.deepEqual(inputs(step(p, 'c')), ['calls<b']);
  });
});

describe('fidelity: re-analysis after an edit', () => {
  it('an edit of a function body elsewhere changes which step provides a name (no stale cache)', () => {
    const cells = (body: string): CellSpec[] => [['functions', `def f(v):\n    ${body}`], ['step:a', 'xs = [1]'], ['step:b', 'f(xs)'], ['step:c', 'print(xs)']];
    assert.deepEqual(inputs(step(analyze(cells('return len(v)')), 'c')), ['xs<a']);
    assert.deepEqual(inputs(step(analyze(cells('v.append(1)')), 'c')), ['xs<b']);
    assert.deepEqual(inputs(step(analyze(cells('return len(v)')), 'c')), ['xs<a']);
  });

  it('an alias added in one step makes a change in an unchanged later step reach the other name', () => {
    const cells = (alias: string): CellSpec[] => [['step:a', `xs = [1]\n${alias}`], ['step:b', 'ys.append(2)'], ['step:c', 'print(xs)']];
    assert.deepEqual(inputs(step(analyze(cells('ys = [2]')), 'c')), ['xs<a']);
    assert.deepEqual(inputs(step(analyze(cells('ys = xs')), 'c')), ['xs<b']);
  });
});

describe('fidelity: aliases and loop variables (classes 3 and 4)', () => {
  it('models changed through the loop variable reach evaluate from train, with the reason', () => {
    const p = analyze([
      ['imports', 'from sklearn.linear_model import LogisticRegression'],
      ['step:data', "models = {'lr': LogisticRegression()}\nX = [[0], [1]]\ny = [0, 1]"],
      ['step:train', 'for name, m in models.items():\n    m.fit(X, y)'],
      ['step:evaluate', "acc = models['lr'].score(X, y)"],
    ]);
    assert.deepEqual(inputs(step(p, 'evaluate')), ['models<train', 'X<data', 'y<data']);
    assert.match(describePipeline(p), /after train: uses models \(models changed through `m\.fit` in the loop at cell 3 line 2\)/);
  });

  it('an assignment alias: changing X_df changes df', () => {
    const p = analyze([['step:a', "df = {'a': 1}\nX_df = df"], ['step:b', "X_df['b'] = 1"], ['step:c', 'n = len(df)']]);
    assert.deepEqual(inputs(step(p, 'b')), ['X_df<a', 'df<a']);
    assert.deepEqual(inputs(step(p, 'c')), ['df<b']);
  });

  it('a container of frames: changing each item in a loop changes the frames (titanic)', () => {
    const p = analyze([
      ['step:a', "train_df = {'x': 0}\ntest_df = {'x': 0}\ndata = [train_df, test_df]"],
      ['step:b', "for d in data:\n    d['x'] = 1"],
      ['step:c', 'print(train_df, test_df)'],
    ]);
    assert.deepEqual(inputs(step(p, 'c')), ['train_df<b', 'test_df<b']);
  });

  it('`w += 1` changes the array in place: what `w` was taken from changes too, in this step and later ones (04d)', () => {
    const p = analyze([
      ['step:a', "import numpy as np\narrs = {'w': np.zeros(3)}\nw = arrs['w']"],
      ['step:b', 'w += 1'],
      ['step:c', 'w += 1'],
      ['step:d', "total = float(arrs['w'].sum())"],
    ]);
    assert.deepEqual(inputs(step(p, 'b')).sort(), ['arrs<a', 'w<a']);
    assert.deepEqual(inputs(step(p, 'c')).sort(), ['arrs<b', 'w<b']);
    assert.deepEqual(inputs(step(p, 'd')), ['arrs<c']);
  });

  it('names of one object come from one provider: the latest, which saves them together (generated seed 174)', () => {
    const p = analyze([
      ['step:a', 'groups = [[1], [3, 1]]'],
      ['step:b', 'for g in groups:\n    g.append(len(g) + 2)'],
      ['step:c', 'alias = groups'],
      ['step:d', 'for g in groups:\n    g.append(0)'],
      ['step:e', 'total = sum(len(x) for x in alias)'],
    ]);
    assert.deepEqual(errors(p), []);
    assert.deepEqual(inputs(step(p, 'c')), ['groups<b']);
    // Not groups<b with alias<c: two objects, and d's appends would miss alias.
    assert.deepEqual(inputs(step(p, 'd')).sort(), ['alias<c', 'groups<c']);
    assert.deepEqual(step(p, 'c').outputs, ['alias', 'groups']);
    assert.deepEqual(step(p, 'd').after, ['c']);
    assert.deepEqual(inputs(step(p, 'e')), ['alias<d']);
  });

  it('copies are not aliases: two steps reading the same frame stay parallel (breast-cancer)', () => {
    const p = analyze([
      ['imports', 'from sklearn.model_selection import train_test_split\nfrom sklearn.svm import SVC\nfrom sklearn.tree import DecisionTreeClassifier'],
      ['step:data', 'X = [[0], [1]]\ny = [0, 1]\nX_train, X_test, y_train, y_test = train_test_split(X, y)'],
      ['step:svm', 'svm = SVC()\nsvm.fit(X_train, y_train)\ns1 = svm.score(X_test, y_test)'],
      ['step:tree', 'tree = DecisionTreeClassifier()\ntree.fit(X_train, y_train)\ns2 = tree.score(X_test, y_test)'],
    ]);
    assert.deepEqual(step(p, 'svm').after, ['data']);
    assert.deepEqual(step(p, 'tree').after, ['data']);
  });
});

describe('fidelity: parameters and prelude names become data once changed (class 9)', () => {
  it('a parameter rebound in a step reaches later steps from that step', () => {
    const p = analyze([['pipeline-parameters', 'p = 1'], ['step:a', 'p = p + 10'], ['step:b', 'print(p)']]);
    assert.deepEqual(step(p, 'a').parameters, ['p']);
    assert.deepEqual(inputs(step(p, 'b')), ['p<a']);
  });

  it('functions-cell state changed in a step reaches later steps from that step', () => {
    const p = analyze([['functions', 'registry = []'], ['step:a', 'registry.append(1)'], ['step:b', 'print(registry)']]);
    assert.deepEqual(inputs(step(p, 'b')), ['registry<a']);
  });

  it('a parameter passed to a module function is not changed; as a metric, the step that has it reports it', () => {
    const p = analyze([
      ['imports', 'import numpy as np'], ['pipeline-parameters', 'd1 = 5'],
      ['step:make', 'm = np.random.rand(d1)'], ['step:sum', 's = m.sum()'], ['pipeline-metrics', 'print(d1)\nprint(s)'],
    ]);
    assert.deepEqual(errors(p), []);
    assert.deepEqual(p.metrics.map((m) => `${m.name}<${m.step}`), ['d1<make', 's<sum']);
  });

  it('a prelude name no step changes stays prelude', () => {
    const p = analyze([['functions', 'registry = []'], ['step:a', 'print(registry)'], ['step:b', 'print(registry)']]);
    assert.deepEqual(inputs(step(p, 'b')), []);
  });
});

describe('fidelity: what a step saves', () => {
  it('every output is a name the step has at its end: one it binds, loads, or has from the prelude or parameters (generated seeds 1-200, reopened steps among them)', async () => {
    const python = await PythonAnalyzer.create();
    let reopened = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const { cells } = generateNotebook(seed);
      const p = analyze(cells);
      // The imports and functions cells and the parameters run in every step.
      const prelude = cells.flatMap(([tags, source], i) => (tags === 'imports' || tags === 'functions' ? python.analyzeCell(source, i).binds : []));
      for (const s of p.steps) {
        if (s.cells.some((c, i) => i > 0 && c !== (s.cells[i - 1] as number) + 1)) reopened++;
        const has = new Set([...s.inputs.map((i) => i.name), ...s.parameters, ...prelude]);
        for (const c of s.cells) for (const n of python.analyzeCell((cells[c] as CellSpec)[1], c).binds) has.add(n);
        for (const o of s.outputs) assert.ok(has.has(o), `seed ${seed}: step "${s.name}" (cells ${s.cells.join(', ')}) saves "${o}", which it neither binds nor loads`);
      }
    }
    assert.ok(reopened > 0, 'no generated notebook reopens a step: the check covers nothing');
  });
});

describe("fidelity: Kale's skip (class 10)", () => {
  it('a skip cell drops only itself; untagged cells after it continue the block above', () => {
    const p = analyze([['step:a', 'x = 1'], ['skip', 'junk = 1'], ['', 'x = x + 1'], ['step:b', 'print(x)']]);
    assert.deepEqual(step(p, 'a').cells, [0, 2]);
    assert.deepEqual(errors(p), []);
  });

  it('a functions block after a skip cell stays a functions block', () => {
    const p = analyze([['functions', 'def f():\n    return 1'], ['skip', 'f()'], ['', 'def g():\n    return 2'], ['step:a', 'print(f(), g())']]);
    assert.deepEqual(p.functions.map((c) => c.cell), [0, 2]);
    assert.deepEqual(errors(p), []);
  });

  it('untagged cells after a leading skip cell are skipped, as Kale does', () => {
    const p = analyze([['skip', 'a = 1'], ['', 'b = 2'], ['step:s', 'c = 3']]);
    assert.deepEqual(step(p, 's').cells, [2]);
    assert.ok(withCode(p, 'FB105').some((d) => d.cell === 1));
  });

  it('prev: naming an unknown step on a continuation cell is a warning', () => {
    const p = analyze([['step:a', 'x = 1'], ['prev:nothere', 'y = 2'], ['step:b', 'print(x, y)']]);
    assert.deepEqual(withCode(p, 'FB301').map((d) => [d.severity, d.cell]), [['warning', 1]]);
    assert.deepEqual(errors(p), []);
  });

  it('prev: naming an unknown step on a step\'s first cell stays an error', () => {
    const p = analyze([[['step:a', 'prev:nothere'], 'x = 1']]);
    assert.deepEqual(withCode(p, 'FB301').map((d) => d.severity), ['error']);
  });
});

describe('fidelity: diagnostics where a step-by-step run differs (classes 11 and 7)', () => {
  it('a reopened step whose later cell reads what the step in between changes', () => {
    const p = analyze([['step:a', 'x = 1'], ['step:b', 'x = 5'], ['step:a', 'print(x)']]);
    const d = withCode(p, 'FB306');
    assert.deepEqual(d.map((x) => [x.cell, x.line, x.severity]), [[2, 1, 'warning']]);
    assert.match(d[0]?.message ?? '', /runs before step "b".*changes "x"/);
  });

  it('a reopened step whose later cell changes what the step in between reads', () => {
    const p = analyze([['step:a', 'x = [1]'], ['step:b', 'print(len(x))'], ['step:a', 'x.append(2)']]);
    assert.deepEqual(withCode(p, 'FB306').map((x) => x.cell), [2]);
  });

  it('a reopened step that touches nothing the other step uses is silent', () => {
    const p = analyze([['step:a', 'x = 1'], ['step:b', 'y = 5'], ['step:a', 'print(x)']]);
    assert.deepEqual(withCode(p, 'FB306'), []);
  });

  it('a generator or an open file handed to a later step is an error on its cell; an iterator a warning', () => {
    const p = analyze([
      ['step:a', "g = (i for i in range(3))\nf = open('x')\nit = iter([1])\ndef gen():\n    yield 1\nh = gen()\nok = list(g)"],
      ['step:b', 'print(g, f, it, h)'],
    ]);
    assert.deepEqual(withCode(p, 'FB305').map((d) => [d.line, d.severity]), [[1, 'error'], [2, 'error'], [3, 'warning'], [6, 'error']]);
  });

  it('global random state seeded in one step and drawn in another is a warning on the seed', () => {
    const p = analyze([['imports', 'import numpy as np\nimport random'], ['step:a', 'np.random.seed(0)\nu = np.random.rand()'], ['step:b', 'v = np.random.rand()\nrandom.shuffle([1])']]);
    const d = withCode(p, 'FB307');
    assert.deepEqual(d.map((x) => [x.cell, x.line]), [[1, 1]]);
    assert.match(d[0]?.message ?? '', /step "b" draws from it/);
  });

  it('random state seeded and drawn in one step only is fine', () => {
    const p = analyze([['imports', 'import numpy as np'], ['step:a', 'np.random.seed(0)\nu = np.random.rand()'], ['step:b', 'print(u)']]);
    assert.deepEqual(withCode(p, 'FB307'), []);
  });
});

describe('fidelity: a view and its base split by a step boundary (FB308)', () => {
  const imports: CellSpec = ['imports', 'import numpy as np\nimport pandas as pd'];
  const frame = "df = pd.DataFrame({'x': [1.0, 2.0]})";
  const warnings = (cells: CellSpec[]) => withCode(analyze([imports, ...cells]), 'FB308');

  it('a view written through in a later step while its base is read after: a warning on the change naming view, base, cell and fix', () => {
    const d = warnings([['step:a', `${frame}\nvalues = df.to_numpy()`], ['step:b', 'values[0] = 99.0'], ['step:c', "total = df['x'].sum()"]]);
    assert.deepEqual(d.map((x) => [x.cell, x.line, x.severity]), [[2, 1, 'warning']]);
    const message = d[0]?.message ?? '';
    assert.match(message, /changes "values".*"values" is a view of "df" \(`df\.to_numpy\(\)`, made in step "a" at cell 2 line 2\)/);
    assert.match(message, /"df", which is read in step "c" \(cell 4 line 1\)/);
    assert.match(message, /Make this change in step "a".*`values = df\.to_numpy\(\)\.copy\(\)`/);
  });

  it('the reverse: the base changed in place in a later step while the view is read after', () => {
    const d = warnings([['step:a', `${frame}\nvalues = df.values`], ['step:b', "df.loc[0, 'x'] = 50.0"], ['step:c', 'total = values.sum()']]);
    assert.deepEqual(d.map((x) => x.cell), [2]);
    assert.match(d[0]?.message ?? '', /changes "df".*"values", which is read in step "c"/);
  });

  it('read later in the changing step itself, and every kind of view', () => {
    for (const view of ['v = arr.reshape(2, 2)', 'v = arr[1:3]', 'v = arr.T', 'v = np.asarray(arr)', 'v = pd.DataFrame(arr)', 'v = np.array(arr, copy=False)', 'v = arr[:, 0]']) {
      const d = warnings([['step:a', `arr = np.ones((2, 2))\n${view}`], ['step:b', 'v *= 2\ntotal = arr.sum()']]);
      assert.deepEqual(d.map((x) => [x.cell, x.line]), [[2, 1]], view);
    }
    const iloc = warnings([['step:a', `${frame}\nfirst = df.iloc[:1]`], ['step:b', "first['x'] = 0.0"], ['step:c', 'print(df)']]);
    assert.deepEqual(iloc.map((x) => x.cell), [2]);
  });

  it('a change through a notebook function counts', () => {
    const d = warnings([
      ['functions', 'def zero(a):\n    a[0] = 0.0'],
      ['step:a', `${frame}\nvalues = df.to_numpy()`], ['step:b', 'zero(values)'], ['step:c', 'print(df)'],
    ]);
    assert.deepEqual(d.map((x) => x.cell), [3]);
  });

  it('no warning: the view made and used in one step, nothing changed after the boundary, identity aliases, a copy', () => {
    const none: CellSpec[][] = [
      [['step:a', `${frame}\nvalues = df.to_numpy()\nvalues[0] = 99.0\ntotal = df['x'].sum()`], ['step:b', 'print(total, values)']],
      [['step:a', `${frame}\nvalues = df.to_numpy()`], ['step:b', 'm = values.mean()'], ['step:c', 'print(df, m)']],
      [['step:a', "arrays = {'w': np.ones(3)}\nm = arrays['w']"], ['step:b', 'm[0] = 5.0'], ['step:c', 'print(arrays)']],
      [['step:a', `${frame}\nX = df`], ['step:b', "X['x'] = 0.0"], ['step:c', 'print(df)']],
      [['step:a', `${frame}\nvalues = df.to_numpy().copy()`], ['step:b', 'values[0] = 99.0'], ['step:c', 'print(df)']],
      // Changed, but the other one is never read again, or is bound anew first.
      [['step:a', `${frame}\nvalues = df.to_numpy()`], ['step:b', 'values[0] = 99.0'], ['step:c', 'print(values)']],
      [['step:a', `${frame}\nvalues = df.to_numpy()`], ['step:b', 'values[0] = 99.0'], ['step:c', `${frame}\nprint(df)`]],
      // The view's name bound anew before the change: no longer a view.
      [['step:a', `${frame}\nvalues = df.to_numpy()`], ['step:b', 'values = np.zeros(2)'], ['step:c', 'values[0] = 1.0\nprint(df)']],
    ];
    for (const cells of none) assert.deepEqual(warnings(cells).map((d) => d.message), [], JSON.stringify(cells));
  });
});

describe('fidelity: the pipeline run gives what the notebook run gives (real Python)', function () {
  this.timeout(180_000);
  const dirs: string[] = [];
  before(requireDataPython);
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  /** Runs the cells top to bottom in one interpreter (skip cells left out) and the compiled steps one by one; both print a `RESULT` line. */
  function reproduces(name: string, cells: CellSpec[]): void {
    it(name, async () => {
      const result = await compileNotebookText(notebookJson(cells), 't.ipynb');
      assert.ok(result.workflow, `compiles: ${JSON.stringify(result.diagnostics.filter((d) => d.severity === 'error'))}`);
      const dir = tempDir('fidelity');
      dirs.push(dir);
      const runs = runWorkflow(result.workflow, dir);
      for (const r of runs) assert.equal(r.status, 0, `step ${r.step} failed:\n${r.stderr}`);
      const notebook = path.join(dir, 'notebook.py');
      fs.writeFileSync(notebook, cells.filter(([tags]) => tags !== 'skip').map(([, code]) => `${code}\n`).join(''));
      const straight = runScript(notebook, {}, dir);
      assert.equal(straight.status, 0, straight.stderr);
      const resultLine = (out: string) => out.split('\n').find((l) => l.startsWith('RESULT '));
      const expected = resultLine(straight.stdout);
      assert.ok(expected, 'the notebook prints a RESULT line');
      assert.equal(runs.map((r) => resultLine(r.stdout)).find((l) => l !== undefined), expected);
    });
  }

  reproduces('imports in step cells (class 1)', [['step:a', 'import math\nimport json as js\nx = 2.0'], ['step:b', "print('RESULT', js.dumps(math.sqrt(x)))"]]);
  reproduces('a custom class changed by a method in a later step (class 2)', [
    ['step:define', 'class Net:\n    def __init__(self):\n        self.w = 0\n    def train(self, n):\n        self.w += n\nnet = Net()'],
    ['step:train', 'net.train(3)'],
    ['step:evaluate', "print('RESULT', net.w)"],
  ]);
  reproduces('models fitted through the loop variable (class 3)', [
    ['step:data', "from sklearn.linear_model import LogisticRegression\nmodels = {'lr': LogisticRegression()}\nX = [[0.0], [1.0], [2.0], [3.0]]\ny = [0, 0, 1, 1]"],
    ['step:train', 'for name, m in models.items():\n    m.fit(X, y)'],
    ['step:evaluate', "print('RESULT', models['lr'].score(X, y))"],
  ]);
  reproduces('a frame changed through an alias (class 4)', [
    ['step:a', "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2]})\nX_df = df"],
    ['step:b', "X_df['b'] = 1"],
    ['step:c', "print('RESULT', df.shape[1])"],
  ]);
  reproduces('frames changed through a container in a loop (class 4, titanic)', [
    ['step:a', "import pandas as pd\ntrain_df = pd.DataFrame({'a': [1]})\ntest_df = pd.DataFrame({'a': [2]})\ndata = [train_df, test_df]"],
    ['step:b', "for d in data:\n    d['x'] = d['a'] * 10"],
    ['step:c', "print('RESULT', list(train_df.columns), int(test_df['x'][0]))"],
  ]);
  reproduces('functions that touch globals (class 5)', [
    ['functions', 'history = []\ndef log(v):\n    history.append(v)\ndef scale(v):\n    return v * factor'],
    ['step:a', 'factor = 3\nlog(3)'],
    ['step:b', 'cnt = 0\ndef bump():\n    global cnt\n    cnt += 1'],
    ['step:c', 'bump()\nlog(scale(2))'],
    ['step:d', "print('RESULT', history, cnt)"],
  ]);
  reproduces('lambdas, closures and functools.partial passed on (class 6)', [
    ['step:a', 'import functools\nk = 3\nadd = lambda v: v + k\ndef outer(n):\n    def inner(v):\n        return v * n\n    return inner\ntwice = outer(2)\npw = functools.partial(pow, 2)'],
    ['step:b', "print('RESULT', add(1), twice(5), pw(3))"],
  ]);
  reproduces('defaults, function attributes and class state survive (class 7)', [
    ['step:a', 'x = 1\ndef f(a=x):\n    return a\nf.calls = 5\nclass C:\n    n = 0\nC.n = 7'],
    ['step:b', 'x = 2'],
    ['step:c', "print('RESULT', f(), f.calls, C.n, x)"],
  ]);
  reproduces('a parameter rebound and functions-cell state changed (class 9)', [
    ['pipeline-parameters', 'p = 1'],
    ['functions', 'registry = []'],
    ['step:a', 'p = p + 10\nregistry.append(p)'],
    ['step:b', "print('RESULT', p, registry)"],
  ]);
  reproduces("Kale's skip keeps the cells after it (class 10)", [
    ['step:a', 'x = 1'],
    ['skip', 'x = 100'],
    ['', 'x = x + 1'],
    ['step:b', "print('RESULT', x)"],
  ]);
});
