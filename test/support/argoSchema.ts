// Validates a Workflow object for tests, in two layers:
// 1. Always: a structural check of our own (required fields, references between the
//    entrypoint, tasks and templates, and keys allowed in the subset Flowbook emits), so a
//    bare clone without ../shared still catches broken or misspelt output.
// 2. When ../shared/schemas/argo-workflow-schema.json exists: Argo's published schema
//    (draft 2020-12) at the Workflow definition, with IntOrString widened to string|integer
//    (the schema types it as string only), plus an unknown-key walk over each definition's
//    `properties`, because the schema itself never forbids unknown keys.

import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/** `<repo>/../shared/schemas/argo-workflow-schema.json`. */
export const ARGO_SCHEMA_PATH = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'schemas', 'argo-workflow-schema.json');
const WORKFLOW_DEFINITION = 'io.argoproj.workflow.v1alpha1.Workflow';
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface SchemaNode {
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
}
interface ArgoSchema {
  $id: string;
  definitions: Record<string, SchemaNode>;
}

export function argoSchemaAvailable(): boolean {
  return fs.existsSync(ARGO_SCHEMA_PATH);
}

let loaded: { schema: ArgoSchema; validate: ValidateFunction; ajv: Ajv2020 } | undefined;
let absenceReported = false;

function load(): { schema: ArgoSchema; validate: ValidateFunction; ajv: Ajv2020 } {
  if (loaded) return loaded;
  const schema = JSON.parse(fs.readFileSync(ARGO_SCHEMA_PATH, 'utf8')) as ArgoSchema;
  schema.definitions[INT_OR_STRING] = { type: ['string', 'integer'] } as SchemaNode;
  // strict: false because the schema carries Kubernetes extension keywords (x-kubernetes-*).
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('uint64', true);
  ajv.addSchema(schema as object);
  const validate = ajv.getSchema(`${schema.$id}#/definitions/${WORKFLOW_DEFINITION}`);
  if (!validate) throw new Error(`${ARGO_SCHEMA_PATH} has no definition ${WORKFLOW_DEFINITION}`);
  loaded = { schema, validate, ajv };
  return loaded;
}

/**
 * Every problem found in `obj` as a Workflow: structural errors always, and Argo schema
 * errors and unknown keys when ../shared is present (when absent, it says so once on the console).
 */
export function validateWorkflow(obj: unknown): string[] {
  const errors = structuralErrors(obj);
  if (!argoSchemaAvailable()) {
    if (!absenceReported) {
      console.log(`  (shared/ absent: ${ARGO_SCHEMA_PATH} not found; workflows get Flowbook's structural check only, not Argo's schema)`);
      absenceReported = true;
    }
    return errors;
  }
  return [...errors, ...schemaErrors(obj)];
}

/** Argo's schema and the unknown-key walk only. Throws when ../shared is absent. */
export function schemaErrors(obj: unknown): string[] {
  if (!argoSchemaAvailable()) throw new Error(`shared/ absent: ${ARGO_SCHEMA_PATH} not found`);
  const { schema, validate } = load();
  const errors: string[] = [];
  if (!validate(obj)) {
    for (const e of validate.errors ?? []) errors.push(`schema: ${e.instancePath || '/'} ${e.message ?? ''}`.trim());
  }
  walkKeys(obj as Json, { $ref: `#/definitions/${WORKFLOW_DEFINITION}` }, '', schema, errors);
  return errors;
}

/** Argo's schema and the unknown-key walk for a CronWorkflow (its workflowSpec included). Throws when ../shared is absent. */
export function cronWorkflowSchemaErrors(obj: unknown): string[] {
  if (!argoSchemaAvailable()) throw new Error(`shared/ absent: ${ARGO_SCHEMA_PATH} not found`);
  const { schema, ajv } = load();
  const definition = 'io.argoproj.workflow.v1alpha1.CronWorkflow';
  const validate = ajv.getSchema(`${schema.$id}#/definitions/${definition}`);
  if (!validate) throw new Error(`${ARGO_SCHEMA_PATH} has no definition ${definition}`);
  const errors: string[] = [];
  if (!validate(obj)) {
    for (const e of validate.errors ?? []) errors.push(`schema: ${e.instancePath || '/'} ${e.message ?? ''}`.trim());
  }
  walkKeys(obj as Json, { $ref: `#/definitions/${definition}` }, '', schema, errors);
  return errors;
}

function resolve(node: SchemaNode, schema: ArgoSchema): SchemaNode {
  let current = node;
  for (let hops = 0; current.$ref && hops < 20; hops++) {
    const name = current.$ref.replace(/^#\/definitions\//, '');
    const next = schema.definitions[name];
    if (!next) return {};
    current = next;
  }
  return current;
}

function walkKeys(value: Json, node: SchemaNode, at: string, schema: ArgoSchema, errors: string[]): void {
  const s = resolve(node, schema);
  if (Array.isArray(value)) {
    if (s.items) value.forEach((v, i) => walkKeys(v, s.items as SchemaNode, `${at}[${i}]`, schema, errors));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    const where = at ? `${at}.${key}` : key;
    if (s.properties) {
      const p = s.properties[key];
      if (p) walkKeys(child, p, where, schema, errors);
      else errors.push(`unknown key: ${where} (allowed here: ${Object.keys(s.properties).sort().join(', ')})`);
    } else if (s.additionalProperties && typeof s.additionalProperties === 'object') {
      walkKeys(child, s.additionalProperties, where, schema, errors);
    }
  }
}

// ---------------------------------------------------------------------------
// The structural check: the subset Flowbook emits, as kinds of objects and their keys.
// A key's value names the kind of its value: an object kind, `[Kind]` for a list of them,
// `map` for string → string, or '' for a scalar (or anything we do not look into).

const KINDS: Record<string, Record<string, string>> = {
  Workflow: { apiVersion: '', kind: '', metadata: 'ObjectMeta', spec: 'WorkflowSpec' },
  ObjectMeta: { name: '', generateName: '', namespace: '', labels: 'map', annotations: 'map' },
  WorkflowSpec: {
    entrypoint: '', arguments: 'Arguments', activeDeadlineSeconds: '', volumeClaimTemplates: '[Claim]', volumes: '[Volume]', templates: '[Template]',
  },
  Arguments: { parameters: '[Parameter]', artifacts: '[Artifact]' },
  Parameter: { name: '', value: '', default: '', description: '' },
  Artifact: { name: '', path: '', from: '', optional: '' },
  Claim: { metadata: 'ObjectMeta', spec: 'ClaimSpec' },
  ClaimSpec: { accessModes: '', resources: 'VolumeResources', storageClassName: '', volumeName: '' },
  VolumeResources: { requests: 'map', limits: 'map' },
  Volume: { name: '', persistentVolumeClaim: 'ClaimSource', emptyDir: 'EmptyDir' },
  ClaimSource: { claimName: '', readOnly: '' },
  EmptyDir: { medium: '', sizeLimit: '' },
  Template: {
    name: '', metadata: 'PodMetadata', inputs: 'Arguments', outputs: 'Arguments', retryStrategy: 'RetryStrategy',
    activeDeadlineSeconds: '', dag: 'Dag', script: 'Script',
  },
  PodMetadata: { labels: 'map', annotations: 'map' },
  RetryStrategy: { limit: '', retryPolicy: '' },
  Dag: { tasks: '[Task]' },
  Task: { name: '', template: '', dependencies: '', arguments: 'Arguments' },
  Script: { image: '', command: '', env: '[EnvVar]', resources: 'VolumeResources', volumeMounts: '[VolumeMount]', source: '' },
  EnvVar: { name: '', value: '', valueFrom: 'EnvSource' },
  EnvSource: { secretKeyRef: 'SecretKeyRef' },
  SecretKeyRef: { name: '', key: '', optional: '' },
  VolumeMount: { name: '', mountPath: '', readOnly: '' },
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(value: unknown, kind: string, at: string, errors: string[]): void {
  const list = /^\[(\w+)\]$/.exec(kind);
  if (list) {
    if (!Array.isArray(value)) errors.push(`${at}: expected a list`);
    else value.forEach((v, i) => checkKeys(v, list[1] as string, `${at}[${i}]`, errors));
    return;
  }
  if (!isObject(value)) {
    errors.push(`${at}: expected an object`);
    return;
  }
  if (kind === 'map') {
    for (const [k, v] of Object.entries(value)) if (typeof v !== 'string') errors.push(`${at}.${k}: expected a string`);
    return;
  }
  const keys = KINDS[kind] ?? {};
  for (const [k, v] of Object.entries(value)) {
    const childKind = keys[k];
    if (childKind === undefined) errors.push(`unknown key: ${at ? `${at}.` : ''}${k} (in a ${kind})`);
    else if (childKind !== '') checkKeys(v, childKind, at ? `${at}.${k}` : k, errors);
  }
}

/** Flowbook's own structural check of a Workflow; needs nothing outside the repository. */
export function structuralErrors(obj: unknown): string[] {
  const errors: string[] = [];
  checkKeys(obj, 'Workflow', '', errors);
  if (!isObject(obj)) return errors;
  if (obj.apiVersion !== 'argoproj.io/v1alpha1') errors.push('apiVersion must be argoproj.io/v1alpha1');
  if (obj.kind !== 'Workflow') errors.push('kind must be Workflow');
  const meta = isObject(obj.metadata) ? obj.metadata : {};
  if (typeof meta.generateName !== 'string' && typeof meta.name !== 'string') errors.push('metadata needs name or generateName');
  const spec = isObject(obj.spec) ? obj.spec : {};
  const templates = Array.isArray(spec.templates) ? spec.templates.filter(isObject) : [];
  const byName = new Map<unknown, Record<string, unknown>>();
  for (const t of templates) {
    if (typeof t.name !== 'string' || t.name === '') errors.push('a template has no name');
    else if (byName.has(t.name)) errors.push(`two templates are named ${t.name}`);
    byName.set(t.name, t);
    const script = t.script;
    if (isObject(script) && (typeof script.image !== 'string' || script.image === '' || typeof script.source !== 'string')) {
      errors.push(`template ${String(t.name)}: a script needs an image and a source`);
    }
  }
  const entry = byName.get(spec.entrypoint);
  if (!entry) {
    errors.push(`spec.entrypoint ${String(spec.entrypoint)} names no template`);
    return errors;
  }
  const dag = isObject(entry.dag) ? entry.dag : undefined;
  const tasks = dag && Array.isArray(dag.tasks) ? dag.tasks.filter(isObject) : [];
  const taskNames = new Set(tasks.map((t) => t.name));
  if (taskNames.size !== tasks.length) errors.push('two DAG tasks have the same name');
  for (const task of tasks) {
    if (!byName.has(task.template) || task.template === spec.entrypoint) errors.push(`task ${String(task.name)}: template ${String(task.template)} does not exist`);
    for (const d of Array.isArray(task.dependencies) ? task.dependencies : []) {
      if (!taskNames.has(d)) errors.push(`task ${String(task.name)} depends on ${String(d)}, which is no task`);
    }
  }
  return errors;
}
