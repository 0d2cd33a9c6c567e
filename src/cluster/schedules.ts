// Schedules on the Argo target: a CronWorkflow (Argo v3.6+/v4: a `schedules` list) whose
// `workflowSpec` is the compiled Workflow's, with parameters applied and Flowbook's labels.
// Created once: its name comes from the workflow, parameters and schedule, so submitting the
// same schedule again finds it (look first, and a 409 means it is there). CronWorkflows are
// invisible in the Kubeflow Pipelines UI; `--target kfp` makes KFP recurring runs instead.

import { argoCron, checkMaxConcurrency } from '../common/cron';
import type { ClusterClient } from './client';
import { usesReadWriteOnceVolume } from './dataPassing';
import { ClusterError } from './errors';
import { FLOWBOOK_RUNS_SELECTOR, ResourceType } from './resources';
import { prepareRun } from './submit';
import type { KubeObject, Workflow } from './types';

export const CRON_WORKFLOWS: ResourceType = { group: 'argoproj.io', version: 'v1alpha1', plural: 'cronworkflows', kind: 'CronWorkflow' };

export interface CronWorkflow extends KubeObject {
  spec: {
    schedules: string[];
    timezone?: string;
    concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
    startingDeadlineSeconds?: number;
    suspend?: boolean;
    successfulJobsHistoryLimit?: number;
    failedJobsHistoryLimit?: number;
    workflowMetadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    workflowSpec: Workflow['spec'];
  };
  status?: { lastScheduledTime?: string; active?: unknown[]; conditions?: { type?: string; message?: string }[] };
}

export interface ScheduleOptions {
  /** A 5-field crontab or @daily etc. */
  crontab: string;
  /** 1: a run waits for the previous one (Forbid); more: runs may overlap (Argo has no finer limit). */
  maxConcurrency?: number;
  /** Start a run missed while the controller was down or the schedule suspended. Default false: skip it. */
  catchup?: boolean;
  timezone?: string;
  namespace?: string;
  parameters?: Record<string, string>;
  notebookPath?: string;
  pipelineName?: string;
  signal?: AbortSignal;
}

export interface ScheduleResult {
  cronWorkflow: CronWorkflow;
  created: boolean;
  /** What the options could not say exactly in Argo's terms. */
  notes: string[];
}

/** How late a skipped-when-missed run may still start (no catch-up). */
const NO_CATCHUP_DEADLINE_SECONDS = 60;

/** The CronWorkflow for `workflow` on `options`' schedule (not created). */
export function cronWorkflowFor(workflow: Workflow, options: ScheduleOptions, fallbackNamespace: string): { cronWorkflow: CronWorkflow; notes: string[] } {
  const cron = argoCron(options.crontab);
  const maxConcurrency = checkMaxConcurrency(options.maxConcurrency ?? 1);
  const prepared = prepareRun(
    workflow,
    {
      requestId: `schedule ${cron} ${maxConcurrency} ${options.catchup ? 'catchup' : ''} ${options.timezone ?? ''}`,
      // Each scheduled run gets its own name, unknown here, so same-node affinity cannot name it.
      sameNode: false,
      ...(options.namespace ? { namespace: options.namespace } : {}),
      ...(options.parameters ? { parameters: options.parameters } : {}),
      ...(options.notebookPath ? { notebookPath: options.notebookPath } : {}),
      ...(options.pipelineName ? { pipelineName: options.pipelineName } : {}),
    },
    fallbackNamespace,
  );
  const wf = prepared.workflow;
  const notes: string[] = [];
  if (usesReadWriteOnceVolume(wf)) {
    notes.push('Scheduled runs pass values through a ReadWriteOnce volume and are not kept on one node: on a multi-node cluster, use artifacts (compile with --data artifacts where the cluster has an Argo artifact repository).');
  }
  if (maxConcurrency > 1) notes.push(`Argo cannot cap overlapping runs at ${maxConcurrency}: runs of this schedule may overlap without limit (concurrencyPolicy Allow).`);
  const labels = { ...(wf.metadata.labels ?? {}) };
  const spec: CronWorkflow['spec'] = {
    schedules: [cron],
    concurrencyPolicy: maxConcurrency > 1 ? 'Allow' : 'Forbid',
    successfulJobsHistoryLimit: 10,
    failedJobsHistoryLimit: 10,
    workflowMetadata: { labels, ...(wf.metadata.annotations ? { annotations: wf.metadata.annotations } : {}) },
    workflowSpec: wf.spec,
  };
  if (!options.catchup) spec.startingDeadlineSeconds = NO_CATCHUP_DEADLINE_SECONDS;
  if (options.timezone) spec.timezone = options.timezone;
  const cronWorkflow: CronWorkflow = {
    apiVersion: `${CRON_WORKFLOWS.group}/${CRON_WORKFLOWS.version}`,
    kind: CRON_WORKFLOWS.kind,
    metadata: { name: `${wf.metadata.name ?? 'flowbook'}`, namespace: prepared.namespace, labels, ...(wf.metadata.annotations ? { annotations: wf.metadata.annotations } : {}) },
    spec,
  };
  return { cronWorkflow, notes };
}

/** Creates the CronWorkflow once (a repeat finds it). Throws `ClusterError`, `ParameterError` or `ScheduleError`. */
export async function scheduleWorkflow(client: ClusterClient, workflow: Workflow, options: ScheduleOptions): Promise<ScheduleResult> {
  const { cronWorkflow, notes } = cronWorkflowFor(workflow, options, client.namespace);
  const namespace = cronWorkflow.metadata.namespace ?? client.namespace;
  const name = cronWorkflow.metadata.name ?? '';
  const existing = await getSchedule(client, namespace, name, options.signal);
  if (existing) return { cronWorkflow: existing, created: false, notes };
  try {
    const created = await client.create<CronWorkflow>(CRON_WORKFLOWS, namespace, cronWorkflow, options.signal ? { signal: options.signal } : {});
    return { cronWorkflow: created, created: true, notes };
  } catch (err) {
    // A lost answer or a racing twin: the name is the submission, so what exists is ours.
    if (err instanceof ClusterError && (err.kind === 'alreadyExists' || err.transient)) {
      const again = await getSchedule(client, namespace, name, options.signal);
      if (again) return { cronWorkflow: again, created: err.kind !== 'alreadyExists', notes };
    }
    throw err;
  }
}

async function getSchedule(client: ClusterClient, namespace: string, name: string, signal?: AbortSignal): Promise<CronWorkflow | undefined> {
  try {
    return await client.get<CronWorkflow>(CRON_WORKFLOWS, namespace, name, signal);
  } catch (err) {
    if (err instanceof ClusterError && err.kind === 'notFound') return undefined;
    throw err;
  }
}

/** Flowbook's CronWorkflows in `namespace`, by name. */
export async function listSchedules(client: ClusterClient, namespace: string, signal?: AbortSignal): Promise<CronWorkflow[]> {
  const list = await client.list<CronWorkflow>(CRON_WORKFLOWS, namespace, { labelSelector: FLOWBOOK_RUNS_SELECTOR, ...(signal ? { signal } : {}) });
  return [...list.items].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
}

/** Suspends or resumes a CronWorkflow (`spec.suspend`), retrying when it changed meanwhile. */
export async function setScheduleSuspended(client: ClusterClient, namespace: string, name: string, suspended: boolean, signal?: AbortSignal): Promise<CronWorkflow> {
  for (let attempt = 0; ; attempt++) {
    const current = await client.get<CronWorkflow>(CRON_WORKFLOWS, namespace, name, signal);
    if ((current.spec.suspend ?? false) === suspended) return current;
    try {
      return await client.replace<CronWorkflow>(CRON_WORKFLOWS, namespace, name, { ...current, spec: { ...current.spec, suspend: suspended } }, signal);
    } catch (err) {
      if (!(err instanceof ClusterError && err.kind === 'conflict') || attempt >= 3) throw err;
    }
  }
}

export function deleteSchedule(client: ClusterClient, namespace: string, name: string, signal?: AbortSignal): Promise<void> {
  return client.delete(CRON_WORKFLOWS, namespace, name, signal);
}
