// The Kubeflow Pipelines runs the extension shows: experiments of the profile, their runs
// (newest first) and, for a run, its tasks from `run_details.task_details`. KFP has no watch,
// so the model polls, and only while a run is going. A failed fetch becomes `error` in the
// snapshot (a message in the view), never an exception. No `vscode` here.

import { Emitter, Event } from '../cluster/events';
import type { KfpClient } from './client';
import { errorForNetwork, KfpError } from './errors';
import type { Experiment, Run, RuntimeState } from './types';

export interface KfpExperimentRuns {
  experiment: Experiment;
  runs: Run[];
}

export interface KfpRunsSnapshot {
  state: 'idle' | 'loading' | 'ready' | 'error';
  error?: string;
  experiments: KfpExperimentRuns[];
}

const ACTIVE: readonly (RuntimeState | undefined)[] = ['PENDING', 'RUNNING', 'CANCELING', 'RUNTIME_STATE_UNSPECIFIED', undefined];

/** Whether a run may still change. */
export function isRunActive(run: Run): boolean {
  return ACTIVE.includes(run.state);
}

export interface KfpRunsModelOptions {
  /** How often to poll while a run is going (default 5 s). */
  pollMs?: number;
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

export class KfpRunsModel {
  private readonly changed = new Emitter<void>();
  readonly onDidChange: Event<void> = this.changed.event;
  private current: KfpRunsSnapshot = { state: 'idle', experiments: [] };
  private timer?: { cancel(): void };
  private loading?: Promise<void>;
  private disposed = false;
  private readonly pollMs: number;
  private readonly setTimer: NonNullable<KfpRunsModelOptions['setTimer']>;

  constructor(
    private readonly client: () => KfpClient,
    options: KfpRunsModelOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 5000;
    this.setTimer = options.setTimer ?? ((fn, ms) => {
      const t = setTimeout(fn, ms);
      return { cancel: () => clearTimeout(t) };
    });
  }

  get snapshot(): KfpRunsSnapshot {
    return this.current;
  }

  /** Fetches experiments and their runs; one fetch at a time (a second call joins the first). */
  refresh(): Promise<void> {
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(): Promise<void> {
    this.timer?.cancel();
    if (this.current.state === 'idle') this.set({ ...this.current, state: 'loading' });
    try {
      const client = this.client();
      const experiments = await client.listExperiments();
      const out: KfpExperimentRuns[] = [];
      for (const experiment of experiments) out.push({ experiment, runs: await client.listRuns({ experimentId: experiment.experiment_id }) });
      // A going run's list entry may lack task details: read those runs one by one.
      for (const group of out) {
        for (const [i, run] of group.runs.entries()) if (isRunActive(run)) group.runs[i] = await client.getRun(run.run_id);
      }
      this.set({ state: 'ready', experiments: out });
    } catch (err) {
      const message = err instanceof KfpError ? err.message : err instanceof Error && err.name === 'ClusterError' ? err.message : errorForNetwork(err, { action: 'list runs', endpoint: 'Kubeflow Pipelines' }).message;
      this.set({ ...this.current, state: 'error', error: message });
    }
    if (!this.disposed && this.current.experiments.some((e) => e.runs.some(isRunActive))) {
      this.timer = this.setTimer(() => void this.refresh(), this.pollMs);
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

  /** The newest run of a pipeline (runs are named `<pipeline> <key>` by Flowbook's submit). */
  latestRunOf(pipelineName: string): Run | undefined {
    const runs = this.current.experiments.flatMap((e) => e.runs).filter((r) => r.display_name.startsWith(`${pipelineName} `));
    return runs.sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? ''))[0];
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

  dispose(): void {
    this.disposed = true;
    this.timer?.cancel();
    this.changed.dispose();
  }
}
