// The subset of the Argo Workflow type (argoproj.io/v1alpha1) that Flowbook emits, and
// the local runner reads. Field names and nesting follow the Argo schema exactly; every
// workflow the emitter builds validates against it with unknown keys rejected (see
// test/support/argoSchema.ts). Optional fields are left out rather than set to undefined,
// so the YAML holds only what was chosen.

/** Kubernetes `IntOrString`: Flowbook writes these as decimal strings (the published schema types them as strings). */
export type IntOrString = string;

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Argo's pod metadata of a template. */
export interface PodMetadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Parameter {
  name: string;
  value?: string;
  default?: string;
  description?: string;
}

export interface Artifact {
  name: string;
  /** Where the artifact lives in the container (input: placed there; output: collected from there). */
  path?: string;
  /** On a task argument: the artifact of another task, `{{tasks.T.outputs.artifacts.A}}`. */
  from?: string;
  optional?: boolean;
}

export interface Arguments {
  parameters?: Parameter[];
  artifacts?: Artifact[];
}

export interface Inputs {
  parameters?: Parameter[];
  artifacts?: Artifact[];
}

export interface Outputs {
  parameters?: Parameter[];
  artifacts?: Artifact[];
}

export interface SecretKeySelector {
  name: string;
  key: string;
  optional?: boolean;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: SecretKeySelector };
}

export interface ResourceRequirements {
  limits?: Record<string, string>;
  requests?: Record<string, string>;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

export interface ScriptTemplate {
  image: string;
  command?: string[];
  env?: EnvVar[];
  resources?: ResourceRequirements;
  volumeMounts?: VolumeMount[];
  /** The program; Argo writes it to a file and runs `command` with that file's path. */
  source: string;
}

export interface RetryStrategy {
  limit?: IntOrString;
  retryPolicy?: 'Always' | 'OnFailure' | 'OnError' | 'OnTransientError';
}

export interface DagTask {
  name: string;
  template: string;
  dependencies?: string[];
  arguments?: Arguments;
}

export interface DagTemplate {
  tasks: DagTask[];
}

export interface Template {
  name: string;
  metadata?: PodMetadata;
  inputs?: Inputs;
  outputs?: Outputs;
  retryStrategy?: RetryStrategy;
  /** Per attempt (pod), in seconds. */
  activeDeadlineSeconds?: IntOrString;
  dag?: DagTemplate;
  script?: ScriptTemplate;
}

export interface PersistentVolumeClaimSpec {
  accessModes: string[];
  resources: { requests: { storage: string } };
  storageClassName?: string;
  /** Binds the claim to this existing PersistentVolume (Kale `pv` volumes). */
  volumeName?: string;
}

export interface PersistentVolumeClaimTemplate {
  metadata: { name: string };
  spec: PersistentVolumeClaimSpec;
}

export interface Volume {
  name: string;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  emptyDir?: { medium?: string; sizeLimit?: string };
}

export interface WorkflowSpec {
  entrypoint: string;
  arguments?: Arguments;
  /** Whole-workflow deadline in seconds (an integer here, unlike the template field). */
  activeDeadlineSeconds?: number;
  volumeClaimTemplates?: PersistentVolumeClaimTemplate[];
  volumes?: Volume[];
  templates: Template[];
}

export interface Workflow {
  apiVersion: 'argoproj.io/v1alpha1';
  kind: 'Workflow';
  metadata: ObjectMeta;
  spec: WorkflowSpec;
}
