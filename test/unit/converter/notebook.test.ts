import * as assert from 'node:assert/strict';
import { parseNotebook } from '../../../src/converter/notebook';
import { InputError, formatDiagnostic } from '../../../src/converter/diagnostics';

const nb = (cells: unknown[], metadata: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata, cells, ...extra });

function inputError(text: string): InputError {
  try {
    parseNotebook(text, 'x.ipynb');
  } catch (err) {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected parseNotebook to throw');
}

describe('parseNotebook', () => {
  it('joins list sources and keeps string sources', () => {
    const { notebook, diagnostics } = parseNotebook(nb([
      { cell_type: 'code', source: ['a = 1\n', 'b = 2'], metadata: { tags: ['step:x'] } },
      { cell_type: 'markdown', source: '# title', metadata: {} },
      { cell_type: 'raw', source: 'raw', metadata: {} },
    ]), 'x.ipynb');
    assert.deepEqual(diagnostics, []);
    assert.equal(notebook.cells[0]?.source, 'a = 1\nb = 2');
    assert.deepEqual(notebook.cells[0]?.tags, ['step:x']);
    assert.deepEqual(notebook.cells.map((c) => c.kind), ['code', 'markdown', 'raw']);
    assert.equal(notebook.cells[1]?.source, '# title');
  });

  it('rejects malformed JSON with FB001 and a position', () => {
    const err = inputError('{"cells": [');
    assert.equal(err.diagnostic.code, 'FB001');
    assert.match(err.diagnostic.message, /not valid JSON/);
  });

  it('rejects nbformat 3 with FB002 and says how to upgrade', () => {
    const err = inputError(JSON.stringify({ nbformat: 3, nbformat_minor: 0, worksheets: [{ cells: [] }], metadata: {} }));
    assert.equal(err.diagnostic.code, 'FB002');
    assert.match(err.diagnostic.message, /nbformat 3.*save it again/);
  });

  it('rejects a missing cells array with FB003', () => {
    assert.equal(inputError(JSON.stringify({ nbformat: 4, nbformat_minor: 4, metadata: {} })).diagnostic.code, 'FB003');
    assert.equal(inputError('[1, 2]').diagnostic.code, 'FB003');
  });

  it('reports a malformed cell and keeps reading the others', () => {
    const { notebook, diagnostics } = parseNotebook(nb([
      42,
      { cell_type: 'code', source: 7, metadata: {} },
      { cell_type: 'code', source: 'ok = 1', metadata: { tags: ['skip', 3] } },
      { cell_type: 'heading', source: 'x', metadata: {} },
    ]), 'x.ipynb');
    assert.deepEqual(diagnostics.map((d) => [d.code, d.cell]), [['FB004', 0], ['FB004', 1], ['FB004', 2], ['FB004', 3]]);
    assert.equal(notebook.cells[2]?.source, 'ok = 1');
    assert.deepEqual(notebook.cells[2]?.tags, ['skip']);
  });

  it('reads Kale settings and lets metadata.flowbook override them', () => {
    const { notebook, diagnostics } = parseNotebook(nb([], {
      kubeflow_notebook: {
        pipeline_name: 'kale-name', docker_image: 'img:1', steps_defaults: ['label:a:b'], enable_caching: true, timeout: 3600,
        volumes: [{ name: 'v', mount_point: '/data', type: 'new_pvc', size: 5, size_type: 'Gi', storage_class_name: 'fast' }],
      },
      flowbook: { pipelineName: 'ours', dataPassing: 'artifacts', timeout: '30m' },
    }), 'x.ipynb');
    assert.deepEqual(diagnostics, []);
    assert.equal(notebook.settings.pipelineName, 'ours');
    assert.equal(notebook.settings.image, 'img:1');
    assert.equal(notebook.settings.dataPassing, 'artifacts');
    assert.equal(notebook.settings.timeoutSeconds, 1800);
    assert.deepEqual(notebook.settings.stepDefaults, ['label:a:b']);
    assert.deepEqual(notebook.settings.volumes, [{ name: 'v', mountPoint: '/data', type: 'new_pvc', size: '5Gi', storageClass: 'fast' }]);
  });

  it('mounts a Kale "clone" volume (a Rok snapshot on MiniKF) as the existing claim, with a warning', () => {
    const { notebook, diagnostics } = parseNotebook(nb([], {
      kubeflow_notebook: { volumes: [{ name: 'data-8lb', mount_point: '/home/jovyan/data', type: 'clone', size: 10, size_type: 'Gi', snapshot: false, annotations: [] }] },
    }), 'x.ipynb');
    assert.deepEqual(notebook.settings.volumes, [{ name: 'data-8lb', mountPoint: '/home/jovyan/data', type: 'pvc', size: '10Gi' }]);
    assert.deepEqual(diagnostics.map((d) => [d.severity, d.code]), [['warning', 'FB005']]);
    assert.match(diagnostics[0]?.message ?? '', /Kale "clone" volume .* mount the existing claim "data-8lb" at \/home\/jovyan\/data/);
  });

  it('names the setting at fault', () => {
    const { diagnostics } = parseNotebook(nb([], {
      kubeflow_notebook: { pipeline_name: 5, volumes: [{ name: 'v' }] },
      flowbook: { dataPassing: 'ftp', pipelinName: 'typo' },
    }), 'x.ipynb');
    const messages = diagnostics.map((d) => d.message).join('\n');
    assert.match(messages, /kubeflow_notebook\.pipeline_name must be a string/);
    assert.match(messages, /kubeflow_notebook\.volumes\[0\] needs "name" and "mount_point"/);
    assert.match(messages, /flowbook\.dataPassing is "ftp"/);
    assert.match(messages, /flowbook\.pipelinName is unknown: did you mean flowbook\.pipelineName\?/);
  });

  it('formats diagnostics with 1-based cell numbers', () => {
    assert.equal(
      formatDiagnostic('nb.ipynb', { severity: 'error', code: 'FB300', message: 'm', cell: 6, line: 2 }),
      'nb.ipynb:cell 7:2: error FB300 m',
    );
  });
});
