// A Bearer token for Kubeflow Pipelines obtained with the user's kubeconfig: a short-lived
// token of the profile's service account (TokenRequest, audience pipelines.kubeflow.org),
// requested through the Kubernetes API and kept in memory until shortly before it expires.
// The token is never logged, shown or written; errors are the cluster core's messages.

import type { ClusterClient } from '../cluster/client';
import type { TokenProvider } from './endpoint';
import { KFP_TOKEN_AUDIENCE } from './endpoint';

/** How long a requested token lives; it is renewed a minute before. */
const TOKEN_SECONDS = 3600;
const RENEW_BEFORE_MS = 60_000;

/** Tokens of `serviceAccount` in `namespace`, requested through `client`. */
export function serviceAccountTokens(client: ClusterClient, serviceAccount: string, namespace: string, now: () => number = Date.now): TokenProvider {
  let cached: { token: string; expires: number } | undefined;
  let pending: Promise<string> | undefined;
  const request = async (signal?: AbortSignal): Promise<string> => {
    const op = { verb: 'create' as const, type: { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount' }, subresource: 'token', namespace, name: serviceAccount, label: `request a token of service account "${serviceAccount}" for Kubeflow Pipelines` };
    const answer = await client.call(
      op,
      () => client.core.createNamespacedServiceAccountToken({ name: serviceAccount, namespace, body: { spec: { audiences: [KFP_TOKEN_AUDIENCE], expirationSeconds: TOKEN_SECONDS } } }),
      { repeatable: true, ...(signal ? { signal } : {}) },
    );
    const token = answer.status?.token;
    if (!token) throw client.toError(new Error('the TokenRequest answer has no token'), op);
    const expires = answer.status?.expirationTimestamp ? new Date(answer.status.expirationTimestamp).getTime() : now() + TOKEN_SECONDS * 1000;
    cached = { token, expires };
    return token;
  };
  return {
    describe: `a token of service account ${namespace}/${serviceAccount} from your kubeconfig`,
    token: async (signal) => {
      if (cached && cached.expires - RENEW_BEFORE_MS > now()) return cached.token;
      pending ??= request(signal).finally(() => (pending = undefined));
      return pending;
    },
  };
}
