// The typed data that flows between the compiler's phases:
//   parse notebook → parse tags → analyse Python → build steps and graph → emit.
// Everything here is plain data (JSON-serialisable), so the CLI, the local runner and
// the VS Code extension share it without conversion. Cell indices are 0-based indices
// into the notebook's `cells` array; lines and columns are 1-based within a cell.

import type { Diagnostic } from './diagnostics';

// ---------------------------------------------------------------------------
// Phase 1: the notebook as read from disk

export type CellKind = 'code' | 'markdown' | 'raw';

export interface NotebookCell {
  index: number;
  kind: CellKind;
  /** nbformat 4.5 cell id, when present. */
  id?: string;
  /** The source joined into one string. */
  source: string;
  /** `metadata.tags`, strings only, in their original order. */
  tags: string[];
}

/** A Kale volume from `metadata.kubeflow_notebook.volumes`. */
export interface VolumeSetting {
  name: string;
  mountPoint: string;
  type: 'pv' | 'pvc' | 'new_pvc';
  size?: string;
  storageClass?: string;
  accessModes?: string[];
}

export type DataPassing = 'volume' | 'artifacts';

/** Notebook-level settings, merged from `metadata.kubeflow_notebook` and `metadata.flowbook` (ours win). */
export interface NotebookSettings {
  pipelineName?: string;
  experimentName?: string;
  description?: string;
  image?: string;
  volumes: VolumeSetting[];
  /** Tags applied to every step before its own tags (`steps_defaults`). */
  stepDefaults: string[];
  enableCaching?: boolean;
  /** Whole-pipeline timeout in seconds. */
  timeoutSeconds?: number;
  dataPassing?: DataPassing;
  /** Storage size of the per-run data volume, e.g. `1Gi`. */
  volumeSize?: string;
  storageClass?: string;
  namespace?: string;
}

export interface Notebook {
  path: string;
  nbformat: number;
  nbformatMinor: number;
  cells: NotebookCell[];
  settings: NotebookSettings;
  /** `metadata.kernelspec.name`, if any. */
  kernel?: string;
}

// ---------------------------------------------------------------------------
// Phase 2: tags

export type CellRole = 'imports' | 'functions' | 'parameters' | 'metrics' | 'skip' | 'step';

/** Per-step options that tags (and `steps_defaults`) set. */
export interface StepOptions {
  /** Resource limits by Kubernetes resource name: `cpu`, `memory`, `nvidia.com/gpu`. */
  limits: Record<string, string>;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  image?: string;
  cache?: boolean;
  secrets: SecretRef[];
  retry?: number;
  /** Step timeout in seconds. */
  timeoutSeconds?: number;
}

export interface SecretRef {
  secret: string;
  key: string;
  env: string;
}

export interface CellTags {
  cell: number;
  role?: CellRole;
  /** For role `step`: the step name; undefined means "continue the previous step" (empty `step:`). */
  stepName?: string;
  prev: string[];
  options: StepOptions;
  /** Tags of other tools, kept so the editor can show them. */
  foreign: string[];
}

// ---------------------------------------------------------------------------
// Phase 3: Python analysis of one cell (see src/converter/python)

/** A function or class defined at the top level of a cell. */
export interface Definition {
  name: string;
  kind: 'function' | 'class';
  /** The exact source of the definition, decorators included. */
  source: string;
  /** Names the body reads from the enclosing (module) scope: they must be provided with it. */
  freeNames: string[];
  line: number;
}

export interface ImportInfo {
  /** The top-level module: `sklearn` for `from sklearn.linear_model import X`. */
  module: string;
  line: number;
  /** False for relative imports (`from . import x`). */
  absolute: boolean;
}

/** A reference to a name with its 1-based position in the cell. */
export interface NameRef {
  name: string;
  line: number;
  column: number;
  /**
   * True when the name is read only inside a function or method body defined in the cell
   * (it is needed when the function is called, not when the cell runs) and the cell binds
   * it nowhere at the top level.
   */
  deferred?: boolean;
}

/** A `pip install` line lifted out of the code. */
export interface PipRequirement {
  /** Each requirement as written: `pandas==2.2.1`, `scikit-learn>=1.4`. */
  specs: string[];
  cell: number;
  line: number;
}

/** What the analysis of one code cell found. Cached by source text, so re-analysis is incremental. */
export interface CellAnalysis {
  /** The Python that will run: IPython syntax lowered to plain Python. */
  code: string;
  /** Free names at the top level: read before (or without) being bound in this cell. First occurrence each. */
  reads: NameRef[];
  /** Names bound at the top level (assignment, def, class, import, for/with/except targets, walrus, match captures). */
  binds: string[];
  /** Names that may be changed in place: attribute/subscript assignment, `del x[...]`, a method call on them, passed as call arguments, augmented assignment. */
  mutates: string[];
  /** Names deleted at the top level with `del x`. */
  deletes: string[];
  definitions: Definition[];
  imports: ImportInfo[];
  /** Modules imported with `from M import *`: any name may come from them. */
  starImports: string[];
  pip: PipRequirement[];
  /** Syntax errors, IPython lowering notes (magics dropped, unsupported magics). */
  diagnostics: Diagnostic[];
  /** What the may-modify analysis needs beyond names: aliases, change sites, calls, function summaries. */
  effects: CellEffects;
}

/** A module name an argument is rooted at (`x` in `f(x.a[0])`); inside a function, `param` says it is one of its parameters. */
export interface ArgumentRoot {
  name: string;
  param?: boolean;
}

/**
 * A call of a plain name (`f(x)`, `Net(x)`) or of a method (`obj.train(x)`, `method: true`)
 * whose effect depends on what the callee is: a notebook-defined function's summary decides,
 * anything else may change the objects its arguments name.
 */
export interface CallSite {
  callee: string;
  method?: boolean;
  /** For a method call: the name the receiver is rooted at (`np` in `np.random.shuffle(x)`), when it is one. */
  receiver?: ArgumentRoot;
  line: number;
  /** Positional arguments in order; null for one not rooted at a name (a literal, a call result). */
  args: (ArgumentRoot | null)[];
  /** Keyword arguments rooted at a name, by keyword. */
  keywords: Record<string, ArgumentRoot>;
  /** `*args` or `**kwargs` was passed: every parameter may receive one of these. */
  splat: (ArgumentRoot | null)[];
}

/** Where a cell last changes an object in place, to explain an edge: "models changed through `m.fit` in the loop at cell 8 line 2". */
export interface ChangeSite {
  name: string;
  line: number;
  /** How, in the user's words: "through `m.fit`", "by `X_df['b'] = ...`", "when passed to `scale`". */
  how: string;
  /** The change is in a `for` loop over something: the loop variable may be an alias. */
  inLoop?: boolean;
  /** By `x op= v`: x is bound again, to the object it held when that is a list or an array, so its aliases stay. */
  augmented?: boolean;
}

/** What a notebook-defined function (or a method, named `Class.method`) does to the objects it reaches. */
export interface FunctionSummary {
  name: string;
  line: number;
  /** Parameter names in order (`self` included for methods). */
  params: string[];
  /** Parameters whose objects the body may change in place. */
  mutatedParams: string[];
  /** Module names the body may change in place (`history.append(v)`). */
  mutatedGlobals: string[];
  /** Module names the body rebinds through `global`/`nonlocal`. */
  writtenGlobals: string[];
  /** Module names the body reads (with those of nested functions). */
  reads: string[];
  /** Calls in the body, for summaries that follow calls into other notebook functions. */
  calls: CallSite[];
  /** The body has `yield`: calling it returns a generator. */
  generator: boolean;
  /** Some `return` gives a value that may share an object (a parameter, a global, a local): not provably new. */
  returnsShared?: boolean;
}

/** A value that a later step cannot receive the way the notebook has it. */
export interface SpecialValue {
  name: string;
  line: number;
  kind: 'generator' | 'file' | 'iterator';
  /** When the value is the result of calling a name: decided by the callee (a generator function). */
  callee?: string;
}

/** A call that seeds or draws from global random state (`np.random.seed`, `random.choice`). */
export interface RandomUse {
  kind: 'seed' | 'draw';
  /** The state it uses, as written: `np.random`, `random`, `torch`. */
  state: string;
  /** The call as written, e.g. `np.random.seed`. */
  call: string;
  line: number;
}

export interface CellEffects {
  /** `name` may share objects with the names in `of` (assignment, containers, loop variables over containers). */
  aliases: {
    name: string;
    of: string[];
    line: number;
    /**
     * Plain calls whose result is part of the value (`m = make(x)`): a notebook function that may
     * return an argument or a global, or a notebook class keeping its arguments, makes `name`
     * an alias of `of` (the arguments' roots) too; decided across cells by the may-modify analysis.
     */
    calls?: { callee: string; of: string[] }[];
  }[];
  /**
   * `name` is a view of the data of the names in `of` (`v = df.to_numpy()`, `a[1:3]`, see
   * `viewRoots`): one memory, two objects, which a step boundary splits. `expression` is the
   * value as written (shortened), for messages.
   */
  views: { name: string; of: string[]; line: number; expression: string }[];
  /** The last place the cell changes each name in place (one per name). */
  changes: ChangeSite[];
  /** Top-level calls of plain names whose arguments are not counted as changed yet, and method calls. */
  calls: CallSite[];
  /** Summaries of the functions defined at the top level, and of the methods of classes defined there. */
  functions: FunctionSummary[];
  /** Top-level import statements still binding their names at the end of the cell. */
  importStatements: { names: string[]; line: number; source: string }[];
  specialValues: SpecialValue[];
  random: RandomUse[];
}

// ---------------------------------------------------------------------------
// Phase 4: the pipeline

export type ParameterType = 'int' | 'float' | 'str' | 'bool' | 'NoneType' | 'list' | 'dict';
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface PipelineParameter {
  name: string;
  type: ParameterType;
  default: JsonValue;
  /** The literal as written in the notebook, e.g. `0.1`, `'adam'`, `[1, 2]`. */
  literal: string;
  cell: number;
  line: number;
}

export interface Metric {
  name: string;
  /** The step whose outputs hold the value. */
  step: string;
  cell: number;
  line: number;
}

/** Why an edge exists, for "why does train depend on load?". */
export type EdgeReason =
  | { kind: 'data'; names: string[]; changes?: EdgeChange[] }
  | { kind: 'prev'; cell: number }
  | { kind: 'order' };

/** Why the upstream step provides a name it did not bind: it changed the object in place. */
export interface EdgeChange {
  name: string;
  cell: number;
  line: number;
  /** "through `m.fit` in the loop", "by calling `log(...)`", "through its alias `X_df` (by `X_df['b'] = ...`)". */
  how: string;
}

export interface Edge {
  from: string;
  to: string;
  reasons: EdgeReason[];
}

export interface StepInput {
  name: string;
  /** The providing step. */
  from: string;
}

/** A function or class re-defined in a consuming step by its source. */
export interface CarriedDefinition {
  name: string;
  kind: 'function' | 'class';
  from: string;
  source: string;
  /** Where the definition is in the notebook, so tracebacks inside it map back. */
  cell: number;
  line: number;
}

/**
 * An import statement from an earlier step's cell that a later step runs again before it
 * loads its inputs: module objects are never passed between steps as data.
 */
export interface ImportReplay {
  /** The step whose cell holds the import. */
  from: string;
  cell: number;
  /** 1-based line of the statement in that cell. */
  line: number;
  /** The statement's source, e.g. `import matplotlib.pyplot as plt`. */
  source: string;
}

export interface Step {
  /** The name as the user wrote it in `step:NAME`. */
  name: string;
  /** DNS-1123 name used for the Argo template and task. */
  templateName: string;
  cells: number[];
  /** Upstream step names (union of `prev:`, data and order edges), in notebook order. */
  after: string[];
  inputs: StepInput[];
  /** Names this step saves because a later step or a metric reads them from here. */
  outputs: string[];
  /** Pipeline parameters the step's code reads. */
  parameters: string[];
  /**
   * Functions and classes re-defined by source. Always empty now: functions and classes
   * defined in a step are values passed on like any other (pickled by value), because
   * re-creating them changes their meaning (defaults, class state, function attributes).
   */
  definitions: CarriedDefinition[];
  /** Imports from earlier steps' cells that this step re-runs (filled by the analysis, emitted before inputs load). */
  importReplays?: ImportReplay[];
  /** Metrics this step writes. */
  metrics: string[];
  /** Top-level modules imported by the step's own cells. */
  imports: string[];
  options: StepOptions;
}

/** A piece of generated Python that came from one notebook cell: lets a traceback line be mapped back. */
export interface CodeChunk {
  cell: number;
  /** The lowered code of the cell. */
  code: string;
}

export interface Pipeline {
  name: string;
  description?: string;
  experiment?: string;
  notebookPath: string;
  parameters: PipelineParameter[];
  /** Code of `imports` cells, in order; prepended to every step. */
  imports: CodeChunk[];
  /** Code of `functions` cells, in order; prepended to every step after the imports. */
  functions: CodeChunk[];
  steps: Step[];
  /** Code of each step's cells, by step name, in notebook order. */
  stepCode: Record<string, CodeChunk[]>;
  edges: Edge[];
  metrics: Metric[];
  requirements: PipRequirement[];
  /** All top-level modules imported anywhere (imports/functions cells and steps), sorted. */
  modules: string[];
  settings: NotebookSettings;
  diagnostics: Diagnostic[];
}
