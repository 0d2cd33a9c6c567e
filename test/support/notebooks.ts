// Builds small notebooks inline for tests: each cell is [tags, source] (a code cell) or
// ['#md', text] (a markdown cell).

import * as path from 'node:path';

export type CellSpec = [tags: string | string[], source: string];

export function notebookJson(cells: CellSpec[], metadata: Record<string, unknown> = {}): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata,
    cells: cells.map(([tags, source], i) => tags === '#md'
      ? { cell_type: 'markdown', id: `m${i}`, metadata: {}, source }
      : {
        cell_type: 'code', id: `c${i}`, execution_count: null, outputs: [],
        metadata: { tags: typeof tags === 'string' ? (tags ? [tags] : []) : tags }, source,
      }),
  }, null, 1);
}

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');
/** ../shared beside the checkout (CI always has it; a bare clone may not). */
export const SHARED = path.resolve(REPO_ROOT, '..', 'shared');
