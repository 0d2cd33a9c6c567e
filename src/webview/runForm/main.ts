// The "Run on Cluster" parameters form: one field per pipeline parameter, prefilled by the
// host, then Submit. Problems found by the host (a bad value, every preflight problem) are
// shown all at once, next to their field when they name one. Built with DOM calls only:
// values never become markup.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-form-helper/index.js';
import '@vscode-elements/elements/dist/vscode-label/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { FormField, FormHostMessage, FormModel, FormPageMessage } from './protocol';

interface VsCodeApi {
  postMessage(message: FormPageMessage): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const post = (m: FormPageMessage) => vscode.postMessage(m);

const titleEl = byId('title');
const targetEl = byId('target');
const noteEl = byId('note');
const fieldsEl = byId('fields');
const statusEl = byId('status');
const problemsEl = byId('problems');
const submitEl = byId('submit') as HTMLElement & { disabled: boolean };
const cancelEl = byId('cancel') as HTMLElement & { disabled: boolean };

type TextField = HTMLElement & { value: string; invalid: boolean };
type Checkbox = HTMLElement & { checked: boolean };
let fields: FormField[] = [];
const inputs = new Map<string, TextField | Checkbox>();
const helpers = new Map<string, HTMLElement>();

function byId(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing`);
  return el;
}

const KIND_HELP: Record<FormField['kind'], string> = {
  string: 'text',
  number: 'a number',
  boolean: 'true or false',
  null: 'JSON, or text',
  list: 'a list as JSON, e.g. [1, 2]',
  dict: 'a dict as JSON, e.g. {"a": 1}',
  text: 'text',
};

function render(form: FormModel): void {
  titleEl.textContent = form.title;
  targetEl.textContent = form.target;
  noteEl.textContent = form.note ?? '';
  noteEl.hidden = !form.note;
  submitEl.textContent = form.submitLabel;
  fields = form.fields;
  inputs.clear();
  helpers.clear();
  fieldsEl.replaceChildren();
  if (fields.length === 0) {
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent = 'The pipeline has no parameters.';
    fieldsEl.appendChild(p);
  }
  for (const f of fields) {
    const row = document.createElement('div');
    row.className = 'field';
    const label = document.createElement('vscode-label');
    label.setAttribute('for', `p-${f.name}`);
    label.textContent = f.name;
    row.appendChild(label);
    let input: TextField | Checkbox;
    if (f.kind === 'boolean') {
      const box = document.createElement('vscode-checkbox') as Checkbox;
      box.checked = f.value.trim().toLowerCase() === 'true';
      box.setAttribute('label', 'true');
      input = box;
    } else {
      const text = document.createElement('vscode-textfield') as TextField;
      text.value = f.value;
      if (f.kind === 'number') text.setAttribute('inputmode', 'decimal');
      text.addEventListener('input', () => clearFieldProblem(f.name));
      input = text;
    }
    input.id = `p-${f.name}`;
    input.dataset.name = f.name;
    input.addEventListener('keydown', (e) => {
      if ((e as KeyboardEvent).key === 'Enter') submit();
    });
    row.appendChild(input);
    const help = document.createElement('vscode-form-helper');
    help.textContent = KIND_HELP[f.kind];
    row.appendChild(help);
    fieldsEl.appendChild(row);
    inputs.set(f.name, input);
    helpers.set(f.name, help);
  }
  setBusy(undefined);
  showProblems(undefined);
  const first = inputs.values().next().value as HTMLElement | undefined;
  first?.focus();
}

function values(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) {
    const input = inputs.get(f.name);
    if (!input) continue;
    out[f.name] = 'checked' in input && f.kind === 'boolean' ? String(input.checked) : (input as TextField).value;
  }
  return out;
}

function submit(): void {
  if (submitEl.disabled) return;
  post({ type: 'submit', values: values() });
}

function setBusy(message: string | undefined): void {
  submitEl.disabled = message !== undefined;
  statusEl.replaceChildren();
  statusEl.hidden = message === undefined;
  if (message !== undefined) {
    statusEl.appendChild(document.createElement('vscode-progress-ring'));
    const text = document.createElement('span');
    text.textContent = message;
    statusEl.appendChild(text);
  }
}

function clearFieldProblem(name: string): void {
  const input = inputs.get(name) as TextField | undefined;
  if (input && 'invalid' in input) input.invalid = false;
  const help = helpers.get(name);
  const field = fields.find((f) => f.name === name);
  if (help && field) {
    help.textContent = KIND_HELP[field.kind];
    help.classList.remove('error');
  }
}

function showProblems(p: { summary: string; problems: { severity: string; check: string; message: string }[]; fields: Record<string, string> } | undefined): void {
  problemsEl.replaceChildren();
  // Field problems show next to their fields; the box lists the others.
  problemsEl.hidden = !p || p.problems.length === 0;
  for (const name of inputs.keys()) clearFieldProblem(name);
  if (!p) return;
  for (const [name, message] of Object.entries(p.fields)) {
    const input = inputs.get(name) as TextField | undefined;
    if (input && 'invalid' in input) input.invalid = true;
    const help = helpers.get(name);
    if (help) {
      help.textContent = message;
      help.classList.add('error');
    }
  }
  if (p.problems.length === 0) return;
  const heading = document.createElement('h2');
  heading.textContent = p.summary;
  problemsEl.appendChild(heading);
  const list = document.createElement('ul');
  for (const problem of p.problems) {
    const item = document.createElement('li');
    item.className = problem.severity;
    const tag = document.createElement('span');
    tag.className = 'check';
    tag.textContent = problem.check;
    item.appendChild(tag);
    const text = document.createElement('span');
    text.textContent = problem.message;
    item.appendChild(text);
    list.appendChild(item);
  }
  problemsEl.appendChild(list);
}

window.addEventListener('message', (event: MessageEvent<FormHostMessage>) => {
  const m = event.data;
  switch (m.type) {
    case 'init':
      render(m.form);
      break;
    case 'busy':
      setBusy(m.message);
      break;
    case 'problems':
      setBusy(undefined);
      showProblems(m);
      break;
    case 'submitted':
      setBusy(undefined);
      submitEl.disabled = true;
      cancelEl.disabled = true;
      statusEl.hidden = false;
      statusEl.textContent = m.message;
      break;
  }
});

submitEl.addEventListener('click', submit);
cancelEl.addEventListener('click', () => post({ type: 'cancel' }));
byId('change').addEventListener('click', (e) => {
  e.preventDefault();
  post({ type: 'switchTarget' });
});
post({ type: 'ready' });
