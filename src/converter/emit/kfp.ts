// Pipeline → Kubeflow Pipelines v2 IR (`PipelineSpec`, schemaVersion 2.1.0) and, when a
// step needs Kubernetes settings, the `PlatformSpec` document KFP reads beside it. The
// second target over the same pipeline IR and the same step scripts as the Argo emitter
// (workflow.ts); deterministic like it: the same pipeline gives the same objects.
//
// Layout, as the KFP SDK writes it: per step a component `comp-T`, an executor `exec-T` and
// a root DAG task `T` (T: the step's template name). Choices, and why:
// - Values between steps: each step with outputs declares the output artifact `data`
//   (system.Dataset, a folder); a consumer takes one input artifact per producer, keyed by
//   the producer's template name, through `taskOutputArtifact`. No shared volume is needed,
//   and KFP's cache sees the upstream data. Every producer is also in `dependentTasks`.
// - Parameters: typed `root.inputDefinitions` with defaults, passed to the tasks that read
//   them (`componentInputParameter`). A `None` default becomes an optional STRING whose
//   default is null (the step gets None, as in the notebook, unless the run gives a value);
//   left without a default, KFP 2.0.5's driver fails the task (found by its own code:
//   test/kfp/argocompiler).
// - Metrics: the output artifact `metrics` (system.Metrics) whose metadata the adapter
//   writes through the ExecutorOutput, re-exported as pipeline outputs so the KFP UI shows
//   and compares them.
// - Caching: `cachingOptions.enableCache` on every task (KFP reads an absent one as false):
//   the step's `cache:` tag, else the notebook's setting, else on, as in the local runner.
//   KFP keys its cache on the task's inputs, upstream artifacts included.
// - Resources: limits only, as in the Argo target; any resource but cpu and memory is the
//   accelerator (KFP takes one per container). Each is written in both of KFP's forms, as
//   the SDK does: older backends read only the deprecated numbers and drop the rest
//   silently (found by running KFP 2.0.5's own compiler: test/kfp/argocompiler).
// - Retries: `retryPolicy.maxRetryCount` alone, so KFP's backoff defaults apply.
// - Step timeout: the platform spec's `activeDeadlineSeconds` (per attempt, as in Argo).
// - Kale `pvc` volumes: `pvcMount` on every step. KFP has no per-run claim templates, so
//   `new_pvc` and `pv` volumes, and the notebook's whole-pipeline timeout, are left out
//   with a warning (FB500).
// - KFP replaces `{{$...}}` in every command element; a step script never holds `{{`
//   (script.ts escapes it in user code), nor does the adapter. A parameter value may, and
//   KFP may replace it there too: a warning (FB501) names the parameter.

import type { Diagnostic } from '../diagnostics';
import { diag } from '../diagnostics';
import type { Pipeline, PipelineParameter, Step } from '../ir';
import { VERSION } from '../../version';
import { KFP_ADAPTER_SOURCE } from './kfpAdapter';
import type {
  ArtifactSpec, Component, ContainerResources, ContainerSpec, KfpParameterType, KubernetesExecutorConfig, ParameterSpec,
  PipelineSpec, PlatformSpec, ProtoValue, SecretAsEnv, Task,
} from './kfpSpec';
import type { EmitOptions } from './options';
import { STEP_ENV } from './options';
import { baseName, stepScript } from './script';
import { yamlComment } from './pyComment';
import { dnsName, imageOf } from './workflow';

/** The output artifact holding a step's saved values (a folder), and the one holding its metrics. */
export const KFP_DATA_ARTIFACT = 'data';
export const KFP_METRICS_ARTIFACT = 'metrics';

export interface KfpCompiled {
  spec: PipelineSpec;
  /** Present when some step needs Kubernetes settings (secrets, volumes, pod metadata, timeouts). */
  platform?: PlatformSpec;
  /** Target-specific warnings (FB500); the front end's diagnostics are in the pipeline. */
  diagnostics: Diagnostic[];
}

const DATASET: ArtifactSpec = { artifactType: { schemaTitle: 'system.Dataset', schemaVersion: '0.0.1' } };
const METRICS: ArtifactSpec = { artifactType: { schemaTitle: 'system.Metrics', schemaVersion: '0.0.1' } };

const PARAMETER_TYPES: Record<PipelineParameter['type'], KfpParameterType> = {
  int: 'NUMBER_INTEGER',
  float: 'NUMBER_DOUBLE',
  str: 'STRING',
  bool: 'BOOLEAN',
  NoneType: 'STRING',
  list: 'LIST',
  dict: 'STRUCT',
};

/** KFP substitutes `{{$...}}` in commands and string parameter values. */
const PLACEHOLDER_START = '{{$';

/**
 * The KFP IR of a pipeline. Expects a pipeline without error diagnostics (as `emitWorkflow`);
 * a step that refers to an unknown step or parameter is a bug in the front end and throws.
 */
export function compileKfp(pipeline: Pipeline, options: EmitOptions = {}): KfpCompiled {
  const diagnostics: Diagnostic[] = [];
  const byName = new Map(pipeline.steps.map((s) => [s.name, s]));
  const templateOf = (wanted: string, by: Step): string => {
    const found = byName.get(wanted);
    if (!found) throw new Error(`step "${by.name}" refers to step "${wanted}", which the pipeline does not have`);
    return found.templateName;
  };
  const parameters = new Map(pipeline.parameters.map((p) => [p.name, p]));
  const mounts = pvcMounts(pipeline, diagnostics);
  if (pipeline.settings.timeoutSeconds !== undefined && pipeline.settings.timeoutSeconds > 0) {
    diagnostics.push(diag('FB500', `the notebook's timeout (${pipeline.settings.timeoutSeconds} s) is not applied on Kubeflow Pipelines, which has no whole-run deadline; set \`timeout:\` on the long steps instead.`));
  }

  const components: Record<string, Component> = {};
  const executors: Record<string, { container: ContainerSpec }> = {};
  const platformExecutors: Record<string, KubernetesExecutorConfig> = {};
  const tasks: Record<string, Task> = {};
  const metricOutputs: string[] = [];

  for (const step of pipeline.steps) {
    const name = step.templateName;
    const producers = unique(step.inputs.map((i) => templateOf(i.from, step)));
    const component: Component = { executorLabel: `exec-${name}` };
    const inputArtifacts = Object.fromEntries(producers.map((p) => [p, DATASET]));
    const inputParameters: Record<string, ParameterSpec> = {};
    for (const p of step.parameters) inputParameters[p] = { parameterType: PARAMETER_TYPES[parameterNamed(parameters, p, step).type] };
    if (producers.length > 0 || step.parameters.length > 0) {
      component.inputDefinitions = {
        ...(producers.length > 0 ? { artifacts: inputArtifacts } : {}),
        ...(step.parameters.length > 0 ? { parameters: inputParameters } : {}),
      };
    }
    const outputArtifacts: Record<string, ArtifactSpec> = {};
    if (step.outputs.length > 0) outputArtifacts[KFP_DATA_ARTIFACT] = DATASET;
    if (step.metrics.length > 0) {
      outputArtifacts[KFP_METRICS_ARTIFACT] = METRICS;
      metricOutputs.push(name);
    }
    if (Object.keys(outputArtifacts).length > 0) component.outputDefinitions = { artifacts: outputArtifacts };
    components[`comp-${name}`] = component;

    executors[`exec-${name}`] = { container: container(pipeline, step, options, parameters, diagnostics) };
    const platform = platformConfig(step, mounts);
    if (platform) platformExecutors[`exec-${name}`] = platform;

    const dependencies = unique([...step.after.map((a) => templateOf(a, step)), ...producers]);
    const task: Task = {
      taskInfo: { name },
      componentRef: { name: `comp-${name}` },
      ...(dependencies.length > 0 ? { dependentTasks: dependencies } : {}),
      ...(producers.length > 0 || step.parameters.length > 0 ? { inputs: taskInputs(producers, step.parameters) } : {}),
      cachingOptions: { enableCache: step.options.cache ?? pipeline.settings.enableCaching ?? true },
    };
    if (step.options.retry !== undefined && step.options.retry > 0) task.retryPolicy = { maxRetryCount: step.options.retry };
    tasks[name] = task;
  }

  const root: PipelineSpec['root'] = { dag: { tasks } };
  if (metricOutputs.length > 0) {
    // One step with metrics: the pipeline output `metrics`; several: `metrics-T` per step.
    const key = (t: string) => (metricOutputs.length === 1 ? KFP_METRICS_ARTIFACT : `${KFP_METRICS_ARTIFACT}-${t}`);
    root.dag.outputs = {
      artifacts: Object.fromEntries(metricOutputs.map((t) => [key(t), { artifactSelectors: [{ producerSubtask: t, outputArtifactKey: KFP_METRICS_ARTIFACT }] }])),
    };
    root.outputDefinitions = { artifacts: Object.fromEntries(metricOutputs.map((t) => [key(t), METRICS])) };
  }
  for (const p of pipeline.parameters) {
    if (JSON.stringify(p.default).includes(PLACEHOLDER_START)) {
      diagnostics.push(diag('FB501', `pipeline parameter "${p.name}" holds the text "${PLACEHOLDER_START}", which Kubeflow Pipelines may replace with its own data before the step sees the value; build the text in a step instead, for example '{' + '{$'.`, { cell: p.cell, line: p.line }));
    }
  }
  if (pipeline.parameters.length > 0) {
    root.inputDefinitions = { parameters: Object.fromEntries(pipeline.parameters.map((p) => [p.name, rootParameter(p)])) };
  }
  // KFP's DAG reads inputs before outputs; keep the SDK's key order for readers comparing files.
  const orderedRoot: PipelineSpec['root'] = {
    dag: root.dag,
    ...(root.inputDefinitions ? { inputDefinitions: root.inputDefinitions } : {}),
    ...(root.outputDefinitions ? { outputDefinitions: root.outputDefinitions } : {}),
  };

  const spec: PipelineSpec = {
    pipelineInfo: { name: dnsName(pipeline.name, 128), ...(pipeline.description ? { description: pipeline.description } : {}) },
    sdkVersion: `flowbook-${VERSION}`,
    schemaVersion: '2.1.0',
    components,
    deploymentSpec: { executors },
    root: orderedRoot,
  };
  const result: KfpCompiled = { spec, diagnostics };
  if (Object.keys(platformExecutors).length > 0) {
    result.platform = { platforms: { kubernetes: { deploymentSpec: { executors: platformExecutors } } } };
  }
  return result;
}

/**
 * The file users commit and upload: a header comment, the IR, and the platform spec as a
 * second YAML document when there is one (as the KFP SDK writes it).
 */
export function kfpYaml(compiled: KfpCompiled, notebookPath: string, toYaml: (value: unknown) => string): string {
  const header = [
    '# Kubeflow Pipelines IR',
    `# Name: ${yamlComment(compiled.spec.pipelineInfo.name)}`,
    `# Compiled by Flowbook ${VERSION} from ${yamlComment(baseName(notebookPath))}: edit the notebook and compile again rather than this file.`,
  ].join('\n');
  const documents = [toYaml(compiled.spec)];
  if (compiled.platform) documents.push(toYaml(compiled.platform));
  return `${header}\n${documents.join('---\n')}`;
}

function container(pipeline: Pipeline, step: Step, options: EmitOptions, parameters: Map<string, PipelineParameter>, diagnostics: Diagnostic[]): ContainerSpec {
  const script = stepScript(pipeline, step, options);
  const integers = step.parameters.filter((p) => parameterNamed(parameters, p, step).type === 'int');
  const args = ['--executor-input', '{{$}}', '--task', step.templateName];
  if (integers.length > 0) args.push('--integers', integers.join(','));
  args.push('--script', script);
  const spec: ContainerSpec = {
    image: imageOf(pipeline, step, options),
    command: ['python3', '-c', KFP_ADAPTER_SOURCE],
    args,
    env: [{ name: STEP_ENV, value: step.name }],
  };
  const resources = resourcesOf(step, diagnostics);
  if (resources) spec.resources = resources;
  return spec;
}

function resourcesOf(step: Step, diagnostics: Diagnostic[]): ContainerResources | undefined {
  const resources: ContainerResources = {};
  const at = step.cells[0] === undefined ? {} : { cell: step.cells[0] };
  for (const [name, quantity] of Object.entries(step.options.limits)) {
    if (name === 'cpu') {
      resources.resourceCpuLimit = quantity;
      const cores = cpuCores(quantity);
      if (cores !== undefined) resources.cpuLimit = cores;
    } else if (name === 'memory') {
      resources.resourceMemoryLimit = quantity;
      const gb = memoryGigabytes(quantity);
      if (gb !== undefined) resources.memoryLimit = gb;
    } else if (name.includes('/') && /^\d+$/.test(quantity) && !resources.accelerator) {
      resources.accelerator = { resourceType: name, resourceCount: quantity, type: name, count: quantity };
    } else {
      const why = resources.accelerator && name.includes('/')
        ? `Kubeflow Pipelines gives a step one accelerator type, and it already has ${resources.accelerator.resourceType}`
        : name.includes('/') ? 'an accelerator count must be a whole number' : 'Kubeflow Pipelines sets only cpu, memory and one accelerator';
      diagnostics.push(diag('FB500', `step "${step.name}": the limit ${name}=${quantity} is left out: ${why}.`, at));
    }
  }
  return Object.keys(resources).length > 0 ? resources : undefined;
}

/** A CPU quantity in cores (`500m` → 0.5), as KFP's deprecated `cpuLimit`; undefined for forms it has no number for. */
export function cpuCores(quantity: string): number | undefined {
  const m = /^(\d+(?:\.\d*)?|\.\d+)(m?)$/.exec(quantity);
  if (!m) return undefined;
  return m[2] === 'm' ? Number(m[1]) / 1000 : Number(m[1]);
}

const BYTES_PER_SUFFIX: Record<string, number> = {
  '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A memory quantity in decimal GB (`1Gi` → 1.073741824), as KFP's deprecated `memoryLimit`; undefined for forms it has no number for. */
export function memoryGigabytes(quantity: string): number | undefined {
  const m = /^(\d+(?:\.\d*)?|\.\d+)([KMGTPE]i?)?$/.exec(quantity);
  const factor = m ? BYTES_PER_SUFFIX[m[2] ?? ''] : undefined;
  if (!m || factor === undefined) return undefined;
  return (Number(m[1]) * factor) / 1e9;
}

interface PvcMountSetting {
  claim: string;
  mountPath: string;
}

function pvcMounts(pipeline: Pipeline, diagnostics: Diagnostic[]): PvcMountSetting[] {
  const mounts: PvcMountSetting[] = [];
  for (const v of pipeline.settings.volumes) {
    if (v.type === 'pvc') mounts.push({ claim: v.name, mountPath: v.mountPoint });
    else {
      diagnostics.push(diag('FB500', `the volume "${v.name}" (type ${v.type}, mounted at ${v.mountPoint}) is left out: a Kubeflow Pipelines run cannot create ${v.type === 'pv' ? 'a claim for a PersistentVolume' : 'a claim per run'}. Create a PersistentVolumeClaim and give the volume type "pvc" with the claim's name, or pass data between steps as variables.`));
    }
  }
  return mounts;
}

function platformConfig(step: Step, mounts: readonly PvcMountSetting[]): KubernetesExecutorConfig | undefined {
  const o = step.options;
  const config: KubernetesExecutorConfig = {};
  if (o.secrets.length > 0) {
    const bySecret = new Map<string, SecretAsEnv>();
    for (const s of o.secrets) {
      let entry = bySecret.get(s.secret);
      if (!entry) {
        entry = { secretName: s.secret, secretNameParameter: { runtimeValue: { constant: s.secret } }, keyToEnv: [], optional: false };
        bySecret.set(s.secret, entry);
      }
      entry.keyToEnv.push({ secretKey: s.key, envVar: s.env });
    }
    config.secretAsEnv = [...bySecret.values()];
  }
  if (mounts.length > 0) {
    config.pvcMount = mounts.map((m) => ({ constant: m.claim, pvcNameParameter: { runtimeValue: { constant: m.claim } }, mountPath: m.mountPath }));
  }
  const labels = Object.keys(o.labels).length > 0 ? { ...o.labels } : undefined;
  const annotations = Object.keys(o.annotations).length > 0 ? { ...o.annotations } : undefined;
  if (labels || annotations) config.podMetadata = { ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) };
  if (o.timeoutSeconds !== undefined && o.timeoutSeconds > 0) config.activeDeadlineSeconds = String(o.timeoutSeconds);
  return Object.keys(config).length > 0 ? config : undefined;
}

function taskInputs(producers: readonly string[], parameters: readonly string[]): NonNullable<Task['inputs']> {
  const inputs: NonNullable<Task['inputs']> = {};
  if (producers.length > 0) {
    inputs.artifacts = Object.fromEntries(producers.map((p) => [p, { taskOutputArtifact: { producerTask: p, outputArtifactKey: KFP_DATA_ARTIFACT } }]));
  }
  if (parameters.length > 0) inputs.parameters = Object.fromEntries(parameters.map((p) => [p, { componentInputParameter: p }]));
  return inputs;
}

function rootParameter(p: PipelineParameter): ParameterSpec {
  // None is stated as a null default, not left out: KFP 2.0.5 gives the root DAG only the
  // parameters with a default, and a task reading a missing one fails in its driver.
  return { parameterType: PARAMETER_TYPES[p.type], defaultValue: p.type === 'NoneType' ? null : p.default as ProtoValue, isOptional: true };
}

function parameterNamed(parameters: Map<string, PipelineParameter>, name: string, step: Step): PipelineParameter {
  const p = parameters.get(name);
  if (!p) throw new Error(`step "${step.name}" uses pipeline parameter "${name}", which the pipeline does not define`);
  return p;
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}
