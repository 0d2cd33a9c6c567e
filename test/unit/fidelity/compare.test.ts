// The comparer behind `flowbook verify` (src/verify/python.ts), rule by rule: each pair of
// Python values is compared in one process and the first difference's path is checked.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COMPARE_SOURCE } from '../../../src/verify/python';
import { PYTHON } from '../../fidelity/judge';

const X_Y = 'from sklearn.linear_model import LogisticRegression\nfrom sklearn.tree import DecisionTreeClassifier\nX = np.array([[0.0], [1.0], [2.0], [3.0]])\ny = np.array([0, 0, 1, 1])';
const OBJ = 'class Box:\n    def __init__(self, w):\n        self.w = w';
/** [what, setup code, expected value, got value, the path of the first difference or null when equal]. */
const PAIRS: [string, string, string, string, string | null][] = [
  ['equal frames', '', "pd.DataFrame({'a': [1, 2], 'b': ['x', 'y']})", "pd.DataFrame({'a': [1, 2], 'b': ['x', 'y']})", null],
  ['frames with NaN in the same place', '', "pd.DataFrame({'a': [1.0, np.nan]})", "pd.DataFrame({'a': [1.0, np.nan]})", null],
  ['a frame column of another dtype', '', "pd.DataFrame({'a': [1, 2]})", "pd.DataFrame({'a': [1.0, 2.0]})", "v['a'].dtype"],
  ['a frame with one other value', '', "pd.DataFrame({'a': [1, 2, 3]})", "pd.DataFrame({'a': [1, 5, 3]})", "v['a'].iloc[1]"],
  ['a frame with another column', '', "pd.DataFrame({'a': [1]})", "pd.DataFrame({'a': [1], 'b': [2]})", 'v'],
  ['a Series of another name', '', "pd.Series([1, 2], name='x')", "pd.Series([1, 2], name='y')", 'v.name'],
  ['arrays with NaN in the same place', '', 'np.array([1.0, np.nan])', 'np.array([1.0, np.nan])', null],
  ['arrays with one other element', '', 'np.arange(6).reshape(2, 3)', 'np.array([[0, 1, 2], [3, 9, 5]])', 'v[1, 1]'],
  ['arrays of another dtype', '', 'np.zeros(2, dtype=np.float32)', 'np.zeros(2)', 'v'],
  ['floats compare exactly', '', '0.1 + 0.2', '0.3', 'v'],
  ['NaN equals NaN', '', "float('nan')", "float('nan')", null],
  ['int and float are different types', '', '1', '1.0', 'v'],
  ['an unfitted estimator against a fitted one', X_Y, 'LogisticRegression()', 'LogisticRegression().fit(X, y)', 'v'],
  ['estimators fitted alike', X_Y, 'LogisticRegression().fit(X, y)', 'LogisticRegression().fit(X, y)', null],
  ['estimators with another parameter', X_Y, 'LogisticRegression(C=1.0).fit(X, y)', 'LogisticRegression(C=2.0).fit(X, y)', 'v.C'],
  ['fitted trees (extension types without equality)', X_Y, 'DecisionTreeClassifier(max_depth=1).fit(X, y)', 'DecisionTreeClassifier(max_depth=2).fit(X, y)', 'v.max_depth'],
  ['dicts with keys in another order', '', "{'a': 1, 'b': 2}", "{'b': 2, 'a': 1}", 'v keys'],
  ['nested containers', '', "{'k': [1, (2, [3])]}", "{'k': [1, (2, [4])]}", "v['k'][1][1][0]"],
  ['instances of a notebook class that cloudpickle rebuilt under the module name types', OBJ + '\nclass Rebuilt(Box):\n    pass\nRebuilt.__qualname__ = Box.__qualname__\nRebuilt.__name__ = "Box"\nRebuilt.__module__ = "types"', 'Box(1)', 'Rebuilt(1)', null],
  ['objects by their attributes', OBJ, 'Box(1)', 'Box(2)', 'v.w'],
  ['functions by their defaults', 'def f(a=1): return a\ndef g(a=2): return a\ng.__qualname__ = f.__qualname__', 'f', 'g', 'v.__defaults__[0]'],
  ['functions by their attributes', 'def f(): pass\nf.calls = 1\ndef g(): pass\ng.__qualname__ = f.__qualname__\ng.calls = 2', 'f', 'g', "v.__dict__['calls']"],
  ['classes alike, one of them pickled once (pickling caches __slotnames__)', 'import copyreg\nclass A: level = 1\nclass B: level = 1\nB.__qualname__ = A.__qualname__\ncopyreg._slotnames(A)', 'A', 'B', null],
  ['classes by their attributes', 'class A: level = 1\nclass B: level = 2\nB.__qualname__ = A.__qualname__', 'A', 'B', 'v.level'],
  ['self-referencing lists', 'a = [1]\na.append(a)\nb = [1]\nb.append(b)', 'a', 'b', null],
  ['random states', 'r1 = np.random.RandomState(1)\nr2 = np.random.RandomState(1)\nr2.rand()', 'r1', 'r2', "v.get_state()['state']['key'][0]"],
];

describe('verify: comparing values (one rule per kind)', function () {
  this.timeout(60_000);
  let results: (string | null)[] = [];
  before(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-compare-'));
    try {
      fs.writeFileSync(path.join(dir, 'flowbook_compare.py'), COMPARE_SOURCE);
      const body = PAIRS.map(([, setup, a, b]) => `def case():\n${indent(`import numpy as np\nimport pandas as pd\n${setup}\nreturn (${a}), (${b})`)}\nx, y = case()\nd = flowbook_compare._Compare().diff(x, y, 'v')\nout.append(None if d is None else d[0])`).join('\n');
      const script = `import json, sys\nsys.path.insert(0, ${JSON.stringify(dir)})\nimport flowbook_compare\nout = []\n${body}\nprint(json.dumps(out))\n`;
      const r = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      results = JSON.parse(r.stdout) as (string | null)[];
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  PAIRS.forEach(([what, , , , expected], i) => {
    it(`${what}: ${expected === null ? 'equal' : `first difference at ${expected}`}`, () => {
      assert.equal(results[i], expected);
    });
  });
});

function indent(code: string): string {
  return code.split('\n').map((l) => `    ${l}`).join('\n');
}
