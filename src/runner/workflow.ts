// Reads a compiled Argo Workflow object into the plan the local runner executes: one entry
// per DAG task, with its script source and environment after Argo-style parameter
// substitution. Only the fields the runtime conventions (docs/architecture.md) define are
// read, so any Workflow the emitter produces is accepted structurally; unsupported shapes
// (no DAG entrypoint, a task whose template is not a script) are a `WorkflowError`.

import { taskDependencies } from '../argo/dag';
import type { WorkflowLike } from '../argo/view';
import { CACHE_ANNOTATION, CELLS_ANNOTATION, OUTPUTS_ANNOTATION, STEP_ANNOTATION } from '../converter/emit';
import { PARAM_ENV_PREFIX } from '../converter/emit/options';

export type { DagTaskLike, EnvVarLike, TemplateLike, WorkflowLike, WorkflowParameterLike } from '../argo/view';

/** One step as the runner will execute it. */
export interface StepPlan {
  /** The step name as written in the notebook (`flowbook.dev/step`), else the task name. */
  name: string;
  task: string;
  /** The script template's name: outputs go to `$FLOWBOOK_DATA_DIR/<template>/`. */
  template: string;
  /** 0-based notebook cell indices (`flowbook.dev/cells`). */
  cells: number[];
  /** Upstream step names, in the order the workflow lists them. */
  dependencies: string[];
  /** The Python to run, parameters substituted. */
  source: string;
  /** The template's environment, parameters substituted; variables taken from secrets are left out. */
  env: Record<string, string>;
  /** Variables the template reads from secrets: locally they come from the user's environment. */
  secretEnv: string[];
  /** The variables the step saves (`flowbook.dev/outputs`); empty when the workflow does not say. */
  outputs: string[];
  /** Pipeline parameters the step reads, name → value as JSON text (from its `FLOWBOOK_PARAM_*` variables). */
  parameters: Record<string, string>;
  timeoutSeconds?: number;
  retries: number;
  /** False when the step's `cache:disabled` tag (or the notebook's setting) turns reuse off. */
  cache?: boolean;
}

export class WorkflowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkflowError';
  }
}


/** The workflow's parameters with their values (JSON text, as Argo carries them). */
export function workflowParameters(workflow: WorkflowLike): Map<string, string> {
  const values = new Map<string, string>();
  for (const p of workflow.spec.arguments?.parameters ?? []) {
    values.set(p.name, argoString(p.value ?? p.default ?? ''));
  }
  return values;
}

/**
 * Builds the execution plan. `parameterValues` are the workflow parameter values to use
 * (JSON text), overriding the workflow's defaults; `context` fills `{{workflow.name}}`.
 */
export function planWorkflow(
  workflow: WorkflowLike,
  parameterValues: ReadonlyMap<string, string>,
  context: { runId: string },
): StepPlan[] {
  const templates = new Map(workflow.spec.templates.map((t) => [t.name, t]));
  const entry = templates.get(workflow.spec.entrypoint);
  if (!entry?.dag) {
    throw new WorkflowError(`the workflow's entrypoint '${workflow.spec.entrypoint}' is not a DAG template; the local runner runs DAG workflows only`);
  }
  const workflowParams = workflowParameters(workflow);
  for (const [name, value] of parameterValues) {
    if (!workflowParams.has(name)) throw new WorkflowError(`the workflow has no parameter '${name}'`);
    workflowParams.set(name, value);
  }

  const tasks = entry.dag.tasks;
  const taskNames = new Set(tasks.map((t) => t.name));
  const stepNameOfTask = new Map<string, string>();
  const plans: StepPlan[] = [];
  for (const task of tasks) {
    const template = task.template === undefined ? undefined : templates.get(task.template);
    if (!template?.script) {
      throw new WorkflowError(`task '${task.name}' does not run a script template; the local runner runs script steps only`);
    }
    const annotations = template.metadata?.annotations ?? {};
    const name = annotations[STEP_ANNOTATION] ?? task.name;
    stepNameOfTask.set(task.name, name);

    const globals = (expr: string) => resolveGlobal(expr, workflowParams, context, task.name);
    const inputs = new Map<string, string>();
    for (const p of template.inputs?.parameters ?? []) {
      if (p.value !== undefined || p.default !== undefined) inputs.set(p.name, argoString(p.value ?? p.default));
    }
    for (const p of task.arguments?.parameters ?? []) {
      inputs.set(p.name, substitute(argoString(p.value ?? ''), globals, `argument '${p.name}' of task '${task.name}'`));
    }
    const local = (expr: string) => {
      const input = /^inputs\.parameters\.(.+)$/.exec(expr);
      if (input) return inputs.get(input[1] ?? '');
      return globals(expr);
    };

    const env: Record<string, string> = {};
    const secretEnv: string[] = [];
    for (const e of template.script.env ?? []) {
      if (e.value === undefined) {
        if (e.valueFrom !== undefined) secretEnv.push(e.name);
        continue;
      }
      env[e.name] = substitute(argoString(e.value), local, `environment variable ${e.name} of template '${template.name}'`);
    }
    const dependencies = taskDependencies(task);
    for (const d of dependencies) {
      if (!taskNames.has(d)) throw new WorkflowError(`task '${task.name}' depends on '${d}', which is not a task of the DAG`);
    }
    const plan: StepPlan = {
      name,
      task: task.name,
      template: template.name,
      cells: parseCells(annotations[CELLS_ANNOTATION]),
      dependencies,
      // Argo substitutes only expressions it knows; user code may hold other `{{...}}`.
      source: substitute(template.script.source, local, null),
      env,
      secretEnv,
      outputs: (annotations[OUTPUTS_ANNOTATION] ?? '').split(',').map((o) => o.trim()).filter(Boolean),
      parameters: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith(PARAM_ENV_PREFIX)).map(([k, v]) => [k.slice(PARAM_ENV_PREFIX.length), v])),
      retries: nonNegativeInt(template.retryStrategy?.limit) ?? 0,
    };
    if (annotations[CACHE_ANNOTATION] === 'disabled') plan.cache = false;
    const timeout = nonNegativeInt(template.activeDeadlineSeconds);
    if (timeout) plan.timeoutSeconds = timeout;
    plans.push(plan);
  }
  for (const plan of plans) plan.dependencies = plan.dependencies.map((d) => stepNameOfTask.get(d) ?? d);
  assertAcyclic(plans);
  return plans;
}

const EXPRESSION = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/** Replaces `{{expr}}` where `resolve` knows `expr`; `where` names the field for an unresolved one (null: leave it). */
function substitute(text: string, resolve: (expr: string) => string | undefined, where: string | null): string {
  return text.replace(EXPRESSION, (whole, expr: string) => {
    const value = resolve(expr);
    if (value !== undefined) return value;
    if (where !== null && /^(inputs|workflow)\./.test(expr)) {
      throw new WorkflowError(`${where} refers to {{${expr}}}, which the workflow does not define`);
    }
    return whole;
  });
}

function resolveGlobal(expr: string, params: ReadonlyMap<string, string>, context: { runId: string }, task: string): string | undefined {
  const param = /^workflow\.parameters\.(.+)$/.exec(expr);
  if (param) return params.get(param[1] ?? '');
  if (expr === 'workflow.name' || expr === 'workflow.uid') return context.runId;
  if (expr === 'pod.name') return `${context.runId}-${task}`;
  return undefined;
}

function argoString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function parseCells(text: string | undefined): number[] {
  if (!text) return [];
  return text.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n >= 0);
}

function nonNegativeInt(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
}

function assertAcyclic(plans: StepPlan[]): void {
  const byName = new Map(plans.map((p) => [p.name, p]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new WorkflowError(`the steps form a cycle: ${[...path, name].join(' → ')}`);
    state.set(name, 'visiting');
    for (const d of byName.get(name)?.dependencies ?? []) visit(d, [...path, name]);
    state.set(name, 'done');
  };
  for (const p of plans) visit(p.name, []);
}

/** Step names upstream of `name` (transitively), excluding it. */
export function ancestors(plans: readonly StepPlan[], name: string): Set<string> {
  const byName = new Map(plans.map((p) => [p.name, p]));
  const seen = new Set<string>();
  const stack = [...(byName.get(name)?.dependencies ?? [])];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    if (seen.has(d)) continue;
    seen.add(d);
    stack.push(...(byName.get(d)?.dependencies ?? []));
  }
  return seen;
}

/** Step names downstream of `name` (transitively), including it. */
export function descendants(plans: readonly StepPlan[], name: string): Set<string> {
  const result = new Set([name]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of plans) {
      if (!result.has(p.name) && p.dependencies.some((d) => result.has(d))) {
        result.add(p.name);
        grew = true;
      }
    }
  }
  return result;
}

/** Finds a step by the name the user typed: the notebook name, the task name or the template name. */
export function findStep(plans: readonly StepPlan[], typed: string): StepPlan | undefined {
  return plans.find((p) => p.name === typed) ?? plans.find((p) => p.task === typed || p.template === typed);
}
