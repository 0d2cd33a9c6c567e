// The runs the Runs view and the graph show, from one or more run sources. The local source
// reads run records (`<runs folder>/<id>/run.json`, written atomically by the runner) and
// stays live by watching those files; bursts of changes are coalesced into one refresh.
// Cluster runs (issue 5) plug in as another `RunSource` without changes here.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { changedParameters } from '../common/runCompare';
import { listRuns, readRun, type RunRecord, type StepStatus } from '../runner/record';
import { readValueSummaries, valueLine } from '../runner/runInfo';
import { Disposable } from './lifecycle';
import type { RunStatus, RunStepView, RunView } from '../common/runView';
import type { Ctx } from './context';

export type { RunStatus, RunStepView, RunView } from '../common/runView';

/** A place runs come from. The local runner is one; a cluster is another (issue 5). */
export interface RunSource extends vscode.Disposable {
  readonly id: string;
  readonly label: string;
  readonly onDidChange: vscode.Event<void>;
  /** Newest first. */
  runs(): readonly RunView[];
  refresh(): void;
  /** Lines shown above the source's runs: "Loading…", a connection error (optional; cluster sources use it). */
  notes?(): readonly RunSourceNote[];
  /** Step name → the values it passed on, summarised; only sources that keep summaries have it. */
  stepValues?(run: RunView): Record<string, StepValue[]>;
}

/** A value a step passed on, as the run details show it. */
export interface StepValue {
  name: string;
  /** `DataFrame 569×31 (mean radius, …) · 48 kB`. */
  line: string;
  head?: string;
}

/** A message line in a source's section of the Runs view (a failed fetch is a node, not a toast). */
export interface RunSourceNote {
  text: string;
  severity: 'info' | 'warning' | 'error';
  tooltip?: string;
}

/**
 * What can be done with the runs of a source. Each source's owner provides its own, so the
 * views and the command table never ask what kind of run they hold. `target` is a Runs view
 * node or `{ source, id }`; an action a source lacks is not offered for its runs.
 */
export interface RunActions {
  openGraph?(target: unknown): Promise<unknown>;
  showLogs?(target: unknown, step?: string): Promise<unknown>;
  rerun?(target: unknown): Promise<unknown>;
  rerunFromStep?(target: unknown, step?: string): Promise<unknown>;
  stop?(target: unknown, options?: unknown): Promise<unknown>;
  delete?(target: unknown, options?: unknown): Promise<unknown>;
}

export type RunActionName = keyof RunActions;

export class RunsModel extends Disposable {
  private readonly sources: RunSource[] = [];
  private readonly actionProviders: { matches: (source: string) => boolean; actions: RunActions }[] = [];
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;
  private ticker?: ReturnType<typeof setInterval>;

  constructor() {
    super();
    this._register({ dispose: () => clearInterval(this.ticker) });
  }

  addSource(source: RunSource): vscode.Disposable {
    this.sources.push(source);
    const sub = source.onDidChange(() => this.fire());
    this.fire();
    return this._register({
      dispose: () => {
        sub.dispose();
        source.dispose();
        const i = this.sources.indexOf(source);
        if (i >= 0) this.sources.splice(i, 1);
        this.fire();
      },
    });
  }

  /** Fires a change; while any run of any source is going, once a second, so durations advance. */
  private fire(): void {
    this.changed.fire();
    const going = this.sources.some((s) => s.runs().some((r) => r.status === 'running' || r.status === 'pending'));
    if (going && !this.ticker) this.ticker = setInterval(() => this.changed.fire(), 1000);
    if (!going && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  /** Registers the actions for the runs of the sources `matches` accepts (by source id). */
  provideActions(matches: (source: string) => boolean, actions: RunActions): vscode.Disposable {
    const entry = { matches, actions };
    this.actionProviders.push(entry);
    return this._register({
      dispose: () => {
        const i = this.actionProviders.indexOf(entry);
        if (i >= 0) this.actionProviders.splice(i, 1);
      },
    });
  }

  /** The actions for the runs of a source (empty when nobody provides any). */
  actionsFor(source: string): RunActions {
    return this.actionProviders.find((p) => p.matches(source))?.actions ?? {};
  }

  allSources(): readonly RunSource[] {
    return this.sources;
  }

  find(source: string, id: string): RunView | undefined {
    return this.sources.find((s) => s.id === source)?.runs().find((r) => r.id === id);
  }

  refresh(): void {
    for (const s of this.sources) s.refresh();
  }
}

/** Finished steps, for "N/M": skipped and cached steps count as done. */
function isDone(status: StepStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'skipped' || status === 'cached' || status === 'cancelled';
}

/** A run record as the views show it. A "running" record whose runner died reads as failed. */
export function runViewOf(record: RunRecord, dir: string, runnerAlive: (pid: number) => boolean = isAlive): RunView {
  let status: RunStatus = record.status;
  let error = record.error;
  if (status === 'running' && !runnerAlive(record.runnerPid)) {
    status = 'failed';
    error ??= 'The runner stopped before the run finished (was VS Code or the terminal closed?).';
  }
  const steps: RunStepView[] = record.steps.map((s) => {
    const step: RunStepView = {
      name: s.name, status: s.status, cells: s.cells, dependencies: s.dependencies,
      hasLogs: s.startedAt !== undefined || s.status === 'failed' || s.status === 'succeeded',
    };
    if (s.durationMs !== undefined) step.durationMs = s.durationMs;
    if (s.startedAt !== undefined) step.startedAt = s.startedAt;
    const note = s.error?.message ?? s.reason;
    if (note !== undefined) step.note = note;
    if (s.status === 'cached' && s.cachedFrom !== undefined) {
      step.cachedFrom = s.cachedFrom;
      step.hasLogs = true;
    }
    if (Object.keys(s.metrics).length > 0) step.metrics = s.metrics;
    return step;
  });
  const view: RunView = {
    source: 'local', id: record.id, title: path.basename(record.notebook), notebook: record.notebook,
    status, startedAt: record.startedAt, steps, dir, parameters: record.parameters, metrics: record.metrics,
    progress: { done: steps.filter((s) => isDone(s.status)).length, total: steps.length },
  };
  if (record.finishedAt !== undefined) view.finishedAt = record.finishedAt;
  if (record.durationMs !== undefined) view.durationMs = record.durationMs;
  if (error !== undefined) view.error = error;
  if (record.missingModules) view.missingPackages = record.missingModules;
  return view;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const MAX_RUNS_PER_FOLDER = 50;

/**
 * Runs recorded by the local runner (from this window or the `flowbook run` CLI). Knows a
 * set of runs folders: the configured one, `.flowbook/runs` beside each notebook seen, and
 * any found in the workspace.
 */
export class LocalRunSource extends Disposable implements RunSource {
  readonly id = 'local';
  readonly label = 'Local';
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;
  private readonly folders = new Map<string, Map<string, RunView>>();
  private readonly watchers = new Map<string, vscode.Disposable>();
  private pending = new Set<string>();
  private timer?: ReturnType<typeof setTimeout>;
  /** `runs()`, until the next change (subscribed first, so it is cleared before anyone reads). */
  private sorted?: RunView[];

  constructor(private readonly ctx: Ctx) {
    super();
    this._register(this.onDidChange(() => (this.sorted = undefined)));
    // Runs anywhere in the workspace (CLI runs included) appear without configuration.
    const watcher = this._register(vscode.workspace.createFileSystemWatcher('**/.flowbook/runs/*/run.json'));
    const onFile = (uri: vscode.Uri) => this.fileChanged(uri.fsPath);
    this._register(watcher.onDidCreate(onFile));
    this._register(watcher.onDidChange(onFile));
    this._register(watcher.onDidDelete(onFile));
    this._register({ dispose: () => { clearTimeout(this.timer); this.watchers.forEach((w) => w.dispose()); } });
    void this.discover();
  }

  private async discover(): Promise<void> {
    try {
      const files = await vscode.workspace.findFiles('**/.flowbook/runs/*/run.json', '**/node_modules/**', 500);
      for (const f of files) this.addFolder(path.dirname(path.dirname(f.fsPath)));
    } catch (err) {
      this.ctx.log.warn('cannot look for runs in the workspace', String(err));
    }
  }

  /** Starts watching a runs folder (idempotent) and reads the runs in it. */
  addFolder(dir: string): void {
    const key = path.resolve(dir);
    if (this.folders.has(key)) return;
    this.folders.set(key, new Map());
    if (!this.isInWorkspaceGlob(key)) {
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(key), '*/run.json'));
      const onFile = (uri: vscode.Uri) => this.fileChanged(uri.fsPath);
      this.watchers.set(key, vscode.Disposable.from(watcher, watcher.onDidCreate(onFile), watcher.onDidChange(onFile), watcher.onDidDelete(onFile)));
    }
    this.readFolder(key);
  }

  private isInWorkspaceGlob(dir: string): boolean {
    return dir.endsWith(path.join('.flowbook', 'runs')) && vscode.workspace.getWorkspaceFolder(vscode.Uri.file(dir)) !== undefined;
  }

  private readFolder(dir: string): void {
    const runs = new Map<string, RunView>();
    for (const record of listRuns(dir, { limit: MAX_RUNS_PER_FOLDER })) runs.set(record.id, runViewOf(record, path.join(dir, record.id)));
    this.folders.set(dir, runs);
    this.changed.fire();
  }

  /** A run.json changed: re-read that run only, coalescing bursts. */
  fileChanged(file: string): void {
    const runDir = path.dirname(file);
    const folder = path.dirname(runDir);
    if (!this.folders.has(folder)) {
      this.addFolder(folder);
      return;
    }
    this.pending.add(runDir);
    this.timer ??= setTimeout(() => this.flush(), 50);
  }

  /** Re-reads one run now (the runner tells us about its own runs directly). */
  reload(runDir: string): void {
    const folder = path.dirname(runDir);
    if (!this.folders.has(folder)) this.addFolder(folder);
    this.readRunInto(folder, runDir);
    this.changed.fire();
  }

  private flush(): void {
    this.timer = undefined;
    const dirs = [...this.pending];
    this.pending = new Set();
    for (const runDir of dirs) this.readRunInto(path.dirname(runDir), runDir);
    this.changed.fire();
  }

  private readRunInto(folder: string, runDir: string): void {
    const runs = this.folders.get(folder);
    if (!runs) return;
    const id = path.basename(runDir);
    const record = fs.existsSync(runDir) ? readRun(folder, id) : undefined;
    if (record) runs.set(id, runViewOf(record, runDir));
    else if (!fs.existsSync(runDir)) runs.delete(id);
  }


  runs(): RunView[] {
    if (this.sorted) return this.sorted;
    const all = [...this.folders.values()].flatMap((m) => [...m.values()]);
    all.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id));
    // What each run changed since the previous run of its notebook (the next older one).
    all.forEach((run, i) => {
      const previous = all.slice(i + 1).find((r) => r.notebook === run.notebook);
      run.changed = changedParameters(run.parameters ?? {}, previous?.parameters);
    });
    this.sorted = all;
    return all;
  }

  refresh(): void {
    for (const dir of this.folders.keys()) this.readFolder(dir);
    void this.discover();
  }

  /** Reads the `_summary.json` each step wrote next to its outputs. */
  stepValues(run: RunView): Record<string, StepValue[]> {
    if (!run.dir) return {};
    const record = readRun(path.dirname(run.dir), run.id);
    const out: Record<string, StepValue[]> = {};
    for (const s of record?.steps ?? []) {
      out[s.name] = Object.entries(readValueSummaries(run.dir, s.template)).sort(([a], [b]) => a.localeCompare(b))
        .map(([name, v]) => ({ name, line: valueLine(v), ...(v.head !== undefined ? { head: v.head } : {}) }));
    }
    return out;
  }

  /** Forgets a deleted run at once, without waiting for the watcher. */
  forget(runDir: string): void {
    this.folders.get(path.dirname(runDir))?.delete(path.basename(runDir));
    this.changed.fire();
  }
}
