// Pipeline → Argo Workflow object: one DAG entrypoint whose tasks run one `script`
// template per step. Walks the IR once and builds each object in the conventional key
// order (the YAML keeps construction order). Nothing here depends on time or randomness:
// the same pipeline gives the same object, and `generateName` lets Argo name each run.
//
// Choices, and why:
// - Resources: only `limits` are written. Kubernetes sets a container's requests equal to
//   its limits when only limits are given (also for GPUs, where they must be equal), so
//   `requests` would repeat them; the scheduler reserves exactly what the tag asks for.
// - `cache:` tags: no Argo `memoize`. Memoization caches a step by a key we would have to
//   compute without knowing the upstream data, and in volume mode a cache hit skips the
//   step while its outputs sit on an earlier run's volume, already deleted, so the steps
//   after it fail. The choice is kept as the `flowbook.dev/cache` pod annotation; the
//   local runner, which hashes real inputs, honours it.
// - Timeouts: a step's `timeout:` is the template's `activeDeadlineSeconds` (per attempt,
//   so each retry gets the full time); the notebook's timeout is the workflow's.
// - IntOrString fields (`retryStrategy.limit`, template `activeDeadlineSeconds`) are
//   decimal strings: the published schema types them as strings, Argo parses both.
// - No `podGC` or `ttlStrategy`: deleting pods or the finished workflow would take the
//   logs and the run history the editor shows. Argo's default volume claim GC keeps the
//   data volume of a failed run (for inspection) and deletes it after success.
// - Artifacts mode: each step with outputs declares its folder as the output artifact
//   `data`; consumers receive it at the same path, so the step scripts are identical in
//   both modes. Argo needs an artifact repository for this. `/flowbook/data` is an
//   `emptyDir` there, writable by any user id and collectable by every executor.
// - Metrics are declared as the `mlpipeline-metrics` output artifact in artifacts mode
//   only: an output artifact needs an artifact repository, which volume mode must not
//   require (the step still writes the file and prints each metric to its log).

import type { Pipeline, Step, VolumeSetting } from '../ir';
import { VERSION } from '../../version';
import type {
  Artifact, DagTask, EnvVar, Parameter, PersistentVolumeClaimTemplate, PodMetadata, Template, Volume, VolumeMount, Workflow,
} from '../../argo/compiled';
import {
  DATA_MOUNT_PATH, DATA_VOLUME_NAME, DEFAULT_IMAGE, DEFAULT_VOLUME_SIZE, EmitOptions, METRICS_PATH, PARAM_ENV_PREFIX, STEP_ENV,
} from './options';
import { baseName, noTemplate, stepScript } from './script';

export const STEP_ANNOTATION = 'flowbook.dev/step';
export const CELLS_ANNOTATION = 'flowbook.dev/cells';
export const CACHE_ANNOTATION = 'flowbook.dev/cache';
/** The variables a step saves for later steps (comma-separated); a runner checks they were written. */
export const OUTPUTS_ANNOTATION = 'flowbook.dev/outputs';
export const PIPELINE_LABEL = 'flowbook.dev/pipeline';
export const NOTEBOOK_ANNOTATION = 'flowbook.dev/notebook';
export const VERSION_ANNOTATION = 'flowbook.dev/version';
export const EXPERIMENT_ANNOTATION = 'flowbook.dev/experiment';
/** The Argo UI shows this annotation under the workflow's name. */
export const DESCRIPTION_ANNOTATION = 'workflows.argoproj.io/description';
/** The output artifact holding a step's folder (artifacts mode). */
export const DATA_ARTIFACT = 'data';
export const METRICS_ARTIFACT = 'mlpipeline-metrics';

/**
 * The Argo Workflow of a pipeline. Expects a pipeline without error diagnostics; a step that
 * refers to an unknown step or parameter is a bug in the front end and throws.
 */
export function emitWorkflow(pipeline: Pipeline, options: EmitOptions = {}): Workflow {
  const settings = pipeline.settings;
  const artifacts = (options.dataPassing ?? settings.dataPassing ?? 'volume') === 'artifacts';
  const entrypoint = entrypointName(pipeline.steps);
  const kale = kaleVolumes(settings.volumes);

  const name = dnsName(pipeline.name, 57);
  const annotations: Record<string, string> = {
    [NOTEBOOK_ANNOTATION]: baseName(pipeline.notebookPath),
    [VERSION_ANNOTATION]: VERSION,
  };
  if (pipeline.experiment) annotations[EXPERIMENT_ANNOTATION] = pipeline.experiment;
  if (pipeline.description) annotations[DESCRIPTION_ANNOTATION] = pipeline.description;
  const namespace = options.namespace ?? settings.namespace;

  const claims: PersistentVolumeClaimTemplate[] = [];
  const volumes: Volume[] = [];
  if (artifacts) {
    volumes.push({ name: DATA_VOLUME_NAME, emptyDir: {} });
  } else {
    claims.push(claim(DATA_VOLUME_NAME, settings.volumeSize ?? DEFAULT_VOLUME_SIZE, ['ReadWriteOnce'], settings.storageClass));
  }
  for (const v of kale) {
    if (v.setting.type === 'pvc') volumes.push({ name: v.volume, persistentVolumeClaim: { claimName: v.setting.name } });
    else claims.push(kaleClaim(v.volume, v.setting));
  }
  const mounts: VolumeMount[] = [
    { name: DATA_VOLUME_NAME, mountPath: DATA_MOUNT_PATH },
    ...kale.map((v) => ({ name: v.volume, mountPath: v.setting.mountPoint })),
  ];
  const { tasks, templates } = stepsOf(pipeline, options, artifacts, mounts);

  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: {
      // Argo appends 5 characters; 57 + 1 + 5 stays within the 63 of a label value.
      generateName: `${name}-`,
      ...(namespace ? { namespace } : {}),
      labels: { [PIPELINE_LABEL]: name },
      annotations,
    },
    spec: {
      entrypoint,
      ...(pipeline.parameters.length > 0
        ? { arguments: { parameters: pipeline.parameters.map((p) => ({ name: p.name, value: parameterJson(p) })) } }
        : {}),
      ...(settings.timeoutSeconds !== undefined && settings.timeoutSeconds > 0 ? { activeDeadlineSeconds: settings.timeoutSeconds } : {}),
      ...(claims.length > 0 ? { volumeClaimTemplates: claims } : {}),
      ...(volumes.length > 0 ? { volumes } : {}),
      templates: [{ name: entrypoint, dag: { tasks } }, ...templates],
    },
  };
}

/** The DAG tasks and the script templates, one of each per step, in pipeline order. */
function stepsOf(pipeline: Pipeline, options: EmitOptions, artifacts: boolean, mounts: VolumeMount[]): { tasks: DagTask[]; templates: Template[] } {
  const byName = new Map(pipeline.steps.map((s) => [s.name, s]));
  const stepNamed = (wanted: string, by: Step): Step => {
    const found = byName.get(wanted);
    if (!found) throw new Error(`step "${by.name}" refers to step "${wanted}", which the pipeline does not have`);
    return found;
  };

  const tasks: DagTask[] = [];
  const templates: Template[] = [];
  for (const step of pipeline.steps) {
    const producers = unique(step.inputs.map((i) => stepNamed(i.from, step).templateName));
    const task: DagTask = { name: step.templateName, template: step.templateName };
    // A task may only read the outputs of tasks it depends on: producers are always upstream.
    const dependencies = unique([...step.after.map((a) => stepNamed(a, step).templateName), ...producers]);
    if (dependencies.length > 0) task.dependencies = dependencies;
    const args: { parameters?: Parameter[]; artifacts?: Artifact[] } = {};
    if (step.parameters.length > 0) {
      args.parameters = step.parameters.map((p) => ({ name: p, value: `{{workflow.parameters.${p}}}` }));
    }
    if (artifacts && producers.length > 0) {
      args.artifacts = producers.map((p) => ({ name: p, from: `{{tasks.${p}.outputs.artifacts.${DATA_ARTIFACT}}}` }));
    }
    if (args.parameters || args.artifacts) task.arguments = args;
    tasks.push(task);
    templates.push(stepTemplate(pipeline, step, options, { artifacts, producers, mounts }));
  }
  return { tasks, templates };
}

interface TemplateContext {
  artifacts: boolean;
  /** Template names of the steps this one loads values from. */
  producers: string[];
  mounts: VolumeMount[];
}

function stepTemplate(pipeline: Pipeline, step: Step, options: EmitOptions, ctx: TemplateContext): Template {
  const o = step.options;
  const metadata: PodMetadata = {};
  if (Object.keys(o.labels).length > 0) metadata.labels = { ...o.labels };
  // Ours last: a user annotation of the same key cannot break the runtime conventions.
  metadata.annotations = { ...o.annotations, [STEP_ANNOTATION]: step.name, [CELLS_ANNOTATION]: step.cells.join(',') };
  const cache = o.cache ?? pipeline.settings.enableCaching;
  if (cache !== undefined) metadata.annotations[CACHE_ANNOTATION] = cache ? 'enabled' : 'disabled';
  if (step.outputs.length > 0) metadata.annotations[OUTPUTS_ANNOTATION] = step.outputs.join(',');

  const template: Template = { name: step.templateName, metadata };
  const inputParameters = step.parameters.map((p) => ({ name: p }));
  const inputArtifacts = ctx.artifacts ? ctx.producers.map((p) => ({ name: p, path: `${DATA_MOUNT_PATH}/${p}` })) : [];
  if (inputParameters.length > 0 || inputArtifacts.length > 0) {
    template.inputs = {
      ...(inputParameters.length > 0 ? { parameters: inputParameters } : {}),
      ...(inputArtifacts.length > 0 ? { artifacts: inputArtifacts } : {}),
    };
  }
  if (ctx.artifacts) {
    const outputs: Artifact[] = [];
    if (step.outputs.length > 0) outputs.push({ name: DATA_ARTIFACT, path: `${DATA_MOUNT_PATH}/${step.templateName}` });
    if (step.metrics.length > 0) outputs.push({ name: METRICS_ARTIFACT, path: METRICS_PATH });
    if (outputs.length > 0) template.outputs = { artifacts: outputs };
  }
  if (o.retry !== undefined && o.retry > 0) template.retryStrategy = { limit: String(o.retry) };
  if (o.timeoutSeconds !== undefined && o.timeoutSeconds > 0) template.activeDeadlineSeconds = String(o.timeoutSeconds);

  const env: EnvVar[] = [
    { name: STEP_ENV, value: step.name },
    ...step.parameters.map((p) => ({ name: `${PARAM_ENV_PREFIX}${p}`, value: `{{inputs.parameters.${p}}}` })),
    ...o.secrets.map((s) => ({ name: s.env, valueFrom: { secretKeyRef: { name: s.secret, key: s.key } } })),
  ];
  template.script = {
    image: imageOf(pipeline, step, options),
    command: ['python3'],
    env,
    ...(Object.keys(o.limits).length > 0 ? { resources: { limits: { ...o.limits } } } : {}),
    volumeMounts: ctx.mounts.map((m) => ({ ...m })),
    source: stepScript(pipeline, step, options),
  };
  return template;
}

/** Built image for the step > its `image:` tag > the `--image` option > the notebook's image > the default. */
export function imageOf(pipeline: Pipeline, step: Step, options: EmitOptions = {}): string {
  return options.stepImages?.[step.name] ?? step.options.image ?? options.image ?? pipeline.settings.image ?? DEFAULT_IMAGE;
}

/**
 * A workflow parameter's value: the JSON of its default; a float keeps its `.0` so the step
 * reads a float. No `{{` (Argo would substitute it): JSON strings escape it as `{\u007b`.
 */
export function parameterJson(p: { type: string; default: unknown }): string {
  const json = noTemplate(JSON.stringify(p.default) ?? 'null');
  return p.type === 'float' && /^-?\d+$/.test(json) ? `${json}.0` : json;
}

/** `pipeline`, unless a step template already has that name. */
function entrypointName(steps: readonly Step[]): string {
  const taken = new Set(steps.map((s) => s.templateName));
  for (const candidate of ['pipeline', 'flowbook-pipeline']) if (!taken.has(candidate)) return candidate;
  let n = 2;
  while (taken.has(`flowbook-pipeline-${n}`)) n++;
  return `flowbook-pipeline-${n}`;
}

interface KaleVolume {
  /** The pod volume name: DNS-1123, unique, never the data volume's. */
  volume: string;
  setting: VolumeSetting;
}

function kaleVolumes(settings: readonly VolumeSetting[]): KaleVolume[] {
  const taken = new Set([DATA_VOLUME_NAME]);
  return settings.map((setting) => {
    const base = dnsName(setting.name, 55, 'volume');
    let volume = base;
    for (let n = 2; taken.has(volume); n++) volume = `${base}-${n}`;
    taken.add(volume);
    return { volume, setting };
  });
}

/**
 * `new_pvc`: a claim made for each run; `pv`: a claim bound to the named PersistentVolume.
 * Without a storage class, a `pv` claim asks for class "" explicitly: otherwise the cluster's
 * default class is filled in and the claim never binds to a volume that has no class.
 */
function kaleClaim(volume: string, v: VolumeSetting): PersistentVolumeClaimTemplate {
  const modes = v.accessModes && v.accessModes.length > 0 ? [...v.accessModes] : ['ReadWriteOnce'];
  const c = claim(volume, v.size ?? DEFAULT_VOLUME_SIZE, modes, v.storageClass ?? (v.type === 'pv' ? '' : undefined));
  if (v.type === 'pv') c.spec.volumeName = v.name;
  return c;
}

function claim(name: string, size: string, accessModes: string[], storageClass: string | undefined): PersistentVolumeClaimTemplate {
  return {
    metadata: { name },
    spec: {
      accessModes,
      resources: { requests: { storage: size } },
      ...(storageClass !== undefined ? { storageClassName: storageClass } : {}),
    },
  };
}

/** A DNS-1123 label of at most `max` characters: lower case, digits and inner hyphens; `fallback` when nothing is left. */
export function dnsName(text: string, max = 63, fallback = 'flowbook'): string {
  const name = text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-+/, '').slice(0, max).replace(/-+$/, '');
  return name === '' ? fallback : name;
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}
