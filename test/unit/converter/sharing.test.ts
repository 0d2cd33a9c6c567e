// The alias rules of `python/sharing.ts`: which names an assigned value may share, and what
// that does to the pipeline of the hand-written fidelity cases 04g-04n (their results are
// compared with the notebook's by test/unit/fidelity/cases.test.ts): a value that is provably
// new drops the edge an alias made, a value that may be the same object keeps it.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compileNotebookFile } from '../../../src/converter';
import { PythonAnalyzer } from '../../../src/converter/python';
import { loadCases, writeCaseNotebook } from '../../fidelity/cases';

describe('converter: which objects an assigned value may share', () => {
  let analyzer: PythonAnalyzer;
  before(async () => (analyzer = await PythonAnalyzer.create()));
  // The roots found in the cell itself (calls into notebook functions are decided across cells, below).
  const shares = (code: string) => Object.fromEntries(analyzer.analyzeCell(code, 0).effects.aliases.filter((a) => a.of.length > 0).map((a) => [a.name, [...a.of].sort()]));

  it('new values share nothing: immutable attributes, literals, f-strings, comparisons, arithmetic, len(), known new results', () => {
    for (const code of [
      'y = df.shape[0]', 'k = df.__class__.__name__', 'n = model.coef_.sum()', 'a = df.fillna(0)', 'a = df.fillna(0, inplace=False)',
      "s = f'{cfg}'", 'n = len(lst)', 'b = x == y', 'b = not x', 'a = x / y', 'a = x * 2', 'a = x + 1', 'a = -x', 'a = np.array(b)',
      'names = [str(t) for t in df.dtypes]', 'scores = [m.score(X, y) for m in models]', "d = {'k': df.shape}",
    ]) {
      assert.deepEqual(shares(code), {}, code);
    }
  });

  it('values that may be the same object, a part of it or a view of it are aliases', () => {
    const cases: [string, Record<string, string[]>][] = [
      ['s = cfg.name', { s: ['cfg'] }],
      ['a = df.values', { a: ['df'] }],
      ["a = df['x']", { a: ['df'] }],
      ['a = lst[i]', { a: ['lst'] }],
      ['a = obj.get()', { a: ['obj'] }],
      ['a = d.get(k, fallback)', { a: ['d', 'fallback', 'k'] }],
      ['a = x or y', { a: ['x', 'y'] }],
      ['a = x if cond else y', { a: ['x', 'y'] }],
      ['m2 = model.fit(X, y)', { m2: ['model'] }],
      ['v = df.to_numpy()', { v: ['df'] }],
      ['b = np.asarray(a)', { b: ['a'] }],
      ['b = np.array(a, copy=False)', { b: ['a', 'np'] }],
      ['b = np.mean(a, out=c)', { b: ['a', 'c', 'np'] }],
      ['both = la + lb', { both: ['la', 'lb'] }],
      ['twice = [m] * 3', { twice: ['m'] }],
      ['best = max(models)', { best: ['models'] }],
      ['picked = [m for m in models if m]', { picked: ['models'] }],
      ['flat = [x for row in grid for x in row]', { flat: ['grid'] }],
      ['d2 = {k: v for k, v in d.items()}', { d2: ['d'] }],
      ['pairs = {key: value}', { pairs: ['key', 'value'] }],
    ];
    for (const [code, expected] of cases) assert.deepEqual(shares(code), expected, code);
  });

  it('a plain call or a method call is noted with its arguments (and receiver), for notebook functions that may return them', () => {
    const [alias] = analyzer.analyzeCell('m = make(x, k=y)\nw = box.content(z)', 0).effects.aliases;
    assert.deepEqual({ ...alias, calls: alias?.calls?.map((c) => ({ ...c, of: [...c.of].sort() })) }, { name: 'm', of: [], line: 1, calls: [{ callee: 'make', of: ['x', 'y'] }] });
    assert.deepEqual(analyzer.analyzeCell('w = box.content(z)', 0).effects.aliases[0]?.calls, [{ callee: '.content', of: ['box', 'z'] }]);
    const summary = (code: string) => analyzer.analyzeCell(code, 0).effects.functions[0]?.returnsShared;
    assert.equal(summary('def f(xs):\n    return len(xs) * 2'), undefined);
    assert.equal(summary("def f(y, p):\n    return {'acc': accuracy_score(y, p)}"), undefined);
    assert.equal(summary('def f(rows):\n    return rows[0]'), true);
    assert.equal(summary('def f():\n    d = STATE\n    return d'), true);
  });

  // A view shares memory, not identity: pickled for the next step it and its base are two arrays (FB308).
  const views = (code: string) => Object.fromEntries(
    analyzer.analyzeCell(`import numpy as np\nimport pandas as pd\n${code}`, 0).effects.views.map((v) => [v.name, [...v.of].sort()]),
  );

  it('views: view methods and attributes, slices, pandas indexers, wrapping calls and copy=False', () => {
    const cases: [string, Record<string, string[]>][] = [
      ['v = df.to_numpy()', { v: ['df'] }],
      ['v = df.values', { v: ['df'] }],
      ['v = arr.reshape(2, 3)', { v: ['arr'] }],
      ['v = np.reshape(arr, (2, 3))', { v: ['arr'] }],
      ['v = arr.ravel()', { v: ['arr'] }],
      ['v = arr.T', { v: ['arr'] }],
      ['v = arr[1:3]', { v: ['arr'] }],
      ['v = arr[:, 0]', { v: ['arr'] }],
      ['v = df.iloc[0]', { v: ['df'] }],
      ["v = df.loc[:, 'x']", { v: ['df'] }],
      ['v = np.asarray(df)', { v: ['df'] }],
      ['v = pd.DataFrame(arr)', { v: ['arr'] }],
      ['v = np.array(a, copy=False)', { v: ['a'] }],
      ['v = df.astype(float, copy=False)', { v: ['df', 'float'] }],
      // Views of views, and a subscript that may be a slice (unsure: a view).
      ['v = df.to_numpy()[1:]', { v: ['df'] }],
      ['v = np.asarray(df).T', { v: ['df'] }],
      ['v = arr[i]', { v: ['arr'] }],
      ['v = u = arr[::2]', { v: ['arr'], u: ['arr'] }],
      // Unpacked pairwise; a name paired with a new value is no view.
      ['X, y = a[:, :-1], a[:, -1].copy()', { X: ['a'] }],
      ['(X, y) = df.values, b.T', { X: ['df'], y: ['b'] }],
    ];
    for (const [code, expected] of cases) assert.deepEqual(views(code), expected, code);
  });

  it('not views: identity shares, copies, and values built from displays', () => {
    for (const code of [
      'b = a', "m = models['lr']", 'm = models[0]', 'r = [a, b]', 'r = x or y', 'm2 = model.fit(X, y)', 'b = max(models)',
      'b = next(it)', 'b = random.choice(models)', 'v = df.to_numpy().copy()', 'v = df.to_numpy(copy=True)', 'v = np.array(a)',
      "c = df[['a', 'b']]", 'c = df[df.x > 0]', "d = pd.DataFrame({'x': [1.0]})", 'k = d.values()', 'top = sorted(xs)[:10]',
      'rest = [a, b][1:]', 'n = arr.shape[0]',
    ]) {
      assert.deepEqual(views(code), {}, code);
    }
  });

  it('a name bound by an import in the cell is never a root', () => {
    assert.deepEqual(shares('import numpy as np\nb = np.array(a, copy=False)'), { b: ['a'] });
  });
});

describe('converter: edges of the alias fidelity cases', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-sharing-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const expectations: Record<string, { absent?: string[]; present?: string[] }> = {
    // Dropped: the value is new, so the step changing the other object in place does not take it.
    '04g-shape-read-is-new': { absent: ['size->scale'] },
    '04h-comprehension-of-new-values': { absent: ['names->widen'] },
    '04i-condition-is-not-the-value': { absent: ['pick->flip'] },
    // Kept: the value may be the same object, so the change reaches the original through it.
    '04j-or-is-an-alias': { present: ['grow->report'] },
    '04k-fit-returns-self': { present: ['tune->report'] },
    '04l-asarray-is-the-array': { present: ['write->report'] },
    '04m-list-concatenation-shares-elements': { present: ['grow->report'] },
    '04n-attribute-and-item-aliases': { present: ['grow->report'] },
    '04o-function-returns-argument': { present: ['grow->report'] },
    '04p-function-returns-new-value': { absent: ['count->grow'] },
    // Identity, not a view: loaded with `arrays` from one step, `m` stays the same object.
    '04u-element-identity-survives': { present: ['change->report'] },
  };
  const cases = loadCases().filter((c) => c.name in expectations);

  it('covers every case named here', () => assert.equal(cases.length, Object.keys(expectations).length));

  for (const c of cases) {
    it(`${c.name}: ${c.title}`, async () => {
      const { pipeline, diagnostics } = await compileNotebookFile(writeCaseNotebook(c, dir));
      assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
      const edges = pipeline.edges.map((e) => `${e.from}->${e.to}`);
      const { absent = [], present = [] } = expectations[c.name] ?? {};
      for (const e of absent) assert.ok(!edges.includes(e), `no edge ${e}; edges: ${edges.join(' ')}`);
      for (const e of present) assert.ok(edges.includes(e), `edge ${e}; edges: ${edges.join(' ')}`);
    });
  }
});
