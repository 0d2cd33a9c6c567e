import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Compiler } from '../../../src/converter';
import type { Pipeline, Step } from '../../../src/converter/ir';
import { notebookJson, CellSpec, FIXTURES } from '../../support/notebooks';

let compiler: Compiler;
before(async () => { compiler = await Compiler.create(); });

function analyze(cells: CellSpec[], metadata: Record<string, unknown> = {}): Pipeline {
  return compiler.compileText(notebookJson(cells, metadata), 't.ipynb').pipeline;
}
function fixture(name: string): Pipeline {
  const file = path.join(FIXTURES, 'notebooks', name);
  return compiler.compileText(fs.readFileSync(file, 'utf8'), file).pipeline;
}
function step(p: Pipeline, name: string): Step {
  const s = p.steps.find((x) => x.name === name);
  assert.ok(s, `no step ${name} in ${p.steps.map((x) => x.name).join(', ')}`);
  return s;
}
const inputs = (s: Step) => s.inputs.map((i) => `${i.name}<${i.from}`);
const codes = (p: Pipeline, severity = 'error') => p.diagnostics.filter((d) => d.severity === severity).map((d) => d.code);

describe('buildPipeline: fixtures', () => {
  it('basic.ipynb: steps, providers, functions passed as values, parameters and metrics', () => {
    const p = fixture('basic.ipynb');
    assert.deepEqual(codes(p), []);
    assert.deepEqual(p.steps.map((s) => s.name), ['load', 'double', 'stats', 'report']);
    assert.deepEqual(step(p, 'load').cells, [4, 5]);
    assert.deepEqual(inputs(step(p, 'double')), ['raw<load']);
    assert.deepEqual(step(p, 'double').parameters, ['factor']);
    assert.deepEqual(step(p, 'load').parameters, ['label']);
    // `scale(raw, factor)` calls a functions-cell function whose body only reads its arguments.
    assert.deepEqual(inputs(step(p, 'stats')), ['raw<load']);
    // `summarize`, defined in step stats, is a value like any other.
    assert.deepEqual(inputs(step(p, 'report')), ['summarize<stats', 'doubled<double', 'count<stats']);
    assert.deepEqual(step(p, 'report').definitions, []);
    assert.deepEqual(step(p, 'report').parameters, ['threshold']);
    assert.deepEqual(step(p, 'load').outputs, ['raw']);
    assert.deepEqual(step(p, 'double').outputs, ['doubled']);
    assert.deepEqual(p.metrics.map((m) => `${m.name}<${m.step}`), ['score<report', 'count<stats']);
    assert.deepEqual(step(p, 'report').metrics, ['score']);
    assert.deepEqual(p.parameters.map((x) => [x.name, x.type, x.default]), [['factor', 'int', 2], ['label', 'str', 'run'], ['threshold', 'float', 0.5]]);
    assert.deepEqual(step(p, 'stats').options.limits, { memory: '1Gi', 'nvidia.com/gpu': '1' });
    assert.equal(step(p, 'report').options.retry, 2);
    assert.equal(step(p, 'report').options.timeoutSeconds, 600);
    const loadToDouble = p.edges.find((e) => e.from === 'load' && e.to === 'double');
    assert.deepEqual(loadToDouble?.reasons, [{ kind: 'data', names: ['raw'] }, { kind: 'prev', cell: 6 }]);
    assert.deepEqual(step(p, 'report').after, ['double', 'stats']);
  });

  it('errors.ipynb: every problem is reported with its cell, nothing throws', () => {
    const p = fixture('errors.ipynb');
    const byCode = (code: string) => p.diagnostics.filter((d) => d.code === code);
    assert.match(byCode('FB300').map((d) => d.message).join('\n'), /"undefined_thing".*no earlier step defines it/);
    assert.match(byCode('FB300').map((d) => d.message).join('\n'), /"later_value" is first defined later, in step "fourth"/);
    assert.match(byCode('FB303')[0]?.message ?? '', /"prev:second" makes a cycle: first → second → first/);
    assert.match(byCode('FB301')[0]?.message ?? '', /"prev:nonexistent" names no step/);
    assert.match(byCode('FB101')[0]?.message ?? '', /did you mean "step:third"/);
    assert.match(byCode('FB104')[0]?.message ?? '', /"load_data" \(cell 6\) and "load-data" \(cell 7\) both become "load-data"/);
    assert.equal(byCode('FB400')[0]?.line, 2);
    assert.match(byCode('FB403')[0]?.message ?? '', /metric "nothing"/);
    assert.equal(byCode('FB402').length, 1);
    const templateNames = p.steps.map((s) => s.templateName);
    assert.equal(new Set(templateNames).size, templateNames.length, 'template names stay unique after a collision');
  });

  it('no-tags.ipynb: one step holding every code cell, with a hint', () => {
    const p = fixture('no-tags.ipynb');
    assert.deepEqual(p.steps.map((s) => [s.name, s.cells]), [['main', [1, 2, 3]]]);
    assert.ok(p.diagnostics.some((d) => d.code === 'FB106' && d.severity === 'info'));
    assert.ok(p.diagnostics.some((d) => d.code === 'FB100' && d.cell === 2));
    assert.deepEqual(codes(p), []);
  });

  it('kale-legacy.ipynb: block:, prev:a:b, steps_defaults, skip, notebook settings', () => {
    const p = fixture('kale-legacy.ipynb');
    assert.deepEqual(codes(p), []);
    assert.equal(p.name, 'kale-legacy');
    assert.deepEqual(p.steps.map((s) => s.name), ['prepare', 'left', 'right', 'join']);
    assert.deepEqual(step(p, 'join').cells, [5, 6]);
    assert.deepEqual(step(p, 'join').after, ['left', 'right']);
    assert.deepEqual(step(p, 'join').options.labels, { owner: 'flowbook', team: 'ml' });
    assert.deepEqual(step(p, 'left').options.limits, { cpu: '500m' });
    assert.equal(step(p, 'join').options.image, 'python:3.11-slim');
    assert.deepEqual(step(p, 'join').options.secrets, [{ secret: 'creds', key: 'token', env: 'API_TOKEN' }]);
    assert.deepEqual(p.metrics, [{ name: 'size', step: 'join', cell: 8, line: 1 }]);
    assert.ok(!p.steps.some((s) => s.cells.includes(7)), 'the skip cell is in no step');
    assert.deepEqual(p.parameters.map((x) => [x.name, x.type]), [['seed', 'int'], ['sizes', 'list'], ['opts', 'dict'], ['flag', 'bool']]);
    assert.deepEqual(step(p, 'prepare').parameters, ['seed', 'sizes']);
  });

  it('magics.ipynb: pip lines become requirements, leading cells are not dropped', () => {
    const p = fixture('magics.ipynb');
    assert.deepEqual(codes(p), []);
    assert.deepEqual(p.requirements.flatMap((r) => r.specs), ['requests==2.31.0', 'pandas>=2']);
    const leading = p.diagnostics.find((d) => d.code === 'FB105');
    assert.equal(leading?.cell, 0);
    assert.ok(p.diagnostics.some((d) => d.code === 'FB201' && d.cell === 4), 'an unsupported magic is a warning on its cell');
    assert.deepEqual(inputs(step(p, 'timed')), ['total<shell']);
  });
});

describe('buildPipeline: provider rule', () => {
  it('takes the latest earlier step that binds or changes a name', () => {
    const p = analyze([
      ['step:a', 'df = [3, 1, 2]'],
      ['step:b', 'df.sort()'],
      ['step:c', 'other = 1'],
      ['step:d', 'print(df, other)'],
    ]);
    assert.deepEqual(inputs(step(p, 'b')), ['df<a']);
    assert.deepEqual(inputs(step(p, 'd')), ['df<b', 'other<c']);
  });

  it('treats attribute and subscript assignment, augmented assignment and del as changes', () => {
    const p = analyze([
      ['step:a', 'x = {}\ny = [1]\nn = 0\nz = 5'],
      ['step:b', 'x["k"] = 1'],
      ['step:c', 'n += 1'],
      ['step:d', 'del z'],
      ['step:e', 'print(x, n)'],
      ['step:f', 'print(z)'],
    ]);
    assert.deepEqual(inputs(step(p, 'e')), ['x<b', 'n<c']);
    assert.match(p.diagnostics.find((d) => d.code === 'FB300')?.message ?? '', /step "d" deletes it/);
  });

  it('never passes builtins, imports, functions-cell names or parameters as data', () => {
    const p = analyze([
      ['imports', 'import math'],
      ['functions', 'def helper(v):\n    return v + 1'],
      ['pipeline-parameters', 'k = 3'],
      ['step:a', 'v = helper(math.floor(2.5)) * k\nprint(len([v]))'],
      ['step:b', 'w = v + k'],
    ]);
    assert.deepEqual(inputs(step(p, 'a')), []);
    assert.deepEqual(inputs(step(p, 'b')), ['v<a']);
    assert.deepEqual(step(p, 'b').parameters, ['k']);
  });

  it('passes a step-defined function on as a value, with the names its body reads', () => {
    const p = analyze([
      ['step:a', 'base = 10\ndef add(v):\n    return v + base'],
      ['step:b', 'total = add(5)'],
    ]);
    assert.deepEqual(step(p, 'b').definitions, []);
    assert.deepEqual(inputs(step(p, 'b')), ['add<a', 'base<a']);
  });

  it('passes objects of a step-defined class on without re-creating the class from source', () => {
    const p = analyze([
      ['step:a', 'class Box:\n    def __init__(self, v):\n        self.v = v\nbox = Box(1)'],
      ['step:b', 'print(box.v)'],
    ]);
    assert.deepEqual(inputs(step(p, 'b')), ['box<a']);
    assert.deepEqual(step(p, 'b').definitions, []);
  });

  it('lets a step shadow a builtin for later steps', () => {
    const p = analyze([['step:a', 'input = [1, 2]'], ['step:b', 'print(input)']]);
    assert.deepEqual(inputs(step(p, 'b')), ['input<a']);
  });

  it('explains a name defined only in a skipped cell', () => {
    const p = analyze([['skip', 'secret = 1'], ['step:a', 'print(secret)']]);
    assert.match(p.diagnostics.find((d) => d.code === 'FB300')?.message ?? '', /only defined in cell 1, which is tagged "skip"/);
  });

  it('downgrades a missing name to a warning when a star import may provide it', () => {
    const p = analyze([['imports', 'from math import *'], ['step:a', 'print(floor(2.5))']]);
    const d = p.diagnostics.find((x) => x.code === 'FB300');
    assert.equal(d?.severity, 'warning');
    assert.match(d?.message ?? '', /from math import \*/);
  });

  it('tells when a step assigns to a pipeline parameter; later steps get the new value', () => {
    const p = analyze([['pipeline-parameters', 'lr = 0.1'], ['step:a', 'lr = lr * 2'], ['step:b', 'print(lr)']]);
    assert.ok(p.diagnostics.some((d) => d.code === 'FB404' && d.cell === 1 && d.severity === 'info'));
    assert.deepEqual(step(p, 'a').parameters, ['lr']);
    assert.deepEqual(inputs(step(p, 'b')), ['lr<a']);
    assert.deepEqual(step(p, 'b').parameters, []);
  });
});

describe('buildPipeline: edges', () => {
  it('orders a step with no upstream after the step above it, and says so', () => {
    const p = analyze([['step:a', 'open("f.txt", "w").write("x")'], ['step:b', 'print(open("f.txt").read())']]);
    assert.deepEqual(p.edges, [{ from: 'a', to: 'b', reasons: [{ kind: 'order' }] }]);
  });

  it('lets independent branches run in parallel', () => {
    const p = analyze([
      ['step:load', 'data = [1, 2, 3]'],
      ['step:left', 'l = sum(data)'],
      ['step:right', 'r = max(data)'],
      ['step:join', 'out = l + r'],
    ]);
    assert.deepEqual(step(p, 'left').after, ['load']);
    assert.deepEqual(step(p, 'right').after, ['load']);
    assert.deepEqual(step(p, 'join').after, ['left', 'right']);
  });

  it('ignores prev: naming the step itself (Kale notebooks repeat it on continuation cells)', () => {
    const p = analyze([['step:a', 'x = 1'], [['step:b', 'prev:a'], 'y = 2'], [['step:', 'prev:b'], 'z = 3']]);
    assert.deepEqual(codes(p), []);
    assert.ok(p.diagnostics.some((d) => d.code === 'FB303' && d.severity === 'info' && d.cell === 2));
    assert.deepEqual(step(p, 'b').after, ['a']);
  });

  it('reports a cycle made by prev: on a continued step, naming the steps', () => {
    const p = analyze([['step:a', 'x = 1'], ['step:b', 'y = x'], [['step:a', 'prev:b'], 'z = 2']]);
    const cycle = p.diagnostics.find((d) => d.code === 'FB303' && d.severity === 'error');
    assert.equal(cycle?.cell, 2);
    assert.match(cycle?.message ?? '', /makes a cycle: a → b → a/);
  });

  it('reports prev: naming a later step that does not depend on this one', () => {
    const p = analyze([[['step:a', 'prev:b'], 'x = 1'], ['step:b', 'y = 2']]);
    assert.deepEqual(codes(p), ['FB302']);
  });

  it('continues a step named again later, and an empty step: continues the previous one', () => {
    const p = analyze([['step:a', 'x = 1'], ['step:b', 'y = x'], ['step:a', 'x2 = 2'], ['step:', 'x3 = 3']]);
    assert.deepEqual(step(p, 'a').cells, [0, 2, 3]);
  });

  it('treats an empty step: with no step before it as untagged, with a warning (as Kale does)', () => {
    const p = analyze([['step:', 'x = 1'], ['step:a', 'y = x']]);
    assert.deepEqual(codes(p), []);
    assert.ok(p.diagnostics.some((d) => d.code === 'FB107' && d.severity === 'warning' && d.cell === 0));
    assert.deepEqual(step(p, 'a').cells, [0, 1]);
  });
});

describe('Compiler.compileText', () => {
  it('is deterministic', () => {
    const text = fs.readFileSync(path.join(FIXTURES, 'notebooks', 'basic.ipynb'), 'utf8');
    const a = JSON.stringify(compiler.compileText(text, 'basic.ipynb'));
    const b = JSON.stringify(compiler.compileText(text, 'basic.ipynb'));
    assert.equal(a, b);
  });

  it('emits no workflow when the notebook has errors', () => {
    const result = compiler.compileText(notebookJson([['step:a', 'print(nope)']]), 't.ipynb');
    assert.equal(result.workflow, undefined);
    assert.ok(result.diagnostics.some((d) => d.code === 'FB300'));
  });
});
