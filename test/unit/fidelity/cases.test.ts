// The hand-written fidelity cases (test/fixtures/fidelity, one per class of issue 10): each
// notebook runs straight through in one interpreter and as a pipeline with the local
// runner; the values every step receives and passes on, and the metrics, must be
// identical, or compilation must report a diagnostic on the case's expected cell.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compileNotebookFile } from '../../../src/converter';
import { loadCases, writeCaseNotebook } from '../../fidelity/cases';
import { judge } from '../../fidelity/judge';

describe('fidelity: hand-written cases, notebook straight through against flowbook run', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-fidelity-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const c of loadCases()) {
    const label = `${c.name} (class ${c.klass}: ${c.title})`;
    if (c.expect.kind === 'identical') {
      it(`${label}: identical values`, async () => {
        const notebook = writeCaseNotebook(c, dir);
        const j = await judge(notebook, path.join(dir, 'runs'), c.params);
        assert.equal(j.verdict, 'exact', `${j.verdict}: ${j.detail}`);
        assert.ok((j.report?.compared ?? 0) > 0, 'the case compares at least one value');
      });
    } else {
      const cells = c.expect.cells;
      it(`${label}: a compile-time diagnostic on cell index ${cells.join(' or ')}`, async () => {
        const notebook = writeCaseNotebook(c, dir);
        const { diagnostics } = await compileNotebookFile(notebook);
        const onCell = diagnostics.filter((d) => d.cell !== undefined && cells.includes(d.cell) && (d.severity === 'error' || d.severity === 'warning'));
        assert.ok(onCell.length > 0, `no error or warning on cell index ${cells.join('/')}; diagnostics: ${JSON.stringify(diagnostics.map((d) => [d.code, d.cell, d.message]))}`);
      });
    }
  }
});
