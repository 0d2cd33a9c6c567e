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
// Argo Workflows: one model for the whole project, in src/argo.

export type * from '../argo/live';

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
