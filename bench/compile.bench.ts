// Compiler benchmark (issue: converter core). Prints times as ratios against floors
// measured in the same run:
//   - a node process that only reads and JSON.parses the notebook (target: within 6x),
//   - `python3 -m pyflakes` on the same code, the analysis Kale runs (target: faster),
// for a generated 2,000-cell notebook (12,000 lines, 200 steps) and the largest corpus
// notebook, plus incremental re-analysis of one edited cell in a 300-cell notebook.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Compiler, parseNotebook } from '../src/converter';

const REPO = path.resolve(__dirname, '..', '..');
const CLI = path.join(REPO, 'bin', 'flowbook.js');
const SHARED = path.resolve(REPO, '..', 'shared');

/** A notebook of `steps` steps with `cellsPerStep` cells of 6 lines, each reading values of earlier steps. */
export function generateNotebook(steps: number, cellsPerStep: number): string {
  const cells: unknown[] = [
    { cell_type: 'code', metadata: { tags: ['imports'] }, source: 'import math\nimport json\n', outputs: [], execution_count: null },
    { cell_type: 'code', metadata: { tags: ['pipeline-parameters'] }, source: 'scale = 2\nname = "bench"\n', outputs: [], execution_count: null },
  ];
  for (let s = 0; s < steps; s++) {
    for (let c = 0; c < cellsPerStep; c++) {
      const lines = [
        `v_${s}_${c} = [i * scale for i in range(${c + 3})]`,
        s > 0 ? `w_${s}_${c} = sum(v_${s - 1}_${c}) + len(v_${s}_${c})` : `w_${s}_${c} = len(v_${s}_${c})`,
        `def f_${s}_${c}(x, k=${c}):`,
        `    return math.sqrt(abs(x)) + k`,
        `r_${s}_${c} = {"a": f_${s}_${c}(w_${s}_${c}), "b": [y for y in v_${s}_${c} if y > ${c}]}`,
        s > 1 ? `t_${s}_${c} = r_${s - 2}_${c}["a"] if r_${s}_${c} else None` : `t_${s}_${c} = None`,
      ];
      cells.push({ cell_type: 'code', metadata: c === 0 ? { tags: [`step:s${s}`] } : {}, source: lines.join('\n') + '\n', outputs: [], execution_count: null });
    }
  }
  return JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells }, null, 1);
}

function timeProcess(cmd: string, args: string[], runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.error) throw r.error;
  }
  return median(times);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function codeOf(notebookText: string): string {
  const nb = JSON.parse(notebookText) as { cells: { cell_type: string; source: string | string[] }[] };
  return nb.cells.filter((c) => c.cell_type === 'code')
    .map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source))
    .map((s) => s.split('\n').map((l) => (/^\s*[!%]/.test(l) ? l.replace(/[!%].*/, 'pass') : l)).join('\n'))
    .join('\n\n');
}

function hasPyflakes(): boolean {
  return spawnSync('/usr/bin/python3', ['-m', 'pyflakes', '--version']).status === 0;
}

function benchFile(label: string, file: string, runs: number): void {
  const text = fs.readFileSync(file, 'utf8');
  const parseOnly = path.join(os.tmpdir(), 'flowbook-bench-parse.js');
  fs.writeFileSync(parseOnly, `JSON.parse(require('fs').readFileSync(${JSON.stringify(file)}, 'utf8'));`);
  const floorJson = timeProcess(process.execPath, [parseOnly], runs);
  const compile = timeProcess(process.execPath, [CLI, 'compile', file, '-o', path.join(os.tmpdir(), 'flowbook-bench.yaml')], runs);
  const inspect = timeProcess(process.execPath, [CLI, 'inspect', file, '--json'], runs);
  console.log(`${label}: ${(text.length / 1024).toFixed(0)} KiB`);
  console.log(`  node JSON.parse only      ${floorJson.toFixed(0)} ms  (floor 1.00x)`);
  console.log(`  flowbook compile (CLI)    ${compile.toFixed(0)} ms  ${(compile / floorJson).toFixed(2)}x JSON.parse  (target <= 6x)`);
  console.log(`  flowbook inspect (CLI)    ${inspect.toFixed(0)} ms  ${(inspect / floorJson).toFixed(2)}x JSON.parse`);
  if (hasPyflakes()) {
    const py = path.join(os.tmpdir(), 'flowbook-bench-code.py');
    fs.writeFileSync(py, codeOf(text));
    const flakes = timeProcess('/usr/bin/python3', ['-m', 'pyflakes', py], runs);
    console.log(`  python3 -m pyflakes       ${flakes.toFixed(0)} ms  compile is ${(compile / flakes).toFixed(2)}x pyflakes  (target < 1x)`);
  } else {
    console.log('  python3 -m pyflakes       not installed (apt-get install python3-pyflakes): no comparison');
  }
}

async function incremental(): Promise<void> {
  const compiler = await Compiler.create();
  const text = generateNotebook(30, 10); // 302 cells
  const { notebook, diagnostics } = parseNotebook(text, 'bench.ipynb');
  compiler.analyze(notebook, diagnostics);
  const times: number[] = [];
  for (let i = 0; i < 50; i++) {
    const cell = notebook.cells[100 + (i % 50)];
    if (!cell) continue;
    cell.source = cell.source + `\nedit_${i} = ${i}\n`;
    const t0 = process.hrtime.bigint();
    compiler.analyze(notebook, diagnostics);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  console.log(`incremental re-analysis, one edited cell of a 302-cell notebook: median ${median(times).toFixed(2)} ms (target < 5 ms)`);
}

export async function run(): Promise<void> {
  console.log('== compile ==');
  const big = path.join(os.tmpdir(), 'flowbook-bench-2000.ipynb');
  fs.writeFileSync(big, generateNotebook(200, 10));
  benchFile('generated notebook, 2,002 cells, 12,000 lines, 200 steps', big, 5);
  const corpus = path.join(SHARED, 'corpus');
  if (fs.existsSync(corpus)) {
    const largest = fs.readdirSync(corpus, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ipynb'))
      .map((f) => path.join(corpus, f))
      .map((f) => ({ f, cells: (JSON.parse(fs.readFileSync(f, 'utf8')) as { cells: unknown[] }).cells.length }))
      .sort((a, b) => b.cells - a.cells)[0];
    if (largest) benchFile(`corpus notebook ${path.basename(largest.f)} (${largest.cells} cells)`, largest.f, 5);
  } else {
    console.log(`corpus notebook: ${corpus} is absent; skipped`);
  }
  await incremental();
}

if (require.main === module) void run();
