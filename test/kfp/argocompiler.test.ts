// KFP's own backend compiler as a checker of the Kubeflow Pipelines target: every fixture
// notebook (and, with ../shared, every corpus notebook that compiles) goes through
// test/kfp/argocompiler, which runs KFP's API server code on upload and run creation
// (template parser, runtime parameters, argocompiler) and the drivers' strict parse. The
// Workflow it writes must validate against Argo's schema, run each of our steps with our
// image and command, keep our step graph, and carry our parameters to the root driver.
//
// Not in the default suite: the Go build is minutes long. `npm run check:kfp-backend`
// builds the checker (scripts/build-kfp-argocompiler.sh) and runs this file.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Compiler } from '../../src/converter';
import { compileKfp, kfpYaml, type KfpCompiled } from '../../src/converter/emit';
import type { ContainerSpec } from '../../src/converter/emit/kfpSpec';
import type { Pipeline } from '../../src/converter/ir';
import { toYaml } from '../../src/converter/yaml';
import { argoSchemaAvailable, schemaErrors } from '../support/argoSchema';
import { FIXTURES, REPO_ROOT, SHARED } from '../support/notebooks';
import { mlPipeline, optionsPipeline } from '../unit/converter/emit/samples';

const CHECKER = path.join(REPO_ROOT, '.cache', 'go', 'bin', 'kfp-argocompile');
const NOTEBOOKS = path.join(FIXTURES, 'notebooks');
const KFP_EXAMPLES = path.join(SHARED, 'examples', 'kfp');

/**
 * Fields of the Kubernetes executor config that the pinned KFP backend (2.0.5, see
 * go.mod) predates: its drivers refuse them, newer ones read them. The test predicts them
 * from our platform spec, so any other unknown field, or a change of backend, fails.
 */
function newerFieldsIn(config: Record<string, unknown>): string[] {
  const fields: string[] = [];
  for (const [key, value] of Object.entries(config).sort(([a], [b]) => a.localeCompare(b))) {
    if (key === 'podMetadata' || key === 'activeDeadlineSeconds') fields.push(key);
    if (key === 'pvcMount') (value as unknown[]).forEach((_, i) => fields.push(`pvcMount[${i}].pvcNameParameter`));
    if (key === 'secretAsEnv') (value as unknown[]).forEach((_, i) => fields.push(`secretAsEnv[${i}].optional`, `secretAsEnv[${i}].secretNameParameter`));
  }
  return fields.sort();
}

/**
 * Our container as the pinned backend passes it on: its argocompiler re-writes the container
 * spec with its own proto and silently drops the quantity strings, newer than it; what it
 * applies are the deprecated numbers, which the emitter writes beside them for that reason.
 */
function withoutNewerResourceFields(container: ContainerSpec | undefined): unknown {
  if (!container?.resources) return container;
  const { resourceCpuLimit: _cpu, resourceMemoryLimit: _memory, accelerator, ...rest } = container.resources;
  const resources = { ...rest, ...(accelerator ? { accelerator: { type: accelerator.type, count: accelerator.count } } : {}) };
  return { ...container, resources };
}

interface WorkflowTask {
  name: string;
  template: string;
  depends?: string;
  arguments?: { parameters?: { name: string; value?: string }[] };
}
interface WorkflowTemplate {
  name: string;
  dag?: { tasks: WorkflowTask[] };
  container?: { image?: string; command?: string[] };
}
interface Workflow {
  metadata: { annotations?: Record<string, string>; creationTimestamp?: string | null };
  spec: { entrypoint: string; templates: WorkflowTemplate[]; arguments?: { parameters?: { name: string; value: string }[] } };
  status?: unknown;
}

interface Checked {
  workflow?: Workflow;
  /** The checker's stderr, one problem a line. */
  problems: string[];
  status: number | null;
}

function runChecker(file: string, parameters?: Record<string, unknown>): Checked {
  const args = [...(parameters ? ['-parameters', JSON.stringify(parameters)] : []), file];
  const r = spawnSync(CHECKER, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const problems = r.stderr.split('\n').filter((l) => l.trim() !== '');
  return { status: r.status, problems, ...(r.stdout.trim() ? { workflow: JSON.parse(r.stdout) as Workflow } : {}) };
}

/** `{{workflow.annotations.X}}` and `{{workflow.parameters.X}}`: where KFP versions keep each component's JSON. */
function resolve(wf: Workflow, value: string | undefined): string | undefined {
  const m = /^\{\{workflow\.(annotations|parameters)\.([^}]+)\}\}$/.exec(value ?? '');
  if (!m) return value;
  if (m[1] === 'annotations') return wf.metadata.annotations?.[m[2] ?? ''];
  return wf.spec.arguments?.parameters?.find((p) => p.name === m[2])?.value;
}

function argument(task: WorkflowTask, name: string): string | undefined {
  return task.arguments?.parameters?.find((p) => p.name === name)?.value;
}

function dagNamed(wf: Workflow, name: string): WorkflowTask[] {
  const template = wf.spec.templates.find((t) => t.name === name);
  assert.ok(template?.dag, `the Workflow has a DAG template ${name}`);
  return template.dag.tasks;
}

/** `a.Succeeded && b.Succeeded` → [a, b]. */
function dependsOn(task: WorkflowTask): string[] {
  if (!task.depends) return [];
  return task.depends.split('&&').map((term) => {
    const m = /^\s*([a-z0-9-]+)\.Succeeded\s*$/.exec(term);
    assert.ok(m, `task ${task.name}: depends term "${term}" is of the form T.Succeeded`);
    return m[1] ?? '';
  }).sort();
}

/** The object the cluster receives: Go writes zero times as null, and a submitted Workflow has no status. */
function submitted(wf: Workflow): Workflow {
  const copy = JSON.parse(JSON.stringify(wf)) as Workflow;
  delete copy.status;
  if (copy.metadata.creationTimestamp === null) delete copy.metadata.creationTimestamp;
  return copy;
}

/** Everything the test asserts on one compiled pipeline; returns the checked Workflow. */
function assertRunsOurPipeline(name: string, pipeline: Pipeline, kfp: KfpCompiled, checked: Checked, runtime?: Record<string, unknown>): Workflow {
  // 1. KFP accepts the upload and the run, and each driver reads its task (save the known newer fields).
  const expected = Object.entries(kfp.platform?.platforms.kubernetes.deploymentSpec.executors ?? {})
    .map(([exec, config]) => [exec.replace(/^exec-/, ''), newerFieldsIn(config as Record<string, unknown>)] as const)
    .filter(([, fields]) => fields.length > 0);
  const reported = checked.problems.map((line) => {
    const m = /^driver refuses kubernetes-comp-([a-z0-9-]+): unknown fields (.*)$/.exec(line);
    assert.ok(m, `${name}: KFP refuses it:\n${checked.problems.join('\n')}`);
    return [m[1] ?? '', (m[2] ?? '').split(', ').sort()] as const;
  });
  assert.deepEqual(new Map(reported), new Map(expected), `${name}: the only fields the pinned KFP's drivers refuse are the known newer ones`);
  assert.equal(checked.status, expected.length > 0 ? 1 : 0, `${name}: exit status`);
  const wf = checked.workflow;
  assert.ok(wf, `${name}: the checker wrote the Workflow`);

  // 2. Argo's schema accepts what the API server would submit.
  if (argoSchemaAvailable()) assert.deepEqual(schemaErrors(submitted(wf)), [], `${name}: Argo schema`);

  // 3. Each step: a driver task and an executor task in the root DAG; the driver runs our
  //    component, task and container (image, command, args, env) and our Kubernetes config.
  const root = dagNamed(wf, 'root');
  const byName = new Map(root.map((t) => [t.name, t]));
  const templateOf = new Map(pipeline.steps.map((s) => [s.name, s.templateName]));
  assert.deepEqual([...byName.keys()].sort(), pipeline.steps.flatMap((s) => [s.templateName, `${s.templateName}-driver`]).sort(), `${name}: root tasks`);
  for (const step of pipeline.steps) {
    const t = step.templateName;
    const driver = byName.get(`${t}-driver`);
    const executor = byName.get(t);
    assert.ok(driver && executor);
    assert.equal(driver.template, 'system-container-driver');
    assert.equal(executor.template, 'system-container-executor');
    assert.deepEqual(dependsOn(executor), [`${t}-driver`], `${name}: ${t} starts after its driver`);
    const container = JSON.parse(resolve(wf, argument(driver, 'container')) ?? 'null') as unknown;
    assert.deepEqual(container, withoutNewerResourceFields(kfp.spec.deploymentSpec.executors[`exec-${t}`]?.container), `${name}: ${t} runs our image and command`);
    const component = JSON.parse(resolve(wf, argument(driver, 'component')) ?? 'null') as unknown;
    assert.deepEqual(component, kfp.spec.components[`comp-${t}`], `${name}: ${t}'s component`);
    // proto3 JSON leaves out a false enableCache; KFP reads the absent field as false too.
    const task = JSON.parse(argument(driver, 'task') ?? 'null') as { cachingOptions?: { enableCache?: boolean } };
    if (task.cachingOptions && task.cachingOptions.enableCache === undefined) task.cachingOptions.enableCache = false;
    assert.deepEqual(task, kfp.spec.root.dag.tasks[t], `${name}: ${t}'s task (inputs, caching, retries)`);
    const k8s = resolve(wf, argument(driver, 'kubernetes-config'));
    const config = kfp.platform?.platforms.kubernetes.deploymentSpec.executors[`exec-${t}`];
    assert.deepEqual(k8s ? JSON.parse(k8s) as unknown : undefined, config, `${name}: ${t}'s Kubernetes config`);

    // 4. The DAG keeps our step graph: a driver waits for every step this one reads from or runs after.
    const upstream = [...new Set([...step.after, ...step.inputs.map((i) => i.from)])].map((s) => templateOf.get(s) ?? `unknown step ${s}`).sort();
    assert.deepEqual(dependsOn(driver), upstream, `${name}: ${t} waits for its upstream steps`);
  }

  // 5. Parameters: the root driver gets every pipeline parameter, typed (a None default is null),
  //    or the run's value; each task reads the ones its step uses from the root's inputs.
  const entry = dagNamed(wf, wf.spec.entrypoint).find((t) => t.name === 'root-driver');
  assert.ok(entry, `${name}: a root driver`);
  const values = (JSON.parse(argument(entry, 'runtime-config') ?? '{}') as { parameterValues?: Record<string, unknown> }).parameterValues ?? {};
  // A None default must arrive as null: KFP 2.0.5 passes on only the parameters with a default.
  const wanted = Object.fromEntries(pipeline.parameters.map((p) => [p.name, runtime && p.name in runtime ? runtime[p.name] : p.default]));
  assert.deepEqual(values, wanted, `${name}: the root driver's parameter values`);
  return wf;
}

let compiler: Compiler;
let tmp: string | undefined;

before(async function () {
  this.timeout(60_000);
  assert.ok(fs.existsSync(CHECKER), `${CHECKER} is missing: run \`npm run check:kfp-backend\` (it builds it with scripts/build-kfp-argocompiler.sh)`);
  compiler = await Compiler.create();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-argocompiler-'));
});
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function write(name: string, kfp: KfpCompiled): string {
  const file = path.join(tmp ?? os.tmpdir(), name);
  fs.writeFileSync(file, kfpYaml(kfp, name, toYaml));
  return file;
}

function compileNotebook(notebook: string): { pipeline: Pipeline; kfp: KfpCompiled } | undefined {
  const result = compiler.compileKfpText(fs.readFileSync(notebook, 'utf8'), notebook);
  return result.kfp ? { pipeline: result.pipeline, kfp: result.kfp } : undefined;
}

describe("KFP target: KFP's own backend (API server + argocompiler + drivers)", function () {
  this.timeout(600_000);

  it('every fixture notebook and sample pipeline compiles into a Workflow that runs our steps', () => {
    const notebooks = fs.readdirSync(NOTEBOOKS).filter((f) => f.endsWith('.ipynb') && f !== 'errors.ipynb').sort();
    assert.ok(notebooks.length >= 5);
    for (const f of notebooks) {
      const compiled = compileNotebook(path.join(NOTEBOOKS, f));
      assert.ok(compiled, `${f} compiles for KFP`);
      assertRunsOurPipeline(f, compiled.pipeline, compiled.kfp, runChecker(write(f.replace(/\.ipynb$/, '.yaml'), compiled.kfp)));
    }
    const samples: [string, Pipeline, KfpCompiled][] = [
      ['ml', mlPipeline(), compileKfp(mlPipeline())],
      ['options', optionsPipeline(), compileKfp(optionsPipeline(), { stepImages: { prepare: 'registry.example.com/flowbook/prepare@sha256:0123' } })],
    ];
    for (const [name, pipeline, kfp] of samples) assertRunsOurPipeline(name, pipeline, kfp, runChecker(write(`${name}.yaml`, kfp)));
  });

  it('runtime parameter values reach the root driver with their types, and a wrong type is refused', () => {
    const pipeline = mlPipeline();
    const kfp = compileKfp(pipeline);
    const file = write('ml-params.yaml', kfp);
    const runtime = { rate: 0.5, label: 'run 2', sizes: [4, 5] };
    assertRunsOurPipeline('ml with runtime values', pipeline, kfp, runChecker(file, runtime), runtime);
    const wrong = runChecker(file, { rate: 'fast' });
    assert.equal(wrong.status, 1);
    assert.match(wrong.problems.join('\n'), /run refused: .*rate/);
  });

  it('the checker refuses what KFP refuses: an unknown IR field, an unknown Kubernetes config field; an unknown container field vanishes', () => {
    const pipeline = mlPipeline();
    const kfp = compileKfp(pipeline);
    const unknown = JSON.parse(JSON.stringify(kfp)) as KfpCompiled;
    Object.assign(unknown.spec.root.dag.tasks.load ?? {}, { cachingOption: { enableCache: true } });
    const refused = runChecker(write('unknown.yaml', unknown));
    assert.equal(refused.status, 1);
    // (KFP 2.0.5 words it as an unknown template format; the field is what makes it one.)
    assert.match(refused.problems.join('\n'), /^upload refused: /);
    assert.equal(runChecker(write('known.yaml', kfp)).status, 0, 'the same file without the field is accepted');
    // The drivers parse the Kubernetes config strictly: an unknown field fails the step.
    const options = compileKfp(optionsPipeline());
    Object.assign(options.platform?.platforms.kubernetes.deploymentSpec.executors['exec-prepare'] ?? {}, { tolerationz: [] });
    const checked = runChecker(write('driver.yaml', options));
    assert.ok(checked.problems.some((p) => /^driver refuses kubernetes-comp-prepare: unknown fields .*\btolerationz\b/.test(p)), checked.problems.join('\n'));
    // The argocompiler drops an unknown container field silently (how a GPU limit got lost):
    // the test above compares every container with ours for that reason.
    const container = JSON.parse(JSON.stringify(kfp)) as KfpCompiled;
    Object.assign(container.spec.deploymentSpec.executors['exec-load']?.container ?? {}, { workingDir: '/x' });
    const dropped = runChecker(write('container.yaml', container));
    assert.equal(dropped.status, 0);
    const load = dagNamed(dropped.workflow as Workflow, 'root').find((t) => t.name === 'load-driver');
    assert.ok(load && !(resolve(dropped.workflow as Workflow, argument(load, 'container')) ?? '').includes('workingDir'));
  });

  it("has the shape of the Workflows KFP makes from the SDK's own IR (../shared/examples/kfp)", function () {
    const examples = path.join(KFP_EXAMPLES, 'argo-from-ir');
    if (!fs.existsSync(examples)) {
      console.log(`  (${examples} is absent: the shape comparison is not run; the other tests still check every step)`);
      return;
    }
    // Each step is a pair of tasks, T-driver then T, in KFP's Workflows as in ours.
    const read = (f: string) => parseAllDocuments(fs.readFileSync(path.join(examples, f), 'utf8'))[0]?.toJS() as Workflow;
    for (const f of fs.readdirSync(examples).filter((x) => x.endsWith('.yaml'))) {
      const root = dagNamed(read(f), 'root');
      for (const task of root.filter((t) => t.template === 'system-container-executor')) {
        const driver = root.find((d) => d.name === `${task.name}-driver`);
        assert.equal(driver?.template, 'system-container-driver', `${f}: ${task.name} has a driver`);
        assert.deepEqual(dependsOn(task), [`${task.name}-driver`], `${f}: ${task.name} starts after its driver`);
      }
    }
    // The same templates as KFP's plain pipeline (no loops, retries or sub-DAGs): the container
    // driver, executor and launcher pod, the DAG driver, root and the entrypoint.
    const ours = runChecker(write('ml-shape.yaml', compileKfp(mlPipeline()))).workflow;
    assert.ok(ours);
    assert.deepEqual(ours.spec.templates.map((t) => t.name).sort(), read('hello_world.yaml').spec.templates.map((t) => t.name).sort());
    // The step's own image reaches the launcher pod only through the driver's pod spec patch.
    const impl = ours.spec.templates.find((t) => t.name === 'system-container-impl');
    assert.match(impl?.container?.image ?? '', /should-be-overridden-during-runtime/);

    // KFP's SDK output goes through the same checker (it also carries newer platform fields).
    const ir = path.join(KFP_EXAMPLES, 'ir', 'producer_consumer_param_pipeline.yaml');
    assert.equal(runChecker(ir).status, 0);
  });

  const corpus = path.join(SHARED, 'corpus');
  if (fs.existsSync(corpus)) {
    it('every corpus notebook (../shared/corpus) that compiles runs our steps under KFP', () => {
      const notebooks = fs.readdirSync(corpus, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ipynb')).sort();
      let checked = 0;
      for (const f of notebooks) {
        const compiled = compileNotebook(path.join(corpus, f));
        if (!compiled) continue; // notebooks with errors: the front end's tests cover them
        assertRunsOurPipeline(f, compiled.pipeline, compiled.kfp, runChecker(write(`corpus-${checked}.yaml`, compiled.kfp)));
        checked++;
      }
      assert.ok(checked >= 20, `at least 20 corpus notebooks compile (got ${checked})`);
    });
  } else {
    console.log(`  (../shared/corpus is absent at ${corpus}: corpus notebooks are not checked with KFP's backend; the fixtures still are)`);
  }
});
