// Which objects the value of an expression may share: the alias half of the may-modify
// analysis. `X_df = df`, `m = models['lr']`, `rows = [a, b]`, `m2 = model.fit(X, y)` (fit
// returns the model), `a = np.asarray(b)` make the bound name an alias of the roots found
// here. Precise where the value is provably new: literals, f-strings, comparisons, `not`,
// arithmetic, immutable attributes (`df.shape[0]`, `cls.__name__`), the condition of
// `a if c else b`, a comprehension whose elements are new (`[str(t) for t in df.dtypes]`).
// Sharing where a real alias may result: `x or y`, views (`df.to_numpy()`, `a.reshape(...)`),
// methods returning their receiver (`fit`), `copy=False` and `out=`. Other calls are
// reported to `onCall`: the may-modify analysis knows, across cells, whether a notebook
// function, class or method may return what it is given. The rest are taken as new values,
// as the analysis always took them (known gaps, in docs/architecture.md: package constructors
// keeping an argument, shallow copies of containers).

import type { PyNode } from './grammar';

/** Calls whose result shares the objects of their arguments (a shallow copy, a view, an iterator over them). */
const SHARING_CALLS = new Set([
  'list', 'tuple', 'set', 'frozenset', 'dict', 'zip', 'enumerate', 'reversed', 'sorted', 'iter', 'filter', 'vars',
  // one of the elements, or their concatenation (`sum(lists, [])`), or part of the object
  'min', 'max', 'sum', 'next', 'getattr',
]);

/**
 * Methods whose result is the receiver or a view of its data: `m2 = model.fit(X, y)` is the
 * model, `a = df.to_numpy()` and `h = df.head()` may write through to df.
 */
const SELF_METHODS = new Set([
  'fit', 'partial_fit', 'set_params', 'set_output', 'reshape', 'ravel', 'squeeze', 'transpose', 'swapaxes', 'to_numpy',
  'head', 'tail', 'iloc', 'loc', 'xs', 'as_matrix', 'get_values',
]);

/**
 * Functions of modules (by their last name) whose result may be one of their arguments or
 * share its data: `np.asarray(a)` is a when a is an array, `pd.DataFrame(arr)` wraps arr
 * without a copy, `copy.copy(x)` holds x's elements, `random.choice(models)` is one of them.
 */
const ARGUMENT_CALLS = new Set([
  'asarray', 'asanyarray', 'ascontiguousarray', 'asfortranarray', 'atleast_1d', 'atleast_2d', 'atleast_3d', 'reshape',
  'ravel', 'squeeze', 'transpose', 'DataFrame', 'Series', 'copy', 'choice', 'frombuffer',
]);

/** Methods whose result is part of the receiver or one of the arguments (`d.get(k, default)`). */
const SHARING_METHODS = new Set(['items', 'values', 'keys', 'get', 'pop', 'popitem', 'setdefault', 'view']);

/** Attributes whose value is immutable (numbers, strings, tuples of ints, dtypes): nothing reached through them is shared. */
const IMMUTABLE_ATTRIBUTES = new Set(['shape', 'ndim', 'size', 'nbytes', 'itemsize', 'dtype', '__name__', '__qualname__', '__module__']);

/** Container displays: an operator with one of them (`lst + [m]`, `[m] * 3`) concatenates. */
const DISPLAYS = new Set(['list', 'tuple', 'set', 'dictionary', 'list_comprehension', 'set_comprehension', 'dictionary_comprehension']);

const FRESH_NODES = new Set([
  'integer', 'float', 'true', 'false', 'none', 'ellipsis', 'string', 'concatenated_string', 'comparison_operator',
  'not_operator', 'unary_operator', 'lambda',
]);

const COMPREHENSIONS = new Set(['list_comprehension', 'set_comprehension', 'dictionary_comprehension', 'generator_expression']);

/** What `sharedRoots` needs from the scope walk. */
export interface SharingContext {
  text(node: PyNode): string;
  /** True for a name of the module namespace that is data (not bound by an import in this cell). */
  isData(name: string): boolean;
  /** A plain call `f(...)` taken as new here, with its arguments' roots: a notebook function may still return one. */
  onCall?(callee: string, of: string[]): void;
}

function child(node: PyNode, name: string): PyNode | undefined {
  return node.children.find((c) => c.field === name);
}

/**
 * The module names whose objects the value of `node` may share: `df` in `df['x']`, `m` and
 * `n` in `[m, n]`, `models` in `models.items()` and in `[m for m in models]`. A comprehension's
 * targets stand for the objects of what they iterate over (`bound`).
 */
export function sharedRoots(node: PyNode, ctx: SharingContext, bound: ReadonlyMap<string, readonly string[]> = new Map()): string[] {
  const out = new Set<string>();
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop() as PyNode;
    if (FRESH_NODES.has(n.type)) continue;
    switch (n.type) {
      case 'identifier': {
        const name = ctx.text(n);
        const inner = bound.get(name);
        if (inner) for (const r of inner) out.add(r);
        else if (ctx.isData(name)) out.add(name);
        break;
      }
      case 'attribute': {
        const attribute = child(n, 'attribute');
        if (attribute && IMMUTABLE_ATTRIBUTES.has(ctx.text(attribute))) break;
        const object = child(n, 'object');
        if (object) stack.push(object);
        break;
      }
      case 'subscript': {
        // `x[i]` is part of x; the index is not part of the value.
        const value = child(n, 'value');
        if (value) stack.push(value);
        break;
      }
      case 'call': {
        const parts = callShares(n, ctx);
        stack.push(...parts);
        const fn = child(n, 'function');
        const args = child(n, 'arguments');
        const roots = (nodes: (PyNode | undefined)[]) => nodes.flatMap((x) => (x ? sharedRoots(x, { ...ctx, onCall: undefined }, bound) : []));
        if (parts.length > 0 || !ctx.onCall) break;
        // A notebook method is looked up by name (`.get_model`), with the receiver among what it may return.
        if (fn?.type === 'identifier') ctx.onCall(ctx.text(fn), roots([args]));
        else if (fn?.type === 'attribute') {
          const method = child(fn, 'attribute');
          if (method) ctx.onCall(`.${ctx.text(method)}`, roots([child(fn, 'object'), args]));
        }
        break;
      }
      case 'binary_operator': {
        // Arithmetic gives new values; `lst + [m]`, `[m] * 3`, `a + b` (two lists) and
        // `d | {'k': v}` hold the operands' objects.
        const [left, right] = n.children;
        if (!left || !right) break;
        const between = ctx.text(n).slice(left.end - n.start, right.start - n.start).replace(/#[^\n]*/g, '');
        const operator = /\*\*|\/\/|<<|>>|[-+*/%@|&^]/.exec(between)?.[0] ?? '';
        const display = DISPLAYS.has(left.type) || DISPLAYS.has(right.type);
        const scalar = FRESH_NODES.has(left.type) || FRESH_NODES.has(right.type);
        if (display || (!scalar && (operator === '+' || operator === '|'))) stack.push(left, right);
        break;
      }
      case 'conditional_expression': {
        // `a if cond else b` is a or b, never cond.
        const [a, , b] = n.children;
        if (a) stack.push(a);
        if (b) stack.push(b);
        break;
      }
      case 'named_expression': {
        const value = child(n, 'value');
        if (value) stack.push(value);
        break;
      }
      case 'pair': case 'keyword_argument': {
        const value = child(n, 'value');
        if (value) stack.push(value);
        // A dict key is kept too: a hashable object can still change in place.
        const key = child(n, 'key');
        if (key) stack.push(key);
        break;
      }
      default:
        if (COMPREHENSIONS.has(n.type)) {
          for (const r of comprehensionShares(n, ctx, bound)) out.add(r);
        } else {
          // Displays, `x or y`, parentheses, splats, `await`, and anything not known to be fresh.
          stack.push(...n.children);
        }
    }
  }
  return [...out];
}

/**
 * The parts of a call its result may share. Other calls are taken as fresh, as the analysis
 * always has: a constructor holding its argument (`Pipeline([('s', scaler)])`), a notebook
 * function returning one, or a shallow `x.copy()` of a list of objects is not seen.
 */
function callShares(call: PyNode, ctx: SharingContext): PyNode[] {
  const fn = child(call, 'function');
  const args = child(call, 'arguments');
  const argumentNodes = args && args.type === 'argument_list' ? args.children : args ? [args] : [];
  if (!fn) return argumentNodes;
  // `copy=False` may hand back the argument's or the receiver's data; `out=y` returns y.
  const keeps = argumentNodes.some((a) => {
    if (a.type !== 'keyword_argument') return false;
    const name = child(a, 'name');
    const key = name ? ctx.text(name) : '';
    return key === 'out' || (key === 'copy' && child(a, 'value')?.type !== 'true');
  });
  if (fn.type === 'identifier') {
    // `list(x)`, `max(models)`, `next(it)`, `getattr(obj, 'a')`, `asarray(a)`: the arguments.
    const name = ctx.text(fn);
    return SHARING_CALLS.has(name) || ARGUMENT_CALLS.has(name) || keeps ? argumentNodes : [];
  }
  if (fn.type !== 'attribute') return [fn, ...argumentNodes];
  const method = child(fn, 'attribute');
  const object = child(fn, 'object');
  const name = method ? ctx.text(method) : '';
  const parts: PyNode[] = [];
  // `d.get(k, default)` may return default; `np.asarray(a)` is a (the module itself is never data).
  if (SHARING_METHODS.has(name) || ARGUMENT_CALLS.has(name) || keeps) parts.push(...argumentNodes);
  if ((SHARING_METHODS.has(name) || SELF_METHODS.has(name) || keeps) && object) parts.push(object);
  return parts;
}

/** A comprehension's elements: its body, with each target standing for the objects of its iterable. */
function comprehensionShares(node: PyNode, ctx: SharingContext, outer: ReadonlyMap<string, readonly string[]>): string[] {
  const bound = new Map(outer);
  const body: PyNode[] = [];
  for (const c of node.children) {
    if (c.type === 'for_in_clause') {
      const right = child(c, 'right');
      const roots = right ? sharedRoots(right, ctx, bound) : [];
      for (const left of c.children.filter((x) => x.field === 'left')) {
        for (const id of identifiers(left)) bound.set(ctx.text(id), roots);
      }
    } else if (c.type !== 'if_clause') {
      body.push(c);
    }
  }
  return body.flatMap((b) => sharedRoots(b, ctx, bound));
}

function identifiers(node: PyNode): PyNode[] {
  if (node.type === 'identifier') return [node];
  return node.children.flatMap(identifiers);
}

/**
 * Methods whose result is a view of the receiver's data: it shares memory with the receiver,
 * not identity. `v = df.to_numpy()` writes through to df, but pickled apart they are two arrays.
 */
const VIEW_METHODS = new Set([
  'to_numpy', 'reshape', 'ravel', 'squeeze', 'transpose', 'swapaxes', 'moveaxis', 'view', 'head', 'tail', 'xs',
  'as_matrix', 'get_values', '__array__', 'diagonal',
]);

/** Attributes whose value is a view of the object's data (`df.values`, `arr.T`). */
const VIEW_ATTRIBUTES = new Set(['values', 'T', 'mT', 'real', 'imag', 'flat', 'base', 'array']);

/** Functions of modules (by their last name) that wrap their argument's data without a copy (`np.asarray(df)`, `pd.DataFrame(arr)`). */
const VIEW_CALLS = new Set([
  'asarray', 'asanyarray', 'ascontiguousarray', 'asfortranarray', 'atleast_1d', 'atleast_2d', 'atleast_3d', 'reshape', 'ravel',
  'squeeze', 'transpose', 'swapaxes', 'moveaxis', 'DataFrame', 'Series', 'frombuffer', 'diagonal',
]);

/** Pandas indexers: `df.iloc[...]` and `df.loc[...]` may be views whatever the index. */
const VIEW_INDEXERS = new Set(['iloc', 'loc']);

/** Index expressions that select one element (a dict key, a list position): the result is that object, not a view. */
const ELEMENT_KEYS = new Set(['string', 'concatenated_string', 'integer', 'unary_operator', 'true', 'false', 'none']);

/** Index expressions that make a copy (a list of columns, a boolean mask): the result is new. */
const COPYING_KEYS = new Set(['list', 'comparison_operator', 'boolean_operator', 'not_operator']);

/**
 * The module names the value of `node` may be a **view** of: an object sharing their memory but
 * not their identity (`df.to_numpy()`, `df.values`, `a.reshape(...)`, `a.T`, `a[1:3]`, `a[:, 0]`,
 * `df.iloc[...]`, `np.asarray(df)`, `pd.DataFrame(arr)`, `copy=False`). Pickled for the next
 * step, a view and its base arrive as two arrays. Identity shares (`b = a`, `m = models['lr']`,
 * `[a, b]`, `x or y`, `model.fit(...)`) are not views: the pickle memo keeps them one object. A
 * subscript whose index may or may not be a slice (`a[i]`, `a[idx]`) counts as a view. Empty
 * when the value is not a view, or a view of nothing the notebook holds.
 */
export function viewRoots(node: PyNode, ctx: SharingContext): string[] {
  const plain = { ...ctx, onCall: undefined };
  return [...new Set(viewBases(node, ctx).flatMap((b) => sharedRoots(b, plain)))];
}

/**
 * The expressions whose data the value of `node` may view; none when it is not a view. A
 * module imported in another cell looks like data here (`np` in `np.asarray(df)`): both the
 * receiver and the first argument are given, and the caller drops names bound by imports.
 */
function viewBases(node: PyNode, ctx: SharingContext): PyNode[] {
  const present = (...nodes: (PyNode | undefined)[]) => nodes.filter((n): n is PyNode => n !== undefined);
  switch (node.type) {
    case 'parenthesized_expression': {
      const inner = node.children.find((c) => c.type !== '(' && c.type !== ')' && c.type !== 'comment');
      return inner ? viewBases(inner, ctx) : [];
    }
    case 'attribute': {
      const attribute = child(node, 'attribute');
      return attribute && VIEW_ATTRIBUTES.has(ctx.text(attribute)) ? present(child(node, 'object')) : [];
    }
    case 'subscript': {
      const value = child(node, 'value');
      if (!value) return [];
      if (value.type === 'attribute') {
        const indexer = child(value, 'attribute');
        if (indexer && VIEW_INDEXERS.has(ctx.text(indexer))) return present(child(value, 'object'));
      }
      // A slice of a list (`sorted(xs)[:10]`, `[a, b][1:]`) is a new list of the same elements: an identity share.
      if (isList(value, ctx)) return [];
      const indices = node.children.filter((c) => c.field === 'subscript');
      return indices.some((i) => mayBeView(i)) ? [value] : [];
    }
    case 'call': {
      const fn = child(node, 'function');
      const args = child(node, 'arguments');
      const argumentNodes = args && args.type === 'argument_list' ? args.children.filter((c) => c.type !== '(' && c.type !== ')' && c.type !== ',') : [];
      const copyArgument = argumentNodes.find((a) => a.type === 'keyword_argument' && ctx.text(child(a, 'name') ?? a) === 'copy');
      // `copy=True` always copies; `copy=False` (or any other value) may not.
      if (copyArgument && child(copyArgument, 'value')?.type === 'true') return [];
      const given = argumentNodes.find((a) => a.type !== 'keyword_argument' && a.type !== 'comment');
      // Built from a display (`pd.DataFrame({'x': xs})`, `np.asarray([a, b])`) the data is copied into new memory.
      const first = given && (DISPLAYS.has(given.type) || COMPREHENSIONS.has(given.type) || isList(given, ctx)) ? undefined : given;
      if (fn?.type === 'identifier') return VIEW_CALLS.has(ctx.text(fn)) || copyArgument ? present(first) : [];
      if (fn?.type !== 'attribute') return [];
      const method = child(fn, 'attribute');
      const name = method ? ctx.text(method) : '';
      const out: PyNode[] = [];
      // `a.reshape(...)`, `df.astype(float, copy=False)`: the receiver.
      if (VIEW_METHODS.has(name) || copyArgument) out.push(...present(child(fn, 'object')));
      // `np.asarray(df)`, `pd.DataFrame(arr)`, `np.reshape(a, n)`, `np.array(a, copy=False)`: the first argument.
      if (VIEW_CALLS.has(name) || copyArgument) out.push(...present(first));
      return out;
    }
    default:
      return [];
  }
}

/** A display, a comprehension or a builtin call making a new list or tuple (`sorted(xs)`, `list(zip(a, b))`): never array memory. */
function isList(node: PyNode, ctx: SharingContext): boolean {
  if (DISPLAYS.has(node.type) || COMPREHENSIONS.has(node.type)) return true;
  if (node.type !== 'call') return false;
  const fn = child(node, 'function');
  return fn?.type === 'identifier' && ['list', 'tuple', 'sorted', 'zip', 'enumerate', 'reversed', 'range', 'dict', 'set', 'frozenset'].includes(ctx.text(fn));
}

/** Whether an index may select a view (a slice, or anything not known to be one element or a copy). */
function mayBeView(index: PyNode): boolean {
  if (index.type === 'slice') return true;
  if (ELEMENT_KEYS.has(index.type) || COPYING_KEYS.has(index.type)) return false;
  // `a[:, 0]` parses as several indices; `a[(slice(1), 0)]` as a tuple.
  if (index.type === 'tuple' || index.type === 'parenthesized_expression') return index.children.some(mayBeView);
  return !['(', ')', ','].includes(index.type);
}
