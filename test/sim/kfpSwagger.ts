// SIMULATED KFP API (tests only): request checking for the simulated Kubeflow Pipelines
// server. With ../shared present, every JSON body is validated by ajv against KFP's
// published v2beta1 swagger, made strict (unknown fields rejected, as KFP's protojson
// parsing does for the IR); query parameters must be ones the swagger lists for the route.
// Without ../shared, a small built-in table checks the same top-level field names.

import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/** `<repo>/../shared/schemas/kfp/kfp-v2beta1-kfp_api_single_file.swagger.json`. */
export const KFP_SWAGGER_PATH = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'schemas', 'kfp', 'kfp-v2beta1-kfp_api_single_file.swagger.json');

interface SchemaNode {
  type?: string;
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
}
interface SwaggerParameter {
  name: string;
  in: 'path' | 'query' | 'body' | 'formData';
  required?: boolean;
  schema?: SchemaNode;
}
interface Swagger {
  paths: Record<string, Record<string, { operationId: string; parameters?: SwaggerParameter[] }>>;
  definitions: Record<string, SchemaNode>;
}

/** One route of the API: its method, path template and what it accepts. */
export interface Route {
  method: string;
  template: string;
  operationId: string;
  pattern: RegExp;
  pathParams: string[];
  queryParams: Set<string>;
  bodyRef?: string;
}

/**
 * The routes the simulated server serves. Built in, so the simulation works without ../shared;
 * with it, a test checks that these match the swagger (`swaggerRoutes`).
 */
const BUILT_IN: [string, string, string, string[], string?][] = [
  ['GET', '/apis/v2beta1/healthz', 'HealthzService_GetHealthz', []],
  ['GET', '/apis/v2beta1/pipelines/names/{name}', 'PipelineService_GetPipelineByName', ['namespace']],
  ['GET', '/apis/v2beta1/pipelines', 'PipelineService_ListPipelines', ['namespace', 'page_token', 'page_size', 'sort_by', 'filter']],
  ['POST', '/apis/v2beta1/pipelines', 'PipelineService_CreatePipeline', [], 'v2beta1Pipeline'],
  ['GET', '/apis/v2beta1/pipelines/{pipeline_id}', 'PipelineService_GetPipeline', []],
  ['GET', '/apis/v2beta1/pipelines/{pipeline_id}/versions', 'PipelineService_ListPipelineVersions', ['page_token', 'page_size', 'sort_by', 'filter']],
  ['POST', '/apis/v2beta1/pipelines/upload', 'UploadPipeline', ['name', 'display_name', 'description', 'namespace', 'tags']],
  ['POST', '/apis/v2beta1/pipelines/upload_version', 'UploadPipelineVersion', ['name', 'display_name', 'pipelineid', 'description', 'tags']],
  ['GET', '/apis/v2beta1/experiments', 'ExperimentService_ListExperiments', ['page_token', 'page_size', 'sort_by', 'filter', 'namespace']],
  ['POST', '/apis/v2beta1/experiments', 'ExperimentService_CreateExperiment', [], 'v2beta1Experiment'],
  ['GET', '/apis/v2beta1/runs', 'RunService_ListRuns', ['namespace', 'experiment_id', 'page_token', 'page_size', 'sort_by', 'filter']],
  ['POST', '/apis/v2beta1/runs', 'RunService_CreateRun', ['experiment_id'], 'v2beta1Run'],
  ['GET', '/apis/v2beta1/runs/{run_id}', 'RunService_GetRun', ['experiment_id']],
  ['POST', '/apis/v2beta1/runs/{run_id}:terminate', 'RunService_TerminateRun', ['experiment_id']],
  ['POST', '/apis/v2beta1/runs/{run_id}:retry', 'RunService_RetryRun', ['experiment_id']],
  ['GET', '/apis/v2beta1/recurringruns', 'RecurringRunService_ListRecurringRuns', ['page_token', 'page_size', 'sort_by', 'namespace', 'filter', 'experiment_id']],
  ['POST', '/apis/v2beta1/recurringruns', 'RecurringRunService_CreateRecurringRun', [], 'v2beta1RecurringRun'],
  ['GET', '/apis/v2beta1/recurringruns/{recurring_run_id}', 'RecurringRunService_GetRecurringRun', []],
  ['DELETE', '/apis/v2beta1/recurringruns/{recurring_run_id}', 'RecurringRunService_DeleteRecurringRun', ['propagation_policy']],
  ['POST', '/apis/v2beta1/recurringruns/{recurring_run_id}:enable', 'RecurringRunService_EnableRecurringRun', []],
  ['POST', '/apis/v2beta1/recurringruns/{recurring_run_id}:disable', 'RecurringRunService_DisableRecurringRun', []],
];

/** Top-level body fields each create accepts (the built-in check when ../shared is absent). */
const BUILT_IN_FIELDS: Record<string, string[]> = {
  v2beta1Pipeline: ['pipeline_id', 'display_name', 'name', 'description', 'created_at', 'namespace', 'error', 'tags'],
  v2beta1Experiment: ['experiment_id', 'display_name', 'description', 'created_at', 'namespace', 'storage_state', 'last_run_created_at'],
  v2beta1Run: [
    'experiment_id', 'run_id', 'display_name', 'storage_state', 'description', 'pipeline_version_id', 'pipeline_spec', 'pipeline_version_reference', 'runtime_config',
    'service_account', 'created_at', 'scheduled_at', 'finished_at', 'state', 'error', 'run_details', 'recurring_run_id', 'state_history', 'plugins_input', 'plugins_output',
  ],
  v2beta1RecurringRun: [
    'recurring_run_id', 'display_name', 'description', 'pipeline_version_id', 'pipeline_spec', 'pipeline_version_reference', 'runtime_config', 'service_account',
    'max_concurrency', 'trigger', 'mode', 'created_at', 'updated_at', 'status', 'error', 'no_catchup', 'namespace', 'experiment_id', 'plugins_input',
  ],
};

function compile(method: string, template: string, operationId: string, query: string[], bodyRef?: string): Route {
  const pathParams: string[] = [];
  const source = template.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === '{' || c === '}' ? c : `\\${c}`)).replace(/\{([^}]+)\}/g, (_m, name: string) => {
    pathParams.push(name);
    return '([^/:]+)';
  });
  return { method, template, operationId, pattern: new RegExp(`^${source}$`), pathParams, queryParams: new Set(query), ...(bodyRef ? { bodyRef } : {}) };
}

export const ROUTES: Route[] = BUILT_IN.map(([m, t, op, q, body]) => compile(m, t, op, q, body));

export function swaggerAvailable(): boolean {
  return fs.existsSync(KFP_SWAGGER_PATH);
}

let loaded: { swagger: Swagger; ajv: Ajv; validators: Map<string, ValidateFunction> } | undefined;
let absenceReported = false;

function load(): NonNullable<typeof loaded> {
  if (loaded) return loaded;
  const swagger = JSON.parse(fs.readFileSync(KFP_SWAGGER_PATH, 'utf8')) as Swagger;
  const definitions = structuredClone(swagger.definitions);
  // The swagger never forbids unknown fields; KFP's servers parse bodies into protos, where
  // a misspelt field is lost or rejected. Close every object that lists its properties.
  const close = (node: SchemaNode | undefined): void => {
    if (!node || typeof node !== 'object') return;
    if (node.properties) {
      if (node.additionalProperties === undefined) node.additionalProperties = false;
      for (const p of Object.values(node.properties)) close(p);
    }
    if (node.items) close(node.items);
  };
  for (const d of Object.values(definitions)) close(d);
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  for (const f of ['int64', 'uint64', 'int32', 'uint32', 'double', 'float']) ajv.addFormat(f, true);
  ajv.addSchema({ $id: 'kfp-v2beta1', definitions } as object);
  loaded = { swagger, ajv, validators: new Map() };
  return loaded;
}

/** The routes as the swagger declares them, for the test that keeps `ROUTES` honest. */
export function swaggerRoutes(): Route[] {
  const { swagger } = load();
  const out: Route[] = [];
  for (const [template, methods] of Object.entries(swagger.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = op.parameters ?? [];
      const body = params.find((p) => p.in === 'body')?.schema?.$ref?.replace('#/definitions/', '');
      out.push(compile(method.toUpperCase(), template, op.operationId, params.filter((p) => p.in === 'query').map((p) => p.name), body));
    }
  }
  return out;
}

/** Problems with a request body for `definition`: the swagger's (strict) when present, else the built-in field check. */
export function bodyProblems(definition: string, body: unknown): string[] {
  if (!swaggerAvailable()) {
    if (!absenceReported) {
      absenceReported = true;
      console.log(`      (simulated KFP: ${KFP_SWAGGER_PATH} is absent; checking request bodies with the built-in field list only)`);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return ['body: not a JSON object'];
    const allowed = BUILT_IN_FIELDS[definition] ?? [];
    return Object.keys(body).filter((k) => !allowed.includes(k)).map((k) => `body: unknown field "${k}"`);
  }
  const l = load();
  let validate = l.validators.get(definition);
  if (!validate) {
    validate = l.ajv.getSchema(`kfp-v2beta1#/definitions/${definition}`);
    if (!validate) throw new Error(`the KFP swagger has no definition ${definition}`);
    l.validators.set(definition, validate);
  }
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `body${e.instancePath}: ${e.message ?? 'invalid'}${e.keyword === 'additionalProperties' ? ` ("${String((e.params as { additionalProperty?: string }).additionalProperty)}")` : ''}`);
}
