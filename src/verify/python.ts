// The two Python programs behind `flowbook verify`, kept as text so the CLI and the
// extension bundle carry them without data files. Both read one JSON plan (argv[1]) and
// write JSON results; neither imports anything of Flowbook's step runtime, so they judge
// the runtime instead of sharing its mistakes. Each binds only `_`-prefixed helpers and
// runs the notebook's cells in a namespace of their own.

/**
 * The reference: the notebook's code cells run one by one, in order, in one namespace that
 * is `__main__` (as in Jupyter). Right before a step's first cell it snapshots the values
 * the step receives; right after its last cell, the values it passes on; at the metrics
 * cell, the metric values. Snapshots are cloudpickle bytes, taken at that moment, so later
 * cells cannot change them. Plan: {cells: [{index, code}], overrides: [{cell, name, value, float}],
 * snapshots: [{at: 'before'|'after', cell, key, names}], metrics: {cell, names}, out}.
 * Exit 0 with `out/reference.json`; 3 when a cell raised (its cell, line and error there).
 */
export const REFERENCE_SOURCE = String.raw`
import __future__, json, os, sys, traceback, types

_FUTURE_FLAGS = 0
for _feature in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag

def _main():
    with open(sys.argv[1], encoding='utf-8') as f:
        plan = json.load(f)
    out = plan['out']
    try:
        import cloudpickle
    except ImportError:
        _write(out, {'status': 'missing-module', 'module': 'cloudpickle'})
        return 4
    module = types.ModuleType('__main__')
    module.__dict__['__builtins__'] = __builtins__
    sys.modules['__main__'] = module
    ns = module.__dict__
    before = {}
    after = {}
    for s in plan['snapshots']:
        (before if s['at'] == 'before' else after).setdefault(s['cell'], []).append(s)
    unpicklable = {}
    metrics = {}
    flags = 0
    for cell in plan['cells']:
        index = cell['index']
        for s in before.get(index, []):
            _snapshot(cloudpickle, ns, s, out, unpicklable)
        try:
            # As in Jupyter, a from-__future__ import holds for the cells after it too.
            code = compile(cell['code'], '<cell %d>' % index, 'exec', flags, True)
            flags |= code.co_flags & _FUTURE_FLAGS
            exec(code, ns)
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt):
                raise
            line = None
            for frame, lineno in traceback.walk_tb(error.__traceback__):
                if frame.f_code.co_filename == '<cell %d>' % index:
                    line = lineno
            if isinstance(error, SyntaxError) and error.filename == '<cell %d>' % index:
                line = error.lineno
            _write(out, {'status': 'failed', 'cell': index, 'line': line, 'exception': type(error).__name__,
                         'detail': (str(error).splitlines() or [''])[0][:300]})
            return 3
        for o in plan['overrides']:
            if o['cell'] == index:
                value = o['value']
                ns[o['name']] = float(value) if o['float'] and type(value) is int else value
        if plan.get('metrics') is not None and plan['metrics']['cell'] == index:
            for name in plan['metrics']['names']:
                try:
                    metrics[name] = float(ns[name])
                except Exception as error:
                    metrics[name] = 'not a number: %s' % type(error).__name__
        for s in after.get(index, []):
            _snapshot(cloudpickle, ns, s, out, unpicklable)
    _write(out, {'status': 'ok', 'unpicklable': unpicklable, 'metrics': metrics})
    return 0

def _snapshot(cloudpickle, ns, s, out, unpicklable):
    # One pickle for all the names, so values that share objects still share them.
    values = {n: ns[n] for n in s['names'] if n in ns}
    problems = {}
    try:
        data = cloudpickle.dumps(values)
    except Exception:
        kept = {}
        for name, value in values.items():
            try:
                cloudpickle.dumps(value)
                kept[name] = value
            except Exception as error:
                problems[name] = '%s: %s' % (type(error).__name__, (str(error).splitlines() or [''])[0][:200])
        data = cloudpickle.dumps(kept)
    for n in s['names']:
        if n not in ns:
            problems[n] = 'not defined at this point of the notebook'
    if problems:
        unpicklable[s['key']] = problems
    with open(os.path.join(out, s['key'] + '.pkl'), 'wb') as f:
        f.write(data)

def _write(out, result):
    with open(os.path.join(out, 'reference.json'), 'w', encoding='utf-8') as f:
        json.dump(result, f)

if __name__ == "__main__":
    sys.exit(_main())
`;

/**
 * The comparer: loads both sides in one process and compares them value by value.
 * Plan: {ref, data, checks: [{key, snapshot, names: [{name, folder} or {name, value, float}]}], out}: for each
 * check, every name of the reference snapshot `ref/<snapshot>.pkl` against the value the
 * runner saved under `data/<folder>/`. Writes `out` as {checks: [{key, name, status,
 * path?, expected?, got?}]} with status `same`, `different` or `missing`.
 */
export const COMPARE_SOURCE = String.raw`
import json, math, os, pickle, sys, types

_FORMATS = ('.pd.pkl', '.npy', '.joblib', '.cloudpickle', '.dill', '.pkl')

def _main():
    with open(sys.argv[1], encoding='utf-8') as f:
        plan = json.load(f)
    import cloudpickle
    main = types.ModuleType('__main__')
    sys.modules['__main__'] = main
    snapshots = {}
    for check in plan['checks']:
        key = check['snapshot']
        if key not in snapshots:
            with open(os.path.join(plan['ref'], key + '.pkl'), 'rb') as f:
                snapshots[key] = cloudpickle.load(f)
            # Values the runner pickled by reference to __main__ classes and functions
            # find the notebook's own definitions here.
            for value in snapshots[key].values():
                _adopt(main, value)
    results = []
    for check in plan['checks']:
        expected_all = snapshots[check['snapshot']]
        for item in check['names']:
            name = item['name']
            entry = {'key': check['key'], 'name': name}
            if name not in expected_all:
                entry['status'] = 'unknown'
                results.append(entry)
                continue
            try:
                if 'folder' in item:
                    got = _load(os.path.join(plan['data'], item['folder']), name)
                else:
                    got = item['value']
                    got = float(got) if item.get('float') and type(got) is int else got
            except _Missing as missing:
                entry.update(status='missing', got=str(missing))
                results.append(entry)
                continue
            except Exception as error:
                entry.update(status='missing', got='cannot be loaded: %s: %s' % (type(error).__name__, (str(error).splitlines() or [''])[0][:200]))
                results.append(entry)
                continue
            difference = _Compare().diff(expected_all[name], got, name)
            if difference is None:
                entry['status'] = 'same'
            else:
                entry.update(status='different', path=difference[0], expected=difference[1], got=difference[2])
            results.append(entry)
    with open(plan['out'], 'w', encoding='utf-8') as f:
        json.dump({'checks': results}, f)
    return 0

class _Missing(Exception):
    pass

def _adopt(main, value):
    kinds = (type, types.FunctionType)
    candidates = [value] + (list(value.values()) if isinstance(value, dict) else list(value) if isinstance(value, (list, tuple)) else [])
    for v in candidates:
        for obj in (v, type(v)):
            if isinstance(obj, kinds) and getattr(obj, '__module__', None) == '__main__':
                name = getattr(obj, '__qualname__', '')
                if name and '.' not in name and not hasattr(main, name):
                    setattr(main, name, obj)

_BUNDLES = {}

def _load(folder, name):
    # The step's bundle first (one file for all its values, so aliases stay aliases), then
    # one file per value (older runtimes, exports such as NAME.joblib).
    bundle = _bundle(folder)
    if bundle is not None and name in bundle:
        return bundle[name]
    base = os.path.join(folder, name)
    for ext in _FORMATS:
        if os.path.exists(base + ext):
            return _read(base + ext, ext)
    raise _Missing('the run saved no value %r in %s' % (name, folder))

def _bundle(folder):
    if folder not in _BUNDLES:
        _BUNDLES[folder] = None
        path = os.path.join(folder, '_values.pkl')
        if os.path.exists(path):
            value = _read(path, '.pkl')
            if isinstance(value, dict):
                _BUNDLES[folder] = value
    return _BUNDLES[folder]

def _read(path, ext):
    with open(path, 'rb') as f:
        if ext == '.pd.pkl':
            import pandas
            return pandas.read_pickle(f)
        if ext == '.npy':
            import numpy
            return numpy.load(f, allow_pickle=False)
        if ext == '.joblib':
            import joblib
            return joblib.load(f)
        if ext == '.dill':
            import dill
            return dill.load(f)
        return pickle.load(f)

def _short(value):
    t = type(value)
    try:
        pd = sys.modules.get('pandas')
        np = sys.modules.get('numpy')
        if pd is not None and isinstance(value, pd.DataFrame):
            return 'DataFrame %dx%d, columns %s' % (value.shape[0], value.shape[1], _clip(repr(list(value.columns))))
        if pd is not None and isinstance(value, pd.Series):
            return 'Series of %d %s' % (len(value), value.dtype)
        if np is not None and isinstance(value, np.ndarray):
            return 'array %s %s' % ('x'.join(str(d) for d in value.shape) or 'scalar', value.dtype)
    except Exception:
        pass
    try:
        text = repr(value)
    except Exception:
        text = '<%s>' % t.__name__
    return _clip(text)

def _clip(text, limit=120):
    text = ' '.join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + '...'

def _type_name(value):
    t = type(value)
    module = t.__module__
    # cloudpickle rebuilds a notebook class whose __module__ equals its base's without it,
    # and types.new_class then names the module 'types': it is the notebook's class still.
    if module == 'types' and getattr(types, t.__name__, None) is not t:
        module = '__main__'
    return t.__qualname__ if module == 'builtins' else '%s.%s' % (module, t.__qualname__)

class _Compare:
    """Deep equality with rules per kind; diff() gives (path, expected, got) of the first difference."""

    def __init__(self):
        self.seen = set()

    def diff(self, a, b, path):
        if a is b:
            return None
        key = (id(a), id(b))
        if key in self.seen:
            return None
        self.seen.add(key)
        if _type_name(a) != _type_name(b):
            return (path, '%s (%s)' % (_short(a), _type_name(a)), '%s (%s)' % (_short(b), _type_name(b)))
        pd = sys.modules.get('pandas')
        np = sys.modules.get('numpy')
        if pd is not None and isinstance(a, (pd.DataFrame, pd.Series)):
            return self.frame(a, b, path, pd)
        if np is not None and isinstance(a, np.ndarray):
            return self.array(a, b, path, np)
        if np is not None and isinstance(a, np.generic):
            same = (a.dtype == b.dtype) and (a == b or (a != a and b != b))
            return None if same else (path, repr(a), repr(b))
        if isinstance(a, float):
            same = a == b or (math.isnan(a) and math.isnan(b))
            return None if same else (path, repr(a), repr(b))
        if isinstance(a, (bool, int, complex, str, bytes, type(None))):
            return None if a == b else (path, _short(a), _short(b))
        if isinstance(a, dict):
            if list(a.keys()) != list(b.keys()):
                return (path + ' keys', _clip(repr(list(a.keys()))), _clip(repr(list(b.keys()))))
            for k in a:
                d = self.diff(a[k], b[k], '%s[%r]' % (path, k))
                if d:
                    return d
            return self.attributes(a, b, path)
        if isinstance(a, (list, tuple)):
            if len(a) != len(b):
                return (path, '%s of %d' % (_type_name(a), len(a)), '%s of %d' % (_type_name(b), len(b)))
            for i, (x, y) in enumerate(zip(a, b)):
                d = self.diff(x, y, '%s[%d]' % (path, i))
                if d:
                    return d
            return self.attributes(a, b, path)
        if isinstance(a, (set, frozenset)):
            return None if a == b else (path, _short(a), _short(b))
        if isinstance(a, types.ModuleType):
            return None if a.__name__ == b.__name__ else (path, a.__name__, b.__name__)
        if isinstance(a, types.FunctionType):
            return self.function(a, b, path)
        if isinstance(a, type):
            return self.klass(a, b, path)
        if np is not None and isinstance(a, np.random.RandomState):
            return self.diff(a.get_state(legacy=False), b.get_state(legacy=False), path + '.get_state()')
        if np is not None and isinstance(a, np.random.Generator):
            return self.diff(a.bit_generator.state, b.bit_generator.state, path + '.bit_generator.state')
        if hasattr(a, '__dict__') or hasattr(type(a), '__slots__'):
            return self.attributes(a, b, path)
        if type(a).__eq__ is object.__eq__:
            # An extension type without equality (a fitted tree): compare what pickling keeps.
            return self.reduced(a, b, path)
        try:
            return None if a == b else (path, _short(a), _short(b))
        except Exception:
            return None if repr(a) == repr(b) else (path, _short(a), _short(b))

    def reduced(self, a, b, path):
        try:
            ra, rb = a.__reduce_ex__(4), b.__reduce_ex__(4)
        except Exception:
            return None if repr(a) == repr(b) else (path, _short(a), _short(b))
        if isinstance(ra, str) or isinstance(rb, str):
            return None if ra == rb else (path, _short(a), _short(b))
        parts = lambda r: [r[1] if len(r) > 1 else None, r[2] if len(r) > 2 else None] + [list(r[i]) if len(r) > i and r[i] is not None else None for i in (3, 4)]
        return self.diff(parts(ra), parts(rb), path + '.__reduce__()')

    def attributes(self, a, b, path):
        da, db = self.state(a), self.state(b)
        if da is None and db is None:
            return None
        da, db = da or {}, db or {}
        if sorted(da) != sorted(db):
            missing = sorted(set(da) - set(db))
            extra = sorted(set(db) - set(da))
            what = ('without attribute %s' % ', '.join(missing)) if missing else ('with extra attribute %s' % ', '.join(extra))
            return (path, _short(a), '%s, %s' % (_short(b), what))
        for k in sorted(da):
            d = self.diff(da[k], db[k], '%s.%s' % (path, k))
            if d:
                return d
        return None

    def state(self, value):
        result = None
        if hasattr(value, '__dict__') and not isinstance(value, type):
            try:
                result = dict(vars(value))
            except TypeError:
                result = None
        for cls in type(value).__mro__:
            for slot in getattr(cls, '__slots__', ()) if isinstance(getattr(cls, '__slots__', ()), (list, tuple)) else (cls.__slots__,):
                if slot in ('__dict__', '__weakref__'):
                    continue
                if hasattr(value, slot):
                    result = result if result is not None else {}
                    result[slot] = getattr(value, slot)
        return result

    def frame(self, a, b, path, pd):
        if a.shape != b.shape:
            return (path, _short(a), _short(b))
        if isinstance(a, pd.DataFrame):
            if list(a.columns) != list(b.columns):
                return (path + '.columns', _clip(repr(list(a.columns))), _clip(repr(list(b.columns))))
            if not a.dtypes.equals(b.dtypes):
                for c in a.columns:
                    if a[c].dtype != b[c].dtype:
                        return ('%s[%r].dtype' % (path, c), str(a[c].dtype), str(b[c].dtype))
        elif a.dtype != b.dtype:
            return (path + '.dtype', str(a.dtype), str(b.dtype))
        if not a.index.equals(b.index):
            return (path + '.index', _short(a.index), _short(b.index))
        if getattr(a, 'name', None) != getattr(b, 'name', None):
            return (path + '.name', repr(a.name), repr(b.name))
        if a.equals(b):
            return None
        columns = a.columns if isinstance(a, pd.DataFrame) else [None]
        for c in columns:
            x = a if c is None else a[c]
            y = b if c is None else b[c]
            for i in range(len(x)):
                vx, vy = x.iloc[i], y.iloc[i]
                both_missing = bool(pd.isna(vx)) and bool(pd.isna(vy)) if not hasattr(vx, '__len__') else False
                if not both_missing and not (vx == vy if not hasattr(vx, '__len__') else self.diff(vx, vy, '') is None):
                    where = '%s.iloc[%d]' % (path, i) if c is None else '%s[%r].iloc[%d]' % (path, c, i)
                    return (where, _clip(repr(vx)), _clip(repr(vy)))
        return (path, _short(a), _short(b) + ' (different values)')

    def array(self, a, b, path, np):
        if a.shape != b.shape or a.dtype != b.dtype:
            return (path, _short(a), _short(b))
        try:
            same = np.array_equal(a, b, equal_nan=True)
        except TypeError:
            same = np.array_equal(a, b)
        if same:
            return None
        if a.dtype.hasobject:
            for i, (x, y) in enumerate(zip(a.ravel(), b.ravel())):
                d = self.diff(x, y, '%s.flat[%d]' % (path, i))
                if d:
                    return d
            return None
        unequal = np.argwhere(~((a == b) | ((a != a) & (b != b)))) if a.dtype.kind in 'fc' else np.argwhere(a != b)
        if len(unequal) == 0:
            return (path, _short(a), _short(b) + ' (different values)')
        at = tuple(int(i) for i in unequal[0])
        return ('%s[%s]' % (path, ', '.join(str(i) for i in at)), repr(a[at]), repr(b[at]) + ' (%d of %d elements differ)' % (len(unequal), a.size))

    def function(self, a, b, path):
        if a.__qualname__ != b.__qualname__:
            return (path, a.__qualname__, b.__qualname__)
        if a.__code__.co_code != b.__code__.co_code:
            return (path + '.__code__', 'the notebook\'s code', 'other code')
        d = self.diff(a.__defaults__, b.__defaults__, path + '.__defaults__') or self.diff(a.__kwdefaults__, b.__kwdefaults__, path + '.__kwdefaults__')
        if d:
            return d
        d = self.diff(dict(vars(a)), dict(vars(b)), path + '.__dict__')
        if d:
            return d
        ca = [c.cell_contents for c in (a.__closure__ or ()) if _filled(c)]
        cb = [c.cell_contents for c in (b.__closure__ or ()) if _filled(c)]
        return self.diff(ca, cb, path + '.__closure__')

    def klass(self, a, b, path):
        if a.__qualname__ != b.__qualname__:
            return (path, a.__qualname__, b.__qualname__)
        # Dunder entries that are not methods are bookkeeping (pickling adds __slotnames__,
        # abc adds _abc_impl), not state the notebook set.
        def own(cls):
            return {k: v for k, v in vars(cls).items()
                    if k != '_abc_impl' and not (k.startswith('__') and k.endswith('__') and not isinstance(v, (types.FunctionType, staticmethod, classmethod)))}
        da, db = own(a), own(b)
        if sorted(da) != sorted(db):
            return (path + ' attributes', _clip(repr(sorted(da))), _clip(repr(sorted(db))))
        for k in sorted(da):
            x, y = da[k], db[k]
            if isinstance(x, (staticmethod, classmethod)):
                x, y = x.__func__, getattr(y, '__func__', y)
            if isinstance(x, property):
                continue
            d = self.diff(x, y, '%s.%s' % (path, k))
            if d:
                return d
        return None

def _filled(cell):
    try:
        cell.cell_contents
        return True
    except ValueError:
        return False

if __name__ == "__main__":
    sys.exit(_main())
`;
