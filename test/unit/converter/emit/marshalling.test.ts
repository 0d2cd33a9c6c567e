// Runs generated step scripts with real Python (pandas, numpy, scikit-learn): values
// survive the trip between steps exactly as if the notebook's cells ran in order in one
// kernel, parameters arrive from the environment, metrics land in the metrics file, and
// every failure is one line naming the variable and the step.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compileNotebookText } from '../../../../src/converter';
import { emitWorkflow, stepScript, type Workflow } from '../../../../src/converter/emit';
import { parseTraceback } from '../../../../src/runner/traceback';
import type { Pipeline } from '../../../../src/converter/ir';
import { FIXTURES } from '../../../support/notebooks';
import { makePipeline, param } from '../../../support/pipelineBuilder';
import { lastLine, pythonSuite, pyCompileAll, runScript, runWorkflow, type StepRun } from './python';
import { mlPipeline, optionsPipeline } from './samples';

/** The notebook as one kernel would run it: prelude, parameters, then every step cell in notebook order. */
function inOrderProgram(p: Pipeline, values: Record<string, string> = {}): string {
  const line = (code: string) => (code.endsWith('\n') ? code : `${code}\n`);
  const parts = [...p.imports, ...p.functions].map((c) => line(c.code));
  for (const q of p.parameters) parts.push(`${q.name} = ${values[q.name] ?? q.literal}\n`);
  const cells = Object.values(p.stepCode).flat().sort((a, b) => a.cell - b.cell);
  parts.push(...cells.map((c) => line(c.code)));
  return parts.join('');
}

function summaryOf(stdout: string): unknown {
  const line = stdout.split('\n').find((l) => l.startsWith('SUMMARY '));
  assert.ok(line, `a SUMMARY line in ${stdout}`);
  return JSON.parse(line.slice('SUMMARY '.length));
}

function succeeded(runs: StepRun[]): StepRun[] {
  for (const r of runs) assert.equal(r.status, 0, `step ${r.step} failed:\n${r.stderr}`);
  return runs;
}

function single(code: string, extra: Partial<Parameters<typeof makePipeline>[0]['steps'][number]> = {}): Pipeline {
  return makePipeline({ steps: [{ name: 'make', code: [{ cell: 0, code }], ...extra }] });
}

describe('step scripts with real Python', function () {
  this.timeout(120_000);
  const work = pythonSuite();

  it('compiles every generated script with py_compile', () => {
    const pipelines = [
      mlPipeline(),
      optionsPipeline(),
      makePipeline({
        imports: [{ cell: 0, code: 'from __future__ import annotations\nimport os' }],
        parameters: [param('a', [1, 2], '[1,  # first\n 2]'), param('b', 'x', "'x'  # trailing comment")],
        steps: [
          { name: `it's "quoted"`, templateName: 'quoted', code: [{ cell: 1, code: '' }, { cell: 2, code: 'if a:\n    x = 1' }], parameters: ['a', 'b'], outputs: ['x'] },
          { name: 'after', code: [{ cell: 3, code: 'print(x)' }], inputs: { x: `it's "quoted"` }, after: [`it's "quoted"`] },
        ],
      }),
    ];
    const sources = new Map<string, string>();
    pipelines.forEach((p, i) => p.steps.forEach((s) => sources.set(`${i}-${s.templateName}`, stepScript(p, s))));
    assert.deepEqual(pyCompileAll(sources), []);
  });

  describe('a three-step pipeline', () => {
    let runs: StepRun[];
    let dataDir: string;
    let reference: unknown;

    before(() => {
      const dir = work('ml');
      dataDir = path.join(dir, 'data');
      runs = succeeded(runWorkflow(emitWorkflow(mlPipeline()), dir));
      const ref = path.join(dir, 'in-order.py');
      fs.writeFileSync(ref, inOrderProgram(mlPipeline()));
      const r = runScript(ref, {}, dir);
      assert.equal(r.status, 0, r.stderr);
      reference = summaryOf(r.stdout);
    });

    it('gives the values the cells give when run in order in one process', () => {
      assert.deepEqual(summaryOf(runs[2]?.stdout ?? ''), reference);
      assert.deepEqual((reference as { point: unknown }).point, ['Point', 25], 'the reference ran the carried class');
    });

    it('stores all values of a step in one bundle with their summaries, only in the producer folder, and a model file for an estimator', () => {
      assert.deepEqual(fs.readdirSync(path.join(dataDir, 'load')).sort(), ['_summary.json', '_values.pkl']);
      assert.deepEqual(fs.readdirSync(path.join(dataDir, 'train')).sort(), ['_summary.json', '_values.pkl', 'model.joblib']);
      assert.deepEqual(fs.readdirSync(dataDir).sort(), ['load', 'train'], 'a step without outputs writes no folder');
    });

    it('writes the metrics file of the step that has metrics', () => {
      const metrics = JSON.parse(fs.readFileSync(runs[2]?.metricsPath ?? '', 'utf8')) as { metrics: { name: string; numberValue: number; format: string }[] };
      const expected = reference as { score: number; total: number };
      assert.deepEqual(metrics.metrics.map((m) => [m.name, m.format]), [['score', 'RAW'], ['total', 'RAW']]);
      assert.equal(metrics.metrics[0]?.numberValue.toFixed(6), expected.score.toFixed(6));
      assert.equal(metrics.metrics[1]?.numberValue, expected.total);
      assert.ok(!fs.existsSync(runs[1]?.metricsPath ?? ''), 'steps without metrics write none');
      assert.match(runs[2]?.stdout ?? '', /^flowbook: metric total = /m);
    });
  });

  describe('fixture notebooks, compiled by the whole compiler', () => {
    const compile = async (stem: string) => {
      const file = path.join(FIXTURES, 'notebooks', `${stem}.ipynb`);
      const result = await compileNotebookText(fs.readFileSync(file, 'utf8'), file);
      assert.ok(result.workflow, `${stem}.ipynb compiles: ${JSON.stringify(result.diagnostics.filter((d) => d.severity === 'error'))}`);
      return { pipeline: result.pipeline, workflow: result.workflow };
    };

    it('marshalling.ipynb: every kind of value arrives as the cells run in order would have it', async () => {
      const { pipeline, workflow } = await compile('marshalling');
      const dir = work('nb-marshalling');
      const runs = succeeded(runWorkflow(workflow, dir));
      const ref = path.join(dir, 'in-order.py');
      fs.writeFileSync(ref, `${inOrderProgram(pipeline)}print('METRICS', score, total)\n`);
      const r = runScript(ref, {}, dir);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(summaryOf(runs[runs.length - 1]?.stdout ?? ''), summaryOf(r.stdout));
      const metrics = JSON.parse(fs.readFileSync(runs[runs.length - 1]?.metricsPath ?? '', 'utf8')) as { metrics: { name: string; numberValue: number }[] };
      const expected = (r.stdout.split('\n').find((l) => l.startsWith('METRICS ')) ?? '').split(' ').slice(1).map(Number);
      assert.deepEqual(metrics.metrics.map((m) => [m.name, m.numberValue]), [['score', expected[0]], ['total', expected[1]]]);
    });

    for (const stem of ['basic', 'kale-legacy']) {
      it(`${stem}.ipynb: the metrics of a run equal the values of the cells run in order`, async () => {
        const { pipeline, workflow } = await compile(stem);
        assert.ok(pipeline.metrics.length > 0, 'the notebook has metrics');
        const dir = work(`nb-${stem}`);
        const runs = succeeded(runWorkflow(workflow, dir));
        const recorded: Record<string, number> = {};
        for (const run of runs) {
          if (!fs.existsSync(run.metricsPath)) continue;
          for (const m of (JSON.parse(fs.readFileSync(run.metricsPath, 'utf8')) as { metrics: { name: string; numberValue: number }[] }).metrics) recorded[m.name] = m.numberValue;
        }
        const names = pipeline.metrics.map((m) => m.name);
        const ref = path.join(dir, 'in-order.py');
        fs.writeFileSync(ref, `${inOrderProgram(pipeline)}print('METRICS ' + __import__('json').dumps({${names.map((n) => `${JSON.stringify(n)}: float(${n})`).join(', ')}}))\n`);
        const r = runScript(ref, {}, dir);
        assert.equal(r.status, 0, r.stderr);
        const line = r.stdout.split('\n').find((l) => l.startsWith('METRICS ')) ?? '';
        assert.deepEqual(recorded, JSON.parse(line.slice('METRICS '.length)));
      });
    }

    it('magics.ipynb and no-tags.ipynb: every step runs to the end', async () => {
      for (const stem of ['magics', 'no-tags']) {
        const { workflow } = await compile(stem);
        const runs = succeeded(runWorkflow(workflow, work(`nb-${stem}`)));
        assert.equal(runs.length, workflow.spec.templates.length - 1, `${stem}: all steps ran`);
      }
    });
  });

  it('takes parameter values from the environment: JSON, a float from an integer, and a bare string', () => {
    const p = makePipeline({
      parameters: [param('rate', 0.5, '0.5'), param('label', 'run', "'run'"), param('sizes', [1, 2, 3], '[1, 2, 3]'), param('flag', false, 'False')],
      steps: [{ name: 's', code: [{ cell: 1, code: 'print("VALUES", repr(rate), repr(label), repr(sizes), repr(flag))' }], parameters: ['rate', 'label', 'sizes', 'flag'] }],
    });
    const runs = succeeded(runWorkflow(emitWorkflow(p), work('params'), { rate: '2', label: 'hello world', sizes: '[4, {"k": null}]' }));
    assert.match(runs[0]?.stdout ?? '', /^VALUES 2\.0 'hello world' \[4, \{'k': None\}\] False$/m);
    const quoted = succeeded(runWorkflow(emitWorkflow(p), work('params'), { label: '"7"', flag: 'true' }));
    assert.match(quoted[0]?.stdout ?? '', /^VALUES 0\.5 '7' \[1, 2, 3\] True$/m);
  });

  it('falls back to the default literal when a parameter variable is absent', () => {
    const p = makePipeline({
      parameters: [param('n', 3, '3'), param('opts', { a: [1, null] }, "{'a': [1, None]}")],
      steps: [{ name: 's', code: [{ cell: 1, code: 'print("VALUES", repr(n), repr(opts))' }], parameters: ['n', 'opts'] }],
    });
    const dir = work('defaults');
    const file = path.join(dir, 's.py');
    fs.writeFileSync(file, stepScript(p, p.steps[0] as never));
    const r = runScript(file, { FLOWBOOK_DATA_DIR: dir }, dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^VALUES 3 \{'a': \[1, None\]\}$/m);
  });

  it('stops with one line when a parameter is not JSON and not a string', () => {
    const p = makePipeline({ parameters: [param('rate', 0.5, '0.5')], steps: [{ name: 's', parameters: ['rate'] }] });
    const runs = runWorkflow(emitWorkflow(p), work('badparam'), { rate: 'fast' });
    assert.equal(runs[0]?.status, 1);
    assert.equal(runs[0]?.stderr.trim(), `flowbook: pipeline parameter 'rate' (float) must be JSON, got 'fast': Expecting value: line 1 column 1 (char 0)`);
  });

  describe('values that cannot be saved', () => {
    const cases: [string, string, string][] = [
      ['a generator', 'gen = (i for i in range(3))', `flowbook: cannot save variable 'gen' of type generator for step 'make': cannot pickle 'generator' object`],
      ['a lock', 'import threading\nlock = threading.Lock()', `flowbook: cannot save variable 'lock' of type _thread.lock for step 'make': cannot pickle '_thread.lock' object`],
      ['a module', 'import os.path as f', `flowbook: cannot save variable 'f' for step 'make': it is the module posixpath, and modules are never passed between steps; import it in the step that uses it`],
    ];
    for (const [what, code, message] of cases) {
      it(`stops with one line naming the variable, its type and the step: ${what}`, () => {
        const name = /^(?:import threading\n)?(\w+) =|as (\w+)$/.exec(code)?.slice(1).find(Boolean) ?? '';
        const dir = work('unsaveable');
        const runs = runWorkflow(emitWorkflow(single(code, { outputs: [name] })), dir);
        assert.equal(runs[0]?.status, 1);
        const stderr = runs[0]?.stderr.trim() ?? '';
        assert.equal(stderr.split('\n').length, 1, stderr);
        assert.ok(stderr.startsWith(message), stderr);
        assert.deepEqual(fs.readdirSync(path.join(dir, 'data', 'make')), [], 'no partial or temporary file is left');
      });
    }

    it('says so when the step did not define an output', () => {
      const runs = runWorkflow(emitWorkflow(single('if False:\n    x = 1', { outputs: ['x'] })), work('undefined'));
      assert.equal(runs[0]?.status, 1);
      assert.equal(runs[0]?.stderr.trim(), `flowbook: cannot save variable 'x' for step 'make': the step's cells did not define it (they ran to the end of cell 1)`);
    });
  });

  describe('inputs that cannot be loaded', () => {
    it('names the variable, the producing step and the path when the file is missing', () => {
      const p = makePipeline({ steps: [{ name: 'make', outputs: ['x'] }, { name: 'use', inputs: { x: 'make' }, code: [{ cell: 1, code: 'print(x)' }] }] });
      const dir = work('missing');
      const file = path.join(dir, 'use.py');
      fs.writeFileSync(file, stepScript(p, p.steps[1] as never));
      const r = runScript(file, { FLOWBOOK_DATA_DIR: path.join(dir, 'data') }, dir);
      assert.equal(r.status, 1);
      const where = path.join(dir, 'data', 'make', '_values.pkl');
      assert.equal(r.stderr.trim(), `flowbook: cannot load 'x' from step 'make': ${where} does not exist (did step 'make' finish?)`);
    });

    it('names the step, the variables and the file when the saved values cannot be read', () => {
      const p = makePipeline({
        steps: [
          { name: 'make', code: [{ cell: 0, code: 'c = 1' }], outputs: ['c'] },
          { name: 'use', code: [{ cell: 1, code: 'print(c)' }], inputs: { c: 'make' }, after: ['make'] },
        ],
      });
      const dir = work('corrupt');
      succeeded(runWorkflow(emitWorkflow(p), dir));
      const file = path.join(dir, 'data', 'make', '_values.pkl');
      fs.writeFileSync(file, 'not a pickle');
      const use = path.join(dir, 'use.py');
      fs.writeFileSync(use, stepScript(p, p.steps[1] as never));
      const r = runScript(use, { FLOWBOOK_DATA_DIR: path.join(dir, 'data') }, dir);
      assert.equal(r.status, 1);
      assert.match(lastLine(r.stderr), new RegExp(`^flowbook: cannot load the values saved by step 'make' \\(c\\) from ${file.replace(/[/.]/g, '\\$&')}: UnpicklingError: `));
    });

    it('replaces the values saved by an earlier run, and a model file that is no longer a model', () => {
      const dir = work('stale');
      const consumer = { name: 'use', code: [{ cell: 1, code: 'print("TYPE", x.__class__.__name__)' }], inputs: { x: 'make' }, after: ['make'] };
      const asModel = makePipeline({ imports: [{ cell: 9, code: 'from sklearn.linear_model import LinearRegression' }], steps: [{ name: 'make', code: [{ cell: 0, code: 'x = LinearRegression()' }], outputs: ['x'] }, consumer] });
      const asDict = makePipeline({ steps: [{ name: 'make', code: [{ cell: 0, code: 'x = {"a": 1}' }], outputs: ['x'] }, consumer] });
      assert.match(succeeded(runWorkflow(emitWorkflow(asModel), dir))[1]?.stdout ?? '', /^TYPE LinearRegression$/m);
      assert.deepEqual(fs.readdirSync(path.join(dir, 'data', 'make')).sort(), ['_summary.json', '_values.pkl', 'x.joblib']);
      assert.match(succeeded(runWorkflow(emitWorkflow(asDict), dir))[1]?.stdout ?? '', /^TYPE dict$/m);
      assert.deepEqual(fs.readdirSync(path.join(dir, 'data', 'make')).sort(), ['_summary.json', '_values.pkl']);
    });
  });

  describe('metrics', () => {
    it('stops with one line when a metric is not a number', () => {
      const runs = runWorkflow(emitWorkflow(single("acc = 'high'", { metrics: ['acc'] })), work('badmetric'));
      assert.equal(runs[0]?.status, 1);
      assert.equal(runs[0]?.stderr.trim(), `flowbook: metric 'acc' of step 'make' must be a number, but it is str 'high'`);
    });

    it('records numbers of any numeric type and leaves out NaN with a warning', () => {
      const runs = succeeded(runWorkflow(emitWorkflow(single('import numpy as np\na = np.float32(0.5)\nb = 3\nc = float("nan")\nd = True', { metrics: ['a', 'b', 'c', 'd'] })), work('metrics')));
      const written = JSON.parse(fs.readFileSync(runs[0]?.metricsPath ?? '', 'utf8')) as unknown;
      assert.deepEqual(written, { metrics: [
        { name: 'a', numberValue: 0.5, format: 'RAW' },
        { name: 'b', numberValue: 3, format: 'RAW' },
        { name: 'd', numberValue: 1, format: 'RAW' },
      ] });
      assert.match(runs[0]?.stderr ?? '', /^flowbook: metric 'c' is nan and is not recorded$/m);
    });
  });

  it('reports an error in a cell at a line that maps back to that cell and line', () => {
    const p = makePipeline({
      imports: [{ cell: 0, code: 'import os' }],
      steps: [{ name: 'make', code: [{ cell: 4, code: 'a = 1\n' }, { cell: 6, code: 'b = 2\n\nraise ValueError("boom")\n' }] }],
    });
    const wf: Workflow = emitWorkflow(p);
    const runs = runWorkflow(wf, work('traceback'));
    assert.equal(runs[0]?.status, 1);
    const stderr = runs[0]?.stderr ?? '';
    assert.match(stderr, /^ {2}File "<flowbook cell=6>", line 3, in <module>\n {4}raise ValueError\("boom"\)$/m, 'the frame names the cell and shows its line');
    assert.doesNotMatch(stderr, /_flowbook_runtime|File "[^<]/, 'no frame of the runtime');
    assert.deepEqual(parseTraceback(stderr, runs[0]?.scriptPath ?? '', wf.spec.templates[1]?.script?.source ?? '')?.location, { cell: 6, line: 3 });
    assert.equal(lastLine(runs[0]?.stderr ?? ''), 'ValueError: boom');
  });
});
