// The test helper that validates workflows must itself catch what it claims to: misspelt
// keys, wrong types and broken references. Argo-schema cases run only when ../shared is
// present; the structural check runs always.

import * as assert from 'node:assert/strict';
import { emitWorkflow } from '../../../../src/converter/emit';
import { argoSchemaAvailable, ARGO_SCHEMA_PATH, schemaErrors, structuralErrors, validateWorkflow } from '../../../support/argoSchema';
import { optionsPipeline } from './samples';

type Loose = Record<string, unknown> & { spec: { templates: Record<string, unknown>[]; entrypoint: string } };

function sample(): Loose {
  return JSON.parse(JSON.stringify(emitWorkflow(optionsPipeline(), { dataPassing: 'artifacts' }))) as Loose;
}

function withTypo(): Loose {
  const wf = sample();
  const script = wf.spec.templates[1]?.script as Record<string, unknown>;
  script.imagePullPolicyy = 'Always';
  return wf;
}

describe('test/support/argoSchema', () => {
  describe('structural check (no ../shared needed)', () => {
    it('accepts an emitted workflow', () => {
      assert.deepEqual(structuralErrors(sample()), []);
    });

    it('reports a misspelt key with its path', () => {
      assert.deepEqual(structuralErrors(withTypo()), ['unknown key: spec.templates[1].script.imagePullPolicyy (in a Script)']);
    });

    it('reports broken references and missing required fields', () => {
      const wf = sample();
      wf.spec.entrypoint = 'nope';
      assert.deepEqual(structuralErrors(wf), ['spec.entrypoint nope names no template']);
      const noImage = sample();
      delete (noImage.spec.templates[1]?.script as Record<string, unknown>).image;
      assert.deepEqual(structuralErrors(noImage), ['template prepare: a script needs an image and a source']);
      const badDep = sample();
      const tasks = (badDep.spec.templates[0]?.dag as { tasks: { dependencies?: string[] }[] }).tasks;
      (tasks[1] as { dependencies?: string[] }).dependencies = ['ghost'];
      assert.deepEqual(structuralErrors(badDep), ['task train-model depends on ghost, which is no task']);
    });
  });

  if (argoSchemaAvailable()) {
    describe('Argo schema (../shared)', () => {
      it('accepts an emitted workflow', () => {
        assert.deepEqual(schemaErrors(sample()), []);
      });

      it('rejects a misspelt key that the published schema alone lets through', () => {
        assert.deepEqual(schemaErrors(withTypo()).filter((e) => e.startsWith('schema:')), []);
        assert.equal(schemaErrors(withTypo()).length, 1);
        assert.match(schemaErrors(withTypo())[0] ?? '', /^unknown key: spec\.templates\[1\]\.script\.imagePullPolicyy \(allowed here: .*imagePullPolicy,/);
        assert.ok(validateWorkflow(withTypo()).length >= 2, 'validateWorkflow reports both layers');
      });

      it('reports a wrong type from the schema', () => {
        const wf = sample();
        (wf.spec.templates[1] as Record<string, unknown>).retryStrategy = { limit: true };
        assert.deepEqual(schemaErrors(wf), ['schema: /spec/templates/1/retryStrategy/limit must be string,integer']);
      });

      it('accepts IntOrString fields as integers too (the widened definition)', () => {
        const wf = sample();
        (wf.spec.templates[1] as Record<string, unknown>).retryStrategy = { limit: 3 };
        assert.deepEqual(schemaErrors(wf), []);
      });
    });
  } else {
    console.log(`  (shared/ absent: ${ARGO_SCHEMA_PATH} not found; Argo-schema validation tests not registered, the structural check is still tested)`);
  }
});
