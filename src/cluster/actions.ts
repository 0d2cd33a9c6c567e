// Run actions through the Kubernetes API alone (a stock Kubeflow has no Argo Server), doing
// what the `argo` CLI does: stop/terminate set `spec.shutdown`; retry resets the failed
// nodes of a finished run and deletes their pods so the controller runs them again; a
// resubmit creates a new run, optionally reusing the succeeded steps of the old one
// (memoized, like `argo resubmit --memoized`) or everything upstream of a chosen step.
// Updates are conditional on the resourceVersion read, so a concurrent controller write
// makes them read again rather than overwrite it.

import { taskDependencies } from '../argo/dag';
import type { ClusterClient } from './client';
import { ClusterError } from './errors';
import { ARGO_ANNOTATION_NODE_ID, ARGO_LABEL_COMPLETED, ARGO_LABEL_PHASE, ARGO_LABEL_WORKFLOW, LABEL_RESUBMITTED_FROM, LABEL_SUBMISSION, WORKFLOWS } from './resources';
import { isFinished, nodeIdOf, podNameOf, RunPhase, stepStates } from './runStatus';
import { submitWorkflow, SubmitResult } from './submit';
import type { NodeStatus, Workflow, WorkflowStatus } from './types';

export interface ActionOptions {
  namespace?: string;
  signal?: AbortSignal;
}

function phaseOf(wf: Workflow): RunPhase | undefined {
  const p = wf.status?.phase;
  return p === 'Pending' || p === 'Running' || p === 'Succeeded' || p === 'Failed' || p === 'Error' ? p : undefined;
}

/**
 * Stops a run: `Stop` lets running steps finish and starts no new ones (and runs exit
 * handlers); `Terminate` kills running steps at once.
 */
export async function stopRun(client: ClusterClient, name: string, options: ActionOptions & { strategy?: 'Stop' | 'Terminate' } = {}): Promise<Workflow> {
  const namespace = options.namespace ?? client.namespace;
  const wf = await client.get<Workflow>(WORKFLOWS, namespace, name, options.signal);
  const phase = phaseOf(wf);
  if (phase && isFinished(phase)) throw new ClusterError('state', `Run ${name} has already finished (${phase}); there is nothing to stop.`);
  return client.mergePatch<Workflow>(WORKFLOWS, namespace, name, { spec: { shutdown: options.strategy ?? 'Stop' } }, options.signal);
}

/** Deletes a run; its pods go with it (Kubernetes garbage collection). The local record stays. */
export async function deleteRun(client: ClusterClient, name: string, options: ActionOptions = {}): Promise<void> {
  await client.delete(WORKFLOWS, options.namespace ?? client.namespace, name, options.signal);
}

const GROUP_TYPES = new Set(['DAG', 'TaskGroup', 'Steps', 'StepGroup']);

/** The retried workflow and the pods to delete, as `argo retry` computes them (pure). */
export function formulateRetry(wf: Workflow): { workflow: Workflow; podsToDelete: string[]; nodesReset: string[] } {
  const name = wf.metadata.name ?? '';
  const phase = phaseOf(wf);
  if (phase !== 'Failed' && phase !== 'Error') {
    throw new ClusterError('state', `Run ${name} is ${phase ?? 'not started'}; only a failed run can be retried (stop it first, or resubmit it).`);
  }
  const next = structuredClone(wf);
  const labels = { ...(next.metadata.labels ?? {}) };
  delete labels[ARGO_LABEL_COMPLETED];
  labels[ARGO_LABEL_PHASE] = 'Running';
  next.metadata.labels = labels;
  delete next.spec.shutdown;
  if (next.spec.activeDeadlineSeconds === 0) delete next.spec.activeDeadlineSeconds;
  const status: WorkflowStatus = { ...(next.status ?? {}) };
  status.phase = 'Running';
  delete status.message;
  delete status.finishedAt;
  const onExit = `${name}.onExit`;
  const nodes: Record<string, NodeStatus> = {};
  const podsToDelete: string[] = [];
  const nodesReset: string[] = [];
  for (const node of Object.values(wf.status?.nodes ?? {})) {
    const exitNode = node.name.startsWith(onExit);
    const ok = node.phase === 'Succeeded' || node.phase === 'Skipped';
    if (ok && !exitNode) {
      nodes[node.id] = node;
      continue;
    }
    if (!ok && GROUP_TYPES.has(node.type ?? '') && !exitNode) {
      // Groups stay, running again; their failed members are removed below.
      const reset: NodeStatus = { ...node, phase: 'Running' };
      delete reset.message;
      delete reset.finishedAt;
      nodes[node.id] = reset;
      continue;
    }
    if (node.phase === 'Running' || node.phase === 'Pending') {
      throw new ClusterError('state', `Run ${name} cannot be retried while node ${node.displayName ?? node.name} is ${node.phase}.`);
    }
    // A failed step (and its attempts) is forgotten, as if it never ran: the controller runs it again.
    nodesReset.push(node.id);
    if (node.type === 'Pod') podsToDelete.push(podNameOf(wf, node));
  }
  for (const node of Object.values(nodes)) {
    if (node.children) node.children = node.children.filter((c) => nodes[c] !== undefined);
  }
  status.nodes = nodes;
  next.status = status;
  return { workflow: next, podsToDelete, nodesReset };
}

/**
 * Retries a failed run in place: its failed steps run again, the succeeded ones are kept.
 * Returns the updated workflow and the pods deleted.
 */
export async function retryRun(client: ClusterClient, name: string, options: ActionOptions = {}): Promise<{ workflow: Workflow; deletedPods: string[] }> {
  const namespace = options.namespace ?? client.namespace;
  for (let attempt = 0; ; attempt++) {
    const wf = await client.get<Workflow>(WORKFLOWS, namespace, name, options.signal);
    const { workflow, podsToDelete, nodesReset } = formulateRetry(wf);
    // Delete the failed pods first: the controller would otherwise find them and see the old failure.
    const pods = await client.listPods(namespace, `${ARGO_LABEL_WORKFLOW}=${name}`, options.signal);
    const wanted = new Set(podsToDelete);
    const reset = new Set(nodesReset);
    const deleted: string[] = [];
    for (const pod of pods) {
      const podName = pod.metadata?.name ?? '';
      const nodeId = pod.metadata?.annotations?.[ARGO_ANNOTATION_NODE_ID];
      if (wanted.has(podName) || (nodeId !== undefined && reset.has(nodeId))) {
        if (await client.deletePod(namespace, podName, options.signal)) deleted.push(podName);
      }
    }
    try {
      const updated = await client.replace<Workflow>(WORKFLOWS, namespace, name, workflow, options.signal);
      return { workflow: updated, deletedPods: deleted };
    } catch (err) {
      // The controller wrote in between: read again and redo.
      if (err instanceof ClusterError && err.kind === 'conflict' && attempt < 4) continue;
      throw err;
    }
  }
}

export interface ResubmitOptions extends ActionOptions {
  /** New parameter values (as the user typed them). */
  parameters?: Record<string, string>;
  /** Reuse the succeeded steps of the old run (`argo resubmit --memoized`). */
  memoized?: boolean;
  /** Re-run this step and everything downstream of it; reuse the steps upstream. Implies memoized. */
  fromStep?: string;
  requestId?: string;
  preflight?: boolean;
}

export interface ResubmitResult extends SubmitResult {
  /** Steps reused from the old run. */
  reused: string[];
  warnings: string[];
}

/** Task names downstream of `task` (itself included). */
function downstream(wf: Workflow, task: string): Set<string> {
  const entry = (wf.spec.templates ?? []).find((t) => t.name === wf.spec.entrypoint);
  const tasks = entry?.dag?.tasks ?? [];
  const out = new Set([task]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const t of tasks) {
      if (out.has(t.name)) continue;
      const deps = taskDependencies(t);
      if (deps.some((d) => out.has(d))) {
        out.add(t.name);
        grew = true;
      }
    }
  }
  return out;
}

/**
 * The memoized status of a resubmitted run named `newName`: each reused step becomes one
 * Skipped node with its old outputs (so later steps can read them), the rest is left for
 * the controller to run.
 */
export function memoizedStatus(old: Workflow, newName: string, rerun: ReadonlySet<string>): { status: WorkflowStatus; reused: string[] } {
  const nodes: Record<string, NodeStatus> = {};
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const reused: string[] = [];
  const steps = stepStates(old);
  const rootId = newName;
  const entry = (old.spec.templates ?? []).find((t) => t.name === old.spec.entrypoint);
  if (entry?.dag) nodes[rootId] = { id: rootId, name: newName, displayName: newName, type: 'DAG', templateName: entry.name, phase: 'Running', startedAt: now, children: [] };
  for (const step of steps) {
    if (rerun.has(step.task) || (step.phase !== 'Succeeded' && step.phase !== 'Cached')) continue;
    const oldNode = step.nodeId ? old.status?.nodes?.[step.nodeId] : undefined;
    if (!oldNode) continue;
    const lastAttempt = step.attempts[step.attempts.length - 1];
    const lastNode = lastAttempt ? old.status?.nodes?.[lastAttempt.nodeId] : undefined;
    const nodeName = step.task === '' ? newName : `${newName}.${step.task}`;
    const id = nodeIdOf(newName, nodeName);
    const node: NodeStatus = {
      id,
      name: nodeName,
      displayName: step.task || newName,
      type: 'Skipped',
      templateName: step.template,
      phase: 'Skipped',
      // `original pod: …` is how Argo marks memoized nodes; the views show "reused".
      message: `original pod: ${step.phase === 'Cached' ? (step.reusedFrom ?? lastAttempt?.nodeId ?? oldNode.id) : (lastAttempt?.nodeId ?? oldNode.id)}`,
      startedAt: now,
      finishedAt: now,
    };
    if (entry?.dag) node.boundaryID = rootId;
    const outputs = lastNode?.outputs ?? oldNode.outputs;
    if (outputs) node.outputs = structuredClone(outputs);
    nodes[id] = node;
    nodes[rootId]?.children?.push(id);
    reused.push(step.step);
  }
  return { status: { phase: '', nodes, startedAt: now }, reused };
}

/** Creates a new run from an old one (see `ResubmitOptions`). Submits exactly once per request id. */
export async function resubmitRun(client: ClusterClient, name: string, options: ResubmitOptions = {}): Promise<ResubmitResult> {
  const namespace = options.namespace ?? client.namespace;
  const old = await client.get<Workflow>(WORKFLOWS, namespace, name, options.signal);
  const fresh: Workflow = {
    apiVersion: old.apiVersion ?? 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: {
      generateName: old.metadata.generateName ?? `${(old.metadata.name ?? 'run').replace(/-[a-z0-9]{5}$/, '')}-`,
      labels: Object.fromEntries(Object.entries(old.metadata.labels ?? {}).filter(([k]) => !k.startsWith('workflows.argoproj.io/') && k !== LABEL_SUBMISSION)),
      annotations: { ...(old.metadata.annotations ?? {}) },
    },
    spec: structuredClone(old.spec),
  };
  delete fresh.spec.shutdown;
  if (fresh.spec.activeDeadlineSeconds === 0) delete fresh.spec.activeDeadlineSeconds;

  const warnings: string[] = [];
  let rerun: Set<string> | undefined;
  if (options.fromStep !== undefined) {
    const steps = stepStates(old);
    const step = steps.find((s) => s.step === options.fromStep || s.task === options.fromStep);
    if (!step) throw new ClusterError('state', `Run ${name} has no step "${options.fromStep}". Its steps: ${steps.map((s) => s.step).join(', ')}.`);
    rerun = downstream(old, step.task);
    const missing = steps.filter((s) => !rerun?.has(s.task) && s.phase !== 'Succeeded' && s.phase !== 'Cached');
    if (missing.length > 0) {
      throw new ClusterError('state', `Cannot resubmit from step ${step.step}: upstream step${missing.length > 1 ? 's' : ''} ${missing.map((s) => s.step).join(', ')} did not succeed in run ${name}. Resubmit from an earlier step.`);
    }
  } else if (options.memoized) {
    const phase = phaseOf(old);
    if (phase !== 'Failed' && phase !== 'Error') throw new ClusterError('state', `Run ${name} is ${phase ?? 'not started'}; a memoized resubmit reuses the steps of a failed run.`);
    rerun = new Set(stepStates(old).filter((s) => s.phase !== 'Succeeded' && s.phase !== 'Cached').map((s) => s.task));
  }
  if (rerun && (old.spec.volumeClaimTemplates?.length ?? 0) > 0) {
    warnings.push(
      'This run passes data between steps on a per-run volume: the reused steps wrote their outputs to the old run\'s volume, which the new run does not mount. ' +
        'If a re-run step reads them, it will fail; compile with data passing "artifacts" to resume from a step.',
    );
  }
  let reused: string[] = [];
  const rerunSet = rerun;
  const result = await submitWorkflow(client, fresh, {
    namespace,
    ...(options.parameters ? { parameters: options.parameters } : {}),
    ...(options.requestId ? { requestId: options.requestId } : {}),
    ...(options.preflight !== undefined ? { preflight: options.preflight } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    labels: { [LABEL_RESUBMITTED_FROM]: name },
    ...(rerunSet
      ? {
          statusFor: (newName: string) => {
            const m = memoizedStatus(old, newName, rerunSet);
            reused = m.reused;
            return m.status;
          },
        }
      : {}),
  });
  if (rerunSet && reused.length === 0) reused = memoizedStatus(old, result.name, rerunSet).reused;
  return { ...result, reused, warnings };
}
