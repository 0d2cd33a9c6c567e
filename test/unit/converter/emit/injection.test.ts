// User text that reaches generated Python stays text: a notebook file named so that its
// name holds a line break and code must not put that code into any step script.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { compileNotebookText } from '../../../../src/converter';
import { pyComment } from '../../../../src/converter/emit/pyComment';
import { compileKfp, kfpYaml } from '../../../../src/converter/emit/kfp';
import { toYaml } from '../../../../src/converter/yaml';
import { parseAllDocuments } from 'yaml';
import { notebookJson } from '../../../support/notebooks';

/** Line ends for Python (\n, \r, \r\n) and characters other tools treat as line ends. */
const BREAKS = ['\n', '\r', '\r\n', '\u2028', '\u0085', '\x0b', '\x0c', '\x00'];

/** The string constants Python's parser finds in each script (code, not comments). */
function stringConstants(scripts: string[]): string[][] {
  const code = [
    'import ast, json, sys',
    'out = []',
    'for s in json.load(sys.stdin):',
    '    out.append([n.value for n in ast.walk(ast.parse(s)) if isinstance(n, ast.Constant) and isinstance(n.value, str)])',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync('/usr/bin/python3', ['-c', code], { input: JSON.stringify(scripts), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as string[][];
}

describe('user text in generated Python', () => {
  it('a notebook file name with a line break and code adds no code to any step script', async () => {
    const text = notebookJson([['step:first', 'x = 1\n'], ['step:second', 'print(x)\n']]);
    const scripts: string[] = [];
    for (const br of BREAKS) {
      const compiled = await compileNotebookText(text, `/tmp/x${br}print("INJECTED")${br}#.ipynb`);
      assert.ok(compiled.workflow, `compiles with U+${br.charCodeAt(0).toString(16)} in the name`);
      for (const t of compiled.workflow.spec.templates) if (t.script) scripts.push(t.script.source);
    }
    assert.equal(scripts.length, BREAKS.length * 2);
    stringConstants(scripts).forEach((constants, i) => {
      assert.ok(!constants.includes('INJECTED'), `script ${i} runs code from the file name:\n${scripts[i]?.split('\n').slice(0, 3).join('\n')}`);
    });
  });

  it('a notebook file name with a line break adds no YAML to the compiled KFP file', async () => {
    const text = notebookJson([['step:first', 'x = 1\n'], ['step:second', 'print(x)\n']]);
    for (const br of ['\n', '\r', '\u2028', '\u0085']) {
      const path = `/tmp/x${br}injected: true${br}#.ipynb`;
      const compiled = await compileNotebookText(text, path);
      const yaml = kfpYaml(compileKfp(compiled.pipeline), path, toYaml);
      const docs = parseAllDocuments(yaml).map((d) => d.toJS() as Record<string, unknown>);
      assert.ok(docs.every((d) => !('injected' in d)), `U+${br.charCodeAt(0).toString(16)} in the file name added a key`);
      assert.equal(yaml.split('\n').filter((l) => l.startsWith('# ')).length, 3, 'the header is three comment lines');
    }
  });

  it('pyComment keeps readable text and escapes what could end the line', () => {
    assert.equal(pyComment('my notebook (v2) é.ipynb'), 'my notebook (v2) é.ipynb');
    assert.equal(pyComment('a\nb\rc\u2028d\x00e'), 'a\\nb\\rc\\u2028d\\u0000e');
    const escaped = pyComment(String.fromCharCode(...Array.from({ length: 0xa0 }, (_, i) => i)));
    for (const c of ['\n', '\r', '\x0b', '\x0c', '\x85']) assert.ok(!escaped.includes(c), `U+${c.charCodeAt(0).toString(16)} escaped`);
  });
});
