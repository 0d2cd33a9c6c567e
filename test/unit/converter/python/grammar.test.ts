// The grammar's two tree walks: the direct one through web-tree-sitter's wasm binding (fast,
// and what runs here) and the portable one through its `TreeCursor` class (the fallback when a
// web-tree-sitter version no longer exposes the binding). Both must build the same tree and
// find the same first syntax problem, on real code and on broken code.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadGrammar, type PythonGrammar } from '../../../../src/converter/python/grammar';
import { lowerIPython } from '../../../../src/converter/python';
import { codeCells, notebooksUnder, repoRoot } from './support';
import { prng } from '../../../support/prng';

let grammar: PythonGrammar;

before(async () => {
  grammar = await loadGrammar();
});


const SAMPLES = [
  '',
  'x = 1',
  'import numpy as np\nfrom a.b import c as d, e\n',
  'def f(a, b=1, *args, c: int = 2, **kw) -> None:\n    """doc"""\n    return a + b  # comment\n',
  'class C(Base, metaclass=M):\n    x: int = 0\n    def m(self):\n        self.x += 1\n',
  '@dec\nasync def g():\n    async with a as b:\n        await b\n    async for i in it:\n        yield i\n',
  'match p:\n    case Point(x=0, y=y) | [1, *rest] if y:\n        pass\n    case {"k": v, **kw}:\n        pass\n    case _:\n        pass\n',
  'y = [a for a in range(3) if a] + {k: v for k, v in d.items()}\nz = (w := 5) and lambda q, r=1: q + r\n',
  "s = f'{x!r:>{width}} {{lit}}' + rb'\\x00' 'implicit' \"\"\"multi\nline\"\"\"\n",
  'type Alias[T: int, *Ts, **P] = dict[str, T]\ndef h[T](x: T) -> T: ...\n',
  'try:\n    pass\nexcept* (ValueError, TypeError) as e:\n    raise\nelse:\n    pass\nfinally:\n    del a[0], b.c\n',
  'global g\nnonlocal n\nprint >> sys.stderr, "x"\nexec "code"\n',
  'if x:\npass\n',
  'def f(:\n    return [1, 2\n',
  'x = (1,\n     2\n',
  '   indented = 1\nback = 2\n',
  'a = 1; b = 2 \\\n    + 3\n',
  'é = "ünïcødé 😀"\n\u00a0\nx = "\ud800"\n',
];

function randomSource(next: () => number): string {
  const pieces = ['def ', 'class ', 'x', 'y', ' = ', '(', ')', '[', ']', '{', '}', ':', '\n', '    ', 'lambda ', 'for ', ' in ', 'if ', 'else', '"', "'", 'f"{', '#', ',', '.', '*', '**', '@', 'await ', 'match ', 'case ', '0', '😀', '\\'];
  let s = '';
  const n = Math.floor(next() * 50);
  for (let i = 0; i < n; i++) s += pieces[Math.floor(next() * pieces.length)] ?? '';
  return s;
}

function sameParse(code: string): void {
  const fast = grammar.parse(code);
  const portable = grammar.parse(code, true);
  assert.deepEqual(fast, portable, `the two walks differ on ${JSON.stringify(code.slice(0, 200))}`);
}

describe('PythonGrammar', () => {
  it('walks the tree through the wasm binding with the web-tree-sitter Flowbook ships', () => {
    assert.equal(grammar.usesBinding, true, 'the direct walk is not available: parsing falls back to the slower TreeCursor walk');
  });

  it('builds the same tree and finds the same problem through the binding and through TreeCursor', () => {
    for (const code of SAMPLES) sameParse(code);
    const next = prng(7);
    for (let i = 0; i < 300; i++) sameParse(randomSource(next));
  });

  it('agrees with the TreeCursor walk on every cell of the fixture notebooks', () => {
    const files = [
      ...notebooksUnder(path.join(repoRoot, 'test', 'fixtures', 'notebooks')),
      path.join(repoRoot, 'test', 'fixtures', 'python', 'analysis.ipynb'),
    ].filter((f) => fs.existsSync(f));
    assert.ok(files.length > 0, 'no fixture notebooks found');
    for (const file of files) for (const cell of codeCells(file)) sameParse(lowerIPython(cell, 0).code);
  });

  it('gives nodes their 1-based line and column, and field names under the nodes that need them', () => {
    const { root, problem } = grammar.parse('a = 1\nif a:\n    b.c = a\n');
    assert.equal(problem, undefined);
    const assignment = root.children[1]?.children[1]?.children[0]?.children[0];
    assert.equal(assignment?.type, 'assignment');
    assert.deepEqual([assignment?.line, assignment?.column], [3, 5]);
    assert.deepEqual(assignment?.children.map((c) => `${c.type}:${c.field}`), ['attribute:left', 'identifier:right']);
  });
});
