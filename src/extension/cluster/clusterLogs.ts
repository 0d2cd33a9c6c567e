// Step logs of cluster runs in read-only editors (`flowbook-cluster-log:` documents). A
// running step's log is streamed (`StepLogStream`) into the local run record and the
// document re-reads the record as lines arrive, so what is on screen is what outlives the
// pod; editors scrolled to the end follow. A finished step's log comes from wherever it still
// is (`readStepLog`: the record, the pod, the archived artifact) or the document says
// clearly that it is gone. Streams are shared (the follower of a submitted run keeps them
// too) and stop when nobody needs them.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type * as Cluster from '../../cluster/index';
import { Disposable } from '../../workbench/lifecycle';
import type { Ctx } from '../../workbench/context';
import { errorMessage } from '../../workbench/context';
import { UserError } from '../tagCommands';
import { logColumn } from '../logs';
import type { ClusterSession, Connected } from './session';

export const CLUSTER_LOG_SCHEME = 'flowbook-cluster-log';
/** The part of a log a document shows: the end, when a log is larger. */
const SHOWN_BYTES = 2 * 1024 * 1024;
const REFRESH_MS = 150;

export interface ClusterLogRef {
  source: string;
  run: string;
  step: string;
}

export function clusterLogUri(ref: ClusterLogRef): vscode.Uri {
  return vscode.Uri.from({ scheme: CLUSTER_LOG_SCHEME, path: `/${ref.run}/${ref.step}.log`, query: JSON.stringify(ref) });
}

function refOf(uri: vscode.Uri): ClusterLogRef {
  return JSON.parse(uri.query) as ClusterLogRef;
}

interface StreamEntry {
  stream: Cluster.StepLogStream;
  users: number;
  end?: Cluster.LogEnd;
  listeners: Set<() => void>;
}

/** Log streams by step attempt, shared by documents and run followers. */
export class LogStreams extends Disposable {
  private readonly entries = new Map<string, StreamEntry>();
  private readonly stores = new Map<string, Cluster.RunRecordStore>();

  constructor(private readonly ctx: Ctx) {
    super();
    this._register({ dispose: () => this.entries.forEach((e) => e.stream.dispose()) });
  }

  /** Where a run's records (logs, last Workflow seen) are kept: `.flowbook/cluster` beside its notebook, else in the workspace. */
  records(c: Connected, notebook: string | undefined): Cluster.RunRecordStore {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const root = notebook && fs.existsSync(path.dirname(notebook)) ? c.core.defaultClusterRecordsDir(notebook)
      : folder ? path.join(folder, '.flowbook', 'cluster')
      : path.join(this.ctx.extension.globalStorageUri.fsPath, 'cluster');
    let store = this.stores.get(root);
    if (!store) this.stores.set(root, (store = new c.core.RunRecordStore(root)));
    return store;
  }

  private key(store: Cluster.RunRecordStore, s: Cluster.LogSource): string {
    return `${store.root}\u0000${s.context}\u0000${s.namespace}\u0000${s.run}\u0000${s.nodeId}`;
  }

  /** Follows one attempt's log (starting the stream once); call `release` when done with it. */
  acquire(c: Connected, store: Cluster.RunRecordStore, source: Cluster.LogSource, onChange?: () => void): { entry: StreamEntry; release(): void } {
    const key = this.key(store, source);
    let entry = this.entries.get(key);
    if (!entry) {
      const stream = new c.core.StepLogStream(c.client, store, source);
      const e: StreamEntry = { stream, users: 0, listeners: new Set() };
      entry = e;
      this.entries.set(key, e);
      stream.onDidAppend(() => e.listeners.forEach((l) => l()));
      void stream.start().then((end) => {
        e.end = end;
        if (end.reason === 'error') this.ctx.log.warn(`log of ${source.step ?? source.nodeId} in run ${source.run}: ${end.error?.message ?? 'stream failed'}`);
        // The record's file is closed a moment after the end: read it once more then.
        setTimeout(() => e.listeners.forEach((l) => l()), 50);
      });
    }
    const e = entry;
    e.users++;
    if (onChange) e.listeners.add(onChange);
    let released = false;
    return {
      entry: e,
      release: () => {
        if (released) return;
        released = true;
        if (onChange) e.listeners.delete(onChange);
        if (--e.users <= 0) {
          e.stream.dispose();
          this.entries.delete(key);
        }
      },
    };
  }
}

interface OpenLog {
  release?: () => void;
  /** The step's phase and pod when the content was made, to notice when it starts. */
  seen: string;
  timer?: ReturnType<typeof setTimeout>;
}

export class ClusterLogs extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly changed = this._register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this.changed.event;
  private readonly open = new Map<string, OpenLog>();
  private following = new Set<vscode.TextEditor>();

  constructor(
    private readonly session: ClusterSession,
    private readonly streams: LogStreams,
  ) {
    super();
    this._register(vscode.workspace.registerTextDocumentContentProvider(CLUSTER_LOG_SCHEME, this));
    this._register(vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.uri.scheme !== CLUSTER_LOG_SCHEME) return;
      for (const editor of vscode.window.visibleTextEditors) {
        if (editor.document === e.document && this.following.has(editor)) {
          const end = new vscode.Position(e.document.lineCount - 1, 0);
          editor.revealRange(new vscode.Range(end, end), vscode.TextEditorRevealType.Default);
        }
      }
    }));
    this._register(vscode.workspace.onDidCloseTextDocument((doc) => {
      if (doc.uri.scheme !== CLUSTER_LOG_SCHEME) return;
      const o = this.open.get(doc.uri.toString());
      o?.release?.();
      clearTimeout(o?.timer);
      this.open.delete(doc.uri.toString());
    }));
    this._register({ dispose: () => this.open.forEach((o) => { o.release?.(); clearTimeout(o.timer); }) });
  }

  /** Show Logs on a cluster step: opens (or reveals) the step's log document. */
  async show(ref: ClusterLogRef): Promise<vscode.Uri> {
    const uri = clusterLogUri(ref);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(doc, 'log');
    const editor = await vscode.window.showTextDocument(doc, { preview: true, viewColumn: logColumn() });
    const end = new vscode.Position(doc.lineCount - 1, 0);
    editor.revealRange(new vscode.Range(end, end));
    return uri;
  }

  /** The run list changed: logs of steps that started (or restarted) since they were shown are made again. */
  runsChanged(c: Connected): void {
    for (const [key, o] of this.open) {
      if (o.release) continue;
      const ref = refOf(vscode.Uri.parse(key));
      if (ref.source !== c.sourceId) continue;
      const step = c.runs.detail(ref.run)?.steps.find((s) => s.step === ref.step);
      if (step && fingerprint(step) !== o.seen) this.changed.fire(vscode.Uri.parse(key));
    }
  }

  private soon(uri: vscode.Uri): void {
    const o = this.open.get(uri.toString());
    if (!o || o.timer) return;
    o.timer = setTimeout(() => {
      o.timer = undefined;
      this.following = new Set(vscode.window.visibleTextEditors.filter((e) => e.document.uri.toString() === uri.toString() && atEnd(e)));
      this.changed.fire(uri);
    }, REFRESH_MS);
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const ref = refOf(uri);
    const key = uri.toString();
    const o: OpenLog = this.open.get(key) ?? { seen: '' };
    this.open.set(key, o);
    const c = this.session.current();
    if (!c || c.sourceId !== ref.source) {
      return `[flowbook] Run ${ref.run} belongs to another Kubernetes context or namespace than the current one (${c ? `${c.context} / ${c.namespace}` : 'none'}). Switch to it with the status bar item to see its logs.\n`;
    }
    const detail = c.runs.detail(ref.run);
    const step = detail?.steps.find((s) => s.step === ref.step);
    if (!detail || !step) return `[flowbook] Run ${ref.run} has no step "${ref.step}" (was the run deleted?).\n`;
    o.seen = fingerprint(step);
    const store = this.streams.records(c, detail.summary.notebook);
    const location = { context: c.context, namespace: c.namespace, run: ref.run };
    const attempt = step.attempts[step.attempts.length - 1];
    const running = step.phase === 'Running' || (step.phase === 'Pending' && step.podName !== undefined);
    if (running && attempt && step.podName) {
      if (!o.release) {
        const { release } = this.streams.acquire(c, store, { ...location, nodeId: attempt.nodeId, podName: step.podName, step: step.step }, () => this.soon(uri));
        o.release = release;
      }
      const kept = store.readLog(location, attempt.nodeId, SHOWN_BYTES);
      const head = kept?.truncated ? `[flowbook] The start of this log is left out here; the whole log is in ${store.logPath(location, attempt.nodeId)}\n` : '';
      const retry = step.retries > 0 ? `[flowbook] Attempt ${step.retries + 1} of step ${step.step} (the earlier ones failed).\n` : '';
      const text = kept?.text ?? '';
      return `${head}${retry}${text}${text === '' ? `[flowbook] Waiting for step ${step.step} to write output…\n` : ''}`;
    }
    // Not running (any more): stop following, then show what is left of the log.
    o.release?.();
    o.release = undefined;
    try {
      const result = await c.core.readStepLog(c.client, store, { ...location, workflow: detail.workflow }, step, { maxBytes: SHOWN_BYTES });
      const notes: string[] = [];
      if (result.message) notes.push(`[flowbook] ${result.message}`);
      if (result.truncated && result.path) notes.push(`[flowbook] The start of this log is left out here; the whole log is in ${result.path}`);
      const body = result.text;
      if (body === '' && result.source !== 'gone' && !result.message) notes.push(`[flowbook] Step ${step.step} wrote no output (${step.phase}).`);
      return `${notes.map((n) => `${n}\n`).join('')}${body}`;
    } catch (err) {
      return `[flowbook] Cannot read the log of step ${step.step}: ${errorMessage(err)}\n`;
    }
  }
}

function fingerprint(step: Cluster.StepState): string {
  return `${step.phase}:${step.podName ?? ''}:${step.attempts.length}`;
}

function atEnd(editor: vscode.TextEditor): boolean {
  const last = editor.visibleRanges[editor.visibleRanges.length - 1];
  return last === undefined || last.end.line >= editor.document.lineCount - 2;
}

/** Log refs from what commands receive: a Runs view step node `{ source, id, step }`. */
export function logRefOf(target: unknown, stepName?: string): ClusterLogRef {
  const t = target as { source?: string; id?: string; step?: string } | undefined;
  const step = stepName ?? t?.step;
  if (!t?.source || !t.id || !step) throw new UserError('Pick a step of a run in the Runs view to see its logs.');
  return { source: t.source, run: t.id, step };
}
