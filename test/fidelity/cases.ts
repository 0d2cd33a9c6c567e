// The hand-written fidelity cases (test/fixtures/fidelity/*.py): one small notebook per
// file in a cell-marker format, so a case reads like the notebook it stands for:
//   # fidelity: 4 aliases of a frame          (the class number and a title)
//   # expect: identical                       (or: diagnostic 2  /  diagnostic 0 1 2)
//   # params: p=7                             (optional -p values)
//   # %% step:a prev:b                        (a code cell and its tags; `# %%` alone: untagged)

import * as fs from 'node:fs';
import * as path from 'node:path';
import { CellSpec, FIXTURES, notebookJson } from '../support/notebooks';

export const CASES_DIR = path.join(FIXTURES, 'fidelity');

export type Expectation = { kind: 'identical' } | { kind: 'diagnostic'; cells: number[] };

export interface FidelityCase {
  /** The file name without `.py`. */
  name: string;
  /** The class (1–12), or 0 for cases outside the numbered list. */
  klass: number;
  title: string;
  expect: Expectation;
  params: string[];
  cells: CellSpec[];
}

export function parseCase(name: string, text: string): FidelityCase {
  const cells: CellSpec[] = [];
  let klass = 0;
  let title = name;
  let expect: Expectation | undefined;
  let params: string[] = [];
  let current: { tags: string[]; lines: string[] } | undefined;
  const flush = () => {
    if (current) cells.push([current.tags, current.lines.join('\n').replace(/\n+$/, '')]);
  };
  for (const line of text.split('\n')) {
    const marker = /^# %%(.*)$/.exec(line);
    if (marker) {
      flush();
      current = { tags: (marker[1] ?? '').trim().split(/\s+/).filter(Boolean), lines: [] };
      continue;
    }
    if (current) {
      current.lines.push(line);
      continue;
    }
    const header = /^# (fidelity|expect|params):\s*(.*)$/.exec(line);
    if (!header) continue;
    const value = (header[2] ?? '').trim();
    if (header[1] === 'fidelity') {
      const m = /^(\d+)\s+(.*)$/.exec(value);
      klass = m ? Number(m[1]) : 0;
      title = m ? (m[2] ?? value) : value;
    } else if (header[1] === 'params') {
      params = value.split(/\s+/).filter(Boolean);
    } else if (value === 'identical') {
      expect = { kind: 'identical' };
    } else {
      const m = /^diagnostic((?:\s+\d+)+)$/.exec(value);
      if (!m) throw new Error(`${name}: '# expect: ${value}' is neither 'identical' nor 'diagnostic CELL...'`);
      expect = { kind: 'diagnostic', cells: (m[1] ?? '').trim().split(/\s+/).map(Number) };
    }
  }
  flush();
  if (!expect) throw new Error(`${name}: no '# expect:' line`);
  if (cells.length === 0) throw new Error(`${name}: no '# %%' cells`);
  return { name, klass, title, expect, params, cells };
}

/** Every case, sorted by file name. */
export function loadCases(dir = CASES_DIR): FidelityCase[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.py')).sort()
    .map((f) => parseCase(f.slice(0, -3), fs.readFileSync(path.join(dir, f), 'utf8')));
}

/** Writes the case as `<dir>/<name>.ipynb` and returns its path. */
export function writeCaseNotebook(c: FidelityCase, dir: string): string {
  const file = path.join(dir, `${c.name}.ipynb`);
  fs.writeFileSync(file, notebookJson(c.cells, { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } }));
  return file;
}
