// The in-cluster builder for people without a local engine: a Kaniko Pod that reads the
// build context (a tar.gz) from its stdin, builds, pushes, and reports the digest as its
// termination message. The Pod spec and context are plain data; the cluster is reached only
// through the small `KanikoCluster` interface, which src/cluster implements with
// @kubernetes/client-node (create, attach stdin, logs, status, delete).

import { ImageError } from '../errors';

/** What the Kaniko builder needs from a Kubernetes client. */
export interface KanikoCluster {
  createPod(namespace: string, pod: KanikoPod): Promise<void>;
  /** Attaches to the container's stdin, writes the context and closes stdin. */
  uploadContext(namespace: string, podName: string, container: string, context: Buffer, signal?: AbortSignal): Promise<void>;
  /** Follows the container's log until it ends, one call per line. */
  streamLogs(namespace: string, podName: string, container: string, onLine: (line: string) => void, signal?: AbortSignal): Promise<void>;
  /** Resolves when the Pod has finished. `message` is the container's termination message. */
  waitForPod(namespace: string, podName: string, signal?: AbortSignal): Promise<{ phase: 'Succeeded' | 'Failed'; exitCode?: number; message?: string }>;
  deletePod(namespace: string, podName: string): Promise<void>;
}

export interface KanikoSettings {
  namespace: string;
  /** Default: a pinned Kaniko executor release. */
  executorImage?: string;
  /** A Secret of type kubernetes.io/dockerconfigjson with push credentials for the target registry. */
  pushSecret?: string;
  serviceAccountName?: string;
  /** Resource requests and limits of the build container. */
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

export interface KanikoJob {
  /** `host/repo:tag` to push. */
  target: string;
  /** A tag-safe id used in the Pod name. */
  tag: string;
  /** Skip TLS / use HTTP for the target registry and for pulling the base. */
  insecure: boolean;
}

/** The subset of core/v1 Pod that Flowbook sets. */
export interface KanikoPod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: {
    restartPolicy: 'Never';
    serviceAccountName?: string;
    containers: {
      name: string;
      image: string;
      args: string[];
      stdin: boolean;
      stdinOnce: boolean;
      tty: boolean;
      terminationMessagePath: string;
      terminationMessagePolicy: 'File';
      resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
      volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
    }[];
    volumes?: { name: string; secret: { secretName: string; items: { key: string; path: string }[] } }[];
  };
}

export const KANIKO_EXECUTOR = 'gcr.io/kaniko-project/executor:v1.23.2';
export const KANIKO_CONTAINER = 'kaniko';

/** The Pod that builds one image. Deterministic: the same job gives the same spec. */
export function kanikoPod(job: KanikoJob, settings: KanikoSettings): KanikoPod {
  const args = [
    '--context=tar://stdin',
    '--dockerfile=Dockerfile',
    `--destination=${job.target}`,
    // The digest comes back as the termination message.
    '--digest-file=/dev/termination-log',
    '--single-snapshot',
    '--verbosity=info',
  ];
  if (job.insecure) args.push('--insecure', '--skip-tls-verify', '--insecure-pull', '--skip-tls-verify-pull');
  const container: KanikoPod['spec']['containers'][number] = {
    name: KANIKO_CONTAINER,
    image: settings.executorImage ?? KANIKO_EXECUTOR,
    args,
    stdin: true,
    stdinOnce: true,
    tty: false,
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  };
  if (settings.resources) container.resources = settings.resources;
  const pod: KanikoPod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `flowbook-build-${job.tag.replace(/^fb-/, '').slice(0, 20)}`,
      namespace: settings.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'flowbook', 'app.kubernetes.io/component': 'image-build' },
      annotations: { 'flowbook.dev/image': job.target },
    },
    spec: { restartPolicy: 'Never', containers: [container] },
  };
  if (settings.serviceAccountName) pod.spec.serviceAccountName = settings.serviceAccountName;
  if (settings.pushSecret) {
    container.volumeMounts = [{ name: 'docker-config', mountPath: '/kaniko/.docker', readOnly: true }];
    pod.spec.volumes = [{ name: 'docker-config', secret: { secretName: settings.pushSecret, items: [{ key: '.dockerconfigjson', path: 'config.json' }] } }];
  }
  return pod;
}

/** Runs the build Pod to completion and removes it; returns the pushed digest. */
export async function runKanikoBuild(
  cluster: KanikoCluster,
  job: KanikoJob,
  context: Buffer,
  settings: KanikoSettings,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<{ digest?: string }> {
  const pod = kanikoPod(job, settings);
  const { name, namespace } = pod.metadata;
  log(`Creating the build Pod ${namespace}/${name} (${pod.spec.containers[0]!.image})`);
  await cluster.createPod(namespace, pod);
  const tail: string[] = [];
  try {
    await cluster.uploadContext(namespace, name, KANIKO_CONTAINER, context, signal);
    const logs = cluster.streamLogs(namespace, name, KANIKO_CONTAINER, (line) => {
      tail.push(line);
      if (tail.length > 15) tail.shift();
      log(line);
    }, signal);
    const result = await cluster.waitForPod(namespace, name, signal);
    await logs.catch(() => undefined);
    if (result.phase !== 'Succeeded') {
      throw new ImageError(
        `The Kaniko build of ${job.target} failed in the Pod ${namespace}/${name}${result.exitCode !== undefined ? ` (exit code ${result.exitCode})` : ''}. Nothing was pushed. Fix the requirement named below and build again.\nLast lines of the Kaniko log:\n${tail.map((l) => '  ' + l).join('\n')}`,
        'build-failed',
        [...tail],
      );
    }
    const digest = /sha256:[0-9a-f]{64}/.exec(result.message ?? '')?.[0];
    return digest ? { digest } : {};
  } finally {
    await cluster.deletePod(namespace, name).catch(() => undefined);
  }
}
