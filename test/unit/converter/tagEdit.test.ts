// The editor's tag edits: each edit gives the tags the parser reads back as intended, keeps
// other tools' tags, and never mutates its input.
import * as assert from 'node:assert/strict';
import {
  addPrev, checkImage, checkQuantity, checkStepName, clearFlowbookTags, imageOf, isFlowbookTag, markAs,
  preferredStepPrefix, prevStepsOf, removePrev, resourcesOf, sameTags, setImage, setResources, setStep, stepNameOf,
} from '../../../src/converter/tagEdit';
import { parseCellTags } from '../../../src/converter/tags';
import type { Diagnostic } from '../../../src/converter/diagnostics';

function parse(tags: string[]) {
  const diagnostics: Diagnostic[] = [];
  const parsed = parseCellTags(tags, 0, diagnostics);
  return { parsed, errors: diagnostics.filter((d) => d.severity === 'error') };
}

describe('tagEdit', () => {
  describe('setStep', () => {
    it('replaces the role, keeps prev, options and foreign tags, and parses back as that step', () => {
      const before = ['hide-input', 'imports', 'prev:load', 'limit:cpu:1'];
      const after = setStep(before, 'train');
      assert.deepEqual(after, ['step:train', 'hide-input', 'prev:load', 'limit:cpu:1']);
      const { parsed, errors } = parse(after);
      assert.deepEqual(errors, []);
      assert.equal(parsed.role, 'step');
      assert.equal(parsed.stepName, 'train');
      assert.deepEqual(parsed.prev, ['load']);
      assert.deepEqual(before, ['hide-input', 'imports', 'prev:load', 'limit:cpu:1'], 'input not mutated');
    });

    it('renames a block: step with the prefix asked for', () => {
      assert.deepEqual(setStep(['block:old', 'prev:a'], 'new', 'block'), ['block:new', 'prev:a']);
    });

    it('prefers block: when the notebook already uses it', () => {
      assert.equal(preferredStepPrefix([['imports'], ['block:load']]), 'block');
      assert.equal(preferredStepPrefix([['imports'], ['step:load']]), 'step');
      assert.equal(preferredStepPrefix([]), 'step');
    });
  });

  describe('markAs', () => {
    for (const [role, parsedRole] of [
      ['imports', 'imports'], ['functions', 'functions'], ['pipeline-parameters', 'parameters'],
      ['pipeline-metrics', 'metrics'], ['skip', 'skip'],
    ] as const) {
      it(`marks a step cell as ${role}, dropping step-only tags and keeping foreign ones`, () => {
        const after = markAs(['step:train', 'prev:load', 'limit:memory:2Gi', 'image:x:1', 'remove-output'], role);
        assert.deepEqual(after, [role, 'remove-output']);
        const { parsed, errors } = parse(after);
        assert.deepEqual(errors, []);
        assert.equal(parsed.role, parsedRole);
      });
    }
  });

  describe('prev', () => {
    it('adds prev: after the role and existing prev tags, once', () => {
      const once = addPrev(['step:train', 'prev:load', 'limit:cpu:1'], 'clean');
      assert.deepEqual(once, ['step:train', 'prev:load', 'prev:clean', 'limit:cpu:1']);
      assert.deepEqual(addPrev(once, 'clean'), once);
      assert.deepEqual(parse(once).parsed.prev, ['load', 'clean']);
    });

    it('reads and removes names from a legacy prev:a:b tag', () => {
      const tags = ['step:c', 'prev:a:b'];
      assert.deepEqual(prevStepsOf(tags), ['a', 'b']);
      assert.deepEqual(removePrev(tags, 'a'), ['step:c', 'prev:b']);
      assert.deepEqual(removePrev(removePrev(tags, 'a'), 'b'), ['step:c']);
    });
  });

  describe('resources', () => {
    it('sets, replaces any spelling of, and removes limits', () => {
      const tags = ['step:train', 'limit:mem:1Gi', 'limit:ephemeral-storage:5Gi'];
      assert.deepEqual(resourcesOf(tags), { memory: '1Gi' });
      const after = setResources(tags, { cpu: '500m', memory: '4Gi', gpu: '1' });
      assert.deepEqual(after, ['step:train', 'limit:memory:4Gi', 'limit:ephemeral-storage:5Gi', 'limit:cpu:500m', 'limit:nvidia.com/gpu:1']);
      const { parsed, errors } = parse(after);
      assert.deepEqual(errors, []);
      assert.deepEqual(parsed.options.limits, { memory: '4Gi', 'ephemeral-storage': '5Gi', cpu: '500m', 'nvidia.com/gpu': '1' });
      assert.deepEqual(setResources(after, { gpu: '', cpu: undefined }), ['step:train', 'limit:memory:4Gi', 'limit:ephemeral-storage:5Gi', 'limit:cpu:500m']);
    });

    it('drops duplicate limits of one resource', () => {
      assert.deepEqual(setResources(['limit:gpu:1', 'limit:nvidia.com/gpu:2'], { gpu: '3' }), ['limit:nvidia.com/gpu:3']);
    });

    it('validates quantities', () => {
      assert.equal(checkQuantity('500m'), undefined);
      assert.equal(checkQuantity('4Gi'), undefined);
      assert.equal(checkQuantity(''), undefined);
      assert.match(checkQuantity('4 GB') ?? '', /not a Kubernetes quantity/);
    });
  });

  describe('image', () => {
    it('sets, replaces in place and removes the image tag', () => {
      const tags = setImage(['step:a', 'prev:b'], 'python:3.12');
      assert.deepEqual(tags, ['step:a', 'prev:b', 'image:python:3.12']);
      assert.equal(parse(tags).parsed.options.image, 'python:3.12');
      assert.equal(imageOf(tags), 'python:3.12');
      assert.deepEqual(setImage(['image:a', 'step:x'], 'b'), ['image:b', 'step:x']);
      assert.deepEqual(setImage(tags, ' '), ['step:a', 'prev:b']);
      assert.match(checkImage('my image') ?? '', /no spaces/);
      // The same rules as the parser, so the editor never sets a tag that is then an error.
      assert.match(checkImage('Python:3.12') ?? '', /not an image reference: the repository path/);
      assert.equal(checkImage('registry.local:5000/a/b:1'), undefined);
    });
  });

  describe('clear and classify', () => {
    it('clears only Flowbook tags', () => {
      const tags = ['step:a', 'prev:b', 'hide-input', 'limit:cpu:1', 'imports', 'remove-cell', 'parameters'];
      assert.deepEqual(clearFlowbookTags(tags), ['hide-input', 'remove-cell']);
      assert.equal(isFlowbookTag('block:x'), true);
      assert.equal(isFlowbookTag('hide-input'), false);
    });

    it('reads the step name of step: and block: tags, ignoring empty continuations', () => {
      assert.equal(stepNameOf(['prev:x', 'block:load']), 'load');
      assert.equal(stepNameOf(['step:']), undefined);
      assert.equal(stepNameOf(['imports']), undefined);
    });

    it('compares tag lists in order', () => {
      assert.equal(sameTags(['a', 'b'], ['a', 'b']), true);
      assert.equal(sameTags(['a', 'b'], ['b', 'a']), false);
    });
  });

  describe('checkStepName', () => {
    it('accepts Kale names, warns on Flowbook-only names, rejects invalid ones', () => {
      assert.equal(checkStepName('load_data'), undefined);
      assert.ok(checkStepName('Load-Data') && 'warning' in checkStepName('Load-Data')!);
      assert.ok(checkStepName('1load') && 'error' in checkStepName('1load')!);
      assert.ok(checkStepName('') && 'error' in checkStepName('')!);
    });
  });
});
