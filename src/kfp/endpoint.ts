// Where the Kubeflow Pipelines API is and how Flowbook proves who it is: in the cluster (the
// service address and the projected token KFP mounts for notebooks), through the Kubeflow
// ingress with a Bearer token (one the user gives, or a service-account token requested with
// the user's kubeconfig), or straight at the API (a port-forward). Invariant: tokens are
// read when a request needs them and never put in a message, a log line or a file.

import * as fs from 'node:fs';
import { KfpError } from './errors';

/** The settings `flowbook.kfp.*` (and the matching CLI options), as plain data. */
export interface KfpSettings {
  /** The Kubeflow address (`https://kubeflow.example.com`), the API itself (`http://localhost:8888` through a port-forward), or empty: in the cluster. */
  endpoint?: string;
  /** The profile namespace runs, experiments and pipelines belong to. */
  namespace?: string;
  /** Where the KFP UI is, for links; default: derived from the endpoint. */
  uiUrl?: string;
  /** A file holding a Bearer token (re-read for every request: projected tokens rotate). */
  tokenFile?: string;
  /** A token the user gave (for example from the environment); never shown. */
  token?: string;
  /** `kubeconfig`: request a short-lived service-account token through the Kubernetes API. */
  tokenSource?: 'none' | 'kubeconfig';
  /** The service account whose token `kubeconfig` requests (default `default-editor`, the one each Kubeflow profile has). */
  serviceAccount?: string;
  /** A PEM file with the CA that signed the endpoint's certificate. */
  caFile?: string;
}

/** Where tokens come from; `describe` says how, never with what. */
export interface TokenProvider {
  describe: string;
  token(signal?: AbortSignal): Promise<string | undefined>;
}

export type EndpointMode = 'in-cluster' | 'ingress' | 'direct';

export interface KfpEndpoint {
  mode: EndpointMode;
  /** The API's base URL; routes (`/apis/v2beta1/...`) are appended to it. */
  apiBase: string;
  /** The KFP UI's base URL (ending in `/`), when known. */
  uiBase?: string;
  /** The endpoint as messages name it. */
  display: string;
  namespace?: string;
  ca?: Buffer;
  tokens: TokenProvider;
}

/** Where KFP mounts the projected token for pods that may call it (notebook servers, pipeline steps). */
export const IN_CLUSTER_TOKEN_PATH = '/var/run/secrets/kubeflow/pipelines/token';
/** The endpoint value that asks the CLI to start `kubectl port-forward` to KFP's API itself. */
export const PORT_FORWARD = 'port-forward';
export const IN_CLUSTER_API = 'http://ml-pipeline.kubeflow.svc.cluster.local:8888';
/** The audience KFP checks in service-account tokens. */
export const KFP_TOKEN_AUDIENCE = 'pipelines.kubeflow.org';

export interface ResolveOptions {
  env?: Readonly<Record<string, string | undefined>>;
  /** Prefix for the in-cluster token path (tests). */
  inClusterRoot?: string;
  /** Makes the `kubeconfig` token source; given by the caller so this module needs no Kubernetes client. */
  kubeTokens?: (serviceAccount: string, namespace: string) => TokenProvider;
}

/** The endpoint for `settings`. Throws `KfpError` (kind `config`) when the settings do not name a usable one. */
export function resolveEndpoint(settings: KfpSettings, options: ResolveOptions = {}): KfpEndpoint {
  const env = options.env ?? process.env;
  const ca = settings.caFile ? readFileOrThrow(settings.caFile, 'flowbook.kfp.caFile') : undefined;
  const raw = settings.endpoint?.trim() ?? '';
  if (raw === '') {
    const tokenPath = `${options.inClusterRoot ?? ''}${IN_CLUSTER_TOKEN_PATH}`;
    if (env.KUBERNETES_SERVICE_HOST && fs.existsSync(tokenPath)) {
      return {
        mode: 'in-cluster',
        apiBase: IN_CLUSTER_API,
        ...(settings.uiUrl ? { uiBase: withSlash(settings.uiUrl) } : {}),
        display: 'the in-cluster Kubeflow Pipelines service',
        ...(settings.namespace ? { namespace: settings.namespace } : {}),
        ...(ca ? { ca } : {}),
        tokens: fileTokens(tokenPath, 'the projected token of this pod'),
      };
    }
    throw new KfpError(
      'config',
      'No Kubeflow Pipelines endpoint is set. Set flowbook.kfp.endpoint (or --endpoint) to your Kubeflow address, e.g. https://kubeflow.example.com; ' +
        'or port-forward the API with `kubectl port-forward -n kubeflow svc/ml-pipeline 8888:8888` and use http://localhost:8888.',
    );
  }
  if (raw === PORT_FORWARD) {
    throw new KfpError('config', 'flowbook.kfp.endpoint "port-forward" works on the command line (flowbook ... --endpoint port-forward). Here, run `kubectl port-forward -n kubeflow svc/ml-pipeline 8888:8888` and set the endpoint to http://localhost:8888.');
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new KfpError('config', `flowbook.kfp.endpoint "${raw}" is not a URL. Write it like https://kubeflow.example.com or http://localhost:8888.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new KfpError('config', `flowbook.kfp.endpoint "${raw}" must start with http:// or https://.`);
  }
  if (url.username || url.password) {
    throw new KfpError('config', 'flowbook.kfp.endpoint must not contain a user name or password; give a token instead (flowbook.kfp.tokenSource or --token-file).');
  }
  const origin = url.origin;
  const pathPart = url.pathname.replace(/\/+$/, '');
  // The bare API (svc/ml-pipeline, or a port-forward to it on this machine) serves /apis at
  // the root; the Kubeflow ingress serves it under /pipeline and the UI under /_/pipeline/.
  // A path written in the setting is used as it is (the ingress through a port-forward:
  // http://localhost:8080/pipeline).
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  const direct = pathPart === '' && (loopback || url.port === '8888' || url.hostname.startsWith('ml-pipeline'));
  const mode: EndpointMode = direct ? 'direct' : 'ingress';
  const apiBase = pathPart !== '' ? `${origin}${pathPart}` : direct ? origin : `${origin}/pipeline`;
  const ingressRoot = pathPart === '' ? origin : pathPart.endsWith('/pipeline') ? `${origin}${pathPart.slice(0, -'/pipeline'.length)}` : undefined;
  const uiBase = settings.uiUrl ? withSlash(settings.uiUrl) : !direct && ingressRoot !== undefined ? `${ingressRoot}/_/pipeline/` : undefined;
  return {
    mode,
    apiBase,
    ...(uiBase ? { uiBase } : {}),
    display: origin + pathPart,
    ...(settings.namespace ? { namespace: settings.namespace } : {}),
    ...(ca ? { ca } : {}),
    tokens: tokenProvider(settings, options),
  };
}

function tokenProvider(settings: KfpSettings, options: ResolveOptions): TokenProvider {
  if (settings.token !== undefined && settings.token !== '') {
    const token = settings.token.trim();
    return { describe: 'the token you gave', token: () => Promise.resolve(token) };
  }
  if (settings.tokenFile) return fileTokens(settings.tokenFile, `the token in ${settings.tokenFile}`);
  if (settings.tokenSource === 'kubeconfig') {
    if (!settings.namespace) {
      throw new KfpError('config', 'flowbook.kfp.tokenSource "kubeconfig" needs flowbook.kfp.namespace: the profile namespace whose service account Flowbook asks a token for.');
    }
    if (!options.kubeTokens) throw new KfpError('config', 'Requesting a token through the kubeconfig is not available here; pass --token-file instead.');
    return options.kubeTokens(settings.serviceAccount ?? 'default-editor', settings.namespace);
  }
  return { describe: 'no token', token: () => Promise.resolve(undefined) };
}

function fileTokens(file: string, describe: string): TokenProvider {
  return {
    describe,
    token: () => Promise.resolve(readFileOrThrow(file, 'the token file').toString('utf8').trim()),
  };
}

function readFileOrThrow(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KfpError('config', `Cannot read ${what} ${file}: ${code === 'ENOENT' ? 'no such file' : String(code)}.`);
  }
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** The KFP UI page of a run, when the UI's address is known. */
export function runUrl(endpoint: KfpEndpoint, runId: string): string | undefined {
  return endpoint.uiBase ? `${endpoint.uiBase}#/runs/details/${encodeURIComponent(runId)}` : undefined;
}

/** The KFP UI page of a recurring run. */
export function recurringRunUrl(endpoint: KfpEndpoint, recurringRunId: string): string | undefined {
  return endpoint.uiBase ? `${endpoint.uiBase}#/recurringrun/details/${encodeURIComponent(recurringRunId)}` : undefined;
}
