// toYaml: deterministic, diff-friendly, and read back by YAML 1.1 tools (Kubernetes) as the
// same values.

import * as assert from 'node:assert/strict';
import { parse } from 'yaml';
import { toYaml } from '../../../../src/converter/yaml';

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
