// Hand-written workflows for executor tests: a few lines per step describe what the
// emitter would compile (cells, inputs, outputs, parameters, metrics), and this builds an
// Argo Workflow object whose scripts use the real step runtime under the conventions of
// docs/architecture.md (parameters in FLOWBOOK_PARAM_<NAME> as JSON, values in one bundle
// under FLOWBOOK_DATA_DIR/<template>/, metrics at FLOWBOOK_METRICS_PATH, `#@flowbook` markers).

import { RUNTIME_SOURCE } from '../../../src/converter/emit/runtime';
import { CELL_MARKER, GENERATED_MARKER, cellLiteral, py } from '../../../src/converter/emit/script';
import type { WorkflowLike } from '../../../src/runner';

export interface FakeStep {
  name: string;
  after?: string[];
  /** Cell index → code. */
  cells: Array<[number, string]>;
  inputs?: Array<{ name: string; from: string }>;
  outputs?: string[];
  params?: string[];
  metrics?: string[];
}

export const PYTHON = process.env.FLOWBOOK_TEST_PYTHON ?? '/usr/bin/python3';

function templateName(step: string): string {
  return step.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
}

/** The step's script as the emitter writes it: the real runtime, then each piece of code after its marker. */
function script(step: FakeStep): string {
  const out = [GENERATED_MARKER, `${RUNTIME_SOURCE}_flowbook = _flowbook_runtime(globals(), ${py(step.name)}, ${py(templateName(step.name))})`];
  const generated = (code: string) => out.push(GENERATED_MARKER, code);
  for (const p of step.params ?? []) generated(`${p} = _flowbook.param(${py(p)}, 'any', None)`);
  if (step.inputs?.length) generated(`_flowbook.load([${step.inputs.map((i) => `(${py(i.name)}, ${py(i.from)}, ${py(templateName(i.from))})`).join(', ')}])`);
  for (const [cell, code] of step.cells) out.push(`${CELL_MARKER}${cell}`, `_flowbook.cell(${cell}, 1, ${cellLiteral(code)})`);
  if (step.outputs?.length) generated(`_flowbook.save([${step.outputs.map(py).join(', ')}])`);
  if (step.metrics?.length) generated(`_flowbook.metrics([${step.metrics.map(py).join(', ')}])`);
  return `${out.join('\n')}\n`;
}

/** A workflow for `steps` with `parameters` (name → default value). */
export function fakeWorkflow(steps: FakeStep[], parameters: Record<string, unknown> = {}): WorkflowLike {
  return {
    metadata: { generateName: 'fake-' },
    spec: {
      entrypoint: 'main',
      arguments: { parameters: Object.entries(parameters).map(([name, v]) => ({ name, value: JSON.stringify(v) })) },
      templates: [
        {
          name: 'main',
          dag: {
            tasks: steps.map((s) => ({
              name: templateName(s.name),
              template: templateName(s.name),
              dependencies: (s.after ?? []).map(templateName),
              arguments: { parameters: (s.params ?? []).map((p) => ({ name: p, value: `{{workflow.parameters.${p}}}` })) },
            })),
          },
        },
        ...steps.map((s) => ({
          name: templateName(s.name),
          metadata: {
            annotations: {
              'flowbook.dev/step': s.name, 'flowbook.dev/cells': s.cells.map(([c]) => c).join(','),
              ...(s.outputs?.length ? { 'flowbook.dev/outputs': s.outputs.join(',') } : {}),
            },
          },
          inputs: { parameters: (s.params ?? []).map((p) => ({ name: p })) },
          script: {
            image: 'python:3.12-slim',
            command: ['python3'],
            source: script(s),
            env: (s.params ?? []).map((p) => ({ name: `FLOWBOOK_PARAM_${p}`, value: `{{inputs.parameters.${p}}}` })),
          },
        })),
      ],
    },
  };
}
