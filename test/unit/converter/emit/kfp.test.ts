// The Kubeflow Pipelines target (emit/kfp.ts): what each setting and step option becomes in
// the IR; golden files; every fixture and corpus notebook checked with KFP's own protos and
// SDK (strict parse, resolving task graph); and whole pipelines run by a local stand-in for
// KFP's launcher (test/kfp/launcher.py), whose metrics must equal a straight-through run
// of the notebook's cells. Golden files: UPDATE_GOLDEN=1 rewrites test/fixtures/golden-kfp.

import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Compiler } from '../../../../src/converter';
import { compileKfp, kfpYaml, stepScript, type EmitOptions, type KfpCompiled } from '../../../../src/converter/emit';
import { cpuCores, memoryGigabytes } from '../../../../src/converter/emit/kfp';
import { KFP_ADAPTER_SOURCE } from '../../../../src/converter/emit/kfpAdapter';
import { SUMMARY_FILE, VALUES_FILE } from '../../../../src/converter/emit/runtime';
import type { Pipeline } from '../../../../src/converter/ir';
import { toYaml } from '../../../../src/converter/yaml';
import { checkKfpFiles, requireKfpVenv, runMetrics, runWithLauncher } from '../../../support/kfp';
import { FIXTURES, notebookJson, REPO_ROOT, SHARED } from '../../../support/notebooks';
import { PYTHON } from '../../runner/fakeWorkflow';
import { straightThrough } from '../../runner/straightThrough';
import { startKfp } from '../../kfp/support';
import { mlPipeline, optionsPipeline } from './samples';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const GOLDEN = path.join(FIXTURES, 'golden-kfp');
const NOTEBOOKS = path.join(FIXTURES, 'notebooks');

let compiler: Compiler;
let tmp: string;

function compileFile(file: string, options: EmitOptions = {}): { pipeline: Pipeline; kfp: KfpCompiled } {
  const result = compiler.compileKfpText(fs.readFileSync(file, 'utf8'), path.relative(REPO_ROOT, file), options);
  assert.ok(result.kfp, `${file} compiles for KFP: ${JSON.stringify(result.diagnostics.filter((d) => d.severity === 'error'))}`);
  return { pipeline: result.pipeline, kfp: result.kfp };
}

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

function executorArgs(kfp: KfpCompiled, template: string): string[] {
  const executor = kfp.spec.deploymentSpec.executors[`exec-${template}`];
  assert.ok(executor, `executor exec-${template}`);
  return executor.container.args;
}

before(async function () {
  this.timeout(60_000);
  compiler = await Compiler.create();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-kfp-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('KFP target: what the IR says', () => {
  it('gives each step a component, an executor and a task, and passes values as Dataset artifacts', () => {
    const pipeline = mlPipeline();
    const { spec } = compileKfp(pipeline);
    assert.equal(spec.schemaVersion, '2.1.0');
    assert.match(spec.sdkVersion, /^flowbook-/);
    assert.equal(spec.pipelineInfo.name, 'ml-demo');
    assert.deepEqual(Object.keys(spec.components), ['comp-load', 'comp-train', 'comp-report']);
    assert.deepEqual(Object.keys(spec.deploymentSpec.executors), ['exec-load', 'exec-train', 'exec-report']);
    const report = spec.root.dag.tasks.report;
    assert.ok(report);
    assert.deepEqual(report.dependentTasks, ['load', 'train']);
    assert.deepEqual(report.inputs?.artifacts, {
      train: { taskOutputArtifact: { producerTask: 'train', outputArtifactKey: 'data' } },
      load: { taskOutputArtifact: { producerTask: 'load', outputArtifactKey: 'data' } },
    });
    assert.deepEqual(report.inputs?.parameters, {
      rate: { componentInputParameter: 'rate' }, label: { componentInputParameter: 'label' }, sizes: { componentInputParameter: 'sizes' },
    });
    assert.deepEqual(spec.components['comp-report']?.outputDefinitions, { artifacts: { metrics: { artifactType: { schemaTitle: 'system.Metrics', schemaVersion: '0.0.1' } } } });
    assert.deepEqual(spec.components['comp-load']?.outputDefinitions?.artifacts?.data?.artifactType.schemaTitle, 'system.Dataset');
    assert.deepEqual(spec.root.outputDefinitions?.artifacts && Object.keys(spec.root.outputDefinitions.artifacts), ['metrics']);
    assert.deepEqual(spec.root.dag.outputs?.artifacts.metrics, { artifactSelectors: [{ producerSubtask: 'report', outputArtifactKey: 'metrics' }] });
  });

  it('types the pipeline parameters from the analysis, with their defaults', () => {
    const { spec } = compileKfp(optionsPipeline());
    assert.deepEqual(spec.root.inputDefinitions?.parameters, {
      epochs: { parameterType: 'NUMBER_INTEGER', defaultValue: 3, isOptional: true },
      lr: { parameterType: 'NUMBER_DOUBLE', defaultValue: 1, isOptional: true },
      flag: { parameterType: 'BOOLEAN', defaultValue: true, isOptional: true },
      // None has no KFP type: an optional string whose default is null. Without the default
      // KFP 2.0.5 leaves it out of the root's inputs and the reading task's driver fails.
      nothing: { parameterType: 'STRING', defaultValue: null, isOptional: true },
    });
    assert.deepEqual(spec.components['comp-train-model']?.inputDefinitions?.parameters, {
      lr: { parameterType: 'NUMBER_DOUBLE' }, flag: { parameterType: 'BOOLEAN' }, nothing: { parameterType: 'STRING' },
    });
    const lists = compileKfp(mlPipeline()).spec.root.inputDefinitions?.parameters;
    assert.deepEqual(lists?.sizes, { parameterType: 'LIST', defaultValue: [1, 2, 3], isOptional: true });
    assert.equal(lists?.label?.parameterType, 'STRING');
  });

  it('maps every step option: resources, accelerator, image, retries, cache, secrets, labels, annotations, timeout, volumes', () => {
    const compiled = compileKfp(optionsPipeline(), { stepImages: { prepare: 'registry.example.com/flowbook/prepare@sha256:0123' } });
    const prepare = compiled.spec.deploymentSpec.executors['exec-prepare']?.container;
    assert.equal(prepare?.image, 'registry.example.com/flowbook/prepare@sha256:0123');
    assert.deepEqual(prepare?.resources, {
      resourceCpuLimit: '500m', cpuLimit: 0.5, resourceMemoryLimit: '1Gi', memoryLimit: 1.073741824,
      accelerator: { resourceType: 'nvidia.com/gpu', resourceCount: '1', type: 'nvidia.com/gpu', count: '1' },
    });
    assert.equal(compiled.spec.deploymentSpec.executors['exec-train-model']?.container.image, 'notebook-image:2');
    const tasks = compiled.spec.root.dag.tasks;
    assert.deepEqual(tasks.prepare?.retryPolicy, { maxRetryCount: 2 });
    assert.equal(tasks['train-model']?.retryPolicy, undefined);
    assert.deepEqual(tasks.prepare?.cachingOptions, { enableCache: false });
    assert.deepEqual(tasks['train-model']?.cachingOptions, { enableCache: true });
    const platform = compiled.platform?.platforms.kubernetes.deploymentSpec.executors;
    const claim = { constant: 'workspace-claim', pvcNameParameter: { runtimeValue: { constant: 'workspace-claim' } }, mountPath: '/home/jovyan' };
    assert.deepEqual(platform?.['exec-prepare'], {
      secretAsEnv: [{ secretName: 'db-creds', secretNameParameter: { runtimeValue: { constant: 'db-creds' } }, keyToEnv: [{ secretKey: 'password', envVar: 'DB_PASSWORD' }], optional: false }],
      pvcMount: [claim],
      podMetadata: { labels: { team: 'ml' }, annotations: { 'example.com/owner': 'ada', 'flowbook.dev/step': 'not this' } },
      activeDeadlineSeconds: '1800',
    });
    assert.deepEqual(platform?.['exec-train-model'], { pvcMount: [claim] });
    // What KFP cannot express is left out with a warning naming it.
    const messages = compiled.diagnostics.map((d) => `${d.severity} ${d.code} ${d.message}`);
    assert.equal(messages.length, 3, messages.join('\n'));
    assert.match(messages[0] ?? '', /^warning FB500 .*volume "Scratch Space" \(type new_pvc/);
    assert.match(messages[1] ?? '', /^warning FB500 .*volume "pv-0001" \(type pv/);
    assert.match(messages[2] ?? '', /^warning FB500 the notebook's timeout \(7200 s\)/);
  });

  it('takes caching from the notebook setting when a step has no cache: tag, and states it on every task', () => {
    const pipeline = mlPipeline();
    assert.ok(Object.values(compileKfp(pipeline).spec.root.dag.tasks).every((t) => t.cachingOptions.enableCache === true));
    pipeline.settings.enableCaching = false;
    assert.ok(Object.values(compileKfp(pipeline).spec.root.dag.tasks).every((t) => t.cachingOptions.enableCache === false));
    const tagged = pipeline.steps[1];
    assert.ok(tagged);
    tagged.options.cache = true;
    assert.deepEqual(Object.values(compileKfp(pipeline).spec.root.dag.tasks).map((t) => t.cachingOptions.enableCache), [false, true, false]);
  });

  it('leaves out limits KFP cannot express, naming the step and the cell', () => {
    const pipeline = mlPipeline();
    const step = pipeline.steps[0];
    assert.ok(step);
    step.options.limits = { 'nvidia.com/gpu': '2', 'amd.com/gpu': '1', 'ephemeral-storage': '1Gi' };
    const { spec, diagnostics } = compileKfp(pipeline);
    assert.deepEqual(spec.deploymentSpec.executors['exec-load']?.container.resources, { accelerator: { resourceType: 'nvidia.com/gpu', resourceCount: '2', type: 'nvidia.com/gpu', count: '2' } });
    assert.deepEqual(diagnostics.map((d) => [d.code, d.cell]), [['FB500', 3], ['FB500', 3]]);
    assert.match(diagnostics[0]?.message ?? '', /step "load": the limit amd\.com\/gpu=1 is left out: .*one accelerator type, and it already has nvidia\.com\/gpu/);
    assert.match(diagnostics[1]?.message ?? '', /the limit ephemeral-storage=1Gi is left out/);
  });

  it('writes limits also in the deprecated numeric form, which KFP backends before the quantity strings read (KFP 2.0.5 dropped the GPU)', () => {
    // Found by KFP's own argocompiler (test/kfp/argocompiler): without the numbers an older
    // backend silently runs the step without its limits and its accelerator.
    assert.deepEqual(['2', '0.25', '250m', '1.5', '.5', '2e3', '1k', ''].map(cpuCores), [2, 0.25, 0.25, 1.5, 0.5, undefined, undefined, undefined]);
    assert.deepEqual(['1Gi', '512Mi', '2G', '1500M', '1000000000', '1.5Ti', '1e9', '1k', '1Gb'].map(memoryGigabytes),
      [1.073741824, 0.536870912, 2, 1.5, 1, 1649.267441664, undefined, undefined, undefined]);
    const pipeline = mlPipeline();
    const step = pipeline.steps[0];
    assert.ok(step);
    step.options.limits = { cpu: '2e3', memory: '300Mi' };
    // A quantity with no number in KFP's deprecated form keeps only the string.
    assert.deepEqual(compileKfp(pipeline).spec.deploymentSpec.executors['exec-load']?.container.resources, { resourceCpuLimit: '2e3', resourceMemoryLimit: '300Mi', memoryLimit: 0.3145728 });
  });

  it('compileKfpText adds the target\'s warnings to the notebook\'s diagnostics, in cell order', () => {
    const text = notebookJson([['step:a', 'x = 1'], ['step:b', 'y = x + 1']], { flowbook: { timeout: 600 } });
    const result = compiler.compileKfpText(text, 'timeout.ipynb');
    assert.ok(result.kfp);
    assert.deepEqual(result.diagnostics.map((d) => [d.code, d.severity]), [['FB500', 'warning']]);
    assert.deepEqual(result.kfp.diagnostics, result.diagnostics);
  });

  it('warns that KFP may replace placeholder text in a parameter\'s value, naming the cell and line', () => {
    const text = notebookJson([['pipeline-parameters', "n = 1\nfmt = 'a{{$}}'"], ['step:a', 'x = fmt * n']]);
    const result = compiler.compileKfpText(text, 'fmt.ipynb');
    assert.ok(result.kfp);
    assert.deepEqual(result.diagnostics.map((d) => [d.code, d.severity, d.cell, d.line]), [['FB501', 'warning', 0, 2]]);
    assert.match(result.diagnostics[0]?.message ?? '', /pipeline parameter "fmt" holds the text "\{\{\$"/);
  });

  it('is deterministic: the same notebook gives the same bytes', () => {
    const file = path.join(NOTEBOOKS, 'kale-legacy.ipynb');
    const a = compileFile(file);
    const b = compileFile(file);
    assert.equal(kfpYaml(a.kfp, file, toYaml), kfpYaml(b.kfp, file, toYaml));
  });

  it('runs each step through the adapter with the step script as it is for the other targets', () => {
    const pipeline = mlPipeline();
    const compiled = compileKfp(pipeline);
    for (const step of pipeline.steps) {
      const executor = compiled.spec.deploymentSpec.executors[`exec-${step.templateName}`]?.container;
      assert.deepEqual(executor?.command, ['python3', '-c', KFP_ADAPTER_SOURCE]);
      const args = executor?.args ?? [];
      assert.deepEqual(args.slice(0, 4), ['--executor-input', '{{$}}', '--task', step.templateName]);
      assert.equal(args[args.indexOf('--script') + 1], stepScript(pipeline, step));
      assert.deepEqual(executor?.env, [{ name: 'FLOWBOOK_STEP', value: step.name }]);
    }
    assert.ok(!KFP_ADAPTER_SOURCE.includes('{{$'), 'the adapter holds no placeholder text');
  });
});

describe('KFP target: flowbook compile --target kfp', function () {
  this.timeout(60_000);
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'flowbook.js'), 'compile', ...args], { encoding: 'utf8', cwd: REPO_ROOT });

  it('writes the IR the compiler gives, with the platform spec as a second document', () => {
    const notebook = path.join(NOTEBOOKS, 'kale-legacy.ipynb');
    const out = path.join(tmp, 'cli-kale.yaml');
    const r = cli(notebook, '--target', 'kfp', '-o', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /wrote .*cli-kale\.yaml \(4 steps, Kubeflow Pipelines\)/);
    const text = fs.readFileSync(out, 'utf8');
    assert.equal(text, kfpYaml(compileFile(notebook).kfp, notebook, toYaml));
    assert.equal(text.split('\n---\n').length, 2);
  });

  it('refuses Argo-only options and reports notebook errors without writing anything', () => {
    const notebook = path.join(NOTEBOOKS, 'basic.ipynb');
    const data = cli(notebook, '--target', 'kfp', '--data', 'volume');
    assert.equal(data.status, 2);
    assert.match(data.stderr, /--data applies to the Argo target: Kubeflow Pipelines always passes values between steps as artifacts/);
    const out = path.join(tmp, 'cli-errors.yaml');
    const errors = cli(path.join(NOTEBOOKS, 'errors.ipynb'), '--target', 'kfp', '-o', out);
    assert.equal(errors.status, 1);
    assert.match(errors.stderr, /errors?; nothing was compiled/);
    assert.equal(fs.existsSync(out), false);
  });
});

describe('KFP target: flowbook submit NOTEBOOK --target kfp (simulated KFP server)', function () {
  this.timeout(60_000);

  it('uploads the compiled pipeline, in the notebook\'s experiment, and starts one run', async () => {
    const h = await startKfp({});
    try {
      const notebook = path.join(NOTEBOOKS, 'kale-legacy.ipynb');
      const env = { ...process.env, FLOWBOOK_KFP_ENDPOINT: h.sim.url, FLOWBOOK_KFP_TOKEN: 'submit-token-1' };
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'flowbook.js'), 'submit', notebook, '--target', 'kfp'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.on('close', (code) => resolve({ code, stderr }));
      });
      assert.equal(r.code, 0, r.stderr);
      const versions = [...h.sim.versions.values()];
      assert.equal(versions.length, 1);
      assert.equal(versions[0]?.content, kfpYaml(compileFile(notebook).kfp, notebook, toYaml));
      assert.deepEqual([...h.sim.experiments.values()].map((e) => e.display_name), ['exp']);
      assert.equal(h.sim.runs.size, 1);
    } finally {
      await h.close();
    }
  });
});

describe('KFP target: golden files (test/fixtures/golden-kfp)', function () {
  this.timeout(60_000);
  // The step scripts are the Argo goldens' business (and change with the runtime): here each
  // is checked against stepScript() and stands as one line in the file.
  const cases: { name: string; build: () => { pipeline: Pipeline; kfp: KfpCompiled; notebook: string } }[] = [
    ...['basic', 'kale-legacy', 'marshalling'].map((stem) => ({
      name: stem,
      build: () => ({ ...compileFile(path.join(NOTEBOOKS, `${stem}.ipynb`)), notebook: `${stem}.ipynb` }),
    })),
    {
      name: 'options',
      build: () => {
        const pipeline = optionsPipeline();
        return { pipeline, kfp: compileKfp(pipeline, { stepImages: { prepare: 'registry.example.com/flowbook/prepare@sha256:0123' } }), notebook: pipeline.notebookPath };
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { pipeline, kfp, notebook } = c.build();
      const shown: KfpCompiled = JSON.parse(JSON.stringify(kfp)) as KfpCompiled;
      for (const step of pipeline.steps) {
        const args = executorArgs(shown, step.templateName);
        const at = args.indexOf('--script') + 1;
        assert.equal(args[at], stepScript(pipeline, step), `the script of ${step.name}`);
        args[at] = `<the step script of "${step.name}">`;
      }
      const text = kfpYaml(shown, notebook, toYaml);
      const file = path.join(GOLDEN, `${c.name}.yaml`);
      if (UPDATE) {
        fs.mkdirSync(GOLDEN, { recursive: true });
        fs.writeFileSync(file, text);
      }
      assert.ok(fs.existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1 to create it`);
      assert.equal(text, fs.readFileSync(file, 'utf8'), `${c.name}.yaml differs from the golden file (UPDATE_GOLDEN=1 rewrites it)`);
    });
  }
});

describe("KFP target: checked with KFP's own protos and SDK", function () {
  this.timeout(300_000);
  before(requireKfpVenv);

  function compiledFiles(notebooks: string[]): string[] {
    const files: string[] = [];
    for (const [i, notebook] of notebooks.entries()) {
      const result = compiler.compileKfpText(fs.readFileSync(notebook, 'utf8'), notebook);
      if (!result.kfp) continue; // corpus notebooks may have errors; the front end tests cover them
      files.push(write(`nb-${i}-${path.basename(notebook, '.ipynb')}.yaml`, kfpYaml(result.kfp, notebook, toYaml)));
    }
    return files;
  }

  it('every fixture notebook parses strictly and its task graph resolves', () => {
    const notebooks = fs.readdirSync(NOTEBOOKS).filter((f) => f.endsWith('.ipynb') && f !== 'errors.ipynb').map((f) => path.join(NOTEBOOKS, f));
    const files = compiledFiles(notebooks);
    assert.equal(files.length, notebooks.length);
    const samples = [write('options.yaml', kfpYaml(compileKfp(optionsPipeline()), 'options.ipynb', toYaml)), write('ml.yaml', kfpYaml(compileKfp(mlPipeline()), 'ml.ipynb', toYaml))];
    for (const [file, problems] of checkKfpFiles([...files, ...samples])) assert.deepEqual(problems, [], file);
  });

  const corpus = path.join(SHARED, 'corpus');
  if (fs.existsSync(corpus)) {
    it('every corpus notebook (../shared/corpus) that compiles parses strictly and its task graph resolves', () => {
      const notebooks = fs.readdirSync(corpus, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ipynb')).sort().map((f) => path.join(corpus, f));
      const files = compiledFiles(notebooks);
      assert.ok(files.length >= 20, `at least 20 corpus notebooks compile (got ${files.length})`);
      for (const [file, problems] of checkKfpFiles(files)) assert.deepEqual(problems, [], file);
    });
  } else {
    console.log(`  (../shared/corpus is absent at ${corpus}: corpus notebooks not checked with KFP's protos; the fixtures still are)`);
  }

  it('the checker accepts the KFP SDK\'s own compiled examples (../shared/examples/kfp/ir)', function () {
    const dir = path.join(SHARED, 'examples', 'kfp', 'ir');
    if (!fs.existsSync(dir)) {
      console.log(`  (${dir} is absent: the checker's own check against KFP's examples is not run)`);
      return;
    }
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => path.join(dir, f));
    for (const [file, problems] of checkKfpFiles(files, true)) assert.deepEqual(problems, [], file);
  });

  it('the checker rejects an unknown field, a dangling reference, and a data edge without a dependency', () => {
    const { kfp } = compileFile(path.join(NOTEBOOKS, 'basic.ipynb'));
    const broken = (name: string, change: (k: KfpCompiled) => void) => {
      const copy = JSON.parse(JSON.stringify(kfp)) as KfpCompiled;
      change(copy);
      return write(`broken-${name}.yaml`, kfpYaml(copy, 'basic.ipynb', toYaml));
    };
    const files = {
      unknown: broken('unknown', (k) => Object.assign(k.spec.root.dag.tasks.load ?? {}, { cachingOption: { enableCache: true } })),
      executorField: broken('executor-field', (k) => Object.assign(k.spec.deploymentSpec.executors['exec-load']?.container ?? {}, { workingDir: '/x' })),
      componentRef: broken('component', (k) => { const t = k.spec.root.dag.tasks.double; if (t) t.componentRef.name = 'comp-nothing'; }),
      dependency: broken('dependency', (k) => { const t = k.spec.root.dag.tasks.report; if (t) t.dependentTasks = ['stats']; }),
    };
    const problems = checkKfpFiles(Object.values(files));
    assert.match((problems.get(files.unknown) ?? []).join('\n'), /PipelineSpec: .*cachingOption/);
    assert.match((problems.get(files.executorField) ?? []).join('\n'), /deploymentSpec: .*workingDir/);
    assert.match((problems.get(files.componentRef) ?? []).join('\n'), /task double: componentRef 'comp-nothing' is not a component/);
    assert.match((problems.get(files.dependency) ?? []).join('\n'), /task report: reads an artifact of 'double' without depending on it/);
  });
});

describe('KFP target: whole pipelines through a stand-in for the KFP launcher', function () {
  this.timeout(300_000);
  before(requireKfpVenv);

  function run(notebook: string, options: { parameters?: Record<string, unknown>; secrets?: Record<string, Record<string, string>> } = {}) {
    const { kfp } = compileFile(notebook);
    const file = write(`${path.basename(notebook, '.ipynb')}-${Object.keys(options.parameters ?? {}).length}.yaml`, kfpYaml(kfp, notebook, toYaml));
    const work = fs.mkdtempSync(path.join(tmp, 'run-'));
    const report = runWithLauncher(file, { work, python: PYTHON, ...options });
    for (const [name, task] of Object.entries(report.tasks)) {
      assert.equal(task.state, 'SUCCEEDED', `task ${name}:\n${task.log ?? ''}`);
      assert.deepEqual(task.problems, [], `task ${name}`);
    }
    return { kfp, report };
  }

  for (const notebook of [
    path.join(NOTEBOOKS, 'basic.ipynb'),
    path.join(NOTEBOOKS, 'marshalling.ipynb'),
    path.join(FIXTURES, 'runner', 'values.ipynb'),
    path.join(REPO_ROOT, 'examples', 'breast-cancer', 'breast_cancer.ipynb'),
  ]) {
    it(`${path.basename(notebook)} gives the notebook's results`, () => {
      const { report } = run(notebook);
      assert.deepEqual(runMetrics(report), straightThrough(notebook, PYTHON));
    });
  }

  it('text that looks like a KFP placeholder in a cell reaches the step unchanged', () => {
    const notebook = path.join(tmp, 'placeholders.ipynb');
    fs.writeFileSync(notebook, notebookJson([
      ['pipeline-parameters', "fmt = 'x'"],
      ['step:make', "text = fmt + \"{{$}}{{$.inputs.parameters['x']}}{{$.outputs.output_file}}\"\nsize = len(text)"],
      ['step:use', 'doubled = size * 2'],
      ['pipeline-metrics', 'print(size)\nprint(doubled)'],
    ]));
    const { report } = run(notebook);
    assert.deepEqual(runMetrics(report), { size: 59, doubled: 118 });
    assert.deepEqual(runMetrics(report), straightThrough(notebook, PYTHON));
  });

  it('a parameter whose default is None reaches the step as None (its null default)', () => {
    const notebook = path.join(tmp, 'none-parameter.ipynb');
    fs.writeFileSync(notebook, notebookJson([
      ['pipeline-parameters', 'n = 2\nlabel = None'],
      ['step:a', 'size = n if label is None else -1'],
      ['pipeline-metrics', 'print(size)'],
    ]));
    const { report } = run(notebook);
    assert.deepEqual(runMetrics(report), { size: 2 });
    assert.deepEqual(runMetrics(report), straightThrough(notebook, PYTHON));
  });

  it('runtime parameter values reach the steps with their types', () => {
    const notebook = path.join(FIXTURES, 'runner', 'values.ipynb');
    // KFP sends numbers as protobuf doubles: n arrives as 80.0 and must be an int again.
    const { report } = run(notebook, { parameters: { n: 80, noise: 0.1, label: 'hello', use_bias: false, weights: [0.5, 1, 2] } });
    assert.deepEqual(runMetrics(report), straightThrough(notebook, PYTHON, { n: '80', noise: '0.1', label: "'hello'", use_bias: 'False', weights: '[0.5, 1, 2]' }));
  });

  it('passes each value as a Dataset artifact folder, and secrets as environment variables', () => {
    const notebook = path.join(NOTEBOOKS, 'kale-legacy.ipynb');
    const { report } = run(notebook, { secrets: { creds: { token: 's3cret' } } });
    assert.deepEqual(report.order, ['prepare', 'left', 'right', 'join']);
    for (const task of ['prepare', 'left', 'right']) assert.deepEqual(report.tasks[task]?.outputs?.data?.files, [SUMMARY_FILE, VALUES_FILE].sort(), task);
    assert.deepEqual(runMetrics(report), straightThrough(notebook, PYTHON));
  });
});

describe('KFP target: the launcher adapter', function () {
  this.timeout(60_000);
  // The adapter's functions without running main(): its source under another module name.
  const adapter = (code: string) => spawnSync(PYTHON, ['-c', `ns = {'__name__': 'adapter'}\nexec(${JSON.stringify(KFP_ADAPTER_SOURCE)}, ns)\n${code}`], { encoding: 'utf8' });

  it('maps artifact URIs to the launcher\'s local paths', () => {
    const r = adapter("print(ns['local_path']('gs://b/p/data'), ns['local_path']('s3://b/p'), ns['local_path']('minio://mlpipeline/v2/x'), ns['local_path']('/tmp/x'))");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '/gcs/b/p/data /s3/b/p /minio/mlpipeline/v2/x /tmp/x');
    const bad = adapter("ns['local_path']('https://example.com/x')");
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /artifact URI 'https:\/\/example\.com\/x' has a storage scheme the Kubeflow Pipelines launcher does not mount/);
  });

  it('fails the task with the step\'s exit code and writes no executor output', () => {
    const work = fs.mkdtempSync(path.join(tmp, 'fail-'));
    const outputFile = path.join(work, 'out', 'output_metadata.json');
    const executorInput = JSON.stringify({ outputs: { artifacts: { metrics: { artifacts: [{ name: 'metrics', uri: path.join(work, 'metrics') }] } }, outputFile } });
    const r = spawnSync(PYTHON, ['-c', KFP_ADAPTER_SOURCE, '--executor-input', executorInput, '--task', 'boom', '--script', 'import sys\nsys.exit(3)\n'], { encoding: 'utf8', env: { ...process.env, TMPDIR: work } });
    assert.equal(r.status, 3, r.stderr);
    assert.equal(fs.existsSync(outputFile), false);
  });
});
