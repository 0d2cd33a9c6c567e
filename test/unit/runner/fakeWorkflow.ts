// Hand-written workflows for executor tests: a few lines per step describe what the
// emitter would compile (cells, inputs, outputs, parameters, metrics), and this builds an
// Argo Workflow object whose scripts follow the runtime conventions of
// docs/architecture.md (parameters in FLOWBOOK_PARAM_<NAME> as JSON, values under
// FLOWBOOK_DATA_DIR/<template>/_values.pkl, metrics at FLOWBOOK_METRICS_PATH, `#@flowbook`
// markers, each cell compiled under `<flowbook cell=N>`).

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

function script(step: FakeStep): string {
  const lines = [
    '#@flowbook generated',
    'import json, os, pickle, types',
    "_data = os.environ.get('FLOWBOOK_DATA_DIR', '/flowbook/data')",
    "_flowbook = types.SimpleNamespace(cell=lambda n, line, text: exec(compile(text[1:], '<flowbook cell=%d>' % n, 'exec'), globals()))",
  ];
  for (const p of step.params ?? []) lines.push(`${p} = json.loads(os.environ['FLOWBOOK_PARAM_${p}'])`);
  for (const i of step.inputs ?? []) {
    lines.push(`with open(os.path.join(_data, '${templateName(i.from)}', '_values.pkl'), 'rb') as _f:`, `    ${i.name} = pickle.load(_f)['${i.name}']`);
  }
  for (const [cell, code] of step.cells) {
    lines.push(`#@flowbook cell=${cell}`, `_flowbook.cell(${cell}, 1, r'''`, ...code.split('\n'), "''')", '#@flowbook generated');
  }
  lines.push(`os.makedirs(os.path.join(_data, '${templateName(step.name)}'), exist_ok=True)`);
  if (step.outputs?.length) {
    lines.push(`with open(os.path.join(_data, '${templateName(step.name)}', '_values.pkl'), 'wb') as _f:`, `    pickle.dump({${step.outputs.map((o) => `'${o}': ${o}`).join(', ')}}, _f)`);
  }
  if (step.metrics?.length) {
    const items = step.metrics.map((m) => `{'name': '${m}', 'numberValue': float(${m}), 'format': 'RAW'}`).join(', ');
    lines.push(`with open(os.environ.get('FLOWBOOK_METRICS_PATH', '/tmp/mlpipeline-metrics.json'), 'w') as _f:`, `    json.dump({'metrics': [${items}]}, _f)`);
  }
  return `${lines.join('\n')}\n`;
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
