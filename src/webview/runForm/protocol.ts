// The messages between the "Run on Cluster" form's host (src/extension/cluster/runForm.ts) and
// its page (src/webview/runForm/main.ts). Plain data only (no `vscode`, no DOM), so both
// sides compile against it and switch over it exhaustively. The page speaks first (`ready`).

/** One pipeline parameter as the form edits it (mirrors the cluster core's `ParameterField`). */
export interface FormField {
  name: string;
  /** As typed: strings without JSON quotes, lists and dicts as JSON. */
  value: string;
  kind: 'string' | 'number' | 'boolean' | 'null' | 'list' | 'dict' | 'text';
}

export interface FormModel {
  /** `Run mean-pipeline on the cluster`. */
  title: string;
  /** Where it goes: `context sim · namespace team-a · https://…`. */
  target: string;
  fields: FormField[];
  /** The submit button's label. */
  submitLabel: string;
  /** A line under the title: what happens, or where the values came from. */
  note?: string;
}

export interface FormProblem {
  severity: 'error' | 'warning';
  /** Which check found it: `permission`, `dryRun`, `parameter` … */
  check: string;
  message: string;
}

/** Host → page. */
export type FormHostMessage =
  /** The form to show (also after a reload of the page). */
  | { type: 'init'; form: FormModel }
  /** Work in progress (checking the cluster, submitting); the buttons are disabled meanwhile. */
  | { type: 'busy'; message: string }
  /** Every problem found at once; `fields` maps parameter names to their problem. */
  | { type: 'problems'; summary: string; problems: FormProblem[]; fields: Record<string, string> }
  /** The run was submitted (the host closes the form a moment later). */
  | { type: 'submitted'; message: string };

/** Page → host. */
export type FormPageMessage =
  | { type: 'ready' }
  /** Submit with these values (every field, as typed). */
  | { type: 'submit'; values: Record<string, string> }
  | { type: 'cancel' }
  /** The "change" link next to the target: switch context or namespace. */
  | { type: 'switchTarget' };

export const RUN_FORM_VIEW_TYPE = 'flowbook.runForm';
