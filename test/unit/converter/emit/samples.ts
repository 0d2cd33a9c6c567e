// Hand-built pipelines shared by the emit tests: what the front end would produce for
// small notebooks, written out so these tests do not depend on it.

import type { Pipeline } from '../../../../src/converter/ir';
import { makePipeline, param } from '../../../support/pipelineBuilder';

export const ML_IMPORTS = `import json
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
`;

export const ML_FUNCTIONS = `def double(x):
    return 2 * x
`;

export const ML_LOAD = `class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def norm2(self):
        return self.x ** 2 + self.y ** 2


df = pd.DataFrame({'a': [1.0, 2.0, 3.0], 'b': ['x', 'y', 'z']})
arr = np.arange(6, dtype=np.float64).reshape(2, 3)
mixed = np.array([1, 'two', None], dtype=object)
p = Point(3, 4)
plain = {'n': 3, 'items': [1, 2.5, 'three'], 'nested': (1, 2), 'text': 'caf\\u00e9 {{not argo}}'}
fn = double`;

/** Rebinds builtins the generated code must not depend on. */
export const ML_SHADOW = `type = 'shadowed'
open = None
`;

export const ML_TRAIN = `model = LinearRegression().fit(df[['a']], df['a'] * rate + 1)
scaled = arr * rate
`;

export const ML_REPORT = `score = float(model.score(df[['a']], df['a'] * rate + 1))
total = float(scaled.sum()) + p.norm2() + fn(2)
summary = {
    'label': label,
    'sizes': sizes,
    'rate': rate,
    'rate_kind': rate.__class__.__name__,
    'df': df.to_dict(orient='list'),
    'df_kind': df.__class__.__name__,
    'dtypes': [str(t) for t in df.dtypes],
    'arr': arr.tolist(),
    'arr_dtype': str(arr.dtype),
    'scaled': scaled.tolist(),
    'mixed': mixed.tolist(),
    'point': [p.__class__.__name__, p.norm2()],
    'plain': plain,
    'fn': fn(5),
    'model': [model.__class__.__name__, [round(float(c), 6) for c in model.coef_], round(float(model.intercept_), 6)],
    'score': round(score, 6),
    'total': total,
}
print('SUMMARY ' + json.dumps(summary, sort_keys=True))
`;

/** Three steps passing plain objects, a DataFrame, arrays, a fitted model, a carried class instance and a function. */
export function mlPipeline(): Pipeline {
  return makePipeline({
    name: 'ML Demo',
    description: 'A small pipeline: load, train, report.',
    notebookPath: '/work/notebooks/ml-demo.ipynb',
    parameters: [param('rate', 0.5, '0.5', 2), param('label', 'run', "'run'", 2), param('sizes', [1, 2, 3], '[1, 2, 3]', 2)],
    imports: [{ cell: 0, code: ML_IMPORTS }],
    functions: [{ cell: 1, code: ML_FUNCTIONS }],
    steps: [
      { name: 'load', code: [{ cell: 3, code: ML_LOAD }, { cell: 4, code: ML_SHADOW }], outputs: ['df', 'arr', 'mixed', 'p', 'plain', 'fn'] },
      { name: 'train', code: [{ cell: 5, code: ML_TRAIN }], after: ['load'], inputs: { df: 'load', arr: 'load' }, outputs: ['model', 'scaled'], parameters: ['rate'] },
      {
        name: 'report',
        code: [{ cell: 6, code: ML_REPORT }],
        after: ['load', 'train'],
        inputs: { model: 'train', scaled: 'train', df: 'load', p: 'load', plain: 'load', fn: 'load', mixed: 'load', arr: 'load' },
        parameters: ['rate', 'label', 'sizes'],
        definitions: [{ name: 'Point', kind: 'class', from: 'load', source: ML_LOAD.slice(0, ML_LOAD.indexOf('\n\n\n')) + '\n', cell: 4, line: 1 }],
        metrics: ['score', 'total'],
      },
    ],
  });
}

/** Every step option, Kale volumes and settings, on two steps. */
export function optionsPipeline(): Pipeline {
  return makePipeline({
    name: 'Options_Demo!',
    experiment: 'exp-1',
    notebookPath: 'C:\\notebooks\\options.ipynb',
    parameters: [param('epochs', 3, '3', 0), param('lr', 1, '1.0', 0), param('flag', true, 'True', 0), param('nothing', null, 'None', 0)],
    steps: [
      {
        name: 'prepare',
        code: [{ cell: 1, code: 'data = list(range(epochs))\n' }],
        outputs: ['data'],
        parameters: ['epochs'],
        options: {
          limits: { cpu: '500m', memory: '1Gi', 'nvidia.com/gpu': '1' },
          labels: { team: 'ml' },
          annotations: { 'example.com/owner': 'ada', [STEP_ANNOTATION_FOR_TEST]: 'not this' },
          image: 'registry.example.com/prep:1.0',
          cache: false,
          secrets: [{ secret: 'db-creds', key: 'password', env: 'DB_PASSWORD' }],
          retry: 2,
          timeoutSeconds: 1800,
        },
      },
      {
        name: 'Train Model',
        templateName: 'train-model',
        code: [{ cell: 2, code: 'result = sum(data) * lr if flag else nothing\n' }, { cell: 3, code: 'accuracy = 0.75\n' }],
        after: ['prepare'],
        inputs: { data: 'prepare' },
        parameters: ['lr', 'flag', 'nothing'],
        metrics: ['accuracy'],
        options: { cache: true },
      },
    ],
    settings: {
      image: 'notebook-image:2',
      timeoutSeconds: 7200,
      volumeSize: '5Gi',
      storageClass: 'fast',
      namespace: 'team-ns',
      volumes: [
        { name: 'workspace-claim', mountPoint: '/home/jovyan', type: 'pvc' },
        { name: 'Scratch Space', mountPoint: '/scratch', type: 'new_pvc', size: '2Gi', storageClass: 'standard', accessModes: ['ReadWriteMany'] },
        { name: 'pv-0001', mountPoint: '/datasets', type: 'pv', size: '10Gi' },
      ],
    },
  });
}

/** Literal so this module needs nothing from the code under test. */
const STEP_ANNOTATION_FOR_TEST = 'flowbook.dev/step';
