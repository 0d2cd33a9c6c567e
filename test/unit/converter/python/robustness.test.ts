// Robustness and cross-checks of the Python analysis: seeded random and mutated sources never
// throw and keep their line count; on real notebooks (our fixture, and ../shared/corpus when
// present) the analysis agrees with CPython on which cells have syntax errors and with
// pyflakes on which names a cell uses without defining them.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CellAnalysis } from '../../../../src/converter/ir';
import { lowerIPython, PYTHON_BUILTINS, type PythonAnalyzer } from '../../../../src/converter/python';
import { analyzer, codeCells, lineCount, notebooksUnder, repoRoot, sharedDir } from './support';
import { prng } from '../../../support/prng';

let py: PythonAnalyzer;

before(async () => {
  py = await analyzer();
});


const PIECES = [
  '%', '%%', '!', '?', '??', '{', '}', '(', ')', '[', ']', '"', "'", '"""', "'''", '\\', '\n', '\r\n', '\r', '\t', '    ', ' ', '#',
  ':', '=', ':=', '.', ',', '*', '**', '@', 'def ', 'class ', 'lambda ', 'for ', ' in ', 'if ', 'else', 'match ', 'case ',
  'import ', 'from ', 'global ', 'nonlocal ', 'del ', 'async ', 'await ', 'yield ', 'return ', 'with ', ' as ', 'try:', 'except* ',
  'type ', 'pip install ', '%%bash', '%%writefile f', '%matplotlib', '!ls {x}', 'f"{', 'rb', 'x', 'y', 'df', '0', '1.5e3', '_',
  'é', '😀', '\u200b', '\u2028', '\u0000', '\ud800', '\udfff', 'ﷺ', '\u202e', 'Ω',
];

function randomSource(next: () => number): string {
  const n = Math.floor(next() * 60);
  let s = '';
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(next() * PIECES.length)] ?? '';
  return s;
}

function mutate(source: string, next: () => number): string {
  let s = source;
  const edits = 1 + Math.floor(next() * 4);
  for (let k = 0; k < edits; k++) {
    const at = Math.floor(next() * (s.length + 1));
    const choice = next();
    if (choice < 0.3) s = s.slice(0, at); // truncated
    else if (choice < 0.6) s = s.slice(0, at) + (PIECES[Math.floor(next() * PIECES.length)] ?? '') + s.slice(at);
    else if (choice < 0.8) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(next() * 10));
    else s = s.slice(0, at) + s.slice(0, at) + s.slice(at);
  }
  return s;
}

/** Checks the invariants every analysis must hold, whatever the input. */
function checkInvariants(source: string, a: CellAnalysis, cell: number): void {
  const where = JSON.stringify(source.slice(0, 200));
  assert.equal(lineCount(a.code), lineCount(source), `line count changed for ${where}`);
  const lines = lineCount(a.code);
  for (const r of a.reads) {
    assert.ok(r.line >= 1 && r.line <= lines && r.column >= 1, `bad position ${JSON.stringify(r)} for ${where}`);
  }
  for (const d of a.diagnostics) {
    assert.equal(d.cell, cell, `diagnostic without cell for ${where}`);
    assert.ok(d.message.length > 0);
  }
  for (const p of a.pip) assert.equal(p.cell, cell);
}

const fixtureNotebook = path.join(repoRoot, 'test', 'fixtures', 'python', 'analysis.ipynb');

describe('python analysis robustness', () => {
  it('random, garbage, unicode and truncated sources never throw and keep their lines', () => {
    const next = prng(20240611);
    const seeds = codeCells(fixtureNotebook);
    for (let i = 0; i < 3000; i++) {
      const base = seeds[i % seeds.length] ?? '';
      const source = i % 2 === 0 ? randomSource(next) : mutate(base, next);
      const a = py.analyzeCell(source, i);
      checkInvariants(source, a, i);
      assert.equal(lineCount(lowerIPython(source, i).code), lineCount(source));
      py.parseParameters(source, i);
      py.parseMetrics(source, i);
    }
  });

  it('every cell of the fixture notebook analyses with its lines preserved', () => {
    const cells = codeCells(fixtureNotebook);
    assert.equal(cells.length, 12);
    cells.forEach((source, i) => checkInvariants(source, py.analyzeCell(source, i), i));
    const errors = cells.map((s, i) => py.analyzeCell(s, i).diagnostics.filter((d) => d.code === 'FB202').length);
    assert.deepEqual(errors, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });
});

// ---------------------------------------------------------------------------
// Cross-checks with CPython and pyflakes

const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function pythonHas(module: string): boolean {
  return spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

/** For each code, whether CPython's parser rejects it (top-level await allowed, as in IPython). */
function cpythonSyntaxErrors(codes: string[]): boolean[] {
  const script = [
    'import ast, json, sys',
    'codes = json.load(open(sys.argv[1], encoding="utf-8"))',
    'out = []',
    'for c in codes:',
    '    try:',
    '        compile(c, "cell", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)',
    '        out.append(False)',
    '    except (SyntaxError, ValueError):',
    '        out.append(True)',
    'print(json.dumps(out))',
  ].join('\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-py-'));
  try {
    const input = path.join(dir, 'codes.json');
    fs.writeFileSync(input, JSON.stringify(codes));
    return JSON.parse(execFileSync(PYTHON, ['-c', script, input], { encoding: 'utf8', maxBuffer: 1 << 26 })) as boolean[];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** pyflakes' undefined names per code (builtins removed), or undefined for codes pyflakes could not parse. */
function pyflakesUndefined(codes: string[]): (Set<string> | undefined)[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-pyflakes-'));
  try {
    codes.forEach((c, i) => fs.writeFileSync(path.join(dir, `c${i}.py`), c));
    const run = spawnSync(PYTHON, ['-m', 'pyflakes', dir], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const result: (Set<string> | undefined)[] = codes.map(() => new Set<string>());
    for (const line of `${run.stdout}\n${run.stderr}`.split('\n')) {
      const m = /[/\\]c(\d+)\.py:\d+:(?:\d+:)? (.*)$/.exec(line);
      if (!m) continue;
      const i = Number(m[1]);
      const undefinedName = /^undefined name '([^']+)'/.exec(m[2] as string);
      if (undefinedName) result[i]?.add(undefinedName[1] as string);
      else if (/syntax|invalid|unexpected|expected|indent|outside function/i.test(m[2] as string)) result[i] = undefined;
    }
    return result.map((s) => s && new Set([...s].filter((n) => !PYTHON_BUILTINS.has(n))));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function ourFreeNames(a: CellAnalysis): Set<string> {
  return new Set(a.reads.map((r) => r.name).filter((n) => !PYTHON_BUILTINS.has(n)));
}

/** Runs both cross-checks over `cells` (sources), naming `label` in failures. */
function crossCheck(label: string, cells: string[]): void {
  const analyses = cells.map((s, i) => py.analyzeCell(s, i));
  if (spawnSync(PYTHON, ['-c', 'pass'], { stdio: 'ignore' }).status !== 0) {
    console.log(`    ${PYTHON} is not available: CPython and pyflakes cross-checks skipped (scripts/setup.sh installs python3)`);
    return;
  }
  const syntax = cpythonSyntaxErrors(analyses.map((a) => a.code));
  analyses.forEach((a, i) => {
    const ours = a.diagnostics.some((d) => d.code === 'FB202');
    assert.equal(ours, syntax[i], `${label} cell ${i}: FB202 ${ours ? 'reported' : 'missed'}; CPython says ${syntax[i] ? 'error' : 'ok'}:\n${a.code}`);
  });
  if (!pythonHas('pyflakes')) {
    console.log(`    pyflakes is not installed for ${PYTHON}: free-name cross-check skipped (scripts/setup.sh installs python3-pyflakes)`);
    return;
  }
  const theirs = pyflakesUndefined(analyses.map((a) => a.code));
  let compared = 0;
  analyses.forEach((a, i) => {
    const expected = theirs[i];
    if (!expected || syntax[i]) return; // pyflakes stops at syntax errors
    compared++;
    assert.deepEqual([...ourFreeNames(a)].sort(), [...expected].sort(), `${label} cell ${i}: free names differ from pyflakes:\n${a.code}`);
  });
  assert.ok(compared > 0);
}

describe('python analysis cross-checks', function () {
  this.timeout(120000);

  it('agrees with CPython (syntax errors) and pyflakes (free names) on the fixture notebook', () => {
    crossCheck('fixture', codeCells(fixtureNotebook));
  });

  it('every code cell of every ../shared/corpus notebook: no throw, same line count, agrees with CPython and pyflakes', () => {
    const shared = sharedDir();
    if (!shared) {
      console.log('    shared/ absent: corpus check not run; the fixture notebook above covers the same checks');
      return;
    }
    const notebooks = notebooksUnder(path.join(shared, 'corpus'));
    assert.ok(notebooks.length > 0, 'no notebooks in shared/corpus');
    const all: string[] = [];
    for (const file of notebooks) {
      const cells = codeCells(file);
      cells.forEach((source, i) => checkInvariants(source, py.analyzeCell(source, i), i));
      all.push(...cells);
    }
    crossCheck('corpus', all);
  });
});
