// Builds `Pipeline` IR objects by hand for tests of the phases after analysis (emit, the
// runner), so they do not depend on the front end. Everything not given gets the value a
// plain notebook would produce: no options, no parameters, no edges.

import type {
  CarriedDefinition, CodeChunk, ImportReplay, JsonValue, NotebookSettings, ParameterType, Pipeline, PipelineParameter, Step, StepInput, StepOptions,
} from '../../src/converter/ir';

export interface StepSpec {
  name: string;
  templateName?: string;
  /** The step's cells with their code; `cells` defaults to their indices. */
  code?: CodeChunk[];
  cells?: number[];
  after?: string[];
  /** `{ name: producingStep }`. */
  inputs?: Record<string, string>;
  outputs?: string[];
  parameters?: string[];
  definitions?: CarriedDefinition[];
  importReplays?: ImportReplay[];
  metrics?: string[];
  imports?: string[];
  options?: Partial<StepOptions>;
}

export interface PipelineSpec {
  name?: string;
  description?: string;
  experiment?: string;
  notebookPath?: string;
  parameters?: PipelineParameter[];
  imports?: CodeChunk[];
  functions?: CodeChunk[];
  steps: StepSpec[];
  settings?: Partial<NotebookSettings>;
}

export function emptyStepOptions(): StepOptions {
  return { limits: {}, annotations: {}, labels: {}, secrets: [] };
}

/** The DNS-1123 template name the front end gives a plain step name. */
export function templateNameFor(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'step';
}

export function makeStep(spec: StepSpec): Step {
  return {
    name: spec.name,
    templateName: spec.templateName ?? templateNameFor(spec.name),
    cells: spec.cells ?? (spec.code ?? []).map((c) => c.cell),
    after: spec.after ?? [],
    inputs: Object.entries(spec.inputs ?? {}).map(([name, from]): StepInput => ({ name, from })),
    outputs: spec.outputs ?? [],
    parameters: spec.parameters ?? [],
    definitions: spec.definitions ?? [],
    ...(spec.importReplays ? { importReplays: spec.importReplays } : {}),
    metrics: spec.metrics ?? [],
    imports: spec.imports ?? [],
    options: { ...emptyStepOptions(), ...spec.options },
  };
}

export function makePipeline(spec: PipelineSpec): Pipeline {
  const steps = spec.steps.map(makeStep);
  const stepCode: Record<string, CodeChunk[]> = {};
  for (const s of spec.steps) stepCode[s.name] = s.code ?? [];
  const pipeline: Pipeline = {
    name: spec.name ?? 'test-pipeline',
    notebookPath: spec.notebookPath ?? '/notebooks/test.ipynb',
    parameters: spec.parameters ?? [],
    imports: spec.imports ?? [],
    functions: spec.functions ?? [],
    steps,
    stepCode,
    edges: steps.flatMap((s) => s.after.map((from) => ({ from, to: s.name, reasons: [{ kind: 'order' as const }] }))),
    metrics: steps.flatMap((s) => s.metrics.map((name) => ({ name, step: s.name, cell: s.cells[s.cells.length - 1] ?? 0, line: 1 }))),
    requirements: [],
    modules: [],
    settings: { volumes: [], stepDefaults: [], ...spec.settings },
    diagnostics: [],
  };
  if (spec.description !== undefined) pipeline.description = spec.description;
  if (spec.experiment !== undefined) pipeline.experiment = spec.experiment;
  return pipeline;
}

/** A pipeline parameter; the type is inferred from the default like the front end does, the literal is Python's. */
export function param(name: string, value: JsonValue, literal?: string, cell = 0): PipelineParameter {
  const type: ParameterType = value === null ? 'NoneType'
    : typeof value === 'boolean' ? 'bool'
      : typeof value === 'number' ? (Number.isInteger(value) && !(literal ?? '').includes('.') ? 'int' : 'float')
        : typeof value === 'string' ? 'str'
          : Array.isArray(value) ? 'list' : 'dict';
  return { name, type, default: value, literal: literal ?? pyLiteral(value), cell, line: 1 };
}

function pyLiteral(value: JsonValue): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number' || typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pyLiteral).join(', ')}]`;
  return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pyLiteral(v)}`).join(', ')}}`;
}
