// Turns whatever a Kubernetes call failed with (client-node's ApiException, a fetch or
// socket error, a watch error, a Status body) into one `ClusterError` whose message a data
// scientist can act on: what failed, where, and what to do. Messages never quote request
// headers or kubeconfig text, so they are safe to log and show.

import type { ResourceType } from './resources';
import type { KubeStatus } from './types';
import type { AuthKind } from './connection';

export type ClusterErrorKind =
  | 'config' // no or unreadable kubeconfig, unknown context
  | 'unreachable' // no connection to the API server
  | 'tls' // the server's certificate is not trusted
  | 'unauthorized' // 401: credentials missing or expired
  | 'credentials' // the exec/OIDC plugin could not produce credentials
  | 'forbidden' // 403
  | 'namespaceNotFound'
  | 'crdMissing' // the resource type is not installed (Argo, KServe)
  | 'notFound'
  | 'alreadyExists'
  | 'conflict' // 409 on update: the object changed meanwhile
  | 'invalid' // 400/422: the cluster rejected the object
  | 'throttled' // 429
  | 'server' // 5xx
  | 'gone' // 410: resourceVersion too old
  | 'aborted'
  | 'state' // the action does not fit the run's state (retry a running run)
  | 'unknown';

export class ClusterError extends Error {
  constructor(
    readonly kind: ClusterErrorKind,
    message: string,
    readonly details: {
      status?: number;
      retryAfterSeconds?: number;
      /** The Status body's causes, for `invalid`. */
      causes?: string[];
      /** The server's own message, when it had one. */
      serverMessage?: string;
    } = {},
  ) {
    super(message);
    this.name = 'ClusterError';
  }

  get status(): number | undefined {
    return this.details.status;
  }

  /** Whether trying the same call again later may succeed (network, 429, 5xx). */
  get transient(): boolean {
    return this.kind === 'unreachable' || this.kind === 'throttled' || this.kind === 'server';
  }
}

/** What was being done when a call failed: names the verb, resource and namespace in messages. */
export interface Operation {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';
  type?: ResourceType;
  /** `log` for pods/log. */
  subresource?: string;
  namespace?: string;
  name?: string;
  /** Overrides the generated description, e.g. "dry-run create the Workflow". */
  label?: string;
}

/** Where the call went: for "cannot reach https://…" and "credentials of user … expired". */
export interface Endpoint {
  server: string;
  context: string;
  user: string;
  auth: { kind: AuthKind; execCommand?: string };
}

const INSTALL_HINTS: Record<string, string> = {
  'argoproj.io':
    'Argo Workflows is not installed on this cluster (the workflows.argoproj.io CRD is missing). Install it with ' +
    '`kubectl create namespace argo && kubectl apply -n argo -f https://github.com/argoproj/argo-workflows/releases/latest/download/install.yaml`, ' +
    'or use a Kubeflow Pipelines install (it runs the Argo controller).',
  'serving.kserve.io':
    'KServe is not installed on this cluster (the inferenceservices.serving.kserve.io CRD is missing). See https://kserve.github.io/website/latest/admin/serverless/serverless/ for the install, or ask your cluster admin.',
  'serving.kubeflow.org': 'The legacy KFServing API (serving.kubeflow.org) is not installed on this cluster.',
};

/** Resource name as `kubectl` and RBAC rules write it: `workflows.argoproj.io`, `pods/log`. */
export function resourceLabel(op: Operation): string {
  if (!op.type) return 'resources';
  const base = op.type.group ? `${op.type.plural}.${op.type.group}` : op.type.plural;
  return op.subresource ? `${base}/${op.subresource}` : base;
}

function describeOp(op: Operation): string {
  if (op.label) return op.label;
  const what = op.name ? `${resourceLabel(op)} "${op.name}"` : resourceLabel(op);
  const where = op.namespace ? ` in namespace "${op.namespace}"` : '';
  return `${op.verb} ${what}${where}`;
}

interface ErrorShape {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  code?: string;
  message?: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE']);

/** Reads the HTTP status, body, headers and system error code from any error client-node or Node throws. */
function shapeOf(err: unknown): ErrorShape {
  const shape: ErrorShape = {};
  let e: unknown = err;
  for (let depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const o = e as Record<string, unknown>;
    // client-node ApiException: code (HTTP), body, headers. Watch errors: statusCode.
    if (shape.status === undefined && typeof o.code === 'number') shape.status = o.code;
    if (shape.status === undefined && typeof o.statusCode === 'number') shape.status = o.statusCode;
    if (shape.body === undefined && o.body !== undefined) shape.body = o.body;
    if (shape.headers === undefined && o.headers && typeof o.headers === 'object') shape.headers = o.headers as Record<string, string>;
    if (shape.code === undefined && typeof o.code === 'string') shape.code = o.code;
    if (shape.code === undefined && typeof o.errno === 'string') shape.code = o.errno;
    if (shape.message === undefined && typeof o.message === 'string') shape.message = o.message;
    e = o.cause;
  }
  return shape;
}

/** Parses a Kubernetes Status from a body that may be a string, an object or absent. */
export function parseStatus(body: unknown): KubeStatus | undefined {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (value && typeof value === 'object' && (value as KubeStatus).kind === 'Status') return value as KubeStatus;
  return undefined;
}

function retryAfterOf(shape: ErrorShape, status: KubeStatus | undefined): number | undefined {
  const header = shape.headers?.['retry-after'] ?? shape.headers?.['Retry-After'];
  if (header !== undefined) {
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds;
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - Date.now()) / 1000));
  }
  return status?.details?.retryAfterSeconds;
}

function unauthorizedHint(endpoint: Endpoint): string {
  const user = endpoint.user;
  switch (endpoint.auth.kind) {
    case 'exec':
      return `The credential plugin${endpoint.auth.execCommand ? ` "${endpoint.auth.execCommand}"` : ''} gave a token the cluster no longer accepts. Log in again with your provider's tool (for example \`gcloud auth login\`, \`aws sso login\`, \`az login\` or \`kubelogin\`), then retry.`;
    case 'oidc':
      return 'Your OIDC login has expired. Log in again (for example with `kubectl oidc-login`) to refresh the id-token, then retry.';
    case 'token':
    case 'token-file':
      return `The token of kubeconfig user "${user}" is expired or revoked. Get a new one from your cluster admin or your platform's login page and set it with \`kubectl config set-credentials ${user} --token=NEW_TOKEN\`.`;
    case 'client-certificate':
      return `The client certificate of kubeconfig user "${user}" is expired or not trusted by this cluster. Get a fresh kubeconfig from your cluster admin or provider.`;
    case 'in-cluster':
      return "This pod's service-account token was rejected. Check the pod's service account and its token mount.";
    case 'basic':
      return `The username/password of kubeconfig user "${user}" was rejected. Update them with \`kubectl config set-credentials ${user}\`.`;
    case 'none':
      return `Context "${endpoint.context}" has no credentials. Add a user with \`kubectl config set-credentials\` or get a kubeconfig from your cluster admin.`;
    default:
      return 'Refresh your credentials (log in to your cluster provider again), then retry.';
  }
}

/**
 * Classifies an error from a Kubernetes call. `op` says what was attempted, `endpoint`
 * where; the result's message is complete and ready to show.
 */
export function toClusterError(err: unknown, op: Operation, endpoint: Endpoint): ClusterError {
  if (err instanceof ClusterError) return err;
  const shape = shapeOf(err);
  const status = parseStatus(shape.body);
  const serverMessage = status?.message;
  const httpStatus = shape.status ?? status?.code;
  const what = describeOp(op);
  const extra: ClusterError['details'] = {};
  if (httpStatus !== undefined) extra.status = httpStatus;
  if (serverMessage) extra.serverMessage = serverMessage;

  if (shape.code === 'ABORT_ERR' || (err as { name?: string } | null)?.name === 'AbortError') {
    return new ClusterError('aborted', `Cancelled: ${what}.`);
  }
  if (httpStatus === undefined || httpStatus === 0) {
    if (shape.code && NETWORK_CODES.has(shape.code)) {
      return new ClusterError(
        'unreachable',
        `Cannot reach the Kubernetes API server at ${endpoint.server} (context "${endpoint.context}"): ${networkReason(shape.code)}. ` +
          'Check that the cluster is running and that you are on its network or VPN; `kubectl cluster-info` should show the same address.',
        extra,
      );
    }
    if (shape.code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ALTNAME/.test(shape.code)) {
      return new ClusterError(
        'tls',
        `The API server at ${endpoint.server} presented a certificate this machine does not trust (${shape.code}). ` +
          'If this is the right cluster, set its certificate-authority(-data) in the kubeconfig, or get a fresh kubeconfig from your cluster admin.',
        extra,
      );
    }
    if (endpoint.auth.kind === 'exec' || endpoint.auth.kind === 'oidc') {
      const first = (shape.message ?? '').split('\n').find((l) => l.trim() !== '')?.trim().slice(0, 200);
      return new ClusterError(
        'credentials',
        `Could not get credentials for context "${endpoint.context}"${endpoint.auth.execCommand ? ` from "${endpoint.auth.execCommand}"` : ''}${first ? `: ${first}` : ''}. ${unauthorizedHint(endpoint)}`,
        extra,
      );
    }
    return new ClusterError('unknown', `Failed to ${what} on ${endpoint.server}: ${shape.message ?? String(err)}`, extra);
  }

  const said = serverMessage ? ` The cluster said: ${serverMessage}` : '';
  switch (httpStatus) {
    case 401:
      return new ClusterError('unauthorized', `The cluster at ${endpoint.server} rejected the credentials of context "${endpoint.context}" (401 Unauthorized) while trying to ${what}. ${unauthorizedHint(endpoint)}`, extra);
    case 403: {
      const verb = op.verb;
      const resource = op.type ? (op.subresource ? `${op.type.plural}/${op.subresource}` : op.type.plural) : 'the resource';
      const group = op.type?.group ?? '';
      const ns = op.namespace ? ` in namespace "${op.namespace}"` : ' (cluster-wide)';
      return new ClusterError(
        'forbidden',
        `Permission denied: kubeconfig user "${endpoint.user}" may not ${verb} ${resourceLabel(op)}${ns} (403 Forbidden, context "${endpoint.context}"). ` +
          `Ask your cluster admin for a Role${op.namespace ? '' : ' (ClusterRole)'} allowing verbs ["${verb}"] on resources ["${resource}"] in apiGroups ["${group}"]${op.namespace ? ` in "${op.namespace}"` : ''}, bound to your user.${said}`,
        extra,
      );
    }
    case 404: {
      if (status?.details?.kind === 'namespaces' || (op.namespace && serverMessage === `namespaces "${op.namespace}" not found`)) {
        const ns = status?.details?.name ?? op.namespace ?? '';
        return new ClusterError(
          'namespaceNotFound',
          `Namespace "${ns}" does not exist on context "${endpoint.context}". Pick another namespace (--namespace, or the namespace item in the status bar), or create it: \`kubectl create namespace ${ns}\`.`,
          extra,
        );
      }
      // A resource type that is not installed answers with a bare 404 and no details.
      if (op.type?.group && !status?.details?.name && (!serverMessage || serverMessage === 'the server could not find the requested resource' || serverMessage === '404 page not found')) {
        const hint = INSTALL_HINTS[op.type.group] ?? `The ${op.type.plural}.${op.type.group} resource type is not installed on this cluster.`;
        return new ClusterError('crdMissing', `${hint} (context "${endpoint.context}")`, extra);
      }
      const kind = op.type?.kind ?? 'Object';
      return new ClusterError('notFound', `${kind} "${op.name ?? status?.details?.name ?? '?'}" was not found${op.namespace ? ` in namespace "${op.namespace}"` : ''} (context "${endpoint.context}"). It may have been deleted.`, extra);
    }
    case 409:
      if (status?.reason === 'AlreadyExists' || / already exists$/.test(serverMessage ?? '')) {
        return new ClusterError('alreadyExists', `Cannot ${what}: an object with that name already exists.${said}`, extra);
      }
      return new ClusterError('conflict', `Cannot ${what}: it was changed by someone else meanwhile (409 Conflict). Reload and try again.${said}`, extra);
    case 410:
      return new ClusterError('gone', `The cluster no longer has the history needed to ${what} (410 Gone); a fresh list is needed.`, extra);
    case 400:
    case 422: {
      const causes = (status?.details?.causes ?? []).map((c) => (c.field ? `${c.field}: ${c.message ?? c.reason ?? ''}` : (c.message ?? c.reason ?? ''))).filter((c) => c !== '');
      if (causes.length > 0) extra.causes = causes;
      return new ClusterError('invalid', `The cluster rejected the request to ${what} (${httpStatus}): ${causes.length > 0 ? causes.join('; ') : (serverMessage ?? 'invalid')}.`, extra);
    }
    case 429: {
      const retry = retryAfterOf(shape, status);
      if (retry !== undefined) extra.retryAfterSeconds = retry;
      return new ClusterError('throttled', `The API server is busy (429 Too Many Requests) and asked Flowbook to wait${retry !== undefined ? ` ${retry} s` : ''} before trying to ${what} again.`, extra);
    }
    default:
      if (httpStatus >= 500) {
        const retry = retryAfterOf(shape, status);
        if (retry !== undefined) extra.retryAfterSeconds = retry;
        return new ClusterError('server', `The API server at ${endpoint.server} failed to ${what} (${httpStatus}).${said} Try again; if it keeps failing, ask your cluster admin to check the API server.`, extra);
      }
      return new ClusterError('unknown', `Failed to ${what} (HTTP ${httpStatus}).${said}`, extra);
  }
}

function networkReason(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve';
    case 'ETIMEDOUT':
      return 'the connection timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to the host';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ERR_STREAM_PREMATURE_CLOSE':
      return 'the connection was dropped';
    default:
      return `the connection failed (${code})`;
  }
}
