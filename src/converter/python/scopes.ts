// Scope analysis of one lowered cell: which names it reads from outside, binds, may mutate
// or deletes at the top level, its top-level definitions with their free names, and imports.
// Python's rules: function bodies run later (their reads are "deferred"), class bodies,
// comprehensions and lambdas run at once; comprehension targets and lambda parameters are
// local; walrus binds in the enclosing non-comprehension scope; `global`/`nonlocal` redirect
// bindings. The walk uses an explicit task stack in evaluation order, never recursion.

import type {
  ArgumentRoot, CallSite, CellAnalysis, CellEffects, ChangeSite, Definition, FunctionSummary, ImportInfo, NameRef, RandomUse, SpecialValue,
} from '../ir';
import type { PyNode } from './grammar';
import { isReadOnlyFunction, isReadOnlyMethod } from './pureCalls';
import { sharedRoots, viewRoots } from './sharing';

/** Targets unpacking a tuple (`X, y = ...`, `(a, b) = ...`, `[a, b] = ...`). */
const TUPLE_TARGETS = new Set(['pattern_list', 'tuple_pattern', 'list_pattern']);

/** What the scope walk finds: the analysis of a cell, less what lowering adds. */
export type ScopeFacts = Pick<CellAnalysis, 'reads' | 'binds' | 'mutates' | 'deletes' | 'definitions' | 'imports' | 'starImports' | 'effects'>;

type ScopeKind = 'module' | 'class' | 'function' | 'lambda' | 'comprehension' | 'annotation';

interface Scope {
  kind: ScopeKind;
  parent: Scope | null;
  /** Names bound here. For scopes that run at once, the names bound so far. */
  bound: Set<string>;
  globals: Set<string> | null;
  nonlocals: Set<string> | null;
  /** True inside a function body (or a lazily evaluated `type` alias): its reads happen later. */
  deferred: boolean;
  /** The summary of the top-level function or method this scope is part of. */
  summary?: SummaryDraft;
  /** For a class body: the class name, which names its methods' summaries. */
  className?: string;
}

/** A function summary being built; `scope` is the function's own scope (its parameters live there). */
interface SummaryDraft {
  out: FunctionSummary;
  scope: Scope;
  params: Set<string>;
  mutated: Set<string>;
  mutatedGlobals: Set<string>;
  writtenGlobals: Set<string>;
  /** The top-level definition whose free names are the summary's reads (a method reads what its class reads). */
  definition: PyNode;
}

/** A name used inside a function body, resolved once the whole cell is walked (a later assignment makes it local). */
interface PendingName {
  name: string;
  scope: Scope;
}

const LOAD = 0;
const STORE = 1;
const DEL = 2;
const PATTERN = 3;
type Mode = typeof LOAD | typeof STORE | typeof DEL | typeof PATTERN;

interface Visit {
  node: PyNode;
  mode: Mode;
  scope: Scope;
}
type Task = Visit | (() => void);

/** A read that resolved to the module scope. */
interface ModuleRead {
  name: string;
  node: PyNode;
  deferred: boolean;
  /** For immediate reads: whether the cell had bound the name by then. */
  boundBefore: boolean;
}

interface TopLevelDefinition {
  name: string;
  kind: 'function' | 'class';
  outer: PyNode;
}

const COMPREHENSIONS = new Set(['list_comprehension', 'set_comprehension', 'dictionary_comprehension', 'generator_expression']);
const TARGET_SEQUENCES = new Set([
  'tuple', 'list', 'pattern_list', 'tuple_pattern', 'list_pattern', 'parenthesized_expression', 'expression_list',
  'as_pattern_target', 'list_splat_pattern', 'list_splat',
]);
const NO_NAMES = new Set([
  'string_content', 'escape_sequence', 'escape_interpolation', 'integer', 'float', 'true', 'false', 'none',
  'ellipsis', 'string_start', 'string_end', 'type_conversion', 'keyword_separator', 'positional_separator',
  'pass_statement', 'break_statement', 'continue_statement', 'wildcard_import',
]);

/** Calls that seed global random state, and calls on `*.random` that do not draw from it. */
const SEEDS = new Set(['seed', 'manual_seed', 'manual_seed_all', 'set_seed', 'set_random_seed']);
const NOT_DRAWS = new Set(['default_rng', 'RandomState', 'Generator', 'get_state', 'set_state', 'getstate', 'setstate', 'SeedSequence', 'PCG64', 'MT19937', 'Random', 'SystemRandom']);
const TORCH_DRAWS = new Set(['rand', 'randn', 'randint', 'randperm', 'normal', 'bernoulli', 'multinomial', 'poisson', 'rand_like', 'randn_like', 'randint_like']);
/** Calls whose result is an iterator a later step would receive partly or wholly consumed. */
const ITERATOR_CALLS = new Set(['iter', 'map', 'filter', 'zip', 'enumerate', 'reversed']);

function field(node: PyNode, name: string): PyNode | undefined {
  for (const child of node.children) if (child.field === name) return child;
  return undefined;
}

/** The name an attribute/subscript/method-call chain starts from: `x` in `x.a[0].f().b`. */
function rootName(node: PyNode | undefined): PyNode | undefined {
  let n = node;
  while (n) {
    switch (n.type) {
      case 'identifier':
        return n;
      case 'attribute':
        n = field(n, 'object');
        break;
      case 'subscript':
        n = field(n, 'value');
        break;
      case 'call': {
        // `x.get('a')` may hand out part of x; the result of a plain call `f(...)` is not f.
        const fn = field(n, 'function');
        n = fn?.type === 'attribute' ? fn : undefined;
        break;
      }
      case 'parenthesized_expression':
        n = n.children.length === 1 ? n.children[0] : undefined;
        break;
      default:
        return undefined;
    }
  }
  return undefined;
}

/** Every identifier below `node` (for parameter patterns). */
function identifiersIn(node: PyNode): PyNode[] {
  const out: PyNode[] = [];
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop() as PyNode;
    if (n.type === 'identifier') out.push(n);
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i] as PyNode);
  }
  return out;
}

interface Parameters {
  names: PyNode[];
  defaults: PyNode[];
  annotations: PyNode[];
}

function parametersOf(params: PyNode | undefined): Parameters {
  const result: Parameters = { names: [], defaults: [], annotations: [] };
  if (!params) return result;
  for (const p of params.children) {
    switch (p.type) {
      case 'identifier':
        result.names.push(p);
        break;
      case 'typed_parameter':
      case 'default_parameter':
      case 'typed_default_parameter':
        for (const part of p.children) {
          if (part.field === 'type') result.annotations.push(part);
          else if (part.field === 'value') result.defaults.push(part);
          else result.names.push(...identifiersIn(part));
        }
        break;
      case 'list_splat_pattern':
      case 'dictionary_splat_pattern':
      case 'tuple_pattern':
        result.names.push(...identifiersIn(p));
        break;
      case 'keyword_separator':
      case 'positional_separator':
        break;
      default:
        result.defaults.push(p);
    }
  }
  return result;
}

class ScopeWalker {
  private readonly module: Scope = { kind: 'module', parent: null, bound: new Set(), globals: null, nonlocals: null, deferred: false };
  private readonly stack: Task[] = [];
  private readonly binds = new Set<string>();
  private readonly importBound = new Set<string>();
  private readonly mutates = new Set<string>();
  private readonly deletes = new Set<string>();
  private readonly moduleReads: ModuleRead[] = [];
  private readonly pendingReads: { name: string; node: PyNode; scope: Scope }[] = [];
  private readonly globalBinds: { name: string; offset: number }[] = [];
  private readonly definitions: TopLevelDefinition[] = [];
  private readonly imports: ImportInfo[] = [];
  private readonly starImports: string[] = [];
  private readonly aliases: CellEffects['aliases'] = [];
  private readonly changes = new Map<string, ChangeSite>();
  private readonly calls: CallSite[] = [];
  private readonly summaries: SummaryDraft[] = [];
  private readonly pendingMutations: (PendingName & { summary: SummaryDraft })[] = [];
  private readonly pendingCalls: {
    site: CallSite; roots: (PendingName | null)[]; keywords: [string, PendingName][]; splat: (PendingName | null)[]; summary: SummaryDraft; receiver: PendingName | null;
  }[] = [];
  private readonly importStatements: (CellEffects['importStatements'][number])[] = [];
  private readonly specialValues: SpecialValue[] = [];
  private readonly views: CellEffects['views'] = [];
  private readonly random: RandomUse[] = [];
  /** Byte ranges of top-level `for` loop bodies, to say a change happens "in the loop". */
  private readonly loops: { start: number; end: number }[] = [];
  /** After `from __future__ import annotations`: annotations are kept as strings, never evaluated, so they read nothing. */
  private lazyAnnotations = false;

  constructor(private readonly code: string) {}

  private text(node: PyNode): string {
    return this.code.slice(node.start, node.end);
  }

  run(root: PyNode): ScopeFacts {
    this.stack.push({ node: root, mode: LOAD, scope: this.module });
    while (this.stack.length > 0) {
      const task = this.stack.pop() as Task;
      if (typeof task === 'function') task();
      else this.visit(task.node, task.mode, task.scope);
    }
    for (const p of this.pendingReads) {
      if (this.resolvesToModule(p.name, p.scope)) this.moduleReads.push({ name: p.name, node: p.node, deferred: true, boundBefore: false });
    }
    for (const m of this.pendingMutations) {
      const root = this.classify(m);
      if (root?.param) m.summary.mutated.add(root.name);
      else if (root) m.summary.mutatedGlobals.add(root.name);
    }
    for (const c of this.pendingCalls) {
      c.site.args = c.roots.map((r) => (r ? this.classify(r) : null));
      for (const [k, r] of c.keywords) {
        const root = this.classify(r);
        if (root) c.site.keywords[k] = root;
      }
      c.site.splat = c.splat.map((r) => (r ? this.classify(r) : null));
      const receiver = c.receiver && this.classify(c.receiver);
      if (receiver) c.site.receiver = receiver;
      c.summary.out.calls.push(c.site);
    }
    return this.facts();
  }

  /** Schedules tasks to run in the given order, before anything already scheduled. */
  private then(...tasks: (Task | undefined)[]): void {
    for (let i = tasks.length - 1; i >= 0; i--) {
      const t = tasks[i];
      if (t !== undefined) this.stack.push(t);
    }
  }

  private each(nodes: readonly PyNode[], mode: Mode, scope: Scope): void {
    for (let i = nodes.length - 1; i >= 0; i--) this.stack.push({ node: nodes[i] as PyNode, mode, scope });
  }

  private newScope(kind: ScopeKind, parent: Scope, deferred: boolean): Scope {
    const scope: Scope = { kind, parent, bound: new Set(), globals: null, nonlocals: null, deferred };
    if (parent.summary) scope.summary = parent.summary;
    return scope;
  }

  /** A name used in a function body: a parameter of the summarised function, a module name, or a local (null). */
  private classify(p: PendingName): ArgumentRoot | null {
    if (this.resolvesToModule(p.name, p.scope)) return { name: p.name };
    const summary = p.scope.summary;
    if (!summary || !summary.params.has(p.name)) return null;
    // The nearest scope binding the name must be the function's own (a nested parameter of the same name is another object).
    for (let s: Scope | null = p.scope; s; s = s.parent) {
      if (s.bound.has(p.name) && s.kind !== 'class') return s === summary.scope ? { name: p.name, param: true } : null;
    }
    return null;
  }

  // -------------------------------------------------------------------------
  // Names

  /** Whether `name`, looked up from `scope`, lands in the module scope (Python's LEGB, classes skipped from inside). */
  private resolvesToModule(name: string, scope: Scope): boolean {
    let s: Scope = scope;
    let inner: Scope | null = null;
    for (;;) {
      if (s.kind === 'module' || s.globals?.has(name)) return true;
      if (s.nonlocals?.has(name)) return false;
      // A class body's names are visible in the body itself, not in functions or comprehensions inside it.
      const visible = s.kind !== 'class' || inner === null || inner.kind === 'annotation';
      if (visible && s.bound.has(name)) return false;
      inner = s;
      s = s.parent as Scope;
    }
  }

  private read(node: PyNode, scope: Scope): void {
    const name = this.text(node);
    if (scope.deferred) {
      this.pendingReads.push({ name, node, scope });
    } else if (this.resolvesToModule(name, scope)) {
      this.moduleReads.push({ name, node, deferred: false, boundBefore: this.module.bound.has(name) });
    }
  }

  private bind(node: PyNode, scope: Scope, isImport = false): void {
    const name = this.text(node);
    if (scope.kind !== 'module') {
      if (scope.nonlocals?.has(name)) return;
      if (!scope.globals?.has(name)) {
        scope.bound.add(name);
        return;
      }
      this.globalBinds.push({ name, offset: node.start });
      scope.summary?.writtenGlobals.add(name);
    }
    this.module.bound.add(name);
    this.binds.add(name);
    if (isImport) this.importBound.add(name);
    else this.importBound.delete(name);
  }

  /**
   * Records that the object named by `root` may change in place: at once, when it means a
   * module name; in a function body, in the function's summary (a parameter or a global).
   * `how` says how, for edge reasons: `m.fit`, `X_df['b'] = ...`.
   */
  private mutate(root: PyNode | undefined, scope: Scope, how: string, augmented = false): void {
    if (!root) return;
    const name = this.text(root);
    if (scope.deferred) {
      if (scope.summary) this.pendingMutations.push({ name, scope, summary: scope.summary });
      return;
    }
    if (this.importBound.has(name)) return; // `np.random.seed(1)` does not make `np` data
    if (!this.resolvesToModule(name, scope)) return;
    this.mutates.add(name);
    const site: ChangeSite = { name, line: root.line, how };
    if (this.loops.some((l) => root.start >= l.start && root.start < l.end)) site.inLoop = true;
    if (augmented) site.augmented = true;
    this.changes.delete(name);
    this.changes.set(name, site);
  }

  /** Source text for messages, on one line and at most 40 characters. */
  private snippet(node: PyNode): string {
    const t = this.text(node).replace(/\s+/g, ' ');
    return t.length > 40 ? `${t.slice(0, 37)}...` : t;
  }

  // -------------------------------------------------------------------------
  // The walk

  private visit(node: PyNode, mode: Mode, scope: Scope): void {
    if (mode === STORE) return this.store(node, scope);
    if (mode === DEL) return this.del(node, scope);
    if (mode === PATTERN) return this.pattern(node, scope);
    switch (node.type) {
      case 'identifier':
        return this.read(node, scope);
      case 'attribute': {
        const object = field(node, 'object');
        if (object) this.then({ node: object, mode: LOAD, scope });
        return;
      }
      case 'keyword_argument': {
        const value = field(node, 'value');
        if (value) this.then({ node: value, mode: LOAD, scope });
        return;
      }
      case 'member_type':
      case 'dotted_name': {
        const first = node.children[0];
        if (first) this.then({ node: first, mode: LOAD, scope });
        return;
      }
      case 'call':
        return this.call(node, scope);
      case 'assignment':
        return this.assignment(node, scope);
      case 'augmented_assignment':
        return this.augmentedAssignment(node, scope);
      case 'named_expression':
        return this.walrus(node, scope);
      case 'for_statement':
        return this.forStatement(node, scope);
      case 'as_pattern':
        // `with a as b`, `except E as e`; in `case` patterns PATTERN mode handles it.
        for (let i = node.children.length - 1; i >= 0; i--) {
          const child = node.children[i] as PyNode;
          this.stack.push({ node: child, mode: child.field === 'alias' ? STORE : LOAD, scope });
        }
        return;
      case 'decorated_definition':
        return this.decorated(node, scope);
      case 'function_definition':
        return this.functionDefinition(node, node, [], scope);
      case 'class_definition':
        return this.classDefinition(node, node, [], scope);
      case 'lambda':
        return this.lambda(node, scope);
      case 'yield':
        if (scope.summary && scope === scope.summary.scope) scope.summary.out.generator = true;
        return this.each(node.children, LOAD, scope);
      case 'return_statement':
        // Provably new only when no name at all can reach the value (`return {'acc': accuracy_score(y, p)}`).
        if (scope.summary && scope === scope.summary.scope && node.children.some((v) => sharedRoots(v, { text: (n) => this.text(n), isData: () => true }).length > 0)) {
          scope.summary.out.returnsShared = true;
        }
        return this.each(node.children, LOAD, scope);
      case 'global_statement':
      case 'nonlocal_statement':
        if (scope.kind !== 'module') {
          const names = node.type === 'global_statement' ? (scope.globals ??= new Set()) : (scope.nonlocals ??= new Set());
          for (const child of node.children) if (child.type === 'identifier') names.add(this.text(child));
        }
        return;
      case 'delete_statement':
        return this.each(node.children, DEL, scope);
      case 'import_statement':
      case 'import_from_statement':
      case 'future_import_statement':
        return this.importStatement(node, scope);
      case 'type_alias_statement':
        return this.typeAlias(node, scope);
      case 'case_clause':
        for (let i = node.children.length - 1; i >= 0; i--) {
          const child = node.children[i] as PyNode;
          this.stack.push({ node: child, mode: child.type === 'case_pattern' ? PATTERN : LOAD, scope });
        }
        return;
      default:
        if (COMPREHENSIONS.has(node.type)) return this.comprehension(node, scope);
        if (NO_NAMES.has(node.type)) return;
        return this.each(node.children, LOAD, scope);
    }
  }

  private store(node: PyNode, scope: Scope): void {
    if (node.type === 'identifier') return this.bind(node, scope);
    if (node.type === 'attribute' || node.type === 'subscript') {
      this.mutate(rootName(node), scope, `by \`${this.snippet(node)} = ...\``);
      return this.then({ node, mode: LOAD, scope });
    }
    if (TARGET_SEQUENCES.has(node.type)) return this.each(node.children, STORE, scope);
    this.then({ node, mode: LOAD, scope }); // not a target (a syntax error): still read what it names
  }

  private del(node: PyNode, scope: Scope): void {
    if (node.type === 'identifier') {
      this.read(node, scope);
      if (scope.kind === 'module') this.deletes.add(this.text(node));
      else if (!scope.globals?.has(this.text(node))) scope.bound.add(this.text(node));
      return;
    }
    if (node.type === 'attribute' || node.type === 'subscript') {
      this.mutate(rootName(node), scope, `by \`del ${this.snippet(node)}\``);
      return this.then({ node, mode: LOAD, scope });
    }
    if (TARGET_SEQUENCES.has(node.type)) return this.each(node.children, DEL, scope);
    this.then({ node, mode: LOAD, scope });
  }

  /** `case` patterns: bare names capture (bind); dotted names and class names are read. */
  private pattern(node: PyNode, scope: Scope): void {
    const children = node.children;
    switch (node.type) {
      case 'identifier':
        return this.bind(node, scope);
      case 'dotted_name': {
        const first = children[0];
        if (!first) return;
        if (children.length === 1) return this.bind(first, scope);
        return this.read(first, scope);
      }
      case 'class_pattern': {
        const [cls, ...rest] = children;
        if (cls) this.then({ node: cls.children[0] ?? cls, mode: LOAD, scope });
        return this.each(rest, PATTERN, scope);
      }
      case 'keyword_pattern':
        return this.each(children.slice(1), PATTERN, scope);
      case 'dict_pattern':
        for (let i = children.length - 1; i >= 0; i--) {
          const child = children[i] as PyNode;
          this.stack.push({ node: child, mode: child.field === 'key' ? LOAD : PATTERN, scope });
        }
        return;
      case 'case_pattern':
      case 'as_pattern':
      case 'splat_pattern':
      case 'list_pattern':
      case 'tuple_pattern':
      case 'union_pattern':
        return this.each(children, PATTERN, scope);
      case 'string':
      case 'concatenated_string':
      case 'integer':
      case 'float':
      case 'true':
      case 'false':
      case 'none':
      case 'complex_pattern':
        return;
      default:
        return this.then({ node, mode: LOAD, scope });
    }
  }

  private call(node: PyNode, scope: Scope): void {
    const fn = field(node, 'function');
    const args = field(node, 'arguments');
    // `x.method()` and `x.a.method()` may change x; so may passing x (or x.a, x[i]) to a call,
    // unless the call is known to only read (`df.head()`, `len(x)`) and has no `inplace=True`.
    // A call of a plain name (`f(x)`) is recorded instead: when f is a notebook function, its
    // summary decides what it changes (the pipeline builder applies it); otherwise x may change.
    const argList = args?.type === 'argument_list' ? args.children : [];
    const inplace = argList.some((a) => a.type === 'keyword_argument' && this.isInplaceTrue(a));
    const callee = fn?.type === 'attribute' ? field(fn, 'attribute') : fn;
    const calleeName = callee?.type === 'identifier' ? this.text(callee) : '';
    const method = fn?.type === 'attribute';
    if (method && fn && !isReadOnlyMethod(calleeName, inplace)) this.mutate(rootName(field(fn, 'object')), scope, `through \`${this.snippet(fn)}\``);
    const readOnly = isReadOnlyFunction(calleeName, inplace);
    const plain = fn?.type === 'identifier' && (scope.deferred || this.resolvesToModule(calleeName, scope));
    if (plain || (method && calleeName !== '')) {
      const receiver = method && fn ? rootName(field(fn, 'object')) : undefined;
      this.recordCall(calleeName, method, node, readOnly ? [] : argList, scope, receiver);
    }
    // Arguments of plain and method calls are decided where the callee is known (mayModify.ts).
    if (!readOnly && !plain && !(method && calleeName !== '')) {
      for (const value of this.argumentValues(argList)) this.mutate(rootName(value), scope, `when passed to \`${fn ? this.snippet(fn) : 'a call'}\``);
    }
    if (!scope.deferred && fn) this.randomUse(fn);
    this.then(fn && { node: fn, mode: LOAD, scope }, args && { node: args, mode: LOAD, scope });
  }

  /** The argument expressions of a call that name an object: `x`, `x.a`, `x[0]`, `*xs`, `k=x`. */
  private argumentValues(argList: readonly PyNode[]): PyNode[] {
    const out: PyNode[] = [];
    for (const arg of argList) {
      let value: PyNode | undefined = arg;
      if (arg.type === 'keyword_argument') value = field(arg, 'value');
      else if (arg.type === 'list_splat' || arg.type === 'dictionary_splat') value = arg.children[0];
      if (value && (value.type === 'identifier' || value.type === 'attribute' || value.type === 'subscript')) out.push(value);
    }
    return out;
  }

  /** Records a call site: at the top level for the pipeline builder, in a function body for its summary. */
  private recordCall(callee: string, method: boolean, node: PyNode, argList: readonly PyNode[], scope: Scope, receiver?: PyNode): void {
    const site: CallSite = { callee, line: node.line, args: [], keywords: {}, splat: [] };
    if (method) site.method = true;
    const receiverName: PendingName | null = receiver ? { name: this.text(receiver), scope } : null;
    const rootOf = (value: PyNode | undefined): PendingName | null => {
      if (!value || !(value.type === 'identifier' || value.type === 'attribute' || value.type === 'subscript')) return null;
      const root = rootName(value);
      return root ? { name: this.text(root), scope } : null;
    };
    const roots: (PendingName | null)[] = [];
    const keywords: [string, PendingName][] = [];
    const splat: (PendingName | null)[] = [];
    for (const arg of argList) {
      if (arg.type === 'keyword_argument') {
        const k = field(arg, 'name');
        const r = rootOf(field(arg, 'value'));
        if (k && r) keywords.push([this.text(k), r]);
      } else if (arg.type === 'list_splat' || arg.type === 'dictionary_splat') {
        splat.push(rootOf(arg.children[0]));
      } else if (arg.type !== 'comment') {
        roots.push(rootOf(arg));
      }
    }
    if (scope.deferred) {
      if (scope.summary) this.pendingCalls.push({ site, roots, keywords, splat, summary: scope.summary, receiver: receiverName });
      return;
    }
    if (receiverName && this.resolvesToModule(receiverName.name, scope)) site.receiver = { name: receiverName.name };
    const atModule = (r: PendingName | null): ArgumentRoot | null =>
      r && !this.importBound.has(r.name) && this.resolvesToModule(r.name, r.scope) ? { name: r.name } : null;
    site.args = roots.map(atModule);
    for (const [k, r] of keywords) {
      const root = atModule(r);
      if (root) site.keywords[k] = root;
    }
    site.splat = splat.map(atModule);
    this.calls.push(site);
  }

  /** Global random state: `np.random.seed(0)` seeds `np.random`; `np.random.rand()` and `random.choice(x)` draw. */
  private randomUse(fn: PyNode): void {
    if (fn.type !== 'attribute') return;
    const call = this.text(fn).replace(/\s+/g, '');
    const m = /^((?:[A-Za-z_]\w*\.)*?(?:random|torch|cuda))\.(\w+)$/.exec(call);
    if (!m) return;
    const state = m[1] as string;
    const fnName = m[2] as string;
    const line = fn.line;
    if (SEEDS.has(fnName)) this.random.push({ kind: 'seed', state, call, line });
    else if (state.endsWith('random') ? !NOT_DRAWS.has(fnName) : TORCH_DRAWS.has(fnName)) this.random.push({ kind: 'draw', state, call, line });
  }

  private isInplaceTrue(keywordArgument: PyNode): boolean {
    const name = field(keywordArgument, 'name');
    return name !== undefined && this.text(name) === 'inplace' && field(keywordArgument, 'value')?.type === 'true';
  }

  private assignment(node: PyNode, scope: Scope): void {
    // `a = b = value`: the grammar nests the chain to the right; the value runs first, then targets left to right.
    const targets: PyNode[] = [];
    let annotation: PyNode | undefined;
    let value: PyNode | undefined;
    for (let current: PyNode | undefined = node; current; ) {
      const left = field(current, 'left');
      if (left) targets.push(left);
      annotation ??= field(current, 'type');
      const right = field(current, 'right');
      if (right?.type === 'assignment') current = right;
      else {
        value = right;
        current = undefined;
      }
    }
    if (value && scope.kind === 'module') this.assignmentEffects(targets, value, scope);
    if (value) {
      const tasks: Task[] = [{ node: value, mode: LOAD, scope }];
      if (annotation && !this.lazyAnnotations) tasks.push({ node: annotation, mode: LOAD, scope });
      for (const target of targets) tasks.push({ node: target, mode: STORE, scope });
      return this.then(...tasks);
    }
    // `x: int` binds nothing at module or class level; in a function it makes x local.
    const target = targets[0];
    this.then(annotation && !this.lazyAnnotations ? { node: annotation, mode: LOAD, scope } : undefined);
    if (!target) return;
    if (target.type === 'identifier') {
      if (scope.kind === 'function') this.bind(target, scope);
    } else {
      this.then({ node: target, mode: LOAD, scope });
    }
  }

  /** At the top level: `X_df = df` and `data = [a, b]` make aliases; a generator or open file bound to a name is noted. */
  private assignmentEffects(targets: PyNode[], value: PyNode, scope: Scope): void {
    const calls: { callee: string; of: string[] }[] = [];
    const of = this.aliasRoots(value, scope, calls);
    for (const t of targets) {
      // `obj.df = df` puts df inside obj: obj and df share it.
      const names = t.type === 'attribute' || t.type === 'subscript' ? [rootName(t)].filter((n): n is PyNode => n !== undefined) : identifiersIn(t);
      for (const id of names) this.alias(this.text(id), of, value.line, calls);
    }
    this.viewEffects(targets, value, scope);
    const target = targets.length === 1 ? targets[0] : undefined;
    if (target?.type !== 'identifier') return;
    const name = this.text(target);
    if (value.type === 'generator_expression') {
      this.specialValues.push({ name, line: target.line, kind: 'generator' });
    } else if (value.type === 'call') {
      const fn = field(value, 'function');
      if (fn?.type !== 'identifier') return;
      const callee = this.text(fn);
      if (callee === 'open') this.specialValues.push({ name, line: target.line, kind: 'file' });
      else if (ITERATOR_CALLS.has(callee)) this.specialValues.push({ name, line: target.line, kind: 'iterator' });
      else if (!isReadOnlyFunction(callee, false)) this.specialValues.push({ name, line: target.line, kind: 'generator', callee });
    }
  }

  private alias(name: string, of: string[], line: number, calls: { callee: string; of: string[] }[] = []): void {
    const others = of.filter((n) => n !== name);
    if (calls.length > 0) this.aliases.push({ name, of: others, line, calls: calls.map((c) => ({ callee: c.callee, of: c.of.filter((n) => n !== name) })) });
    else if (others.length > 0) this.aliases.push({ name, of: others, line });
  }

  /** The module names whose objects the value of `node` may share (see `sharing.ts`); plain calls go to `calls`. */
  private aliasRoots(node: PyNode, scope: Scope, calls?: { callee: string; of: string[] }[]): string[] {
    return sharedRoots(node, {
      text: (n) => this.text(n),
      isData: (name) => !this.importBound.has(name) && this.resolvesToModule(name, scope),
      onCall: calls && ((callee, of) => calls.push({ callee, of })),
    });
  }

  /**
   * `v = df.to_numpy()` makes v a view of df; `X, y = a[:, :-1], a[:, -1]` pairs the names with
   * the values. Other tuple targets (`X, y = split(a)`) are not followed.
   */
  private viewEffects(targets: PyNode[], value: PyNode, scope: Scope): void {
    const items = (n: PyNode) => n.children.filter((c) => c.type !== ',' && c.type !== '(' && c.type !== ')' && c.type !== '[' && c.type !== ']' && c.type !== 'comment');
    const pairs: [PyNode, PyNode][] = [];
    for (const t of targets) {
      if (t.type === 'identifier') pairs.push([t, value]);
      else if (TUPLE_TARGETS.has(t.type) && (value.type === 'expression_list' || value.type === 'tuple')) {
        const names = items(t);
        const values = items(value);
        if (names.length === values.length) names.forEach((n, i) => n.type === 'identifier' && pairs.push([n, values[i] as PyNode]));
      }
    }
    for (const [target, v] of pairs) {
      const name = this.text(target);
      const of = this.viewRoots(v, scope).filter((n) => n !== name);
      if (of.length > 0) this.views.push({ name, of, line: v.line, expression: this.snippet(v) });
    }
  }

  /** The module names the value of `node` may be a view of (see `sharing.ts`). */
  private viewRoots(node: PyNode, scope: Scope): string[] {
    return viewRoots(node, {
      text: (n) => this.text(n),
      isData: (name) => !this.importBound.has(name) && this.resolvesToModule(name, scope),
    });
  }

  private augmentedAssignment(node: PyNode, scope: Scope): void {
    // `x += v` reads x, evaluates v, then writes x; the object x names may change in place.
    const left = field(node, 'left');
    const right = field(node, 'right');
    if (!left) return this.each(node.children, LOAD, scope);
    this.then(
      { node: left, mode: LOAD, scope },
      right && { node: right, mode: LOAD, scope },
      () => {
        if (left.type === 'identifier') {
          this.bind(left, scope);
          this.mutate(left, scope, `by \`${this.snippet(left)} ${this.operator(node)} ...\``, true);
        } else {
          this.then({ node: left, mode: STORE, scope });
        }
      },
    );
  }

  private operator(node: PyNode): string {
    const op = field(node, 'operator');
    return op ? this.text(op) : '+=';
  }

  private walrus(node: PyNode, scope: Scope): void {
    const name = field(node, 'name');
    const value = field(node, 'value');
    // PEP 572: the target binds in the nearest scope that is not a comprehension.
    let target = scope;
    while (target.kind === 'comprehension' && target.parent) target = target.parent;
    this.then(value && { node: value, mode: LOAD, scope }, name && (() => this.bind(name, target)));
  }

  private forStatement(node: PyNode, scope: Scope): void {
    // The iterable runs before the target is bound; then body and `else`.
    const iterables = node.children.filter((c) => c.field === 'right');
    const targets = node.children.filter((c) => c.field === 'left');
    const rest = node.children.filter((c) => c.field !== 'right' && c.field !== 'left');
    if (scope.kind === 'module') {
      // `for d in data:` and `for k, m in models.items():`: d and m are the objects in the container.
      this.loops.push({ start: node.start, end: node.end });
      const calls: { callee: string; of: string[] }[] = [];
      const of = iterables.flatMap((i) => this.aliasRoots(i, scope, calls));
      for (const t of targets) for (const id of identifiersIn(t)) this.alias(this.text(id), of, node.line, calls);
    }
    this.each(rest, LOAD, scope);
    this.each(targets, STORE, scope);
    this.each(iterables, LOAD, scope);
  }

  private comprehension(node: PyNode, scope: Scope): void {
    const clauses = node.children.filter((c) => c.type === 'for_in_clause' || c.type === 'if_clause');
    const body = node.children.filter((c) => c.type !== 'for_in_clause' && c.type !== 'if_clause');
    const first = clauses[0];
    if (!first || first.type !== 'for_in_clause') return this.each(node.children, LOAD, scope);
    // The first iterable runs in the enclosing scope; everything else in the comprehension's own.
    const inner = this.newScope('comprehension', scope, scope.deferred);
    const tasks: Task[] = [];
    clauses.forEach((clause, k) => {
      if (clause.type === 'if_clause') {
        for (const c of clause.children) tasks.push({ node: c, mode: LOAD, scope: inner });
        return;
      }
      for (const c of clause.children) if (c.field === 'right') tasks.push({ node: c, mode: LOAD, scope: k === 0 ? scope : inner });
      for (const c of clause.children) if (c.field !== 'right') tasks.push({ node: c, mode: c.field === 'left' ? STORE : LOAD, scope: inner });
    });
    for (const c of body) tasks.push({ node: c, mode: LOAD, scope: inner });
    this.then(...tasks);
  }

  private lambda(node: PyNode, scope: Scope): void {
    const params = parametersOf(field(node, 'parameters'));
    const body = field(node, 'body');
    const inner = this.newScope('lambda', scope, scope.deferred);
    for (const name of params.names) inner.bound.add(this.text(name));
    // Defaults run in the enclosing scope when the lambda is created; the body is taken as run
    // at once too (a lambda is usually called right away, e.g. by `apply`).
    const tasks: Task[] = params.defaults.map((d) => ({ node: d, mode: LOAD, scope }));
    if (body) tasks.push({ node: body, mode: LOAD, scope: inner });
    this.then(...tasks);
  }

  private decorated(node: PyNode, scope: Scope): void {
    const decorators = node.children.filter((c) => c.type === 'decorator');
    const definition = field(node, 'definition');
    if (definition?.type === 'function_definition') return this.functionDefinition(definition, node, decorators, scope);
    if (definition?.type === 'class_definition') return this.classDefinition(definition, node, decorators, scope);
    this.each(node.children, LOAD, scope);
  }

  /** PEP 695 `[T, *Ts, **P]`: names bound in the annotation scope, bounds read there. */
  private typeParameters(list: PyNode | undefined, annotationScope: Scope): Task[] {
    const tasks: Task[] = [];
    if (!list) return tasks;
    for (const param of list.children) {
      const inner = param.type === 'type' ? param.children[0] : param;
      if (!inner) continue;
      if (inner.type === 'identifier') annotationScope.bound.add(this.text(inner));
      else if (inner.type === 'splat_type') {
        for (const id of inner.children) if (id.type === 'identifier') annotationScope.bound.add(this.text(id));
      } else if (inner.type === 'constrained_type') {
        const [name, ...bounds] = inner.children;
        const id = name?.type === 'type' ? name.children[0] : name;
        if (id?.type === 'identifier') annotationScope.bound.add(this.text(id));
        // Bounds and constraints are evaluated lazily (PEP 695): their reads are deferred.
        const lazy = this.newScope('function', annotationScope, true);
        for (const b of bounds) tasks.push({ node: b, mode: LOAD, scope: lazy });
      } else {
        tasks.push({ node: inner, mode: LOAD, scope: annotationScope });
      }
    }
    return tasks;
  }

  private functionDefinition(node: PyNode, outer: PyNode, decorators: PyNode[], scope: Scope): void {
    const name = field(node, 'name');
    const typeParams = field(node, 'type_parameters');
    const params = parametersOf(field(node, 'parameters'));
    const returns = field(node, 'return_type');
    const body = field(node, 'body');
    if (name && scope.kind === 'module') this.definitions.push({ name: this.text(name), kind: 'function', outer });
    // Decorators, defaults and annotations run when `def` runs; the body runs when the function is called.
    const annotationScope = typeParams ? this.newScope('annotation', scope, scope.deferred) : scope;
    const tasks: Task[] = decorators.map((d) => ({ node: d, mode: LOAD, scope }));
    tasks.push(...this.typeParameters(typeParams, annotationScope));
    for (const d of params.defaults) tasks.push({ node: d, mode: LOAD, scope });
    if (!this.lazyAnnotations) {
      for (const a of params.annotations) tasks.push({ node: a, mode: LOAD, scope: annotationScope });
      if (returns) tasks.push({ node: returns, mode: LOAD, scope: annotationScope });
    }
    if (name) tasks.push(() => this.bind(name, scope));
    tasks.push(() => {
      const inner = this.newScope('function', annotationScope, true);
      for (const p of params.names) inner.bound.add(this.text(p));
      const owner = scope.kind === 'module' ? '' : scope.kind === 'class' && scope.parent?.kind === 'module' ? scope.className : undefined;
      if (name && owner !== undefined) this.summarise(inner, owner ? `${owner}.${this.text(name)}` : this.text(name), node, outer, params.names);
      if (body) this.then({ node: body, mode: LOAD, scope: inner });
    });
    this.then(...tasks);
  }

  /** Starts the summary of a top-level function or of a method of a top-level class; its own scope is `inner`. */
  private summarise(inner: Scope, name: string, node: PyNode, outer: PyNode, params: PyNode[]): void {
    const out: FunctionSummary = {
      name, line: node.line, params: params.map((p) => this.text(p)), mutatedParams: [], mutatedGlobals: [], writtenGlobals: [],
      reads: [], calls: [], generator: false,
    };
    // A method reads what its class reads (the class's free names include every method's).
    const definition = name.includes('.') ? this.definitions[this.definitions.length - 1]?.outer ?? outer : outer;
    const draft: SummaryDraft = {
      out, scope: inner, params: new Set(out.params), mutated: new Set(), mutatedGlobals: new Set(), writtenGlobals: new Set(), definition,
    };
    inner.summary = draft;
    this.summaries.push(draft);
  }

  private classDefinition(node: PyNode, outer: PyNode, decorators: PyNode[], scope: Scope): void {
    const name = field(node, 'name');
    const typeParams = field(node, 'type_parameters');
    const bases = field(node, 'superclasses');
    const body = field(node, 'body');
    if (name && scope.kind === 'module') this.definitions.push({ name: this.text(name), kind: 'class', outer });
    const annotationScope = typeParams ? this.newScope('annotation', scope, scope.deferred) : scope;
    const tasks: Task[] = decorators.map((d) => ({ node: d, mode: LOAD, scope }));
    tasks.push(...this.typeParameters(typeParams, annotationScope));
    if (bases) tasks.push({ node: bases, mode: LOAD, scope: annotationScope });
    // The class body runs at once, in its own scope; the name is bound after it.
    const inner = this.newScope('class', annotationScope, scope.deferred);
    if (name && scope.kind === 'module') inner.className = this.text(name);
    if (body) tasks.push({ node: body, mode: LOAD, scope: inner });
    if (name) tasks.push(() => this.bind(name, scope));
    this.then(...tasks);
  }

  private typeAlias(node: PyNode, scope: Scope): void {
    // `type X[T] = value`: X is bound now; the value is evaluated lazily, so its reads are deferred.
    const left = field(node, 'left');
    const right = field(node, 'right');
    const head = left?.children[0];
    const name = head?.type === 'generic_type' ? head.children[0] : head;
    const typeParams = head?.type === 'generic_type' ? head.children.find((c) => c.type === 'type_parameter') : undefined;
    const annotationScope = this.newScope('annotation', scope, true);
    const tasks = this.typeParameters(typeParams, annotationScope);
    if (name?.type === 'identifier') tasks.push(() => this.bind(name, scope));
    if (right) tasks.push({ node: right, mode: LOAD, scope: this.newScope('function', annotationScope, true) });
    this.then(...tasks);
  }

  private importStatement(node: PyNode, scope: Scope): void {
    if (node.type === 'future_import_statement') {
      this.imports.push({ module: '__future__', line: node.line, absolute: true });
      if (/\bannotations\b/.test(this.text(node))) this.lazyAnnotations = true;
      return;
    }
    if (node.type === 'import_statement') {
      // `import a.b.c` binds `a`; `import a.b as d` binds `d`.
      for (const child of node.children) {
        const dotted = child.type === 'aliased_import' ? field(child, 'name') : child;
        if (dotted?.type !== 'dotted_name') continue;
        const top = dotted.children[0];
        if (!top) continue;
        this.imports.push({ module: this.text(top), line: node.line, absolute: true });
        const alias = child.type === 'aliased_import' ? field(child, 'alias') : undefined;
        this.bind(alias ?? top, scope, true);
        if (scope.kind === 'module') this.importStatement_(node, [this.text(alias ?? top)]);
      }
      return;
    }
    const moduleName = field(node, 'module_name');
    const relative = moduleName?.type === 'relative_import';
    const dotted = relative ? moduleName?.children.find((c) => c.type === 'dotted_name') : moduleName;
    const top = dotted?.children[0];
    this.imports.push({ module: top ? this.text(top) : '', line: node.line, absolute: !relative });
    for (const child of node.children) {
      if (child.type === 'wildcard_import') {
        this.starImports.push(moduleName ? this.text(moduleName) : '');
      } else if (child.field === 'name') {
        const bound = child.type === 'aliased_import' ? field(child, 'alias') : child.type === 'dotted_name' ? child.children[0] : undefined;
        if (bound) this.bind(bound, scope, true);
        if (bound && scope.kind === 'module') this.importStatement_(node, [this.text(bound)]);
      }
    }
  }

  /** Notes that a top-level import statement binds `names`; one entry per statement. */
  private importStatement_(node: PyNode, names: string[]): void {
    const last = this.importStatements[this.importStatements.length - 1];
    if (last && last.line === node.line && last.source === this.sourceOf(node)) {
      last.names.push(...names);
      return;
    }
    this.importStatements.push({ names, line: node.line, source: this.sourceOf(node) });
  }

  // -------------------------------------------------------------------------
  // Results

  private facts(): ScopeFacts {
    const byPosition = (a: ModuleRead, b: ModuleRead) => a.node.start - b.node.start;
    const reads = this.moduleReads.slice().sort(byPosition);
    const free = new Map<string, ModuleRead>();
    for (const r of reads) if (!r.deferred && !r.boundBefore && !free.has(r.name)) free.set(r.name, r);
    for (const r of reads) if (r.deferred && !this.module.bound.has(r.name) && !free.has(r.name)) free.set(r.name, r);
    const refs = [...free.values()].sort(byPosition).map((r) => {
      const ref: NameRef = { name: r.name, line: r.node.line, column: r.node.column };
      if (r.deferred) ref.deferred = true;
      return ref;
    });
    return {
      reads: refs,
      binds: [...this.binds],
      mutates: [...this.mutates],
      deletes: [...this.deletes],
      definitions: this.definitions.map((d) => this.definition(d, reads)),
      imports: this.imports,
      starImports: this.starImports,
      effects: this.effects(reads),
    };
  }

  private effects(sortedReads: ModuleRead[]): CellEffects {
    const functions = this.summaries.map((d) => {
      const out = d.out;
      out.mutatedParams = out.params.filter((p) => d.mutated.has(p));
      out.mutatedGlobals = [...d.mutatedGlobals];
      out.writtenGlobals = [...d.writtenGlobals];
      out.reads = this.freeNamesIn(d.definition, new Set(), sortedReads, true);
      return out;
    });
    return {
      aliases: this.aliases,
      views: this.views,
      changes: [...this.changes.values()],
      calls: this.calls,
      functions,
      importStatements: this.importStatements
        .map((i) => ({ ...i, names: i.names.filter((n) => this.importBound.has(n)) }))
        .filter((i) => i.names.length > 0),
      specialValues: this.specialValues,
      random: this.random,
    };
  }

  /** A top-level definition's source and the module names it reads (body, decorators, defaults, annotations, bases). */
  private definition(d: TopLevelDefinition, sortedReads: ModuleRead[]): Definition {
    const freeNames = this.freeNamesIn(d.outer, new Set([d.name]), sortedReads);
    return { name: d.name, kind: d.kind, source: this.sourceOf(d.outer), freeNames, line: d.outer.line };
  }

  /** The module names read between the start and end of `node`, less `own` and the names it binds through `global`. */
  private freeNamesIn(node: PyNode, own: Set<string>, sortedReads: ModuleRead[], withGlobals = false): string[] {
    const { start, end } = node;
    if (!withGlobals) for (const g of this.globalBinds) if (g.offset >= start && g.offset < end) own.add(g.name);
    const freeNames: string[] = [];
    const seen = new Set<string>();
    let lo = 0;
    let hi = sortedReads.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((sortedReads[mid] as ModuleRead).node.start < start) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < sortedReads.length; i++) {
      const r = sortedReads[i] as ModuleRead;
      if (r.node.start >= end) break;
      if (own.has(r.name) || seen.has(r.name)) continue;
      seen.add(r.name);
      freeNames.push(r.name);
    }
    return freeNames;
  }

  /** The definition's text; one nested in a top-level `if`/`try` is dedented so it stands alone. */
  private sourceOf(node: PyNode): string {
    const text = this.code.slice(node.start, node.end);
    if (node.column === 1) return text;
    const lineStart = this.code.lastIndexOf('\n', node.start - 1) + 1;
    const indent = this.code.slice(lineStart, node.start);
    if (!/^[ \t]+$/.test(indent)) return text;
    return text
      .split('\n')
      .map((l, k) => (k > 0 && l.startsWith(indent) ? l.slice(indent.length) : l))
      .join('\n');
  }
}

/** Analyses the scopes of a parsed, lowered cell. */
export function analyzeScopes(root: PyNode, code: string): ScopeFacts {
  return new ScopeWalker(code).run(root);
}
