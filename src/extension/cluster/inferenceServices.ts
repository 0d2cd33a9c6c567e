// KServe in VS Code: the model behind the Inference Services view (one `InferenceServiceModel`
// per connection, started when the view is first shown) and its actions: Open YAML (a
// read-only document that follows the object), Delete, Test Prediction (an untitled JSON
// request with a "Send" CodeLens; the response with its status and timing in a read-only
// document beside it), and Deploy Model from a cluster run's step output.

import * as vscode from 'vscode';
import type * as Cluster from '../../cluster/index';
import { Disposable } from '../../workbench/lifecycle';
import type { Ctx } from '../../workbench/context';
import { errorMessage } from '../../workbench/context';
import { UserError } from '../tagCommands';
import type { InferenceServicesSource, IsvcNode, IsvcViewState } from '../../views/cluster/inferenceServicesTree';
import type { NotebookModels } from '../../workbench/notebookModel';
import { isClusterSource, type ClusterSession, type Connected } from './session';

export const ISVC_YAML_SCHEME = 'flowbook-isvc';
export const PREDICTION_SCHEME = 'flowbook-prediction';
/** Context key: KServe is not installed on the current cluster (the view shows its welcome). */
export const KSERVE_MISSING = 'flowbook:kserveMissing';

interface ModelState {
  connected: Connected;
  model: Cluster.InferenceServiceModel;
  state: 'starting' | 'notInstalled' | 'listing' | 'watching' | 'failed';
  message?: string;
  error?: string;
}

interface PredictionTarget {
  key: string;
  name: string;
  protocol: Cluster.PredictionProtocol;
  sourceId: string;
}

export interface PredictionOutcome {
  status: number;
  ok: boolean;
  durationMs: number;
  body: unknown;
  url: string;
  host: string;
  /** The response document. */
  document: vscode.Uri;
}

export class InferenceServices extends Disposable implements InferenceServicesSource, vscode.CodeLensProvider {
  private current?: ModelState;
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;
  private readonly docChanged = this._register(new vscode.EventEmitter<vscode.Uri>());
  private readonly lensesChanged = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeCodeLenses = this.lensesChanged.event;
  /** Untitled request documents → the service they are for. */
  private readonly requests = new Map<string, PredictionTarget>();
  private readonly responses = new Map<string, string>();
  private responseCount = 0;
  /** The view was shown or a command needed the services: keep a model for each new connection. */
  private wanted = false;

  constructor(private readonly ctx: Ctx, private readonly session: ClusterSession, private readonly models: NotebookModels) {
    super();
    this._register(vscode.workspace.registerTextDocumentContentProvider(ISVC_YAML_SCHEME, { onDidChange: this.docChanged.event, provideTextDocumentContent: (uri) => this.yaml(uri) }));
    this._register(vscode.workspace.registerTextDocumentContentProvider(PREDICTION_SCHEME, { provideTextDocumentContent: (uri) => this.responses.get(uri.toString()) ?? '' }));
    this._register(vscode.languages.registerCodeLensProvider({ scheme: 'untitled' }, this));
    this._register(vscode.workspace.onDidCloseTextDocument((d) => {
      this.requests.delete(d.uri.toString());
      this.responses.delete(d.uri.toString());
    }));
    this._register(session.onDidChange(() => this.reset()));
    this._register({ dispose: () => this.current?.model.dispose() });
  }

  private reset(): void {
    const c = this.session.current();
    if (this.current && this.current.connected === c) return;
    this.current?.model.dispose();
    this.current = undefined;
    void vscode.commands.executeCommand('setContext', KSERVE_MISSING, false);
    if (c && this.wanted) this.start(c);
    this.changed.fire();
  }

  /** The view was shown (or a command needs the services): load the client, connect, watch. */
  activate(): void {
    this.wanted = true;
    const c = this.session.current();
    if (c) {
      if (!this.current) this.start(c);
      return;
    }
    if (this.session.state.kind === 'configured') void this.session.connect().catch(() => undefined);
  }

  private start(c: Connected): void {
    const model = new c.core.InferenceServiceModel(c.client);
    const st: ModelState = { connected: c, model, state: 'starting' };
    this.current = st;
    model.onDidChange(() => this.onModelChange(st));
    model.onDidChangeState((s) => {
      if (this.current !== st) return;
      if (s.kind === 'notInstalled') {
        st.state = 'notInstalled';
        st.message = s.message;
        void vscode.commands.executeCommand('setContext', KSERVE_MISSING, true);
      } else if (s.kind === 'retrying') {
        st.error = s.error.message;
        if (st.state === 'starting') st.state = 'listing';
      } else if (s.kind === 'watching') {
        st.state = 'watching';
        st.error = undefined;
      } else if (s.kind === 'listing') {
        if (st.state === 'starting') st.state = 'listing';
      }
      this.changed.fire();
    });
    model.start().catch((err: unknown) => {
      if (this.current !== st) return;
      st.state = 'failed';
      st.message = errorMessage(err);
      this.ctx.log.warn(`inference services: ${st.message}`);
      this.changed.fire();
    });
  }

  private onModelChange(st: ModelState): void {
    if (this.current !== st) return;
    this.changed.fire();
    // Open YAML documents follow the objects they show.
    for (const d of vscode.workspace.textDocuments) if (d.uri.scheme === ISVC_YAML_SCHEME) this.docChanged.fire(d.uri);
  }

  viewState(): IsvcViewState {
    const s = this.session.state;
    if (s.kind === 'unconfigured') return { kind: 'unconfigured' };
    if (s.kind === 'failed') return { kind: 'failed', message: s.message };
    const st = this.current;
    if (s.kind !== 'connected' || !st) return { kind: 'loading', message: `Connecting to ${s.kind === 'connected' ? s.connected.context : s.context}…` };
    const scope = `${st.connected.context} / ${st.connected.namespace}`;
    switch (st.state) {
      case 'notInstalled':
        return { kind: 'notInstalled', message: st.message ?? 'KServe is not installed.' };
      case 'failed':
        return { kind: 'failed', message: st.message ?? 'Cannot list inference services.' };
      case 'starting':
        return { kind: 'loading', message: 'Loading inference services…' };
      case 'listing':
        if (!st.error && st.model.services().length === 0) return { kind: 'loading', message: 'Loading inference services…' };
        return { kind: 'ready', scope, namespace: st.connected.namespace, ...(st.error ? { error: st.error } : {}) };
      case 'watching':
        return { kind: 'ready', scope, namespace: st.connected.namespace, ...(st.error ? { error: st.error } : {}) };
    }
  }

  services(): Cluster.InferenceServiceSummary[] {
    return this.current?.model.services() ?? [];
  }

  /** A command's service target: a view node or `{ key }`. */
  private target(node: unknown): { st: ModelState; summary: Cluster.InferenceServiceSummary; isvc: Cluster.InferenceService } {
    const key = (node as Partial<IsvcNode> & { key?: string } | undefined)?.key;
    const st = this.current;
    if (!key || !st) throw new UserError('Pick an inference service in the Inference Services view.');
    const summary = st.model.services().find((s) => s.key === key);
    const isvc = st.model.get(key);
    if (!summary || !isvc) throw new UserError(`The inference service ${key.split('/').pop()} is gone from namespace ${st.connected.namespace}.`);
    return { st, summary, isvc };
  }

  refresh(): void {
    this.current?.model.dispose();
    this.current = undefined;
    this.activate();
    this.changed.fire();
  }

  // ---------------------------------------------------------------------------
  // Open YAML

  async openYaml(node: unknown): Promise<vscode.Uri> {
    const { st, summary } = this.target(node);
    const uri = vscode.Uri.from({ scheme: ISVC_YAML_SCHEME, path: `/${st.connected.namespace}/${summary.name}.yaml`, query: JSON.stringify({ key: summary.key, source: st.connected.sourceId }) });
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(doc, 'yaml');
    await vscode.window.showTextDocument(doc, { preview: true });
    return uri;
  }

  private yaml(uri: vscode.Uri): string {
    const { key, source } = JSON.parse(uri.query) as { key: string; source: string };
    const st = this.current;
    if (!st || st.connected.sourceId !== source) return `# This inference service belongs to another context or namespace than the current one.\n`;
    const isvc = st.model.get(key);
    if (!isvc) return `# The inference service ${key.split('/').pop()} was deleted.\n`;
    return st.connected.core.inferenceServiceYaml(isvc);
  }

  // ---------------------------------------------------------------------------
  // Delete

  async delete(node: unknown, options?: { confirmed?: boolean }): Promise<void> {
    const { st, summary } = this.target(node);
    if (!options?.confirmed) {
      const choice = await vscode.window.showWarningMessage(`Delete the inference service ${summary.name} from namespace ${st.connected.namespace}?`, {
        modal: true,
        detail: summary.url ? `It stops serving at ${summary.url}.` : undefined,
      }, 'Delete');
      if (choice !== 'Delete') return;
    }
    await st.connected.core.deleteInferenceService(st.connected.client, summary.name, { group: summary.group });
    this.ctx.log.info(`inference service ${summary.name} deleted from ${st.connected.connection.describe()}`);
  }

  // ---------------------------------------------------------------------------
  // Test Prediction

  /** Opens a request editor for the service, prefilled with an example body; "Send" (CodeLens) sends it. */
  async testPrediction(node: unknown, options?: { protocol?: Cluster.PredictionProtocol }): Promise<vscode.Uri | undefined> {
    const { st, summary } = this.target(node);
    if (!summary.url) throw new UserError(`The inference service ${summary.name} has no URL yet (it is not ready: ${summary.notReadyReason ?? 'wait for KServe to assign one'}).`);
    let protocol = options?.protocol;
    if (!protocol) {
      const preferred = summary.predictor.protocolVersion === 'v2' ? 'v2' : 'v1';
      const items: (vscode.QuickPickItem & { protocol: Cluster.PredictionProtocol })[] = [
        { protocol: 'v1', label: 'v1', description: ':predict', detail: '{"instances": [...]} — the TensorFlow Serving style most KServe runtimes accept' },
        { protocol: 'v2', label: 'v2', description: '/infer', detail: 'Open Inference Protocol: {"inputs": [{name, shape, datatype, data}]}' },
      ];
      items.sort((a, b) => (a.protocol === preferred ? -1 : b.protocol === preferred ? 1 : 0));
      const picked = await vscode.window.showQuickPick(items, { title: `Test prediction: ${summary.name}`, placeHolder: 'The prediction protocol' });
      if (!picked) return undefined;
      protocol = picked.protocol;
    }
    const body = JSON.stringify(st.connected.core.examplePredictionBody(protocol), null, 2);
    const doc = await vscode.workspace.openTextDocument({ language: 'json', content: `${body}\n` });
    this.requests.set(doc.uri.toString(), { key: summary.key, name: summary.name, protocol, sourceId: st.connected.sourceId });
    this.lensesChanged.fire();
    await vscode.window.showTextDocument(doc, { preview: false });
    return doc.uri;
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const t = this.requests.get(doc.uri.toString());
    if (!t) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    const route = t.protocol === 'v1' ? `/v1/models/${t.name}:predict` : `/v2/models/${t.name}/infer`;
    return [
      new vscode.CodeLens(top, { title: `$(play) Send to ${t.name} (${t.protocol} ${route})`, command: 'flowbook.sendPredictionRequest', arguments: [doc.uri] }),
    ];
  }

  /** Send: the request editor's JSON to its service; the response, with status and timing, opens beside it. */
  async sendPredictionRequest(target?: unknown): Promise<PredictionOutcome | undefined> {
    const uri = target instanceof vscode.Uri ? target : vscode.window.activeTextEditor?.document.uri;
    const t = uri ? this.requests.get(uri.toString()) : undefined;
    if (!uri || !t) throw new UserError('Start a test from an inference service (Inference Services view → Test Prediction…), then send from its request editor.');
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (!doc) throw new UserError('The request editor was closed.');
    const st = this.current;
    if (!st || st.connected.sourceId !== t.sourceId) throw new UserError('The inference service belongs to another context or namespace than the current one.');
    const summary = st.model.services().find((s) => s.key === t.key);
    if (!summary?.url) throw new UserError(`The inference service ${t.name} is gone or has no URL.`);
    const settings = this.session.settings;
    const request: Cluster.PredictionRequest = { url: summary.url, model: t.name, protocol: t.protocol, body: doc.getText() };
    if (settings.kserveIngress) request.ingress = settings.kserveIngress;
    if (settings.kserveHost) request.host = settings.kserveHost;
    let response: Cluster.PredictionResponse;
    try {
      response = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Flowbook: prediction from ${t.name}` }, () => st.connected.core.testPrediction(request));
    } catch (err) {
      const hint = settings.kserveIngress ? '' : ' If the service is only reachable through an ingress gateway, set "Flowbook: KServe Ingress URL" (for example http://localhost:8080 after `kubectl port-forward`).';
      throw new UserError(`${errorMessage(err)}${hint}`);
    }
    const lines = [
      `// POST ${response.url}${response.host ? `  (Host: ${response.host})` : ''}`,
      `// ${response.status} ${response.ok ? 'OK' : 'failed'} in ${Math.round(response.durationMs)} ms${response.contentType ? ` · ${response.contentType}` : ''}`,
      typeof response.body === 'string' ? response.body : JSON.stringify(response.body, null, 2),
      '',
    ];
    const out = vscode.Uri.from({ scheme: PREDICTION_SCHEME, path: `/${t.name}-response-${++this.responseCount}.jsonc` });
    this.responses.set(out.toString(), lines.join('\n'));
    const shown = await vscode.workspace.openTextDocument(out);
    await vscode.languages.setTextDocumentLanguage(shown, 'jsonc');
    await vscode.window.showTextDocument(shown, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
    this.ctx.log.info(`prediction from ${t.name}: ${response.status} in ${Math.round(response.durationMs)} ms (${response.url})`);
    return { status: response.status, ok: response.ok, durationMs: response.durationMs, body: response.body, url: response.url, host: response.host, document: out };
  }

  // ---------------------------------------------------------------------------
  // Deploy Model from a run's step output

  async deployModel(node: unknown, options?: { step?: string; output?: string; name?: string }): Promise<string | undefined> {
    const ref = (node ?? {}) as { source?: string; id?: string; step?: string };
    const c = this.session.current();
    if (!ref.id || !isClusterSource(ref.source)) throw new UserError('Pick a succeeded cluster run in the Runs view to deploy a model from.');
    if (!c || c.sourceId !== ref.source) throw new UserError(`Run ${ref.id} belongs to another Kubernetes context or namespace than the current one.`);
    const detail = c.runs.detail(ref.id);
    if (!detail) throw new UserError(`Run ${ref.id} is gone from namespace ${c.namespace}.`);
    const done = detail.steps.filter((s) => s.phase === 'Succeeded' || s.phase === 'Cached');
    let step = options?.step ?? ref.step;
    if (!step) {
      const picked = await vscode.window.showQuickPick(done.map((s) => ({ label: s.step, description: s.cells.length > 0 ? `cells ${s.cells.map((i) => i + 1).join(', ')}` : '' })).reverse(), {
        title: `Deploy a model from run ${ref.id}`, placeHolder: 'The step whose output is the model',
      });
      if (!picked) return undefined;
      step = picked.label;
    }
    let output = options?.output;
    const volume = (detail.workflow.spec.volumeClaimTemplates?.length ?? 0) > 0;
    if (output === undefined && volume) {
      const guess = this.outputGuess(detail, step);
      output = await vscode.window.showInputBox({
        title: `Deploy from step ${step}`,
        prompt: 'The model file in the step\'s outputs: the variable name and its format (.joblib for scikit-learn, .pkl for others)',
        value: guess,
      });
      if (!output) return undefined;
    }
    let name = options?.name;
    if (!name) {
      const base = `${(detail.summary.pipeline ?? ref.id).toLowerCase()}-${step.toLowerCase()}`.replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 45);
      name = await vscode.window.showInputBox({
        title: 'Inference service name',
        value: base,
        validateInput: (v) => (/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(v) && v.length <= 45 ? undefined : 'Lower-case letters, digits and -, starting with a letter (at most 45 characters).'),
      });
      if (!name) return undefined;
    }
    const result = await c.core.deployModelFromStep(c.client, { name, run: detail.workflow, step, ...(output ? { output } : {}) });
    for (const w of result.warnings) {
      this.ctx.log.warn(`deploy ${name}: ${w}`);
      void vscode.window.showWarningMessage(w);
    }
    this.ctx.log.info(`inference service ${name} created from ${ref.id}/${step} (${result.storageUri})`);
    void vscode.window.showInformationMessage(`Inference service ${name} created from step ${step}: it serves ${result.storageUri} once KServe has it ready.`, 'Show Inference Services')
      .then((choice) => choice && vscode.commands.executeCommand('flowbook.inferenceServices.focus'));
    return name;
  }

  /** `model.joblib` when the step's notebook says it passes on a `model`; else its first output. */
  private outputGuess(detail: Cluster.RunDetail, step: string): string {
    const notebook = detail.summary.notebook;
    const doc = notebook ? vscode.workspace.notebookDocuments.find((d) => d.uri.fsPath === notebook) : undefined;
    const outputs = doc ? this.models.get(doc.uri)?.pipeline.steps.find((s) => s.name === step)?.outputs ?? [] : [];
    const name = outputs.find((o) => /model/i.test(o)) ?? outputs[0] ?? 'model';
    return `${name}.joblib`;
  }
}
