// The cluster connection of this window: which kubeconfig context and namespace, the
// Kubernetes client on them, and the watch-driven models the views share (runs, inference
// services). The client is loaded on first use (a cluster command, a cluster view shown, the
// status bar clicked), never at activation: until then a cheap kubeconfig probe decides
// whether "Run on Cluster" is offered and what the status bar says. Switching context or
// namespace writes the settings, and every model is rebuilt from the new connection.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type * as Cluster from '../../cluster/index';
import { Disposable } from '../../workbench/lifecycle';
import type { Ctx } from '../../workbench/context';
import { errorMessage } from '../../workbench/context';
import { CLUSTER_CONFIGURED } from '../extension';
import { CONNECTION_KEYS, settingsTarget, type ClusterSettings } from '../../workbench/settings';
import { expandPath, probeKubeconfig, type KubeconfigProbe } from './kubeconfigProbe';

export type ClusterCore = typeof import('./clusterCore');

const SELECT_KUBECONFIG = 'Select Kubeconfig File…';

/** A live connection and the models built on it. */
export interface Connected {
  core: ClusterCore;
  connection: Cluster.ClusterConnection;
  client: Cluster.ClusterClient;
  context: string;
  namespace: string;
  /** The Runs view's source id for this context and namespace (no `:`, see RunsModel). */
  sourceId: string;
  runs: Cluster.RunListModel;
}

export type SessionState =
  | { kind: 'unconfigured'; reason: string }
  | { kind: 'configured'; context: string }
  | { kind: 'connecting'; context: string }
  | { kind: 'connected'; connected: Connected }
  | { kind: 'failed'; context?: string; message: string };

/** `cluster/<context>/<namespace>`, URI-encoded so names with `:` or `/` stay one segment. */
export function clusterSourceId(context: string, namespace: string): string {
  return `cluster/${encodeURIComponent(context)}/${encodeURIComponent(namespace)}`;
}

export function isClusterSource(source: unknown): source is string {
  return typeof source === 'string' && source.startsWith('cluster/');
}

export class ClusterSession extends Disposable {
  private settings_: ClusterSettings;
  private state_: SessionState = { kind: 'unconfigured', reason: 'Looking for a kubeconfig…' };
  private core_?: Promise<ClusterCore>;
  private connecting?: Promise<Connected>;
  private generation = 0;
  private probeRun = 0;
  /** Set while the kubeconfig is looked at again: connecting waits for it. */
  private probing?: Promise<void>;
  private readonly changed = this._register(new vscode.EventEmitter<SessionState>());
  /** Fires when the state changes: configured, connected (new models), failed. */
  readonly onDidChange = this.changed.event;
  readonly statusBar: vscode.StatusBarItem;

  constructor(private readonly ctx: Ctx) {
    super();
    this.settings_ = ctx.settings.cluster;
    this.statusBar = this._register(vscode.window.createStatusBarItem('flowbook.cluster', vscode.StatusBarAlignment.Left, 10));
    this.statusBar.name = 'Flowbook: Kubernetes context';
    this.statusBar.command = 'flowbook.switchClusterContext';
    this._register({ dispose: () => this.disconnect() });
    // Ctx refreshed its snapshot first: it subscribed before this session was made.
    this._register(vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('flowbook')) return;
      const before = this.settings_;
      this.settings_ = this.ctx.settings.cluster;
      if (CONNECTION_KEYS.some((k) => e.affectsConfiguration(k)) || before.kubeconfig !== this.settings_.kubeconfig) void this.reset();
    }));
    void this.reset();
  }

  get settings(): ClusterSettings {
    return this.settings_;
  }

  get state(): SessionState {
    return this.state_;
  }

  current(): Connected | undefined {
    return this.state_.kind === 'connected' ? this.state_.connected : undefined;
  }

  /** The cluster module, loaded once. */
  core(): Promise<ClusterCore> {
    if (!this.core_) {
      const started = performance.now();
      this.core_ = import(/* webpackChunkName: "cluster" */ './clusterCore.js');
      void this.core_.then(() => this.ctx.log.info(`Kubernetes client loaded in ${Math.round(performance.now() - started)} ms`), () => undefined);
      this.core_.catch(() => {
        this.core_ = undefined;
      });
    }
    return this.core_;
  }

  private setState(state: SessionState): void {
    this.state_ = state;
    this.updateStatusBar();
    void vscode.commands.executeCommand('setContext', CLUSTER_CONFIGURED, state.kind !== 'unconfigured');
    this.changed.fire(state);
  }

  private kubeconfigOption(): string | undefined {
    const k = this.settings_.kubeconfig;
    if (!k) return undefined;
    const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    return k.split(path.delimiter).filter((f) => f !== '').map((f) => expandPath(f, base)).join(path.delimiter);
  }

  /** Settings changed (or startup): forget the connection, probe again; reconnect when something used it. */
  private reset(): Promise<void> {
    // Set before the probe starts: the views it notifies may ask to connect at once.
    let done!: () => void;
    const probing = new Promise<void>((resolve) => (done = resolve));
    this.probing = probing;
    void this.probe().finally(() => {
      if (this.probing === probing) this.probing = undefined;
      done();
    });
    return probing;
  }

  private async probe(): Promise<void> {
    const wasUsed = this.state_.kind === 'connected' || this.state_.kind === 'connecting' || this.state_.kind === 'failed';
    this.disconnect();
    const run = ++this.probeRun;
    let probe: KubeconfigProbe;
    try {
      probe = await probeKubeconfig({ ...(this.kubeconfigOption() ? { kubeconfig: this.kubeconfigOption() } : {}), ...(this.settings_.context ? { context: this.settings_.context } : {}) });
    } catch (err) {
      probe = { configured: false, files: [], reason: errorMessage(err) };
    }
    if (run !== this.probeRun) return;
    if (!probe.configured || !probe.context) {
      this.setState({ kind: 'unconfigured', reason: probe.reason ?? 'No Kubernetes context is configured.' });
      return;
    }
    this.setState({ kind: 'configured', context: probe.context });
    if (wasUsed) void this.connect().catch(() => undefined);
  }

  private disconnect(): void {
    this.generation++;
    this.connecting = undefined;
    const c = this.current();
    if (c) {
      // Views drop the old models now, before the new connection is made.
      this.setState({ kind: 'configured', context: c.context });
      c.runs.dispose();
    }
  }

  /**
   * The connection, opened (and the client loaded) on first use. Rejects with a message for
   * the user when the kubeconfig cannot be used; the state says the same for the views.
   */
  connect(): Promise<Connected> {
    if (this.probing) return this.probing.then(() => this.connect());
    const current = this.current();
    if (current) return Promise.resolve(current);
    if (this.connecting) return this.connecting;
    if (this.state_.kind === 'unconfigured') return Promise.reject(new Error(this.state_.reason));
    const generation = this.generation;
    const context = this.state_.kind === 'configured' || this.state_.kind === 'failed' ? this.state_.context : undefined;
    this.setState({ kind: 'connecting', context: context ?? '' });
    const attempt = (async (): Promise<Connected> => {
      const core = await this.core();
      const options: Cluster.ConnectOptions = {};
      const kubeconfig = this.kubeconfigOption();
      if (kubeconfig) options.kubeconfig = kubeconfig;
      if (this.settings_.context) options.context = this.settings_.context;
      if (this.settings_.namespace) options.namespace = this.settings_.namespace;
      const connection = core.ClusterConnection.open(options);
      const client = new core.ClusterClient(connection);
      const runs = new core.RunListModel(client);
      return {
        core, connection, client, runs,
        context: connection.contextName,
        namespace: connection.namespace,
        sourceId: clusterSourceId(connection.contextName, connection.namespace),
      };
    })();
    this.connecting = attempt;
    attempt.then(
      (connected) => {
        if (generation !== this.generation) {
          connected.runs.dispose();
          return;
        }
        this.connecting = undefined;
        this.ctx.log.info(`cluster: ${connected.connection.describe()} at ${connected.connection.server} (${connected.connection.auth.kind} auth)`);
        connected.runs.start();
        this.setState({ kind: 'connected', connected });
      },
      (err: unknown) => {
        if (generation !== this.generation) return;
        this.connecting = undefined;
        const message = errorMessage(err);
        this.ctx.log.warn(`cluster: ${message}`);
        this.setState({ kind: 'failed', ...(context ? { context } : {}), message });
      },
    );
    return attempt;
  }

  private updateStatusBar(): void {
    const s = this.state_;
    const bar = this.statusBar;
    bar.backgroundColor = undefined;
    bar.command = 'flowbook.switchClusterContext';
    switch (s.kind) {
      case 'unconfigured':
        // Always in sight: the way to point Flowbook at a cluster is one click away.
        bar.text = '$(cloud) no cluster';
        bar.tooltip = `${s.reason}\nClick to select a kubeconfig file.`;
        bar.command = 'flowbook.selectKubeconfig';
        bar.show();
        return;
      case 'configured':
      case 'connecting':
        bar.text = `$(cloud) ${s.context}${this.settings_.namespace ? ` / ${this.settings_.namespace}` : ''}`;
        bar.tooltip = `Flowbook runs pipelines on Kubernetes context "${s.context}". Click to switch the context or namespace.`;
        break;
      case 'connected': {
        const c = s.connected;
        bar.text = `$(cloud) ${c.context} / ${c.namespace}`;
        const md = new vscode.MarkdownString();
        md.appendMarkdown('**Flowbook on Kubernetes**\n\n');
        md.appendMarkdown(`Context \`${c.context}\`, namespace \`${c.namespace}\`\n\n`);
        md.appendText(`Server: ${c.connection.server}\n`);
        md.appendMarkdown('\n\nClick to switch the context or namespace.');
        bar.tooltip = md;
        break;
      }
      case 'failed':
        bar.text = `$(cloud) ${s.context ?? 'Kubernetes'} $(warning)`;
        bar.tooltip = `Flowbook cannot use the Kubernetes configuration: ${s.message}\nClick to pick another context.`;
        bar.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
        break;
    }
    bar.show();
  }

  /**
   * Says why there is no cluster (where Flowbook looked) and offers the two ways out: pick a
   * kubeconfig file, or open the setting. `purpose`: what the user tried, e.g. `to run on a cluster`.
   */
  async explainUnconfigured(purpose: string): Promise<void> {
    const reason = this.state_.kind === 'unconfigured' ? this.state_.reason : 'No Kubernetes context is configured.';
    const choice = await vscode.window.showWarningMessage(
      `Flowbook needs a kubeconfig ${purpose}. ${reason}`,
      SELECT_KUBECONFIG, 'Open Settings');
    if (choice === SELECT_KUBECONFIG) await this.selectKubeconfig();
    else if (choice === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'flowbook.kubeconfig');
  }

  /**
   * Select Kubeconfig…: a file picker (starting in ~/.kube); the file goes into the setting
   * "Flowbook: Kubeconfig" (workspace when a folder is open), which reconnects. `file` skips the picker.
   */
  async selectKubeconfig(file?: vscode.Uri): Promise<string | undefined> {
    let picked = file;
    if (!picked) {
      const kube = path.join(os.homedir(), '.kube');
      const uris = await vscode.window.showOpenDialog({
        title: 'Select Kubeconfig File', openLabel: 'Use This Kubeconfig', canSelectMany: false, canSelectFolders: false,
        ...(fs.existsSync(kube) ? { defaultUri: vscode.Uri.file(kube) } : {}),
      });
      picked = uris?.[0];
    }
    if (!picked) return undefined;
    await vscode.workspace.getConfiguration('flowbook').update('kubeconfig', picked.fsPath, settingsTarget());
    this.ctx.log.info(`cluster: kubeconfig set to ${picked.fsPath}`);
    // The configuration event probes again; wait for it so callers see the outcome.
    if (this.probing) await this.probing;
    if (this.state_.kind === 'unconfigured') void vscode.window.showWarningMessage(`Flowbook cannot use ${picked.fsPath}: ${this.state_.reason}`);
    return picked.fsPath;
  }

  /** The status bar's click: a context, then a namespace; both are written to the settings. */
  async switchContext(choice?: { context?: string; namespace?: string }): Promise<{ context: string; namespace: string } | undefined> {
    if (this.state_.kind === 'unconfigured') {
      await this.explainUnconfigured('to switch the Kubernetes context');
      return undefined;
    }
    const core = await this.core();
    const options: Cluster.ConnectOptions = {};
    const kubeconfig = this.kubeconfigOption();
    if (kubeconfig) options.kubeconfig = kubeconfig;
    // The current connection, or a fresh look at the kubeconfig when it failed to connect.
    const base = this.current()?.connection ?? openAny(core, options);
    let context = choice?.context;
    if (context === undefined) {
      type Item = vscode.QuickPickItem & { name: string };
      const items: Item[] = base.contexts().map((c) => ({
        name: c.name,
        label: `${c.current ? '$(check) ' : ''}${c.name}`,
        description: c.namespace ?? '',
        detail: `${c.server} · ${c.execCommand ? `${c.authKind} (${c.execCommand})` : c.authKind}`,
      }));
      const picked = await vscode.window.showQuickPick(items, { title: 'Kubernetes context (1/2)', placeHolder: 'The context Flowbook runs pipelines in', matchOnDescription: true, matchOnDetail: true });
      if (!picked) return undefined;
      context = picked.name;
    }
    const target = base.with({ context });
    let namespace = choice?.namespace;
    if (namespace === undefined) {
      const client = new core.ClusterClient(target);
      namespace = await pickNamespace(client, target.namespace);
      if (namespace === undefined) return undefined;
    }
    const config = vscode.workspace.getConfiguration('flowbook');
    const where = settingsTarget();
    await config.update('cluster.context', context, where);
    await config.update('cluster.namespace', namespace, where);
    this.ctx.log.info(`cluster: switched to context "${context}", namespace "${namespace}"`);
    // The configuration event reconnects; wait for it so callers see the new connection.
    await this.whenConnected(context, namespace);
    return { context, namespace };
  }

  private async whenConnected(context: string, namespace: string): Promise<void> {
    const done = () => {
      const c = this.current();
      return (c && c.context === context && c.namespace === namespace) || this.state_.kind === 'failed';
    };
    if (!done()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          sub.dispose();
          resolve();
        }, 10_000);
        const sub = this.onDidChange(() => {
          if (!done()) {
            if (this.state_.kind === 'configured') void this.connect().catch(() => undefined);
            return;
          }
          clearTimeout(timer);
          sub.dispose();
          resolve();
        });
        if (this.state_.kind === 'configured') void this.connect().catch(() => undefined);
      });
    }
  }
}

function openAny(core: ClusterCore, options: Cluster.ConnectOptions): Cluster.ClusterConnection {
  try {
    return core.ClusterConnection.open(options);
  } catch (err) {
    // A broken current context: open the first context there is, to offer the others.
    const { kc } = core.loadKubeConfig(options);
    const first = kc.getContexts()[0];
    if (!first) throw err;
    return core.ClusterConnection.open({ ...options, context: first.name });
  }
}

/** A namespace from the cluster's list; typed text is accepted when the list is partial (no permission to list). */
async function pickNamespace(client: Cluster.ClusterClient, current: string): Promise<string | undefined> {
  const qp = vscode.window.createQuickPick();
  qp.title = `Namespace on ${client.connection.contextName} (2/2)`;
  qp.placeholder = 'The namespace runs and inference services live in';
  qp.busy = true;
  qp.items = [{ label: current, description: 'current' }];
  qp.show();
  let complete = true;
  try {
    const list = await client.listNamespaces();
    complete = list.complete;
    qp.items = list.names.map((n) => ({ label: n, ...(n === current ? { description: 'current' } : {}) }));
    const active = qp.items.find((i) => i.label === current);
    if (active) qp.activeItems = [active];
    if (!complete) qp.placeholder = 'You may not list namespaces here: pick one, or type its name';
  } catch (err) {
    qp.placeholder = `Cannot list namespaces (${errorMessage(err)}); type a name`;
    complete = false;
  } finally {
    qp.busy = false;
  }
  return new Promise((resolve) => {
    let result: string | undefined;
    qp.onDidChangeValue((value) => {
      if (complete) return;
      const typed = value.trim();
      const known = qp.items.filter((i) => i.description !== 'type to use this namespace');
      qp.items = typed && !known.some((i) => i.label === typed) ? [{ label: typed, description: 'type to use this namespace' }, ...known] : known;
    });
    qp.onDidAccept(() => {
      result = qp.selectedItems[0]?.label ?? (complete ? undefined : qp.value.trim() || undefined);
      qp.hide();
    });
    qp.onDidHide(() => {
      qp.dispose();
      resolve(result);
    });
  });
}
