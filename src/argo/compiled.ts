// The Argo Workflow (argoproj.io/v1alpha1) as Flowbook compiles it: the exact subset the
// emitter writes and the local runner reads. Type aliases rather than interfaces, so a
// compiled Workflow is also a `LiveWorkflow` (./live.ts, whose objects keep unknown fields)
// without a cast. Field names and nesting follow the Argo schema exactly; every
// workflow the emitter builds validates against it with unknown keys rejected (see
// test/support/argoSchema.ts). Optional fields are left out rather than set to undefined,
// so the YAML holds only what was chosen.

/** Kubernetes `IntOrString`: Flowbook writes these as decimal strings (the published schema types them as strings). */
export type IntOrString = string;

export type ObjectMeta = {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};

/** Argo's pod metadata of a template. */
export type PodMetadata = {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};

export type Parameter = {
  name: string;
  value?: string;
  default?: string;
  description?: string;
};

export type Artifact = {
  name: string;
  /** Where the artifact lives in the container (input: placed there; output: collected from there). */
  path?: string;
  /** On a task argument: the artifact of another task, `{{tasks.T.outputs.artifacts.A}}`. */
  from?: string;
  optional?: boolean;
};

export type Arguments = {
  parameters?: Parameter[];
  artifacts?: Artifact[];
};

export type Inputs = {
  parameters?: Parameter[];
  artifacts?: Artifact[];
};

export type Outputs = {
  parameters?: Parameter[];
  artifacts?: Artifact[];
};

export type SecretKeySelector = {
  name: string;
  key: string;
  optional?: boolean;
};

export type EnvVar = {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: SecretKeySelector };
};

export type ResourceRequirements = {
  limits?: Record<string, string>;
  requests?: Record<string, string>;
};

export type VolumeMount = {
  name: string;
  mountPath: string;
  readOnly?: boolean;
};

export type ScriptTemplate = {
  image: string;
  command?: string[];
  env?: EnvVar[];
  resources?: ResourceRequirements;
  volumeMounts?: VolumeMount[];
  /** The program; Argo writes it to a file and runs `command` with that file's path. */
  source: string;
};

export type RetryStrategy = {
  limit?: IntOrString;
  retryPolicy?: 'Always' | 'OnFailure' | 'OnError' | 'OnTransientError';
};

export type DagTask = {
  name: string;
  template: string;
  dependencies?: string[];
  arguments?: Arguments;
};

export type DagTemplate = {
  tasks: DagTask[];
};

export type Template = {
  name: string;
  metadata?: PodMetadata;
  inputs?: Inputs;
  outputs?: Outputs;
  retryStrategy?: RetryStrategy;
  /** Per attempt (pod), in seconds. */
  activeDeadlineSeconds?: IntOrString;
  dag?: DagTemplate;
  script?: ScriptTemplate;
};

export type PersistentVolumeClaimSpec = {
  accessModes: string[];
  resources: { requests: { storage: string } };
  storageClassName?: string;
  /** Binds the claim to this existing PersistentVolume (Kale `pv` volumes). */
  volumeName?: string;
};

export type PersistentVolumeClaimTemplate = {
  metadata: { name: string };
  spec: PersistentVolumeClaimSpec;
};

export type Volume = {
  name: string;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  emptyDir?: { medium?: string; sizeLimit?: string };
};

export type WorkflowSpec = {
  entrypoint: string;
  arguments?: Arguments;
  /** Whole-workflow deadline in seconds (an integer here, unlike the template field). */
  activeDeadlineSeconds?: number;
  volumeClaimTemplates?: PersistentVolumeClaimTemplate[];
  volumes?: Volume[];
  templates: Template[];
};

export type Workflow = {
  apiVersion: 'argoproj.io/v1alpha1';
  kind: 'Workflow';
  metadata: ObjectMeta;
  spec: WorkflowSpec;
};
