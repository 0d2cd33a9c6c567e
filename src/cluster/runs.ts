// Watch-driven models of cluster runs for the Runs view, the run graph and the CLI:
// `RunListModel` keeps every run of one namespace (Flowbook runs, or all workflows) with a
// summary per run; `RunWatcher` follows one run (the graph webview, `submit --watch`).
// Both are fed by `ResourceWatcher`, so they recover from dropped connections and 410s on
// their own; views subscribe to the events and never poll.

import type { ClusterClient } from './client';
import { Emitter, Event } from './events';
import { FLOWBOOK_RUNS_SELECTOR, WORKFLOWS } from './resources';
import { cellStates, RunSummary, StepPhase, StepState, stepStates, summarizeRun } from './runStatus';
import type { Workflow } from './types';
import { Changes, ResourceWatcher, WatcherOptions, WatchState } from './watcher';

export type RunScope = 'flowbook' | 'all';

export interface RunListChange {
  added: RunSummary[];
  updated: RunSummary[];
  /** Names of runs that are gone. */
  removed: string[];
  /** The first batch after (re)starting. */
  initial: boolean;
  /** A full re-list after the watch history expired (410). */
  relisted: boolean;
}

export interface RunListOptions {
  namespace?: string;
  scope?: RunScope;
  watcher?: WatcherOptions;
  /** The clock used for running durations (tests). */
  now?: () => Date;
}

/** Everything the graph webview needs about one run. */
export interface RunDetail {
  workflow: Workflow;
  summary: RunSummary;
  steps: StepState[];
}

export class RunListModel {
  private watcher: ResourceWatcher<Workflow>;
  private watcherSubs: { dispose(): void }[] = [];
  private readonly summaries = new Map<string, { rv: string | undefined; summary: RunSummary }>();
  private readonly changeEmitter = new Emitter<RunListChange>();
  private readonly stateEmitter = new Emitter<WatchState>();
  private scope_: RunScope;
  private readonly now: () => Date;
  readonly namespace: string;

  /** One batch of run changes (coalesced). */
  readonly onDidChange: Event<RunListChange> = this.changeEmitter.event;
  /** Connection state: listing, watching, retrying (with the error to show). */
  readonly onDidChangeState: Event<WatchState> = this.stateEmitter.event;

  constructor(
    private readonly client: ClusterClient,
    private readonly options: RunListOptions = {},
  ) {
    this.namespace = options.namespace ?? client.namespace;
    this.scope_ = options.scope ?? 'flowbook';
    this.now = options.now ?? (() => new Date());
    this.watcher = this.makeWatcher();
  }

  get scope(): RunScope {
    return this.scope_;
  }

  get state(): WatchState {
    return this.watcher.state;
  }

  get stats(): ResourceWatcher<Workflow>['stats'] {
    return this.watcher.stats;
  }

  private makeWatcher(): ResourceWatcher<Workflow> {
    const target = { type: WORKFLOWS, namespace: this.namespace, ...(this.scope_ === 'flowbook' ? { labelSelector: FLOWBOOK_RUNS_SELECTOR } : {}) };
    const w = new ResourceWatcher<Workflow>(this.client, target, this.options.watcher);
    this.watcherSubs = [w.onDidChange((c) => this.onChanges(c)), w.onDidChangeState((s) => this.stateEmitter.fire(s))];
    return w;
  }

  start(): this {
    this.watcher.start();
    return this;
  }

  whenSynced(): Promise<void> {
    return this.watcher.whenSynced();
  }

  /** Switches between Flowbook runs and all workflows; the list is rebuilt from a fresh list. */
  setScope(scope: RunScope): void {
    if (scope === this.scope_) return;
    this.scope_ = scope;
    const removed = [...this.summaries.keys()];
    this.summaries.clear();
    for (const s of this.watcherSubs) s.dispose();
    this.watcher.dispose();
    if (removed.length > 0) this.changeEmitter.fire({ added: [], updated: [], removed, initial: false, relisted: false });
    this.watcher = this.makeWatcher();
    this.watcher.start();
  }

  dispose(): void {
    for (const s of this.watcherSubs) s.dispose();
    this.watcher.dispose();
    this.changeEmitter.dispose();
    this.stateEmitter.dispose();
  }

  private summaryOf(wf: Workflow): RunSummary {
    const name = wf.metadata.name ?? '';
    const cached = this.summaries.get(name);
    if (cached && cached.rv !== undefined && cached.rv === wf.metadata.resourceVersion) return cached.summary;
    const summary = summarizeRun(wf, this.now());
    this.summaries.set(name, { rv: wf.metadata.resourceVersion, summary });
    return summary;
  }

  private onChanges(c: Changes<Workflow>): void {
    const change: RunListChange = {
      added: c.added.map((w) => this.summaryOf(w)),
      updated: c.modified.map((w) => this.summaryOf(w)),
      removed: c.deleted.map((w) => w.metadata.name ?? ''),
      initial: c.initial,
      relisted: c.relisted,
    };
    for (const name of change.removed) this.summaries.delete(name);
    this.changeEmitter.fire(change);
  }

  /** All runs, newest first. Running durations are as of now. */
  runs(): RunSummary[] {
    const out: RunSummary[] = [];
    for (const wf of this.watcher.items.values()) {
      const s = this.summaryOf(wf);
      out.push(s.phase === 'Running' || s.phase === 'Pending' ? summarizeRun(wf, this.now()) : s);
    }
    return out.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || a.name.localeCompare(b.name));
  }

  get size(): number {
    return this.watcher.items.size;
  }

  workflow(name: string): Workflow | undefined {
    return this.watcher.items.get(name);
  }

  detail(name: string): RunDetail | undefined {
    const wf = this.watcher.items.get(name);
    if (!wf) return undefined;
    return { workflow: wf, summary: summarizeRun(wf, this.now()), steps: stepStates(wf, this.now()) };
  }

  /** Fires with the run's detail whenever it changes (the graph webview of a run). */
  onDidChangeRun(name: string, listener: (detail: RunDetail | undefined) => void): { dispose(): void } {
    return this.onDidChange((c) => {
      if (c.removed.includes(name)) listener(undefined);
      else if (c.added.some((s) => s.name === name) || c.updated.some((s) => s.name === name) || c.relisted) listener(this.detail(name));
    });
  }

  /**
   * The latest run of a notebook and the state of each of its cells: what the notebook's
   * cell chips show. `notebook` is matched against the path or file name the run was labelled with.
   */
  latestRunOf(notebook: string): { run: RunSummary; cells: Map<number, { step: string; phase: StepPhase; run: string }> } | undefined {
    const base = notebook.split(/[\\/]/).pop() ?? notebook;
    const run = this.runs().find((r) => r.notebook !== undefined && (r.notebook === notebook || r.notebook.split(/[\\/]/).pop() === base));
    const wf = run ? this.watcher.items.get(run.name) : undefined;
    return run && wf ? { run, cells: cellStates(wf) } : undefined;
  }
}

/** Follows one run by name (a watch with a field selector). */
export class RunWatcher {
  private readonly watcher: ResourceWatcher<Workflow>;
  private readonly emitter = new Emitter<RunDetail | undefined>();
  private readonly subs: { dispose(): void }[];
  private readonly now: () => Date;

  /** Fires on every change of the run; `undefined` when it was deleted. */
  readonly onDidChange: Event<RunDetail | undefined> = this.emitter.event;
  readonly onDidChangeState: Event<WatchState>;

  constructor(
    client: ClusterClient,
    readonly name: string,
    options: { namespace?: string; watcher?: WatcherOptions; now?: () => Date } = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.watcher = new ResourceWatcher<Workflow>(
      client,
      { type: WORKFLOWS, namespace: options.namespace ?? client.namespace, fieldSelector: `metadata.name=${name}` },
      { coalesceMs: 20, ...options.watcher },
    );
    this.onDidChangeState = this.watcher.onDidChangeState;
    this.subs = [
      this.watcher.onDidChange((c) => {
        if (c.deleted.length > 0 && !this.watcher.items.has(name)) this.emitter.fire(undefined);
        else if (c.added.length + c.modified.length > 0 || c.initial || c.relisted) this.emitter.fire(this.detail());
      }),
    ];
  }

  start(): this {
    this.watcher.start();
    return this;
  }

  whenSynced(): Promise<void> {
    return this.watcher.whenSynced();
  }

  get stats(): ResourceWatcher<Workflow>['stats'] {
    return this.watcher.stats;
  }

  detail(): RunDetail | undefined {
    const wf = this.watcher.items.get(this.name);
    return wf ? { workflow: wf, summary: summarizeRun(wf, this.now()), steps: stepStates(wf, this.now()) } : undefined;
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this.watcher.dispose();
    this.emitter.dispose();
  }
}
