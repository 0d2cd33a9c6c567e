// Notebook-level Flowbook settings, edited without hand-written JSON: the per-notebook
// switch (Make This Notebook a Pipeline / Turn Flowbook Off) and the settings form (pipeline
// name, experiment, description, default image, data passing, volume size, namespace). Every
// change is one WorkspaceEdit of `NotebookEdit.updateNotebookMetadata` on `metadata.flowbook`,
// so it is undoable like the tag commands and marks the notebook dirty. Also keeps the context
// key `flowbook:notPipeline` for the active notebook (menus and the Pipeline view's welcome).

import * as vscode from 'vscode';
import { Disposable } from '../workbench/lifecycle';
import { targetNotebook } from '../workbench/cells';
import type { NotebookModels } from '../workbench/notebookModel';
import { SWITCH_KEY } from '../workbench/pipelineMode';
import { UserError } from './tagCommands';

/** Context key: the active notebook is analysed and is not a Flowbook pipeline. */
export const NOT_PIPELINE = 'flowbook:notPipeline';

interface SettingField {
  key: string;
  label: string;
  help: string;
  /** Choices, for settings that have them. */
  choices?: { value: string; description: string }[];
  validate?: (value: string) => string | undefined;
}

const K8S_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUANTITY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$/;

/** The settings the form edits, in the order it shows them. */
export const SETTING_FIELDS: readonly SettingField[] = [
  { key: 'pipelineName', label: 'Pipeline name', help: 'The name of the compiled workflow (default: the notebook file name).', validate: (v) => (K8S_NAME.test(v) ? undefined : 'Use lower-case letters, digits and "-" (a Kubernetes name).') },
  { key: 'experimentName', label: 'Experiment', help: 'The experiment runs are grouped under (Kubeflow Pipelines).' },
  { key: 'description', label: 'Description', help: 'One line about the pipeline, shown with its runs.' },
  { key: 'image', label: 'Default image', help: 'The container image steps run in unless a step has its own image: tag.' },
  {
    key: 'dataPassing', label: 'Data passing', help: 'How steps hand values to each other on a cluster.', choices: [
      { value: 'volume', description: 'a volume shared by the run\'s steps (fast; needs ReadWriteMany storage)' },
      { value: 'artifacts', description: 'artifacts in the cluster\'s artifact store (no shared volume needed)' },
    ],
  },
  { key: 'volumeSize', label: 'Volume size', help: 'Size of the per-run data volume, e.g. 1Gi.', validate: (v) => (QUANTITY.test(v) ? undefined : 'Give a size such as 1Gi or 500Mi.') },
  { key: 'namespace', label: 'Namespace', help: 'The Kubernetes namespace runs go to (default: the context\'s).', validate: (v) => (K8S_NAME.test(v) ? undefined : 'Use lower-case letters, digits and "-" (a Kubernetes name).') },
];

export class NotebookSettingsEditor extends Disposable {
  constructor(private readonly models: NotebookModels) {
    super();
    const update = () => {
      const doc = vscode.window.activeNotebookEditor?.notebook;
      const analysis = doc ? models.get(doc.uri) : undefined;
      void vscode.commands.executeCommand('setContext', NOT_PIPELINE, analysis !== undefined && !analysis.mode.on);
    };
    this._register(vscode.window.onDidChangeActiveNotebookEditor(update));
    this._register(models.onDidAnalyze(update));
    update();
  }

  /** Make This Notebook a Pipeline: switches Flowbook on for a notebook without tags. */
  async enable(target: unknown): Promise<void> {
    const doc = this.notebookOf(target);
    await writeFlowbookMetadata(doc, { [SWITCH_KEY]: true });
    void vscode.window.showInformationMessage('Flowbook now treats this notebook as a pipeline: every cell runs in the step "main" until you tag cells with steps (cell menu → Flowbook → Set Step…).');
  }

  /** Turn Flowbook Off for This Notebook: no chips, toolbar or problems until switched on again. */
  async disable(target: unknown): Promise<void> {
    const doc = this.notebookOf(target);
    await writeFlowbookMetadata(doc, { [SWITCH_KEY]: false });
  }

  /**
   * Edit Notebook Settings…: a list of the settings with their values; picking one asks for
   * its new value (empty removes it) and writes it at once; the list comes back until Escape.
   * `values` (tests) writes those settings without asking.
   */
  async edit(target: unknown, values?: Record<string, string | undefined>): Promise<void> {
    const doc = this.notebookOf(target);
    if (values) {
      await writeFlowbookMetadata(doc, values);
      return;
    }
    for (;;) {
      const current = flowbookMetadata(doc);
      type Item = vscode.QuickPickItem & { field: SettingField };
      const items: Item[] = SETTING_FIELDS.map((f) => ({
        field: f, label: f.label, description: typeof current[f.key] === 'string' ? String(current[f.key]) : '(not set)', detail: f.help,
      }));
      const picked = await vscode.window.showQuickPick(items, { title: 'Notebook Settings (metadata.flowbook)', placeHolder: 'Pick a setting to change; Escape when done' });
      if (!picked) return;
      const value = await askValue(picked.field, current[picked.field.key]);
      if (value === undefined) continue;
      await writeFlowbookMetadata(doc, { [picked.field.key]: value === '' ? undefined : value });
    }
  }

  private notebookOf(target: unknown): vscode.NotebookDocument {
    const doc = targetNotebook(target);
    if (!doc) throw new UserError('Open a Jupyter notebook first.');
    return doc;
  }
}

async function askValue(field: SettingField, current: unknown): Promise<string | undefined> {
  const now = typeof current === 'string' ? current : '';
  if (field.choices) {
    const items = [...field.choices.map((c) => ({ label: c.value, description: c.description, value: c.value })), { label: '(not set)', description: 'use the default', value: '' }];
    const picked = await vscode.window.showQuickPick(items, { title: field.label, placeHolder: field.help });
    return picked?.value;
  }
  return vscode.window.showInputBox({
    title: field.label, prompt: `${field.help} Leave empty to remove the setting.`, value: now,
    validateInput: (v) => (v === '' || !field.validate ? undefined : field.validate(v.trim())),
  }).then((v) => v?.trim());
}

/** `metadata.flowbook` of a notebook as the editor holds it. */
export function flowbookMetadata(doc: vscode.NotebookDocument): Record<string, unknown> {
  const meta = (doc.metadata as { metadata?: Record<string, unknown> }).metadata;
  const ours = meta?.['flowbook'];
  return typeof ours === 'object' && ours !== null && !Array.isArray(ours) ? { ...(ours as Record<string, unknown>) } : {};
}

/**
 * Sets (or, for `undefined`, removes) keys of `metadata.flowbook` in one undoable edit; other
 * notebook metadata is kept as it is. Keys are written sorted, so the saved file diffs well.
 */
export async function writeFlowbookMetadata(doc: vscode.NotebookDocument, changes: Record<string, unknown>): Promise<void> {
  const ours = flowbookMetadata(doc);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete ours[key];
    else ours[key] = value;
  }
  const sorted = Object.fromEntries(Object.keys(ours).sort().map((k) => [k, ours[k]]));
  const all = doc.metadata as { metadata?: Record<string, unknown> };
  const inner: Record<string, unknown> = { ...(all.metadata ?? {}) };
  if (Object.keys(sorted).length > 0) inner['flowbook'] = sorted;
  else delete inner['flowbook'];
  const edit = new vscode.WorkspaceEdit();
  edit.set(doc.uri, [vscode.NotebookEdit.updateNotebookMetadata({ ...doc.metadata, metadata: inner })]);
  if (!(await vscode.workspace.applyEdit(edit))) throw new Error('VS Code did not apply the settings edit (is the notebook read-only?)');
}
