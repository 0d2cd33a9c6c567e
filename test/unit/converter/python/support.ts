// Shared helpers for the Python analysis tests: one analyzer per test process, and compact
// views of an analysis that read well in assertions.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CellAnalysis } from '../../../../src/converter/ir';
import { PythonAnalyzer } from '../../../../src/converter/python';

let shared: Promise<PythonAnalyzer> | undefined;

export function analyzer(): Promise<PythonAnalyzer> {
  shared ??= PythonAnalyzer.create();
  return shared;
}

/** The repository root (tests run from out/test/unit/converter/python). */
export const repoRoot = path.resolve(__dirname, '../../../../..');

/** `../shared` beside the repository, or undefined when this machine has none. */
export function sharedDir(): string | undefined {
  const dir = path.resolve(repoRoot, '..', 'shared');
  return fs.existsSync(dir) ? dir : undefined;
}

/** Reads as `name` or `name@line:column`, with `~` for deferred ones. */
export function readNames(a: CellAnalysis): string[] {
  return a.reads.map((r) => (r.deferred ? `~${r.name}` : r.name));
}

export function readPositions(a: CellAnalysis): string[] {
  return a.reads.map((r) => `${r.deferred ? '~' : ''}${r.name}@${r.line}:${r.column}`);
}

/** The code cells of a notebook file, sources joined. */
export function codeCells(file: string): string[] {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells?: { cell_type?: string; source?: string | string[] }[] };
  return (nb.cells ?? [])
    .filter((c) => c.cell_type === 'code')
    .map((c) => (Array.isArray(c.source) ? c.source.join('') : (c.source ?? '')));
}

/** Every `.ipynb` below `dir`, sorted. */
export function notebooksUnder(dir: string): string[] {
  const out: string[] = [];
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) stack.push(p);
      else if (entry.name.endsWith('.ipynb')) out.push(p);
    }
  }
  return out.sort();
}

export function lineCount(text: string): number {
  return text.split('\n').length;
}
