// How values travel between a run's steps on the cluster. A per-run ReadWriteOnce volume can
// be mounted by pods on one node only, so parallel steps placed on different nodes would
// hang in ContainerCreating. Where the cluster has an Argo artifact repository (the
// namespace's `artifact-repositories` ConfigMap, or the controller's
// `workflow-controller-configmap`), Flowbook defaults to artifacts; with a volume it keeps a
// run's pods on one node (pod affinity on Argo's workflow label) and says so.

import { parse as parseYaml } from 'yaml';
import type { ClusterClient } from './client';
import { ClusterError } from './errors';
import { CONFIGMAPS } from './resources';
import type { KubeObject, Workflow } from './types';

export type DataPassingMode = 'volume' | 'artifacts';

export interface ArtifactRepository {
  /** Which ConfigMap (and key) configures it, for messages. */
  where: string;
  /** `s3`, `gcs`, `azure`, ... */
  kind: string;
}

export interface ArtifactRepositoryProbe {
  repository?: ArtifactRepository;
  /** ConfigMaps Flowbook could not read (403), so it cannot be sure there is none. */
  unreadable: string[];
}

/** Where Argo runs its controller in common installs (plain Argo, Kubeflow). */
export const CONTROLLER_NAMESPACES = ['argo', 'kubeflow'];
const DEFAULT_KEY_ANNOTATION = 'workflows.argoproj.io/default-artifact-repository';
const REPOSITORY_KINDS = ['s3', 'gcs', 'azure', 'oss', 'hdfs', 'artifactory', 'http', 'git', 'raw'];
/** The label Argo puts on every pod of a workflow, valued with the workflow's name. */
const WORKFLOW_POD_LABEL = 'workflows.argoproj.io/workflow';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

function kindOf(yamlText: string | undefined): string | undefined {
  if (!yamlText) return undefined;
  try {
    const value = parseYaml(yamlText) as Record<string, unknown> | null;
    return REPOSITORY_KINDS.find((k) => value !== null && typeof value === 'object' && value[k] !== undefined);
  } catch {
    return undefined;
  }
}

async function readConfigMap(client: ClusterClient, namespace: string, name: string, signal?: AbortSignal): Promise<ConfigMap | 'forbidden' | undefined> {
  try {
    const cm = await client.call({ verb: 'get', type: CONFIGMAPS, namespace, name }, () => client.core.readNamespacedConfigMap({ name, namespace }), { repeatable: true, ...(signal ? { signal } : {}) });
    return { metadata: { name, namespace, ...(cm.metadata?.annotations ? { annotations: cm.metadata.annotations } : {}) }, ...(cm.data ? { data: cm.data } : {}) };
  } catch (err) {
    if (err instanceof ClusterError && (err.kind === 'notFound' || err.kind === 'namespaceNotFound')) return undefined;
    if (err instanceof ClusterError && err.kind === 'forbidden') return 'forbidden';
    throw err;
  }
}

/** Finds the artifact repository Argo would use for runs in `namespace`, as Argo looks for it. */
export async function detectArtifactRepository(client: ClusterClient, namespace: string, options: { controllerNamespaces?: string[]; signal?: AbortSignal } = {}): Promise<ArtifactRepositoryProbe> {
  const unreadable: string[] = [];
  const own = await readConfigMap(client, namespace, 'artifact-repositories', options.signal);
  if (own === 'forbidden') unreadable.push(`${namespace}/artifact-repositories`);
  else if (own?.data) {
    const key = own.metadata.annotations?.[DEFAULT_KEY_ANNOTATION] ?? (own.data['default-v1'] !== undefined ? 'default-v1' : Object.keys(own.data).sort()[0]);
    const kind = key !== undefined ? kindOf(own.data[key]) : undefined;
    if (key !== undefined && kind) return { repository: { where: `ConfigMap ${namespace}/artifact-repositories, key ${key}`, kind }, unreadable };
  }
  for (const ns of options.controllerNamespaces ?? CONTROLLER_NAMESPACES) {
    const cm = await readConfigMap(client, ns, 'workflow-controller-configmap', options.signal);
    if (cm === 'forbidden') {
      unreadable.push(`${ns}/workflow-controller-configmap`);
      continue;
    }
    const kind = kindOf(cm?.data?.artifactRepository);
    if (kind) return { repository: { where: `ConfigMap ${ns}/workflow-controller-configmap (artifactRepository)`, kind }, unreadable };
  }
  return { unreadable };
}

export interface DataPassingPlan {
  mode: DataPassingMode;
  /** Keep the run's pods on one node (volume mode with a ReadWriteOnce volume). */
  sameNode: boolean;
  /** One sentence for the user: what was chosen and why. */
  message: string;
  severity: 'info' | 'warning';
}

/**
 * Chooses how values pass: the notebook's or the user's setting when there is one, else
 * artifacts when the cluster has a repository, else a volume kept on one node.
 */
export function planDataPassing(probe: ArtifactRepositoryProbe, setting: DataPassingMode | undefined): DataPassingPlan {
  const repo = probe.repository;
  if (setting === 'artifacts' || (setting === undefined && repo)) {
    if (repo) return { mode: 'artifacts', sameNode: false, severity: 'info', message: `Values pass between steps as artifacts, in the cluster's ${repo.kind} artifact repository (${repo.where}).` };
    const unsure = probe.unreadable.length > 0 ? ` (Flowbook could not read ${probe.unreadable.join(', ')}, so one may exist)` : '';
    return {
      mode: 'artifacts',
      sameNode: false,
      severity: 'warning',
      message: `The notebook passes values as artifacts, but no Argo artifact repository was found${unsure}: steps will fail to save their outputs. Ask your admin to configure one (ConfigMap artifact-repositories), or set dataPassing to "volume".`,
    };
  }
  const why = setting === 'volume' ? 'the notebook asks for a volume' : `no Argo artifact repository was found${probe.unreadable.length > 0 ? ` (Flowbook could not read ${probe.unreadable.join(', ')})` : ''}`;
  return {
    mode: 'volume',
    sameNode: true,
    severity: 'info',
    message: `Values pass through a per-run ReadWriteOnce volume because ${why}; the run's steps are kept on one node (pod affinity) so every step can mount it, and parallel steps share that node. To spread them, configure an Argo artifact repository (then Flowbook uses artifacts).`,
  };
}

/** Whether the workflow's data volume can be mounted from one node only. */
export function usesReadWriteOnceVolume(workflow: Workflow): boolean {
  return (workflow.spec.volumeClaimTemplates ?? []).some((c) => ((c as { spec?: { accessModes?: string[] } }).spec?.accessModes ?? ['ReadWriteOnce']).includes('ReadWriteOnce'));
}

/**
 * Pod affinity that keeps every pod of the run named `name` on the node of the first one (the
 * scheduler lets the first pod satisfy the term by itself).
 */
export function sameNodeAffinity(name: string): Record<string, unknown> {
  return {
    podAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { [WORKFLOW_POD_LABEL]: name } }, topologyKey: 'kubernetes.io/hostname' }],
    },
  };
}

/** Whether `sameNodeAffinity` (or any pod affinity to the run's own pods) is set. */
export function keptOnOneNode(workflow: Workflow): boolean {
  const terms = ((workflow.spec.affinity as { podAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { labelSelector?: { matchLabels?: Record<string, string> }; topologyKey?: string }[] } } | undefined)?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution) ?? [];
  return terms.some((t) => t.topologyKey === 'kubernetes.io/hostname' && t.labelSelector?.matchLabels?.[WORKFLOW_POD_LABEL] !== undefined);
}
