// The oracle for the runner's results: a notebook's code cells (all but `skip`) run
// straight through in one interpreter, as "Run All" would, with parameter overrides
// assigned right after the parameters cell. Independent of the compiler: it reads the
// notebook JSON itself and takes the metric names from the `pipeline-metrics` lines.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

interface RawCell {
  cell_type: string;
  source: string | string[];
  metadata?: { tags?: string[] };
}

const MARK = '__FLOWBOOK_STRAIGHT_THROUGH__';

/**
 * Runs the notebook's code cells in order and returns the metric values. `overrides` are
 * Python assignments' right-hand sides by parameter name (`{ C: '0.1', label: "'x'" }`).
 */
export function straightThrough(notebook: string, python: string, overrides: Record<string, string> = {}): Record<string, number> {
  const nb = JSON.parse(fs.readFileSync(notebook, 'utf8')) as { cells: RawCell[] };
  const parts: string[] = [];
  const metrics: string[] = [];
  for (const cell of nb.cells) {
    if (cell.cell_type !== 'code') continue;
    const tags = cell.metadata?.tags ?? [];
    if (tags.includes('skip')) continue;
    const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
    parts.push(source);
    if (tags.includes('pipeline-parameters')) {
      parts.push(Object.entries(overrides).map(([k, v]) => `${k} = ${v}`).join('\n'));
    }
    if (tags.includes('pipeline-metrics')) {
      for (const line of source.split('\n')) {
        const name = /^\s*(?:print\(\s*)?([A-Za-z_]\w*)\s*\)?\s*$/.exec(line)?.[1];
        if (name) metrics.push(name);
      }
    }
  }
  parts.push(`import json as _json\nprint(${JSON.stringify(MARK)} + _json.dumps({n: float(globals()[n]) for n in ${JSON.stringify(metrics)}}))`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-straight-'));
  try {
    const file = path.join(dir, 'all_cells.py');
    fs.writeFileSync(file, parts.join('\n\n') + '\n');
    const r = spawnSync(python, [file], { cwd: path.dirname(notebook), encoding: 'utf8', env: { ...process.env, MPLBACKEND: 'Agg' }, maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`the notebook's cells failed when run straight through:\n${r.stderr}`);
    const line = r.stdout.split('\n').find((l) => l.startsWith(MARK));
    if (!line) throw new Error(`no metrics line in:\n${r.stdout}`);
    return JSON.parse(line.slice(MARK.length)) as Record<string, number>;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
