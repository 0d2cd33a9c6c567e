// Turns whatever a Kubeflow Pipelines call failed with (a status code and body, a socket or
// TLS error) into one `KfpError` a data scientist can act on: what failed, where, and what
// to do. Messages never quote request headers or tokens, so they are safe to log and show.

export type KfpErrorKind =
  | 'config' // no endpoint, unreadable token file, bad setting
  | 'unreachable' // no connection, or the connection dropped before an answer
  | 'tls' // the endpoint's certificate is not trusted
  | 'unauthorized' // 401: no token, or an expired one
  | 'forbidden' // 403, or KFP's "authorization failure" on upload
  | 'loginPage' // an HTML page (Dex, oauth2-proxy) instead of JSON: not authenticated
  | 'tooOld' // the endpoint has no /apis/v2beta1: KFP 1.x
  | 'notFound'
  | 'alreadyExists' // 409: a pipeline, version or experiment with that name exists
  | 'invalid' // 400: KFP rejected the request (the message says why)
  | 'server' // 5xx
  | 'badResponse' // an answer that is not what the API returns
  | 'aborted';

export class KfpError extends Error {
  constructor(
    readonly kind: KfpErrorKind,
    message: string,
    readonly details: { status?: number; serverMessage?: string } = {},
  ) {
    super(message);
    this.name = 'KfpError';
  }

  get status(): number | undefined {
    return this.details.status;
  }

  /** Whether the same call may succeed later (a dropped connection, a 5xx). */
  get transient(): boolean {
    return this.kind === 'unreachable' || this.kind === 'server';
  }
}

/** What a failed request was doing, for messages: "create the run 'x'". */
export interface RequestContext {
  /** What was being done, in words: `upload a version of pipeline "churn"`. */
  action: string;
  /** The endpoint as the user gave it (no credentials in it). */
  endpoint: string;
  /** The profile namespace the request worked in, when there is one. */
  namespace?: string;
}

/** The server's own message from a KFP error body: gRPC status (`message`) or the upload handler's (`error_message`). */
export function serverMessage(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; error_message?: unknown; error?: unknown };
    for (const m of [parsed.message, parsed.error_message, parsed.error]) {
      if (typeof m === 'string' && m.trim() !== '') return m.trim();
    }
  } catch {
    // Not JSON: the caller decides what the text means.
  }
  return undefined;
}

/** True when the answer is a web page rather than API JSON (a login redirect target, a proxy's page). */
export function looksLikeHtml(contentType: string | undefined, body: string): boolean {
  if (contentType && /text\/html/i.test(contentType)) return true;
  return /^\s*(<!doctype html|<html)/i.test(body);
}

/**
 * KFP's authorization failures name the attributes it checked, as
 * `ResourceAttributes{Namespace:team-a,Verb:create,Group:pipelines.kubeflow.org,Resource:runs,...}`.
 */
export function deniedAttributes(message: string | undefined): { namespace?: string; verb?: string; resource?: string } {
  if (!message) return {};
  const pick = (key: string) => new RegExp(`${key}:([A-Za-z0-9._-]+)`).exec(message)?.[1];
  const out: { namespace?: string; verb?: string; resource?: string } = {};
  const namespace = pick('Namespace');
  const verb = pick('Verb');
  const resource = pick('Resource');
  if (namespace) out.namespace = namespace;
  if (verb) out.verb = verb;
  if (resource) out.resource = resource;
  return out;
}

const AUTH_FAILURE = /authoriz(ation|ed).*(fail|denied|not)|permission ?denied|is not authorized|unauthorized/i;

/** The error for an answer with a status outside 2xx (or a 2xx that is an HTML page). */
export function errorForResponse(status: number, contentType: string | undefined, body: string, ctx: RequestContext): KfpError {
  const where = `Kubeflow Pipelines at ${ctx.endpoint}`;
  const server = serverMessage(body);
  const details = { status, ...(server !== undefined ? { serverMessage: server } : {}) };
  const said = server ? ` KFP said: ${truncate(server)}` : '';
  // A redirect is where an auth proxy (oauth2-proxy, Dex) sends a request it did not authenticate.
  if (looksLikeHtml(contentType, body) || (status >= 300 && status < 400)) {
    return new KfpError(
      'loginPage',
      `${where} answered with a web page (a login page, e.g. Dex) instead of the API, so the request to ${ctx.action} was not authenticated. ` +
        'Give Flowbook a token: set flowbook.kfp.tokenSource to "kubeconfig" (a service-account token from your kubeconfig) or pass --token-file; ' +
        'or check that flowbook.kfp.endpoint is the Kubeflow address (the API is under /pipeline).',
      details,
    );
  }
  if (status === 401) {
    return new KfpError(
      'unauthorized',
      `${where} refused the credentials (401) when trying to ${ctx.action}: the token is missing, expired or for another audience. ` +
        'Get a fresh one (Flowbook requests a service-account token through your kubeconfig when flowbook.kfp.tokenSource is "kubeconfig"), or pass --token-file.',
      details,
    );
  }
  const denied = deniedAttributes(server);
  if (status === 403 || (status === 400 && server !== undefined && AUTH_FAILURE.test(server))) {
    const namespace = denied.namespace ?? ctx.namespace;
    const what = denied.verb && denied.resource ? `"${denied.verb}" on ${denied.resource}.pipelines.kubeflow.org` : 'this';
    const ns = namespace ? ` in the profile namespace "${namespace}"` : '';
    return new KfpError(
      'forbidden',
      `${where} did not allow you to ${ctx.action} (${status}): your account may not do ${what}${ns}. ` +
        `In multi-user Kubeflow, ask the owner of profile "${namespace ?? 'your profile'}" to add you as a contributor (role kubeflow-edit), ` +
        'or set flowbook.kfp.namespace to a profile you belong to.' + said,
      details,
    );
  }
  if (status === 404 && server === undefined) {
    return new KfpError(
      'tooOld',
      `${where} has no Kubeflow Pipelines v2 API (/apis/v2beta1 answered 404 when trying to ${ctx.action}). ` +
        'Flowbook needs KFP 2.0 or later; check that flowbook.kfp.endpoint points at the KFP API (or the Kubeflow address, whose API is under /pipeline).',
      details,
    );
  }
  if (status === 404) return new KfpError('notFound', `${where}: could not ${ctx.action}: not found.${said}`, details);
  if (status === 409) return new KfpError('alreadyExists', `${where}: could not ${ctx.action}: the name is already taken.${said}`, details);
  if (status >= 500) {
    return new KfpError('server', `${where} failed (${status}) when trying to ${ctx.action}; try again in a moment, and if it persists ask your Kubeflow admin to check the ml-pipeline logs.${said}`, details);
  }
  return new KfpError('invalid', `${where} rejected the request to ${ctx.action} (${status}).${said || ' No reason given.'}`, details);
}

/** The error for a request that got no answer at all. */
export function errorForNetwork(err: unknown, ctx: RequestContext): KfpError {
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? '';
  if (e.name === 'AbortError' || code === 'ABORT_ERR') return new KfpError('aborted', `Cancelled: ${ctx.action}.`);
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return new KfpError(
      'tls',
      `The certificate of ${ctx.endpoint} is not trusted (${code}). Set flowbook.kfp.caFile to your cluster's CA certificate.`,
    );
  }
  const reason =
    code === 'ECONNREFUSED' ? 'the connection was refused (nothing listens there; is the port-forward running?)'
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'the host name does not resolve'
    : code === 'ETIMEDOUT' || code === 'ETIMEOUT' ? 'it did not answer in time'
    : code === 'ECONNRESET' || /socket hang up/i.test(e.message ?? '') ? 'the connection dropped before an answer came'
    : (e.message ?? String(err));
  return new KfpError('unreachable', `Cannot reach Kubeflow Pipelines at ${ctx.endpoint} to ${ctx.action}: ${reason}. Check flowbook.kfp.endpoint and your network or VPN.`);
}

function truncate(text: string, max = 300): string {
  const one = text.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** What the CLI options in KFP messages are called in VS Code (the messages name both the settings and the options). */
const SETTING_WORDING: readonly (readonly [RegExp, string])[] = [
  [/ \(or --endpoint\)/g, ''],
  [/pass --token-file/g, 'set flowbook.kfp.tokenFile to a file holding a token'],
  [/--token-file/g, 'flowbook.kfp.tokenFile'],
];

/** A KFP message for the extension: the command-line options it names become `flowbook.kfp.*` settings. */
export function inSettingsTerms(message: string): string {
  return SETTING_WORDING.reduce((text, [option, setting]) => text.replace(option, setting), message);
}
