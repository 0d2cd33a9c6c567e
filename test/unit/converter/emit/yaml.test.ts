// toYaml: deterministic, diff-friendly, and read back by YAML 1.1 tools (Kubernetes) as the
// same values.

import * as assert from 'node:assert/strict';
import { parse } from 'yaml';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Compiler } from '../../../../src/converter';
import { emitWorkflow } from '../../../../src/converter/emit';
import { libraryYaml, toYaml, writeYaml } from '../../../../src/converter/yaml';
import { FIXTURES } from '../../../support/notebooks';
import { prng } from '../../../support/prng';

describe('toYaml', () => {
  it('keeps construction order and block style, without anchors for shared objects', () => {
    const shared = { name: 'x' };
    const text = toYaml({ zeta: 1, alpha: [shared, shared], mid: { b: 2, a: 1 } });
    assert.equal(text, 'zeta: 1\nalpha:\n- name: x\n- name: x\nmid:\n  b: 2\n  a: 1\n');
  });

  it('writes multi-line strings as literal blocks, unfolded and unchanged', () => {
    const source = `import os\nx = "${'long '.repeat(40)}"\n    indented\n\nlast\n`;
    const text = toYaml({ source });
    assert.match(text, /^source: \|\n {2}import os\n/);
    assert.ok(!text.includes('\\n'), 'no escaped newlines');
    assert.equal(parse(text).source, source);
    assert.equal(parse(toYaml({ s: 'a\nb' })).s, 'a\nb');
  });

  it('quotes strings that YAML 1.1 would read as booleans, numbers or other types', () => {
    const values = ['yes', 'no', 'on', 'off', 'y', 'n', 'true', 'null', '~', '1800', '0755', '1:30', '1.0', '1e3', '', ' lead', '{{x}}', '- a', '# c'];
    const obj = Object.fromEntries(values.map((v, i) => [`k${i}`, v]));
    const text = toYaml(obj);
    assert.deepEqual(parse(text, { version: '1.1' }), obj);
    assert.deepEqual(parse(text), obj);
  });

  it('quotes keys YAML 1.1 would read as booleans', () => {
    assert.deepEqual(parse(toYaml({ n: 1, y: 2 }), { version: '1.1' }), { n: 1, y: 2 });
  });

  it('gives the same bytes for the same object', () => {
    const obj = { a: [1, 'two', { three: 'line\nline\n' }], b: null, c: true };
    assert.equal(toYaml(obj), toYaml(JSON.parse(JSON.stringify(obj))));
  });
});

// `writeYaml` writes plain data itself instead of through the `yaml` library (for speed); it
// must give the library's bytes exactly, or leave the document to the library.
describe('writeYaml', () => {
  let checked = 0;
  /** Fails when writeYaml writes `obj` differently from the library; counts the ones it writes. */
  function same(obj: Record<string, unknown>): void {
    const fast = writeYaml(obj);
    if (fast === undefined) return;
    checked++;
    assert.equal(fast, libraryYaml(obj), `writeYaml differs from the yaml library for ${JSON.stringify(obj)}`);
  }
  function asValueAndKey(s: string): void {
    same({ k: s });
    same({ [s]: 1 });
    same({ a: [s, { b: s }], c: { d: [[s]] } });
  }


  it('writes every short string over YAML\'s special characters as the library does', () => {
    checked = 0;
    const special = [...'0179_+-.:~eExXbnNyYoOTZ<=%#\'"!&*?,[{|>@` \t\n'];
    for (const a of special) {
      asValueAndKey(a);
      for (const b of special) {
        same({ k: a + b });
        same({ [a + b]: 1 });
      }
    }
    const numeric = [...'0189_+-.:eExb '];
    for (const a of numeric) for (const b of numeric) for (const c of numeric) same({ k: a + b + c });
    assert.ok(checked > 4000, `only ${checked} documents were written without the library`);
  });

  it('quotes exactly the words, numbers and dates YAML 1.1 reads as other types', () => {
    checked = 0;
    const words = [
      '', '~', 'null', 'Null', 'NULL', 'nULL', 'y', 'Y', 'yes', 'Yes', 'YES', 'yEs', 'n', 'N', 'no', 'No', 'NO', 'on', 'On', 'ON', 'oN',
      'off', 'Off', 'OFF', 'true', 'True', 'TRUE', 'tRue', 'false', 'False', 'FALSE', '.inf', '-.inf', '+.Inf', '.INF', '.nan', '.NaN',
      '.NAN', '-.nan', '0b101', '0b', '0x1F', '0x', '0o17', '0755', '08', '1_000', '_1', '1e3', '1E+3', 'e3', '.e3', '1.e3', '1.5e-3',
      '1:30', '1:30:59', '1:60', '-1:30.5', '2001-12-14', '2001-12-14t21:59:43.10-05:00', '2001-12-14 21:59:43.10 -5', '2001-1-1',
      '2001-12-14T21:59:43Z', '0.1.0', '1Gi', '500m', '3.', '.', '+', '-', '-0', '+0', '00', '0e0', 'argoproj.io/v1alpha1',
      '{{workflow.parameters.x}}', '"bench"', "it's", 'a"b\'c', 'a: b', 'a:b', 'a #b', 'a#b', '- a', '-a', '? a', ': a', 'a ', ' a',
      'a:', '@x', '`x`', 'x\ty', 'ünïcødé', '😀', '\u2028', '\u0085', '\r', '\ud800', '---', '...', '%x', '<<', '=',
      'x\n', 'x\ny', 'x\ny\n', 'x\n\n', 'x\n\ny', '\nx', ' x\ny', '\tx\ny', 'x\n ', 'x\n\t', 'x \n', 'x\t\n', '\t\n', 'x\n \n',
      '#!x\ny', '"a"\nb', 'a: b\nc', '- a\n- b', 'x\n  y\n', 'x\n%y\n', 'x\n---\ny\n', 'def f():\n    return 1\n',
    ];
    for (const w of words) asValueAndKey(w);
    assert.ok(checked > 250, `only ${checked} documents were written without the library`);
  });

  it('writes random strings and nested data as the library does', () => {
    checked = 0;
    const next = prng(2024);
    const pieces = [...'az09:_-.#\'"{}[]&*!|>%@`?, \t/\\é', '\n', '\n', '  ', '😀', '\u00a0', 'yes', 'null', '1e3', '0x1', 'def f():\n    pass\n'];
    for (let i = 0; i < 3000; i++) {
      let s = '';
      const n = 1 + Math.floor(next() * 10);
      for (let j = 0; j < n; j++) s += pieces[Math.floor(next() * pieces.length)] ?? '';
      same({ k: s });
      if (i % 10 === 0) same({ [s]: [s] });
    }
    const scalars: unknown[] = [null, true, false, 0, -1, 42, -0, 2 ** 53 - 1, '', 'x', 'yes', '1', 'a b', 'line\nline\n', 'ends\n', {}, []];
    const keys = ['a', 'b c', 'yes', '1', 'x:y', '-k', ''];
    const gen = (depth: number): unknown => {
      const r = next();
      if (depth > 4 || r < 0.4) return scalars[Math.floor(next() * scalars.length)];
      if (r < 0.7) return Array.from({ length: Math.floor(next() * 4) }, () => gen(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 4); i > 0; i--) o[keys[Math.floor(next() * keys.length)] ?? 'k'] = next() < 0.1 ? undefined : gen(depth + 1);
      return o;
    };
    for (let i = 0; i < 1000; i++) same({ root: gen(0) });
    assert.ok(checked > 3000, `only ${checked} documents were written without the library`);
  });

  it('writes the workflows of the fixture notebooks itself, as the library does', async () => {
    const compiler = await Compiler.create();
    const dir = path.join(FIXTURES, 'notebooks');
    for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.ipynb'))) {
      const { workflow } = compiler.compileText(fs.readFileSync(path.join(dir, name), 'utf8'), name);
      if (!workflow) continue;
      for (const wf of [workflow, emitWorkflow(compiler.compileText(fs.readFileSync(path.join(dir, name), 'utf8'), name).pipeline, { dataPassing: 'artifacts' })]) {
        const fast = writeYaml(wf);
        assert.ok(fast !== undefined, `${name}: the workflow was left to the library`);
        assert.equal(fast, libraryYaml(wf), name);
      }
    }
  });

  it('leaves what it does not write exactly like the library to the library', () => {
    for (const odd of [{ f: 1.5 }, { big: 2 ** 60 }, { nan: NaN }, { a: [undefined] }, { d: new Date(0) }, { m: new Map() }, { c: 'a\u0001b' }, { k: 'x\n\n' }, { '<<': 1 }]) {
      assert.equal(writeYaml(odd), undefined, JSON.stringify(odd));
      assert.equal(toYaml(odd), libraryYaml(odd));
    }
    assert.equal(writeYaml([1, 2]), undefined);
    assert.equal(toYaml([1, 2]), '- 1\n- 2\n');
  });
});
