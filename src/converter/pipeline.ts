// Phase 4: cells with their tags and analyses → the `Pipeline`: steps, which step provides
// each name a step reads, the edges (each with its reasons), parameters and metrics.
//
// Provider rule: the provider of name x for step S is the latest step before S (steps are
// ordered by their first cell) that binds x or may change it in place, directly, through an
// alias or through a call (see mayModify.ts). Functions and classes are values like any
// other; a name whose last binding is an import is re-imported, never passed. Parameters and
// prelude names become data once a step rebinds or changes them. A name that no earlier step
// provides is an error naming the step and the cell: Kale silently drops it and the run dies later.

import { Diagnostic, diag, cellLabel } from './diagnostics';
import type {
  CellAnalysis, CellTags, CodeChunk, Definition, Edge, EdgeChange, EdgeReason, ImportReplay, Metric, NameRef,
  Notebook, NotebookCell, Pipeline, PipelineParameter, PipRequirement, Step, StepOptions,
} from './ir';
import { notebookEffects, stepTouches, withAliases, type NotebookEffects, type StepTouches, type Touch } from './mayModify';
import { closest } from './notebook';
import { emptyOptions, mergeOptions, parseCellTags, templateNameOf } from './tags';

/** What the pipeline builder needs from the Python analysis (implemented by `PythonAnalyzer`). */
export interface CellAnalyzer {
  /**
   * The builder only reads the result, so it may be shared with a cache. Its arrays must not
   * change later: the builder keeps what it derived from them, per step, for the next call.
   */
  analyzeCell(source: string, cell: number): CellAnalysis;
  parseParameters(source: string, cell: number): { parameters: PipelineParameter[]; diagnostics: Diagnostic[] };
  parseMetrics(source: string, cell: number): { names: NameRef[]; diagnostics: Diagnostic[] };
  readonly builtins: ReadonlySet<string>;
}

/** The name of the one step of a notebook without step tags. */
export const SINGLE_STEP_NAME = 'main';

interface StepDraft extends StepFacts {
  name: string;
  order: number;
  cells: NotebookCell[];
  analyses: CellAnalysis[];
  ownOptions: StepOptions;
  /** `prev:` tags; `first` when on the step's first cell (Kale reads them only there). */
  prev: { name: string; cell: number; first: boolean }[];
  /** What the step touches by name, this build (see `stepTouches`). */
  touched: ReadonlyMap<string, Touch>;
  /** Its own changes in place, before aliases are followed (see `StepTouches.changes`), this build. */
  changes: ReadonlyMap<string, Touch>;
  /** Names the step must load to change or to run notebook functions with, this build. */
  extraNeeds: readonly { name: string; cell: number; line: number }[];
  /** What the step's facts were made from (compared by identity between builds). */
  sources: unknown[];
}

/** What a step's cells add up to. Derived from their analyses alone; read-only once made. */
interface StepFacts {
  /** Names bound at the top level anywhere in the step. */
  binds: ReadonlySet<string>;
  deletes: ReadonlySet<string>;
  /** Top-level definitions by name, with the cell they are in (the last one wins). */
  definitions: ReadonlyMap<string, { def: Definition; cell: number }>;
  /** The names the step reads that it does not bind itself first, in reading order. */
  needs: readonly Need[];
  /** The top-level modules its cells import (absolute imports only), sorted. */
  imports: readonly string[];
}

/** A name a step reads, where it first does. Shared between calls (see `factsCache`): never changed. */
interface Need {
  readonly name: string;
  readonly cell: number;
  readonly line: number;
  readonly column: number;
  readonly deferred: boolean;
}

export function buildPipeline(notebook: Notebook, analyzer: CellAnalyzer, inputDiagnostics: Diagnostic[] = []): Pipeline {
  const diagnostics: Diagnostic[] = [...inputDiagnostics];
  const defaults = parseCellTags(notebook.settings.stepDefaults, undefined, diagnostics).options;

  const imports: CodeChunk[] = [];
  const functions: CodeChunk[] = [];
  const parameters: PipelineParameter[] = [];
  const metricRefs: { ref: NameRef; cell: number }[] = [];
  const requirements: PipRequirement[] = [];
  const modules = new Set<string>();
  const preludeNames = new Set<string>();
  /** Names the imports and functions code reads: parameters among them reach every step. */
  const preludeReads = new Set<string>();
  const starImports: string[] = [];
  const skippedBinds = new Map<string, number>();
  const steps = new Map<string, StepDraft>();
  const order: StepDraft[] = [];

  let hasStepTags = false;
  let current: { role: 'imports' | 'functions' | 'step'; step?: StepDraft } | undefined;
  let skipBeforeAnyBlock = false;
  let lastStep: StepDraft | undefined;
  let leading: NotebookCell[] = [];
  const untagged: NotebookCell[] = [];

  const analyse = (cell: NotebookCell): CellAnalysis => {
    const a = analyzer.analyzeCell(cell.source, cell.index);
    diagnostics.push(...a.diagnostics);
    requirements.push(...a.pip);
    for (const i of a.imports) if (i.absolute) modules.add(i.module);
    return a;
  };
  const stepNamed = (name: string, cell: NotebookCell): StepDraft => {
    let step = steps.get(name);
    if (!step) {
      step = { name, order: order.length, cells: [], analyses: [], ownOptions: emptyOptions(), prev: [], touched: new Map(), changes: new Map(), extraNeeds: [], sources: [], ...NO_FACTS };
      steps.set(name, step);
      order.push(step);
    }
    void cell;
    return step;
  };
  const addToStep = (step: StepDraft, cell: NotebookCell, tags: CellTags | undefined) => {
    step.cells.push(cell);
    step.analyses.push(analyse(cell));
    if (tags) {
      step.ownOptions = mergeOptions(step.ownOptions, tags.options);
      for (const p of tags.prev) if (!step.prev.some((q) => q.name === p)) step.prev.push({ name: p, cell: cell.index, first: step.cells.length === 1 });
    }
  };
  const preludeAnalyses: { cell: number; a: CellAnalysis }[] = [];
  const addToPrelude = (role: 'imports' | 'functions', cell: NotebookCell) => {
    const a = analyse(cell);
    preludeAnalyses.push({ cell: cell.index, a });
    (role === 'imports' ? imports : functions).push({ cell: cell.index, code: a.code });
    for (const n of a.binds) preludeNames.add(n);
    for (const r of a.reads) preludeReads.add(r.name);
    starImports.push(...a.starImports);
  };
  const place = (cell: NotebookCell, role: 'imports' | 'functions' | 'skip' | 'step', step: StepDraft | undefined, tags?: CellTags) => {
    if (role === 'skip') {
      // Remember what skipped cells define, to explain a missing name later.
      const a = analyzer.analyzeCell(cell.source, cell.index);
      for (const n of a.binds) if (!skippedBinds.has(n)) skippedBinds.set(n, cell.index);
      // Kale's install cell is a skipped `!pip install ...`: its pins still decide the image.
      requirements.push(...a.pip);
    } else if (role === 'step' && step) {
      addToStep(step, cell, tags);
    } else if (role === 'imports' || role === 'functions') {
      addToPrelude(role, cell);
    }
  };
  const flushLeading = (role: 'imports' | 'functions' | 'skip' | 'step', step: StepDraft | undefined) => {
    if (leading.length === 0) return;
    const where = role === 'step' && step ? `step "${step.name}"` : role === 'skip' ? 'the skipped cells' : `the ${role} cells`;
    diagnostics.push(diag('FB105',
      `${describeCells(leading)} ${leading.length === 1 ? 'comes' : 'come'} before the first tagged cell; ${leading.length === 1 ? 'it joins' : 'they join'} ${where}. Tag ${leading.length === 1 ? 'it' : 'them'} (imports, skip or step:NAME) to choose.`,
      { cell: leading[0]?.index }));
    for (const c of leading) place(c, role, step);
    leading = [];
  };

  for (const cell of notebook.cells) {
    if (cell.kind !== 'code') continue;
    const tags = parseCellTags(cell.tags, cell.index, diagnostics);
    const role = tags.role;
    if (role === 'parameters') {
      const r = analyzer.parseParameters(cell.source, cell.index);
      diagnostics.push(...r.diagnostics);
      for (const p of r.parameters) {
        const dup = parameters.find((q) => q.name === p.name);
        if (dup) diagnostics.push(diag('FB401', `pipeline parameter "${p.name}" is defined twice: ${cellLabel(dup.cell)} line ${dup.line} and here. Keep one.`, { cell: p.cell, line: p.line }));
        else parameters.push(p);
      }
      continue; // untagged cells after a parameters cell still continue the last step
    }
    if (role === 'metrics') {
      const r = analyzer.parseMetrics(cell.source, cell.index);
      diagnostics.push(...r.diagnostics);
      for (const ref of r.names) metricRefs.push({ ref, cell: cell.index });
      continue;
    }
    if (role === 'step') {
      hasStepTags = true;
      const name = tags.stepName ?? lastStep?.name;
      if (name === undefined) {
        // Kale treats a leading empty `block:` as no tag at all (its editor leaves them behind).
        diagnostics.push(diag('FB107', `this cell has an empty "step:" tag but no step comes before it, so it is treated as untagged. Give it a name ("step:NAME") or remove the tag.`, { cell: cell.index }));
        untagged.push(cell);
        if (current === undefined) leading.push(cell);
        else place(cell, current.role, current.step, tags);
        continue;
      }
      const step = stepNamed(name, cell);
      flushLeading('step', step);
      place(cell, 'step', step, tags);
      current = { role: 'step', step };
      lastStep = step;
      continue;
    }
    if (role === 'skip') {
      // Kale: a skip cell drops only itself; untagged cells after it continue the block above it.
      flushLeading(role, undefined);
      place(cell, role, undefined, tags);
      if (current === undefined) skipBeforeAnyBlock = true;
      continue;
    }
    if (role === 'imports' || role === 'functions') {
      flushLeading(role, undefined);
      place(cell, role, undefined, tags);
      current = { role };
      continue;
    }
    // An untagged cell continues the block above it; its own option tags (limit:, prev: ...)
    // apply to the step it joins.
    untagged.push(cell);
    if (current === undefined && skipBeforeAnyBlock) {
      // Like Kale, untagged cells after a leading skip cell belong to no block.
      place(cell, 'skip', undefined, tags);
      diagnostics.push(diag('FB105', `this untagged cell follows a "skip" cell before any step, so it is skipped too (as Kale does). Tag it (imports, functions or step:NAME) to include it.`, { cell: cell.index }));
    } else if (current === undefined) {
      leading.push(cell);
    } else if (current.role === 'step' && current.step) {
      place(cell, 'step', current.step, tags);
    } else {
      place(cell, current.role, undefined, tags);
    }
  }

  if (!hasStepTags) {
    // No step tags: one step holds every untagged code cell (leading ones included).
    const prelude = new Set([...imports, ...functions].map((c) => c.cell));
    const cells = [...new Set([...leading, ...untagged])].sort((a, b) => a.index - b.index).filter((c) => !prelude.has(c.index));
    leading = [];
    if (cells.length > 0) {
      const step = stepNamed(SINGLE_STEP_NAME, cells[0] as NotebookCell);
      for (const c of cells) addToStep(step, c, parseCellTags(c.tags, c.index, []));
      diagnostics.push(diag('FB106', `The notebook has no step tags, so it compiles to one step "${SINGLE_STEP_NAME}". Tag cells with "step:NAME" to split it into steps that run in parallel and can be re-run one by one.`, { cell: step.cells[0]?.index }));
    }
  } else if (leading.length > 0) {
    // Only parameters/metrics came after them: they join the first step.
    const first = order[0];
    flushLeading(first ? 'step' : 'skip', first);
  }

  summariseSteps(order, analyzer);
  const nb = notebookEffects([
    ...preludeAnalyses,
    ...order.flatMap((d) => d.analyses.map((a, i) => ({ cell: d.cells[i]?.index ?? 0, a }))),
  ].sort((x, y) => x.cell - y.cell));
  const touchCache = cacheOf(touchesCache, analyzer);
  for (const d of order) touchesOf(d, nb, touchCache);
  if (touchCache.size > order.length) {
    const names = new Set(order.map((s) => s.name));
    for (const name of touchCache.keys()) if (!names.has(name)) touchCache.delete(name);
  }
  const templateNames = assignTemplateNames(order, diagnostics);
  const parameterNames = new Set(parameters.map((p) => p.name));
  const result = resolveSteps(order, {
    analyzer, preludeNames, parameterNames, starImports, skippedBinds, defaults, diagnostics, templateNames, nb,
    preludeParameters: [...preludeReads].filter((n) => parameterNames.has(n)),
  });
  checkReopenedSteps(order, diagnostics);
  checkRandomState(order, preludeAnalyses, diagnostics);
  checkSplitViews(order, nb, diagnostics);
  const metrics = attributeMetrics(metricRefs, order, parameterNames, result.steps, diagnostics);
  const stepByName = new Map(result.steps.map((s) => [s.name, s]));
  for (const m of metrics) {
    const step = stepByName.get(m.step);
    if (step && !step.metrics.includes(m.name)) step.metrics.push(m.name);
  }

  const stepCode: Record<string, CodeChunk[]> = {};
  for (const d of order) stepCode[d.name] = d.cells.map((c, i) => ({ cell: c.index, code: d.analyses[i]?.code ?? '' }));

  const pipeline: Pipeline = {
    name: notebook.settings.pipelineName ?? fileStem(notebook.path),
    notebookPath: notebook.path,
    parameters,
    imports,
    functions,
    steps: result.steps,
    stepCode,
    edges: result.edges,
    metrics,
    requirements,
    modules: [...modules].sort(),
    settings: notebook.settings,
    diagnostics,
  };
  if (notebook.settings.description !== undefined) pipeline.description = notebook.settings.description;
  if (notebook.settings.experimentName !== undefined) pipeline.experiment = notebook.settings.experimentName;
  return pipeline;
}

/** DNS-1123 names for the steps; two steps mapping to one name is an error naming both cells. */
function assignTemplateNames(order: StepDraft[], diagnostics: Diagnostic[]): Map<string, string> {
  const byTemplate = new Map<string, StepDraft>();
  const names = new Map<string, string>();
  for (const step of order) {
    let t = templateNameOf(step.name);
    const other = byTemplate.get(t);
    if (other) {
      diagnostics.push(diag('FB104',
        `steps "${other.name}" (${cellLabel(other.cells[0]?.index ?? 0)}) and "${step.name}" (${cellLabel(step.cells[0]?.index ?? 0)}) both become "${t}" in Kubernetes, which allows only lower-case letters, digits and "-". Rename one of them.`,
        { cell: step.cells[0]?.index }));
      let n = 2;
      while (byTemplate.has(`${t}-${n}`)) n++;
      t = `${t}-${n}`;
    }
    byTemplate.set(t, step);
    names.set(step.name, t);
  }
  return names;
}

interface ResolveContext {
  analyzer: CellAnalyzer;
  preludeNames: Set<string>;
  parameterNames: Set<string>;
  starImports: string[];
  skippedBinds: Map<string, number>;
  defaults: StepOptions;
  diagnostics: Diagnostic[];
  templateNames: Map<string, string>;
  /** Parameters read by imports/functions code, which runs in every step. */
  preludeParameters: string[];
  nb: NotebookEffects;
}

function resolveSteps(order: StepDraft[], ctx: ResolveContext): { steps: Step[]; edges: Edge[] } {
  const { diagnostics } = ctx;
  // Lookups by name, so the work grows with the size of the notebook, not with its square:
  // the editor runs this on every keystroke.
  const byName = new Map(order.map((d) => [d.name, d]));
  const edgeMap = new Map<string, Edge>();
  /** The names of each edge's data reason, by edge key. */
  const dataNames = new Map<string, Set<string>>();
  /** Steps that some edge points to. */
  const hasUpstream = new Set<string>();
  const addEdge = (from: StepDraft, to: StepDraft, reason: EdgeReason) => {
    const key = `${from.name}\u0000${to.name}`;
    let edge = edgeMap.get(key);
    if (!edge) {
      edge = { from: from.name, to: to.name, reasons: [] };
      edgeMap.set(key, edge);
      hasUpstream.add(to.name);
    }
    if (reason.kind === 'data') {
      const existing = edge.reasons.find((r) => r.kind === 'data');
      const names = dataNames.get(key);
      if (existing && existing.kind === 'data' && names) {
        for (const n of reason.names) {
          if (names.has(n)) continue;
          names.add(n);
          existing.names.push(n);
          if (reason.changes) (existing.changes ??= []).push(...reason.changes);
        }
        return;
      }
      dataNames.set(key, new Set(reason.names));
    }
    edge.reasons.push(reason);
  };
  // Provider search: the latest step before `index` that binds (builtins) or touches `name`.
  // Steps are resolved in order, so each name remembers how far up it was searched and what
  // was found there; a search only looks at the steps since. Most names come from a step or
  // two above; this keeps a name used by every step of a long notebook from costing a scan
  // of all the steps above each of them.
  const searches = [new Map<string, ProviderSearch>(), new Map<string, ProviderSearch>()];
  const providerOf = (index: number, name: string, bindingOnly: boolean): StepDraft | undefined => {
    const memo = searches[bindingOnly ? 1 : 0] as Map<string, ProviderSearch>;
    const last = memo.get(name);
    let provider: StepDraft | undefined;
    for (let j = index - 1; j > (last?.upTo ?? -1); j--) {
      const d = order[j] as StepDraft;
      if (bindingOnly ? d.binds.has(name) : touches(d, name)) {
        provider = d;
        break;
      }
    }
    provider ??= last?.provider;
    if (last) {
      last.upTo = index - 1;
      last.provider = provider;
    } else {
      memo.set(name, { upTo: index - 1, provider });
    }
    return provider;
  };

  const steps: Step[] = order.map((d) => ({
    name: d.name,
    templateName: ctx.templateNames.get(d.name) ?? templateNameOf(d.name),
    cells: d.cells.map((c) => c.index),
    after: [],
    inputs: [],
    outputs: [],
    parameters: [],
    definitions: [],
    metrics: [],
    imports: d.imports.slice(),
    options: mergeOptions(ctx.defaults, d.ownOptions),
  }));
  const outputs = new Map<string, Set<string>>(order.map((d) => [d.name, new Set<string>()]));
  const reportedValues = new Set<string>();
  const laterPrev: { from: StepDraft; to: StepDraft; cell: number }[] = [];

  order.forEach((draft, index) => {
    const step = steps[index] as Step;
    const { needs } = draft;
    const inputs = new Map<string, StepInput>();
    const replays = new Map<string, ImportReplay>();
    const usedParams = new Set<string>(ctx.preludeParameters);
    const queue: Need[] = [...needs];
    for (const n of draft.extraNeeds) {
      if (!draft.binds.has(n.name)) queue.push({ name: n.name, cell: n.cell, line: n.line, column: 1, deferred: true });
    }
    const seen = new Set<string>();
    /** The names this step loads from another step's values, with the step that provides each. */
    const loads = new Map<string, Load>();

    for (let next = 0; next < queue.length; next++) {
      const need = queue[next] as Need;
      if (seen.has(need.name)) continue;
      seen.add(need.name);
      const x = need.name;
      // A builtin becomes data only when an earlier step rebinds it (`input = [...]`).
      const provider = providerOf(index, x, ctx.analyzer.builtins.has(x));
      if (ctx.preludeNames.has(x) && !provider) continue;
      if (ctx.parameterNames.has(x) && !provider) {
        usedParams.add(x);
        continue;
      }
      if (!provider) {
        if (ctx.analyzer.builtins.has(x) || need.deferred) continue;
        reportMissing(need, draft, order, index, ctx, [...ctx.starImports, ...draft.analyses.flatMap((a) => a.starImports)]);
        continue;
      }
      if (provider.deletes.has(x) && !provider.binds.has(x)) {
        if (!need.deferred) {
          diagnostics.push(diag('FB300', `step "${draft.name}" uses "${x}", but step "${provider.name}" deletes it with "del ${x}". Remove the "del", or define "${x}" again.`, at(need)));
        }
        continue;
      }
      const touch = provider.touched.get(x);
      if (touch?.importAt) {
        // Modules are never data: the later step runs the import statement again.
        const cell = provider.cells[touch.at]?.index ?? 0;
        const key = `${cell}\u0000${touch.importAt.line}`;
        if (!replays.has(key)) replays.set(key, { from: provider.name, cell, line: touch.importAt.line, source: touch.importAt.source });
        continue;
      }
      if (touch && touch.change === undefined) checkSpecialValue(provider, touch.at, x, ctx, reportedValues);
      loads.set(x, { provider, need });
    }

    sameProviderForAliases(draft, loads, steps, ctx);
    for (const [x, { provider }] of loads) {
      inputs.set(x, { name: x, from: provider.name });
      outputs.get(provider.name)?.add(x);
      const reason: EdgeReason = { kind: 'data', names: [x] };
      // Say how the provider changed a name it did not bind: the "why" of a surprising edge.
      const touch = provider.touched.get(x);
      if (touch?.change && !provider.binds.has(x)) reason.changes = [touch.change];
      addEdge(provider, draft, reason);
    }

    for (const p of draft.prev) {
      const target = byName.get(p.name);
      if (!target) {
        const hint = closest(p.name, order.map((d) => d.name));
        // Kale reads `prev:` only on a step's first cell and ignores it elsewhere: a warning there.
        diagnostics.push(diag('FB301', `"prev:${p.name}" names no step${hint ? `; did you mean "prev:${hint}"?` : '.'} Steps: ${order.map((d) => d.name).join(', ')}.${p.first ? '' : ' The tag is on a cell that continues the step, where Kale ignores it; Flowbook ignores it too.'}`, { cell: p.cell }, p.first ? undefined : 'warning'));
      } else if (target === draft) {
        // Kale notebooks repeat the step's own prev: on continuation cells; it means nothing.
        diagnostics.push(diag('FB303', `"prev:${p.name}" names the step this cell belongs to, so it has no effect. Remove the tag.`, { cell: p.cell }, 'info'));
      } else if (target.order > draft.order) {
        laterPrev.push({ from: draft, to: target, cell: p.cell });
      } else {
        addEdge(target, draft, { kind: 'prev', cell: p.cell });
      }
    }

    for (const n of draft.binds) {
      if (ctx.parameterNames.has(n)) {
        const cell = draft.cells.find((c, i) => draft.analyses[i]?.binds.includes(n));
        diagnostics.push(diag('FB404', `step "${draft.name}" assigns to pipeline parameter "${n}"; later steps receive its new value from this step.`, { cell: cell?.index }, 'info'));
      }
    }

    step.inputs = sortInputs([...inputs.values()], needs);
    if (replays.size > 0) step.importReplays = [...replays.values()].sort((a, b) => a.cell - b.cell || a.line - b.line);
    step.parameters = [...usedParams].sort();
  });

  // `prev:` naming a later step: a cycle when that step already runs after this one.
  for (const { from, to, cell } of laterPrev) {
    const path = upstreamPath(edgeMap, to.name, from.name);
    if (path) {
      diagnostics.push(diag('FB303', `"prev:${to.name}" makes a cycle: ${[...path, from.name].join(' → ')}. A step cannot run after a step that needs its results; remove the tag.`, { cell }));
    } else {
      diagnostics.push(diag('FB302', `"prev:${to.name}" names step "${to.name}", which starts later (${cellLabel(to.cells[0]?.index ?? 0)}). A step can only run after steps above it: move the cells, or remove the tag.`, { cell }));
    }
  }

  // A step with no upstream edge that is not the first runs after the step before it, so
  // side effects (files written, tables created) keep their notebook order.
  order.forEach((draft, index) => {
    if (index === 0) return;
    if (!hasUpstream.has(draft.name)) addEdge(order[index - 1] as StepDraft, draft, { kind: 'order' });
  });

  const orderOf = (name: string) => byName.get(name)?.order ?? -1;
  const edges = [...edgeMap.values()].sort((a, b) => orderOf(a.to) - orderOf(b.to) || orderOf(a.from) - orderOf(b.from));
  const after = new Map<string, string[]>();
  for (const e of edges) {
    for (const r of e.reasons) {
      if (r.kind !== 'data') continue;
      r.names.sort();
      r.changes?.sort((a, b) => a.name.localeCompare(b.name));
    }
    const list = after.get(e.to);
    if (list) list.push(e.from);
    else after.set(e.to, [e.from]);
  }
  steps.forEach((step) => {
    step.after = after.get(step.name) ?? [];
    step.outputs = [...(outputs.get(step.name) ?? [])].sort();
  });
  checkAcyclic(steps, diagnostics);
  return { steps, edges };
}

type StepInput = Step['inputs'][number];

/** A name a step loads, and the step whose saved values it comes from. */
interface Load {
  provider: StepDraft;
  need: Need;
}

/**
 * Names that may share one object (`alias = groups`, see `NotebookEffects.aliasGroup`) must
 * come from one provider's saved values: loaded from two, they arrive as two objects, and a
 * change through one name misses the other. All of them are taken from the latest provider
 * of any of them, which has each one at its end when it touches it or loads it itself (then
 * it saves them together). Only when this step changes one of them: otherwise two objects
 * give the same values here.
 */
function sameProviderForAliases(draft: StepDraft, loads: Map<string, Load>, steps: Step[], ctx: ResolveContext): void {
  if (loads.size < 2) return;
  // As the names stand when the step starts: aliases its own cells make share objects in its own process.
  const entry = (draft.cells[0]?.index ?? 0) - 1;
  const done = new Set<string>();
  for (const name of [...loads.keys()].sort()) {
    if (done.has(name)) continue;
    const group = ctx.nb.aliasGroup(name, entry).filter((n) => loads.has(n)).sort();
    for (const n of group) done.add(n);
    if (group.length < 2) continue;
    // The analysis only knows they *may* share an object: two objects matter when this step changes one of them.
    if (!group.some((n) => draft.touched.get(n)?.change)) continue;
    const members = group.map((n) => ({ name: n, load: loads.get(n) as Load }));
    const latest = members.reduce((a, b) => (b.load.provider.order > a.load.provider.order ? b : a)).load.provider;
    const has = (n: string) => latest.touched.has(n) || (steps[latest.order]?.inputs.some((i) => i.name === n) ?? false);
    for (const m of members) {
      // A provider that has not got the name cannot save it: left as it is. The groups are
      // coarse (an alias made later counts too), so this is no ground for an error.
      if (m.load.provider !== latest && has(m.name)) loads.set(m.name, { provider: latest, need: m.load.need });
    }
  }
}

/** How far up (a step index) the notebook was searched for a name's provider, and the latest one found up to there. */
interface ProviderSearch {
  upTo: number;
  provider: StepDraft | undefined;
}

/** The steps from `from` down to `to` along edges (`from` runs first), if `to` depends on `from`. */
function upstreamPath(edges: Map<string, Edge>, to: string, from: string): string[] | undefined {
  const upstream = new Map<string, string[]>();
  for (const e of edges.values()) upstream.set(e.to, [...(upstream.get(e.to) ?? []), e.from]);
  const seen = new Set<string>();
  const walk = (name: string): string[] | undefined => {
    if (name === from) return [from];
    if (seen.has(name)) return undefined;
    seen.add(name);
    for (const up of upstream.get(name) ?? []) {
      const path = walk(up);
      if (path) return [...path, name];
    }
    return undefined;
  };
  return walk(to);
}

const NO_FACTS: StepFacts = { binds: new Set(), deletes: new Set(), definitions: new Map(), needs: [], imports: [] };

/**
 * Per analyzer (one per `Compiler`), the facts of each step at the last call, with what they
 * were made from. The editor re-analyses on every keystroke, where all steps but one are
 * unchanged: those reuse their facts instead of adding up their cells again.
 */
const factsCache = new WeakMap<CellAnalyzer, Map<string, { from: unknown[]; facts: StepFacts }>>();

/** Sets the facts of every step, reusing the last call's when a step's cells and their analyses are the same. */
function summariseSteps(order: StepDraft[], analyzer: CellAnalyzer): void {
  let cache = factsCache.get(analyzer);
  if (!cache) {
    cache = new Map();
    factsCache.set(analyzer, cache);
  }
  for (const step of order) {
    // Analyses are compared by identity: a cached analysis is one set of arrays for good.
    const from: unknown[] = [];
    step.analyses.forEach((a, i) => from.push(step.cells[i]?.index, a.reads, a.binds, a.mutates, a.deletes, a.definitions, a.imports, a.effects));
    const last = cache.get(step.name);
    const facts = last && last.from.length === from.length && last.from.every((x, i) => x === from[i]) ? last.facts : stepFacts(step);
    cache.set(step.name, { from, facts });
    Object.assign(step, facts);
    step.sources = from;
  }
  if (cache.size > order.length) {
    const names = new Set(order.map((s) => s.name));
    for (const name of cache.keys()) if (!names.has(name)) cache.delete(name);
  }
}

function stepFacts(step: StepDraft): StepFacts {
  const binds = new Set<string>();
  const deletes = new Set<string>();
  const definitions = new Map<string, { def: Definition; cell: number }>();
  const modules = new Set<string>();
  step.analyses.forEach((a, at) => {
    for (const n of a.binds) binds.add(n);
    for (const n of a.deletes) deletes.add(n);
    for (const d of a.definitions) definitions.set(d.name, { def: d, cell: step.cells[at]?.index ?? 0 });
    for (const i of a.imports) if (i.absolute) modules.add(i.module);
  });
  // Reads before the step binds the name; names read inside functions only if the step binds them nowhere.
  const needs: Need[] = [];
  const bound = new Set<string>();
  const deferred: Need[] = [];
  step.analyses.forEach((a, i) => {
    const cell = step.cells[i]?.index ?? 0;
    for (const r of a.reads) {
      if (r.deferred) deferred.push({ name: r.name, cell, line: r.line, column: r.column, deferred: true });
      else if (!bound.has(r.name)) needs.push({ name: r.name, cell, line: r.line, column: r.column, deferred: false });
    }
    for (const n of a.binds) bound.add(n);
  });
  for (const d of deferred) if (!binds.has(d.name)) needs.push(d);
  return { binds, deletes, definitions, needs, imports: [...modules].sort() };
}

/** Whether the step binds `name`, may change it in place, or deletes it: what makes it a provider. */
function touches(step: StepDraft, name: string): boolean {
  return step.touched.has(name) || step.deletes.has(name);
}

/**
 * Per analyzer, what each step touched at the last call, with what it was made from: the
 * step's cells and analyses (by identity) and the notebook's function effects (by signature).
 * An edit elsewhere leaves both unchanged; then only aliases are followed again.
 */
const touchesCache = new WeakMap<CellAnalyzer, Map<string, { from: unknown[]; signature: string; base: StepTouches }>>();

function cacheOf<T>(caches: WeakMap<CellAnalyzer, Map<string, T>>, analyzer: CellAnalyzer): Map<string, T> {
  let cache = caches.get(analyzer);
  if (!cache) {
    cache = new Map();
    caches.set(analyzer, cache);
  }
  return cache;
}

/** Sets what the step touches and must load beyond its own reads, for this build. */
function touchesOf(step: StepDraft, nb: NotebookEffects, cache: Map<string, { from: unknown[]; signature: string; base: StepTouches }>): void {
  const last = cache.get(step.name);
  let base: StepTouches;
  if (last && last.signature === nb.signature && last.from.length === step.sources.length && last.from.every((x, i) => x === step.sources[i])) {
    base = last.base;
  } else {
    base = stepTouches(step.analyses, step.cells.map((c) => c.index), new Set(step.needs.map((n) => n.name)), nb);
    cache.set(step.name, { from: step.sources, signature: nb.signature, base });
  }
  const { touched, extraNeeds } = withAliases(base, nb);
  step.touched = touched;
  step.changes = base.changes;
  step.extraNeeds = extraNeeds;
}

/**
 * A generator, an open file or an iterator handed to a later step: the notebook's object
 * cannot be passed on as it is (a generator or file cannot be pickled; an iterator arrives
 * as a copy that the providing step's own use does not advance). A diagnostic on the cell.
 */
function checkSpecialValue(provider: StepDraft, at: number, name: string, ctx: ResolveContext, reported: Set<string>): void {
  const a = provider.analyses[at];
  if (!a || a.effects.specialValues.length === 0) return;
  const cell = provider.cells[at]?.index ?? 0;
  const values = a.effects.specialValues.filter((v) => v.name === name);
  const v = values[values.length - 1];
  if (!v) return;
  let kind = v.kind;
  if (v.callee !== undefined) {
    if (!ctx.nb.functions.get(v.callee)?.generator) return;
    kind = 'generator';
  }
  const key = `${cell}\u0000${name}`;
  if (reported.has(key)) return;
  reported.add(key);
  const what = kind === 'file' ? 'an open file' : kind === 'generator' ? 'a generator' : 'an iterator';
  const fix = kind === 'file'
    ? `Pass the file's path (or its contents) instead, and open it in the step that reads it.`
    : kind === 'generator'
      ? `Make it a list (\`${name} = list(...)\`) or build the generator in the step that uses it.`
      : `Make it a list (\`${name} = list(...)\`) so every step sees the same items.`;
  ctx.diagnostics.push(diag('FB305',
    `"${name}" is ${what}, and a later step uses it: steps run in separate processes, so it cannot be handed on as it is in the notebook. ${fix}`,
    { cell, line: v.line }, kind === 'iterator' ? 'warning' : 'error'));
}

/**
 * A step reopened later (`step:a`, `step:b`, then `step:a` again) runs all its cells before
 * `b`. When such a cell reads a name `b` changes, or changes a name `b` reads, the run
 * differs from the notebook: a warning on that cell.
 */
function checkReopenedSteps(order: StepDraft[], diagnostics: Diagnostic[]): void {
  for (const s of order) {
    s.cells.forEach((cell, i) => {
      const a = s.analyses[i] as CellAnalysis;
      const between = stepsStartedBetween(order, s, cell.index);
      for (const t of between) {
        const tFirst = t.cells[0]?.index ?? 0;
        const read = a.reads.find((r) => !r.deferred && touches(t, r.name));
        if (read) {
          diagnostics.push(diag('FB306',
            `this cell belongs to step "${s.name}", which runs before step "${t.name}" (${cellLabel(tFirst)}); in the notebook it runs after "${t.name}", which changes "${read.name}", so here "${read.name}" has its value from before "${t.name}". Move this cell into step "${t.name}" or a step after it (tag it "step:NAME").`,
            { cell: cell.index, line: read.line, column: read.column }));
          continue;
        }
        const changed = [...a.binds, ...a.effects.changes.map((c) => c.name)].find((n) => t.needs.some((r) => r.name === n && r.cell < cell.index));
        if (changed) {
          diagnostics.push(diag('FB306',
            `this cell belongs to step "${s.name}", which runs before step "${t.name}" (${cellLabel(tFirst)}), so "${t.name}" receives "${changed}" as this cell leaves it; in the notebook "${t.name}" reads it before this cell runs. Move this cell into step "${t.name}" or a step after it (tag it "step:NAME").`,
            { cell: cell.index }));
        }
      }
    });
  }
}

/**
 * The steps after `s` whose first cell comes before cell `cellIndex`. `order` is in order of
 * first cells, so they are the run of steps right after `s`: found without scanning them all
 * (inspect stays linear in the number of steps).
 */
function stepsStartedBetween(order: StepDraft[], s: StepDraft, cellIndex: number): StepDraft[] {
  const out: StepDraft[] = [];
  for (let k = s.order + 1; k < order.length; k++) {
    const t = order[k] as StepDraft;
    if ((t.cells[0]?.index ?? Infinity) >= cellIndex) break;
    out.push(t);
  }
  return out;
}

/**
 * Global random state (`np.random.seed`, `random.seed`) does not travel between steps: each
 * step starts fresh. Seeding in one step and drawing in another (or seeding in the prelude,
 * which every step runs, and drawing in several) gives other numbers than the notebook.
 */
function checkRandomState(order: StepDraft[], prelude: { cell: number; a: CellAnalysis }[], diagnostics: Diagnostic[]): void {
  const draws = new Map<string, { step: StepDraft; cell: number; line: number; call: string }[]>();
  for (const s of order) {
    s.analyses.forEach((a, i) => {
      for (const r of a.effects.random) {
        if (r.kind !== 'draw') continue;
        const list = draws.get(r.state) ?? [];
        list.push({ step: s, cell: s.cells[i]?.index ?? 0, line: r.line, call: r.call });
        draws.set(r.state, list);
      }
    });
  }
  const warn = (cell: number, line: number, call: string, state: string, other: { step: StepDraft; cell: number; line: number; call: string }, why: string) =>
    diagnostics.push(diag('FB307',
      `\`${call}\` seeds the global random state "${state}" ${why}, but step "${other.step.name}" draws from it (\`${other.call}\` at ${cellLabel(other.cell)} line ${other.line}) and each step starts with fresh random state, so its numbers differ from the notebook's. Seed at the start of every step that draws (in its first cell), or use a generator passed as data (\`rng = np.random.default_rng(42)\`, then \`rng.random()\`).`,
      { cell, line }, 'warning'));
  for (const s of order) {
    s.analyses.forEach((a, i) => {
      for (const r of a.effects.random) {
        if (r.kind !== 'seed') continue;
        const other = draws.get(r.state)?.find((d) => d.step.order > s.order);
        if (other) warn(s.cells[i]?.index ?? 0, r.line, r.call, r.state, other, `in step "${s.name}"`);
      }
    });
  }
  prelude.forEach(({ cell, a }) => {
    for (const r of a.effects.random) {
      if (r.kind !== 'seed') continue;
      const list = draws.get(r.state) ?? [];
      const steps = new Set(list.map((d) => d.step));
      const second = list.find((d) => d !== list[0] && d.step !== list[0]?.step);
      if (steps.size > 1 && second) warn(cell, r.line, r.call, r.state, second, 'in a cell every step runs again');
    }
  });
}

function reportMissing(need: Need, draft: StepDraft, order: StepDraft[], index: number, ctx: ResolveContext, stars: string[]): void {
  const x = need.name;
  const where = `step "${draft.name}" uses "${x}"`;
  const later = order.slice(index + 1).find((d) => touches(d, x));
  const skippedCell = ctx.skippedBinds.get(x);
  let message: string;
  if (later) {
    message = `${where}, but "${x}" is first defined later, in step "${later.name}" (${cellLabel(later.cells[0]?.index ?? 0)}). Move that code above, or define "${x}" in an earlier step.`;
  } else if (skippedCell !== undefined) {
    message = `${where}, but "${x}" is only defined in ${cellLabel(skippedCell)}, which is tagged "skip". Remove the skip tag or define "${x}" in a step.`;
  } else {
    message = `${where}, but no earlier step defines it. Define it in an earlier step, or in a cell tagged "imports" or "functions".`;
  }
  if (stars.length > 0) {
    ctx.diagnostics.push(diag('FB300', `${message} (It may come from "from ${stars[0]} import *", which Flowbook cannot see into; import the name explicitly.)`, at(need), 'warning'));
  } else {
    ctx.diagnostics.push(diag('FB300', message, at(need)));
  }
}

function attributeMetrics(refs: { ref: NameRef; cell: number }[], order: StepDraft[], parameterNames: Set<string>, steps: Step[], diagnostics: Diagnostic[]): Metric[] {
  const metrics: Metric[] = [];
  for (const { ref, cell } of refs) {
    if (metrics.some((m) => m.name === ref.name)) continue;
    let candidates = order.filter((d) => touches(d, ref.name));
    // A parameter no step changes: reported by the last step that has it (Kale reports it too).
    if (candidates.length === 0 && parameterNames.has(ref.name)) candidates = order.filter((d, i) => steps[i]?.parameters.includes(ref.name));
    const before = candidates.filter((d) => (d.cells[0]?.index ?? 0) < cell);
    const step = before[before.length - 1] ?? candidates[candidates.length - 1];
    if (!step) {
      const why = parameterNames.has(ref.name) ? ` "${ref.name}" is a pipeline parameter; metrics are values a step computes.` : '';
      diagnostics.push(diag('FB403', `metric "${ref.name}" is not defined by any step.${why} Compute it in a step, or remove the line.`, { cell, line: ref.line, column: ref.column }));
      continue;
    }
    metrics.push({ name: ref.name, step: step.name, cell, line: ref.line });
  }
  return metrics;
}

function checkAcyclic(steps: Step[], diagnostics: Diagnostic[]): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const byName = new Map(steps.map((s) => [s.name, s]));
  /** The names on the way from the step the search started at to the one being visited. */
  const path: string[] = [];
  const visit = (s: Step): boolean => {
    const st = state.get(s.name);
    if (st === 'done') return true;
    if (st === 'visiting') {
      diagnostics.push(diag('FB303', `the steps form a cycle: ${[...path, s.name].join(' → ')}. Remove one of the "prev:" tags.`, { cell: s.cells[0] }));
      return false;
    }
    state.set(s.name, 'visiting');
    path.push(s.name);
    for (const up of s.after) {
      const u = byName.get(up);
      if (u && !visit(u)) return false;
    }
    path.pop();
    state.set(s.name, 'done');
    return true;
  };
  for (const s of steps) if (!visit(s)) return;
}

function sortInputs(inputs: StepInput[], needs: readonly Need[]): StepInput[] {
  const first = new Map<string, number>();
  needs.forEach((n, i) => {
    if (!first.has(n.name)) first.set(n.name, i);
  });
  const pos = (name: string) => first.get(name) ?? Number.MAX_SAFE_INTEGER;
  return inputs.sort((a, b) => pos(a.name) - pos(b.name) || a.name.localeCompare(b.name));
}

function at(need: Need): { cell: number; line: number; column: number } {
  return { cell: need.cell, line: need.line, column: need.column };
}

function describeCells(cells: NotebookCell[]): string {
  const labels = cells.map((c) => cellLabel(c.index));
  if (labels.length === 1) return labels[0] as string;
  return `${labels.slice(0, -1).join(', ')} and ${labels[labels.length - 1]}`;
}

function fileStem(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  return base.replace(/\.ipynb$/i, '');
}

/** A view a step leaves bound: `name` shares the memory of `base` (see `CellEffects.views`). */
interface ViewMade {
  name: string;
  base: string;
  cell: number;
  line: number;
  expression: string;
}

/**
 * A view (`values = df.to_numpy()`, `a[1:3]`, `df.iloc[...]`) shares its base's memory in the
 * notebook, but pickled for the next step the two arrive as separate arrays. When a step other
 * than the one making the view changes one of them in place and the other is read after that
 * (in that step or a later one), the notebook sees the change under both names and the pipeline
 * under one only: a silently different number. A warning on the cell of the change. A view
 * made and used within one step, or a change nothing reads afterwards, is no concern.
 */
function checkSplitViews(order: StepDraft[], nb: NotebookEffects, diagnostics: Diagnostic[]): void {
  const made = order.map((s) => viewsLeft(s, nb.importNames));
  if (made.every((v) => v.length === 0)) return;
  // By name, the steps that change it in place and those that bind it anew, in order: only those are visited per view.
  const changers = new Map<string, StepDraft[]>();
  const binders = new Map<string, number[]>();
  const add = <T>(map: Map<string, T[]>, name: string, x: T) => {
    const list = map.get(name);
    if (list) list.push(x);
    else map.set(name, [x]);
  };
  for (const t of order) {
    for (const [name, touch] of t.touched) if (touch.change) add(changers, name, t);
    const bound = new Set(t.analyses.flatMap((a) => a.binds.filter((n) => rebindsIn(a, n))));
    for (const name of bound) add(binders, name, t.order);
  }
  const reported = new Set<string>();
  order.forEach((s, i) => {
    for (const view of made[i] ?? []) {
      // Bound anew, the name no longer holds the view or its base: steps after that are unaffected.
      const end = Math.min(...[view.name, view.base].map((n) => binders.get(n)?.find((o) => o > s.order) ?? Infinity));
      const candidates = [...new Set([...(changers.get(view.name) ?? []), ...(changers.get(view.base) ?? [])])]
        .filter((t) => t.order > s.order && t.order <= end)
        .sort((a, b) => a.order - b.order);
      for (const t of candidates) {
        const split = splitChange(t, view, order);
        if (!split) continue;
        const key = `${split.change.cell}\u0000${view.name}\u0000${view.base}`;
        if (reported.has(key)) continue;
        reported.add(key);
        diagnostics.push(diag('FB308', splitViewMessage(s, t, view, split), { cell: split.change.cell, line: split.change.line }));
      }
    }
  });
}

/** The views a step leaves bound at its end, one per name and base. */
function viewsLeft(s: StepDraft, importNames: ReadonlySet<string>): ViewMade[] {
  const made = new Map<string, ViewMade[]>();
  s.analyses.forEach((a, i) => {
    const cell = s.cells[i]?.index ?? 0;
    const rebound = new Set(a.binds.filter((n) => rebindsIn(a, n)));
    // A later cell binding the view's name or its base anew ends the sharing.
    for (const [name, list] of made) {
      if (rebound.has(name)) made.delete(name);
      else made.set(name, list.filter((v) => !rebound.has(v.base)));
    }
    for (const v of a.effects.views) {
      // `np` in `np.asarray(df)` is a module imported elsewhere, never data.
      made.set(v.name, v.of.filter((n) => !importNames.has(n)).sort().map((base) => ({ name: v.name, base, cell, line: v.line, expression: v.expression })));
    }
  });
  return [...made.values()].flat();
}

/** Whether a step binds `name` anew. */
function rebinds(s: StepDraft, name: string): boolean {
  return s.analyses.some((a) => rebindsIn(a, name));
}

interface SplitChange {
  /** The name step `t` changes in place: the view or its base. */
  changed: string;
  /** The other one, read after the change. */
  other: string;
  change: EdgeChange;
  /** Where the other one is read after the change: a step and a cell. */
  reader: { step: StepDraft; cell: number; line: number };
}

/** How step `t` changes the view or its base in place such that the other is read afterwards, if it does. */
function splitChange(t: StepDraft, view: ViewMade, order: StepDraft[]): SplitChange | undefined {
  for (const [changed, other] of [[view.name, view.base], [view.base, view.name]] as const) {
    // Its own change, or one reaching it through an alias other than the view itself.
    const own = t.changes.get(changed) ?? t.touched.get(changed);
    const change = own?.change && own.via !== other ? own.change : undefined;
    if (!change || !loads(t, changed)) continue;
    const reader = readAfter(t, other, change, order);
    if (reader) return { changed, other, change, reader };
  }
  return undefined;
}

/** Whether the step loads `name` from an earlier one (reads it before binding it, or must load it to change it). */
function loads(s: StepDraft, name: string): boolean {
  return s.needs.some((n) => n.name === name) || s.extraNeeds.some((n) => n.name === name);
}

/** The first read of `name` after `change`: later in step `t`, or in a later step before anything binds it anew. */
function readAfter(t: StepDraft, name: string, change: EdgeChange, order: StepDraft[]): SplitChange['reader'] | undefined {
  for (let i = 0; i < t.cells.length; i++) {
    const cell = t.cells[i]?.index ?? 0;
    if (cell < change.cell) continue;
    const a = t.analyses[i] as CellAnalysis;
    const read = a.reads.find((r) => r.name === name && !r.deferred && (cell > change.cell || r.line > change.line));
    if (read) return { step: t, cell, line: read.line };
    if (cell > change.cell && rebindsIn(a, name)) return undefined;
  }
  const changeCell = t.cells.findIndex((c) => c.index === change.cell);
  if (t.analyses.slice(changeCell).some((a) => rebindsIn(a, name))) return undefined;
  for (let k = t.order + 1; k < order.length; k++) {
    const u = order[k] as StepDraft;
    const need = u.needs.find((n) => n.name === name) ?? u.extraNeeds.find((n) => n.name === name);
    if (need) return { step: u, cell: need.cell, line: need.line };
    if (rebinds(u, name)) return undefined;
  }
  return undefined;
}

/** Whether a cell binds `name` anew (not `x += v`, which keeps an array the same object). */
function rebindsIn(a: CellAnalysis, name: string): boolean {
  return a.binds.includes(name) && !a.effects.changes.some((c) => c.name === name && c.augmented);
}

function splitViewMessage(s: StepDraft, t: StepDraft, view: ViewMade, split: SplitChange): string {
  const where = split.reader.step === t ? `later in this step (${cellLabel(split.reader.cell)} line ${split.reader.line})` : `in step "${split.reader.step.name}" (${cellLabel(split.reader.cell)} line ${split.reader.line})`;
  const copy = view.expression.endsWith('...') ? `\`${view.name} = ....copy()\`` : `\`${view.name} = ${view.expression}.copy()\``;
  return `this cell changes "${split.changed}" ${split.change.how}, and "${view.name}" is a view of "${view.base}" (\`${view.expression}\`, made in step "${s.name}" at ${cellLabel(view.cell)} line ${view.line}): ` +
    `in the notebook the change shows through "${split.other}", which is read ${where}; steps pass values pickled, where a view and its base arrive as two separate arrays, so there "${split.other}" keeps its old data. ` +
    `Make this change in step "${s.name}" (or read "${split.other}" only in the step that changes it), or, if the change is not meant to reach "${split.other}", take a copy where the view is made: ${copy}.`;
}
