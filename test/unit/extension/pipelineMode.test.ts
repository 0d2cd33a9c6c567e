// When Flowbook treats a notebook as a pipeline: Flowbook or Kale tags or settings, or the
// per-notebook switch; other tools' tags alone do not count.

import * as assert from 'node:assert/strict';
import { pipelineMode } from '../../../src/workbench/pipelineMode';

describe('extension: pipelineMode', () => {
  it('a notebook without tags or settings is not a pipeline', () => {
    assert.deepEqual(pipelineMode({ kernelspec: { name: 'python3' } }, [[], []]), { on: false, reason: 'untagged' });
    assert.deepEqual(pipelineMode(undefined, []), { on: false, reason: 'untagged' });
  });

  it('other tools\' tags do not make a pipeline; one Flowbook or Kale tag does', () => {
    assert.equal(pipelineMode({}, [['hide-input'], ['remove-cell']]).on, false);
    assert.deepEqual(pipelineMode({}, [['hide-input'], ['step:load']]), { on: true, reason: 'tags' });
    assert.deepEqual(pipelineMode({}, [['block:load']]), { on: true, reason: 'tags' });
    assert.deepEqual(pipelineMode({}, [['imports']]), { on: true, reason: 'tags' });
    assert.deepEqual(pipelineMode({}, [['pipeline-parameters']]), { on: true, reason: 'tags' });
  });

  it('Flowbook or Kale notebook settings make a pipeline', () => {
    assert.deepEqual(pipelineMode({ flowbook: { pipelineName: 'x' } }, [[]]), { on: true, reason: 'settings' });
    assert.deepEqual(pipelineMode({ kubeflow_notebook: { experiment_name: 'e' } }, [[]]), { on: true, reason: 'settings' });
    assert.equal(pipelineMode({ flowbook: {} }, [[]]).on, false, 'an empty settings object is nothing');
  });

  it('the switch overrides tags and settings both ways', () => {
    assert.deepEqual(pipelineMode({ flowbook: { enabled: false, pipelineName: 'x' } }, [['step:a']]), { on: false, reason: 'switched off' });
    assert.deepEqual(pipelineMode({ flowbook: { enabled: true } }, [[]]), { on: true, reason: 'switched on' });
  });
});
