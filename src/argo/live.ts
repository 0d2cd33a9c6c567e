// The Argo Workflow (argoproj.io/v1alpha1) as it comes off the wire: what the cluster code,
// the simulator and the run views read. Every field is optional unless the API server always
// sets it, and unknown fields are kept (index signatures) so an object can be written back
// unchanged. A compiled Workflow (./compiled.ts) is assignable to `Workflow` here.

import type { KubeObject } from '../cluster/types';

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
