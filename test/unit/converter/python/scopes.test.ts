import * as assert from 'node:assert/strict';
import type { CellAnalysis } from '../../../../src/converter/ir';
import type { PythonAnalyzer } from '../../../../src/converter/python';
import { analyzer, readNames, readPositions } from './support';

let py: PythonAnalyzer;
const run = (source: string): CellAnalysis => py.analyzeCell(source, 0);
const lines = (...l: string[]) => l.join('\n');

before(async () => {
  py = await analyzer();
});

describe('python scopes: assignment', () => {
  it('reads the value before binding the target, first occurrence each', () => {
    const a = run(lines('x = y + 1', 'z = x + y', 'x = x * 2'));
    assert.deepEqual(readPositions(a), ['y@1:5']);
    assert.deepEqual(a.binds, ['x', 'z']);
  });

  it('binds tuple, list and starred targets', () => {
    const a = run(lines('a, *b = c', '[d, (e, f)] = g', '(h) = 1', 'i, = j'));
    assert.deepEqual(readNames(a), ['c', 'g', 'j']);
    assert.deepEqual(a.binds, ['a', 'b', 'd', 'e', 'f', 'h', 'i']);
  });

  it('evaluates a chained assignment value once, then binds every target', () => {
    const a = run('p = q = r = s');
    assert.deepEqual(readNames(a), ['s']);
    assert.deepEqual(a.binds, ['p', 'q', 'r']);
  });

  it('binds an annotated assignment with a value; a bare annotation binds nothing but reads its type', () => {
    const a = run(lines('n: int = m', 'k: Optional[T]', 'print(k)'));
    assert.deepEqual(readNames(a), ['int', 'm', 'Optional', 'T', 'print', 'k']);
    assert.deepEqual(a.binds, ['n']);
  });

  it('augmented assignment reads, then writes, and may mutate', () => {
    const a = run(lines('total += x', 'obj.count += 1', 'arr[i] -= 1', 'fresh = 0', 'fresh += 1'));
    assert.deepEqual(readNames(a), ['total', 'x', 'obj', 'arr', 'i']);
    assert.deepEqual(a.binds, ['total', 'fresh']);
    assert.deepEqual(a.mutates, ['total', 'obj', 'arr', 'fresh']);
  });

  it('a name read only after it is bound is not free', () => {
    assert.deepEqual(readNames(run(lines('a = 1', 'print(a)'))), ['print']);
  });

  it('a name read before a later binding is free', () => {
    const a = run(lines('print(a)', 'a = 1'));
    assert.deepEqual(readNames(a), ['print', 'a']);
    assert.deepEqual(a.binds, ['a']);
  });

  it('reports builtins like any other read', () => {
    assert.deepEqual(readNames(run('n = len(range(3))')), ['len', 'range']);
  });

  it('counts columns in UTF-16 units, 1-based', () => {
    assert.deepEqual(readPositions(run('é = "😀"; ab = é + zz')), ['zz@1:20']);
  });
});

describe('python scopes: statements with targets', () => {
  it('for: iterable first, then the target, then the body and else', () => {
    const a = run(lines('for i, (j, k) in enumerate(rows):', '    acc = i + j + k + base', 'else:', '    done = acc'));
    assert.deepEqual(readNames(a), ['enumerate', 'rows', 'base']);
    assert.deepEqual(a.binds, ['i', 'j', 'k', 'acc', 'done']);
  });

  it('while reads its condition', () => {
    const a = run(lines('while running:', '    step = step + 1'));
    assert.deepEqual(readNames(a), ['running', 'step']);
    assert.deepEqual(a.binds, ['step']);
  });

  it('with: several items, tuple targets, attribute targets', () => {
    const a = run(lines('with open(p) as fh, lock, ctx() as (u, v), other as box.item:', '    data = fh.read()'));
    assert.deepEqual(readNames(a), ['open', 'p', 'lock', 'ctx', 'other', 'box']);
    assert.deepEqual(a.binds, ['fh', 'u', 'v', 'data']);
    assert.deepEqual(a.mutates, ['box', 'fh']); // open() only reads its arguments
  });

  it('except and except* bind their names; the types are read', () => {
    const a = run(lines('try:', '    r = risky()', 'except (KeyError, MyError) as err:', '    r = err', 'except* ValueError as group:', '    pass', 'finally:', '    cleanup()'));
    assert.deepEqual(readNames(a), ['risky', 'KeyError', 'MyError', 'ValueError', 'cleanup']);
    assert.deepEqual(a.binds, ['r', 'err', 'group']);
  });

  it('if/elif/else: a conditional binding counts as a binding', () => {
    const a = run(lines('if flag:', '    v = 1', 'elif other:', '    v = 2', 'print(v)'));
    assert.deepEqual(readNames(a), ['flag', 'other', 'print']);
    assert.deepEqual(a.binds, ['v']);
  });
});

describe('python scopes: walrus', () => {
  it('binds at the top level', () => {
    const a = run(lines('if (n := len(items)) > 3:', '    print(n)'));
    assert.deepEqual(readNames(a), ['len', 'items', 'print']);
    assert.deepEqual(a.binds, ['n']);
  });

  it('inside a comprehension in a function binds in that function, not at top level', () => {
    const a = run(lines('def f():', '    [y := 1 for _ in r]', '    return y', 'print(y)'));
    assert.deepEqual(readNames(a), ['~r', 'print', 'y']);
    assert.deepEqual(a.binds, ['f']);
  });

  it('inside a comprehension binds in the enclosing scope', () => {
    const a = run(lines('hits = [y for x in data if (y := f(x))]', 'print(y)'));
    assert.deepEqual(readNames(a), ['data', 'f', 'print']);
    assert.deepEqual(a.binds, ['y', 'hits']);
  });
});

describe('python scopes: imports', () => {
  it('binds the top-level package, the alias, or the imported name', () => {
    const a = run(lines('import os.path', 'import numpy as np, json', 'from sklearn.linear_model import LinearRegression as LR, Ridge', 'from . import sibling', 'from ..pkg.mod import thing'));
    assert.deepEqual(a.binds, ['os', 'np', 'json', 'LR', 'Ridge', 'sibling', 'thing']);
    assert.deepEqual(a.imports, [
      { module: 'os', line: 1, absolute: true },
      { module: 'numpy', line: 2, absolute: true },
      { module: 'json', line: 2, absolute: true },
      { module: 'sklearn', line: 3, absolute: true },
      { module: '', line: 4, absolute: false },
      { module: 'pkg', line: 5, absolute: false },
    ]);
    assert.deepEqual(a.reads, []);
  });

  it('lists imports anywhere in the cell, but binds only top-level ones', () => {
    const a = run(lines('try:', '    import ujson as json', 'except ImportError:', '    import json', 'def load():', '    import yaml', '    return yaml'));
    assert.deepEqual(a.imports.map((i) => `${i.module}@${i.line}`), ['ujson@2', 'json@4', 'yaml@6']);
    assert.deepEqual(a.binds, ['json', 'load']);
    assert.deepEqual(readNames(a), ['ImportError']);
  });

  it('records star imports and __future__ imports', () => {
    const a = run(lines('from __future__ import annotations', 'from os.path import *', 'from .local import *'));
    assert.deepEqual(a.starImports, ['os.path', '.local']);
    assert.deepEqual(a.imports.map((i) => i.module), ['__future__', 'os', 'local']);
    assert.deepEqual(a.imports.map((i) => i.absolute), [true, true, false]);
  });
});

describe('python scopes: functions', () => {
  it('decorators, defaults and annotations are read at def time; the body is deferred', () => {
    const a = run(lines('@register(app)', 'def f(a: Tensor, b=default, *args: Any, c, d=2, **kw) -> Result:', '    return a + helper(b) + args[0] + kw[c]'));
    assert.deepEqual(readNames(a), ['register', 'app', 'Tensor', 'default', 'Any', 'Result', '~helper']);
    assert.deepEqual(a.binds, ['f']);
  });

  it('a deferred read is dropped when the cell binds the name anywhere at top level, even later', () => {
    const a = run(lines('def f():', '    return g() + model + other', 'def g():', '    return 1', 'model = load()'));
    assert.deepEqual(readNames(a), ['~other', 'load']);
    assert.deepEqual(a.binds, ['f', 'g', 'model']);
  });

  it('an immediate read wins over a deferred one for the same name', () => {
    const a = run(lines('def f():', '    return cfg', 'print(cfg)'));
    assert.deepEqual(readPositions(a), ['print@3:1', 'cfg@3:7']);
  });

  it('local names (parameters, assignments, loop targets, imports) never escape', () => {
    const a = run(lines('def f(x):', '    y = x', '    for i in y: pass', '    import math', '    return math.pi + i + y', 'async def g(q):', '    async for item in q:', '        await item'));
    assert.deepEqual(readNames(a), []);
    assert.deepEqual(a.binds, ['f', 'g']);
  });

  it('nested functions see enclosing locals; nonlocal refers to them', () => {
    const a = run(lines('def outer():', '    count = 0', '    def inner():', '        nonlocal count', '        count += step', '        return count', '    return inner'));
    assert.deepEqual(readNames(a), ['~step']);
    assert.deepEqual(a.binds, ['outer']);
  });

  it('global in a function: the assignment binds the module name and covers later reads', () => {
    const a = run(lines('def init():', '    global model, cache', '    model = build()', '    return cache', 'init()', 'model.predict(x)'));
    assert.deepEqual(readNames(a), ['~build', '~cache', 'x']);
    assert.deepEqual(a.binds, ['init', 'model']);
  });

  it('a read before the function that assigns the global still counts', () => {
    const a = run(lines('print(model)', 'def init():', '    global model', '    model = 1'));
    assert.deepEqual(readNames(a), ['print', 'model']);
  });

  it('mutations inside function bodies are not top-level mutations', () => {
    const a = run(lines('def f():', '    data.append(1)', '    frame.x = 2'));
    assert.deepEqual(a.mutates, []);
    assert.deepEqual(readNames(a), ['~data', '~frame']);
  });

  it('recursion: the function name read in its own body is bound at top level', () => {
    const a = run(lines('def fact(n):', '    return 1 if n < 2 else n * fact(n - 1)'));
    assert.deepEqual(a.reads, []);
  });
});

describe('python scopes: classes', () => {
  it('the body runs at once; methods are deferred and do not see class names', () => {
    const a = run(lines('@dataclass', 'class Model(Base, metaclass=Meta):', '    size = default_size', '    scale = size * 2', '    def fit(self):', '        return size + self.scale + helper()'));
    assert.deepEqual(readNames(a), ['dataclass', 'Base', 'Meta', 'default_size', '~size', '~helper']);
    assert.deepEqual(a.binds, ['Model']);
  });

  it('class-level names do not leak to the module', () => {
    const a = run(lines('class C:', '    attr = 1', 'print(attr)'));
    assert.deepEqual(readNames(a), ['print', 'attr']);
    assert.deepEqual(a.binds, ['C']);
  });

  it('a comprehension in a class body sees class names only in its first iterable', () => {
    const a = run(lines('class C:', '    xs = [1, 2]', '    k = 3', '    ys = [x * k for x in xs]'));
    assert.deepEqual(readNames(a), ['k']);
  });

  it('x = x in a class body reads the module x; a lambda in the body does not see class names', () => {
    const a = run(lines('class K:', '    v = v', '    k = 1', '    g = lambda: k', '    def m(self, a=k): return a'));
    assert.deepEqual(readPositions(a), ['v@2:9', 'k@4:17']);
  });

  it('decorated methods: decorators run with the class body', () => {
    const a = run(lines('class C:', '    @cached(maxsize)', '    def m(self): return 1'));
    assert.deepEqual(readNames(a), ['cached', 'maxsize']);
  });
});

describe('python scopes: comprehensions', () => {
  it('targets are local; the first iterable is read in the enclosing scope', () => {
    const a = run(lines('squares = [x * x for x in nums if x > lo]', 'print(x)'));
    assert.deepEqual(readNames(a), ['nums', 'lo', 'print', 'x']);
    assert.deepEqual(a.binds, ['squares']);
  });

  it('nested for clauses see earlier targets', () => {
    const a = run('flat = [c for row in grid for c in row if c]');
    assert.deepEqual(readNames(a), ['grid']);
  });

  it('dict, set and generator comprehensions, async comprehensions', () => {
    const a = run(lines('d = {k: v for k, v in pairs}', 's = {w for w in words}', 'g = sum(n for n in ns)', 'r = [i async for i in stream]'));
    assert.deepEqual(readNames(a), ['pairs', 'words', 'sum', 'ns', 'stream']);
    assert.deepEqual(a.binds, ['d', 's', 'g', 'r']);
  });

  it('reports the earliest position of a free name used in the body and the iterable', () => {
    assert.deepEqual(readPositions(run('[x + a for x in a]')), ['a@1:6']);
  });
});

describe('python scopes: lambdas', () => {
  it('parameters are local; free names and defaults are immediate reads', () => {
    const a = run(lines('f = lambda a, b=dflt, *rest, **kw: a + b + offset + len(rest)', 'df.apply(lambda row: row[col])'));
    assert.deepEqual(readNames(a), ['dflt', 'offset', 'len', 'df', 'col']);
    assert.deepEqual(a.binds, ['f']);
  });

  it('a lambda inside a function is deferred with it', () => {
    assert.deepEqual(readNames(run(lines('def f():', '    return lambda: scale'))), ['~scale']);
  });
});

describe('python scopes: match', () => {
  it('captures bind, class and dotted value patterns are read, guards are read', () => {
    const a = run(lines(
      'match command:',
      '    case Point(x=0, y=yy) as pt if yy > limit:',
      '        pass',
      '    case [first, *others]:',
      '        pass',
      '    case {"key": value, **extra}:',
      '        pass',
      '    case Color.RED | Color.GREEN:',
      '        pass',
      '    case str() | None:',
      '        pass',
      '    case _:',
      '        fallback = command',
    ));
    assert.deepEqual(readNames(a), ['command', 'Point', 'limit', 'Color', 'str']);
    assert.deepEqual(a.binds, ['yy', 'pt', 'first', 'others', 'value', 'extra', 'fallback']);
  });
});

describe('python scopes: async, f-strings, type hints', () => {
  it('top-level await and async with/for', () => {
    const a = run(lines('async with session() as s:', '    result = await s.get(url)', 'async for chunk in result:', '    await sink(chunk)'));
    assert.deepEqual(readNames(a), ['session', 'url', 'sink']);
    assert.deepEqual(a.binds, ['s', 'result', 'chunk']);
  });

  it('f-strings: fields, conversions, nested format specs and nested f-strings', () => {
    const a = run(`msg = f"{value!r:>{width}} {table[f'{key}']} {n=}"`);
    assert.deepEqual(readNames(a), ['value', 'width', 'table', 'key', 'n']);
  });

  it('PEP 695: type parameters are local; alias values and bounds are lazy', () => {
    const a = run(lines('type Pair[T] = tuple[T, Other]', 'def first[T: Bound, *Ts, **P](xs: list[T]) -> T:', '    return xs[0]', 'class Box[T](Generic[T]):', '    item: T'));
    assert.deepEqual(readNames(a), ['~tuple', '~Other', '~Bound', 'list', 'Generic']);
    assert.deepEqual(a.binds, ['Pair', 'first', 'Box']);
  });

  it('annotations with attributes and unions read the root names only', () => {
    const a = run('def f(a: np.ndarray | None, b: "Fwd" = 1) -> pd.DataFrame: pass');
    assert.deepEqual(readNames(a), ['np', 'pd']);
  });
});

describe('python scopes: del and mutation', () => {
  it('del x deletes (and reads) a name; del x[i] and del x.a mutate', () => {
    const a = run(lines('x = 1', 'del x', 'del y', 'del frame["col"], obj.attr'));
    assert.deepEqual(a.deletes, ['x', 'y']);
    assert.deepEqual(readNames(a), ['y', 'frame', 'obj']);
    assert.deepEqual(a.mutates, ['frame', 'obj']);
  });

  it('attribute and subscript assignment mutate the root name', () => {
    const a = run(lines('cfg.opts.debug = True', 'table[0][1] = 2', 'get()[0] = 1'));
    assert.deepEqual(a.mutates, ['cfg', 'table']);
    assert.deepEqual(a.binds, []);
  });

  it('method calls on a name or its attributes mutate it', () => {
    const a = run(lines('df.dropna(inplace=True)', 'model.layers.append(layer)', 'frame.groupby("k").apply_changes()', 'fn(3)'));
    assert.deepEqual(a.mutates, ['df', 'model', 'frame']);
    // `layer`, passed to `model.layers.append`, is an argument the pipeline builder decides on.
    assert.deepEqual(a.effects.calls.find((c) => c.callee === 'append')?.args, [{ name: 'layer' }]);
  });

  it('calls known to only read do not mutate, unless they pass inplace=True', () => {
    const a = run(lines('print(df)', 'df.head()', 'n = len(xs)', 'm = np.mean(arr)', 'model.fit(X, y)', 'table.groupby("k").mean()', 'frame.sort_values("a", inplace=True)'));
    assert.deepEqual(a.mutates, ['model', 'frame']);
  });

  it('a method call may change its receiver; its arguments are recorded with the receiver for the pipeline to decide', () => {
    const a = run(lines('trainer.train(model, data=ds.train, *extra, **opts)', 'ops.update(frame["col"])', 'fns[0](table)'));
    assert.deepEqual(a.mutates, ['trainer', 'ops', 'table']);
    assert.deepEqual(a.effects.calls.map((c) => [c.callee, c.receiver?.name, c.args.map((r) => r?.name ?? null), Object.keys(c.keywords), c.splat.map((r) => r?.name)]), [
      ['train', 'trainer', ['model'], ['data'], ['extra', 'opts']],
      ['update', 'ops', ['frame'], [], []],
    ]);
  });

  it('a call of a plain name is recorded with its argument roots, for the callee summary to decide', () => {
    const a = run(lines('train(model, data=ds.train, *extra, **opts)', 'update(frame["col"])', 'f(1 + n)', 'len(xs)'));
    assert.deepEqual(a.mutates, []);
    assert.deepEqual(a.effects.calls.map((c) => [c.callee, c.args.map((r) => r?.name ?? null), Object.keys(c.keywords), c.splat.map((r) => r?.name)]), [
      ['train', ['model'], ['data'], ['extra', 'opts']],
      ['update', ['frame'], [], []],
      ['f', [null], [], []],
      ['len', [], [], []],
    ]);
  });

  it('names imported in the cell are not mutated by method calls or arguments', () => {
    const a = run(lines('import numpy as np', 'np.random.seed(1)', 'plt.subplots_adjust(np)', 'from os import path', 'path.normpath(a)'));
    assert.deepEqual(a.mutates, ['plt']);
    assert.deepEqual(a.effects.calls.find((c) => c.callee === 'normpath'), { callee: 'normpath', method: true, receiver: { name: 'path' }, line: 5, args: [{ name: 'a' }], keywords: {}, splat: [] });
  });

  it('a name rebound after its import is data again', () => {
    const a = run(lines('import pandas as frame', 'frame = frame.DataFrame()', 'frame.dropna(inplace=True)'));
    assert.deepEqual(a.mutates, ['frame']);
  });

  it('names local to a comprehension or lambda are not module mutations', () => {
    const a = run(lines('[acc.append(v) for v in vals]', 'f = lambda q: q.pop()'));
    assert.deepEqual(a.mutates, ['acc']);
  });
});

describe('python scopes: definitions', () => {
  it('top-level def/class with exact source (decorators included), kind, line and free names', () => {
    const source = lines(
      'import math',
      'RATE = 0.1',
      '',
      '@memo',
      'async def score(x, w=weights):',
      '    return math.exp(x * RATE) + bias',
      '',
      'class Net(Base):',
      '    depth = layers',
      '    def forward(self, t):',
      '        return act(t) + Net.depth',
    );
    const a = run(source);
    assert.deepEqual(a.definitions, [
      {
        name: 'score',
        kind: 'function',
        source: lines('@memo', 'async def score(x, w=weights):', '    return math.exp(x * RATE) + bias'),
        freeNames: ['memo', 'weights', 'math', 'RATE', 'bias'],
        line: 4,
      },
      {
        name: 'Net',
        kind: 'class',
        source: lines('class Net(Base):', '    depth = layers', '    def forward(self, t):', '        return act(t) + Net.depth'),
        freeNames: ['Base', 'layers', 'act'],
        line: 8,
      },
    ]);
  });

  it('a definition inside a top-level if/try is dedented; methods and nested defs are not listed', () => {
    const a = run(lines('try:', '    def f(a):', '        def g(): return a', '        return g', 'except Exception:', '    pass'));
    assert.deepEqual(a.definitions.map((d) => [d.name, d.source, d.line]), [['f', lines('def f(a):', '    def g(): return a', '    return g'), 2]]);
  });

  it('a function that assigns a global does not list it as free', () => {
    const a = run(lines('def setup():', '    global conn', '    conn = connect(url)'));
    assert.deepEqual(a.definitions[0]?.freeNames, ['connect', 'url']);
  });
});

describe('python scopes: syntax errors and robustness', () => {
  it('reports the first error as FB202 with line and column, and still analyses the rest', () => {
    const a = run(lines('a = load(path)', 'b = (a +', 'c = a * 2'));
    const errors = a.diagnostics.filter((d) => d.code === 'FB202');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.severity, 'error');
    assert.equal(errors[0]?.line, 2);
    assert.match(errors[0]?.message ?? '', /^Python syntax error on line 2, column \d+: /);
    assert.ok(a.binds.includes('a'));
    assert.ok(readNames(a).includes('load'));
  });

  it('names the missing token when the grammar inserts one', () => {
    const a = run('def f(:\n    pass');
    const error = a.diagnostics.find((d) => d.code === 'FB202');
    assert.match(error?.message ?? '', /missing `\)`/);
  });

  it('reports Python 2 print statements', () => {
    const a = run('print "hello"');
    assert.match(a.diagnostics.find((d) => d.code === 'FB202')?.message ?? '', /Python 2 `print` statement/);
  });

  it('reports indentation errors the grammar tolerates', () => {
    const cases: [string, number, RegExp][] = [
      ['  x = 1', 1, /unexpected indent/],
      ['for i in r:\nprint(i)', 1, /expected an indented block/],
      ['if a:\n    x = 1\n        y = 2', 3, /unexpected indent/],
    ];
    for (const [source, line, message] of cases) {
      const error = run(source).diagnostics.find((d) => d.code === 'FB202');
      assert.equal(error?.line, line, source);
      assert.match(error?.message ?? '', message, source);
    }
  });

  it('valid code has no diagnostics', () => {
    const a = run(lines('x = 1; y = 2', 'if x: y = 3', 'def f():', '    return (1,', '            2)'));
    assert.deepEqual(a.diagnostics, []);
  });

  it('handles very deep nesting without overflowing the stack', () => {
    const deep = `v = ${'('.repeat(3000)}w${')'.repeat(3000)}`;
    assert.deepEqual(readNames(run(deep)), ['w']);
    const long = `s = ${Array.from({ length: 20000 }, (_, i) => `a${i % 7}`).join(' + ')}`;
    assert.deepEqual(readNames(run(long)), ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6']);
  });
});
