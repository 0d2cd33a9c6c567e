// Step logs in a read-only editor (`flowbook-log:` virtual documents): stdout, then stderr,
// of one step of one run. While the step runs the document is refreshed from the log files,
// and editors scrolled to the end follow the new output, like `tail -f`.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Disposable } from '../workbench/lifecycle';
import type { Ctx } from '../workbench/context';
import type { RunsModel, RunView } from '../workbench/runsModel';
import { readRun } from '../runner/record';
import { UserError } from './tagCommands';
import { GRAPH_VIEW_TYPE } from '../webview/protocol';

export const LOG_SCHEME = 'flowbook-log';
const POLL_MS = 400;

interface LogRef {
  source: string;
  id: string;
  step: string;
}

export class StepLogs extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly changed = this._register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this.changed.event;
  private readonly sizes = new Map<string, string>();
  private timer?: ReturnType<typeof setInterval>;
  /** Editors that showed the end of a log before it grew: they keep following. */
  private following = new Set<vscode.TextEditor>();

  constructor(private readonly ctx: Ctx, private readonly runs: RunsModel) {
    super();
    this._register(vscode.workspace.registerTextDocumentContentProvider(LOG_SCHEME, this));
    this._register(vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.uri.scheme !== LOG_SCHEME) return;
      for (const editor of vscode.window.visibleTextEditors) {
        if (editor.document === e.document && this.following.has(editor)) {
          const end = new vscode.Position(e.document.lineCount - 1, 0);
          editor.revealRange(new vscode.Range(end, end), vscode.TextEditorRevealType.Default);
        }
      }
    }));
    this._register(vscode.workspace.onDidCloseTextDocument(() => this.poll()));
    this._register({ dispose: () => clearInterval(this.timer) });
  }

  /** Show Logs: `(node)` from the Runs view, or `(run ref, step)` from the graph. */
  async show(target: unknown, stepName?: string): Promise<vscode.Uri | undefined> {
    const t = target as Partial<LogRef> | undefined;
    const step = stepName ?? t?.step;
    if (!t?.source || !t.id || !step) throw new UserError('Pick a step of a run in the Runs view to see its logs.');
    // A cached step did not run: its log is the one of the run that produced its outputs.
    const cachedFrom = this.runs.find(t.source, t.id)?.steps.find((s) => s.name === step)?.cachedFrom;
    const id = cachedFrom !== undefined && this.runs.find(t.source, cachedFrom) ? cachedFrom : t.id;
    const uri = logUri({ source: t.source, id, step });
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(doc, 'log');
    const editor = await vscode.window.showTextDocument(doc, { preview: true, viewColumn: logColumn() });
    const end = new vscode.Position(doc.lineCount - 1, 0);
    editor.revealRange(new vscode.Range(end, end));
    this.poll();
    return uri;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const ref = refOf(uri);
    const run = this.runs.find(ref.source, ref.id);
    if (!run?.dir) return `Run ${ref.id} is not available: it was deleted, or it is not a local run.\n`;
    const text = readStepLog(run, ref.step);
    this.sizes.set(uri.toString(), fingerprint(run, ref.step));
    return text;
  }

  /** Polls open logs of running steps; stops when none is open. */
  private poll(): void {
    const open = vscode.workspace.textDocuments.filter((d) => d.uri.scheme === LOG_SCHEME && !d.isClosed);
    if (open.length === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    this.timer ??= setInterval(() => this.tick(), POLL_MS);
  }

  private tick(): void {
    const open = vscode.workspace.textDocuments.filter((d) => d.uri.scheme === LOG_SCHEME && !d.isClosed);
    if (open.length === 0) return this.poll();
    for (const doc of open) {
      const ref = refOf(doc.uri);
      const run = this.runs.find(ref.source, ref.id);
      if (!run?.dir) continue;
      const now = fingerprint(run, ref.step);
      if (now === this.sizes.get(doc.uri.toString())) continue;
      this.following = new Set(vscode.window.visibleTextEditors.filter((e) => e.document === doc && atEnd(e)));
      this.changed.fire(doc.uri);
    }
  }
}

export function logUri(ref: LogRef): vscode.Uri {
  return vscode.Uri.from({ scheme: LOG_SCHEME, path: `/${ref.id}/${ref.step}.log`, query: JSON.stringify(ref) });
}

function refOf(uri: vscode.Uri): LogRef {
  return JSON.parse(uri.query) as LogRef;
}

function atEnd(editor: vscode.TextEditor): boolean {
  const last = editor.visibleRanges[editor.visibleRanges.length - 1];
  return last === undefined || last.end.line >= editor.document.lineCount - 2;
}

function stepFiles(run: RunView, step: string): { stdout?: string; stderr?: string; status?: string } {
  if (!run.dir) return {};
  const record = readRun(path.dirname(run.dir), run.id);
  const s = record?.steps.find((x) => x.name === step);
  if (!s) return {};
  return { stdout: path.join(run.dir, s.stdout), stderr: path.join(run.dir, s.stderr), status: s.status };
}

function size(file: string | undefined): number {
  try {
    return file ? fs.statSync(file).size : -1;
  } catch {
    return -1;
  }
}

function fingerprint(run: RunView, step: string): string {
  const f = stepFiles(run, step);
  return `${f.status}:${size(f.stdout)}:${size(f.stderr)}`;
}

/** A step's log: stdout, then stderr under a separator; a note when the step has not started. */
export function readStepLog(run: RunView, step: string): string {
  const files = stepFiles(run, step);
  if (!files.stdout) return `Step "${step}" is not part of run ${run.id}.\n`;
  const read = (f: string | undefined) => {
    try {
      return f ? fs.readFileSync(f, 'utf8') : '';
    } catch {
      return '';
    }
  };
  const out = read(files.stdout);
  const err = read(files.stderr);
  if (out === '' && err === '') {
    return files.status === 'pending' ? `Step "${step}" has not started yet.\n` : files.status === 'running' ? '' : `Step "${step}" wrote no output (${files.status}).\n`;
  }
  const parts = [out];
  if (err !== '') parts.push(`${out === '' || out.endsWith('\n') ? '' : '\n'}──── stderr ────\n${err}`);
  return parts.join('');
}

/**
 * Where a step log opens: the active group, unless that group shows a run graph (the log
 * was opened by clicking a node): then another group, so the graph stays in sight.
 */
export function logColumn(): vscode.ViewColumn {
  const active = vscode.window.tabGroups.activeTabGroup;
  const input = active.activeTab?.input;
  if (input instanceof vscode.TabInputWebview && input.viewType.endsWith(GRAPH_VIEW_TYPE)) {
    return vscode.window.tabGroups.all.find((g) => g !== active)?.viewColumn ?? vscode.ViewColumn.Beside;
  }
  return vscode.ViewColumn.Active;
}
