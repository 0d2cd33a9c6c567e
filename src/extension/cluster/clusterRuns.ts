// Run on Cluster and the Runs view's actions on cluster runs (open graph, stop, delete,
// retry failed steps, resubmit, resubmit from a step). The cluster section of the Runs view
// is a `ClusterRunSource` for the session's context and namespace, replaced when those
// change. Every submission carries one request id per user action: a second click while the
// form is open or the submit is in flight reuses it, so the cluster gets one run. Runs
// submitted from this window are followed: each step's log is kept while its pod lives.

import * as crypto from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type * as Cluster from '../../cluster/index';
import { hasErrors } from '../../converter/diagnostics';
import type { Pipeline } from '../../converter/ir';
import { Disposable } from '../../workbench/lifecycle';
import type { Ctx } from '../../workbench/context';
import { errorMessage } from '../../workbench/context';
import { targetNotebook } from '../../workbench/cells';
import type { NotebookModels } from '../../workbench/notebookModel';
import { UserError } from '../tagCommands';
import { emitOptions } from '../workflowDocument';
import type { GraphPanels } from '../../views/graphPanel';
import type { RunsModel, RunView } from '../../workbench/runsModel';
import type { RunsNode, RunsTree } from '../../views/runsTree';
import { ClusterRunSource, FailedClusterSource } from './clusterRunSource';
import type { FormField, FormModel, FormProblem } from '../../webview/runForm/protocol';
import type { LogStreams } from './clusterLogs';
import { FormRejection, type RunForms } from './runForm';
import { clusterSourceId, isClusterSource, type ClusterSession, type Connected } from './session';
import type { RunImageOptions } from './clusterImages';

/** Whether a run graph panel is open (restored after a reload: it may show a cluster run). */
function runGraphOpen(): boolean {
  return vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.includes('flowbook.graph') && t.label.startsWith('Run: ')));
}

/** What the image feature gives Run on Cluster: the steps' built images, when a registry is set. */
export interface StepImageProvider {
  stepImagesForRun(doc: vscode.NotebookDocument, pipeline: Pipeline, options?: RunImageOptions): Promise<Record<string, string> | undefined>;
}

interface RunRef {
  source?: string;
  id?: string;
  step?: string;
}

/** One "Run on Cluster" of one notebook, from the click to the submitted run. */
interface Submission {
  requestId: string;
  connected: Connected;
  workflow: Cluster.Workflow;
  pipelineName: string;
  notebookPath: string;
}

export interface SubmitOutcome {
  name: string;
  namespace: string;
  created: boolean;
}

export class ClusterRuns extends Disposable {
  private source?: { id: string; source: ClusterRunSource | FailedClusterSource; registration: vscode.Disposable };
  /** Submissions being prepared or shown in a form, by notebook: a second click joins them. */
  private readonly submissions = new Map<string, Promise<Submission>>();
  /** Actions in flight (resubmit, retry …) by target: a double click runs them once. */
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly followed = new Map<string, { subs: vscode.Disposable; streams: Map<string, () => void> }>();
  private readonly runsChanged = this._register(new vscode.EventEmitter<Connected>());
  /** Fires after a batch of run changes of the current connection (chips and logs listen). */
  readonly onDidChangeRuns = this.runsChanged.event;

  constructor(
    private readonly ctx: Ctx,
    private readonly session: ClusterSession,
    private readonly models: NotebookModels,
    private readonly runsModel: RunsModel,
    private readonly runsTree: RunsTree,
    private readonly graphs: GraphPanels,
    private readonly streams: LogStreams,
    private readonly forms: RunForms,
    private readonly images: StepImageProvider,
  ) {
    super();
    this._register(session.onDidChange(() => this.updateSource()));
    // The Runs view shown, or a run graph restored after a reload, is a first use: connect,
    // so the cluster section (and the run the graph shows) appears.
    const onVisible = () => {
      if (session.state.kind === 'configured' && (runsTree.view.visible || runGraphOpen())) void session.connect().catch(() => undefined);
    };
    this._register(runsTree.view.onDidChangeVisibility(onVisible));
    this._register(session.onDidChange(onVisible));
    this._register({ dispose: () => { this.removeSource(); this.followed.forEach((f) => { f.subs.dispose(); f.streams.forEach((r) => r()); }); } });
    this.updateSource();
    onVisible();
  }

  private removeSource(): void {
    this.source?.registration.dispose();
    this.source = undefined;
  }

  /** Keeps the Runs view's cluster section in step with the session. */
  private updateSource(): void {
    const state = this.session.state;
    if (state.kind === 'connected') {
      const c = state.connected;
      if (this.source?.id === c.sourceId && this.source.source instanceof ClusterRunSource && this.source.source.model === c.runs) return;
      this.removeSource();
      const source = new ClusterRunSource(c);
      const registration = this.runsModel.addSource(source);
      const sub = c.runs.onDidChange(() => this.runsChanged.fire(c));
      this.source = { id: c.sourceId, source, registration: vscode.Disposable.from(registration, sub) };
      return;
    }
    if (state.kind === 'failed') {
      const id = clusterSourceId(state.context ?? 'kubernetes', '');
      this.removeSource();
      const source = new FailedClusterSource(id, `Cluster: ${state.context ?? 'Kubernetes'}`, state.message);
      this.source = { id, source, registration: this.runsModel.addSource(source) };
      return;
    }
    if (state.kind === 'unconfigured' || (this.source && !(state.kind === 'connecting' && this.source.source instanceof FailedClusterSource))) this.removeSource();
  }

  /** The connected session, loading the client on first use. */
  private async connected(): Promise<Connected> {
    try {
      return await this.session.connect();
    } catch (err) {
      throw new UserError(`Flowbook cannot connect to Kubernetes: ${errorMessage(err)}`);
    }
  }

  private clusterSource(): ClusterRunSource | undefined {
    const s = this.source?.source;
    return s instanceof ClusterRunSource ? s : undefined;
  }

  /** A command's run target on the current connection. */
  private target(node: unknown): { c: Connected; name: string; ref: RunRef } {
    const ref = (node ?? {}) as RunRef;
    const c = this.session.current();
    if (!ref.id || !isClusterSource(ref.source)) throw new UserError('Pick a cluster run in the Runs view.');
    if (!c || c.sourceId !== ref.source) {
      throw new UserError(`Run ${ref.id} belongs to another Kubernetes context or namespace than the current one${c ? ` (${c.context} / ${c.namespace})` : ''}. Switch to it with the status bar item first.`);
    }
    return { c, name: ref.id, ref };
  }

  /** Runs `fn` once per key while it is in flight (a double click joins the first). */
  private once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key) as Promise<T> | undefined;
    if (running) return running;
    const p = fn().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  // ---------------------------------------------------------------------------
  // Run on Cluster

  /**
   * Run on Cluster: compiles the notebook, shows the parameters form (prefilled from the
   * notebook) and submits. `options.parameters` submits those values without the form.
   * Resolves with the run (without the form: once submitted; with it: once the form is shown).
   */
  async runOnCluster(target: unknown, options?: { parameters?: Record<string, string> }): Promise<SubmitOutcome | undefined> {
    if (!vscode.workspace.isTrusted) {
      throw new UserError('Running a pipeline runs the notebook\'s code, so Flowbook runs only in a trusted workspace. Use "Manage Workspace Trust" to trust this folder.');
    }
    const doc = targetNotebook(target);
    if (!doc) {
      void vscode.window.showInformationMessage('Open a Jupyter notebook to run its pipeline on the cluster.');
      return undefined;
    }
    if (doc.uri.scheme !== 'file') throw new UserError('Save the notebook to a file first: cluster runs keep their records next to it.');
    if (this.session.state.kind === 'unconfigured') {
      await this.session.explainUnconfigured('to run the pipeline on a cluster');
      if (this.session.state.kind === 'unconfigured') return undefined;
    }
    const key = doc.uri.toString();
    let pending = this.submissions.get(key);
    if (pending && !options?.parameters && this.forms.reveal(key)) return undefined;
    if (!pending) {
      pending = this.prepare(doc);
      this.submissions.set(key, pending);
      pending.catch(() => this.submissions.delete(key));
    }
    const submission = await pending;
    if (options?.parameters) {
      try {
        return await this.submitNow(submission, options.parameters);
      } finally {
        if (this.submissions.get(key) === pending && !this.forms.has(key)) this.submissions.delete(key);
      }
    }
    this.openForm(key, submission, pending);
    return undefined;
  }

  private async prepare(doc: vscode.NotebookDocument): Promise<Submission> {
    const analysis = await this.models.current(doc);
    if (!analysis) throw new UserError('This is not a Jupyter notebook.');
    const pipeline = analysis.pipeline;
    if (hasErrors(pipeline.diagnostics)) {
      const errors = pipeline.diagnostics.filter((d) => d.severity === 'error').length;
      throw new UserError(`The notebook has ${errors} ${errors === 1 ? 'error' : 'errors'}; fix ${errors === 1 ? 'it' : 'them'} (see the Problems panel) before running it on the cluster.`);
    }
    if (pipeline.steps.length === 0) throw new UserError('The notebook has no code to run yet.');
    const [core, connected] = await Promise.all([this.ctx.core(), this.connected()]);
    const stepImages = await this.images.stepImagesForRun(doc, pipeline);
    const options = { ...emitOptions(this.ctx.settingsFor(doc.uri), pipeline), ...(stepImages ? { stepImages } : {}) };
    const workflow: Cluster.Workflow = core.emitWorkflow(pipeline, options);
    return { requestId: crypto.randomUUID(), connected, workflow, pipelineName: pipeline.name, notebookPath: doc.uri.fsPath };
  }

  private formModel(s: Submission, title: string, fields: FormField[], note?: string): FormModel {
    const c = s.connected;
    return {
      title,
      target: `Context ${c.context} · namespace ${c.namespace} · ${c.connection.server}`,
      fields,
      submitLabel: 'Submit',
      ...(note ? { note } : {}),
    };
  }

  private openForm(key: string, submission: Submission, pending: Promise<Submission>): void {
    let s = submission;
    const title = `Run ${path.basename(s.notebookPath)} on the cluster`;
    const note = 'Values start as the notebook\'s pipeline parameters; the notebook itself is not changed.';
    this.forms.open({
      key,
      form: this.formModel(s, title, s.connected.core.parameterFields(s.workflow), note),
      busyMessage: 'Checking the cluster and submitting…',
      submit: async (values) => {
        const outcome = await this.submitNow(s, values, true);
        if (this.submissions.get(key) === pending) this.submissions.delete(key);
        return outcome.created ? `Submitted as ${outcome.name}.` : `This run was already submitted as ${outcome.name}.`;
      },
      switchTarget: async () => {
        const switched = await this.session.switchContext();
        if (!switched) return undefined;
        s = { ...s, connected: await this.connected(), requestId: crypto.randomUUID() };
        return this.formModel(s, title, s.connected.core.parameterFields(s.workflow), note);
      },
      onCancel: () => {
        if (this.submissions.get(key) === pending) this.submissions.delete(key);
      },
    });
  }

  /** Checks every field, submits once (preflight first), then shows the run. `inForm`: problems go back to the form. */
  private async submitNow(s: Submission, values: Record<string, string>, inForm = false): Promise<SubmitOutcome> {
    const { core, client } = s.connected;
    const fields: Record<string, string> = {};
    for (const [name, value] of Object.entries(values)) {
      try {
        core.applyParameters(s.workflow, { [name]: value });
      } catch (err) {
        fields[name] = errorMessage(err);
      }
    }
    if (Object.keys(fields).length > 0) {
      const rejection = new FormRejection(`${Object.keys(fields).length === 1 ? 'A parameter has' : 'Some parameters have'} values the pipeline cannot use`, [], fields);
      if (inForm) throw rejection;
      throw new UserError(Object.values(fields).join(' '));
    }
    let result: Cluster.SubmitResult;
    try {
      result = await core.submitWorkflow(client, s.workflow, { parameters: values, requestId: s.requestId, notebookPath: s.notebookPath, pipelineName: s.pipelineName });
    } catch (err) {
      throw this.submitProblem(s, err, inForm);
    }
    for (const p of result.preflight?.problems ?? []) this.ctx.log.warn(`preflight warning [${p.check}] ${p.message}`);
    this.ctx.log.info(`run ${result.name} ${result.created ? 'submitted' : 'already existed (not submitted twice)'}: ${s.notebookPath} to ${s.connected.connection.describe()} (request ${s.requestId})`);
    this.follow(s.connected, result.name);
    void this.reveal(s.connected, result.name, { graph: true });
    if (!inForm) {
      void vscode.window.showInformationMessage(result.created ? `Run ${result.name} submitted to ${s.connected.context} / ${s.connected.namespace}.` : `This run was already submitted as ${result.name}; it was not submitted twice.`);
    }
    return { name: result.name, namespace: result.namespace, created: result.created };
  }

  /** Every preflight problem at once: in the form, or listed in the output with a short toast. */
  private submitProblem(s: Submission, err: unknown, inForm: boolean): Error {
    const core = s.connected.core;
    let problems: FormProblem[];
    let summary: string;
    if (err instanceof core.PreflightError) {
      problems = err.report.problems.map((p) => ({ severity: p.severity, check: p.check, message: p.message }));
      const errors = problems.filter((p) => p.severity === 'error').length;
      summary = `The cluster check found ${errors} ${errors === 1 ? 'problem' : 'problems'}; nothing was submitted`;
      this.ctx.log.error(`Run on Cluster: ${err.message}`);
    } else {
      problems = [{ severity: 'error', check: err instanceof core.ParameterError ? 'parameter' : 'cluster', message: errorMessage(err) }];
      summary = 'The run was not submitted';
      this.ctx.log.error(`Run on Cluster: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (inForm) return new FormRejection(summary, problems);
    this.ctx.log.show(true);
    return new UserError(`${summary}: ${problems.map((p) => p.message).join(' · ')}`);
  }

  /** Waits for the run to be listed, then selects it in the Runs view and (optionally) opens its graph. */
  async reveal(c: Connected, name: string, options: { graph?: boolean } = {}): Promise<RunView | undefined> {
    const view = await this.waitForRun(c, name);
    if (!view) return undefined;
    const node: RunsNode = { kind: 'run', source: c.sourceId, id: name };
    try {
      await this.runsTree.view.reveal(node, { select: true, focus: false, expand: false });
    } catch (err) {
      this.ctx.log.debug(`cannot reveal run ${name} in the Runs view: ${errorMessage(err)}`);
    }
    if (options.graph) await this.openGraph({ source: c.sourceId, id: name });
    return view;
  }

  private waitForRun(c: Connected, name: string, timeoutMs = 15_000): Promise<RunView | undefined> {
    const find = () => (this.session.current() === c ? this.clusterSource()?.view(name) : undefined);
    const now = find();
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        sub.dispose();
        resolve(undefined);
      }, timeoutMs);
      const sub = this.runsModel.onDidChange(() => {
        const v = find();
        if (!v) return;
        clearTimeout(timer);
        sub.dispose();
        resolve(v);
      });
    });
  }

  /** Keeps each step's log of a run submitted here while its pod lives (until the run ends). */
  private follow(c: Connected, name: string): void {
    const key = `${c.sourceId}/${name}`;
    if (this.followed.has(key)) return;
    const streams = new Map<string, () => void>();
    const check = () => {
      if (this.session.current() !== c) return stop();
      const detail = c.runs.detail(name);
      if (!detail) return;
      const store = this.streams.records(c, detail.summary.notebook);
      for (const step of detail.steps) {
        const attempt = step.attempts[step.attempts.length - 1];
        if (!attempt || !step.podName || step.phase === 'Cached' || streams.has(attempt.nodeId)) continue;
        const { entry, release } = this.streams.acquire(c, store, { context: c.context, namespace: c.namespace, run: name, nodeId: attempt.nodeId, podName: step.podName, step: step.step });
        streams.set(attempt.nodeId, release);
        void entry.stream.start().then(() => release());
      }
      if (c.core.isFinished(detail.summary.phase)) {
        store.saveRun({ context: c.context, namespace: c.namespace, run: name }, detail.workflow);
        sub.dispose();
        this.followed.delete(key);
      }
    };
    const stop = () => {
      sub.dispose();
      streams.forEach((release) => release());
      this.followed.delete(key);
    };
    const sub = c.runs.onDidChangeRun(name, () => check());
    this.followed.set(key, { subs: sub, streams });
    check();
  }

  // ---------------------------------------------------------------------------
  // Actions on runs (the Runs view's cluster section)

  /** Open Graph: the run's notebook's graph panel shows the run, live from the watch. */
  async openGraph(node: unknown): Promise<void> {
    const { c, name } = this.target(node);
    const view = this.clusterSource()?.view(name);
    if (!view) throw new UserError(`Run ${name} is no longer in namespace ${c.namespace}.`);
    if (!view.notebook) {
      throw new UserError(`Run ${name} was not submitted by Flowbook from a notebook on this machine, so there is no pipeline graph to show. Its steps are listed under it in the Runs view.`);
    }
    await this.graphs.showForRun({ source: c.sourceId, id: name });
  }

  async stop(node: unknown, options?: { strategy?: 'Stop' | 'Terminate' }): Promise<void> {
    const { c, name } = this.target(node);
    let strategy = options?.strategy;
    if (!strategy) {
      const choice = await vscode.window.showWarningMessage(`Stop run ${name}?`, {
        modal: true,
        detail: 'Stop: running steps finish, no new steps start. Terminate: running steps are killed now.',
      }, 'Stop', 'Terminate');
      if (!choice) return;
      strategy = choice;
    }
    await c.core.stopRun(c.client, name, { strategy });
    this.ctx.log.info(`run ${name}: ${strategy === 'Stop' ? 'stop' : 'terminate'} requested`);
  }

  async delete(node: unknown, options?: { confirmed?: boolean }): Promise<void> {
    const { c, name } = this.target(node);
    if (!options?.confirmed) {
      const choice = await vscode.window.showWarningMessage(`Delete run ${name} from namespace ${c.namespace}?`, {
        modal: true,
        detail: 'The Workflow and its pods are deleted from the cluster. Logs Flowbook kept stay on this machine.',
      }, 'Delete');
      if (choice !== 'Delete') return;
    }
    await c.core.deleteRun(c.client, name);
    this.ctx.log.info(`run ${name} deleted from ${c.connection.describe()}`);
  }

  /** Retry Failed Steps: the failed steps of a finished run run again; succeeded ones are kept. */
  async retryFailedSteps(node: unknown): Promise<void> {
    const { c, name } = this.target(node);
    await this.once(`retry:${c.sourceId}/${name}`, async () => {
      const { deletedPods } = await c.core.retryRun(c.client, name);
      this.ctx.log.info(`run ${name}: retrying its failed steps (${deletedPods.length} pods removed)`);
      this.follow(c, name);
    });
  }

  /** Re-run (a cluster run): a new run with the same parameters. */
  async rerun(node: unknown): Promise<SubmitOutcome> {
    const { c, name } = this.target(node);
    return this.resubmit(c, name, {});
  }

  /** Re-run from Step: a new run that reuses the steps upstream of `step` (memoized). */
  async rerunFromStep(node: unknown, stepName?: string): Promise<SubmitOutcome | undefined> {
    const { c, name, ref } = this.target(node);
    let step = stepName ?? ref.step;
    if (!step) {
      const steps = this.clusterSource()?.view(name)?.steps.map((s) => s.name) ?? [];
      step = await vscode.window.showQuickPick(steps, { title: `Resubmit ${name} from step`, placeHolder: 'The step to run again, with everything after it' });
      if (!step) return undefined;
    }
    return this.resubmit(c, name, { fromStep: step });
  }

  private resubmit(c: Connected, name: string, options: { fromStep?: string; parameters?: Record<string, string> }): Promise<SubmitOutcome> {
    const requestId = crypto.randomUUID();
    const key = `resubmit:${c.sourceId}/${name}/${options.fromStep ?? ''}/${JSON.stringify(options.parameters ?? {})}`;
    return this.once(key, async () => {
      let result: Cluster.ResubmitResult;
      try {
        result = await c.core.resubmitRun(c.client, name, { ...options, requestId });
      } catch (err) {
        if (err instanceof c.core.PreflightError) {
          this.ctx.log.error(`Resubmit ${name}: ${err.message}`);
          this.ctx.log.show(true);
          throw new UserError(`The cluster check found problems; nothing was submitted: ${err.report.problems.map((p) => p.message).join(' · ')}`);
        }
        throw err;
      }
      for (const w of result.warnings) {
        this.ctx.log.warn(`resubmit of ${name}: ${w}`);
        void vscode.window.showWarningMessage(w);
      }
      const reused = result.reused.length > 0 ? ` (reusing ${result.reused.join(', ')})` : '';
      this.ctx.log.info(`run ${name} resubmitted as ${result.name}${reused}`);
      this.follow(c, result.name);
      void this.reveal(c, result.name, { graph: this.clusterSource()?.view(name)?.notebook !== undefined });
      return { name: result.name, namespace: result.namespace, created: result.created };
    });
  }

  /** Resubmit with other parameters: the form, prefilled with the run's values. */
  async resubmitWithParameters(node: unknown, options?: { parameters?: Record<string, string> }): Promise<SubmitOutcome | undefined> {
    const { c, name } = this.target(node);
    if (options?.parameters) return this.resubmit(c, name, { parameters: options.parameters });
    const wf = c.runs.workflow(name);
    if (!wf) throw new UserError(`Run ${name} is no longer in namespace ${c.namespace}.`);
    const key = `resubmit:${c.sourceId}/${name}`;
    const fields = c.core.parameterFields(wf);
    const s: Submission = { requestId: '', connected: c, workflow: wf, pipelineName: '', notebookPath: '' };
    this.forms.open({
      key,
      form: { ...this.formModel(s, `Resubmit ${name}`, fields, `A new run of the same workflow, with these parameter values (they start as run ${name}'s).`), submitLabel: 'Resubmit' },
      busyMessage: 'Checking the cluster and resubmitting…',
      submit: async (values) => {
        const problems: Record<string, string> = {};
        for (const [k, v] of Object.entries(values)) {
          try {
            c.core.applyParameters(wf, { [k]: v });
          } catch (err) {
            problems[k] = errorMessage(err);
          }
        }
        if (Object.keys(problems).length > 0) throw new FormRejection('Some parameters have values the pipeline cannot use', [], problems);
        try {
          const outcome = await this.resubmit(c, name, { parameters: values });
          return `Resubmitted as ${outcome.name}.`;
        } catch (err) {
          throw new FormRejection('The run was not resubmitted', [{ severity: 'error', check: 'cluster', message: errorMessage(err) }]);
        }
      },
    });
    return undefined;
  }

  /** Show All Workflows / Only Flowbook Runs in the cluster section. */
  async toggleScope(): Promise<'flowbook' | 'all'> {
    const c = await this.connected();
    c.runs.setScope(c.runs.scope === 'flowbook' ? 'all' : 'flowbook');
    this.clusterSource()?.refresh();
    this.ctx.log.info(`cluster runs: showing ${c.runs.scope === 'all' ? 'all workflows' : 'Flowbook runs'} of ${c.namespace}`);
    return c.runs.scope;
  }

  /** The latest cluster run of a notebook, for the cell chips. */
  latestRunOf(notebookPath: string): ReturnType<Cluster.RunListModel['latestRunOf']> {
    return this.session.current()?.runs.latestRunOf(notebookPath);
  }
}
