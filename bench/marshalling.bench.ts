// Marshalling benchmark (issue 10): the step runtime's by-value pickler (one cloudpickle
// bundle per step, src/converter/emit/runtime.ts) against the format it replaced (one file
// per value: pandas' to_pickle, np.save, joblib for estimators, stdlib pickle otherwise),
// in one Python process, same values, same disk. Figures are ratios new / old (below 1 is
// faster) for saving and for loading, median of 3, for
//   - a step passing a 200 MB DataFrame and a 200 MB array;
//   - the values the example (breast-cancer) passes: a frame, splits, a fitted estimator.
// The example's wall time through `flowbook run` is in runner.bench.ts.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RUNTIME_SOURCE } from '../src/converter/emit/runtime';

const PROGRAM = String.raw`
import json, os, pickle, statistics, sys, time
import numpy as np, pandas as pd, joblib
runtime_source, work, case = sys.argv[1], sys.argv[2], sys.argv[3]

def values_for(case):
    if case == 'large':
        rows = 2_500_000
        frame = pd.DataFrame(np.random.default_rng(0).random((rows, 10)), columns=['c%d' % i for i in range(10)])
        return {'frame': frame, 'array': np.random.default_rng(1).random(25_000_000)}
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    data = load_breast_cancer(as_frame=True)
    X, y = data.data, data.target
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    model = LogisticRegression(max_iter=5000).fit(X_train, y_train)
    return {'X': X, 'y': y, 'X_train': X_train, 'X_test': X_test, 'y_train': y_train, 'y_test': y_test, 'model': model, 'names': list(data.feature_names)}

def old_save(folder, values):
    os.makedirs(folder, exist_ok=True)
    sk = sys.modules.get('sklearn.base')
    for name, value in values.items():
        base = os.path.join(folder, name)
        if isinstance(value, (pd.DataFrame, pd.Series)):
            value.to_pickle(base + '.pd.pkl')
        elif type(value) is np.ndarray and not value.dtype.hasobject:
            np.save(base + '.npy', value, allow_pickle=False)
        elif sk is not None and isinstance(value, sk.BaseEstimator):
            joblib.dump(value, base + '.joblib')
        else:
            with open(base + '.pkl', 'wb') as f:
                pickle.dump(value, f)

def old_load(folder, names):
    out = {}
    for name in names:
        base = os.path.join(folder, name)
        if os.path.exists(base + '.pd.pkl'):
            out[name] = pd.read_pickle(base + '.pd.pkl')
        elif os.path.exists(base + '.npy'):
            out[name] = np.load(base + '.npy', allow_pickle=False)
        elif os.path.exists(base + '.joblib'):
            out[name] = joblib.load(base + '.joblib')
        else:
            with open(base + '.pkl', 'rb') as f:
                out[name] = pickle.load(f)
    return out

def new_runtime(own):
    namespace = {'__name__': '__main__'}
    exec(runtime_source, namespace)
    return namespace, namespace['_flowbook_runtime'](namespace, own, own)

def size(folder):
    return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))

values = values_for(case)
names = sorted(values)
os.environ['FLOWBOOK_DATA_DIR'] = work
times = {'old_save': [], 'old_load': [], 'new_save': [], 'new_load': []}
for attempt in range(3):
    folder = os.path.join(work, 'old-%d' % attempt)
    t0 = time.perf_counter(); old_save(folder, values); times['old_save'].append(time.perf_counter() - t0)
    t0 = time.perf_counter(); old_load(folder, names); times['old_load'].append(time.perf_counter() - t0)
    old_size = size(folder)
    producer, runtime = new_runtime('new-%d' % attempt)
    producer.update(values)
    t0 = time.perf_counter(); runtime.save(names); times['new_save'].append(time.perf_counter() - t0)
    consumer, reader = new_runtime('reader')
    t0 = time.perf_counter(); reader.load([(n, 'new', 'new-%d' % attempt) for n in names]); times['new_load'].append(time.perf_counter() - t0)
    new_size = size(os.path.join(work, 'new-%d' % attempt))
    assert all(type(consumer[n]) is type(values[n]) for n in names)
print(json.dumps({'median': {k: statistics.median(v) for k, v in times.items()}, 'old_bytes': old_size, 'new_bytes': new_size}))
`;

function pickPython(): string {
  for (const c of [process.env.FLOWBOOK_PYTHON, '/usr/bin/python3', 'python3']) {
    if (c && spawnSync(c, ['-c', 'import pandas, sklearn, cloudpickle, joblib']).status === 0) return c;
  }
  throw new Error('no Python with pandas, scikit-learn, joblib and cloudpickle: run scripts/setup.sh or set FLOWBOOK_PYTHON');
}

interface Figures {
  median: Record<'old_save' | 'old_load' | 'new_save' | 'new_load', number>;
  old_bytes: number;
  new_bytes: number;
}

export async function run(): Promise<void> {
  const python = pickPython();
  for (const [label, kind] of [['the example\'s values (breast-cancer)', 'example'], ['a 200 MB DataFrame and a 200 MB array', 'large']] as const) {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flowbook-bench-marshal-'));
    try {
      const r = spawnSync(python, ['-c', PROGRAM, RUNTIME_SOURCE, work, kind], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (r.status !== 0) throw new Error(`${label}: ${r.stderr}`);
      const f = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Figures;
      const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
      process.stdout.write([
        `${label}, median of 3:`,
        `  save: by value ${ms(f.median.new_save)} vs per-value files ${ms(f.median.old_save)}: ratio ${(f.median.new_save / f.median.old_save).toFixed(2)}`,
        `  load: by value ${ms(f.median.new_load)} vs per-value files ${ms(f.median.old_load)}: ratio ${(f.median.new_load / f.median.old_load).toFixed(2)}`,
        `  on disk: ${(f.new_bytes / 1e6).toFixed(1)} MB vs ${(f.old_bytes / 1e6).toFixed(1)} MB (the bundle adds _summary.json, and NAME.joblib for an estimator)`,
        '',
      ].join('\n'));
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
}
