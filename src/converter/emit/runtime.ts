// The Python runtime embedded at the top of every step script: marshalling of values
// between steps, parameters and metrics (docs/architecture.md, "Runtime conventions").
// It binds only `_flowbook_*` names at module level and takes every builtin and module it
// uses into its own scope, so user code that rebinds `type`, `open`, `json` or runs
// `from numpy import *` cannot break the code that runs after the cells. Python 3.8+.
// No `{{` may appear here: Argo would read it as a template expression.

/** The factory; the script calls it once, after the imports cells, with its own globals. */
export const RUNTIME_SOURCE = `def _flowbook_runtime(namespace, step, own):
    from builtins import AttributeError, Exception, ImportError, TypeError, ValueError, __import__, bool, float, int, isinstance, open, print, repr, str, type
    import json, math, os, pickle, sys
    data_dir = os.path.abspath(os.environ.get('FLOWBOOK_DATA_DIR', '/flowbook/data'))
    metrics_path = os.path.abspath(os.environ.get('FLOWBOOK_METRICS_PATH', '/tmp/mlpipeline-metrics.json'))
    formats = ('.pd.pkl', '.npy', '.joblib', '.pkl')

    def fail(message):
        sys.exit('flowbook: ' + ' '.join(str(message).splitlines()))

    def type_name(value):
        t = type(value)
        return t.__qualname__ if t.__module__ == 'builtins' else t.__module__ + '.' + t.__qualname__

    def reason(error):
        return str(error) or type(error).__name__

    def value_of(name, what):
        if name not in namespace:
            fail("cannot save %s '%s' for step '%s': the step's cells did not define it" % (what, name, step))
        return namespace[name]

    def write(path, dump):
        # A temporary file and a rename: a failed step never leaves half a value behind.
        tmp = path + '.tmp'
        try:
            with open(tmp, 'wb') as f:
                dump(f)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def dumper(value):
        pd, np, sk = (sys.modules.get(m) for m in ('pandas', 'numpy', 'sklearn.base'))
        if pd is not None and isinstance(value, (pd.DataFrame, pd.Series)):
            return '.pd.pkl', value.to_pickle
        if np is not None and type(value) is np.ndarray and not value.dtype.hasobject:
            return '.npy', lambda f: np.save(f, value, allow_pickle=False)
        if sk is not None and isinstance(value, sk.BaseEstimator):
            try:
                import joblib
                return '.joblib', lambda f: joblib.dump(value, f)
            except ImportError:
                pass
        return '.pkl', lambda f: pickle.dump(value, f)

    def read(f, ext):
        if ext == '.pd.pkl':
            return __import__('pandas').read_pickle(f)
        if ext == '.npy':
            return __import__('numpy').load(f, allow_pickle=False)
        return __import__('joblib').load(f) if ext == '.joblib' else pickle.load(f)

    def param(name, kind, default):
        text = os.environ.get('FLOWBOOK_PARAM_' + name)
        if text is None:
            return default
        try:
            value = json.loads(text)
        except ValueError as error:
            if kind == 'str':
                return text
            fail("pipeline parameter '%s' (%s) must be JSON, got %r: %s" % (name, kind, text, reason(error)))
        if kind == 'str' and not isinstance(value, str):
            return text
        if kind == 'float' and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    def load(inputs, last):
        # Before the carried definitions run, a value whose class they define cannot be
        # unpickled (AttributeError): it waits for the second call, after them.
        pending = []
        for name, producer, folder in inputs:
            base = os.path.join(data_dir, folder, name)
            found = [ext for ext in formats if os.path.exists(base + ext)]
            if not found:
                fail("cannot load variable '%s' from step '%s': %s.* does not exist (did step '%s' finish?)" % (name, producer, base, producer))
            try:
                with open(base + found[0], 'rb') as f:
                    namespace[name] = read(f, found[0])
            except Exception as error:
                if not last and isinstance(error, AttributeError):
                    pending.append((name, producer, folder))
                    continue
                fail("cannot load variable '%s' saved by step '%s' from %s: %s" % (name, producer, base + found[0], reason(error)))
        return pending

    def save(names):
        folder = os.path.join(data_dir, own)
        os.makedirs(folder, exist_ok=True)
        for name in names:
            value = value_of(name, 'variable')
            ext, dump = dumper(value)
            try:
                write(os.path.join(folder, name + ext), dump)
            except Exception as error:
                fail("cannot save variable '%s' of type %s for step '%s': %s" % (name, type_name(value), step, reason(error)))
            for stale in formats:
                if stale != ext and os.path.exists(os.path.join(folder, name + stale)):
                    os.remove(os.path.join(folder, name + stale))

    def metrics(names):
        entries = []
        for name in names:
            value = value_of(name, 'metric')
            try:
                number = float(value)
            except (TypeError, ValueError):
                fail("metric '%s' of step '%s' must be a number, but it is %s %s" % (name, step, type_name(value), repr(value)[:60]))
            if math.isfinite(number):
                entries.append({'name': name, 'numberValue': number, 'format': 'RAW'})
                print('flowbook: metric %s = %r' % (name, number))
            else:
                print("flowbook: metric '%s' is %r and is not recorded" % (name, number), file=sys.stderr)
        os.makedirs(os.path.dirname(metrics_path), exist_ok=True)
        write(metrics_path, lambda f: f.write(json.dumps({'metrics': entries}).encode('utf-8')))

    return param, load, save, metrics
`;
