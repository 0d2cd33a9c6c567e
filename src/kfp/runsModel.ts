// The Kubeflow Pipelines runs the extension shows: experiments of the profile with their runs
// (newest first, each with its tasks from `run_details.task_details`) and schedules, and the
// metrics of each run read from ML Metadata. KFP has no watch, so the model polls: only
// while someone looks (`setVisible`) and a run is going, and less often while nothing
// changes. A failed fetch becomes `error` in the snapshot (a message in the view); a failed
// metrics read is a quiet note on the runs it concerns. No `vscode` here.

import { Emitter, Event } from '../cluster/events';
import type { KfpClient } from './client';
import { errorForNetwork, KfpError } from './errors';
import { metricsArtifactIds, metricsOf } from './mlmd';
import { isKfpRunActive } from './runView';
import type { Experiment, Pipeline, PipelineVersion, RecurringRun, Run } from './types';

export interface KfpExperimentRuns {
  experiment: Experiment;
  runs: Run[];
  schedules: RecurringRun[];
}

export interface KfpPipelineVersions {
  pipeline: Pipeline;
  /** Newest first. */
  versions: PipelineVersion[];
}

export interface KfpRunsSnapshot {
  state: 'idle' | 'loading' | 'ready' | 'error';
  error?: string;
  experiments: KfpExperimentRuns[];
  /** Pipelines and their versions: read on a refresh (first load, the user's), not on polls. */
  pipelines: KfpPipelineVersions[];
}

/** What ML Metadata gave for a run: its metrics (all tasks together, and per task), or why not. */
export interface KfpRunMetrics {
  metrics: Record<string, number>;
  byTask: Record<string, Record<string, number>>;
  /** Why the metrics could not be read (shown quietly on the run). */
  note?: string;
}

/** Whether a run may still change. */
export function isRunActive(run: Run): boolean {
  return isKfpRunActive(run);
}

export interface KfpRunsModelOptions {
  /** How often to poll while a run is going (default 5 s). */
  pollMs?: number;
  /** The longest wait between polls while nothing changes (default 60 s). */
  maxPollMs?: number;
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

export class KfpRunsModel {
  private readonly changed = new Emitter<void>();
  readonly onDidChange: Event<void> = this.changed.event;
  private current: KfpRunsSnapshot = { state: 'idle', experiments: [], pipelines: [] };
  /** The next load also reads pipelines and versions (they change only when someone uploads). */
  private withPipelines = true;
  private timer?: { cancel(): void };
  private loading?: Promise<void>;
  private disposed = false;
  private visible = true;
  /** A poll was due while hidden: refresh when shown again. */
  private stale = false;
  private delay: number;
  private lastSignature = '';
  private readonly pollMs: number;
  private readonly maxPollMs: number;
  private readonly setTimer: NonNullable<KfpRunsModelOptions['setTimer']>;
  /** Run id → its metrics, with the artifact ids they were read from (read again only when those change). */
  private readonly metrics = new Map<string, { ids: string; value: KfpRunMetrics }>();
  /** Finished runs read whole once (a list entry may lack the task details that name the metrics). */
  private readonly detailed = new Set<string>();

  constructor(
    private readonly client: () => KfpClient,
    options: KfpRunsModelOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 5000;
    this.maxPollMs = Math.max(this.pollMs, options.maxPollMs ?? 60_000);
    this.delay = this.pollMs;
    this.setTimer = options.setTimer ?? ((fn, ms) => {
      const t = setTimeout(fn, ms);
      return { cancel: () => clearTimeout(t) };
    });
  }

  get snapshot(): KfpRunsSnapshot {
    return this.current;
  }

  /**
   * Fetches experiments, their runs and schedules, and the metrics of runs not read yet; one
   * fetch at a time (a second call joins the first). A refresh asked for by the user also
   * tries again the metrics reads that failed.
   */
  refresh(): Promise<void> {
    for (const [id, m] of this.metrics) if (m.value.note) this.metrics.delete(id);
    this.delay = this.pollMs;
    this.withPipelines = true;
    return this.poll();
  }

  private poll(): Promise<void> {
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  /** Polls only while the view is visible; a view shown again after a missed poll refreshes at once. */
  setVisible(visible: boolean): void {
    if (this.visible === visible) return;
    this.visible = visible;
    if (!visible) {
      this.timer?.cancel();
      this.timer = undefined;
      if (this.current.experiments.some((e) => e.runs.some(isRunActive))) this.stale = true;
    } else if (this.stale) {
      this.stale = false;
      this.delay = this.pollMs;
      void this.poll();
    }
  }

  private async load(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.current.state === 'idle') this.set({ ...this.current, state: 'loading' });
    try {
      const client = this.client();
      const experiments = await client.listExperiments();
      const schedules = await client.listRecurringRuns();
      const out: KfpExperimentRuns[] = [];
      for (const experiment of experiments) {
        const runs = await client.listRuns({ experimentId: experiment.experiment_id });
        out.push({ experiment, runs, schedules: schedules.filter((s) => s.experiment_id === experiment.experiment_id) });
      }
      // A going run's list entry may lack task details: read those runs one by one.
      for (const group of out) {
        for (const [i, run] of group.runs.entries()) {
          const once = !isRunActive(run) && !(run.run_details?.task_details?.length) && !this.detailed.has(run.run_id);
          if (isRunActive(run) || once) group.runs[i] = await client.getRun(run.run_id);
          if (once) this.detailed.add(run.run_id);
        }
      }
      let pipelines = this.current.pipelines;
      if (this.withPipelines) {
        pipelines = [];
        for (const pipeline of await client.listPipelines()) pipelines.push({ pipeline, versions: await client.listVersions(pipeline.pipeline_id) });
        this.withPipelines = false;
      }
      await this.readMetrics(client, out.flatMap((e) => e.runs));
      this.set({ state: 'ready', experiments: out, pipelines });
    } catch (err) {
      const message = err instanceof KfpError ? err.message : err instanceof Error && err.name === 'ClusterError' ? err.message : errorForNetwork(err, { action: 'list runs', endpoint: 'Kubeflow Pipelines' }).message;
      this.set({ ...this.current, state: 'error', error: message });
    }
    this.schedule();
  }

  /** Polls again while a run is going: every `pollMs` while things change, backing off to `maxPollMs` while they do not. */
  private schedule(): void {
    if (this.disposed) return;
    const going = this.current.experiments.some((e) => e.runs.some(isRunActive));
    if (!going) {
      this.delay = this.pollMs;
      return;
    }
    if (!this.visible) {
      this.stale = true;
      return;
    }
    const signature = JSON.stringify(this.current.experiments.map((e) => e.runs.map((r) => [r.run_id, r.state, (r.run_details?.task_details ?? []).map((t) => t.state)])));
    this.delay = signature === this.lastSignature ? Math.min(this.delay * 2, this.maxPollMs) : this.pollMs;
    this.lastSignature = signature;
    this.timer = this.setTimer(() => void this.poll(), this.delay);
  }

  /** Reads, in one request, the Metrics artifacts of every run whose artifacts are not read yet. */
  private async readMetrics(client: KfpClient, runs: readonly Run[]): Promise<void> {
    const wanted = new Map<string, Map<string, string[]>>();
    for (const run of runs) {
      const byTask = metricsArtifactIds(run);
      const ids = [...byTask.values()].flat();
      if (ids.length === 0) continue;
      const key = ids.join(',');
      if (this.metrics.get(run.run_id)?.ids === key) continue;
      wanted.set(run.run_id, byTask);
    }
    if (wanted.size === 0) return;
    const all = [...new Set([...wanted.values()].flatMap((m) => [...m.values()].flat()))];
    let note: string | undefined;
    let found = new Map<string, Record<string, number>>();
    try {
      const artifacts = await client.artifactsById(all);
      found = new Map(artifacts.map((a) => [a.id, metricsOf([a])]));
    } catch (err) {
      note = metricsProblem(err);
    }
    for (const [runId, byTask] of wanted) {
      const value: KfpRunMetrics = { metrics: {}, byTask: {} };
      if (note) value.note = note;
      else {
        for (const [task, ids] of byTask) {
          const taskMetrics = Object.assign({}, ...ids.map((id) => found.get(id) ?? {})) as Record<string, number>;
          value.byTask[task] = taskMetrics;
          Object.assign(value.metrics, taskMetrics);
        }
      }
      this.metrics.set(runId, { ids: [...byTask.values()].flat().join(','), value });
    }
  }

  private set(snapshot: KfpRunsSnapshot): void {
    this.current = snapshot;
    if (!this.disposed) this.changed.fire();
  }

  /** The run with this id, as last fetched. */
  run(runId: string): Run | undefined {
    for (const e of this.current.experiments) {
      const run = e.runs.find((r) => r.run_id === runId);
      if (run) return run;
    }
    return undefined;
  }

  /** The experiment a run belongs to. */
  experimentOf(runId: string): Experiment | undefined {
    return this.current.experiments.find((e) => e.runs.some((r) => r.run_id === runId))?.experiment;
  }

  /** What ML Metadata gave for a run, once read (undefined for a run without Metrics artifacts). */
  metricsOf(runId: string): KfpRunMetrics | undefined {
    return this.metrics.get(runId)?.value;
  }

  /** Every run, newest first. */
  allRuns(): Run[] {
    return this.current.experiments.flatMap((e) => e.runs).sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? '') || b.run_id.localeCompare(a.run_id));
  }

  /** The newest run of a pipeline (runs are named `<pipeline> <key>` by Flowbook's submit). */
  latestRunOf(pipelineName: string): Run | undefined {
    return this.allRuns().find((r) => r.display_name.startsWith(`${pipelineName} `));
  }

  /** Stops a run, then refreshes. */
  async terminate(runId: string): Promise<void> {
    await this.client().terminateRun(runId);
    await this.refresh();
  }

  /** Retries a failed or stopped run, then refreshes. */
  async retry(runId: string): Promise<void> {
    await this.client().retryRun(runId);
    await this.refresh();
  }

  /** Turns a schedule on or off, then refreshes. */
  async setScheduleEnabled(recurringRunId: string, enabled: boolean): Promise<void> {
    await this.client().setRecurringRunEnabled(recurringRunId, enabled);
    await this.refresh();
  }

  dispose(): void {
    this.disposed = true;
    this.timer?.cancel();
    this.changed.dispose();
  }
}

/** One quiet line on why metrics are missing: no ML Metadata route, not allowed, or the failure itself. */
export function metricsProblem(err: unknown): string {
  if (err instanceof KfpError) {
    if (err.kind === 'notFound' || err.kind === 'tooOld') return 'Metrics not shown: this Kubeflow Pipelines address has no ML Metadata route (the KFP UI serves it: point flowbook.kfp.endpoint at the Kubeflow or KFP UI address).';
    if (err.kind === 'forbidden' || err.kind === 'unauthorized' || err.kind === 'loginPage') return `Metrics not shown: ML Metadata refused the request${err.status ? ` (${err.status})` : ''}; they are in the Kubeflow Pipelines UI.`;
    return `Metrics not shown: ${err.message}`;
  }
  return `Metrics not shown: ${err instanceof Error ? err.message : String(err)}`;
}
