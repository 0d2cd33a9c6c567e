// Hosts the "Run on Cluster" parameters form (a webview, src/webview/runForm): one panel per
// notebook or run, revealed again on a second click instead of opening another. Strict CSP
// (default-src 'none', nonce script, resources from dist/ and media/ only); values reach the
// page only by postMessage after its `ready`. Submitting calls back into the host, which
// answers with every problem at once (shown in the form) or closes the form.

import * as vscode from 'vscode';
import { Disposable } from '../../workbench/lifecycle';
import { webviewHtml } from '../../views/webviewHtml';
import type { Ctx } from '../../workbench/context';
import { errorMessage } from '../../workbench/context';
import { RUN_FORM_VIEW_TYPE, type FormHostMessage, type FormModel, type FormPageMessage, type FormProblem } from '../../webview/runForm/protocol';

/** Thrown by a submit handler: the problems the form shows (the form stays open). */
export class FormRejection extends Error {
  constructor(readonly summary: string, readonly problems: FormProblem[], readonly fields: Record<string, string> = {}) {
    super(summary);
    this.name = 'FormRejection';
  }
}

export interface RunFormRequest {
  /** One form per key: a second request with the same key reveals the open form. */
  key: string;
  form: FormModel;
  /** The progress line while `submit` runs. */
  busyMessage: string;
  /** Resolves with the line shown before the form closes; throws `FormRejection` to keep it open. */
  submit(values: Record<string, string>): Promise<string>;
  /** The "change" link next to the target; resolves with the form to show now. */
  switchTarget?(): Promise<FormModel | undefined>;
  /** The form was closed without a successful submit. */
  onCancel?(): void;
}

export class RunForms extends Disposable {
  private readonly panels = new Map<string, vscode.WebviewPanel>();

  constructor(private readonly ctx: Ctx) {
    super();
    this._register({ dispose: () => this.panels.forEach((p) => p.dispose()) });
  }

  has(key: string): boolean {
    return this.panels.has(key);
  }

  /** Whether a form with this key is open (it is revealed). */
  reveal(key: string): boolean {
    const panel = this.panels.get(key);
    panel?.reveal(undefined, false);
    return panel !== undefined;
  }

  open(request: RunFormRequest): void {
    if (this.reveal(request.key)) return;
    const root = this.ctx.extension.extensionUri;
    const panel = vscode.window.createWebviewPanel(RUN_FORM_VIEW_TYPE, request.form.title, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false }, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(root, 'dist'), vscode.Uri.joinPath(root, 'media')],
    });
    panel.iconPath = vscode.Uri.joinPath(root, 'media', 'flowbook.svg');
    this.panels.set(request.key, panel);
    let form = request.form;
    let submitted = false;
    let busy = false;
    const send = (m: FormHostMessage) => void panel.webview.postMessage(m);
    const subs: vscode.Disposable[] = [];
    subs.push(panel.webview.onDidReceiveMessage(async (m: FormPageMessage) => {
      switch (m.type) {
        case 'ready':
          send({ type: 'init', form });
          break;
        case 'cancel':
          panel.dispose();
          break;
        case 'switchTarget':
          if (!request.switchTarget || busy) break;
          try {
            const next = await request.switchTarget();
            if (next) {
              form = next;
              panel.title = next.title;
              send({ type: 'init', form });
            }
          } catch (err) {
            send({ type: 'problems', summary: 'Cannot switch the context or namespace', problems: [{ severity: 'error', check: 'cluster', message: errorMessage(err) }], fields: {} });
          }
          break;
        case 'submit':
          if (busy) break;
          busy = true;
          send({ type: 'busy', message: request.busyMessage });
          try {
            const message = await request.submit(m.values);
            submitted = true;
            send({ type: 'submitted', message });
            setTimeout(() => panel.dispose(), 800);
          } catch (err) {
            if (err instanceof FormRejection) send({ type: 'problems', summary: err.summary, problems: err.problems, fields: err.fields });
            else {
              this.ctx.log.error('run form: submit failed', err instanceof Error ? (err.stack ?? err.message) : String(err));
              send({ type: 'problems', summary: 'The run was not submitted', problems: [{ severity: 'error', check: 'cluster', message: errorMessage(err) }], fields: {} });
            }
          } finally {
            busy = false;
          }
          break;
      }
    }));
    panel.webview.html = this.html(panel.webview);
    panel.onDidDispose(() => {
      subs.forEach((s) => s.dispose());
      if (this.panels.get(request.key) === panel) this.panels.delete(request.key);
      if (!submitted) request.onCancel?.();
    });
  }

  private html(webview: vscode.Webview): string {
    return webviewHtml(webview, this.ctx.extension.extensionUri, {
      script: 'webview.runForm.js',
      style: 'runForm.css',
      title: 'Run on Cluster',
      body: `<h1 id="title">Run on Cluster</h1>
<div class="target"><span id="target"></span><a id="change" href="#" title="Switch the Kubernetes context or namespace">change…</a></div>
<p class="note" id="note" hidden></p>
<div id="fields"></div>
<div class="buttons"><vscode-button id="submit">Submit</vscode-button><vscode-button id="cancel" secondary>Cancel</vscode-button></div>
<div id="status" hidden></div>
<div id="problems" hidden></div>`,
    });
  }
}
