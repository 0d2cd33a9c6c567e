// The may-modify analysis across cells: which names a step may change in place, counting
// aliases (`X_df = df`, `data = [a, b]`, loop variables over containers) and calls into
// notebook-defined functions (summaries followed through their own calls to a fixpoint).
// Conservative: a call of anything the notebook does not define may change its arguments.
// Works on the per-cell `CellEffects`; nothing here runs notebook code.

import { cellLabel } from './diagnostics';
import type { CallSite, CellAnalysis, EdgeChange, FunctionSummary } from './ir';

/** What calling (or reading) a notebook function may do, its own calls included. */
export interface Effect {
  params: string[];
  mutatedParams: Set<string>;
  /** Module names it may change in place or rebind. */
  changedGlobals: Set<string>;
  /** Module names it reads, its callees' included. */
  reads: Set<string>;
  generator: boolean;
  /** Its result may share an object with an argument or a global (see `FunctionSummary.returnsShared`); always for a class. */
  returnsShared: boolean;
}

/** The notebook-wide facts the per-step analysis needs: summaries, aliases, names bound by imports. */
export interface NotebookEffects {
  /** By function name, and `Class.method`; a class name maps to its `__init__` less `self`. */
  functions: Map<string, Effect>;
  /** By method name: the union of every notebook class's method of that name. */
  methods: Map<string, Effect>;
  /** Names bound by an import statement anywhere: modules are never data, so changing them is not a change. */
  importNames: Set<string>;
  /** Equal for two notebooks whose functions, methods and imports have the same effects: what `stepTouches` depends on. */
  signature: string;
  /**
   * The names that may share the object `name` holds at `cell` (itself included), each as it
   * stands at that cell: an alias made before a name was rebound no longer counts for it.
   */
  aliasGroup: (name: string, cell: number) => string[];
}

/** Functions of modules (`np.random.shuffle(x)`) that change their arguments; any other module function is taken to only read them. */
const MODULE_MUTATORS = new Set([
  'shuffle', 'fill_diagonal', 'copyto', 'put', 'place', 'putmask', 'heappush', 'heappop', 'heapify', 'heapreplace', 'heappushpop',
  'insort', 'insort_left', 'insort_right', 'update', 'setattr', 'delattr', 'seed',
]);

/** Builds the notebook-wide facts from every analysed code cell (prelude and steps), given in notebook order with their cell indices. */
export function notebookEffects(cells: readonly { cell: number; a: CellAnalysis }[]): NotebookEffects {
  const summaries = new Map<string, FunctionSummary[]>();
  const importNames = new Set<string>();
  const classes = new Set<string>();
  for (const { a } of cells) {
    for (const f of a.effects.functions) {
      const list = summaries.get(f.name);
      if (list) list.push(f);
      else summaries.set(f.name, [f]);
    }
    for (const d of a.definitions) if (d.kind === 'class') classes.add(d.name);
    for (const i of a.effects.importStatements) for (const n of i.names) importNames.add(n);
  }

  let aliases: NotebookEffects['aliasGroup'] | undefined;
  const functions = solve(summaries, importNames);
  for (const c of classes) {
    const init = functions.get(`${c}.__init__`);
    // An instance may keep what its constructor is given (`self.data = data`).
    if (init) functions.set(c, { ...init, params: init.params.slice(1), returnsShared: true });
  }
  const methods = new Map<string, Effect>();
  for (const [name, e] of functions) {
    const dot = name.indexOf('.');
    if (dot < 0) continue;
    const m = name.slice(dot + 1);
    const acc = methods.get(m);
    if (!acc) methods.set(m, { params: e.params.slice(1), mutatedParams: new Set(), changedGlobals: new Set(e.changedGlobals), reads: new Set(e.reads), generator: e.generator, returnsShared: e.returnsShared });
    else {
      for (const g of e.changedGlobals) acc.changedGlobals.add(g);
      for (const r of e.reads) acc.reads.add(r);
      acc.returnsShared ||= e.returnsShared;
    }
  }
  const part = (name: string, e: Effect) => `${name}(${[...e.mutatedParams].join()}|${[...e.changedGlobals].join()}|${[...e.reads].join()}|${e.params.join()}|${e.generator ? 1 : 0}${e.returnsShared ? 1 : 0})`;
  const signature = [
    [...functions].map(([n, e]) => part(n, e)).join(';'),
    [...methods].map(([n, e]) => part(n, e)).join(';'),
    [...importNames].join(),
  ].join('\n');
  return {
    functions,
    methods,
    importNames,
    signature,
    aliasGroup: (name, cell) => {
      // Built on first use: most edits change no object in place, and then no alias matters.
      aliases ??= aliasGroups(cells, importNames, functions, methods);
      return aliases(name, cell);
    },
  };
}

/** Groups of names that may share objects, between versions of names (see `NotebookEffects.aliasGroup`). */
function aliasGroups(
  cells: readonly { cell: number; a: CellAnalysis }[], importNames: ReadonlySet<string>, functions: ReadonlyMap<string, Effect>, methods: ReadonlyMap<string, Effect>,
): NotebookEffects['aliasGroup'] {
  // `m = make(x)`: the result of a notebook function that may return an argument or a global
  // (or a notebook class's instance) shares the arguments' objects and the globals it reads.
  const sharedWith = (al: CellAnalysis['effects']['aliases'][number]): string[] => {
    if (!al.calls) return al.of;
    const of = new Set(al.of);
    for (const call of al.calls) {
      const e = call.callee.startsWith('.') ? methods.get(call.callee.slice(1)) : functions.get(call.callee);
      if (!e || !(e.returnsShared || e.generator)) continue;
      for (const n of [...call.of, ...e.reads]) if (n !== al.name) of.add(n);
    }
    return [...of];
  };
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r) as string;
    let y = x;
    while (y !== r) {
      const next = parent.get(y) as string;
      parent.set(y, r);
      y = next;
    }
    return r;
  };
  const union = (a: string, b: string) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra, rb);
  };
  // Aliases are between versions of names (`x@7`: x as bound by cell 7), so rebinding a name
  // starts a new object that shares nothing with what the old one was aliased to.
  const aliased = new Set<string>();
  for (const { a } of cells) {
    for (const al of a.effects.aliases) {
      aliased.add(al.name);
      for (const o of sharedWith(al)) aliased.add(o);
    }
  }
  /**
   * For each aliased name, the cells binding it, in order. `x += v` does not count: a list or
   * an array stays the same object, so its aliases stay (an int or a tuple never changes in
   * place, so keeping its old aliases only adds edges).
   */
  const bindings = new Map<string, number[]>();
  for (const { cell, a } of cells) {
    const augmented = new Set(a.effects.changes.filter((c) => c.augmented).map((c) => c.name));
    for (const n of a.binds) {
      if (!aliased.has(n) || augmented.has(n)) continue;
      const list = bindings.get(n);
      if (list) list.push(cell);
      else bindings.set(n, [cell]);
    }
  }
  const versionAt = (name: string, cell: number): number => {
    const list = bindings.get(name);
    if (!list) return -1;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((list[mid] as number) <= cell) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? -1 : (list[lo - 1] as number);
  };
  const key = (name: string, cell: number) => `${name}@${versionAt(name, cell)}`;
  for (const { cell, a } of cells) {
    for (const al of a.effects.aliases) {
      const k = key(al.name, cell);
      if (!parent.has(k)) parent.set(k, k);
      for (const o of sharedWith(al)) {
        // `a = np.asarray(b)` shares b, not the module: joining through `np` would make one group of every such call.
        if (importNames.has(o)) continue;
        const ko = key(o, cell);
        if (!parent.has(ko)) parent.set(ko, ko);
        union(k, ko);
      }
    }
  }
  const groups = new Map<string, { name: string; version: number }[]>();
  for (const k of parent.keys()) {
    const at = k.lastIndexOf('@');
    const name = k.slice(0, at);
    if (importNames.has(name)) continue;
    const r = find(k);
    const g = groups.get(r);
    const member = { name, version: Number(k.slice(at + 1)) };
    if (g) g.push(member);
    else groups.set(r, [member]);
  }

  return (name, cell) => {
    const k = key(name, cell);
    if (!parent.has(k)) return [];
    return (groups.get(find(k)) ?? []).filter((m) => versionAt(m.name, cell) === m.version).map((m) => m.name);
  };
}

/** Effects of every summarised function, following calls between them until nothing changes. */
function solve(summaries: Map<string, FunctionSummary[]>, importNames: Set<string>): Map<string, Effect> {
  const effects = new Map<string, Effect>();
  for (const [name, list] of summaries) {
    const e: Effect = { params: list[0]?.params ?? [], mutatedParams: new Set(), changedGlobals: new Set(), reads: new Set(), generator: false, returnsShared: false };
    for (const f of list) {
      for (const p of f.mutatedParams) e.mutatedParams.add(p);
      for (const g of [...f.mutatedGlobals, ...f.writtenGlobals]) if (!importNames.has(g)) e.changedGlobals.add(g);
      for (const r of f.reads) e.reads.add(r);
      e.generator ||= f.generator;
      e.returnsShared ||= f.returnsShared === true;
    }
    effects.set(name, e);
  }
  const calleeOf = (site: CallSite): Effect | undefined => (site.method ? undefined : effects.get(site.callee) ?? classInit(effects, site.callee));
  for (let changed = true, rounds = 0; changed && rounds < 50; rounds++) {
    changed = false;
    for (const [name, list] of summaries) {
      const e = effects.get(name) as Effect;
      const before = e.mutatedParams.size + e.changedGlobals.size + e.reads.size;
      for (const f of list) {
        for (const site of f.calls) {
          const callee = calleeOf(site);
          if (callee) for (const r of callee.reads) e.reads.add(r);
          if (callee) for (const g of callee.changedGlobals) e.changedGlobals.add(g);
          for (const { root } of changedArguments(site, callee, importNames)) {
            if (root.param) e.mutatedParams.add(root.name);
            else if (!importNames.has(root.name)) e.changedGlobals.add(root.name);
          }
        }
      }
      if (e.mutatedParams.size + e.changedGlobals.size + e.reads.size !== before) changed = true;
    }
  }
  return effects;
}

function classInit(effects: Map<string, Effect>, name: string): Effect | undefined {
  const init = effects.get(`${name}.__init__`);
  return init && { ...init, params: init.params.slice(1) };
}

/**
 * The arguments a call may change: for a notebook function, those passed to parameters it
 * changes; for a method call, none here (the receiver and arguments are counted where the
 * call is); for anything else, all of them.
 */
export function changedArguments(site: CallSite, callee: Effect | undefined, importNames: ReadonlySet<string>): { root: NonNullable<CallSite['args'][number]>; param?: string }[] {
  const out: { root: NonNullable<CallSite['args'][number]>; param?: string }[] = [];
  if (site.method) {
    // `cv2.imread(path)`, `np.mean(x)`: functions of modules read their arguments, but for a
    // known few, and numpy's `out=` array (`np.multiply(a, 2, out=a)`), which they write.
    if (site.receiver && !site.receiver.param && importNames.has(site.receiver.name) && !MODULE_MUTATORS.has(site.callee)) {
      const written = site.keywords['out'];
      if (written) out.push({ root: written });
      return out;
    }
    callee = undefined;
  }
  if (!callee) {
    for (const r of [...site.args, ...Object.values(site.keywords), ...site.splat]) if (r) out.push({ root: r });
    return out;
  }
  site.args.forEach((r, i) => {
    const p = callee.params[i];
    // Past the named parameters, an argument goes to `*args`: changed when any parameter is.
    if (r && (p === undefined ? callee.mutatedParams.size > 0 : callee.mutatedParams.has(p))) out.push({ root: r, param: p });
  });
  for (const [k, r] of Object.entries(site.keywords)) {
    if (callee.params.includes(k) ? callee.mutatedParams.has(k) : callee.mutatedParams.size > 0) out.push({ root: r, param: k });
  }
  if (callee.mutatedParams.size > 0) for (const r of site.splat) if (r) out.push({ root: r });
  return out;
}

/** How a step last touches a name: by binding it, or by changing its object (with where and how, for edge reasons). */
export interface Touch {
  /** Index into the step's cells. */
  at: number;
  change?: EdgeChange;
  /** The name's last binding is this import statement. */
  importAt?: { line: number; source: string };
  /** The name whose change in place reached this one through an alias (see `withAliases`). */
  via?: string;
}

/**
 * What a step touches, by name, in cell order: bindings, changes in place, changes by calls
 * into notebook functions (or any call), and changes reaching a name through an alias.
 * `extraNeeds` are the names the step must load so that it can save them changed: names it
 * changes through an alias or a call, and the names the notebook functions it uses read.
 */
export interface StepTouches {
  touched: ReadonlyMap<string, Touch>;
  extraNeeds: readonly { name: string; cell: number; line: number }[];
  /** Changes in place before aliases are followed (see `withAliases`). */
  changes: ReadonlyMap<string, Touch>;
}

export function stepTouches(analyses: readonly CellAnalysis[], cells: readonly number[], reads: ReadonlySet<string>, nb: NotebookEffects): StepTouches {
  const touched = new Map<string, Touch>();
  /** Every change in place, even of a name the step binds too (a loop variable): it reaches the name's aliases. */
  const changes = new Map<string, Touch>();
  const extraNeeds: { name: string; cell: number; line: number }[] = [];
  const needed = new Set<string>();
  const need = (name: string, cell: number, line: number) => {
    if (needed.has(name)) return;
    needed.add(name);
    extraNeeds.push({ name, cell, line });
  };
  const change = (name: string, at: number, line: number, how: string) => {
    if (nb.importNames.has(name)) return;
    const t: Touch = { at, change: { name, cell: cells[at] ?? 0, line, how } };
    touched.delete(name);
    touched.set(name, t);
    changes.set(name, t);
  };
  analyses.forEach((a, at) => {
    const cell = cells[at] ?? 0;
    const e = a.effects;
    for (const c of e.changes) change(c.name, at, c.line, c.inLoop ? `${c.how} in the loop` : c.how);
    for (const site of e.calls) {
      const callee = site.method ? nb.methods.get(site.callee) : nb.functions.get(site.callee);
      const call = site.method ? `.${site.callee}(...)` : `${site.callee}(...)`;
      const name = site.method ? `${site.receiver ? `${site.receiver.name}.` : '.'}${site.callee}` : site.callee;
      for (const { root } of changedArguments(site, site.method ? undefined : callee, nb.importNames)) change(root.name, at, site.line, `when passed to \`${name}\``);
      if (!callee) continue;
      for (const g of callee.changedGlobals) {
        change(g, at, site.line, `by calling \`${call}\``);
        need(g, cell, site.line);
      }
      for (const r of callee.reads) need(r, cell, site.line);
    }
    for (const n of a.binds) {
      touched.delete(n);
      touched.set(n, { at });
    }
    for (const i of e.importStatements) {
      for (const n of i.names) touched.set(n, { at, importAt: { line: i.line, source: i.source } });
    }
  });
  // A notebook function passed on (not only called) still runs its body somewhere in this step.
  for (const name of reads) {
    const f = nb.functions.get(name);
    if (!f) continue;
    for (const r of f.reads) need(r, cells[0] ?? 0, 1);
  }
  return { touched, extraNeeds, changes };
}

/**
 * Follows aliases: changing an object changes it under every name that may share it. Returns
 * `base` itself when the step changes nothing in place (the common case, kept cheap).
 */
export function withAliases(base: StepTouches, nb: NotebookEffects): StepTouches {
  if (base.changes.size === 0) return base;
  const touched = new Map(base.touched);
  const extraNeeds = base.extraNeeds.slice();
  const needed = new Set(extraNeeds.map((n) => n.name));
  for (const [name, t] of base.changes) {
    if (!t.change) continue;
    for (const other of nb.aliasGroup(name, t.change.cell)) {
      if (other === name || touched.has(other)) continue;
      const how = t.change.how.includes(`\`${name}`) ? t.change.how : `${t.change.how} (on \`${name}\`, which may be the same object)`;
      touched.set(other, { at: t.at, change: { ...t.change, name: other, how }, via: name });
      if (!needed.has(other)) {
        needed.add(other);
        extraNeeds.push({ name: other, cell: t.change.cell, line: t.change.line });
      }
    }
  }
  return { touched, extraNeeds, changes: base.changes };
}

/** Why the upstream step provides a name it did not bind, e.g. "models changed through `m.fit` in the loop at cell 7 line 2". */
export function describeChange(c: EdgeChange): string {
  return `${c.name} changed ${c.how} at ${cellLabel(c.cell)} line ${c.line}`;
}
