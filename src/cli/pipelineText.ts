// How `flowbook inspect` shows a pipeline: a stable JSON shape for tools, and a readable
// tree that answers "why does this step depend on that one?" for people.

import type { Edge, EdgeReason, JsonValue, Pipeline } from '../converter/ir';
import { cellLabel } from '../converter/diagnostics';
import { withCellNumbers } from '../converter/cellNumbers';
import { describeChange } from '../converter/mayModify';

/**
 * The JSON printed by `flowbook inspect --json`. Field order is part of the format. Cell
 * indices (`cell`, `cells`) are 0-based; `cellNumber`/`cellNumbers` beside them are the
 * 1-based numbers the editor and messages show.
 */
export function pipelineJson(p: Pipeline): Record<string, JsonValue> {
  return withCellNumbers({
    name: p.name,
    description: p.description ?? null,
    parameters: p.parameters.map((x) => ({ name: x.name, type: x.type, default: x.default, cell: x.cell })),
    steps: p.steps.map((s) => ({
      name: s.name,
      templateName: s.templateName,
      cells: s.cells,
      after: s.after,
      inputs: s.inputs.map((i) => ({ name: i.name, from: i.from })),
      outputs: s.outputs,
      parameters: s.parameters,
      definitions: s.definitions.map((d) => ({ name: d.name, kind: d.kind, from: d.from })),
      importReplays: (s.importReplays ?? []).map((r) => ({ source: r.source, from: r.from, cell: r.cell, line: r.line })),
      metrics: s.metrics,
      imports: s.imports,
      options: s.options as unknown as JsonValue,
    })),
    edges: p.edges.map((e) => ({ from: e.from, to: e.to, reasons: e.reasons as unknown as JsonValue })),
    metrics: p.metrics.map((m) => ({ name: m.name, step: m.step })),
    requirements: p.requirements.flatMap((r) => r.specs),
    modules: p.modules,
    diagnostics: p.diagnostics as unknown as JsonValue,
  });
}

/** One line saying why an edge exists, e.g. `needs df, X (data)`. */
export function describeReasons(edge: Edge): string {
  return edge.reasons.map(describeReason).join('; ');
}

export function describeReason(r: EdgeReason): string {
  switch (r.kind) {
    case 'data': {
      const uses = `uses ${r.names.join(', ')}`;
      return r.changes && r.changes.length > 0 ? `${uses} (${r.changes.map(describeChange).join('; ')})` : uses;
    }
    case 'prev': return `prev: tag in ${cellLabel(r.cell)}`;
    case 'order': return 'runs after the step above it (no data or prev: link)';
  }
}

export function describePipeline(p: Pipeline): string {
  const out: string[] = [];
  out.push(`pipeline ${p.name}: ${p.steps.length} step${p.steps.length === 1 ? '' : 's'}`);
  if (p.parameters.length > 0) {
    out.push('parameters');
    for (const x of p.parameters) out.push(`  ${x.name}: ${x.type} = ${x.literal}`);
  }
  out.push('steps');
  const edgesTo = new Map<string, Edge[]>();
  for (const e of p.edges) edgesTo.set(e.to, [...(edgesTo.get(e.to) ?? []), e]);
  for (const s of p.steps) {
    const cells = s.cells.map((c) => c + 1);
    out.push(`  ${s.name}  (${cells.length === 1 ? 'cell' : 'cells'} ${cells.join(', ')})`);
    for (const e of edgesTo.get(s.name) ?? []) out.push(`    after ${e.from}: ${describeReasons(e)}`);
    for (const i of s.inputs) out.push(`    ← ${i.name} from ${i.from}`);
    for (const d of s.definitions) out.push(`    ← ${d.kind} ${d.name} (source from ${d.from})`);
    for (const r of s.importReplays ?? []) out.push(`    ← ${r.source.split('\n')[0]} (import re-run from ${r.from}, ${cellLabel(r.cell)})`);
    if (s.parameters.length > 0) out.push(`    parameters: ${s.parameters.join(', ')}`);
    if (s.outputs.length > 0) out.push(`    → ${s.outputs.join(', ')}`);
    if (s.metrics.length > 0) out.push(`    metrics: ${s.metrics.join(', ')}`);
  }
  if (p.requirements.length > 0) out.push(`requirements: ${p.requirements.flatMap((r) => r.specs).join(' ')}`);
  return out.join('\n') + '\n';
}
