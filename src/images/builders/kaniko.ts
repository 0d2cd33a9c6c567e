// The in-cluster builder for people without a local engine: a Kaniko Pod builds the image
// from a context delivered through the Kubernetes API as a ConfigMap (a tar.gz in
// `binaryData`), pushes it, and reports the digest as its termination message. The Pod and
// ConfigMap specs are plain data; the cluster is reached only through the small
// `KanikoCluster` interface (src/cluster/kaniko.ts implements it). Invariant: whatever
// happens (success, failure, cancel), the Pod and its ConfigMap are deleted before
// `runKanikoBuild` returns, and every error is an `ImageError` that says what to do.

import * as crypto from 'node:crypto';
import { ImageError, type ImageErrorKind } from '../errors';
import { parseReference } from '../reference';

/** How a build Pod ended, as the cluster reports it. */
export interface KanikoPodEnd {
  phase: 'Succeeded' | 'Failed';
  exitCode?: number;
  /** The container's termination message (the digest, with `--digest-file=/dev/termination-log`) or the Pod's status message. */
  message?: string;
  /**
   * Why: the container's `terminated.reason` (`Completed`, `Error`, `OOMKilled`), a `waiting`
   * reason that will not heal by itself (`ImagePullBackOff`, `CreateContainerConfigError`),
   * the Pod's reason (`Evicted`), `Deleted` (someone removed the Pod) or `StartTimeout`.
   */
  reason?: string;
}

/** What a push Secret holds: its keys (never values), or why that is unknown. */
export type SecretKeys = { state: 'found'; type?: string; keys: string[] } | { state: 'missing' } | { state: 'unknown'; reason: string };

/** What the Kaniko builder needs from a Kubernetes client. Failures reject with the client's own errors. */
export interface KanikoCluster {
  createConfigMap(namespace: string, configMap: KanikoConfigMap, signal?: AbortSignal): Promise<void>;
  /** Resolves with the new Pod's uid. */
  createPod(namespace: string, pod: KanikoPod, signal?: AbortSignal): Promise<{ uid?: string }>;
  /** Makes the Pod the ConfigMap's owner, so Kubernetes removes the ConfigMap with the Pod, whoever deletes it. */
  adoptConfigMap(namespace: string, name: string, owner: { name: string; uid: string }, signal?: AbortSignal): Promise<void>;
  secretKeys(namespace: string, name: string, signal?: AbortSignal): Promise<SecretKeys>;
  /** Follows the container's log until it ends (or `signal` aborts), one call per line. */
  streamLogs(namespace: string, podName: string, container: string, onLine: (line: string) => void, signal?: AbortSignal): Promise<void>;
  /** Resolves when the Pod has finished, or cannot start. */
  waitForPod(namespace: string, podName: string, signal?: AbortSignal): Promise<KanikoPodEnd>;
  /** Both deletes succeed when the object is already gone. */
  deletePod(namespace: string, podName: string): Promise<void>;
  deleteConfigMap(namespace: string, name: string): Promise<void>;
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
  /** Makes the Pod and ConfigMap names unique per build (two builds of one tag may run at once); default random. */
  buildId?: string;
}

type Labels = Record<string, string>;

/** The subset of core/v1 ConfigMap that Flowbook sets. */
export interface KanikoConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: { name: string; namespace: string; labels: Labels; annotations: Labels };
  immutable: true;
  /** `context.tar.gz`: base64 of the gzipped tar holding `Dockerfile` and `requirements.txt`. */
  binaryData: Record<string, string>;
}

export type KanikoVolume =
  | { name: string; configMap: { name: string } }
  | { name: string; secret: { secretName: string; items: { key: string; path: string }[] } };

/** The subset of core/v1 Pod that Flowbook sets. */
export interface KanikoPod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: { name: string; namespace: string; labels: Labels; annotations: Labels };
  spec: {
    restartPolicy: 'Never';
    serviceAccountName?: string;
    containers: {
      name: string;
      image: string;
      args: string[];
      terminationMessagePath: string;
      terminationMessagePolicy: 'File';
      resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
      volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
    }[];
    volumes: KanikoVolume[];
  };
}

export const KANIKO_EXECUTOR = 'gcr.io/kaniko-project/executor:v1.23.2';
export const KANIKO_CONTAINER = 'kaniko';
/** Where the ConfigMap is mounted (the executor's working directory) and the key holding the context. */
export const CONTEXT_MOUNT = '/workspace';
export const CONTEXT_KEY = 'context.tar.gz';
/**
 * Kubernetes refuses ConfigMaps over 1 MiB. A Containerfile and a requirements list are a
 * few KiB; anything near the limit is not what this builder is for.
 */
export const MAX_CONTEXT_BYTES = 768 * 1024;
/** How long the log may trail the Pod's end before it is cut off. */
const LOG_GRACE_MS = 5000;
const TAIL_LINES = 15;

const LABELS: Labels = { 'app.kubernetes.io/managed-by': 'flowbook', 'app.kubernetes.io/component': 'image-build' };

function names(job: KanikoJob): { name: string } {
  const id = (job.buildId ?? '').toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 8);
  const base = `flowbook-build-${job.tag.replace(/^fb-/, '').toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 20)}`;
  return { name: id ? `${base}-${id}` : base };
}

/** The Pod that builds one image. Deterministic: the same job gives the same spec. */
export function kanikoPod(job: KanikoJob, settings: KanikoSettings): KanikoPod {
  const { name } = names(job);
  const args = [
    // Kaniko unpacks the tar into its own build-context folder. A plain `dir://` context on
    // the ConfigMap volume would not do: the volume's files are symlinks into `..data/`, and
    // Kaniko's COPY copies symlinks as symlinks (kaniko#1382), leaving them dangling.
    `--context=tar://${CONTEXT_MOUNT}/${CONTEXT_KEY}`,
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
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    volumeMounts: [{ name: 'build-context', mountPath: CONTEXT_MOUNT, readOnly: true }],
  };
  if (settings.resources) container.resources = settings.resources;
  const pod: KanikoPod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: settings.namespace, labels: { ...LABELS }, annotations: { 'flowbook.dev/image': job.target } },
    spec: { restartPolicy: 'Never', containers: [container], volumes: [{ name: 'build-context', configMap: { name } }] },
  };
  if (settings.serviceAccountName) pod.spec.serviceAccountName = settings.serviceAccountName;
  if (settings.pushSecret) {
    container.volumeMounts.push({ name: 'docker-config', mountPath: '/kaniko/.docker', readOnly: true });
    pod.spec.volumes.push({ name: 'docker-config', secret: { secretName: settings.pushSecret, items: [{ key: '.dockerconfigjson', path: 'config.json' }] } });
  }
  return pod;
}

/** The ConfigMap carrying the build context (same name as the Pod). */
export function kanikoConfigMap(job: KanikoJob, settings: KanikoSettings, contextTarGz: Buffer): KanikoConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: names(job).name, namespace: settings.namespace, labels: { ...LABELS }, annotations: { 'flowbook.dev/image': job.target } },
    immutable: true,
    binaryData: { [CONTEXT_KEY]: contextTarGz.toString('base64') },
  };
}

/**
 * Runs the build Pod to completion and removes it and its ConfigMap; returns the pushed
 * digest. `context` is the gzipped tar from `contextTarGz`.
 */
export async function runKanikoBuild(
  cluster: KanikoCluster,
  job: KanikoJob,
  context: Buffer,
  settings: KanikoSettings,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<{ digest?: string }> {
  if (context.length > MAX_CONTEXT_BYTES) {
    throw new ImageError(
      `The build context of ${job.target} is ${context.length} bytes, too big for the Kaniko builder (it travels through the Kubernetes API as a ConfigMap, at most ${MAX_CONTEXT_BYTES} bytes here). Build it with a local builder (--builder docker, podman or buildah).`,
      'input',
    );
  }
  const full: KanikoJob = { ...job, buildId: job.buildId ?? crypto.randomBytes(4).toString('hex').slice(0, 5) };
  const pod = kanikoPod(full, settings);
  const { name, namespace } = pod.metadata;
  const where = `${namespace}/${name}`;
  const tail: string[] = [];
  // `tried`: a create was sent (a lost response may still have created it); `made`: it surely exists.
  const tried = { configMap: false, pod: false };
  const made = { configMap: false, pod: false };
  try {
    if (signal?.aborted) throw cancelled(where);
    if (settings.pushSecret) await checkPushSecret(cluster, namespace, settings.pushSecret, job.target, log, signal);
    log(`Sending the build context (${context.length} bytes) as the ConfigMap ${where}`);
    tried.configMap = true;
    await cluster.createConfigMap(namespace, kanikoConfigMap(full, settings, context), signal);
    made.configMap = true;
    log(`Creating the build Pod ${where} (${pod.spec.containers[0]!.image})`);
    tried.pod = true;
    const { uid } = await cluster.createPod(namespace, pod, signal);
    made.pod = true;
    if (uid) {
      await cluster.adoptConfigMap(namespace, name, { name, uid }, signal).catch((err: unknown) => {
        if (signal?.aborted) throw err;
        log(`(The ConfigMap ${where} could not be tied to its Pod: ${messageOf(err)} It is deleted at the end all the same.)`);
      });
    }
    const end = await followBuild(cluster, namespace, name, (line) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      log(line);
    }, signal);
    if (end.phase !== 'Succeeded') throw failure(job, settings, end, { namespace, name }, tail);
    const digest = /sha256:[0-9a-f]{64}/.exec(end.message ?? '')?.[0];
    return digest ? { digest } : {};
  } catch (err) {
    if (signal?.aborted) throw cancelled(where);
    if (err instanceof ImageError) throw err;
    // The cluster client's errors already name the verb, resource, namespace and remedy.
    throw new ImageError(`The Kaniko build of ${job.target} could not run on the cluster: ${messageOf(err)}`, 'cluster');
  } finally {
    // Not bound to `signal`: a cancelled build must still be cleaned up.
    const left: string[] = [];
    if (tried.pod) await cluster.deletePod(namespace, name).catch(() => made.pod && left.push('pod'));
    if (tried.configMap) await cluster.deleteConfigMap(namespace, name).catch(() => made.configMap && left.push('configmap'));
    if (left.length > 0) log(`Could not delete the build ${left.join(' and ')} ${where}: remove it with \`kubectl delete ${left.join(',')} ${name} -n ${namespace}\`.`);
  }
}

/** Streams the log while waiting for the Pod; lets the log catch up (briefly) after the end. */
async function followBuild(cluster: KanikoCluster, namespace: string, name: string, onLine: (line: string) => void, signal?: AbortSignal): Promise<KanikoPodEnd> {
  const stopLogs = new AbortController();
  const onAbort = () => stopLogs.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const logs = cluster.streamLogs(namespace, name, KANIKO_CONTAINER, onLine, stopLogs.signal).catch(() => undefined);
  try {
    const end = await cluster.waitForPod(namespace, name, signal);
    // The log follow ends with the container; give the last lines a moment to arrive. A
    // container that never ran (image pull, start timeout) has no log to wait for.
    if (end.exitCode !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([logs, new Promise<void>((resolve) => (timer = setTimeout(resolve, LOG_GRACE_MS)))]);
      clearTimeout(timer);
    }
    return end;
  } finally {
    stopLogs.abort();
    signal?.removeEventListener('abort', onAbort);
    await logs;
  }
}

async function checkPushSecret(cluster: KanikoCluster, namespace: string, secret: string, target: string, log: (line: string) => void, signal?: AbortSignal): Promise<void> {
  const keys = await cluster.secretKeys(namespace, secret, signal);
  if (keys.state === 'unknown') {
    log(`(Cannot check the push Secret ${namespace}/${secret}: ${keys.reason} The build Pod will not start if it is missing.)`);
    return;
  }
  const create = createSecretCommand(secret, target, namespace);
  if (keys.state === 'missing') {
    throw new ImageError(`The push Secret "${secret}" (--registry-secret) does not exist in namespace "${namespace}". Create it with your registry credentials: \`${create}\`, or name another Secret.`, 'input');
  }
  if (!keys.keys.includes('.dockerconfigjson')) {
    throw new ImageError(
      `The push Secret "${secret}" in namespace "${namespace}" is not a docker-registry Secret (it has no .dockerconfigjson key${keys.type ? `; its type is ${keys.type}` : ''}), so Kaniko cannot log in with it. Create one with \`${create}\`.`,
      'input',
    );
  }
}

function createSecretCommand(secret: string, target: string, namespace: string): string {
  return `kubectl create secret docker-registry ${secret} --docker-server=${registryOf(target)} --docker-username=USER --docker-password=TOKEN -n ${namespace}`;
}

function registryOf(target: string): string {
  try {
    return parseReference(target).registry;
  } catch {
    return target.split('/')[0] ?? target;
  }
}

const PULL_FAILURES = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
/** Kaniko's words when the registry refuses a push (its permission check runs before the build). */
const PUSH_REFUSED = /(checking push permission|error pushing image|failed to push).*(UNAUTHORIZED|DENIED|authentication required|status code 40[13])/i;

/** The error for a Pod that did not succeed: why, in the user's terms, with the log's last lines. */
function failure(job: KanikoJob, settings: KanikoSettings, end: KanikoPodEnd, pod: { namespace: string; name: string }, tail: readonly string[]): ImageError {
  const image = settings.executorImage ?? KANIKO_EXECUTOR;
  const where = `${pod.namespace}/${pod.name}`;
  const describe = `kubectl describe pod ${pod.name} -n ${pod.namespace}`;
  const lines = tail.length > 0 ? `\nLast lines of the Kaniko log:\n${tail.map((l) => '  ' + l).join('\n')}` : '';
  const said = end.message ? ` (${end.message.trim().split('\n')[0]})` : '';
  const fail = (kind: ImageErrorKind, text: string) => new ImageError(text + lines, kind, [...tail]);
  if (end.reason && PULL_FAILURES.has(end.reason)) {
    return fail('builder-missing', `The cluster cannot pull the Kaniko executor image ${image} for the build Pod ${where}: ${end.reason}${said}. If the cluster cannot reach gcr.io, copy the image to a registry it can reach and name it in the executor-image setting (--kaniko-image).`);
  }
  if (end.reason === 'CreateContainerConfigError') {
    return fail('builder-missing', `The build Pod ${where} cannot start: CreateContainerConfigError${said}. \`${describe}\` shows the details.`);
  }
  if (end.reason === 'StartTimeout') {
    return fail('builder-missing', `The build Pod ${where} did not start${said}. \`${describe}\` shows why (often a missing Secret, a full quota or no node with room).`);
  }
  if (end.reason === 'Deleted') {
    return fail('build-failed', `The build Pod ${where} was deleted before it finished (by someone else, or the cluster). Nothing was pushed; build again.`);
  }
  if (end.reason === 'OOMKilled') {
    return fail('build-failed', `The Kaniko build of ${job.target} ran out of memory in the Pod ${where} (OOMKilled). Give the build container more memory (its resources limits) and build again.`);
  }
  if (end.reason === 'Evicted') {
    return fail('build-failed', `The build Pod ${where} was evicted by the cluster${said}. Build again; if it keeps happening, ask your cluster admin about node disk and memory pressure.`);
  }
  if (tail.some((l) => PUSH_REFUSED.test(l))) {
    const registry = registryOf(job.target);
    const namespace = settings.namespace;
    const secret = settings.pushSecret ?? 'flowbook-push';
    const advice = settings.pushSecret
      ? `The credentials in the push Secret "${settings.pushSecret}" (namespace "${namespace}") do not let it push to ${registry}: recreate it with an account that may push there: \`kubectl delete secret ${secret} -n ${namespace}\`, then \`${createSecretCommand(secret, job.target, namespace)}\`.`
      : `The build Pod has no credentials for ${registry}. Create a docker-registry Secret in namespace "${namespace}" with an account that may push there: \`${createSecretCommand(secret, job.target, namespace)}\`, then build again with --registry-secret ${secret}.`;
    return fail('unauthorized', `The Kaniko build Pod ${where} could not push ${job.target}: the registry ${registry} refused it. ${advice} Nothing was pushed.`);
  }
  return fail(
    'build-failed',
    `The Kaniko build of ${job.target} failed in the Pod ${where}${end.exitCode !== undefined ? ` (exit code ${end.exitCode})` : end.reason ? ` (${end.reason})` : ''}. Nothing was pushed. Fix what the log below names (often a requirement pip cannot install) and build again.`,
  );
}

function cancelled(where: string): ImageError {
  return new ImageError(`The image build was cancelled; Flowbook removes the build Pod ${where} and its ConfigMap.`, 'cancelled');
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
