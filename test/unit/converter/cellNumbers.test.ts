// JSON for tools carries 0-based cell indices; the 1-based numbers people see sit beside them.

import * as assert from 'node:assert/strict';
import { withCellNumbers } from '../../../src/converter/cellNumbers';

describe('withCellNumbers', () => {
  it('adds cellNumber after cell and cellNumbers after cells, keeping key order', () => {
    const out = withCellNumbers({ name: 's', cells: [0, 6], after: [], error: { message: 'x', cell: 6, line: 2 }, reasons: [{ kind: 'prev', cell: 0 }] });
    assert.equal(JSON.stringify(out), JSON.stringify({
      name: 's', cells: [0, 6], cellNumbers: [1, 7], after: [], error: { message: 'x', cell: 6, cellNumber: 7, line: 2 }, reasons: [{ kind: 'prev', cell: 0, cellNumber: 1 }],
    }));
  });

  it('leaves the user\'s values alone and notebook-level entries without a cell', () => {
    const value = { parameters: { cell: 3 }, steps: [{ default: { cell: 1, cells: [1] }, metrics: { cell: 2 } }], diagnostics: [{ code: 'FB005', message: 'm' }], settings: { cell: -1 } };
    assert.deepEqual(withCellNumbers(value), value);
  });
});
