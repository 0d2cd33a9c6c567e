// The side-by-side table of runs: rows for every parameter and metric, differences marked,
// missing values kept as gaps, and what changed since the previous run.

import * as assert from 'node:assert/strict';
import { changedParameters, compareRuns, comparisonRows, metricText } from '../../../src/common/runCompare';

describe('common: compareRuns', () => {
  const a = { id: 'a', label: 'run a', parameters: { C: 1, kernel: 'rbf', layers: [1, 2] }, metrics: { auc: 0.91234567, loss: 2 } };
  const b = { id: 'b', label: 'run b', parameters: { C: 0.1, kernel: 'rbf', layers: [1, 2] }, metrics: { auc: 0.9 } };

  it('gives one row per parameter then per metric, sorted, with differing rows marked', () => {
    const c = compareRuns([a, b]);
    assert.deepEqual(c.runs, [{ id: 'a', label: 'run a' }, { id: 'b', label: 'run b' }]);
    assert.deepEqual(c.rows.map((r) => [r.kind, r.name, r.differs]), [
      ['parameter', 'C', true], ['parameter', 'kernel', false], ['parameter', 'layers', false],
      ['metric', 'auc', true], ['metric', 'loss', true],
    ]);
    assert.deepEqual(c.rows.find((r) => r.name === 'layers')?.values, ['[1,2]', '[1,2]']);
    const loss = c.rows.find((r) => r.name === 'loss');
    assert.deepEqual(loss?.values, ['2', undefined]);
    assert.deepEqual(loss?.numbers, [2, undefined]);
    assert.deepEqual(c.rows.find((r) => r.name === 'auc')?.numbers, [0.91234567, 0.9]);
  });

  it('marks nothing when the runs agree', () => {
    assert.ok(compareRuns([a, { ...a, id: 'c' }]).rows.every((r) => !r.differs));
  });

  it('prints as a table with * on differing rows and - for gaps', () => {
    const rows = comparisonRows(compareRuns([a, b]));
    assert.deepEqual(rows[0], ['', 'NAME', 'run a', 'run b']);
    assert.deepEqual(rows.find((r) => r[1] === 'metric loss'), ['*', 'metric loss', '2', '-']);
    assert.deepEqual(rows.find((r) => r[1] === 'param kernel'), ['', 'param kernel', 'rbf', 'rbf']);
  });

  it('formats metrics to 4 significant digits, integers as they are', () => {
    assert.equal(metricText(0.91234567), '0.9123');
    assert.equal(metricText(50), '50');
    assert.equal(metricText(1.5e-7), '1.500e-7');
  });

  it('changedParameters names values that differ, appear or disappear; none without a previous run', () => {
    assert.deepEqual(changedParameters({ C: 1, k: 'x', w: [1] }, { C: 2, k: 'x', w: [1], gone: 1 }), ['C', 'gone']);
    assert.deepEqual(changedParameters({ C: 1 }, undefined), []);
  });
});
