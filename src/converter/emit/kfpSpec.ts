// The subset of Kubeflow Pipelines' IR that Flowbook writes, as proto3 JSON (camelCase):
// `PipelineSpec` (api/v2alpha1/pipeline_spec.proto) and the Kubernetes `PlatformSpec`
// (kubernetes_platform/proto/kubernetes_executor_config.proto). Field names follow the
// protos exactly: the tests parse every compiled file strictly (unknown fields rejected)
// with KFP's own Python bindings. Optional fields are left out, never set to undefined.

export type KfpParameterType = 'NUMBER_DOUBLE' | 'NUMBER_INTEGER' | 'STRING' | 'BOOLEAN' | 'LIST' | 'STRUCT';

/** `google.protobuf.Value` as JSON. */
export type ProtoValue = null | boolean | number | string | ProtoValue[] | { [key: string]: ProtoValue };

export interface ArtifactType {
  schemaTitle: 'system.Dataset' | 'system.Metrics';
  schemaVersion: '0.0.1';
}

export interface ParameterSpec {
  parameterType: KfpParameterType;
  defaultValue?: ProtoValue;
  isOptional?: boolean;
  description?: string;
}

export interface ArtifactSpec {
  artifactType: ArtifactType;
}

export interface InputsSpec {
  artifacts?: Record<string, ArtifactSpec>;
  parameters?: Record<string, ParameterSpec>;
}

export interface OutputsSpec {
  artifacts?: Record<string, ArtifactSpec>;
  parameters?: Record<string, ParameterSpec>;
}

/** How a task input gets its value. */
export type ParameterSource =
  | { componentInputParameter: string }
  | { taskOutputParameter: { producerTask: string; outputParameterKey: string } }
  | { runtimeValue: { constant: ProtoValue } };

export interface ArtifactSource {
  taskOutputArtifact: { producerTask: string; outputArtifactKey: string };
}

export interface RetryPolicy {
  maxRetryCount: number;
}

export interface Task {
  taskInfo: { name: string };
  componentRef: { name: string };
  dependentTasks?: string[];
  inputs?: {
    artifacts?: Record<string, ArtifactSource>;
    parameters?: Record<string, ParameterSource>;
  };
  /** KFP reads an absent `enableCache` as false; Flowbook always states it. */
  cachingOptions: { enableCache: boolean };
  retryPolicy?: RetryPolicy;
}

export interface DagOutputs {
  artifacts: Record<string, { artifactSelectors: { producerSubtask: string; outputArtifactKey: string }[] }>;
}

export interface Dag {
  tasks: Record<string, Task>;
  outputs?: DagOutputs;
}

export interface Component {
  executorLabel?: string;
  inputDefinitions?: InputsSpec;
  outputDefinitions?: OutputsSpec;
  dag?: Dag;
}

/**
 * Limits in both of KFP's forms, as the KFP SDK writes them: the quantity strings, and the
 * deprecated numbers (cores; decimal GB; the accelerator's `type` and `count`), which are
 * all that KFP backends before the string fields read (they drop unknown deployment fields
 * silently, so a step would run without its limits or its GPU).
 */
export interface ContainerResources {
  resourceCpuLimit?: string;
  cpuLimit?: number;
  resourceMemoryLimit?: string;
  memoryLimit?: number;
  accelerator?: { resourceType: string; resourceCount: string; type: string; count: string };
}

export interface ContainerSpec {
  image: string;
  command: string[];
  args: string[];
  /** Plain values only: secrets go through the platform spec (`secretAsEnv`). */
  env?: { name: string; value: string }[];
  resources?: ContainerResources;
}

export interface PipelineSpec {
  pipelineInfo: { name: string; description?: string };
  sdkVersion: string;
  schemaVersion: '2.1.0';
  components: Record<string, Component>;
  deploymentSpec: { executors: Record<string, { container: ContainerSpec }> };
  root: Component & { dag: Dag };
}

/** `TaskInputsSpec.InputParameterSpec` holding a constant, as the platform spec names secrets and claims. */
export interface ConstantParameter {
  runtimeValue: { constant: string };
}

export interface SecretAsEnv {
  /** Read by older KFP backends; newer ones read `secretNameParameter`. The SDK writes both. */
  secretName: string;
  secretNameParameter: ConstantParameter;
  keyToEnv: { secretKey: string; envVar: string }[];
  optional: boolean;
}

export interface PvcMount {
  /** Read by older KFP backends; newer ones read `pvcNameParameter`. The SDK writes both. */
  constant: string;
  pvcNameParameter: ConstantParameter;
  mountPath: string;
}

export interface KubernetesExecutorConfig {
  secretAsEnv?: SecretAsEnv[];
  pvcMount?: PvcMount[];
  podMetadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  /** Per attempt, in seconds; int64, so a decimal string in proto3 JSON. */
  activeDeadlineSeconds?: string;
}

export interface PlatformSpec {
  platforms: { kubernetes: { deploymentSpec: { executors: Record<string, KubernetesExecutorConfig> } } };
}
