// The checks made before every submit, run together so the user sees every problem at
// once instead of fixing them one by one: Argo's CRD is installed, the namespace exists,
// the user may create workflows and read pods and their logs (SelfSubjectAccessReview),
// and the cluster accepts the Workflow itself (server-side dry run, so the cluster's own
// schema and admission webhooks judge it). Problems that share one cause (no connection,
// expired credentials) are reported once. The data check says how values will pass between
// steps: artifacts need an Argo artifact repository, a ReadWriteOnce volume needs the run's
// pods on one node (dataPassing.ts).

import type { ClusterClient } from './client';
import { detectArtifactRepository, keptOnOneNode, usesReadWriteOnceVolume } from './dataPassing';
import { ClusterError } from './errors';
import { apiVersionOf, crdName, NAMESPACES, WORKFLOWS } from './resources';
import type { KubeObject, Workflow } from './types';

export type PreflightCheck = 'connection' | 'crd' | 'namespace' | 'permission' | 'data' | 'dryRun';

export interface PreflightProblem {
  check: PreflightCheck;
  severity: 'error' | 'warning';
  message: string;
  /** The error kind behind it, when it came from a failed call. */
  kind?: ClusterError['kind'];
}

export interface PreflightReport {
  ok: boolean;
  namespace: string;
  problems: PreflightProblem[];
  /** Which checks passed, for a checklist in the UI. */
  passed: PreflightCheck[];
}

interface Access {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  severity: 'error' | 'warning';
  why: string;
}

const ACCESS: Access[] = [
  { verb: 'create', group: 'argoproj.io', resource: 'workflows', severity: 'error', why: 'to submit runs' },
  { verb: 'get', group: '', resource: 'pods', severity: 'error', why: 'to follow the steps of a run' },
  { verb: 'get', group: '', resource: 'pods', subresource: 'log', severity: 'error', why: 'to show step logs' },
  { verb: 'watch', group: 'argoproj.io', resource: 'workflows', severity: 'warning', why: 'to show runs live (the Runs view and --watch fall back to errors without it)' },
];

/** Failures that mean "nothing else can be checked": reported once, as a connection problem. */
const FATAL = new Set<ClusterError['kind']>(['unreachable', 'tls', 'unauthorized', 'credentials', 'config']);

export class PreflightError extends Error {
  constructor(readonly report: PreflightReport) {
    super(formatPreflight(report));
    this.name = 'PreflightError';
  }
}

export async function preflight(client: ClusterClient, workflow: KubeObject, options: { namespace?: string; signal?: AbortSignal } = {}): Promise<PreflightReport> {
  const namespace = options.namespace ?? workflow.metadata.namespace ?? client.namespace;
  const problems: PreflightProblem[] = [];
  const passed: PreflightCheck[] = [];
  const fatal: ClusterError[] = [];
  const noteFatal = (err: unknown): boolean => {
    if (err instanceof ClusterError && FATAL.has(err.kind)) {
      fatal.push(err);
      return true;
    }
    return false;
  };
  let crdMissing = false;
  let namespaceMissing = false;

  const crdCheck = (async () => {
    try {
      await client.call({ verb: 'get', type: { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition' }, name: crdName(WORKFLOWS) }, () => client.apiextensions.readCustomResourceDefinition({ name: crdName(WORKFLOWS) }), { repeatable: true, signal: options.signal });
      passed.push('crd');
    } catch (err) {
      if (noteFatal(err)) return;
      // Many users may not read CRDs (cluster-scoped); API discovery is open to everyone.
      if (err instanceof ClusterError && (err.kind === 'forbidden' || err.kind === 'notFound' || err.kind === 'crdMissing')) {
        try {
          if (await client.serves(WORKFLOWS, options.signal)) {
            passed.push('crd');
            return;
          }
        } catch (inner) {
          if (noteFatal(inner)) return;
        }
        crdMissing = true;
        problems.push({ check: 'crd', severity: 'error', kind: 'crdMissing', message: client.toError({ statusCode: 404, body: '' }, { verb: 'create', type: WORKFLOWS, namespace }).message });
        return;
      }
      problems.push({ check: 'crd', severity: 'error', message: errorMessage(err), ...kindOf(err) });
    }
  })();

  const namespaceCheck = (async () => {
    try {
      await client.call({ verb: 'get', type: NAMESPACES, name: namespace }, () => client.core.readNamespace({ name: namespace }), { repeatable: true, signal: options.signal });
      passed.push('namespace');
    } catch (err) {
      if (noteFatal(err)) return;
      if (err instanceof ClusterError && (err.kind === 'notFound' || err.kind === 'namespaceNotFound')) {
        namespaceMissing = true;
        problems.push({ check: 'namespace', severity: 'error', kind: 'namespaceNotFound', message: client.toError({ statusCode: 404, body: { kind: 'Status', code: 404, details: { name: namespace, kind: 'namespaces' } } }, { verb: 'get', namespace }).message });
      }
      // 403: users of shared clusters often may not read namespaces; the dry run below tells.
    }
  })();

  const accessChecks = ACCESS.map(async (a) => {
    try {
      const review = await client.call(
        { verb: 'create', label: 'check permissions (SelfSubjectAccessReview)' },
        () =>
          client.authorization.createSelfSubjectAccessReview({
            body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace, verb: a.verb, group: a.group, resource: a.resource, ...(a.subresource ? { subresource: a.subresource } : {}) } } },
          }),
        { repeatable: true, signal: options.signal },
      );
      if (review.status?.allowed) return true;
      const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
      problems.push({
        check: 'permission',
        severity: a.severity,
        kind: 'forbidden',
        message:
          `Kubeconfig user "${client.endpoint.user}" may not ${a.verb} ${resource}${a.group ? `.${a.group}` : ''} in namespace "${namespace}" (needed ${a.why}). ` +
          `Ask your cluster admin for a Role allowing verbs ["${a.verb}"] on resources ["${resource}"] in apiGroups ["${a.group}"] in "${namespace}", bound to your user.`,
      });
      return false;
    } catch (err) {
      if (!noteFatal(err)) problems.push({ check: 'permission', severity: 'warning', message: `Could not check permissions: ${errorMessage(err)}`, ...kindOf(err) });
      return false;
    }
  });

  const dataCheck = (async () => {
    try {
      const problem = await dataPassingProblem(client, workflow as Workflow, namespace, options.signal);
      if (problem) problems.push(problem);
      else passed.push('data');
    } catch (err) {
      if (!noteFatal(err)) problems.push({ check: 'data', severity: 'warning', message: `Could not check how values pass between steps: ${errorMessage(err)}`, ...kindOf(err) });
    }
  })();

  await Promise.all([crdCheck, namespaceCheck, dataCheck]);
  const access = await Promise.all(accessChecks);
  if (access.every((x) => x)) passed.push('permission');

  // The dry run needs the CRD and the namespace; a missing one is already reported.
  if (fatal.length === 0 && !crdMissing && !namespaceMissing) {
    try {
      const body = structuredClone(workflow);
      body.metadata = { ...body.metadata, namespace };
      body.apiVersion ??= apiVersionOf(WORKFLOWS);
      body.kind ??= WORKFLOWS.kind;
      await client.create(WORKFLOWS, namespace, body, { dryRun: true, signal: options.signal });
      passed.push('dryRun');
    } catch (err) {
      if (!noteFatal(err)) {
        const e = err instanceof ClusterError ? err : client.toError(err, { verb: 'create', type: WORKFLOWS, namespace });
        // Permission and namespace problems are reported by their own checks already.
        const duplicate = (e.kind === 'forbidden' && problems.some((p) => p.check === 'permission')) || (e.kind === 'namespaceNotFound' && namespaceMissing);
        if (!duplicate) {
          problems.push({
            check: 'dryRun',
            severity: 'error',
            kind: e.kind,
            message: e.kind === 'invalid' ? `The cluster rejected the Workflow in a dry run: ${(e.details.causes ?? [e.details.serverMessage ?? e.message]).join('; ')}` : e.message,
          });
        }
      }
    }
  }

  if (fatal.length > 0) {
    const first = fatal[0] as ClusterError;
    problems.unshift({ check: 'connection', severity: 'error', kind: first.kind, message: first.message });
  }
  const order: PreflightCheck[] = ['connection', 'crd', 'namespace', 'permission', 'data', 'dryRun'];
  problems.sort((a, b) => order.indexOf(a.check) - order.indexOf(b.check) || (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  return { ok: !problems.some((p) => p.severity === 'error'), namespace, problems, passed: order.filter((c) => passed.includes(c)) };
}

/**
 * Artifacts without an artifact repository fail when the first step saves its outputs; a
 * ReadWriteOnce volume without same-node placement hangs when parallel steps land on two nodes.
 */
async function dataPassingProblem(client: ClusterClient, workflow: Workflow, namespace: string, signal?: AbortSignal): Promise<PreflightProblem | undefined> {
  const templates = workflow.spec?.templates ?? [];
  const usesArtifacts = templates.some((t) => (t.outputs?.artifacts ?? []).length > 0);
  if (usesArtifacts) {
    const probe = await detectArtifactRepository(client, namespace, signal ? { signal } : {});
    if (probe.repository) return undefined;
    const unsure = probe.unreadable.length > 0 ? ` Flowbook could not read ${probe.unreadable.join(', ')}, so one may exist.` : '';
    return {
      check: 'data',
      severity: probe.unreadable.length > 0 ? 'warning' : 'error',
      message: `The run passes values as artifacts, but namespace "${namespace}" has no Argo artifact repository (no ConfigMap artifact-repositories, and none in workflow-controller-configmap): steps would fail to save their outputs.${unsure} Ask your admin to configure one, or compile with --data volume.`,
    };
  }
  if (workflow.spec && usesReadWriteOnceVolume(workflow) && !keptOnOneNode(workflow)) {
    return {
      check: 'data',
      severity: 'warning',
      message: 'Values pass through a ReadWriteOnce volume and nothing keeps the run\'s pods on one node: on a multi-node cluster, parallel steps placed on another node cannot mount it and wait forever. Submit the notebook with `flowbook submit` (it keeps the pods together), or configure an Argo artifact repository and compile with --data artifacts.',
    };
  }
  return undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function kindOf(err: unknown): { kind?: ClusterError['kind'] } {
  return err instanceof ClusterError ? { kind: err.kind } : {};
}

/** The report as text: one line per problem, errors first. */
export function formatPreflight(report: PreflightReport): string {
  if (report.problems.length === 0) return `Preflight passed for namespace "${report.namespace}".`;
  const lines = report.problems.map((p) => `  ${p.severity === 'error' ? 'error' : 'warning'} [${p.check}] ${p.message}`);
  const errors = report.problems.filter((p) => p.severity === 'error').length;
  const head = errors > 0 ? `Preflight found ${errors} problem${errors === 1 ? '' : 's'} that stop the run:` : 'Preflight warnings:';
  return [head, ...lines].join('\n');
}

