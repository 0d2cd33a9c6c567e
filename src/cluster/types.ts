// Typed subsets of the Kubernetes, Argo and KServe objects Flowbook reads. Objects come off
// the wire as JSON: every field is optional unless the API server always sets it, and
// unknown fields are kept (index signatures) so an object can be written back unchanged.

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface KubeList<T extends KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

/** The body of a Kubernetes error response (`kind: Status`). */
export interface KubeStatus {
  kind?: 'Status';
  status?: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    retryAfterSeconds?: number;
    causes?: { reason?: string; message?: string; field?: string }[];
  };
}

// ---------------------------------------------------------------------------
// Argo Workflows (argoproj.io/v1alpha1)

export interface WorkflowParameter {
  name: string;
  value?: string;
  default?: string;
  [key: string]: unknown;
}

export interface WorkflowTemplate {
  name: string;
  metadata?: { annotations?: Record<string, string>; labels?: Record<string, string> };
  dag?: { tasks: { name: string; template?: string; dependencies?: string[]; depends?: string; [key: string]: unknown }[] };
  script?: { image?: string; source?: string; [key: string]: unknown };
  container?: { image?: string; [key: string]: unknown };
  retryStrategy?: { limit?: number | string; [key: string]: unknown };
  outputs?: { artifacts?: ArtifactRef[]; parameters?: unknown[]; [key: string]: unknown };
  [key: string]: unknown;
}

export interface WorkflowSpec {
  entrypoint?: string;
  arguments?: { parameters?: WorkflowParameter[]; [key: string]: unknown };
  templates?: WorkflowTemplate[];
  shutdown?: 'Stop' | 'Terminate' | string;
  activeDeadlineSeconds?: number;
  archiveLogs?: boolean;
  podGC?: { strategy?: string; [key: string]: unknown };
  volumeClaimTemplates?: unknown[];
  volumes?: unknown[];
  [key: string]: unknown;
}

export type NodePhase = 'Pending' | 'Running' | 'Succeeded' | 'Skipped' | 'Failed' | 'Error' | 'Omitted';
export type NodeType = 'Pod' | 'Container' | 'Steps' | 'StepGroup' | 'DAG' | 'TaskGroup' | 'Retry' | 'Skipped' | 'Suspend' | 'Plugin' | 'HTTP';

export interface S3ArtifactLocation {
  key?: string;
  bucket?: string;
  endpoint?: string;
  region?: string;
  insecure?: boolean;
  accessKeySecret?: { name?: string; key?: string };
  secretKeySecret?: { name?: string; key?: string };
}

export interface ArtifactRef {
  name: string;
  path?: string;
  s3?: S3ArtifactLocation;
  http?: { url?: string };
  [key: string]: unknown;
}

export interface NodeStatus {
  id: string;
  name: string;
  displayName?: string;
  type?: NodeType | string;
  templateName?: string;
  phase?: NodePhase | string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  boundaryID?: string;
  children?: string[];
  podIP?: string;
  progress?: string;
  outputs?: { artifacts?: ArtifactRef[]; parameters?: WorkflowParameter[]; exitCode?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface WorkflowStatus {
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Error' | string;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
  progress?: string;
  nodes?: Record<string, NodeStatus>;
  artifactRepositoryRef?: {
    configMap?: string;
    key?: string;
    namespace?: string;
    artifactRepository?: { archiveLogs?: boolean; s3?: S3ArtifactLocation; [key: string]: unknown };
  };
  [key: string]: unknown;
}

export interface Workflow extends KubeObject {
  spec: WorkflowSpec;
  status?: WorkflowStatus;
}

// ---------------------------------------------------------------------------
// KServe (serving.kserve.io/v1beta1, legacy serving.kubeflow.org/v1beta1)

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown' | string;
  reason?: string;
  message?: string;
  severity?: string;
  lastTransitionTime?: string;
}

export interface TrafficTarget {
  revisionName?: string;
  percent?: number;
  latestRevision?: boolean;
  tag?: string;
  url?: string;
}

export interface ModelSpec {
  modelFormat?: { name?: string; version?: string };
  storageUri?: string;
  protocolVersion?: string;
  runtime?: string;
  [key: string]: unknown;
}

export interface InferenceService extends KubeObject {
  spec: {
    predictor?: { model?: ModelSpec; canaryTrafficPercent?: number; [framework: string]: unknown };
    [key: string]: unknown;
  };
  status?: {
    url?: string;
    address?: { url?: string };
    conditions?: Condition[];
    components?: Record<string, { url?: string; latestReadyRevision?: string; latestCreatedRevision?: string; previousRolledoutRevision?: string; latestRolledoutRevision?: string; traffic?: TrafficTarget[] }>;
    modelStatus?: { states?: { activeModelState?: string; targetModelState?: string }; transitionStatus?: string; lastFailureInfo?: { reason?: string; message?: string } };
    deploymentMode?: string;
    observedGeneration?: number;
    [key: string]: unknown;
  };
}
