// Which cluster, as whom, in which namespace: kubeconfig loading with kubectl's rules
// (`--kubeconfig`, else every file in `KUBECONFIG` merged first-wins, else ~/.kube/config,
// else the in-cluster service account). Authentication itself (token, client certificate,
// exec plugins, OIDC) is left to @kubernetes/client-node. Invariant: nothing here ever
// returns, logs or writes a credential or the text of a kubeconfig file; `ContextInfo`
// says how a user authenticates, never with what.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Cluster, Context, User } from '@kubernetes/client-node';
import { ClusterError } from './errors';

export type AuthKind = 'token' | 'token-file' | 'client-certificate' | 'exec' | 'oidc' | 'auth-provider' | 'basic' | 'in-cluster' | 'none';

/** A kubeconfig context as the status bar and the context picker show it. */
export interface ContextInfo {
  name: string;
  cluster: string;
  user: string;
  /** The API server address. */
  server: string;
  /** The context's namespace, if it sets one. */
  namespace?: string;
  authKind: AuthKind;
  /** For exec auth: the plugin's command (its arguments are left out: they can carry secrets). */
  execCommand?: string;
  current: boolean;
}

export interface ConnectOptions {
  /** Kubeconfig file(s); several joined with the platform's path delimiter, like `KUBECONFIG`. */
  kubeconfig?: string;
  /** Context to use instead of the current one. */
  context?: string;
  /** Namespace to use instead of the context's. */
  namespace?: string;
  /** Environment to read `KUBECONFIG`, `HOME` and the in-cluster variables from (tests). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Prefix of the service-account files for in-cluster config (tests); default none. */
  inClusterRoot?: string;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where the configuration came from, for messages: files, or the in-cluster service account. */
export type ConfigSource = { kind: 'files'; files: string[] } | { kind: 'in-cluster' };

/** Loads the kubeconfig the way kubectl does. Throws `ClusterError` (kind `config`) when there is none or it is unreadable. */
export function loadKubeConfig(options: ConnectOptions = {}): { kc: KubeConfig; source: ConfigSource } {
  const env = options.env ?? process.env;
  const explicit = options.kubeconfig ?? undefined;
  let files: string[];
  if (explicit !== undefined && explicit !== '') {
    files = explicit.split(path.delimiter).filter((f) => f !== '');
    for (const f of files) {
      if (!fs.existsSync(f)) throw new ClusterError('config', `The kubeconfig file ${f} does not exist. Check the --kubeconfig path.`);
    }
  } else if (env.KUBECONFIG) {
    // kubectl skips files in KUBECONFIG that do not exist.
    files = env.KUBECONFIG.split(path.delimiter).filter((f) => f !== '' && fs.existsSync(f));
    if (files.length === 0) {
      throw new ClusterError('config', `None of the files in KUBECONFIG exist (${env.KUBECONFIG}). Fix KUBECONFIG or unset it to use ~/.kube/config.`);
    }
  } else {
    const home = env.HOME ?? env.USERPROFILE ?? os.homedir();
    const defaultFile = path.join(home, '.kube', 'config');
    files = fs.existsSync(defaultFile) ? [defaultFile] : [];
  }

  if (files.length === 0) {
    const root = options.inClusterRoot ?? '';
    if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && fs.existsSync(`${root}${SERVICE_ACCOUNT_DIR}/token`)) {
      const kc = new KubeConfig();
      withEnv(env, ['KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT'], () => kc.loadFromCluster(root));
      return { kc, source: { kind: 'in-cluster' } };
    }
    throw new ClusterError(
      'config',
      'No Kubernetes configuration found: ~/.kube/config does not exist and KUBECONFIG is not set. ' +
        'Get a kubeconfig for your cluster (for example `kind get kubeconfig`, `minikube update-context`, or your provider\'s "get credentials" command), or pass --kubeconfig FILE.',
    );
  }

  const merged = { clusters: [] as Cluster[], users: [] as User[], contexts: [] as Context[], currentContext: '' };
  for (const file of files) {
    const one = new KubeConfig();
    try {
      one.loadFromFile(file);
    } catch (err) {
      throw new ClusterError('config', `Cannot read the kubeconfig file ${file}: ${safeLoadReason(err)}. Fix the file (\`kubectl config view\` shows what kubectl makes of it).`);
    }
    // kubectl's merge rule: the first file to define a name wins, and the first current-context wins.
    for (const c of one.clusters) if (!merged.clusters.some((m) => m.name === c.name)) merged.clusters.push(c);
    for (const u of one.users) if (!merged.users.some((m) => m.name === u.name)) merged.users.push(u);
    for (const c of one.contexts) if (!merged.contexts.some((m) => m.name === c.name)) merged.contexts.push(c);
    if (!merged.currentContext && one.currentContext) merged.currentContext = one.currentContext;
  }
  const kc = new KubeConfig();
  kc.loadFromOptions(merged);
  return { kc, source: { kind: 'files', files } };
}

/** A reason for a kubeconfig that failed to load, without quoting the file (it may hold tokens). */
function safeLoadReason(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { name?: string; message?: string; mark?: { line?: number } };
    if (e.name === 'YAMLException') {
      return e.mark?.line !== undefined ? `it is not valid YAML (line ${e.mark.line + 1})` : 'it is not valid YAML';
    }
    // client-node's own validation messages name fields only, e.g. "clusters[0].cluster.server is missing".
    if (typeof e.message === 'string' && /^(clusters|users|contexts)\[\d+\][\w.]* is missing$/.test(e.message)) return e.message;
    if ((err as NodeJS.ErrnoException).code === 'EACCES') return 'permission denied';
  }
  return 'it is not a valid kubeconfig';
}

function withEnv<T>(env: Readonly<Record<string, string | undefined>>, keys: string[], fn: () => T): T {
  if (env === process.env) return fn();
  const saved = keys.map((k) => [k, process.env[k]] as const);
  for (const k of keys) process.env[k] = env[k];
  try {
    return fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export function authKindOf(user: User | null | undefined, inCluster: boolean): { kind: AuthKind; execCommand?: string } {
  if (!user) return { kind: 'none' };
  if (inCluster) return { kind: 'in-cluster' };
  const exec = (user.exec ?? (user.authProvider as { config?: { exec?: unknown } } | undefined)?.config?.exec) as { command?: unknown } | undefined;
  if (exec) {
    const command = typeof exec.command === 'string' ? path.basename(exec.command) : undefined;
    return command === undefined ? { kind: 'exec' } : { kind: 'exec', execCommand: command };
  }
  const provider = (user.authProvider as { name?: string } | undefined)?.name;
  if (provider === 'oidc') return { kind: 'oidc' };
  if (provider === 'tokenFile') return { kind: 'token-file' };
  if (provider) return { kind: 'auth-provider' };
  if (user.certData || user.certFile) return { kind: 'client-certificate' };
  if (user.token) return { kind: 'token' };
  if (user.username) return { kind: 'basic' };
  return { kind: 'none' };
}

/**
 * One context of one kubeconfig, with the namespace to work in. Cheap to create: the
 * extension makes a new one when the user switches context or namespace.
 */
export class ClusterConnection {
  private constructor(
    readonly kubeConfig: KubeConfig,
    readonly source: ConfigSource,
    readonly contextName: string,
    readonly namespace: string,
    private readonly loadOptions: ConnectOptions,
  ) {}

  /** Loads kubeconfig and picks the context and namespace (options, else the current context's, else `default`). */
  static open(options: ConnectOptions = {}): ClusterConnection {
    const { kc, source } = loadKubeConfig(options);
    const contextName = options.context ?? kc.getCurrentContext();
    if (!contextName) {
      const names = kc.getContexts().map((c) => c.name);
      throw new ClusterError(
        'config',
        names.length === 0
          ? `The kubeconfig has no contexts (${describeSource(source)}). Add one with \`kubectl config set-context\`.`
          : `The kubeconfig has no current context. Pick one of: ${names.join(', ')} (--context NAME or \`kubectl config use-context NAME\`).`,
      );
    }
    const context = kc.getContextObject(contextName);
    if (!context) {
      const names = kc.getContexts().map((c) => c.name);
      throw new ClusterError('config', `There is no context "${contextName}" in the kubeconfig (${describeSource(source)}). Known contexts: ${names.join(', ') || 'none'}.`);
    }
    if (!kc.getCluster(context.cluster)) {
      throw new ClusterError('config', `Context "${contextName}" names cluster "${context.cluster}", which the kubeconfig does not define.`);
    }
    kc.setCurrentContext(contextName);
    const namespace = options.namespace || context.namespace?.trim() || 'default';
    return new ClusterConnection(kc, source, contextName, namespace, options);
  }

  /** The same kubeconfig with another context and/or namespace (re-read from disk, so edits are seen). */
  with(change: { context?: string; namespace?: string }): ClusterConnection {
    const options: ConnectOptions = { ...this.loadOptions, context: change.context ?? this.contextName };
    if (change.namespace !== undefined) options.namespace = change.namespace;
    else if (change.context === undefined || change.context === this.contextName) options.namespace = this.namespace;
    else delete options.namespace;
    return ClusterConnection.open(options);
  }

  get server(): string {
    return this.kubeConfig.getCurrentCluster()?.server ?? '';
  }

  get clusterName(): string {
    return this.kubeConfig.getCurrentCluster()?.name ?? '';
  }

  get userName(): string {
    return this.kubeConfig.getCurrentUser()?.name ?? '';
  }

  get auth(): { kind: AuthKind; execCommand?: string } {
    return authKindOf(this.kubeConfig.getCurrentUser(), this.source.kind === 'in-cluster');
  }

  /** Every context in the kubeconfig, for a picker. */
  contexts(): ContextInfo[] {
    const kc = this.kubeConfig;
    return kc.getContexts().map((c) => {
      const auth = authKindOf(kc.getUser(c.user), this.source.kind === 'in-cluster');
      const info: ContextInfo = {
        name: c.name,
        cluster: c.cluster,
        user: c.user,
        server: kc.getCluster(c.cluster)?.server ?? '',
        authKind: auth.kind,
        current: c.name === this.contextName,
      };
      if (c.namespace) info.namespace = c.namespace;
      if (auth.execCommand) info.execCommand = auth.execCommand;
      return info;
    });
  }

  /** `context "kind-dev", namespace "team-a"`: how messages name where something happened. */
  describe(): string {
    return `context "${this.contextName}", namespace "${this.namespace}"`;
  }
}

function describeSource(source: ConfigSource): string {
  return source.kind === 'in-cluster' ? 'in-cluster service account' : source.files.join(path.delimiter);
}
