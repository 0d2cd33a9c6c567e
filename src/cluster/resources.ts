// The Kubernetes resources Flowbook uses and the labels it puts on them. Label keys are a
// contract with the views (they select Flowbook runs by them) and with older Flowbook
// versions reading the same cluster: never rename one.

/** A namespaced resource type: `group` is empty for the core API. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export const WORKFLOWS: ResourceType = { group: 'argoproj.io', version: 'v1alpha1', plural: 'workflows', kind: 'Workflow' };
export const INFERENCE_SERVICES: ResourceType = { group: 'serving.kserve.io', version: 'v1beta1', plural: 'inferenceservices', kind: 'InferenceService' };
/** KServe before it left Kubeflow (KFServing): same shape, other group. */
export const LEGACY_INFERENCE_SERVICES: ResourceType = { group: 'serving.kubeflow.org', version: 'v1beta1', plural: 'inferenceservices', kind: 'InferenceService' };
export const PODS: ResourceType = { group: '', version: 'v1', plural: 'pods', kind: 'Pod' };
export const SECRETS: ResourceType = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' };
export const CONFIGMAPS: ResourceType = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' };
export const NAMESPACES: ResourceType = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace' };
export const CRDS: ResourceType = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition' };

/** `workflows.argoproj.io`: the name of a resource type's CRD. */
export function crdName(type: ResourceType): string {
  return `${type.plural}.${type.group}`;
}

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

// Labels Flowbook writes on runs.
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'flowbook';
export const LABEL_PIPELINE = 'flowbook.dev/pipeline';
export const LABEL_NOTEBOOK = 'flowbook.dev/notebook';
export const LABEL_VERSION = 'flowbook.dev/version';
/** Hash of workflow + parameters + client request id: equal values mean "the same submission". */
export const LABEL_SUBMISSION = 'flowbook.dev/submission';
/** For resubmitted runs: the run they came from. */
export const LABEL_RESUBMITTED_FROM = 'flowbook.dev/resubmitted-from';
/** The notebook's path as given (labels cannot hold `/`). */
export const ANNOTATION_NOTEBOOK_PATH = 'flowbook.dev/notebook-path';
/** On an InferenceService deployed from a run: `<run>/<step>`. */
export const ANNOTATION_SOURCE_RUN = 'flowbook.dev/source-run';

// Annotations the emitter writes on each step's template (docs/architecture.md).
export const ANNOTATION_STEP = 'flowbook.dev/step';
export const ANNOTATION_CELLS = 'flowbook.dev/cells';

// Argo's own labels and annotations.
export const ARGO_LABEL_WORKFLOW = 'workflows.argoproj.io/workflow';
export const ARGO_LABEL_PHASE = 'workflows.argoproj.io/phase';
export const ARGO_LABEL_COMPLETED = 'workflows.argoproj.io/completed';
export const ARGO_ANNOTATION_NODE_ID = 'workflows.argoproj.io/node-id';
export const ARGO_ANNOTATION_NODE_NAME = 'workflows.argoproj.io/node-name';
/** The step's own container in an Argo pod (the others are `init` and `wait`). */
export const MAIN_CONTAINER = 'main';
/** The artifact Argo writes a step's log to when `archiveLogs` is on. */
export const LOG_ARTIFACT = 'main-logs';

/** The selector of Flowbook runs. */
export const FLOWBOOK_RUNS_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`;

/**
 * A label value from free text: at most 63 characters of `[A-Za-z0-9._-]`, starting and
 * ending with an alphanumeric (Kubernetes rejects anything else). Empty when nothing is left.
 */
export function toLabelValue(text: string): string {
  let value = text.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 63);
  value = value.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
  return value;
}

/** A DNS-1123 name prefix (for `generateName` and deterministic names): lower case, `[a-z0-9-]`. */
export function toDnsName(text: string, maxLength = 52): string {
  const name = text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').slice(0, maxLength);
  return name.replace(/^-+/, '').replace(/-+$/, '') || 'run';
}
