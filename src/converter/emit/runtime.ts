// The Python runtime embedded at the top of every step script (docs/architecture.md,
// "Runtime conventions"): it runs the step's cells one by one in one namespace, as a kernel
// does, and moves values between steps by value (cloudpickle), one bundle per step.
// It binds only `_flowbook_*` names at module level and takes every builtin and module it
// uses into its own scope, so user code that rebinds `type`, `open`, `json` or runs
// `from numpy import *` cannot break the code that runs after the cells. Python 3.8+.
// No `{{` may appear here: Argo would read it as a template expression.

/** Where a step's values go in its output folder: one bundle for all of them, and their summaries. */
export const VALUES_FILE = '_values.pkl';
export const SUMMARY_FILE = '_summary.json';

/** Distributions the runtime imports where steps run: every step image installs them. */
export const RUNTIME_DISTRIBUTIONS: readonly string[] = ['cloudpickle'];

/** The filename a cell's code is compiled under: tracebacks name the cell, in every step. */
export const CELL_FILENAME = /^<flowbook cell=(\d+)>$/;

/** The factory; the script calls it once, first, with its own globals. */
export const RUNTIME_SOURCE = `def _flowbook_runtime(namespace, step, own):
    from builtins import BaseException, Exception, ImportError, KeyboardInterrupt, SyntaxError, SystemExit, TypeError, ValueError
    from builtins import bytes, compile, dict, exec, float, frozenset, getattr, int, isinstance, len, list, open, print, repr, set, sorted, str, sum, tuple, type
    import __future__, json, linecache, math, os, pickle, reprlib, sys, traceback, types
    environ = os.environ
    data_dir = os.path.abspath(environ.get('FLOWBOOK_DATA_DIR', '/flowbook/data'))
    metrics_path = os.path.abspath(environ.get('FLOWBOOK_METRICS_PATH', '/tmp/mlpipeline-metrics.json'))
    output_dir = os.path.abspath(environ.get('FLOWBOOK_OUTPUT_DIR') or os.path.join(data_dir, own))
    values_file, summary_file = ${JSON.stringify(VALUES_FILE)}, ${JSON.stringify(SUMMARY_FILE)}
    cells_key = '<cells>'  # no variable can have this name
    future_flags = 0
    for feature in __future__.all_feature_names:
        future_flags |= getattr(__future__, feature).compiler_flag
    state = {'flags': 0, 'cell': None}
    # A summary's repr of a container shows its first items, never formats all of a large one.
    brief = reprlib.Repr()
    brief.maxlevel, brief.maxdict, brief.maxstring, brief.maxother = 3, 20, 400, 400
    brief.maxlist = brief.maxtuple = brief.maxset = brief.maxfrozenset = brief.maxdeque = brief.maxarray = 30
    loaded_classes, loaded_names = {}, set()

    def fail(message):
        sys.exit('flowbook: ' + ' '.join(str(message).splitlines()))

    def type_name(value):
        t = type(value)
        return t.__qualname__ if t.__module__ == 'builtins' else t.__module__ + '.' + t.__qualname__

    def reason(error):
        return str(error) or type(error).__name__

    def cells_of_step():
        return "the step's cells did not define it" + ('' if state['cell'] is None else ' (they ran to the end of cell %d)' % (state['cell'] + 1))

    def run(cell, line, text):
        # A cell is compiled on its own, under a filename naming it, with the lines before
        # line \`line\` of the cell left blank: a traceback anywhere, also in a function this
        # cell defined and a later step received by value, names the cell and its line.
        # \`from __future__\` imports carry on to the next cells, as in Jupyter.
        filename = '<flowbook cell=%d>' % cell
        source = '\\n' * (line - 1) + text[1:]
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        state['cell'] = cell
        try:
            code = compile(source, filename, 'exec', state['flags'], True)
            state['flags'] |= code.co_flags & future_flags
            exec(code, namespace)
        except SystemExit as stop:
            fail("step '%s' stopped in cell %d: the cell raised SystemExit(%r) (sys.exit() or exit()), so the step's later cells did not run and it saved nothing; remove the call, or put it under a condition that is false in the notebook" % (step, cell + 1, stop.code))
        except KeyboardInterrupt:
            raise
        except BaseException as error:
            # The traceback from the cell's own frame on; the runtime's frames say nothing.
            tb = error.__traceback__
            while tb is not None and not tb.tb_frame.f_code.co_filename.startswith('<flowbook cell='):
                tb = tb.tb_next
            traceback.print_exception(type(error), error, tb if tb is not None or isinstance(error, SyntaxError) else error.__traceback__)
            sys.stderr.flush()
            sys.exit(1)

    def define(kind, name, cell, line, text):
        # A function or class carried by its source from an earlier step. A class that came
        # by value with the inputs (an instance of it) is kept instead, so that instance
        # stays an instance of the name; a value loaded under the name is kept too.
        if kind == 'class' and name in loaded_classes:
            namespace[name] = loaded_classes[name]
        elif name not in loaded_names:
            run(cell, line, text)

    def param(name, kind, default):
        text = environ.get('FLOWBOOK_PARAM_' + name)
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

    def pickler():
        try:
            import cloudpickle
        except ImportError:
            fail("step '%s' needs the Python package cloudpickle to pass values between steps; install it where the step runs (pip install cloudpickle)" % step)
        return cloudpickle

    def unpickler(cloudpickle, f):
        # Notebook functions come back over this step's namespace, not a private copy of
        # their producer's globals: they read and write the step's globals, as in the
        # notebook. A notebook class already defined here (by a functions cell) is reused,
        # so its instances from every producer share one class.
        base = pickle.Unpickler

        def make_function(code, globals_, name, argdefs, closure):
            if globals_.get('__name__') == '__main__':
                globals_ = namespace
            return original['_make_function'](code, globals_, name, argdefs, closure)

        def function_setstate(obj, state_):
            if obj.__globals__ is not namespace:
                return original['_function_setstate'](obj, state_)
            attributes, slots = state_
            slots = dict(slots)
            captured = slots.pop('__globals__', None) or {}
            slots['__globals__'] = {}
            had, builtins_ = '__builtins__' in namespace, namespace.get('__builtins__')
            original['_function_setstate'](obj, (attributes, slots))
            if had:
                namespace['__builtins__'] = builtins_
            else:
                namespace.pop('__builtins__', None)
            # What the function read when it was saved stays the fallback for a name this
            # step does not have; the step's own values (and its inputs) win.
            for key, value in captured.items():
                if key not in namespace:
                    namespace[key] = value

        def make_skeleton_class(type_constructor, name, bases, type_kwargs, tracker_id, extra):
            # (The class's module arrives with its state, after this: only a class of the
            # notebook is pickled by value, unless a module was registered to be.)
            existing = namespace.get(name)
            notebook = type_kwargs.get('__module__', '__main__') == '__main__'
            if notebook and isinstance(existing, type) and getattr(existing, '__module__', None) == '__main__' and existing.__qualname__ == name:
                cls = track(tracker_id, existing)
            else:
                cls = original['_make_skeleton_class'](type_constructor, name, bases, type_kwargs, tracker_id, extra)
            if notebook:
                loaded_classes[name] = cls
            return cls

        def track(tracker_id, cls):
            lookup = getattr(sys.modules.get(cloudpickle.__name__ + '.cloudpickle'), '_lookup_class_or_track', None)
            return cls if lookup is None else lookup(tracker_id, cls)

        overrides = {'_make_function': make_function, '_function_setstate': function_setstate, '_make_skeleton_class': make_skeleton_class}
        original = {}

        class Unpickler(base):
            def find_class(self, module, name):
                found = base.find_class(self, module, name)
                if module.split('.')[0] == 'cloudpickle' and name in overrides:
                    original[name] = found
                    return overrides[name]
                return found

        return Unpickler(f)

    def source_dir(producer_template):
        variable = 'FLOWBOOK_INPUT_DIR_' + producer_template.upper().replace('-', '_')
        return os.path.abspath(environ.get(variable) or os.path.join(data_dir, producer_template))

    def load(inputs):
        # inputs: (name, producer step, producer template); each producer's bundle is read
        # once, so values that were one object there (aliases) are one object here.
        cloudpickle = pickler()
        by_folder = {}
        for name, producer, folder in inputs:
            by_folder.setdefault(folder, (producer, []))[1].append(name)
        for folder in sorted(by_folder):
            producer, names = by_folder[folder]
            path = os.path.join(source_dir(folder), values_file)
            if not os.path.exists(path):
                fail("cannot load %s from step '%s': %s does not exist (did step '%s' finish?)" % (
                    ', '.join("'%s'" % n for n in names), producer, path, producer))
            try:
                with open(path, 'rb') as f:
                    values = unpickler(cloudpickle, f).load()
                # The cells the saving step knew: tracebacks and inspect show their lines here too.
                for filename, lines in values.get(cells_key, {}).items():
                    linecache.cache.setdefault(filename, (sum(len(l) for l in lines), None, lines, filename))
            except Exception as error:
                fail("cannot load the values saved by step '%s' (%s) from %s: %s: %s" % (
                    producer, ', '.join(names), path, type(error).__name__, reason(error)))
            for name in names:
                if name not in values:
                    fail("cannot load variable '%s' from step '%s': the step did not save it in %s (compile the notebook again and rerun step '%s')" % (name, producer, path, producer))
                namespace[name] = values[name]
                loaded_names.add(name)

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

    def value_of(name, what):
        if name not in namespace:
            fail("cannot save %s '%s' for step '%s': %s" % (what, name, step, cells_of_step()))
        return namespace[name]

    def save(names):
        cloudpickle = pickler()
        os.makedirs(output_dir, exist_ok=True)
        values = {}
        for name in names:
            value = value_of(name, 'variable')
            if isinstance(value, types.ModuleType):
                fail("cannot save variable '%s' for step '%s': it is the module %s, and modules are never passed between steps; import it in the step that uses it" % (name, step, value.__name__))
            values[name] = value
        try:
            cells = dict((k, v[2]) for k, v in list(linecache.cache.items()) if k.startswith('<flowbook cell=') and len(v) == 4)
            bundle = dict(values)
            bundle[cells_key] = cells
            write(os.path.join(output_dir, values_file), lambda f: cloudpickle.CloudPickler(f, protocol=pickle.HIGHEST_PROTOCOL).dump(bundle))
        except Exception as error:
            # Name the value at fault: the first that cannot be saved on its own.
            for name in names:
                try:
                    cloudpickle.dumps(values[name], protocol=pickle.HIGHEST_PROTOCOL)
                except Exception as own:
                    fail("cannot save variable '%s' of type %s for step '%s': %s" % (name, type_name(values[name]), step, reason(own)))
            fail("cannot save the variables %s for step '%s': %s" % (', '.join(names), step, reason(error)))
        exports(values)
        try:
            # Every saved name is listed (the runner checks outputs against this list).
            summaries = {'values': dict((name, summary(values[name])) for name in names)}
            write(os.path.join(output_dir, summary_file), lambda f: f.write(json.dumps(summaries, indent=1, sort_keys=True).encode('utf-8')))
        except Exception as error:
            print('flowbook: the summary of the values of step %s was not written: %s' % (step, reason(error)), file=sys.stderr)

    def exports(values):
        # A scikit-learn estimator is also written as NAME.joblib, the file a model server
        # reads; the next steps read the bundle.
        sk = sys.modules.get('sklearn.base')
        for name in sorted(values):
            path = os.path.join(output_dir, name + '.joblib')
            if sk is not None and isinstance(values[name], sk.BaseEstimator):
                try:
                    import joblib
                    write(path, lambda f: joblib.dump(values[name], f))
                except Exception as error:
                    print("flowbook: model file %s.joblib of step %s was not written: %s" % (name, step, reason(error)), file=sys.stderr)
            elif os.path.exists(path):
                os.remove(path)

    def summary(value):
        # What the results views show without loading the value; never fails the step.
        try:
            out = {'type': type_name(value)}
        except Exception:
            out = {}
        pd, np = sys.modules.get('pandas'), sys.modules.get('numpy')
        frame = pd is not None and isinstance(value, (pd.DataFrame, pd.Series))
        try:
            # A frame's or a large array's own repr formats its data (tens of ms): the shape
            # (and a frame's head) say more. Containers show their first items (brief).
            large = frame or (np is not None and isinstance(value, np.ndarray) and value.size > 20)
            text = ('%s %s' % (type(value).__name__, 'x'.join(str(n) for n in value.shape))) if large else brief.repr(value) if isinstance(value, (list, tuple, dict, set, frozenset, str, bytes)) else repr(value)
            out['repr'] = text if len(text) <= 200 else text[:199] + '\\u2026'
        except Exception as error:
            out['repr'] = '<repr failed: %s>' % type(error).__name__
        try:
            if frame:
                out['bytes'] = int(value.memory_usage(index=True, deep=False).sum()) if isinstance(value, pd.DataFrame) else int(value.memory_usage(index=True, deep=False))
                out['shape'] = [int(n) for n in value.shape]
                if isinstance(value, pd.DataFrame):
                    out['columns'] = [str(c) for c in list(value.columns)[:50]]
                else:
                    out['dtype'] = str(value.dtype)
                head = head_text(value.iloc[:5, :20] if isinstance(value, pd.DataFrame) else value.iloc[:5].to_frame())
                out['head'] = head if len(head) <= 4000 else head[:3999] + '\\u2026'
            elif np is not None and isinstance(value, np.ndarray):
                out['bytes'] = int(value.nbytes)
                out['shape'] = [int(n) for n in value.shape]
                out['dtype'] = str(value.dtype)
            else:
                out['bytes'] = int(sys.getsizeof(value))
                if isinstance(value, (list, tuple, dict, set, frozenset, str, bytes)):
                    out['shape'] = [len(value)]
        except Exception:
            pass
        return out

    def head_text(part):
        # Aligned columns like pandas' to_string, without its formatter (tens of ms a frame);
        # the rows in one conversion (itertuples selects each column again).
        cell = lambda v: (str(v) if not isinstance(v, float) else '%g' % v)[:24]
        rows = [[''] + [cell(c) for c in part.columns]]
        rows += [[cell(i)] + [cell(v) for v in r] for i, r in zip(part.index.tolist(), part.to_numpy(dtype=object).tolist())]
        widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
        return '\\n'.join('  '.join(v.rjust(w) for v, w in zip(r, widths)).rstrip() for r in rows)

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

    return types.SimpleNamespace(cell=run, define=define, param=param, load=load, save=save, metrics=metrics)
`;
