// The shape of the emitted Workflow, option by option. Every workflow a test here builds
// goes through `emit`, which also validates it (Argo's schema when ../shared is present,
// our structural check always).

import * as assert from 'node:assert/strict';
import {
  CELLS_ANNOTATION, DEFAULT_IMAGE, STEP_ANNOTATION, emitWorkflow, stepScript, type EmitOptions, type Template, type Workflow,
} from '../../../../src/converter/emit';
import type { Pipeline } from '../../../../src/converter/ir';
import { toYaml } from '../../../../src/converter/yaml';
import { VERSION } from '../../../../src/version';
import { validateWorkflow } from '../../../support/argoSchema';
import { makePipeline, type StepSpec } from '../../../support/pipelineBuilder';
import { mlPipeline, optionsPipeline } from './samples';

function emit(pipeline: Pipeline, options?: EmitOptions): Workflow {
  const wf = emitWorkflow(pipeline, options);
  assert.deepEqual(validateWorkflow(wf), [], 'the workflow validates');
  return wf;
}

function template(wf: Workflow, name: string): Template {
  const t = wf.spec.templates.find((x) => x.name === name);
  assert.ok(t, `template ${name} exists`);
  return t;
}

function task(wf: Workflow, name: string) {
  const t = wf.spec.templates[0]?.dag?.tasks.find((x) => x.name === name);
  assert.ok(t, `task ${name} exists`);
  return t;
}

function one(steps: StepSpec[], extra: Partial<Parameters<typeof makePipeline>[0]> = {}): Pipeline {
  return makePipeline({ steps, ...extra });
}

describe('emitWorkflow', () => {
  describe('metadata', () => {
    it('names the run after the pipeline and records the notebook, version and description', () => {
      const wf = emit(mlPipeline());
      assert.equal(wf.apiVersion, 'argoproj.io/v1alpha1');
      assert.equal(wf.kind, 'Workflow');
      assert.deepEqual(wf.metadata, {
        generateName: 'ml-demo-',
        labels: { 'flowbook.dev/pipeline': 'ml-demo' },
        annotations: {
          'flowbook.dev/notebook': 'ml-demo.ipynb',
          'flowbook.dev/version': VERSION,
          'workflows.argoproj.io/description': 'A small pipeline: load, train, report.',
        },
      });
    });

    it('takes the namespace from the options over the notebook, and the experiment as an annotation', () => {
      const p = optionsPipeline();
      assert.equal(emit(p).metadata.namespace, 'team-ns');
      assert.equal(emit(p, { namespace: 'other' }).metadata.namespace, 'other');
      assert.equal(emit(mlPipeline()).metadata.namespace, undefined);
      assert.equal(emit(p).metadata.annotations?.['flowbook.dev/experiment'], 'exp-1');
      assert.equal(emit(p).metadata.annotations?.['flowbook.dev/notebook'], 'options.ipynb', 'a Windows path gives its file name');
    });

    it('makes generateName a DNS-1123 name short enough for the 5 characters Argo appends', () => {
      assert.equal(emit(optionsPipeline()).metadata.generateName, 'options-demo-');
      const long = emit(one([{ name: 's' }], { name: `${'Very Long Name '.repeat(8)}` }));
      const generated = long.metadata.generateName ?? '';
      assert.ok(generated.length <= 58, generated);
      assert.match(generated, /^[a-z0-9]([a-z0-9-]*[a-z0-9])?-$/);
      assert.equal(emit(one([{ name: 's' }], { name: '~~~' })).metadata.generateName, 'flowbook-');
    });
  });

  describe('DAG', () => {
    it('has a DAG entrypoint with one task per step and dependencies by template name', () => {
      const wf = emit(optionsPipeline());
      assert.equal(wf.spec.entrypoint, 'pipeline');
      const dag = wf.spec.templates[0];
      assert.equal(dag?.name, 'pipeline');
      assert.deepEqual(dag?.dag?.tasks.map((t) => [t.name, t.template, t.dependencies]), [
        ['prepare', 'prepare', undefined],
        ['train-model', 'train-model', ['prepare']],
      ]);
      assert.deepEqual(wf.spec.templates.slice(1).map((t) => Object.keys(t.script ?? {}).length > 0), [true, true]);
    });

    it('renames the entrypoint when a step template is called "pipeline"', () => {
      const wf = emit(one([{ name: 'pipeline' }, { name: 'flowbook-pipeline', after: ['pipeline'] }]));
      assert.equal(wf.spec.entrypoint, 'flowbook-pipeline-2');
      assert.deepEqual(wf.spec.templates.map((t) => t.name), ['flowbook-pipeline-2', 'pipeline', 'flowbook-pipeline']);
      assert.deepEqual(task(wf, 'flowbook-pipeline').dependencies, ['pipeline']);
    });

    it('annotates each step template with the step name as written and its 0-based cells', () => {
      const t = template(emit(optionsPipeline()), 'train-model');
      assert.equal(t.metadata?.annotations?.[STEP_ANNOTATION], 'Train Model');
      assert.equal(t.metadata?.annotations?.[CELLS_ANNOTATION], '2,3');
    });

    it('runs the step script with python3 as the script source', () => {
      const p = mlPipeline();
      const t = template(emit(p), 'train');
      assert.deepEqual(t.script?.command, ['python3']);
      assert.equal(t.script?.source, stepScript(p, p.steps[1] as never));
      assert.deepEqual(t.script?.env?.[0], { name: 'FLOWBOOK_STEP', value: 'train' });
    });

    it('makes a producer a dependency even when `after` misses it', () => {
      const wf = emit(one([{ name: 'a', outputs: ['x'] }, { name: 'b', inputs: { x: 'a' } }]));
      assert.deepEqual(task(wf, 'b').dependencies, ['a']);
    });

    it('throws on a step that refers to an unknown step (a front-end bug)', () => {
      assert.throws(() => emitWorkflow(one([{ name: 'b', after: ['ghost'] }])), /step "b" refers to step "ghost"/);
      assert.throws(() => emitWorkflow(one([{ name: 'b', parameters: ['nope'] }])), /parameter "nope"/);
    });
  });

  describe('parameters', () => {
    it('declares workflow arguments whose values are the JSON of the defaults', () => {
      const wf = emit(optionsPipeline());
      assert.deepEqual(wf.spec.arguments?.parameters, [
        { name: 'epochs', value: '3' },
        { name: 'lr', value: '1.0' },
        { name: 'flag', value: 'true' },
        { name: 'nothing', value: 'null' },
      ]);
      assert.deepEqual(emit(mlPipeline()).spec.arguments?.parameters?.map((p) => p.value), ['0.5', '"run"', '[1,2,3]']);
    });

    it('passes the parameters a step uses from the workflow to the template and its environment', () => {
      const wf = emit(optionsPipeline());
      assert.deepEqual(task(wf, 'prepare').arguments, { parameters: [{ name: 'epochs', value: '{{workflow.parameters.epochs}}' }] });
      const t = template(wf, 'train-model');
      assert.deepEqual(t.inputs, { parameters: [{ name: 'lr' }, { name: 'flag' }, { name: 'nothing' }] });
      assert.deepEqual(t.script?.env?.slice(1), [
        { name: 'FLOWBOOK_PARAM_lr', value: '{{inputs.parameters.lr}}' },
        { name: 'FLOWBOOK_PARAM_flag', value: '{{inputs.parameters.flag}}' },
        { name: 'FLOWBOOK_PARAM_nothing', value: '{{inputs.parameters.nothing}}' },
      ]);
    });

    it('leaves out arguments and inputs when there are no parameters', () => {
      const wf = emit(one([{ name: 'a' }]));
      assert.equal(wf.spec.arguments, undefined);
      assert.equal(task(wf, 'a').arguments, undefined);
      assert.equal(template(wf, 'a').inputs, undefined);
    });
  });

  describe('images', () => {
    const withImages = (stepImage?: string, settingsImage?: string) => one(
      [{ name: 's', options: stepImage ? { image: stepImage } : {} }],
      settingsImage ? { settings: { image: settingsImage } } : {},
    );
    const imageOf = (p: Pipeline, o?: EmitOptions) => template(emit(p, o), 's').script?.image;

    it('uses the built image over the tag, the option, the notebook setting and the default, in that order', () => {
      assert.equal(imageOf(withImages('tag:1', 'nb:1'), { stepImages: { s: 'built:1' }, image: 'opt:1' }), 'built:1');
      assert.equal(imageOf(withImages('tag:1', 'nb:1'), { stepImages: { other: 'built:1' }, image: 'opt:1' }), 'tag:1');
      assert.equal(imageOf(withImages(undefined, 'nb:1'), { image: 'opt:1' }), 'opt:1');
      assert.equal(imageOf(withImages(undefined, 'nb:1')), 'nb:1');
      assert.equal(imageOf(withImages()), DEFAULT_IMAGE);
    });
  });

  describe('step options', () => {
    const wf = () => emit(optionsPipeline());

    it('sets resource limits from limit: tags, without requests (Kubernetes copies limits to requests)', () => {
      assert.deepEqual(template(wf(), 'prepare').script?.resources, { limits: { cpu: '500m', memory: '1Gi', 'nvidia.com/gpu': '1' } });
      assert.equal(template(wf(), 'train-model').script?.resources, undefined);
    });

    it('puts label: and annotation: tags on the pod, with the Flowbook annotations winning', () => {
      assert.deepEqual(template(wf(), 'prepare').metadata, {
        labels: { team: 'ml' },
        annotations: { 'example.com/owner': 'ada', 'flowbook.dev/step': 'prepare', 'flowbook.dev/cells': '1', 'flowbook.dev/cache': 'disabled', 'flowbook.dev/outputs': 'data' },
      });
      assert.equal(template(wf(), 'train-model').metadata?.labels, undefined);
    });

    it('records cache: as an annotation (no memoize), falling back to the notebook setting', () => {
      assert.equal(template(wf(), 'train-model').metadata?.annotations?.['flowbook.dev/cache'], 'enabled');
      assert.equal(template(emit(one([{ name: 's' }])), 's').metadata?.annotations?.['flowbook.dev/cache'], undefined);
      assert.equal(template(emit(one([{ name: 's' }], { settings: { enableCaching: false } })), 's').metadata?.annotations?.['flowbook.dev/cache'], 'disabled');
      assert.ok(!toYaml(wf()).includes('memoize'));
    });

    it('reads secret: tags into environment variables from secret keys', () => {
      const env = template(wf(), 'prepare').script?.env ?? [];
      assert.deepEqual(env[env.length - 1], { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-creds', key: 'password' } } });
    });

    it('writes retry: as a retryStrategy whose limit is a quoted number', () => {
      assert.deepEqual(template(wf(), 'prepare').retryStrategy, { limit: '2' });
      assert.equal(template(wf(), 'train-model').retryStrategy, undefined);
      assert.equal(template(emit(one([{ name: 's', options: { retry: 0 } }])), 's').retryStrategy, undefined);
      assert.match(toYaml(wf()), /retryStrategy:\n\s+limit: "2"\n/);
    });

    it('writes timeout: per attempt as activeDeadlineSeconds, and the notebook timeout on the workflow', () => {
      assert.equal(template(wf(), 'prepare').activeDeadlineSeconds, '1800');
      assert.equal(template(wf(), 'train-model').activeDeadlineSeconds, undefined);
      assert.equal(wf().spec.activeDeadlineSeconds, 7200);
      assert.equal(emit(mlPipeline()).spec.activeDeadlineSeconds, undefined);
    });
  });

  describe('data passing: volume (default)', () => {
    it('claims one ReadWriteOnce volume per run, sized and classed by the notebook, and mounts it in every step', () => {
      const wf = emit(optionsPipeline());
      assert.deepEqual(wf.spec.volumeClaimTemplates?.[0], {
        metadata: { name: 'flowbook-data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } }, storageClassName: 'fast' },
      });
      for (const t of wf.spec.templates.slice(1)) assert.deepEqual(t.script?.volumeMounts?.[0], { name: 'flowbook-data', mountPath: '/flowbook/data' });
      const plain = emit(mlPipeline());
      assert.deepEqual(plain.spec.volumeClaimTemplates, [{
        metadata: { name: 'flowbook-data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      }]);
      assert.equal(plain.spec.volumes, undefined);
    });

    it('declares no artifacts, not even for metrics', () => {
      const wf = emit(optionsPipeline());
      for (const t of wf.spec.templates) {
        assert.equal(t.outputs, undefined);
        assert.equal(t.inputs?.artifacts, undefined);
      }
      assert.ok(!JSON.stringify(wf).includes('artifacts'));
    });
  });

  describe('data passing: artifacts', () => {
    const wf = () => emit(mlPipeline(), { dataPassing: 'artifacts' });

    it('outputs each step folder as the artifact "data" and hands it to consumers at the same path', () => {
      assert.deepEqual(template(wf(), 'load').outputs, { artifacts: [{ name: 'data', path: '/flowbook/data/load' }] });
      const report = template(wf(), 'report');
      assert.deepEqual(report.inputs?.artifacts, [
        { name: 'train', path: '/flowbook/data/train' },
        { name: 'load', path: '/flowbook/data/load' },
      ]);
      assert.deepEqual(task(wf(), 'report').arguments?.artifacts, [
        { name: 'train', from: '{{tasks.train.outputs.artifacts.data}}' },
        { name: 'load', from: '{{tasks.load.outputs.artifacts.data}}' },
      ]);
      assert.equal(task(wf(), 'load').arguments, undefined);
    });

    it('declares the metrics file as the mlpipeline-metrics artifact of the step that writes metrics', () => {
      assert.deepEqual(template(wf(), 'report').outputs, { artifacts: [{ name: 'mlpipeline-metrics', path: '/tmp/mlpipeline-metrics.json' }] });
      assert.equal(template(wf(), 'train').outputs?.artifacts?.some((a) => a.name === 'mlpipeline-metrics'), false);
    });

    it('uses an emptyDir for /flowbook/data instead of a claim', () => {
      assert.equal(wf().spec.volumeClaimTemplates, undefined);
      assert.deepEqual(wf().spec.volumes, [{ name: 'flowbook-data', emptyDir: {} }]);
      assert.deepEqual(template(wf(), 'train').script?.volumeMounts, [{ name: 'flowbook-data', mountPath: '/flowbook/data' }]);
    });

    it('gives the same step scripts as volume mode', () => {
      const sources = (w: Workflow) => w.spec.templates.map((t) => t.script?.source);
      assert.deepEqual(sources(wf()), sources(emit(mlPipeline())));
    });

    it('follows the notebook setting unless the options say otherwise', () => {
      const p = makePipeline({ steps: [{ name: 'a', outputs: ['x'] }, { name: 'b', inputs: { x: 'a' } }], settings: { dataPassing: 'artifacts' } });
      assert.ok(emit(p).spec.templates.some((t) => t.outputs));
      assert.ok(!emit(p, { dataPassing: 'volume' }).spec.templates.some((t) => t.outputs));
    });
  });

  describe('Kale volumes', () => {
    it('mounts an existing claim, claims a new one per run, and binds a claim to a named volume', () => {
      const wf = emit(optionsPipeline());
      assert.deepEqual(wf.spec.volumes, [{ name: 'workspace-claim', persistentVolumeClaim: { claimName: 'workspace-claim' } }]);
      assert.deepEqual(wf.spec.volumeClaimTemplates?.slice(1), [
        { metadata: { name: 'scratch-space' }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '2Gi' } }, storageClassName: 'standard' } },
        { metadata: { name: 'pv-0001' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } }, storageClassName: '', volumeName: 'pv-0001' } },
      ]);
      for (const t of wf.spec.templates.slice(1)) {
        assert.deepEqual(t.script?.volumeMounts, [
          { name: 'flowbook-data', mountPath: '/flowbook/data' },
          { name: 'workspace-claim', mountPath: '/home/jovyan' },
          { name: 'scratch-space', mountPath: '/scratch' },
          { name: 'pv-0001', mountPath: '/datasets' },
        ]);
      }
    });

    it('keeps volume names unique and apart from the data volume', () => {
      const wf = emit(one([{ name: 's' }], {
        settings: {
          volumes: [
            { name: 'flowbook-data', mountPoint: '/a', type: 'pvc' },
            { name: 'Flowbook Data', mountPoint: '/b', type: 'pvc' },
          ],
        },
      }));
      assert.deepEqual(template(wf, 's').script?.volumeMounts?.map((m) => m.name), ['flowbook-data', 'flowbook-data-2', 'flowbook-data-3']);
      assert.deepEqual(wf.spec.volumes?.map((v) => v.persistentVolumeClaim?.claimName), ['flowbook-data', 'Flowbook Data']);
    });
  });

  describe('determinism', () => {
    it('gives byte-identical YAML on every run, without timestamps', () => {
      const first = toYaml(emitWorkflow(optionsPipeline(), { dataPassing: 'artifacts' }));
      const second = toYaml(emitWorkflow(optionsPipeline(), { dataPassing: 'artifacts' }));
      assert.equal(first, second);
      assert.equal(toYaml(emitWorkflow(mlPipeline())), toYaml(emitWorkflow(mlPipeline())));
      assert.doesNotMatch(first + toYaml(emitWorkflow(mlPipeline())), /\b20\d\d-\d\d-\d\d|\d\d:\d\d:\d\d/);
    });

    it('does not change the pipeline it reads', () => {
      const p = optionsPipeline();
      const before = JSON.stringify(p);
      emitWorkflow(p, { dataPassing: 'artifacts' });
      emitWorkflow(p);
      assert.equal(JSON.stringify(p), before);
    });

    it('shares no object between templates (the YAML has no anchors)', () => {
      const yaml = toYaml(emitWorkflow(optionsPipeline()));
      assert.doesNotMatch(yaml, /[&*]a\d+\b/);
    });

    it('builds keys in the conventional order', () => {
      const wf = emit(optionsPipeline(), { dataPassing: 'artifacts' });
      assert.deepEqual(Object.keys(wf), ['apiVersion', 'kind', 'metadata', 'spec']);
      assert.deepEqual(Object.keys(wf.metadata), ['generateName', 'namespace', 'labels', 'annotations']);
      assert.deepEqual(Object.keys(wf.spec), ['entrypoint', 'arguments', 'activeDeadlineSeconds', 'volumeClaimTemplates', 'volumes', 'templates']);
      assert.deepEqual(Object.keys(template(wf, 'prepare')), ['name', 'metadata', 'inputs', 'outputs', 'retryStrategy', 'activeDeadlineSeconds', 'script']);
      assert.deepEqual(Object.keys(template(wf, 'prepare').script ?? {}), ['image', 'command', 'env', 'resources', 'volumeMounts', 'source']);
    });
  });
});
